// Package decode holds what the generated DecodeJSON methods of the
// plugins/internal/kube mirror types call: typed reads of fastjson values
// with encoding/json's rules for the JSON the API server and the host
// write, and errors that name the field they are about.
//
// Why not encoding/json: under wasip1 its scanner (a function call per
// byte) and its reflection cost the Deployment plugin most of a call
// (docs/BENCHMARKS.md: ~7 of ~10 ms for a Deployment with ten
// ReplicaSets). A plugin parses the request once with fastjson, a
// non-reflective parser, and the generated methods walk the parsed values
// into the mirror's structs.
//
// The rules kept from encoding/json: object keys match json tags exactly
// (encoding/json also accepts other cases, which no Kubernetes encoder
// writes), unknown keys are ignored, a repeated key's last value wins,
// null leaves a string, number, bool or struct as it is and sets a
// pointer, slice or map to nil, and numbers must fit their Go type
// (1.5 or 1e3 into an int32 is an error). Unlike encoding/json, the first
// error ends the decoding.
package decode

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/valyala/fastjson"
	"k8s.io/apimachinery/pkg/api/resource"

	"wasmctl.dev/wasmctl/abi/sdk/intstr"
)

// Error is a decoding error at Path (as "spec.template.spec.containers[0].image").
type Error struct {
	Path string
	Err  error
}

func (e *Error) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// At puts err under the object key field (nil stays nil).
func At(field []byte, err error) error { return under(string(field), err) }

// Index puts err under array index i (nil stays nil).
func Index(i int, err error) error { return under("["+strconv.Itoa(i)+"]", err) }

// under prefixes err's path with p (a key or an index).
func under(p string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if !errors.As(err, &e) {
		return &Error{Path: p, Err: err}
	}
	if strings.HasPrefix(e.Path, "[") {
		e.Path = p + e.Path
	} else {
		e.Path = p + "." + e.Path
	}
	return e
}

func mismatch(want string, v *fastjson.Value) error {
	return fmt.Errorf("cannot decode %s into %s", v.Type(), want)
}

// Object is v's object; nil and no error for null or a nil v (absent).
func Object(v *fastjson.Value) (*fastjson.Object, error) {
	if v == nil {
		return nil, nil
	}
	switch v.Type() {
	case fastjson.TypeObject:
		return v.Object()
	case fastjson.TypeNull:
		return nil, nil
	}
	return nil, mismatch("an object", v)
}

// Array is v's elements; ok is false for null.
func Array(v *fastjson.Value) (a []*fastjson.Value, ok bool, err error) {
	switch v.Type() {
	case fastjson.TypeArray:
		a, err = v.Array()
		return a, true, err
	case fastjson.TypeNull:
		return nil, false, nil
	}
	return nil, false, mismatch("an array", v)
}

// String sets *dst to v's string (null: unchanged).
func String[T ~string](v *fastjson.Value, dst *T) error {
	switch v.Type() {
	case fastjson.TypeString:
		b, err := v.StringBytes()
		*dst = T(b)
		return err
	case fastjson.TypeNull:
		return nil
	}
	return mismatch("a string", v)
}

// Bool sets *dst to v's boolean (null: unchanged).
func Bool[T ~bool](v *fastjson.Value, dst *T) error {
	switch v.Type() {
	case fastjson.TypeTrue:
		*dst = true
	case fastjson.TypeFalse:
		*dst = false
	case fastjson.TypeNull:
	default:
		return mismatch("a bool", v)
	}
	return nil
}

// integer is v's value as strconv.ParseInt(literal, 10, bits) reads it;
// ok is false for null.
func integer(v *fastjson.Value, bits int) (n int64, ok bool, err error) {
	switch v.Type() {
	case fastjson.TypeNumber:
		n, err := v.Int64()
		if err == nil && bits == 32 && int64(int32(n)) != n {
			err = errors.New("out of range")
		}
		if err != nil {
			return 0, false, fmt.Errorf("cannot decode number %s into an int%d", v.MarshalTo(nil), bits)
		}
		return n, true, nil
	case fastjson.TypeNull:
		return 0, false, nil
	}
	return 0, false, mismatch("an int"+strconv.Itoa(bits), v)
}

// Int32 sets *dst to v's integer (null: unchanged); out of range or not an
// integer is an error, as with encoding/json.
func Int32[T ~int32](v *fastjson.Value, dst *T) error {
	n, ok, err := integer(v, 32)
	if ok {
		*dst = T(n)
	}
	return err
}

// Int64 sets *dst to v's integer (null: unchanged).
func Int64[T ~int64](v *fastjson.Value, dst *T) error {
	n, ok, err := integer(v, 64)
	if ok {
		*dst = T(n)
	}
	return err
}

// Quantity sets *dst as resource.Quantity's UnmarshalJSON does: a string
// or a number parsed as a quantity, null the zero quantity.
func Quantity(v *fastjson.Value, dst *resource.Quantity) error {
	var s string
	switch v.Type() {
	case fastjson.TypeString:
		b, err := v.StringBytes()
		if err != nil {
			return err
		}
		s = strings.TrimSpace(string(b))
	case fastjson.TypeNumber:
		s = string(v.MarshalTo(nil))
	case fastjson.TypeNull:
		*dst = resource.Quantity{}
		return nil
	default:
		return mismatch("a quantity", v)
	}
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return err
	}
	*dst = q
	return nil
}

// IntOrString sets *dst as its UnmarshalJSON does: a string into StrVal,
// anything else into IntVal as an int32 (null leaves IntVal, with Type
// Int).
func IntOrString(v *fastjson.Value, dst *intstr.IntOrString) error {
	if v.Type() == fastjson.TypeString {
		dst.Type = intstr.String
		return String(v, &dst.StrVal)
	}
	dst.Type = intstr.Int
	return Int32(v, &dst.IntVal)
}

// Raw is v as compact JSON, nil for null or a nil v (absent): the value's bytes as the sender
// wrote them when its strings and keys were never read (fastjson writes
// those back verbatim), which is how RawExtension and FieldsV1 keep theirs.
func Raw(v *fastjson.Value) []byte {
	if v == nil || v.Type() == fastjson.TypeNull {
		return nil
	}
	return v.MarshalTo(nil)
}
