// Package projection cuts objects to the fields a plugin declares it reads
// (abi.FieldSelection): on the map of an unstructured object, or on the JSON
// of a typed one, which is several times cheaper than converting it first.
package projection

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Projection keeps the fields of an object a plugin reads (see
// abi.FieldSelection). It is a tree of field names; a leaf keeps the whole
// value below it. Safe for concurrent use once built.
type Projection struct {
	id    string // distinguishes memoised JSON of different projections
	root  *fieldNode
	paths []string // as New was given them
}

type fieldNode struct {
	leaf     bool
	children map[string]*fieldNode
}

// ID is the id New was given.
func (p *Projection) ID() string { return p.id }

// Paths are the paths New was given (without the always kept ones).
func (p *Projection) Paths() []string { return p.paths }

// alwaysKept are the fields every projected object keeps: enough to name it.
var alwaysKept = []string{"apiVersion", "kind", "metadata.name", "metadata.namespace", "metadata.uid", "metadata.resourceVersion"}

// New parses field paths; id must differ between projections that can meet
// the same object (it keys memoised JSON).
func New(id string, paths []string) (*Projection, error) {
	p := &Projection{id: id, root: &fieldNode{children: map[string]*fieldNode{}}, paths: slices.Clone(paths)}
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

// SplitPath splits a field path as FieldSelection paths are written,
// "a.b[c.d].e", into its keys a, b, c.d, e; see splitPath.
func SplitPath(path string) ([]string, error) { return splitPath(path) }

// splitPath splits "a.b[c.d].e" into a, b, c.d, e. Every segment must be
// non-empty: "a..b", "a.", ".a" and "a[]" are errors.
func splitPath(path string) ([]string, error) {
	if path == "" {
		return nil, fmt.Errorf("empty field path")
	}
	var segs []string
	rest := path
	for {
		var seg string
		if rest != "" && rest[0] == '[' {
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("field path %q: unclosed [", path)
			}
			seg, rest = rest[1:end], rest[end+1:]
		} else {
			i := strings.IndexAny(rest, ".[")
			if i < 0 {
				i = len(rest)
			}
			seg, rest = rest[:i], rest[i:]
		}
		if seg == "" {
			return nil, fmt.Errorf("field path %q: empty segment", path)
		}
		segs = append(segs, seg)
		if rest == "" {
			return segs, nil
		}
		if rest[0] == '.' {
			rest = rest[1:]
			if rest == "" {
				return nil, fmt.Errorf("field path %q: empty segment", path)
			}
		} else if rest[0] != '[' {
			return nil, fmt.Errorf("field path %q: want . or [ after ]", path)
		}
	}
}

// Apply returns a new object with only the projected fields. The input is
// not modified (it belongs to the cache); kept values are shared, not
// copied, which is safe because the result is only marshalled. Typed
// objects are projected on their JSON instead (ApplyJSON).
func (p *Projection) Apply(u *unstructured.Unstructured) map[string]any {
	out, _ := project(u.Object, p.root).(map[string]any)
	return out
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

// ApplyJSON is Apply on an object's JSON (valid JSON, as encoding/json
// writes it): a typed object from the cache is encoded once and cut here,
// which is several times cheaper than converting it to a map first. The
// output has the input's key order; its content equals Apply's.
func (p *Projection) ApplyJSON(data []byte) ([]byte, error) {
	out, rest, err := projectJSON(make([]byte, 0, len(data)/2), data, p.root)
	if err != nil {
		return nil, err
	}
	if len(skipSpace(rest)) != 0 {
		return nil, errors.New("projection: trailing data after the object")
	}
	return out, nil
}

var errBadJSON = errors.New("projection: malformed JSON")

// projectJSON appends the projection of the JSON value at the start of in
// to out and returns what follows the value.
func projectJSON(out, in []byte, n *fieldNode) ([]byte, []byte, error) {
	in = skipSpace(in)
	if len(in) == 0 {
		return nil, nil, errBadJSON
	}
	if n.leaf || (in[0] != '{' && in[0] != '[') {
		end, err := valueEnd(in)
		if err != nil {
			return nil, nil, err
		}
		return append(out, in[:end]...), in[end:], nil
	}
	if in[0] == '[' {
		out = append(out, '[')
		in = skipSpace(in[1:])
		for first := true; ; first = false {
			if len(in) > 0 && in[0] == ']' {
				return append(out, ']'), in[1:], nil
			}
			if !first {
				if len(in) == 0 || in[0] != ',' {
					return nil, nil, errBadJSON
				}
				in = in[1:]
				out = append(out, ',')
			}
			var err error
			if out, in, err = projectJSON(out, in, n); err != nil {
				return nil, nil, err
			}
			in = skipSpace(in)
		}
	}
	out = append(out, '{')
	in = skipSpace(in[1:])
	wrote := false
	for first := true; ; first = false {
		if len(in) > 0 && in[0] == '}' {
			return append(out, '}'), in[1:], nil
		}
		if !first {
			if len(in) == 0 || in[0] != ',' {
				return nil, nil, errBadJSON
			}
			in = skipSpace(in[1:])
		}
		if len(in) == 0 || in[0] != '"' {
			return nil, nil, errBadJSON
		}
		end, err := valueEnd(in)
		if err != nil {
			return nil, nil, err
		}
		rawKey := in[:end]
		key := string(rawKey[1 : len(rawKey)-1])
		if bytes.IndexByte(rawKey, '\\') >= 0 {
			if err := json.Unmarshal(rawKey, &key); err != nil {
				return nil, nil, errBadJSON
			}
		}
		in = skipSpace(in[end:])
		if len(in) == 0 || in[0] != ':' {
			return nil, nil, errBadJSON
		}
		in = in[1:]
		child, keep := n.children[key]
		if !keep {
			in = skipSpace(in)
			end, err := valueEnd(in)
			if err != nil {
				return nil, nil, err
			}
			in = skipSpace(in[end:])
			continue
		}
		if wrote {
			out = append(out, ',')
		}
		wrote = true
		out = append(append(out, rawKey...), ':')
		if out, in, err = projectJSON(out, in, child); err != nil {
			return nil, nil, err
		}
		in = skipSpace(in)
	}
}

func skipSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	return b
}

// valueEnd returns the length of the JSON value at the start of b.
func valueEnd(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, errBadJSON
	}
	switch b[0] {
	case '"':
		for i := 1; i < len(b); i++ {
			switch b[i] {
			case '\\':
				i++
			case '"':
				return i + 1, nil
			}
		}
		return 0, errBadJSON
	case '{', '[':
		depth := 0
		for i := 0; i < len(b); i++ {
			switch b[i] {
			case '"':
				n, err := valueEnd(b[i:])
				if err != nil {
					return 0, err
				}
				i += n - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, nil
				}
			}
		}
		return 0, errBadJSON
	}
	// A number, true, false or null: up to the next delimiter.
	i := 0
	for i < len(b) && !bytes.ContainsRune([]byte(",}] \t\n\r"), rune(b[i])) {
		i++
	}
	if i == 0 {
		return 0, errBadJSON
	}
	return i, nil
}
