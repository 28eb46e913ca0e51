package apply_test

import (
	"encoding/json"
	"testing"

	"wasmctl.dev/wasmctl/host/apply"
)

// FuzzDecodeValidate feeds arbitrary plugin output to the host's decoder and
// validator: they must never panic, and whatever they accept must satisfy
// the invariants the applier relies on. Seeds: testdata/fuzz/FuzzDecodeValidate.
func FuzzDecodeValidate(f *testing.F) {
	for _, s := range []string{
		`{"actions":[{"op":"create","object":{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"web-"}}}]}`,
		`{"actions":[{"op":"patch","patchType":"strategic","patch":{"metadata":{}},"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"stray"}}}]}`,
		`{"actions":[{"op":"delete","propagationPolicy":"Background","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"mine","uid":"u"}}}],"requeueAfterSeconds":1.5}`,
		`{"actions":[{"op":"updateStatus","object":{"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"web"},"status":{"replicas":1}}}],"events":[{"type":"Normal","reason":"R","message":"m"}]}`,
		`{"actions":[{"op":"create","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-0"}},"onSuccess":[{"type":"Normal","reason":"SuccessfulCreate","message":"m"}],"onFailure":[{"type":"Warning","reason":"FailedCreate","message":"{error}"}]}]}`,
		`{"apiVersion":"wasmctl.dev/v1alpha1","kind":"ReconcileResponse"}`,
		`{"actions":[{"op":"create","object":{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"x"}}}]}`,
		`{"actions":[`,
		"\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		resp, err := apply.Decode(data)
		if err != nil {
			return
		}
		actions, err := apply.Validate(resp, input())
		if err != nil {
			return
		}
		for _, a := range actions {
			if a.Object == nil || a.GVK.Kind == "" {
				t.Fatalf("accepted an action without an object or kind: %+v", a)
			}
			if a.Object.GetName() == "" && a.Object.GetGenerateName() == "" {
				t.Fatal("accepted an action that names no object")
			}
			if a.Owned && a.Object.GetNamespace() != "ns" {
				t.Fatalf("accepted an owned object outside the primary's namespace: %q", a.Object.GetNamespace())
			}
			if !json.Valid(a.Action.Object) {
				t.Fatal("accepted an object that is not JSON")
			}
		}
	})
}
