package projection

import (
	"encoding/json"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestProjection(t *testing.T) {
	p, err := New("t", []string{
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
	for _, bad := range []string{"", "a..b", "a[b", ".a", "a.", "a[]"} {
		t.Run(bad, func(t *testing.T) {
			if _, err := New("x", []string{bad}); err == nil {
				t.Errorf("path %q accepted", bad)
			}
		})
	}
}
