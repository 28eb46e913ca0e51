package replicaset

import (
	"time"

	"github.com/valyala/fastjson"

	"wasmctl.dev/wasmctl/abi/sdk/controller"
	"wasmctl.dev/wasmctl/abi/sdk/labels"
	"wasmctl.dev/wasmctl/abi/sdk/meta"
)

// Pod is the part of a Pod the controller reads.
type Pod struct {
	Name         string
	Namespace    string
	UID          string
	Labels       labels.List
	DeletionCost int32 // controller.kubernetes.io/pod-deletion-cost, 0 when absent or invalid
	// Controller is the controller ownerReference, nil for an orphan.
	Controller        *meta.OwnerReference
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

// active is upstream IsPodActive: not terminal and not terminating.
func (p *Pod) active() bool { return controller.IsPodActive(p.Phase, p.Deleting) }

// Status is apps/v1 ReplicaSetStatus.
type Status struct {
	Replicas             int32                          `json:"replicas"`
	FullyLabeledReplicas int32                          `json:"fullyLabeledReplicas,omitempty"`
	ReadyReplicas        int32                          `json:"readyReplicas,omitempty"`
	AvailableReplicas    int32                          `json:"availableReplicas,omitempty"`
	TerminatingReplicas  *int32                         `json:"terminatingReplicas,omitempty"`
	ObservedGeneration   int64                          `json:"observedGeneration,omitempty"`
	Conditions           []controller.WorkloadCondition `json:"conditions,omitempty"`
}

// ReplicaSet is the part of a ReplicaSet the controller reads.
type ReplicaSet struct {
	Name            string
	Namespace       string
	UID             string
	Generation      int64
	Deleting        bool
	Controller      *meta.OwnerReference
	Replicas        int32
	MinReadySeconds int32
	// Selector is spec.selector as metav1.LabelSelectorAsSelector converts
	// it, nil when there is none.
	Selector *labels.Selector
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
	// Spec is the template's spec as parsed, written verbatim into every
	// create (nil: none). It aliases the request: valid for the call.
	Spec *fastjson.Value
}
