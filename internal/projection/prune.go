package projection

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Covers reports whether every field q keeps, p keeps too: an object cut
// by p and then by q is the object cut by q.
func (p *Projection) Covers(q *Projection) bool { return covers(p.root, q.root) }

func covers(p, q *fieldNode) bool {
	if p.leaf {
		return true
	}
	if q.leaf {
		return false
	}
	for k, qc := range q.children {
		pc := p.children[k]
		if pc == nil || !covers(pc, qc) {
			return false
		}
	}
	return true
}

// Prune cuts obj in place to the fields p keeps: an *unstructured.Unstructured
// through Apply, a typed object (a pointer to a struct, as the typed
// informers decode) by zeroing every field p does not keep, found by its
// JSON name. Afterwards the JSON of obj cut by any projection p covers is
// what the original's would have been. obj must not be shared: Prune is for
// an informer's transform, on an object freshly decoded. Values with their
// own JSON form (metav1.Time, resource.Quantity, ...) are kept or zeroed
// whole. The cost is a walk of the kept branches only; dropped ones are
// zeroed without being visited.
func (p *Projection) Prune(obj any) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		u.Object = p.Apply(u)
		return
	}
	pruneValue(reflect.ValueOf(obj), p.root)
}

func pruneValue(v reflect.Value, n *fieldNode) {
	if n.leaf {
		return
	}
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if CustomJSON(v.Type()) {
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		if !v.CanSet() {
			return
		}
		for name, f := range typeFields(v.Type()).byName {
			fv, err := v.FieldByIndexErr(f.Index)
			if err != nil {
				continue // through a nil embedded pointer: nothing there
			}
			if c := n.children[name]; c == nil {
				fv.SetZero()
			} else {
				pruneValue(fv, c)
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			pruneValue(v.Index(i), n)
		}
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return
		}
		for _, k := range v.MapKeys() {
			c := n.children[k.String()]
			switch {
			case c == nil:
				v.SetMapIndex(k, reflect.Value{})
			case !c.leaf:
				e := reflect.New(v.Type().Elem()).Elem()
				e.Set(v.MapIndex(k))
				pruneValue(e, c)
				v.SetMapIndex(k, e)
			}
		}
	}
}

var jsonMarshaler = reflect.TypeFor[json.Marshaler]()

// CustomJSON reports whether t (or *t) has its own JSON form.
func CustomJSON(t reflect.Type) bool {
	return t.Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(jsonMarshaler)
}

// JSONField is a struct field as encoding/json names it.
type JSONField struct {
	// Index is the field's index sequence (reflect.Value.FieldByIndex),
	// through embedded structs.
	Index []int
	// OmitEmpty: tagged omitempty or omitzero.
	OmitEmpty bool
}

// FieldByJSONName finds the field of struct type t that encodes as key
// name, fields of untagged embedded structs included (the shallowest
// wins). The fields of a type are listed once and cached.
func FieldByJSONName(t reflect.Type, name string) (JSONField, bool) {
	f, ok := typeFields(t).byName[name]
	return f, ok
}

// structInfo is what encoding/json makes of a struct type's fields.
type structInfo struct {
	byName map[string]JSONField
	fields []jsonField // in the order encoding/json writes them
	quoted bool        // a field has the ",string" option
}

// jsonField is a struct field as encoding/json writes it.
type jsonField struct {
	name                string
	key                 string // `"name":`
	index               []int
	omitEmpty, omitZero bool
}

var structInfoCache sync.Map // reflect.Type -> *structInfo

// typeFields lists t's fields as encoding/json sees them: exported, not
// tagged "-", those of untagged embedded structs (or *structs) promoted,
// the shallowest of a name winning, in index order. Listed once a type.
func typeFields(t reflect.Type) *structInfo {
	if si, ok := structInfoCache.Load(t); ok {
		return si.(*structInfo)
	}
	si := &structInfo{byName: map[string]JSONField{}}
	type candidate struct {
		f          reflect.StructField
		name, opts string
	}
	var candidates []candidate
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || !promoted(t, f.Index) {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		n, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && n == "" && structType(f.Type) != nil {
			continue // its fields are promoted (VisibleFields lists them)
		}
		if n == "" {
			n = f.Name
		}
		opts = "," + opts + ","
		candidates = append(candidates, candidate{f, n, opts})
		if old, ok := si.byName[n]; ok && len(old.Index) <= len(f.Index) {
			continue
		}
		si.byName[n] = JSONField{Index: f.Index, OmitEmpty: strings.Contains(opts, ",omitempty,") || strings.Contains(opts, ",omitzero,")}
	}
	for _, c := range candidates {
		if !slices.Equal(si.byName[c.name].Index, c.f.Index) {
			continue // a deeper field of the same name
		}
		si.quoted = si.quoted || strings.Contains(c.opts, ",string,")
		si.fields = append(si.fields, jsonField{name: c.name, key: `"` + c.name + `":`, index: c.f.Index,
			omitEmpty: strings.Contains(c.opts, ",omitempty,"), omitZero: strings.Contains(c.opts, ",omitzero,")})
	}
	structInfoCache.Store(t, si)
	return si
}

// promoted reports whether encoding/json sees the field at index of t as
// t's own: every struct it is embedded through is untagged ("metadata" in
// `json:"metadata"` names a field, its fields are not promoted).
func promoted(t reflect.Type, index []int) bool {
	for _, i := range index[:len(index)-1] {
		f := t.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" || structType(f.Type) == nil {
			return false
		}
		t = structType(f.Type)
	}
	return true
}

// structType is t, or what t points to, when that is a struct (encoding/json
// promotes the fields of an embedded *struct as of a struct); nil otherwise.
func structType(t reflect.Type) reflect.Type {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	return t
}
