package engine

import (
	"encoding/json"
	"reflect"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"wasmctl.dev/wasmctl/host/apply"
)

// asObject returns what the cache holds for obj, unwrapping tombstones; nil
// for anything else.
func asObject(obj any) apply.Object {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	o, _ := obj.(apply.Object)
	return o
}

// controllerOf returns the controller ownerReference of o, or nil. It reads
// the cached object in place (no deep copy: this runs for every object on
// every index update).
func controllerOf(o apply.Object) *metav1.OwnerReference {
	u, ok := o.(*unstructured.Unstructured)
	if !ok {
		return metav1.GetControllerOfNoCopy(o)
	}
	// Unstructured.GetOwnerReferences converts every reference; read the map.
	md, _ := u.Object["metadata"].(map[string]any)
	refs, _ := md["ownerReferences"].([]any)
	for _, r := range refs {
		m, ok := r.(map[string]any)
		if !ok {
			continue
		}
		isController, _ := m["controller"].(bool)
		if !isController {
			continue
		}
		ref := &metav1.OwnerReference{Controller: &isController}
		ref.APIVersion, _ = m["apiVersion"].(string)
		ref.Kind, _ = m["kind"].(string)
		ref.Name, _ = m["name"].(string)
		uid, _ := m["uid"].(string)
		ref.UID = types.UID(uid)
		return ref
	}
	return nil
}

// selectorOf returns the label selector in o's spec.selector: a
// metav1.LabelSelector (matchLabels/matchExpressions, as ReplicaSet has) or
// a plain label map (as Service has). Nil when there is none, it is empty or
// it does not parse: such a primary adopts nothing.
func selectorOf(o apply.Object) labels.Selector {
	var ls *metav1.LabelSelector
	var set map[string]string
	if u, ok := o.(*unstructured.Unstructured); ok {
		raw, _, _ := unstructured.NestedFieldNoCopy(u.Object, "spec", "selector")
		m, _ := raw.(map[string]any)
		if len(m) == 0 {
			return nil
		}
		_, hasLabels := m["matchLabels"]
		_, hasExprs := m["matchExpressions"]
		var err error
		if hasLabels || hasExprs {
			ls = &metav1.LabelSelector{}
			err = remarshal(m, ls)
		} else {
			err = remarshal(m, &set)
		}
		if err != nil {
			return nil
		}
	} else {
		// A typed object: its Spec.Selector field, when it has one.
		v := reflect.ValueOf(o)
		if v.Kind() == reflect.Pointer {
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			return nil
		}
		spec := v.FieldByName("Spec")
		if spec.Kind() != reflect.Struct {
			return nil
		}
		if f := spec.FieldByName("Selector"); f.IsValid() {
			switch s := f.Interface().(type) {
			case *metav1.LabelSelector:
				ls = s
			case map[string]string:
				set = s
			}
		}
	}
	if ls != nil {
		if len(ls.MatchLabels) == 0 && len(ls.MatchExpressions) == 0 {
			return nil
		}
		sel, err := metav1.LabelSelectorAsSelector(ls)
		if err != nil {
			return nil
		}
		return sel
	}
	if len(set) == 0 {
		return nil
	}
	return labels.SelectorFromSet(set)
}

func remarshal(in, out any) error {
	data, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, out)
}

func sameKind(o apply.Object, gvk schema.GroupVersionKind) bool {
	k := o.GetObjectKind().GroupVersionKind().Kind
	return k == "" || k == gvk.Kind
}

// objectKey is o's queue and cache key, namespace/name (name alone when
// cluster-scoped).
func objectKey(o apply.Object) string { return cache.MetaObjectToName(o).String() }

func sortObjects(objs []apply.Object) {
	sort.Slice(objs, func(i, j int) bool { return objs[i].GetName() < objs[j].GetName() })
}
