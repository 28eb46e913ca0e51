package decode_test

import (
	"encoding/json"
	"errors"
	"math/rand"
	"reflect"
	"testing"
	"time"

	"github.com/valyala/fastjson"
	realappsv1 "k8s.io/api/apps/v1"
	realcorev1 "k8s.io/api/core/v1"

	appsv1 "wasmctl.dev/wasmctl/plugins/internal/kube/apps/v1"
	corev1 "wasmctl.dev/wasmctl/plugins/internal/kube/core/v1"
	"wasmctl.dev/wasmctl/plugins/internal/kube/decode"
	"wasmctl.dev/wasmctl/plugins/internal/kube/kubetest"
)

// decoder is a mirror type's generated method.
type decoder interface {
	DecodeJSON(v *fastjson.Value) error
}

// pairs are the objects the plugins decode: a real k8s.io/api value to fill
// and the mirror type to decode its JSON into.
var pairs = []struct {
	name   string
	real   func() any
	mirror func() decoder
}{
	{"Deployment", func() any { return new(realappsv1.Deployment) }, func() decoder { return new(appsv1.Deployment) }},
	{"ReplicaSet", func() any { return new(realappsv1.ReplicaSet) }, func() decoder { return new(appsv1.ReplicaSet) }},
	{"DaemonSet", func() any { return new(realappsv1.DaemonSet) }, func() decoder { return new(appsv1.DaemonSet) }},
	{"ControllerRevision", func() any { return new(realappsv1.ControllerRevision) }, func() decoder { return new(appsv1.ControllerRevision) }},
	{"Pod", func() any { return new(realcorev1.Pod) }, func() decoder { return new(corev1.Pod) }},
	{"Node", func() any { return new(realcorev1.Node) }, func() decoder { return new(corev1.Node) }},
}

// TestMatchesEncodingJSON fills random objects of the real types (every
// field reachable), encodes them as the API server does, and decodes the
// JSON into the mirror twice, with encoding/json and with the generated
// DecodeJSON: the two values must be deeply equal, so no field is missed,
// misnamed or decoded differently.
func TestMatchesEncodingJSON(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	f := kubetest.Filler(rand.New(rand.NewSource(seed)))
	n := 200
	if testing.Short() {
		n = 40
	}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			for i := range n {
				obj := p.real()
				f.Fill(obj)
				data, err := json.Marshal(obj)
				if err != nil {
					t.Fatal(err)
				}
				want := p.mirror()
				if err := json.Unmarshal(data, want); err != nil {
					t.Fatalf("object %d: encoding/json: %v", i, err)
				}
				v, err := fastjson.ParseBytes(data)
				if err != nil {
					t.Fatal(err)
				}
				got := p.mirror()
				if err := got.DecodeJSON(v); err != nil {
					t.Fatalf("object %d: DecodeJSON: %v\n%s", i, err, data)
				}
				if !reflect.DeepEqual(got, want) {
					g, _ := json.Marshal(got)
					w, _ := json.Marshal(want)
					t.Fatalf("object %d: DecodeJSON differs from encoding/json\nDecodeJSON    %s\nencoding/json %s", i, g, w)
				}
			}
		})
	}
}

