package replicaset

import (
	"fmt"
	"time"
)

// OwnerRef is the part of an ownerReference the controller reads.
type OwnerRef struct {
	APIVersion string
	Kind       string
	Name       string
	UID        string
}

// Pod is the part of a Pod the controller reads.
type Pod struct {
	Name         string
	Namespace    string
	UID          string
	Labels       Labels
	DeletionCost int32 // controller.kubernetes.io/pod-deletion-cost, 0 when absent or invalid
	// Controller is the controller ownerReference, nil for an orphan.
	Controller        *OwnerRef
	Deleting          bool // metadata.deletionTimestamp is set
	CreationTimestamp time.Time
	NodeName          string
	Phase             string
	Ready             bool      // condition Ready is True
	ReadyTime         time.Time // lastTransitionTime of that condition
	Restarts          int32     // max restartCount of the containers
	SidecarRestarts   int32     // max restartCount of restartable init containers

	sidecars     []string // decoding scratch
	initStatuses []initStatus
}

type initStatus struct {
	name     string
	restarts int32
}

// Active is upstream IsPodActive: not terminal and not terminating.
func (p *Pod) Active() bool {
	return p.Phase != "Succeeded" && p.Phase != "Failed" && !p.Deleting
}

// Condition is a ReplicaSet status condition.
type Condition struct {
	Type               string `json:"type"`
	Status             string `json:"status"`
	LastTransitionTime string `json:"lastTransitionTime,omitempty"`
	Reason             string `json:"reason,omitempty"`
	Message            string `json:"message,omitempty"`
}

// Status is apps/v1 ReplicaSetStatus.
type Status struct {
	Replicas             int32       `json:"replicas"`
	FullyLabeledReplicas int32       `json:"fullyLabeledReplicas,omitempty"`
	ReadyReplicas        int32       `json:"readyReplicas,omitempty"`
	AvailableReplicas    int32       `json:"availableReplicas,omitempty"`
	TerminatingReplicas  *int32      `json:"terminatingReplicas,omitempty"`
	ObservedGeneration   int64       `json:"observedGeneration,omitempty"`
	Conditions           []Condition `json:"conditions,omitempty"`
}

// ReplicaSet is the part of a ReplicaSet the controller reads.
type ReplicaSet struct {
	Name            string
	Namespace       string
	UID             string
	Generation      int64
	Deleting        bool
	Controller      *OwnerRef
	Replicas        int32
	MinReadySeconds int32
	Selector        *Selector
	// SelectorErr is set when spec.selector does not convert to a selector.
	SelectorErr error
	Template    PodTemplate
	Status      Status
}

// PodTemplate is what a created pod copies.
type PodTemplate struct {
	Labels      map[string]string
	Annotations map[string]string
	Finalizers  []string
	// Spec is the template's spec, copied verbatim.
	Spec []byte
}

// Requirement is one matchExpressions entry.
type Requirement struct {
	Key      string
	Operator string
	Values   []string
}

// Selector is a metav1.LabelSelector.
type Selector struct {
	MatchLabels      map[string]string
	MatchExpressions []Requirement
}

// validate mirrors metav1.LabelSelectorAsSelector's errors.
func (s *Selector) validate() error {
	for _, r := range s.MatchExpressions {
		switch r.Operator {
		case "In", "NotIn":
			if len(r.Values) == 0 {
				return fmt.Errorf("for 'in', 'notin' operators, values set can't be empty")
			}
		case "Exists", "DoesNotExist":
			if len(r.Values) > 0 {
				return fmt.Errorf("values set must be empty for exists and does not exist")
			}
		default:
			return fmt.Errorf("%q is not a valid label selector operator", r.Operator)
		}
	}
	return nil
}

// Labels are an object's labels in JSON order: a handful of entries, faster
// to build and scan than a map (decoding is the plugin's hot path).
type Labels []Label

// Label is one key and value.
type Label struct{ Key, Value string }

// Get returns the value of key.
func (l Labels) Get(key string) (string, bool) {
	for _, x := range l {
		if x.Key == key {
			return x.Value, true
		}
	}
	return "", false
}

// Matches reports whether labels satisfy every term of s. A nil selector
// matches nothing; an empty one matches everything.
func (s *Selector) Matches(labels Labels) bool {
	if s == nil {
		return false
	}
	for k, v := range s.MatchLabels {
		if got, ok := labels.Get(k); !ok || got != v {
			return false
		}
	}
	for _, r := range s.MatchExpressions {
		v, ok := labels.Get(r.Key)
		switch r.Operator {
		case "In":
			if !ok || !contains(r.Values, v) {
				return false
			}
		case "NotIn":
			if ok && contains(r.Values, v) {
				return false
			}
		case "Exists":
			if !ok {
				return false
			}
		case "DoesNotExist":
			if ok {
				return false
			}
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
