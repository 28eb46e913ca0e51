package v1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"wasmctl.dev/wasmctl/abi/sdk/labels"
	sdkmeta "wasmctl.dev/wasmctl/abi/sdk/meta"
)

// Object is what the helpers below read of an object: its metadata
// (*ObjectMeta, and every type embedding it, implements it).
type Object interface {
	GetName() string
	GetNamespace() string
	GetUID() types.UID
	GetGeneration() int64
	GetLabels() map[string]string
	GetAnnotations() map[string]string
	GetOwnerReferences() []OwnerReference
	GetDeletionTimestamp() *Time
}

func (m *ObjectMeta) GetName() string                      { return m.Name }
func (m *ObjectMeta) GetNamespace() string                 { return m.Namespace }
func (m *ObjectMeta) GetUID() types.UID                    { return m.UID }
func (m *ObjectMeta) GetGeneration() int64                 { return m.Generation }
func (m *ObjectMeta) GetLabels() map[string]string         { return m.Labels }
func (m *ObjectMeta) GetAnnotations() map[string]string    { return m.Annotations }
func (m *ObjectMeta) GetOwnerReferences() []OwnerReference { return m.OwnerReferences }
func (m *ObjectMeta) GetDeletionTimestamp() *Time          { return m.DeletionTimestamp }

// GetControllerOfNoCopy is the owner reference with controller: true, in
// place (nil if none).
func GetControllerOfNoCopy(controllee Object) *OwnerReference {
	refs := controllee.GetOwnerReferences()
	for i := range refs {
		if refs[i].Controller != nil && *refs[i].Controller {
			return &refs[i]
		}
	}
	return nil
}

// GetControllerOf is a copy of the controller reference (nil if none).
func GetControllerOf(controllee Object) *OwnerReference {
	ref := GetControllerOfNoCopy(controllee)
	if ref == nil {
		return nil
	}
	cp := *ref
	c := *ref.Controller
	cp.Controller = &c
	if ref.BlockOwnerDeletion != nil {
		b := *ref.BlockOwnerDeletion
		cp.BlockOwnerDeletion = &b
	}
	return &cp
}

// IsControlledBy reports whether owner is obj's controller.
func IsControlledBy(obj Object, owner Object) bool {
	ref := GetControllerOfNoCopy(obj)
	return ref != nil && ref.UID == owner.GetUID()
}

// NewControllerRef is a controller reference to owner, blocking its
// deletion, as upstream's.
func NewControllerRef(owner Object, gvk schema.GroupVersionKind) *OwnerReference {
	yes, block := true, true
	return &OwnerReference{
		APIVersion:         gvk.GroupVersion().String(),
		Kind:               gvk.Kind,
		Name:               owner.GetName(),
		UID:                owner.GetUID(),
		BlockOwnerDeletion: &block,
		Controller:         &yes,
	}
}

// LabelSelectorAsSelector converts ls as apimachinery's does (nil matches
// nothing, empty everything; see abi/sdk/meta.LabelSelectorAsSelector).
func LabelSelectorAsSelector(ls *LabelSelector) (labels.Selector, error) {
	if ls == nil {
		return labels.Nothing(), nil
	}
	s := &sdkmeta.LabelSelector{MatchLabels: ls.MatchLabels}
	for _, e := range ls.MatchExpressions {
		s.MatchExpressions = append(s.MatchExpressions, sdkmeta.LabelSelectorRequirement{Key: e.Key, Operator: string(e.Operator), Values: e.Values})
	}
	return sdkmeta.LabelSelectorAsSelector(s)
}

// FormatLabelSelector prints ls as a selector string: "<none>" for an
// empty one, "<error>" for an invalid one.
func FormatLabelSelector(ls *LabelSelector) string {
	selector, err := LabelSelectorAsSelector(ls)
	if err != nil {
		return "<error>"
	}
	l := selector.String()
	if len(l) == 0 {
		l = "<none>"
	}
	return l
}
