package projection

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// FuzzProjection builds projections from arbitrary field paths and applies
// them to arbitrary objects, as request building does for every child: no
// panic, the cached object untouched, valid JSON out, identity kept.
func FuzzProjection(f *testing.F) {
	f.Add("metadata.labels,status.conditions.type,metadata.annotations[a.b/c]", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","labels":{"a":"b"}},"status":{"conditions":[{"type":"Ready","status":"True"}]}}`)
	f.Add("spec", `{"kind":"X","spec":[1,2,{"a":null}]}`)
	f.Add("a.b.c", `{"a":{"b":[{"c":1},2,"x",{"d":3}]}}`)
	f.Add("[x.y]", `{"x.y":1,"metadata":{"name":"n"}}`)
	f.Fuzz(func(t *testing.T, paths, object string) {
		p, err := New("fuzz", strings.Split(paths, ","))
		if err != nil {
			return
		}
		var obj map[string]any
		if err := json.Unmarshal([]byte(object), &obj); err != nil || obj == nil {
			return
		}
		before, _ := json.Marshal(obj)
		u := &unstructured.Unstructured{Object: obj}
		out := p.Apply(u)
		data, err := json.Marshal(out)
		if err != nil || !json.Valid(data) {
			t.Fatalf("projection produced bad JSON: %v", err)
		}
		// The JSON-level projection (typed objects) must agree with the
		// map-level one, on the object as given and as re-encoded.
		for _, in := range [][]byte{[]byte(object), before} {
			got, err := p.ApplyJSON(in)
			if err != nil {
				t.Fatalf("ApplyJSON(%s): %v", in, err)
			}
			var a, b any
			if err := json.Unmarshal(got, &a); err != nil {
				t.Fatalf("ApplyJSON produced bad JSON %s: %v", got, err)
			}
			_ = json.Unmarshal(data, &b)
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("ApplyJSON(%s) = %s, Apply = %s", in, got, data)
			}
		}
		after, _ := json.Marshal(obj)
		if string(before) != string(after) {
			t.Fatal("projection modified the cached object")
		}
		if kind, ok := obj["kind"]; ok && !reflect.DeepEqual(out["kind"], kind) {
			t.Fatal("projection dropped kind")
		}
	})
}
