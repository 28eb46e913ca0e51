package guest

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"wasmctl.dev/wasmctl/abi"
)

// The exports' logic, called natively through what Register recorded.

func registered(t *testing.T) {
	m, r := manifest, reconcile
	t.Cleanup(func() { manifest, reconcile = m, r })
}

func TestReconcileThroughRegister(t *testing.T) {
	registered(t)
	var seen []*abi.ReconcileRequest
	Register(&abi.Manifest{Name: "t"}, func(req *abi.ReconcileRequest) (*abi.ReconcileResponse, error) {
		seen = append(seen, req)
		if string(req.Object) == `"fail"` {
			return nil, errors.New("boom")
		}
		if string(req.Object) == `"nil"` {
			return nil, nil
		}
		resp := &abi.ReconcileResponse{} // apiVersion and kind filled in
		resp.Event(abi.EventNormal, "Seen", "%s", req.Now)
		return resp, nil
	})
	cases := []struct {
		name, input, want, err string
	}{
		{"a response", `{"apiVersion":"wasmctl.dev/v1alpha1","kind":"ReconcileRequest","now":"2026-01-01T00:00:00Z","object":{}}`,
			`{"apiVersion":"wasmctl.dev/v1alpha1","kind":"ReconcileResponse","events":[{"type":"Normal","reason":"Seen","message":"2026-01-01T00:00:00Z"}]}`, ""},
		{"nil is an empty response", `{"apiVersion":"wasmctl.dev/v1alpha1","object":"nil"}`, `{"apiVersion":"wasmctl.dev/v1alpha1","kind":"ReconcileResponse"}`, ""},
		{"the function's error", `{"apiVersion":"wasmctl.dev/v1alpha1","object":"fail"}`, "", "boom"},
		{"another ABI", `{"apiVersion":"wasmctl.dev/v2","object":{}}`, "", `request apiVersion "wasmctl.dev/v2", this plugin speaks "wasmctl.dev/v1alpha1"`},
		{"bad JSON", `{`, "", "decode request: "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := reconcileJSON([]byte(c.input))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || string(out) != c.want {
				t.Fatalf("%s %v\nwant %s", out, err, c.want)
			}
		})
	}
	if len(seen) != 3 || seen[0].Now != "2026-01-01T00:00:00Z" {
		t.Fatalf("the function saw %+v", seen)
	}
}

func TestDescribe(t *testing.T) {
	registered(t)
	RegisterRaw(&abi.Manifest{Name: "raw"}, func([]byte) (*abi.ReconcileResponse, error) { return nil, nil })
	out, err := describeJSON()
	if err != nil {
		t.Fatal(err)
	}
	var m abi.Manifest
	if err := json.Unmarshal(out, &m); err != nil || m.Name != "raw" || m.APIVersion != abi.Version || m.Kind != abi.KindManifest || m.ABIVersion != abi.Version {
		t.Fatalf("%s %v", out, err)
	}
	RegisterRaw(nil, nil)
	if _, err := describeJSON(); err == nil {
		t.Fatal("describe without a manifest: no error")
	}
	if _, err := reconcileJSON(nil); !errors.Is(err, errNotRegistered) {
		t.Fatalf("reconcile without a function: %v", err)
	}
}
