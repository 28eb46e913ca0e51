package statefulset

import (
	"encoding/json"

	"wasmctl.dev/wasmctl/abi/sdk/controller"
	"wasmctl.dev/wasmctl/abi/sdk/intstr"
	"wasmctl.dev/wasmctl/abi/sdk/meta"
)

// Policy and strategy values of apps/v1.
const (
	OrderedReady       = "OrderedReady"
	Parallel           = "Parallel"
	RollingUpdate      = "RollingUpdate"
	OnDelete           = "OnDelete"
	Recreate           = "Recreate"
	RetentionRetain    = "Retain"
	RetentionDelete    = "Delete"
	defaultHistory     = 10
	requestAPIVersion  = "apps/v1"
	requestKind        = "StatefulSet"
	podAPIVersion      = "v1"
	revisionAPIVersion = "apps/v1"
)

// Labels upstream puts on pods and revisions.
const (
	PodNameLabel      = "statefulset.kubernetes.io/pod-name"
	PodIndexLabel     = "apps.kubernetes.io/pod-index"
	RevisionLabel     = "controller-revision-hash"
	RevisionHashLabel = "controller.kubernetes.io/hash"
)

type request struct {
	Now       string                       `json:"now"`
	Object    json.RawMessage              `json:"object"`
	Children  []json.RawMessage            `json:"children"`
	Orphans   []json.RawMessage            `json:"orphans"`
	Related   map[string][]json.RawMessage `json:"related"`
	LastError *struct {
		Op     string `json:"op"`
		Kind   string `json:"kind"`
		Name   string `json:"name"`
		Reason string `json:"reason"`
	} `json:"lastError"`
}

// StatefulSet is the part of apps/v1 StatefulSet the plugin reads.
type StatefulSet struct {
	Metadata meta.ObjectMeta `json:"metadata"`
	Spec     struct {
		Replicas             *int32              `json:"replicas"`
		Selector             *meta.LabelSelector `json:"selector"`
		Template             json.RawMessage     `json:"template"`
		VolumeClaimTemplates []json.RawMessage   `json:"volumeClaimTemplates"`
		ServiceName          string              `json:"serviceName"`
		PodManagementPolicy  string              `json:"podManagementPolicy"`
		UpdateStrategy       struct {
			Type          string `json:"type"`
			RollingUpdate *struct {
				Partition      *int32              `json:"partition"`
				MaxUnavailable *intstr.IntOrString `json:"maxUnavailable"`
			} `json:"rollingUpdate"`
		} `json:"updateStrategy"`
		RevisionHistoryLimit *int32 `json:"revisionHistoryLimit"`
		MinReadySeconds      int32  `json:"minReadySeconds"`
		RetentionPolicy      *struct {
			WhenDeleted string `json:"whenDeleted"`
			WhenScaled  string `json:"whenScaled"`
		} `json:"persistentVolumeClaimRetentionPolicy"`
		Ordinals *struct {
			Start int32 `json:"start"`
		} `json:"ordinals"`
	} `json:"spec"`
	Status Status `json:"status"`
}

// Status is apps/v1 StatefulSetStatus with its JSON names and omitempty
// rules (replicas and availableReplicas are always written).
type Status struct {
	ObservedGeneration int64             `json:"observedGeneration,omitempty"`
	Replicas           int32             `json:"replicas"`
	ReadyReplicas      int32             `json:"readyReplicas,omitempty"`
	CurrentReplicas    int32             `json:"currentReplicas,omitempty"`
	UpdatedReplicas    int32             `json:"updatedReplicas,omitempty"`
	CurrentRevision    string            `json:"currentRevision,omitempty"`
	UpdateRevision     string            `json:"updateRevision,omitempty"`
	CollisionCount     *int32            `json:"collisionCount,omitempty"`
	Conditions         []json.RawMessage `json:"conditions,omitempty"`
	AvailableReplicas  int32             `json:"availableReplicas"`
}

// Pod is the part of a pod the plugin reads (the manifest's fields).
type Pod struct {
	Metadata meta.ObjectMeta `json:"metadata"`
	Spec     struct {
		Volumes []struct {
			Name                  string `json:"name"`
			PersistentVolumeClaim *struct {
				ClaimName string `json:"claimName"`
			} `json:"persistentVolumeClaim"`
		} `json:"volumes"`
	} `json:"spec"`
	Status controller.PodStatus `json:"status"`

	ordinal int
	// created is false for the placeholder of an empty slot.
	created bool
}

// Revision is apps/v1 ControllerRevision.
type Revision struct {
	Metadata meta.ObjectMeta `json:"metadata"`
	Data     json.RawMessage `json:"data"`
	Revision int64           `json:"revision"`

	raw json.RawMessage
}

// Claim is the part of a PersistentVolumeClaim the plugin reads.
type Claim struct {
	Metadata meta.ObjectMeta `json:"metadata"`
}
