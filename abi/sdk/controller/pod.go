package controller

import (
	"time"

	"wasmctl.dev/wasmctl/abi/sdk/meta"
)

// Pod phases.
const (
	PodPending   = "Pending"
	PodRunning   = "Running"
	PodSucceeded = "Succeeded"
	PodFailed    = "Failed"
	PodUnknown   = "Unknown"
)

// PodReady is the type of the pod condition that says the pod can serve.
const PodReady = "Ready"

// Pod is the part of a Pod that workload controllers read to count and
// rank pods, for plugins that decode pods with encoding/json. A plugin
// that decodes with a faster parser calls the functions below on the fields
// it extracted instead. Decode the spec into a type of your own when you
// need it.
type Pod struct {
	Metadata meta.ObjectMeta `json:"metadata"`
	Status   PodStatus       `json:"status"`
}

// PodStatus is the part of a pod's status the helpers read.
type PodStatus struct {
	Phase      string         `json:"phase,omitempty"`
	Conditions []PodCondition `json:"conditions,omitempty"`
}

// PodCondition is the part of a pod condition the helpers read.
type PodCondition struct {
	Type               string    `json:"type"`
	Status             string    `json:"status"`
	LastTransitionTime meta.Time `json:"lastTransitionTime,omitzero"`
}

// GetPodCondition returns a pointer to the first condition of condType in
// conditions, or nil (podutil.GetPodConditionFromList).
func GetPodCondition(conditions []PodCondition, condType string) *PodCondition {
	for i := range conditions {
		if conditions[i].Type == condType {
			return &conditions[i]
		}
	}
	return nil
}

// IsActive is IsPodActive of p's phase and deletionTimestamp.
func (p *Pod) IsActive() bool { return IsPodActive(p.Status.Phase, p.Metadata.Deleting()) }

// IsTerminal is IsPodTerminal of p's phase.
func (p *Pod) IsTerminal() bool { return IsPodTerminal(p.Status.Phase) }

// IsTerminating is IsPodTerminating of p's phase and deletionTimestamp.
func (p *Pod) IsTerminating() bool { return IsPodTerminating(p.Status.Phase, p.Metadata.Deleting()) }

// IsReady reports whether p's first Ready condition is True
// (podutil.IsPodReady).
func (p *Pod) IsReady() bool {
	c := GetPodCondition(p.Status.Conditions, PodReady)
	return c != nil && c.Status == meta.ConditionTrue
}

// ReadySince returns the lastTransitionTime of p's Ready condition when p
// is ready, the zero time otherwise.
func (p *Pod) ReadySince() time.Time {
	if c := GetPodCondition(p.Status.Conditions, PodReady); c != nil && c.Status == meta.ConditionTrue {
		return c.LastTransitionTime.Time
	}
	return time.Time{}
}

// IsAvailable is IsPodAvailable of p's Ready condition.
func (p *Pod) IsAvailable(minReadySeconds int32, now time.Time) bool {
	return IsPodAvailable(p.IsReady(), p.ReadySince(), minReadySeconds, now)
}

// IsPodActive reports whether a pod counts towards its controller's
// replicas (controller.IsPodActive): its phase is neither Succeeded nor
// Failed and it is not being deleted.
func IsPodActive(phase string, deleting bool) bool {
	return phase != PodSucceeded && phase != PodFailed && !deleting
}

// IsPodTerminal reports whether the phase is Succeeded or Failed
// (podutil.IsPodPhaseTerminal): its containers have stopped for good.
func IsPodTerminal(phase string) bool { return phase == PodSucceeded || phase == PodFailed }

// IsPodTerminating reports whether a pod is being deleted but has not
// reached a terminal phase (controller.IsPodTerminating): ReplicaSet's
// status.terminatingReplicas counts these.
func IsPodTerminating(phase string, deleting bool) bool { return !IsPodTerminal(phase) && deleting }

// IsPodAvailable is podutil.IsPodAvailable over the pod's Ready condition:
// ready is whether it is True and readySince its lastTransitionTime. A
// ready pod is available at once when minReadySeconds is 0, otherwise once
// readySince + minReadySeconds is not after now; a zero readySince is never
// available then.
func IsPodAvailable(ready bool, readySince time.Time, minReadySeconds int32, now time.Time) bool {
	if !ready {
		return false
	}
	return minReadySeconds == 0 || !readySince.IsZero() && !readySince.Add(time.Duration(minReadySeconds)*time.Second).After(now)
}

// NextAvailabilityCheck returns how long after now a ready pod becomes
// available, and false when it never will by waiting: not ready,
// minReadySeconds <= 0, a zero readySince, or already available
// (upstream's nextPodAvailabilityCheck). A controller requeues after the
// least of these over its pods.
func NextAvailabilityCheck(ready bool, readySince time.Time, minReadySeconds int32, now time.Time) (time.Duration, bool) {
	if !ready || minReadySeconds <= 0 || readySince.IsZero() {
		return 0, false
	}
	d := readySince.Add(time.Duration(minReadySeconds) * time.Second).Sub(now)
	if d <= 0 {
		return 0, false
	}
	return d, true
}
