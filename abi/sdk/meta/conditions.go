package meta

import (
	"slices"
	"time"
)

// Condition statuses.
const (
	ConditionTrue    = "True"
	ConditionFalse   = "False"
	ConditionUnknown = "Unknown"
)

// Condition is metav1.Condition, the condition of custom resources and of
// newer built-in kinds. Workload kinds (ReplicaSet, Deployment, Job) have
// their own shape: controller.WorkloadCondition.
type Condition struct {
	Type               string `json:"type"`
	Status             string `json:"status"`
	ObservedGeneration int64  `json:"observedGeneration,omitempty"`
	LastTransitionTime Time   `json:"lastTransitionTime"`
	Reason             string `json:"reason"`
	Message            string `json:"message"`
}

// FindStatusCondition returns a pointer to the condition of condType in
// conditions, or nil (meta.FindStatusCondition).
func FindStatusCondition(conditions []Condition, condType string) *Condition {
	for i := range conditions {
		if conditions[i].Type == condType {
			return &conditions[i]
		}
	}
	return nil
}

// SetStatusCondition sets c in *conditions as meta.SetStatusCondition
// does, with now for its clock, and reports whether anything changed:
//
//   - a condition of c's type is appended when there is none, with
//     lastTransitionTime now unless c has one;
//   - otherwise the existing one takes c's status, reason, message and
//     observedGeneration in place, and its lastTransitionTime changes (to
//     c's, or now when c has none) only when the status does.
//
// Unlike upstream it never writes to the array *conditions pointed to on
// entry: a change copies the slice first, so a status decoded from the
// request and kept for comparison stays as it was. conditions must not be
// nil.
func SetStatusCondition(conditions *[]Condition, c Condition, now time.Time) bool {
	i := slices.IndexFunc(*conditions, func(x Condition) bool { return x.Type == c.Type })
	if i < 0 {
		if c.LastTransitionTime.IsZero() {
			c.LastTransitionTime = NewTime(now)
		}
		*conditions = append(slices.Clip(*conditions), c)
		return true
	}
	updated, changed := (*conditions)[i], false
	if updated.Status != c.Status {
		updated.Status, changed = c.Status, true
		updated.LastTransitionTime = c.LastTransitionTime
		if c.LastTransitionTime.IsZero() {
			updated.LastTransitionTime = NewTime(now)
		}
	}
	if updated.Reason != c.Reason || updated.Message != c.Message || updated.ObservedGeneration != c.ObservedGeneration {
		updated.Reason, updated.Message, updated.ObservedGeneration, changed = c.Reason, c.Message, c.ObservedGeneration, true
	}
	if !changed {
		return false
	}
	*conditions = slices.Clone(*conditions)
	(*conditions)[i] = updated
	return true
}

// RemoveStatusCondition removes the conditions of condType from
// *conditions and reports whether there was one
// (meta.RemoveStatusCondition). It builds a new slice and leaves the old
// array alone. conditions must not be nil.
func RemoveStatusCondition(conditions *[]Condition, condType string) bool {
	if len(*conditions) == 0 {
		return false
	}
	kept := make([]Condition, 0, len(*conditions))
	for _, c := range *conditions {
		if c.Type != condType {
			kept = append(kept, c)
		}
	}
	removed := len(kept) != len(*conditions)
	*conditions = kept
	return removed
}

// IsStatusConditionTrue reports whether the condition of condType is
// present and True.
func IsStatusConditionTrue(conditions []Condition, condType string) bool {
	return IsStatusConditionPresentAndEqual(conditions, condType, ConditionTrue)
}

// IsStatusConditionFalse reports whether the condition of condType is
// present and False.
func IsStatusConditionFalse(conditions []Condition, condType string) bool {
	return IsStatusConditionPresentAndEqual(conditions, condType, ConditionFalse)
}

// IsStatusConditionPresentAndEqual reports whether the first condition of
// condType has the given status.
func IsStatusConditionPresentAndEqual(conditions []Condition, condType, status string) bool {
	if c := FindStatusCondition(conditions, condType); c != nil {
		return c.Status == status
	}
	return false
}
