package engine

import (
	"bytes"

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
// pod), and the host's idle RSS went from 191 to 178 MiB. Writing the JSON
// at each watch event costs what the first request reading the object paid
// before; the walk of newCutObject keeps it below what the cut alone cost.
//
// A cutObject is immutable once in the cache, like every cached object;
// data is shared by its deep copies.
type cutObject struct {
	metav1.TypeMeta
	metav1.ObjectMeta
	data []byte
}

var _ apply.Object = (*cutObject)(nil)

// newCutObject returns o, a whole typed object, cut to keep as a
// cutObject; nil when o has no metav1.ObjectMeta (the cache then keeps o
// pruned). The JSON is written by walking the kept fields
// (Projection.AppendTyped; BenchmarkTransformCut, a running pod: 10-11 us
// for the whole transform, against 22.6 us when the pod was zeroed and
// marshalled); the metadata is a copy cut the same way, so the cache holds
// nothing of it that no reader reads.
func newCutObject(o apply.Object, keep *projection.Projection) *cutObject {
	a, ok := o.(metav1.ObjectMetaAccessor)
	if !ok {
		return nil
	}
	om, ok := a.GetObjectMeta().(*metav1.ObjectMeta)
	if !ok {
		return nil
	}
	data, err := keep.AppendTyped(make([]byte, 0, 1024), o)
	if err != nil {
		return nil
	}
	meta := struct {
		Metadata metav1.ObjectMeta `json:"metadata"`
	}{*om}
	keep.Prune(&meta)
	// The walk's buffer has room to spare; the cache keeps the bytes only.
	c := &cutObject{ObjectMeta: meta.Metadata, data: bytes.Clone(data)}
	c.SetGroupVersionKind(o.GetObjectKind().GroupVersionKind())
	return c
}

// DeepCopyObject implements runtime.Object.
func (c *cutObject) DeepCopyObject() runtime.Object {
	return &cutObject{TypeMeta: c.TypeMeta, ObjectMeta: *c.ObjectMeta.DeepCopy(), data: c.data}
}

// MarshalJSON writes the cut object, as the plugins see it.
func (c *cutObject) MarshalJSON() ([]byte, error) { return c.data, nil }
