package engine

import (
	"bytes"
	"encoding/json"
	"reflect"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/host/apply"
	"wasmctl.dev/wasmctl/host/spec"
	"wasmctl.dev/wasmctl/internal/projection"
)

// buildRequest assembles the ReconcileRequest for primary from the cache,
// and the keys of the children and orphans it hands over (the only owned
// objects the response may update, patch or delete).
//
// The JSON is written by hand around each object's memoised JSON: building
// a 100-child request costs a copy, not a marshal.
func (c *Controller) buildRequest(s *spec.Controller, key string, primary apply.Object) (_ []byte, controlled, orphanKeys map[schema.GroupVersionKind]map[string]bool, _ error) {
	controlled = map[schema.GroupVersionKind]map[string]bool{}
	orphanKeys = map[schema.GroupVersionKind]map[string]bool{}
	var children, orphans []apply.Object
	selector := selectorOf(primary)
	for _, inf := range c.owns {
		keys, okeys := map[string]bool{}, map[string]bool{}
		controlled[inf.GVK], orphanKeys[inf.GVK] = keys, okeys
		for _, u := range c.childrenOf(inf, primary) {
			children = append(children, u)
			keys[objectKey(u)] = true
		}
		if selector == nil {
			continue
		}
		objs, err := inf.Informer.GetIndexer().ByIndex(indexOrphanNamespace, primary.GetNamespace())
		if err != nil {
			return nil, nil, nil, err
		}
		for _, o := range objs {
			u := o.(apply.Object)
			if !sameKind(u, inf.GVK) || !selector.Matches(labels.Set(u.GetLabels())) {
				continue
			}
			orphans = append(orphans, u)
			keys[objectKey(u)] = true
			okeys[objectKey(u)] = true
		}
	}
	sortObjects(children)
	sortObjects(orphans)
	sent := make(map[types.UID]bool, len(children)+len(orphans))
	for _, u := range children {
		sent[u.GetUID()] = true
	}
	for _, u := range orphans {
		sent[u.GetUID()] = true
	}

	var buf bytes.Buffer
	buf.Grow(4096)
	buf.WriteString(`{"apiVersion":"` + abi.Version + `","kind":"` + abi.KindReconcileRequest + `","now":`)
	now, _ := json.Marshal(c.now().UTC().Format(time.RFC3339Nano))
	buf.Write(now)
	buf.WriteString(`,"object":`)
	if err := c.writeObject(&buf, s, primary, false); err != nil {
		return nil, nil, nil, err
	}
	if err := c.writeList(&buf, s, "children", children); err != nil {
		return nil, nil, nil, err
	}
	if err := c.writeList(&buf, s, "orphans", orphans); err != nil {
		return nil, nil, nil, err
	}
	if len(s.Related) > 0 {
		buf.WriteString(`,"related":{`)
		for i := range s.Related {
			r := &s.Related[i]
			if i > 0 {
				buf.WriteByte(',')
			}
			name, _ := json.Marshal(r.Name)
			buf.Write(name)
			buf.WriteString(":[")
			j := 0
			for _, u := range c.relatedObjects(r, c.related[i], primary) {
				if sent[u.GetUID()] {
					continue // already in children or orphans
				}
				if j > 0 {
					buf.WriteByte(',')
				}
				j++
				if err := c.writeObject(&buf, s, u, true); err != nil {
					return nil, nil, nil, err
				}
			}
			buf.WriteByte(']')
		}
		buf.WriteByte('}')
	}
	if le := c.keys.lastError(key); le != nil {
		data, err := json.Marshal(le)
		if err != nil {
			return nil, nil, nil, err
		}
		buf.WriteString(`,"lastError":`)
		buf.Write(data)
	}
	if memo := c.keys.memo(key); memo != nil {
		buf.WriteString(`,"memo":`)
		buf.Write(memo)
	}
	buf.WriteString(`,"config":`)
	buf.Write(s.Config)
	buf.WriteByte('}')
	return buf.Bytes(), controlled, orphanKeys, nil
}

// writeObject writes u's JSON, projected to the plugin's declared fields
// for its kind when project is set.
func (c *Controller) writeObject(buf *bytes.Buffer, s *spec.Controller, u apply.Object, project bool) error {
	var p *projection.Projection
	if project {
		p = s.Projections[u.GetObjectKind().GroupVersionKind()]
	}
	data, err := c.cache.JSON(u, p)
	if err != nil {
		return err
	}
	buf.Write(data)
	return nil
}

func (c *Controller) writeList(buf *bytes.Buffer, s *spec.Controller, field string, objs []apply.Object) error {
	if len(objs) == 0 {
		return nil
	}
	buf.WriteString(`,"` + field + `":[`)
	for i, u := range objs {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := c.writeObject(buf, s, u, true); err != nil {
			return err
		}
	}
	buf.WriteByte(']')
	return nil
}

// childrenOf lists the objects of inf controlled by owner (by UID, in its
// namespace, of its kind).
func (c *Controller) childrenOf(inf *informer, owner apply.Object) []apply.Object {
	objs, err := inf.Informer.GetIndexer().ByIndex(indexControllerUID, string(owner.GetUID()))
	if err != nil {
		return nil
	}
	out := make([]apply.Object, 0, len(objs))
	for _, o := range objs {
		u := o.(apply.Object)
		if !sameKind(u, inf.GVK) || (inf.Namespaced && u.GetNamespace() != owner.GetNamespace()) {
			continue
		}
		out = append(out, u)
	}
	return out
}

