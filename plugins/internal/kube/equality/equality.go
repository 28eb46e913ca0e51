// Package equality is apimachinery's equality.Semantic for the mirrored
// types of plugins/internal/kube: reflect's deep equality, except that a
// nil and an empty slice or map are equal, quantities are equal when their
// values are (resource.Quantity.Cmp), times when they are the same
// instant, and managed-field sets when their bytes are.
//
// Cost: a reflection walk of both values (in a Go guest, tens of
// microseconds for a pod template); compare serialised bytes first where
// they are at hand.
package equality

import (
	"reflect"

	"k8s.io/apimachinery/pkg/api/resource"

	metav1 "wasmctl.dev/wasmctl/plugins/internal/kube/meta/v1"
)

var (
	quantityType = reflect.TypeFor[resource.Quantity]()
	timeType     = reflect.TypeFor[metav1.Time]()
	fieldsType   = reflect.TypeFor[metav1.FieldsV1]()
)

// Semantic is the semantic equality, as upstream's variable of that name.
var Semantic semantic

type semantic struct{}

// DeepEqual reports whether a and b are semantically equal (both must be
// of the same type).
func (semantic) DeepEqual(a, b any) bool {
	if a == nil || b == nil {
		return a == b
	}
	v1, v2 := reflect.ValueOf(a), reflect.ValueOf(b)
	if v1.Type() != v2.Type() {
		return false
	}
	return equal(v1, v2)
}

func equal(v1, v2 reflect.Value) bool {
	if !v1.IsValid() || !v2.IsValid() {
		return v1.IsValid() == v2.IsValid()
	}
	switch v1.Type() {
	case quantityType:
		q1, q2 := v1.Interface().(resource.Quantity), v2.Interface().(resource.Quantity)
		return q1.Cmp(q2) == 0
	case timeType:
		return v1.Interface().(metav1.Time).UTC() == v2.Interface().(metav1.Time).UTC()
	case fieldsType:
		return v1.Interface().(metav1.FieldsV1).Equal(v2.Interface().(metav1.FieldsV1))
	}
	switch v1.Kind() {
	case reflect.Array:
		for i := range v1.Len() {
			if !equal(v1.Index(i), v2.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Slice:
		if v1.Len() == 0 || v2.Len() == 0 {
			return v1.Len() == v2.Len() // nil and empty alike
		}
		if v1.Len() != v2.Len() {
			return false
		}
		if v1.Pointer() == v2.Pointer() {
			return true
		}
		for i := range v1.Len() {
			if !equal(v1.Index(i), v2.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if v1.Len() == 0 || v2.Len() == 0 {
			return v1.Len() == v2.Len()
		}
		if v1.Len() != v2.Len() {
			return false
		}
		if v1.Pointer() == v2.Pointer() {
			return true
		}
		for _, k := range v1.MapKeys() {
			if !equal(v1.MapIndex(k), v2.MapIndex(k)) {
				return false
			}
		}
		return true
	case reflect.Interface:
		if v1.IsNil() || v2.IsNil() {
			return v1.IsNil() == v2.IsNil()
		}
		return equal(v1.Elem(), v2.Elem())
	case reflect.Pointer:
		if v1.Pointer() == v2.Pointer() {
			return true
		}
		return equal(v1.Elem(), v2.Elem())
	case reflect.Struct:
		for i := range v1.NumField() {
			if !equal(v1.Field(i), v2.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Func:
		return v1.IsNil() && v2.IsNil()
	case reflect.String:
		return v1.String() == v2.String()
	case reflect.Bool:
		return v1.Bool() == v2.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v1.Int() == v2.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v1.Uint() == v2.Uint()
	case reflect.Float32, reflect.Float64:
		return v1.Float() == v2.Float()
	}
	return v1.Interface() == v2.Interface()
}
