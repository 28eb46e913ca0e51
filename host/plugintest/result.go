package plugintest

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/host/fixture"
)

var update = flag.Bool("update", false, "rewrite plugintest golden files with the current output")

// Run calls reconcile with req (a Request, or request JSON) and returns the
// result; any failure (call, strict decoding) fails t.
func (p *Plugin) Run(t testing.TB, req any) *Result {
	t.Helper()
	r, err := p.Result(req)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Result is Run without a testing.TB: the result, or the error Run fails
// the test with.
func (p *Plugin) Result(req any) (*Result, error) {
	var in []byte
	switch r := req.(type) {
	case Request:
		var err error
		if in, err = r.JSON(); err != nil {
			return nil, err
		}
	case []byte:
		in = r
	default:
		return nil, fmt.Errorf("plugintest: Run takes a Request or []byte, not %T", req)
	}
	resp, err := p.Reconcile(in)
	if err != nil {
		return nil, err
	}
	return ParseResult(resp)
}

// Result is a decoded response with assertion helpers.
type Result struct {
	Response *abi.ReconcileResponse
	objects  []*unstructured.Unstructured // per action
}

// NewResult wraps resp; an action whose object is not a Kubernetes object
// fails t.
func NewResult(t testing.TB, resp *abi.ReconcileResponse) *Result {
	t.Helper()
	r, err := ParseResult(resp)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// ParseResult is NewResult without a testing.TB.
func ParseResult(resp *abi.ReconcileResponse) (*Result, error) {
	r := &Result{Response: resp}
	for i, a := range resp.Actions {
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(a.Object); err != nil {
			return nil, fmt.Errorf("action %d: %w", i, err)
		}
		r.objects = append(r.objects, u)
	}
	return r, nil
}

func (r *Result) with(op abi.Op, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for i, a := range r.Response.Actions {
		if a.Op == op && (kind == "" || r.objects[i].GetKind() == kind) {
			out = append(out, r.objects[i])
		}
	}
	return out
}

func names(objs []*unstructured.Unstructured) []string {
	out := []string{}
	for _, o := range objs {
		n := o.GetName()
		if n == "" {
			n = o.GetGenerateName()
		}
		out = append(out, n)
	}
	return out
}

// Created returns the objects of kind ("" for any) the response creates.
func (r *Result) Created(kind string) []*unstructured.Unstructured { return r.with(abi.OpCreate, kind) }

// Updated returns the objects of kind the response updates (not status).
func (r *Result) Updated(kind string) []*unstructured.Unstructured { return r.with(abi.OpUpdate, kind) }

// Deleted returns the names of the objects of kind the response deletes.
func (r *Result) Deleted(kind string) []string { return names(r.with(abi.OpDelete, kind)) }

// Patched returns the names of the objects of kind the response patches.
func (r *Result) Patched(kind string) []string { return names(r.with(abi.OpPatch, kind)) }

// Status returns the status of the last updateStatus action, or nil.
func (r *Result) Status() map[string]any {
	st := r.with(abi.OpUpdateStatus, "")
	if len(st) == 0 {
		return nil
	}
	s, _, _ := unstructured.NestedMap(st[len(st)-1].Object, "status")
	return s
}

// StatusField returns one field of Status by path, or nil.
func (r *Result) StatusField(path ...string) any {
	v, _, _ := unstructured.NestedFieldCopy(map[string]any{"status": r.Status()}, append([]string{"status"}, path...)...)
	return v
}

// RequeueAfter is the response's requeueAfterSeconds as a duration.
func (r *Result) RequeueAfter() time.Duration {
	return time.Duration(r.Response.RequeueAfterSeconds * float64(time.Second))
}

// Events returns the events with reason ("" for all).
func (r *Result) Events(reason string) []abi.Event {
	var out []abi.Event
	for _, e := range r.Response.Events {
		if reason == "" || e.Reason == reason {
			out = append(out, e)
		}
	}
	return out
}

// YAML renders the response for humans and golden files.
func (r *Result) YAML() ([]byte, error) { return fixture.ResponseYAML(r.Response) }

// Golden compares the response, as YAML, with the file at path; with
// -update it writes the file instead.
func (r *Result) Golden(t testing.TB, path string) {
	t.Helper()
	got, err := r.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("response differs from %s (run with -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
