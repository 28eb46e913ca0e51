package engine

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"wasmctl.dev/wasmctl/host/apply"
)

// Projection keeps the fields of an object a plugin reads (see
// abi.FieldSelection). It is a tree of field names; a leaf keeps the whole
// value below it. Safe for concurrent use once built.
type Projection struct {
	id   string // distinguishes memoised JSON of different projections
	root *fieldNode
}

type fieldNode struct {
	leaf     bool
	children map[string]*fieldNode
}

// alwaysKept are the fields every projected object keeps: enough to name it.
var alwaysKept = []string{"apiVersion", "kind", "metadata.name", "metadata.namespace", "metadata.uid", "metadata.resourceVersion"}

// NewProjection parses field paths.
func NewProjection(id string, paths []string) (*Projection, error) {
	p := &Projection{id: id, root: &fieldNode{children: map[string]*fieldNode{}}}
	for _, path := range append(append([]string(nil), alwaysKept...), paths...) {
		segs, err := splitPath(path)
		if err != nil {
			return nil, err
		}
		n := p.root
		for _, s := range segs {
			if n.leaf {
				break // a shorter path already keeps everything below
			}
			c := n.children[s]
			if c == nil {
				c = &fieldNode{children: map[string]*fieldNode{}}
				n.children[s] = c
			}
			n = c
		}
		n.leaf, n.children = true, nil
	}
	return p, nil
}

// splitPath splits "a.b[c.d].e" into a, b, c.d, e.
func splitPath(path string) ([]string, error) {
	var segs []string
	for path != "" {
		if path[0] == '[' {
			end := strings.IndexByte(path, ']')
			if end < 0 {
				return nil, fmt.Errorf("field path %q: unclosed [", path)
			}
			segs = append(segs, path[1:end])
			path = strings.TrimPrefix(path[end+1:], ".")
			continue
		}
		i := strings.IndexAny(path, ".[")
		if i < 0 {
			segs = append(segs, path)
			break
		}
		if i == 0 {
			return nil, fmt.Errorf("field path %q: empty segment", path)
		}
		segs = append(segs, path[:i])
		path = path[i:]
		path = strings.TrimPrefix(path, ".")
	}
	if len(segs) == 0 {
		return nil, fmt.Errorf("empty field path")
	}
	return segs, nil
}

// Apply returns a new object with only the projected fields. The input is
// not modified (it belongs to the cache); kept values of an unstructured
// object are shared, not copied, which is safe because the result is only
// marshalled. A typed object is converted to its JSON form first.
func (p *Projection) Apply(o apply.Object) (map[string]any, error) {
	m := map[string]any(nil)
	if u, ok := o.(*unstructured.Unstructured); ok {
		m = u.Object
	} else {
		var err error
		if m, err = runtime.DefaultUnstructuredConverter.ToUnstructured(o); err != nil {
			return nil, err
		}
	}
	out, _ := project(m, p.root).(map[string]any)
	return out, nil
}

func project(v any, n *fieldNode) any {
	if n.leaf {
		return v
	}
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(n.children))
		for k, c := range n.children {
			if x, ok := v[k]; ok {
				out[k] = project(x, c)
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = project(x, n)
		}
		return out
	}
	return v // a scalar where the path expected more: keep it as is
}
