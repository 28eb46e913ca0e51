package engine

import (
	"encoding/json"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/host/plugintest"
	"wasmctl.dev/wasmctl/host/runtime"
)

func TestProjection(t *testing.T) {
	p, err := NewProjection("t", []string{
		"metadata.labels",
		"metadata.annotations[example.com/keep.me]",
		"status.conditions.type",
		"spec.nodeName",
	})
	if err != nil {
		t.Fatal(err)
	}
	in := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{
			"name": "p", "namespace": "ns", "uid": "u", "resourceVersion": "1", "generation": 3.0,
			"labels":      map[string]any{"a": "b"},
			"annotations": map[string]any{"example.com/keep.me": "1", "drop": "2"},
		},
		"spec":   map[string]any{"nodeName": "n", "containers": []any{map[string]any{"name": "c"}}},
		"status": map[string]any{"conditions": []any{map[string]any{"type": "Ready", "status": "True"}}, "phase": "Running"},
	}}
	got, _ := json.Marshal(p.Apply(in))
	want := `{"apiVersion":"v1","kind":"Pod","metadata":{"annotations":{"example.com/keep.me":"1"},"labels":{"a":"b"},"name":"p","namespace":"ns","resourceVersion":"1","uid":"u"},"spec":{"nodeName":"n"},"status":{"conditions":[{"type":"Ready"}]}}`
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if _, ok := in.Object["spec"].(map[string]any)["containers"]; !ok {
		t.Fatal("projection modified the cached object")
	}
	for _, bad := range []string{"", "a..b", "a[b", ".a"} {
		if _, err := NewProjection("x", []string{bad}); err == nil {
			t.Errorf("path %q accepted", bad)
		}
	}
}

func TestExpectations(t *testing.T) {
	clock := time.Unix(0, 0)
	e := NewExpectations()
	e.now = func() time.Time { return clock }
	const key = "ns/rs"

	if !e.Satisfied(key) {
		t.Fatal("no record must be satisfied")
	}
	e.Expect(key, 2, []string{"ns/a"})
	e.CreationObserved(key)
	e.DeletionObserved(key, "ns/other") // not expected: no effect
	if e.Satisfied(key) {
		t.Fatal("satisfied with 1 create and 1 delete pending")
	}
	e.CreationObserved(key)
	e.DeletionObserved(key, "ns/a")
	if !e.Satisfied(key) {
		t.Fatal("not satisfied once everything was observed")
	}

	e.Expect(key, 5, nil)
	e.LowerCreations(key, 4) // four creates failed
	if e.Satisfied(key) {
		t.Fatal("satisfied with 1 create pending")
	}
	clock = clock.Add(ExpectationsTTL + time.Second)
	if !e.Satisfied(key) {
		t.Fatal("expectations must expire")
	}

	e.ExpectPrimaryWrite(key, "10")
	if e.PrimaryObserved(key, "10") {
		t.Fatal("cache still at the written-over version")
	}
	if !e.PrimaryObserved(key, "11") || !e.PrimaryObserved(key, "10") {
		t.Fatal("once observed, the record is gone")
	}
}

// TestPluginSlotStatFollowsReload: gauges read the plugin in the slot now,
// not the one loaded at start (which a hot reload closes).
func TestPluginSlotStatFollowsReload(t *testing.T) {
	first := plugintest.Build(t, "../../plugins/replicaset/cmd", runtime.Limits{}).Plugin
	second := plugintest.Build(t, "../../plugins/replicaset/cmd", runtime.Limits{MaxOutputBytes: 1 << 20}).Plugin
	var slot pluginSlot
	slot.set(first, nil)
	instances := func() float64 {
		return slot.stat(func(p *runtime.Plugin) float64 { return float64(p.Instances()) })
	}
	if _, err := first.Call(t.Context(), abi.ExportDescribe, nil); err != nil {
		t.Fatal(err)
	}
	if got := instances(); got != 1 {
		t.Fatalf("%v instances before the swap, want 1", got)
	}
	slot.set(second, nil)
	if got := instances(); got != 0 {
		t.Fatalf("%v instances after the swap, want the new plugin's 0", got)
	}
}
