package projection

import (
	"encoding"
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"wasmctl.dev/wasmctl/abi/sdk/jsonwrite"
)

// AppendTyped appends to dst the JSON of obj, a pointer to a typed API
// object, cut to p: byte for byte what ApplyJSON(json.Marshal(obj)) gives,
// in one walk of the kept fields only. A cut kind's informer writes each
// object's JSON this way as it enters the cache: json.Marshal of a whole
// v1.Pod walks every field of its ~2 KiB struct (~13 us with the
// projection after it, on top of the cut's zeroing); this reads the few
// kept ones. Values that encode themselves (times, quantities, anything
// with MarshalJSON or MarshalText), interfaces and maps without string
// keys are marshalled by encoding/json and projected as JSON.
func (p *Projection) AppendTyped(dst []byte, obj any) ([]byte, error) {
	return appendTyped(dst, reflect.ValueOf(obj), p.root)
}

func appendTyped(out []byte, v reflect.Value, n *fieldNode) ([]byte, error) {
	if n.leaf && plainJSON(v.Type()) {
		// Scalars as encoding/json writes them, without its reflection.
		switch v.Kind() {
		case reflect.String:
			return jsonwrite.AppendString(out, v.String()), nil
		case reflect.Bool:
			return strconv.AppendBool(out, v.Bool()), nil
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			return strconv.AppendInt(out, v.Int(), 10), nil
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			return strconv.AppendUint(out, v.Uint(), 10), nil
		case reflect.Float64:
			if f := v.Float(); !math.IsNaN(f) && !math.IsInf(f, 0) {
				return jsonwrite.AppendFloat(out, f), nil
			}
		}
	}
	if n.leaf && v.Type() == timeType {
		// metav1.Time.MarshalJSON, the commonest leaf with a method.
		t := v.Interface().(metav1.Time)
		if t.IsZero() {
			return append(out, "null"...), nil
		}
		out = append(out, '"')
		out = t.UTC().AppendFormat(out, time.RFC3339)
		return append(out, '"'), nil
	}
	if n.leaf || !plainJSON(v.Type()) {
		b, err := json.Marshal(marshalled(v))
		if err != nil {
			return nil, err
		}
		if n.leaf {
			return append(out, b...), nil
		}
		out, _, err = projectJSON(out, b, n)
		return out, err
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return append(out, "null"...), nil
		}
		return appendTyped(out, v.Elem(), n)
	case reflect.Struct:
		out = append(out, '{')
		wrote := false
		for _, f := range typeFields(v.Type()).fields {
			child, keep := n.children[f.name]
			if !keep {
				continue
			}
			fv, err := v.FieldByIndexErr(f.index)
			if err != nil {
				continue // through a nil embedded pointer: encoding/json skips it too
			}
			if (f.omitEmpty && isEmptyValue(fv)) || (f.omitZero && isZeroValue(fv)) {
				continue
			}
			if wrote {
				out = append(out, ',')
			}
			wrote = true
			out = append(out, f.key...)
			if out, err = appendTyped(out, fv, child); err != nil {
				return nil, err
			}
		}
		return append(out, '}'), nil
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return append(out, "null"...), nil
		}
		out = append(out, '[')
		for i := range v.Len() {
			if i > 0 {
				out = append(out, ',')
			}
			var err error
			if out, err = appendTyped(out, v.Index(i), n); err != nil {
				return nil, err
			}
		}
		return append(out, ']'), nil
	case reflect.Map:
		if v.IsNil() {
			return append(out, "null"...), nil
		}
		type entry struct {
			key   string
			value reflect.Value
		}
		var entries []entry
		for k := range n.children {
			if e := v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key())); e.IsValid() {
				entries = append(entries, entry{k, e})
			}
		}
		// encoding/json writes a map's keys sorted, escaped as strings.
		slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.key, b.key) })
		out = append(out, '{')
		for i, e := range entries {
			if i > 0 {
				out = append(out, ',')
			}
			out = append(jsonwrite.AppendString(out, e.key), ':')
			var err error
			if out, err = appendTyped(out, e.value, n.children[e.key]); err != nil {
				return nil, err
			}
		}
		return append(out, '}'), nil
	}
	// A scalar the paths go below: projectJSON keeps it as it is.
	b, err := json.Marshal(marshalled(v))
	return append(out, b...), err
}

// marshalled is what encoding/json would encode for v: through its address
// when it has one, so pointer-receiver MarshalJSON methods run as they do
// for a field of a struct reached through a pointer.
func marshalled(v reflect.Value) any {
	if v.CanAddr() {
		return v.Addr().Interface()
	}
	return v.Interface()
}

var (
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	isZeroerType      = reflect.TypeFor[interface{ IsZero() bool }]()
)

// plainJSON reports whether encoding/json writes t by its kind alone: no
// marshaler methods, not an interface, maps with string keys, not []byte
// (base64).
func plainJSON(t reflect.Type) bool {
	if p, ok := plainCache.Load(t); ok {
		return p.(bool)
	}
	p := isPlainJSON(t)
	plainCache.Store(t, p)
	return p
}

var (
	plainCache  sync.Map // reflect.Type -> bool
	zeroerCache sync.Map // reflect.Type -> [2]bool: T, *T have IsZero
	timeType    = reflect.TypeFor[metav1.Time]()
)

func isPlainJSON(t reflect.Type) bool {
	if CustomJSON(t) || t.Implements(textMarshalerType) || reflect.PointerTo(t).Implements(textMarshalerType) {
		return false
	}
	switch t.Kind() {
	case reflect.Interface:
		return false
	case reflect.Map:
		k := t.Key()
		return k.Kind() == reflect.String && !k.Implements(textMarshalerType) && !reflect.PointerTo(k).Implements(textMarshalerType)
	case reflect.Slice:
		return t.Elem().Kind() != reflect.Uint8
	case reflect.Struct:
		return !typeFields(t).quoted
	}
	return true
}

// isEmptyValue is encoding/json's omitempty test.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// isZeroValue is encoding/json's omitzero test: an IsZero method when the
// type has one, the zero value otherwise.
func isZeroValue(v reflect.Value) bool {
	t := v.Type()
	z, ok := zeroerCache.Load(t)
	if !ok {
		z = [2]bool{t.Implements(isZeroerType), reflect.PointerTo(t).Implements(isZeroerType)}
		zeroerCache.Store(t, z)
	}
	switch m := z.([2]bool); {
	case m[0]:
		if (t.Kind() == reflect.Pointer || t.Kind() == reflect.Interface) && v.IsNil() {
			return true
		}
		return v.Interface().(interface{ IsZero() bool }).IsZero()
	case m[1]:
		if !v.CanAddr() { // a map's value: encoding/json boxes a copy too
			c := reflect.New(t)
			c.Elem().Set(v)
			v = c.Elem()
		}
		return v.Addr().Interface().(interface{ IsZero() bool }).IsZero()
	}
	return v.IsZero()
}
