// Package meta is the part of apimachinery's metav1 and api/meta that
// wasmctl plugins need, on the wire as the API server has it: Time,
// ObjectMeta, OwnerReference with NewControllerRef, GetControllerOf and
// IsControlledBy, LabelSelector with LabelSelectorAsSelector, and
// metav1.Condition with SetStatusCondition and friends. Standard library
// only; builds for GOOS=wasip1.
package meta
