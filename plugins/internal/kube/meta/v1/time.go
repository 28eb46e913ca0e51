package v1

import (
	"bytes"
	"encoding/json"
	"errors"
	"time"

	"github.com/valyala/fastjson"

	sdkmeta "wasmctl.dev/wasmctl/abi/sdk/meta"
	"wasmctl.dev/wasmctl/plugins/internal/kube/decode"
)

// Time is apimachinery's metav1.Time: a time.Time that encodes as RFC 3339
// in UTC with second precision, and null when zero. Decoding gives the time
// in time.Local, as upstream's (its go-spew dump, hence a pod-template-hash
// of a template holding one, depends on that).
type Time struct {
	time.Time `protobuf:"-"`
}

// NewTime wraps t.
func NewTime(t time.Time) Time { return Time{t} }

// Now is the current local time.
func Now() Time { return Time{time.Now()} }

// Date is time.Date wrapped.
func Date(year int, month time.Month, day, hour, min, sec, nsec int, loc *time.Location) Time {
	return Time{time.Date(year, month, day, hour, min, sec, nsec, loc)}
}

// Unix is time.Unix wrapped.
func Unix(sec, nsec int64) Time { return Time{time.Unix(sec, nsec)} }

// DeepCopyInto copies in into out (a Time is a value).
func (t *Time) DeepCopyInto(out *Time) { *out = *t }

// IsZero reports whether t is nil or the zero time (json omitzero uses it).
func (t *Time) IsZero() bool { return t == nil || t.Time.IsZero() }

// Before reports whether t is before u (a nil u: false).
func (t *Time) Before(u *Time) bool {
	if t != nil && u != nil {
		return t.Time.Before(u.Time)
	}
	return false
}

// Equal reports whether t and u are the same instant (both nil: true).
func (t *Time) Equal(u *Time) bool {
	if t == nil && u == nil {
		return true
	}
	if t != nil && u != nil {
		return t.Time.Equal(u.Time)
	}
	return false
}

// Rfc3339Copy is t truncated to what its JSON keeps.
func (t Time) Rfc3339Copy() Time {
	copied, _ := time.Parse(time.RFC3339, t.Format(time.RFC3339))
	return Time{copied}
}

// UnmarshalJSON reads an RFC 3339 string or null.
func (t *Time) UnmarshalJSON(b []byte) error {
	if len(b) == 4 && string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return err
	}
	pt, err := time.Parse(time.RFC3339, str)
	if err != nil {
		return err
	}
	t.Time = pt.Local()
	return nil
}

// MarshalJSON writes RFC 3339 in UTC, or null for the zero time.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	buf := make([]byte, 0, len(time.RFC3339)+2)
	buf = append(buf, '"')
	buf = t.UTC().AppendFormat(buf, time.RFC3339)
	buf = append(buf, '"')
	return buf, nil
}

// FieldsV1 is a managed-fields set, kept as the JSON it came as.
type FieldsV1 struct {
	Raw []byte `json:"-" protobuf:"bytes,1,opt,name=Raw"`
}

// DeepCopyInto copies in into out.
func (f *FieldsV1) DeepCopyInto(out *FieldsV1) {
	*out = *f
	if f.Raw != nil {
		out.Raw = bytes.Clone(f.Raw)
	}
}

// Equal compares the raw bytes.
func (f FieldsV1) Equal(f2 FieldsV1) bool { return bytes.Equal(f.Raw, f2.Raw) }

// MarshalJSON writes the raw bytes (null when none).
func (f FieldsV1) MarshalJSON() ([]byte, error) {
	if f.Raw == nil {
		return []byte("null"), nil
	}
	return f.Raw, nil
}

// UnmarshalJSON keeps a copy of b (null leaves it empty).
func (f *FieldsV1) UnmarshalJSON(b []byte) error {
	if f == nil {
		return errors.New("metav1.FieldsV1: UnmarshalJSON on nil pointer")
	}
	if !bytes.Equal(b, []byte("null")) {
		f.Raw = append(f.Raw[0:0], b...)
	}
	return nil
}

// DecodeJSON is UnmarshalJSON for a parsed value (plugins/internal/kube/
// decode): the API server's "2006-01-02T15:04:05Z" without time.Parse.
func (t *Time) DecodeJSON(v *fastjson.Value) error {
	var s string
	if v.Type() == fastjson.TypeNull {
		t.Time = time.Time{}
		return nil
	}
	if err := decode.String(v, &s); err != nil {
		return err
	}
	pt, err := sdkmeta.ParseTime(s)
	if err != nil {
		return err
	}
	t.Time = pt.Local()
	return nil
}

// DecodeJSON keeps v's JSON (null leaves it empty); see decode.Raw.
func (f *FieldsV1) DecodeJSON(v *fastjson.Value) error {
	if raw := decode.Raw(v); raw != nil {
		f.Raw = raw
	}
	return nil
}
