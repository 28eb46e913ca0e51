package controller

import (
	"time"

	"wasmctl.dev/wasmctl/abi/sdk/meta"
)

// WorkloadCondition is the condition shape of the apps and batch kinds:
// ReplicaSetCondition (no probe or update time), DeploymentCondition
// (lastUpdateTime), JobCondition (lastProbeTime), StatefulSetCondition,
// DaemonSetCondition. Zero times are left out of the JSON, so one type
// writes each kind's shape. Custom resources use meta.Condition.
type WorkloadCondition struct {
	Type   string `json:"type"`
	Status string `json:"status"`
	// LastProbeTime is a Job condition's.
	LastProbeTime meta.Time `json:"lastProbeTime,omitzero"`
	// LastUpdateTime is a Deployment condition's.
	LastUpdateTime     meta.Time `json:"lastUpdateTime,omitzero"`
	LastTransitionTime meta.Time `json:"lastTransitionTime,omitzero"`
	Reason             string    `json:"reason,omitempty"`
	Message            string    `json:"message,omitempty"`
}

// GetCondition returns a pointer to the first condition of condType in
// conditions, or nil.
func GetCondition(conditions []WorkloadCondition, condType string) *WorkloadCondition {
	for i := range conditions {
		if conditions[i].Type == condType {
			return &conditions[i]
		}
	}
	return nil
}

// SetCondition returns conditions with c set as the Deployment controller
// sets it (deploymentutil.SetDeploymentCondition):
//
//   - a condition of c's type with c's status and reason already there:
//     conditions unchanged (message and times are not updated);
//   - otherwise every condition of c's type is removed and c appended, and
//     when the old one had c's status c keeps its lastTransitionTime.
//
// The ReplicaSet controller's SetCondition is the same but for that last
// rule (it keeps c's lastTransitionTime), which it never reaches: it only
// sets ReplicaFailure when there is none. A change returns a new slice;
// conditions is never written to.
func SetCondition(conditions []WorkloadCondition, c WorkloadCondition) []WorkloadCondition {
	if cur := GetCondition(conditions, c.Type); cur != nil {
		if cur.Status == c.Status && cur.Reason == c.Reason {
			return conditions
		}
		if cur.Status == c.Status {
			c.LastTransitionTime = cur.LastTransitionTime
		}
	}
	return append(RemoveCondition(conditions, c.Type), c)
}

// RemoveCondition returns conditions without those of condType, as a new
// slice (nil when none are left); conditions is never written to.
func RemoveCondition(conditions []WorkloadCondition, condType string) []WorkloadCondition {
	var kept []WorkloadCondition
	for _, c := range conditions {
		if c.Type != condType {
			kept = append(kept, c)
		}
	}
	return kept
}

// EnsureCondition is the Job controller's ensureJobConditionStatus:
// when the condition of condType differs in status, reason or message it
// is replaced in place by a new one whose lastProbeTime and
// lastTransitionTime are now; a missing condition is appended likewise,
// unless status is False (a False condition is not added). It reports
// whether anything changed; a change returns a new slice and conditions is
// never written to.
func EnsureCondition(conditions []WorkloadCondition, condType, status, reason, message string, now time.Time) ([]WorkloadCondition, bool) {
	fresh := WorkloadCondition{
		Type: condType, Status: status, Reason: reason, Message: message,
		LastProbeTime: meta.NewTime(now), LastTransitionTime: meta.NewTime(now),
	}
	for i, c := range conditions {
		if c.Type != condType {
			continue
		}
		if c.Status == status && c.Reason == reason && c.Message == message {
			return conditions, false
		}
		out := append([]WorkloadCondition(nil), conditions...)
		out[i] = fresh
		return out, true
	}
	if status == meta.ConditionFalse {
		return conditions, false
	}
	return append(append([]WorkloadCondition(nil), conditions...), fresh), true
}
