package propagator_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/host/plugintest"
	"wasmctl.dev/wasmctl/plugins/propagator"
)

func source(mutate ...func(meta map[string]any)) map[string]any {
	m := map[string]any{
		"name": "settings", "namespace": "platform", "uid": "src", "resourceVersion": "5",
		"labels":      map[string]any{propagator.EnabledLabel: "true", "app": "x"},
		"annotations": map[string]any{propagator.SelectorAnnotation: "team=a"},
		"finalizers":  []any{propagator.Finalizer},
	}
	for _, f := range mutate {
		f(m)
	}
	return map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": m, "data": map[string]any{"k": "v"}}
}

func ns(name string, labels map[string]any) map[string]any {
	return map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name, "labels": labels}, "status": map[string]any{"phase": "Active"}}
}

func copyIn(namespace, data string) map[string]any {
	return map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{
		"name": "settings", "namespace": namespace, "uid": "copy-" + namespace, "resourceVersion": "9",
		"labels": map[string]any{propagator.SourceLabel: "platform.settings", "app": "x"},
	}, "data": map[string]any{"k": data}}
}

var namespaces = []any{
	ns("platform", map[string]any{"team": "a"}), // the source's own: never a target
	ns("a1", map[string]any{"team": "a"}),
	ns("a2", map[string]any{"team": "a"}),
	ns("b1", map[string]any{"team": "b"}),
}

type impl func(t *testing.T, req plugintest.Request) *plugintest.Result

func impls(t *testing.T) map[string]impl {
	return map[string]impl{
		"native": func(t *testing.T, req plugintest.Request) *plugintest.Result {
			in, err := req.JSON()
			if err != nil {
				t.Fatal(err)
			}
			var r abi.ReconcileRequest
			if err := json.Unmarshal(in, &r); err != nil {
				t.Fatal(err)
			}
			resp, err := propagator.Reconcile(&r)
			if err != nil {
				t.Fatal(err)
			}
			return plugintest.NewResult(t, resp)
		},
		"wasm": func(t *testing.T, req plugintest.Request) *plugintest.Result {
			return plugintest.Shared(t, "./cmd").Run(t, req)
		},
	}
}

