package projection

import (
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/randfill"
)

// TestAppendTypedMatchesApplyJSON: for random pods, nodes and claims and
// every reader's projection, the walk writes the bytes json.Marshal then
// ApplyJSON write.
func TestAppendTypedMatchesApplyJSON(t *testing.T) {
	var projections []*Projection
	for i, paths := range append(podReaders, []string{"metadata", "spec.taints", "status"}, []string{"spec.resources", "status.capacity[storage]", "metadata.annotations"}) {
		p, err := New(fmt.Sprint(i), paths)
		if err != nil {
			t.Fatal(err)
		}
		projections = append(projections, p)
	}
	check := func(what string, obj any) {
		t.Helper()
		whole, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range projections {
			want, err := p.ApplyJSON(whole)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.AppendTyped(nil, obj)
			if err != nil || string(got) != string(want) {
				t.Fatalf("%s, projection %s (%v):\n got %s (%v)\nwant %s", what, p.ID(), p.Paths(), got, err, want)
			}
		}
	}
	for i, pod := range randomPods(t, 300) {
		check(fmt.Sprint("pod ", i), pod)
	}
	f := randfill.NewWithSeed(11).NilChance(0.2).NumElements(0, 3).Funcs(
		func(q *resource.Quantity, c randfill.Continue) {
			*q = *resource.NewQuantity(c.Int63n(1e12), resource.BinarySI)
		},
		func(f *metav1.FieldsV1, c randfill.Continue) { f.Raw = []byte(`{"f:x":{}}`) },
	)
	for i := range 100 {
		var n corev1.Node
		f.Fill(&n)
		check(fmt.Sprint("node ", i), &n)
		var pvc corev1.PersistentVolumeClaim
		f.Fill(&pvc)
		check(fmt.Sprint("claim ", i), &pvc)
	}
}

// TestAppendTypedEncodingRules: the rules of encoding/json the walk
// repeats, on a type that has each.
func TestAppendTypedEncodingRules(t *testing.T) {
	type inner struct {
		A string `json:"a"`
		B string `json:"b,omitempty"`
	}
	type Embedded struct {
		E string `json:"e"`
	}
	type obj struct {
		*Embedded
		Zero    zeroer            `json:"zero,omitzero"`
		PZero   ptrZeroer         `json:"pZero,omitzero"`
		ZeroMap map[string]holder `json:"zeroMap"`
		PtrZero *zeroer           `json:"ptrZero,omitzero"`
		Time    metav1.Time       `json:"time,omitzero"`
		Q       quoted            `json:"q"`
		Bytes   []byte            `json:"bytes"`
		Any     any               `json:"any"`
		IntMap  map[int]string    `json:"intMap"`
		Text    map[textKey]inner `json:"text"`
		Ptr     *inner            `json:"ptr"`
		Empty   *inner            `json:"empty,omitempty"`
		List    []inner           `json:"list"`
		NilList []inner           `json:"nilList"`
		Map     map[string]inner  `json:"map"`
		Addr    addrMarshaler     `json:"addr"`
		HTML    map[string]string `json:"html"`
	}
	type wrapper struct {
		O      obj  `json:"o"`
		Nested *obj `json:"nested,omitempty"`
	}
	values := []wrapper{
		{},
		{O: obj{Embedded: &Embedded{E: "e"}, Zero: zeroer{n: 1}, PZero: ptrZeroer{n: 0}, ZeroMap: map[string]holder{"a": {P: ptrZeroer{n: 2}}, "b": {}}, PtrZero: &zeroer{}, Time: metav1.NewTime(time.Unix(1e9, 0)), Q: quoted{N: 7}, Bytes: []byte("hi"),
			Any: map[string]any{"x": 1}, IntMap: map[int]string{2: "b", 1: "a"}, Text: map[textKey]inner{"k": {A: "1"}},
			Ptr: &inner{A: "a", B: "b"}, List: []inner{{A: "x"}, {B: "y"}}, Map: map[string]inner{"m": {A: "<&>"}, "n": {}, "a": {B: "1"}, "z": {}, "k": {A: "k"}}, Addr: addrMarshaler{3},
			HTML: map[string]string{"<k>": "&"}},
			Nested: &obj{Q: quoted{N: 1}}},
	}
	paths := [][]string{
		{"o"}, {"o.e", "o.zero", "o.ptrZero", "o.time", "o.pZero", "o.zeroMap[a].p", "o.zeroMap[b].p"},
		{"o.map[m]", "o.map[n]", "o.map[a]", "o.map[z]", "o.map[k]", "o.html", "o.bytes.x"}, {"o.q.n", "o.bytes", "o.any.x"}, {"o.intMap", "o.text.k.a"},
		{"o.ptr.a", "o.empty.a", "o.list.b", "o.nilList.a", "o.map[m].a", "o.map[missing]", "o.addr.v", "o.html[<k>]"},
		{"nested.q", "nested.ptr"}, {"o.q.n.x", "o.q.m"},
	}
	for i, ps := range paths {
		p, err := New(strconv.Itoa(i), ps)
		if err != nil {
			t.Fatal(err)
		}
		for j := range values {
			whole, err := json.Marshal(&values[j])
			if err != nil {
				t.Fatal(err)
			}
			want, err := p.ApplyJSON(whole)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.AppendTyped(nil, &values[j])
			if err != nil || string(got) != string(want) {
				t.Errorf("value %d, paths %v:\n got %s (%v)\nwant %s", j, ps, got, err, want)
			}
		}
	}
}

type quoted struct {
	N int `json:"n,string"`
	M int `json:"m"`
}

type zeroer struct{ n int }

func (z zeroer) IsZero() bool { return z.n == 0 }

type ptrZeroer struct{ N, n int }

func (z *ptrZeroer) IsZero() bool { return z.n == 0 }

type holder struct {
	P ptrZeroer `json:"p,omitzero"`
}

type textKey string

func (k textKey) MarshalText() ([]byte, error) { return []byte("key-" + string(k)), nil }

type addrMarshaler struct{ v int }

func (a *addrMarshaler) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf(`{"v":%d,"w":0}`, a.v)), nil
}

func BenchmarkAppendTyped(b *testing.B) {
	var union []string
	for _, paths := range podReaders {
		union = append(union, paths...)
	}
	keep, err := New("keep", union)
	if err != nil {
		b.Fatal(err)
	}
	pod := randomPods(&testing.T{}, 1)[0]
	b.Run("walk", func(b *testing.B) {
		for b.Loop() {
			if _, err := keep.AppendTyped(nil, pod); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("prune+marshal+ApplyJSON", func(b *testing.B) {
		for b.Loop() {
			p := pod.DeepCopy()
			keep.Prune(p)
			data, _ := json.Marshal(p)
			if _, err := keep.ApplyJSON(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
