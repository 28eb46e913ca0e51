// Package labels is apimachinery's pkg/labels for wasmctl plugins: label
// selectors parsed from their string form (Parse, with upstream's grammar
// and validation) or built from requirements, and matched against an
// object's labels. Standard library only; builds for GOOS=wasip1.
//
// A workload's spec.selector (a metav1.LabelSelector) converts with
// meta.LabelSelectorAsSelector.
//
//	sel, err := labels.Parse("app=web,tier in (front,back),!canary")
//	if err != nil {
//		return err
//	}
//	if sel.Matches(pod.Metadata.Labels) { ... }
package labels