func TestReconcile(t *testing.T) {
	cases := []struct {
		name  string
		req   plugintest.Request
		check func(t *testing.T, r *plugintest.Result)
	}{
		{"copies into every matching namespace but its own", plugintest.Request{
			Object: source(), Related: map[string][]any{"namespaces": namespaces},
		}, func(t *testing.T, r *plugintest.Result) {
			var where []string
			for _, c := range r.Created("ConfigMap") {
				where = append(where, c.GetNamespace())
				if c.GetLabels()[propagator.SourceLabel] != "platform.settings" || c.GetLabels()[propagator.EnabledLabel] != "" {
					t.Fatalf("copy labels %v", c.GetLabels())
				}
			}
			if fmt.Sprint(where) != "[a1 a2]" {
				t.Fatalf("created in %v", where)
			}
		}},
		{"adds its finalizer before any copy", plugintest.Request{
			Object: source(func(m map[string]any) { delete(m, "finalizers") }), Related: map[string][]any{"namespaces": namespaces},
		}, func(t *testing.T, r *plugintest.Result) {
			a := r.Response.Actions[0]
			if a.Op != abi.OpPatch || string(a.Patch) != `{"metadata":{"finalizers":["propagate.wasmctl.dev/cleanup"],"resourceVersion":"5"}}` {
				t.Fatalf("first action %s %s", a.Op, a.Patch)
			}
		}},
		{"updates stale copies, deletes copies in namespaces that stopped matching", plugintest.Request{
			Object:  source(),
			Related: map[string][]any{"namespaces": namespaces, "copies": {copyIn("a1", "old"), copyIn("a2", "v"), copyIn("b1", "v")}},
		}, func(t *testing.T, r *plugintest.Result) {
			if up := r.Updated("ConfigMap"); len(up) != 1 || up[0].GetNamespace() != "a1" || up[0].GetResourceVersion() != "9" {
				t.Fatalf("updated %v", up)
			}
			if del := r.Deleted("ConfigMap"); fmt.Sprint(del) != "[settings]" || len(r.Created("ConfigMap")) != 0 {
				t.Fatalf("deleted %v created %d", del, len(r.Created("ConfigMap")))
			}
		}},
		{"a deleted source removes every copy, then its finalizer", plugintest.Request{
			Object:  source(func(m map[string]any) { m["deletionTimestamp"] = "2026-01-01T00:00:00Z" }),
			Related: map[string][]any{"namespaces": namespaces, "copies": {copyIn("a1", "v"), copyIn("a2", "v")}},
		}, func(t *testing.T, r *plugintest.Result) {
			ops := ""
			for _, a := range r.Response.Actions {
				ops += string(a.Op) + " "
			}
			if ops != "delete delete patch " || len(r.Created("ConfigMap")) != 0 {
				t.Fatalf("ops %q", ops)
			}
		}},
		{"copies of another source are left alone", plugintest.Request{
			Object: source(func(m map[string]any) { m["labels"].(map[string]any)[propagator.EnabledLabel] = "false" }),
			Related: map[string][]any{"namespaces": namespaces, "copies": {func() map[string]any {
				c := copyIn("a1", "v")
				c["metadata"].(map[string]any)["labels"].(map[string]any)[propagator.SourceLabel] = "other.settings"
				return c
			}()}},
		}, func(t *testing.T, r *plugintest.Result) {
			if len(r.Deleted("ConfigMap")) != 0 || len(r.Patched("ConfigMap")) != 1 {
				t.Fatalf("deleted %v patched %v", r.Deleted("ConfigMap"), r.Patched("ConfigMap"))
			}
		}},
		{"a bad selector warns and does nothing", plugintest.Request{
			Object: source(func(m map[string]any) {
				m["annotations"].(map[string]any)[propagator.SelectorAnnotation] = ""
			}), Related: map[string][]any{"namespaces": namespaces},
		}, func(t *testing.T, r *plugintest.Result) {
			if len(r.Events("InvalidSelector")) != 1 || len(r.Response.Actions) != 0 {
				t.Fatalf("%+v", r.Response)
			}
		}},
		{"set-based selectors", plugintest.Request{
			Object: source(func(m map[string]any) {
				m["annotations"].(map[string]any)[propagator.SelectorAnnotation] = "team in (a, b),team notin (a)"
			}), Related: map[string][]any{"namespaces": namespaces},
		}, func(t *testing.T, r *plugintest.Result) {
			if c := r.Created("ConfigMap"); len(c) != 1 || c[0].GetNamespace() != "b1" {
				t.Fatalf("created %v", c)
			}
		}},
		// The grammar is apimachinery's (abi/sdk/labels): the plugin's own
		// parser read these two wrongly.
		{"no blank needed before a value set", plugintest.Request{
			Object: source(func(m map[string]any) {
				m["annotations"].(map[string]any)[propagator.SelectorAnnotation] = "team in(b)"
			}), Related: map[string][]any{"namespaces": namespaces},
		}, func(t *testing.T, r *plugintest.Result) {
			if c := r.Created("ConfigMap"); len(c) != 1 || c[0].GetNamespace() != "b1" {
				t.Fatalf("created %v", c)
			}
		}},
		{"a value with '=' is refused", plugintest.Request{
			Object: source(func(m map[string]any) {
				m["annotations"].(map[string]any)[propagator.SelectorAnnotation] = "team=a=b"
			}), Related: map[string][]any{"namespaces": namespaces},
		}, func(t *testing.T, r *plugintest.Result) {
			if len(r.Events("InvalidSelector")) != 1 || len(r.Response.Actions) != 0 {
				t.Fatalf("%+v", r.Response)
			}
		}},
	}
	for name, run := range impls(t) {
		for _, tc := range cases {
			t.Run(name+"/"+tc.name, func(t *testing.T) { tc.check(t, run(t, tc.req)) })
		}
	}
}
