package engine

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/host/config"
	"wasmctl.dev/wasmctl/host/spec"
	"wasmctl.dev/wasmctl/internal/projection"
)

// TestCacheFields: a kind is cached cut only when no controller reconciles
// it or reads it without listing fields, and the cut holds every reader's
// fields and the host's own.
func TestCacheFields(t *testing.T) {
	pod := abi.TypeRef{APIVersion: "v1", Kind: "Pod"}
	rsT := abi.TypeRef{APIVersion: "apps/v1", Kind: "ReplicaSet"}
	cm := abi.TypeRef{APIVersion: "v1", Kind: "ConfigMap"}
	rsReader := abi.Manifest{Name: "rs", For: rsT, Owns: []abi.TypeRef{pod},
		Fields: []abi.FieldSelection{{Type: pod, Paths: []string{"status.phase", "metadata.annotations[a]"}}}}
	depReader := abi.Manifest{Name: "dep", For: abi.TypeRef{APIVersion: "apps/v1", Kind: "Deployment"}, Owns: []abi.TypeRef{rsT},
		Related: []abi.RelatedInput{{Name: "pods", Type: pod, Select: abi.SelectGrandchildren}},
		Fields:  []abi.FieldSelection{{Type: pod, Paths: []string{"spec.nodeName"}}, {Type: rsT, Paths: []string{"spec"}}}}
	wholePods := abi.Manifest{Name: "whole", For: cm, Owns: []abi.TypeRef{pod}}
	cmReader := abi.Manifest{Name: "cms", For: rsT, Related: []abi.RelatedInput{{Name: "cms", Type: cm, Select: abi.SelectAll}},
		Fields: []abi.FieldSelection{{Type: cm, Paths: []string{"data.x"}}}}
	build := func(ms ...abi.Manifest) []*spec.Controller {
		var out []*spec.Controller
		for i := range ms {
			cc := config.Controller{Plugin: ms[i].Name + ".wasm"}
			cc.SetDefaults()
			s, err := spec.Build(&config.Config{Controllers: []config.Controller{cc}}, 0, &ms[i])
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return out
	}
	podGK, rsGK, cmGK := schema.GroupKind{Kind: "Pod"}, schema.GroupKind{Group: "apps", Kind: "ReplicaSet"}, schema.GroupKind{Kind: "ConfigMap"}
	for _, tc := range []struct {
		name string
		ms   []abi.Manifest
		cut  []schema.GroupKind
		// keeps: paths the pod cut must keep; drops: paths it must not.
		keeps, drops []string
	}{
		{"one reader", []abi.Manifest{rsReader}, []schema.GroupKind{podGK},
			[]string{"status.phase", "metadata.annotations[a]", "metadata.labels", "metadata.ownerReferences", "metadata.finalizers", "metadata.deletionTimestamp"},
			[]string{"spec.nodeName", "metadata.annotations", "spec"}},
		{"two readers: the union; a reconciled kind whole", []abi.Manifest{rsReader, depReader}, []schema.GroupKind{podGK},
			[]string{"status.phase", "spec.nodeName"}, []string{"spec.containers"}},
		{"a reader without fields: whole", []abi.Manifest{rsReader, wholePods}, nil, nil, nil},
		{"related with fields", []abi.Manifest{cmReader}, []schema.GroupKind{cmGK}, nil, nil},
		{"related kind reconciled by another", []abi.Manifest{cmReader, wholePods}, nil, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keep, err := cacheFields(build(tc.ms...))
			if err != nil {
				t.Fatal(err)
			}
			for _, gk := range tc.cut {
				if keep[gk] == nil {
					t.Fatalf("%s cached whole, want it cut (cut: %v)", gk, keep)
				}
			}
			if len(keep) != len(tc.cut) {
				t.Fatalf("cut %v, want only %v", keep, tc.cut)
			}
			if keep[rsGK] != nil {
				t.Fatal("ReplicaSets cut: a controller reconciles them")
			}
			for _, path := range tc.keeps {
				if p, _ := projection.New("t", []string{path}); !keep[podGK].Covers(p) {
					t.Errorf("pods cut without %s", path)
				}
			}
			for _, path := range tc.drops {
				if p, _ := projection.New("t", []string{path}); keep[podGK].Covers(p) {
					t.Errorf("pods keep all of %s", path)
				}
			}
		})
	}
}

// TestSweepJSON: memoised JSON survives a sweep when it was read since
// the one before, and is dropped otherwise; the sweep that drops the last
// of it calls onIdle, once.
func TestSweepJSON(t *testing.T) {
	c := newInformerCache(nil, nil, nil, nil)
	idle := 0
	c.onIdle = func() { idle++ }
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", UID: "uid-p", ResourceVersion: "1"}}
	memoised := func() bool {
		_, ok := c.json.Load(pod.UID)
		return ok
	}
	if _, err := c.JSON(pod, nil); err != nil {
		t.Fatal(err)
	}
	c.sweepJSON()
	if !memoised() || idle != 0 {
		t.Fatalf("dropped by the first sweep after a read (or idle: %d)", idle)
	}
	c.sweepJSON()
	if memoised() || idle != 1 {
		t.Fatalf("kept through a sweep with no read since the last (or idle %d times, want 1)", idle)
	}
	c.sweepJSON()
	if idle != 1 {
		t.Fatalf("idle %d times: once per idle spell", idle)
	}
	if data, err := c.JSON(pod, nil); err != nil || !strings.Contains(string(data), `"uid-p"`) || !memoised() {
		t.Fatalf("after the sweep: %s, %v", data, err)
	}
}
