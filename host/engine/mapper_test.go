package engine

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

type countingMapper struct {
	meta.RESTMapper
	calls int
}

func (c *countingMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	c.calls++
	return c.RESTMapper.RESTMapping(gk, versions...)
}

func TestCachedMapper(t *testing.T) {
	widget := schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}
	base := meta.NewDefaultRESTMapper(nil)
	inner := &countingMapper{RESTMapper: base}
	m := &cachedMapper{RESTMapper: inner}

	// A kind not served yet is looked up again each time: its CRD may appear.
	for range 2 {
		if _, err := m.RESTMapping(widget.GroupKind(), "v1"); err == nil {
			t.Fatal("mapping of an unknown kind")
		}
	}
	if inner.calls != 2 {
		t.Fatalf("%d lookups for two misses, want 2", inner.calls)
	}
	base.Add(widget, meta.RESTScopeNamespace)
	for range 3 {
		got, err := m.RESTMapping(widget.GroupKind(), "v1")
		if err != nil || got.Resource.Resource != "widgets" || got.Scope.Name() != meta.RESTScopeNameNamespace {
			t.Fatalf("got %+v, %v", got, err)
		}
	}
	if inner.calls != 3 {
		t.Fatalf("%d lookups, want 3: one for the first hit, none after", inner.calls)
	}
}