// TestRules holds the decoder to encoding/json on the edges: null, wrong
// types, numbers that do not fit, repeated and unknown keys, escapes.
func TestRules(t *testing.T) {
	for _, c := range []struct {
		name, json string
		wantErr    string // the path of DecodeJSON's error; "" for none
	}{
		{"null object", `null`, ""},
		{"null fields", `{"spec":null,"metadata":{"name":null,"labels":null},"status":{"replicas":null}}`, ""},
		{"null pointer", `{"spec":{"replicas":null}}`, ""},
		{"pointer", `{"spec":{"replicas":3,"paused":true}}`, ""},
		{"unknown keys", `{"spec":{"zzz":[1,{"a":null}],"replicas":2},"extra":"x"}`, ""},
		{"repeated key: the last wins", `{"metadata":{"name":"a","name":"b"}}`, ""},
		{"escapes", `{"metadata":{"name":"a\"b\\c\u00e9\u003c","labels":{"k\u0041":"v\n"}}}`, ""},
		{"int32 max", `{"spec":{"replicas":2147483647}}`, ""},
		{"int64", `{"metadata":{"generation":-9223372036854775808}}`, ""},
		{"int32 overflow", `{"spec":{"replicas":2147483648}}`, "spec.replicas"},
		{"fraction into int32", `{"spec":{"replicas":1.5}}`, "spec.replicas"},
		{"exponent into int32", `{"spec":{"replicas":1e3}}`, "spec.replicas"},
		{"string into int32", `{"spec":{"replicas":"3"}}`, "spec.replicas"},
		{"number into string", `{"metadata":{"name":3}}`, "metadata.name"},
		{"object into string", `{"metadata":{"labels":{"a":{}}}}`, "metadata.labels.a"},
		{"string into bool", `{"spec":{"paused":"true"}}`, "spec.paused"},
		{"array into object", `{"spec":[]}`, "spec"},
		{"deep", `{"spec":{"template":{"spec":{"containers":[{"name":"a"},{"ports":[{"containerPort":"80"}]}]}}}}`,
			"spec.template.spec.containers[1].ports[0].containerPort"},
		{"quantity", `{"spec":{"template":{"spec":{"containers":[{"resources":{"limits":{"cpu":"500m","memory":1024}}}]}}}}`, ""},
		{"bad quantity", `{"spec":{"template":{"spec":{"containers":[{"resources":{"limits":{"cpu":"5x"}}}]}}}}`,
			"spec.template.spec.containers[0].resources.limits.cpu"},
		{"int-or-string", `{"spec":{"strategy":{"rollingUpdate":{"maxSurge":"25%","maxUnavailable":2}}}}`, ""},
		{"int-or-string null", `{"spec":{"strategy":{"rollingUpdate":{"maxSurge":null}}}}`, ""},
		{"bad int-or-string", `{"spec":{"strategy":{"rollingUpdate":{"maxSurge":1.5}}}}`, "spec.strategy.rollingUpdate.maxSurge"},
		{"times", `{"metadata":{"creationTimestamp":"2026-12-07T10:11:12Z","deletionTimestamp":null},"status":{"conditions":[{"lastUpdateTime":"2026-12-07T10:11:12+02:00"}]}}`, ""},
		{"bad time", `{"metadata":{"creationTimestamp":"yesterday"}}`, "metadata.creationTimestamp"},
		{"managed fields", `{"metadata":{"managedFields":[{"manager":"m","fieldsV1":{"f:spec":{"f:replicas":{}}}}]}}`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var want appsv1.Deployment
			jsonErr := json.Unmarshal([]byte(c.json), &want)
			var got appsv1.Deployment
			err := got.DecodeJSON(fastjson.MustParse(c.json))
			if c.wantErr == "" {
				if jsonErr != nil || err != nil {
					t.Fatalf("encoding/json: %v, DecodeJSON: %v", jsonErr, err)
				}
				if !reflect.DeepEqual(&got, &want) {
					t.Fatalf("DecodeJSON %+v\nencoding/json %+v", got, want)
				}
				return
			}
			if jsonErr == nil {
				t.Fatalf("encoding/json accepts it: the case is wrong")
			}
			var e *decode.Error
			if !errors.As(err, &e) || e.Path != c.wantErr {
				t.Fatalf("error %v, want one at %s", err, c.wantErr)
			}
		})
	}
}

// BenchmarkDecode compares the generated decoder with encoding/json on a
// Deployment as the API server returns it (run it under wasip1 too:
// GOOS=wasip1 GOARCH=wasm go test -exec ... -bench .).
func BenchmarkDecode(b *testing.B) {
	f := kubetest.Filler(rand.New(rand.NewSource(1)))
	real := new(realappsv1.Deployment)
	f.Fill(real)
	data, _ := json.Marshal(real)
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			var d appsv1.Deployment
			if err := json.Unmarshal(data, &d); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fastjson+DecodeJSON", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		var p fastjson.Parser
		for b.Loop() {
			v, err := p.ParseBytes(data)
			if err != nil {
				b.Fatal(err)
			}
			var d appsv1.Deployment
			if err := d.DecodeJSON(v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