// relatedObjects resolves one RelatedInput for primary: nothing when its
// when condition does not hold for primary.
func (c *Controller) relatedObjects(r *spec.Related, inf *informer, primary apply.Object) []apply.Object {
	if !whenHolds(r, primary) {
		return nil
	}
	idx := inf.Informer.GetIndexer()
	var out []apply.Object
	switch r.Select {
	case abi.SelectGrandchildren:
		// The owner index twice: the primary's children, then theirs.
		for _, own := range c.owns {
			for _, child := range c.childrenOf(own, primary) {
				out = append(out, c.childrenOf(inf, child)...)
			}
		}
	case abi.SelectSiblingChildren:
		owner := controllerOf(primary)
		if owner == nil {
			return nil
		}
		siblings, _ := c.primary.Informer.GetIndexer().ByIndex(indexControllerUID, string(owner.UID))
		for _, s := range siblings {
			sib := s.(apply.Object)
			if sib.GetUID() == primary.GetUID() || sib.GetNamespace() != primary.GetNamespace() {
				continue
			}
			out = append(out, c.childrenOf(inf, sib)...)
		}
	case abi.SelectSiblingSelected:
		owner := controllerOf(primary)
		if owner == nil {
			return nil
		}
		siblings, _ := c.primary.Informer.GetIndexer().ByIndex(indexControllerUID, string(owner.UID))
		seen := map[string]bool{}
		for _, s := range siblings {
			sib := s.(apply.Object)
			sel := selectorOf(sib)
			if sib.GetNamespace() != primary.GetNamespace() || sel == nil {
				continue
			}
			for _, o := range inf.selected(primary.GetNamespace(), sel) {
				u := o.(apply.Object)
				if !seen[string(u.GetUID())] {
					seen[string(u.GetUID())] = true
					out = append(out, u)
				}
			}
		}
	case abi.SelectNamespace:
		objs, _ := idx.ByIndex(cache.NamespaceIndex, primary.GetNamespace())
		for _, o := range objs {
			out = append(out, o.(apply.Object))
		}
	case abi.SelectAll:
		for _, o := range idx.List() {
			out = append(out, o.(apply.Object))
		}
	}
	if r.Selector != nil {
		kept := out[:0]
		for _, u := range out {
			if r.Selector.Matches(labels.Set(u.GetLabels())) {
				kept = append(kept, u)
			}
		}
		out = kept
	}
	sortObjects(out)
	return out
}

// whenHolds reports whether r's when condition holds for primary (always
// without one): the string at r.WhenPath equals When.Equals, a missing or
// null field reading as "", any other value never equal.
//
// An unstructured primary is read in place. A typed one (a built-in kind,
// decoded from protobuf) is walked by its json field names (typedField),
// reading what runtime.DefaultUnstructuredConverter would have put in its
// map; where the walk meets a type with its own JSON form it converts the
// object instead, which costs about 33 µs, 11 KiB and 93 allocations for a
// Deployment with a one-container template (BenchmarkWhenHolds) and was
// 3 % of the host's CPU in the 100-Deployment rollout. It is paid per
// request for each input with a when, and in relatedChanged per event the
// input acts on (deletions only with wakeOn: delete) and per candidate
// primary: one for grandchildren, a few for the sibling selections, every
// primary of the namespace (cluster) for namespace (all).
func whenHolds(r *spec.Related, primary apply.Object) bool {
	if r.When == nil {
		return true
	}
	var v any
	if u, ok := primary.(*unstructured.Unstructured); ok {
		v = mapField(u.Object, r.WhenPath)
	} else if tv, ok := typedField(reflect.ValueOf(primary), r.WhenPath); ok {
		v = tv
	} else {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(primary)
		if err != nil {
			return false
		}
		v = mapField(m, r.WhenPath)
	}
	switch v := v.(type) {
	case nil:
		return r.When.Equals == ""
	case string:
		return v == r.When.Equals
	}
	return false
}

// mapField is the value at path in an unstructured object, nil when
// missing (a path through a scalar or a list included, which
// NestedFieldNoCopy reports as an error).
func mapField(obj map[string]any, path []string) any {
	v, _, _ := unstructured.NestedFieldNoCopy(obj, path...)
	return v
}

// typedField reads path from a typed object as mapField reads it from the
// object's unstructured form: a string as a string (named string types
// too), nil when a field on the way is missing, nil, or omitted as empty,
// any other value as itself. ok is false when the walk meets a type with its own JSON form
// (metav1.Time, resource.Quantity, IntOrString, ...), whose unstructured
// form only the converter knows.
func typedField(v reflect.Value, path []string) (value any, ok bool) {
	omitEmpty := false
	for i := 0; ; i++ {
		for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
			if v.IsNil() {
				return nil, true
			}
			v = v.Elem()
		}
		if projection.CustomJSON(v.Type()) {
			return nil, false
		}
		if i == len(path) {
			break
		}
		switch v.Kind() {
		case reflect.Struct:
			f, found := projection.FieldByJSONName(v.Type(), path[i])
			if !found {
				return nil, true
			}
			fv, err := v.FieldByIndexErr(f.Index)
			if err != nil {
				return nil, true // through a nil embedded pointer: missing
			}
			v, omitEmpty = fv, f.OmitEmpty
		case reflect.Map:
			if v.Type().Key().Kind() != reflect.String {
				return nil, false
			}
			e := v.MapIndex(reflect.ValueOf(path[i]).Convert(v.Type().Key()))
			if !e.IsValid() {
				return nil, true
			}
			v, omitEmpty = e, false
		default:
			return nil, true // through a scalar or a list: missing
		}
	}
	if v.Kind() == reflect.String {
		return v.String(), true
	}
	if omitEmpty && v.IsZero() && v.Kind() != reflect.Struct && v.Kind() != reflect.Array {
		return nil, true // omitted: missing
	}
	if (v.Kind() == reflect.Slice || v.Kind() == reflect.Map) && v.IsNil() {
		return nil, true // null
	}
	return v.Interface(), true
}
