package meta

import "wasmctl.dev/wasmctl/abi"

// ObjectMeta is the part of metav1.ObjectMeta controllers read and write,
// with its JSON names. A zero CreationTimestamp is left out rather than
// written as null.
type ObjectMeta struct {
	Name              string            `json:"name,omitempty"`
	GenerateName      string            `json:"generateName,omitempty"`
	Namespace         string            `json:"namespace,omitempty"`
	UID               string            `json:"uid,omitempty"`
	ResourceVersion   string            `json:"resourceVersion,omitempty"`
	Generation        int64             `json:"generation,omitempty"`
	CreationTimestamp Time              `json:"creationTimestamp,omitzero"`
	DeletionTimestamp *Time             `json:"deletionTimestamp,omitempty"`
	Labels            map[string]string `json:"labels,omitempty"`
	Annotations       map[string]string `json:"annotations,omitempty"`
	OwnerReferences   []OwnerReference  `json:"ownerReferences,omitempty"`
	Finalizers        []string          `json:"finalizers,omitempty"`
}

// Deleting reports whether metadata.deletionTimestamp is set.
func (m *ObjectMeta) Deleting() bool { return m.DeletionTimestamp != nil }

// ControllerRef is GetControllerOf(m.OwnerReferences).
func (m *ObjectMeta) ControllerRef() *OwnerReference { return GetControllerOf(m.OwnerReferences) }

// OwnerReference is metav1.OwnerReference, with its JSON names and order.
type OwnerReference struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	UID        string `json:"uid"`
	// Controller marks the managing controller; at most one reference of an
	// object has it true.
	Controller *bool `json:"controller,omitempty"`
	// BlockOwnerDeletion makes a foreground deletion of the owner wait for
	// this object.
	BlockOwnerDeletion *bool `json:"blockOwnerDeletion,omitempty"`
}

// IsController reports whether r.Controller is set and true.
func (r *OwnerReference) IsController() bool { return r.Controller != nil && *r.Controller }

// NewControllerRef returns the controller reference a controller puts on
// the objects it creates (metav1.NewControllerRef): owner's apiVersion,
// kind, name and UID, controller and blockOwnerDeletion true. owner's
// Namespace is not part of a reference (owners share the namespace).
func NewControllerRef(owner abi.ObjectRef) OwnerReference {
	t := true
	return OwnerReference{
		APIVersion: owner.APIVersion, Kind: owner.Kind, Name: owner.Name, UID: owner.UID,
		Controller: &t, BlockOwnerDeletion: &t,
	}
}

// GetControllerOf returns a copy of the first reference in refs with
// controller true, or nil (metav1.GetControllerOf). The copy shares
// nothing with refs.
func GetControllerOf(refs []OwnerReference) *OwnerReference {
	for i := range refs {
		if refs[i].IsController() {
			r := refs[i]
			controller := true
			r.Controller = &controller
			if b := refs[i].BlockOwnerDeletion; b != nil {
				block := *b
				r.BlockOwnerDeletion = &block
			}
			return &r
		}
	}
	return nil
}

// IsControlledBy reports whether refs hold a controller reference to the
// object with ownerUID (metav1.IsControlledBy). Only the first controller
// reference counts.
func IsControlledBy(refs []OwnerReference, ownerUID string) bool {
	for i := range refs {
		if refs[i].IsController() {
			return refs[i].UID == ownerUID
		}
	}
	return false
}
