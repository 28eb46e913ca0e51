package job

import (
	"encoding/json"
	"time"

	"wasmctl.dev/wasmctl/abi/sdk/controller"
	"wasmctl.dev/wasmctl/abi/sdk/labels"
	"wasmctl.dev/wasmctl/abi/sdk/meta"
)

// Well-known names (k8s.io/api batch/v1).
const (
	// TrackingFinalizer keeps a finished pod until its outcome is counted.
	TrackingFinalizer = "batch.kubernetes.io/job-tracking"
	// CompletionIndexAnnotation (also a label) holds an Indexed pod's index.
	CompletionIndexAnnotation = "batch.kubernetes.io/job-completion-index"
	// IndexFailureCountAnnotation counts the counted failures of an index
	// (backoffLimitPerIndex).
	IndexFailureCountAnnotation = "batch.kubernetes.io/job-index-failure-count"
	// IndexIgnoredFailureCountAnnotation counts an index's failures that a
	// podFailurePolicy Ignore rule exempted.
	IndexIgnoredFailureCountAnnotation = "batch.kubernetes.io/job-index-ignored-failure-count"
	// ControllerName is the spec.managedBy value of Jobs this controller
	// manages (as does an unset managedBy).
	ControllerName = "kubernetes.io/job-controller"
	// CompletionIndexEnv is the env var Indexed pods read their index from.
	CompletionIndexEnv = "JOB_COMPLETION_INDEX"
)

// Completion modes, pod replacement policies and pod failure policy actions.
const (
	NonIndexed = "NonIndexed"
	Indexed    = "Indexed"

	TerminatingOrFailed = "TerminatingOrFailed"
	Failed              = "Failed"

	ActionFailJob   = "FailJob"
	ActionFailIndex = "FailIndex"
	ActionIgnore    = "Ignore"
	ActionCount     = "Count"

	OpIn    = "In"
	OpNotIn = "NotIn"
)

// Pod phases (the SDK's).
const (
	PodPending   = controller.PodPending
	PodRunning   = controller.PodRunning
	PodSucceeded = controller.PodSucceeded
	PodFailed    = controller.PodFailed
	PodUnknown   = controller.PodUnknown
)

// Pod is the part of a Pod the controller reads.
type Pod struct {
	Name      string
	Namespace string
	UID       string
	Labels    labels.List
	// Controller is the controller ownerReference, nil for an orphan.
	Controller *meta.OwnerReference
	// HasFinalizer: metadata.finalizers holds TrackingFinalizer.
	HasFinalizer bool
	// Index is the completion-index annotation parsed with strconv.Atoi;
	// -1 when missing, unparsable or negative (the label is never read).
	Index int
	// FailureCount and IgnoredFailureCount are the per-index failure
	// annotations; 0 when missing, unparsable, negative or > MaxInt32.
	FailureCount        int32
	IgnoredFailureCount int32

	CreationTimestamp          time.Time
	DeletionTimestamp          *time.Time
	DeletionGracePeriodSeconds *int64

	NodeName string
	Phase    string
	// Conditions in the pod's order.
	Conditions []PodCondition
	// ContainerStatuses and InitContainerStatuses in the pod's order.
	ContainerStatuses     []ContainerStatus
	InitContainerStatuses []ContainerStatus
	// Sidecars are the names of init containers with restartPolicy Always.
	Sidecars []string
}

// PodCondition is one status.conditions entry.
type PodCondition struct {
	Type               string
	Status             string
	LastTransitionTime time.Time
}

// ContainerStatus is one container's status.
type ContainerStatus struct {
	Name         string
	RestartCount int32
	// Terminated is state.terminated, nil when the container is not
	// terminated.
	Terminated *ContainerTerminated
}

// ContainerTerminated is state.terminated.
type ContainerTerminated struct {
	ExitCode   int32
	FinishedAt time.Time // zero when unset
}

// Job is a batch/v1 Job as the controller reads it.
type Job struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   ObjectMeta `json:"metadata"`
	Spec       JobSpec    `json:"spec"`
	Status     JobStatus  `json:"status"`
}

// ObjectMeta is the part of the Job's metadata the controller reads.
type ObjectMeta struct {
	Name              string     `json:"name"`
	Namespace         string     `json:"namespace,omitempty"`
	UID               string     `json:"uid,omitempty"`
	Generation        int64      `json:"generation,omitempty"`
	DeletionTimestamp *meta.Time `json:"deletionTimestamp,omitempty"`
}

// JobSpec is batch/v1 JobSpec without the fields the controller ignores.
type JobSpec struct {
	Parallelism           *int32              `json:"parallelism,omitempty"`
	Completions           *int32              `json:"completions,omitempty"`
	ActiveDeadlineSeconds *int64              `json:"activeDeadlineSeconds,omitempty"`
	PodFailurePolicy      *PodFailurePolicy   `json:"podFailurePolicy,omitempty"`
	SuccessPolicy         *SuccessPolicy      `json:"successPolicy,omitempty"`
	BackoffLimit          *int32              `json:"backoffLimit,omitempty"`
	BackoffLimitPerIndex  *int32              `json:"backoffLimitPerIndex,omitempty"`
	MaxFailedIndexes      *int32              `json:"maxFailedIndexes,omitempty"`
	Selector              *meta.LabelSelector `json:"selector,omitempty"`
	Template              PodTemplate         `json:"template"`
	CompletionMode        *string             `json:"completionMode,omitempty"`
	Suspend               *bool               `json:"suspend,omitempty"`
	PodReplacementPolicy  *string             `json:"podReplacementPolicy,omitempty"`
	ManagedBy             *string             `json:"managedBy,omitempty"`
}

