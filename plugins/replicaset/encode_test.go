package replicaset

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fastjson"
	"sigs.k8s.io/randfill"

	"wasmctl.dev/wasmctl/abi/sdk/meta"
)

// The hand-written objects equal what json.Marshal wrote before them: the
// status byte for byte (every field filled at random, so one the writer
// leaves out fails), the pod, the delete and the status write as JSON
// values (the template spec is copied verbatim, where json.Marshal
// re-escaped its HTML characters).
func TestObjectsMatchEncodingJSON(t *testing.T) {
	src := rand.New(rand.NewPCG(5, 6))
	alphabet := []string{"a", "Z", "0", "-", ".", "/", " ", "\"", "\\", "<", "&", "\n", "\x01", "é", "\u2028", "😀", "\xff"}
	str := func() string {
		var sb strings.Builder
		for range src.IntN(10) {
			sb.WriteString(alphabet[src.IntN(len(alphabet))])
		}
		return sb.String()
	}
	f := randfill.NewWithSeed(7).NilChance(0.3).NumElements(0, 3).Funcs(
		func(s *string, c randfill.Continue) { *s = str() },
		func(tm *meta.Time, c randfill.Continue) {
			if src.IntN(3) > 0 {
				*tm = meta.NewTime(time.Unix(src.Int64N(4e9), src.Int64N(1e9)).In(time.FixedZone("x", 3600)))
			}
		},
	)
	var p fastjson.Parser
	for i := range 2000 {
		var st Status
		f.Fill(&st)
		want, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendStatus(nil, &st); string(got) != string(want) {
			t.Fatalf("status %d:\n got %s\nwant %s", i, got, want)
		}

		rs := ReplicaSet{Name: str(), Namespace: str(), UID: str()}
		f.Fill(&rs.Template.Labels)
		f.Fill(&rs.Template.Annotations)
		f.Fill(&rs.Template.Finalizers)
		specJSON, _ := json.Marshal(map[string]any{"containers": []any{map[string]any{"name": str(), "args": []string{str(), str()}}}})
		if i%5 > 0 {
			rs.Template.Spec = fastjson.MustParseBytes(specJSON)
		} else {
			specJSON = []byte("{}")
		}
		old, _ := json.Marshal(map[string]any{
			"apiVersion": "v1", "kind": "Pod",
			"metadata": map[string]any{
				"generateName": rs.Name + "-", "namespace": rs.Namespace,
				"labels": omitEmpty(rs.Template.Labels), "annotations": omitEmpty(rs.Template.Annotations), "finalizers": omitEmpty(rs.Template.Finalizers),
				"ownerReferences": []meta.OwnerReference{meta.NewControllerRef(rs.ref())},
			},
			"spec": json.RawMessage(specJSON),
		})
		sameJSON(t, "pod", podFromTemplate(&rs), dropNulls(old))

		pod := &Pod{Name: str(), Namespace: str()}
		old, _ = json.Marshal(map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"namespace": pod.Namespace, "name": pod.Name}})
		if got := podToDelete(pod); string(got) != string(old) {
			t.Fatalf("delete:\n got %s\nwant %s", got, old)
		}

		objJSON, _ := json.Marshal(map[string]any{"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": map[string]any{"name": str(), "annotations": map[string]string{"a": str()}}, "status": map[string]any{"replicas": 3}})
		obj, err := p.ParseBytes(objJSON)
		if err != nil {
			t.Fatal(err)
		}
		stJSON, _ := json.Marshal(st)
		obj.Set("status", fastjson.MustParseBytes(stJSON))
		want = obj.MarshalTo(nil)
		obj, _ = p.ParseBytes(objJSON)
		got := withStatus(obj, &st)
		sameJSON(t, "status write", got, want)
		n := 0
		fastjson.MustParseBytes(got).GetObject().Visit(func(k []byte, _ *fastjson.Value) {
			if string(k) == "status" {
				n++
			}
		})
		if n != 1 {
			t.Fatalf("status write has %d statuses: %s", n, got) // json.Unmarshal would have kept the last
		}
	}
}

func omitEmpty[T any](v T) any {
	if reflect.ValueOf(v).Len() == 0 {
		return nil
	}
	return v
}

// dropNulls removes the metadata fields omitEmpty set to null.
func dropNulls(b []byte) []byte {
	var m map[string]any
	json.Unmarshal(b, &m)
	md := m["metadata"].(map[string]any)
	for k, v := range md {
		if v == nil {
			delete(md, k)
		}
	}
	out, _ := json.Marshal(m)
	return out
}

func sameJSON(t *testing.T, what string, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v in %s", what, err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s:\n got %s\nwant %s", what, got, want)
	}
}
