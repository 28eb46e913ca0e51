// Package runtime mirrors the one type of apimachinery's runtime package
// the plugins use (see plugins/internal/kube).
package runtime

import (
	"bytes"
	"errors"

	"github.com/valyala/fastjson"

	"wasmctl.dev/wasmctl/plugins/internal/kube/decode"
)

// RawExtension is an embedded object kept as its JSON (a
// ControllerRevision's data). Unlike apimachinery's it has no decoded
// Object: the plugins write and read Raw.
type RawExtension struct {
	Raw []byte `json:"-" protobuf:"bytes,1,opt,name=raw"`
}

// DeepCopyInto copies in into out.
func (in *RawExtension) DeepCopyInto(out *RawExtension) {
	*out = *in
	if in.Raw != nil {
		out.Raw = bytes.Clone(in.Raw)
	}
}

// UnmarshalJSON keeps a copy of the bytes (null: none).
func (re *RawExtension) UnmarshalJSON(in []byte) error {
	if re == nil {
		return errors.New("runtime.RawExtension: UnmarshalJSON on nil pointer")
	}
	if !bytes.Equal(in, []byte("null")) {
		re.Raw = append(re.Raw[0:0], in...)
	}
	return nil
}

// MarshalJSON writes the bytes (null when none).
func (re RawExtension) MarshalJSON() ([]byte, error) {
	if re.Raw == nil {
		return []byte("null"), nil
	}
	return re.Raw, nil
}

// DecodeJSON keeps v's JSON (null: none); see decode.Raw.
func (re *RawExtension) DecodeJSON(v *fastjson.Value) error {
	if raw := decode.Raw(v); raw != nil {
		re.Raw = raw
	}
	return nil
}