// PodTemplate is spec.template: what a created pod copies.
type PodTemplate struct {
	Metadata struct {
		Labels      map[string]string `json:"labels,omitempty"`
		Annotations map[string]string `json:"annotations,omitempty"`
		Finalizers  []string          `json:"finalizers,omitempty"`
	} `json:"metadata"`
	// Spec is the template's spec, copied verbatim (Indexed pods get the
	// index env var and hostname).
	Spec json.RawMessage `json:"spec"`
}

// PodFailurePolicy is spec.podFailurePolicy.
type PodFailurePolicy struct {
	Rules []PodFailurePolicyRule `json:"rules"`
}

// PodFailurePolicyRule is one rule: onExitCodes or onPodConditions.
type PodFailurePolicyRule struct {
	Action          string                                   `json:"action"`
	OnExitCodes     *PodFailurePolicyOnExitCodes             `json:"onExitCodes,omitempty"`
	OnPodConditions []PodFailurePolicyOnPodConditionsPattern `json:"onPodConditions,omitempty"`
}

// PodFailurePolicyOnExitCodes matches container exit codes.
type PodFailurePolicyOnExitCodes struct {
	ContainerName *string `json:"containerName,omitempty"`
	Operator      string  `json:"operator"`
	Values        []int32 `json:"values"`
}

// PodFailurePolicyOnPodConditionsPattern matches a pod condition; Status
// defaults to True.
type PodFailurePolicyOnPodConditionsPattern struct {
	Type   string `json:"type"`
	Status string `json:"status,omitempty"`
}

// SuccessPolicy is spec.successPolicy.
type SuccessPolicy struct {
	Rules []SuccessPolicyRule `json:"rules"`
}

// SuccessPolicyRule is one rule.
type SuccessPolicyRule struct {
	SucceededIndexes *string `json:"succeededIndexes,omitempty"`
	SucceededCount   *int32  `json:"succeededCount,omitempty"`
}

// JobStatus is batch/v1 JobStatus. It is written back whole.
type JobStatus struct {
	Conditions              []JobCondition           `json:"conditions,omitempty"`
	StartTime               *meta.Time               `json:"startTime,omitempty"`
	CompletionTime          *meta.Time               `json:"completionTime,omitempty"`
	Active                  int32                    `json:"active,omitempty"`
	Succeeded               int32                    `json:"succeeded,omitempty"`
	Failed                  int32                    `json:"failed,omitempty"`
	Terminating             *int32                   `json:"terminating,omitempty"`
	CompletedIndexes        string                   `json:"completedIndexes,omitempty"`
	FailedIndexes           *string                  `json:"failedIndexes,omitempty"`
	UncountedTerminatedPods *UncountedTerminatedPods `json:"uncountedTerminatedPods,omitempty"`
	Ready                   *int32                   `json:"ready,omitempty"`
}

// UncountedTerminatedPods holds the UIDs of finished pods whose finalizer
// is being removed: counted once it is gone.
type UncountedTerminatedPods struct {
	Succeeded []string `json:"succeeded,omitempty"`
	Failed    []string `json:"failed,omitempty"`
}

// JobCondition is one status.conditions entry.
type JobCondition struct {
	Type               string     `json:"type"`
	Status             string     `json:"status"`
	LastProbeTime      *meta.Time `json:"lastProbeTime,omitempty"`
	LastTransitionTime *meta.Time `json:"lastTransitionTime,omitempty"`
	Reason             string     `json:"reason,omitempty"`
	Message            string     `json:"message,omitempty"`
}

// Job condition types.
const (
	CondSuspended          = "Suspended"
	CondComplete           = "Complete"
	CondFailed             = "Failed"
	CondFailureTarget      = "FailureTarget"
	CondSuccessCriteriaMet = "SuccessCriteriaMet"
)

// Condition reasons and messages (batch/v1).
const (
	ReasonBackoffLimitExceeded     = "BackoffLimitExceeded"
	ReasonDeadlineExceeded         = "DeadlineExceeded"
	ReasonPodFailurePolicy         = "PodFailurePolicy"
	ReasonMaxFailedIndexesExceeded = "MaxFailedIndexesExceeded"
	ReasonFailedIndexes            = "FailedIndexes"
	ReasonCompletionsReached       = "CompletionsReached"
	ReasonSuccessPolicy            = "SuccessPolicy"
	ReasonJobSuspended             = "JobSuspended"
	ReasonJobResumed               = "JobResumed"

	MessageBackoffLimitExceeded     = "Job has reached the specified backoff limit"
	MessageDeadlineExceeded         = "Job was active longer than specified deadline"
	MessageMaxFailedIndexesExceeded = "Job has exceeded the specified maximal number of failed indexes"
	MessageFailedIndexes            = "Job has failed indexes"
	MessageCompletionsReached       = "Reached expected number of succeeded pods"
	MessageJobSuspended             = "Job suspended"
	MessageJobResumed               = "Job resumed"
)

// Event reasons on the Job (pod create/delete events are the host's).
const (
	EventSuspended             = "Suspended"
	EventResumed               = "Resumed"
	EventCompleted             = "Completed"
	EventTooManySucceededPods  = "TooManySucceededPods"
	EventUnknownCompletionMode = "UnknownCompletionMode"
)
