package projection

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/randfill"
)

// podReaders are field selections of the kind the workload plugins list
// for pods: bracketed annotation keys, paths through lists, pointers and
// maps, custom-JSON leaves (times, quantities).
var podReaders = [][]string{
	{"metadata.labels", "metadata.annotations[example.com/cost]", "metadata.ownerReferences", "metadata.creationTimestamp",
		"spec.nodeName", "spec.initContainers.name", "spec.initContainers.restartPolicy",
		"status.phase", "status.conditions.type", "status.conditions.lastTransitionTime", "status.containerStatuses.restartCount"},
	{"metadata.ownerReferences", "status.phase"},
	{"metadata.labels", "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms.matchFields",
		"spec.volumes.name", "spec.volumes.persistentVolumeClaim", "status.containerStatuses.state.terminated.exitCode",
		"spec.overhead", "metadata.deletionTimestamp"},
}

func randomPods(t *testing.T, n int) []*corev1.Pod {
	f := randfill.NewWithSeed(7).NilChance(0.2).NumElements(0, 3).Funcs(
		func(q *resource.Quantity, c randfill.Continue) {
			*q = *resource.NewMilliQuantity(c.Int63n(1e9), resource.DecimalSI)
		},
		func(f *metav1.FieldsV1, c randfill.Continue) { f.Raw = []byte(`{"f:x":{}}`) },
		func(m *map[string]string, c randfill.Continue) {
			*m = map[string]string{}
			for range c.Intn(4) {
				(*m)[c.String(4)] = c.String(4)
			}
			if c.Intn(2) == 0 {
				(*m)["example.com/cost"] = fmt.Sprint(c.Intn(100))
			}
		},
	)
	var out []*corev1.Pod
	for range n {
		var p corev1.Pod
		f.Fill(&p)
		p.ManagedFields = nil
		out = append(out, &p)
	}
	return out
}

// TestPruneKeepsWhatReadersSee: a pod cut by the union of the readers'
// fields gives each reader (and the union itself) the JSON the whole pod
// gives it, typed or unstructured, and drops the rest.
func TestPruneKeepsWhatReadersSee(t *testing.T) {
	var union []string
	var readers []*Projection
	for i, paths := range podReaders {
		union = append(union, paths...)
		p, err := New(fmt.Sprint(i), paths)
		if err != nil {
			t.Fatal(err)
		}
		readers = append(readers, p)
	}
	keep, err := New("keep", union)
	if err != nil {
		t.Fatal(err)
	}
	readers = append(readers, keep)
	for i, pod := range randomPods(t, 300) {
		whole, err := json.Marshal(pod)
		if err != nil {
			t.Fatal(err)
		}
		obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(pod)
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{Object: obj}
		typed := pod.DeepCopy()
		keep.Prune(typed)
		keep.Prune(u)
		cut, err := json.Marshal(typed)
		if err != nil {
			t.Fatal(err)
		}
		for j, r := range readers {
			want, err := r.ApplyJSON(whole)
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.ApplyJSON(cut)
			if err != nil {
				t.Fatal(err)
			}
			if g, w := normalized(t, got), normalized(t, want); g != w {
				t.Fatalf("pod %d, reader %d, typed:\n got %s\nwant %s", i, j, g, w)
			}
			gotU, _ := json.Marshal(r.Apply(u))
			if g, w := normalized(t, gotU), normalized(t, want); g != w {
				t.Fatalf("pod %d, reader %d, unstructured:\n got %s\nwant %s", i, j, g, w)
			}
		}
		left, err := runtime.DefaultUnstructuredConverter.ToUnstructured(typed)
		if err != nil {
			t.Fatal(err)
		}
		if path := outside(left, keep.root, ""); path != "" {
			t.Fatalf("pod %d: %s kept, no reader lists it", i, path)
		}
		if len(pod.Spec.Containers) > 0 && typed.Spec.Containers != nil {
			t.Fatalf("pod %d: containers kept, no reader lists them", i)
		}
		if pod.Spec.Affinity != nil && pod.Spec.Affinity.PodAffinity != nil && typed.Spec.Affinity.PodAffinity != nil {
			t.Fatalf("pod %d: pod affinity kept beside the node affinity path", i)
		}
		for k := range typed.Annotations {
			if k != "example.com/cost" {
				t.Fatalf("pod %d: annotation %q kept", i, k)
			}
		}
	}
}

// normalized is data re-encoded without empty objects: a typed map whose
// keys were all cut is omitted (omitempty) where the whole object's JSON
// cut by a reader has "annotations":{}, which reads the same.
func normalized(t *testing.T, data []byte) string {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	var drop func(v any) any
	drop = func(v any) any {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if x = drop(x); x == nil {
					delete(v, k)
				} else {
					v[k] = x
				}
			}
			if len(v) == 0 {
				return nil
			}
		case []any:
			for i, x := range v {
				v[i] = drop(x)
			}
		}
		return v
	}
	out, _ := json.Marshal(drop(v))
	return string(out)
}

// outside returns the path of a value in v that n does not keep and that
// is not empty, "" when there is none.
func outside(v any, n *fieldNode, at string) string {
	if n.leaf {
		return ""
	}
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			c := n.children[k]
			if c == nil {
				if !reflect.ValueOf(x).IsValid() || reflect.ValueOf(x).IsZero() || isEmpty(x) {
					continue
				}
				return at + "." + k
			}
			if p := outside(x, c, at+"."+k); p != "" {
				return p
			}
		}
	case []any:
		for i, x := range v {
			if p := outside(x, n, fmt.Sprintf("%s[%d]", at, i)); p != "" {
				return p
			}
		}
	}
	return ""
}

func isEmpty(x any) bool {
	switch x := x.(type) {
	case map[string]any:
		for _, v := range x {
			if !isEmpty(v) {
				return false
			}
		}
		return true
	case []any:
		return len(x) == 0
	}
	return reflect.ValueOf(x).IsZero()
}

func TestCovers(t *testing.T) {
	p, _ := New("p", []string{"metadata.labels", "spec.a.b", "status"})
	for _, tc := range []struct {
		paths []string
		want  bool
	}{
		{nil, true},
		{[]string{"metadata.labels[x]"}, true},
		{[]string{"spec.a.b.c", "status.phase"}, true},
		{[]string{"spec.a"}, false},
		{[]string{"spec.c"}, false},
		{[]string{"metadata.annotations"}, false},
		{[]string{"metadata"}, false},
	} {
		t.Run(fmt.Sprint(tc.paths), func(t *testing.T) {
			q, _ := New("q", tc.paths)
			if got := p.Covers(q); got != tc.want {
				t.Fatalf("Covers(%v) = %v, want %v", tc.paths, got, tc.want)
			}
		})
	}
}

// BenchmarkPrune: cutting a random pod (with its deep copy, which
// "copy" measures alone).
func BenchmarkPrune(b *testing.B) {
	keep, _ := New("keep", podReaders[0])
	pods := randomPods(nil, 64)
	for _, prune := range []bool{false, true} {
		b.Run(map[bool]string{false: "copy", true: "copy+prune"}[prune], func(b *testing.B) {
			src := rand.New(rand.NewPCG(1, 2))
			b.ReportAllocs()
			for b.Loop() {
				p := pods[src.IntN(len(pods))].DeepCopy()
				if prune {
					keep.Prune(p)
				}
			}
		})
	}
}
