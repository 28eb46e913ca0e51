package engine

import (
	"bytes"
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"wasmctl.dev/wasmctl/host/apply"
	"wasmctl.dev/wasmctl/internal/projection"
)

// cutObject is what the cache keeps of a typed object of a cut kind
// (cacheFields): its metadata, typed, for the host's own reading (keys,
// labels, owners, finalizers, deletion), and the JSON of the cut object,
// which is all the plugins are sent of it.
//
// Why not the cut typed object: a v1.Pod is ~2 KiB of struct before any of
// its fields is set, and the protobuf decoder allocates its status and
// containers wherever the wire had them; the cut only zeroes fields.
// Measured on 5750 pods at idle (go run ./hack/benchsteady -sides
// wasmctl-host, docs/BENCHMARKS.md): the Pod structs held 11.5 MB and
// their statuses 9.5 MB; as cutObjects the pods' JSON is 7 MB (~1.2 KiB a
// pod), and the host's idle RSS went from 191 to 178 MiB. The cost: one
// json.Marshal and one JSON projection per watch event of the kind, which
// the first request reading the object paid before (rollout CPU unchanged
// within the runs' noise).
//
// A cutObject is immutable once in the cache, like every cached object;
// data is shared by its deep copies.
type cutObject struct {
	metav1.TypeMeta
	metav1.ObjectMeta
	data []byte
}

var _ apply.Object = (*cutObject)(nil)

// newCutObject returns o, already pruned to keep, as a cutObject; nil when
// o is not a typed object with a metav1.ObjectMeta (which the cache then
// keeps as it is). The JSON goes through keep once more: json.Marshal
// writes the zeroed fields that are not omitempty ("containers": null).
func newCutObject(o apply.Object, keep *projection.Projection) *cutObject {
	a, ok := o.(metav1.ObjectMetaAccessor)
	if !ok {
		return nil
	}
	om, ok := a.GetObjectMeta().(*metav1.ObjectMeta)
	if !ok {
		return nil
	}
	data, err := json.Marshal(o)
	if err == nil {
		data, err = keep.ApplyJSON(data)
	}
	if err != nil {
		return nil
	}
	// ApplyJSON's buffer grew by doubling; the cache keeps the bytes only.
	c := &cutObject{ObjectMeta: *om, data: bytes.Clone(data)}
	c.SetGroupVersionKind(o.GetObjectKind().GroupVersionKind())
	return c
}

// DeepCopyObject implements runtime.Object.
func (c *cutObject) DeepCopyObject() runtime.Object {
	return &cutObject{TypeMeta: c.TypeMeta, ObjectMeta: *c.ObjectMeta.DeepCopy(), data: c.data}
}

// MarshalJSON writes the cut object, as the plugins see it.
func (c *cutObject) MarshalJSON() ([]byte, error) { return c.data, nil }
