package cronjob

import (
	"encoding/json"

	"wasmctl.dev/wasmctl/abi/sdk/meta"
)

// Timestamps are meta.Time, which reads them into UTC: a schedule without a
// zone is evaluated in the location of the times it is given, and the host
// runs plugins on UTC.

// ObjectMeta is the part of metadata the controller reads.
type ObjectMeta struct {
	Name              string            `json:"name"`
	Namespace         string            `json:"namespace,omitempty"`
	UID               string            `json:"uid,omitempty"`
	ResourceVersion   string            `json:"resourceVersion,omitempty"`
	CreationTimestamp *meta.Time        `json:"creationTimestamp,omitempty"`
	DeletionTimestamp *meta.Time        `json:"deletionTimestamp,omitempty"`
	Labels            map[string]string `json:"labels,omitempty"`
	Annotations       map[string]string `json:"annotations,omitempty"`
}

// ObjectReference is a status.active entry.
type ObjectReference struct {
	Kind            string `json:"kind,omitempty"`
	Namespace       string `json:"namespace,omitempty"`
	Name            string `json:"name,omitempty"`
	UID             string `json:"uid,omitempty"`
	APIVersion      string `json:"apiVersion,omitempty"`
	ResourceVersion string `json:"resourceVersion,omitempty"`
}

// CronJob is the part of a batch/v1 CronJob the controller reads.
type CronJob struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   ObjectMeta `json:"metadata"`
	Spec       struct {
		Schedule                   string  `json:"schedule"`
		TimeZone                   *string `json:"timeZone"`
		StartingDeadlineSeconds    *int64  `json:"startingDeadlineSeconds"`
		ConcurrencyPolicy          string  `json:"concurrencyPolicy"`
		Suspend                    *bool   `json:"suspend"`
		SuccessfulJobsHistoryLimit *int32  `json:"successfulJobsHistoryLimit"`
		FailedJobsHistoryLimit     *int32  `json:"failedJobsHistoryLimit"`
		JobTemplate                struct {
			Metadata struct {
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"metadata"`
			Spec json.RawMessage `json:"spec"`
		} `json:"jobTemplate"`
	} `json:"spec"`
	Status Status `json:"status"`
}

// Status is batch/v1 CronJobStatus.
type Status struct {
	Active             []ObjectReference `json:"active,omitempty"`
	LastScheduleTime   *meta.Time        `json:"lastScheduleTime,omitempty"`
	LastSuccessfulTime *meta.Time        `json:"lastSuccessfulTime,omitempty"`
}

// Job is the part of a batch/v1 Job the controller reads.
type Job struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   ObjectMeta `json:"metadata"`
	Status     struct {
		Conditions []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
		} `json:"conditions"`
		StartTime      *meta.Time `json:"startTime"`
		CompletionTime *meta.Time `json:"completionTime"`
	} `json:"status"`
}

// finished returns whether j finished and the first Complete or Failed
// condition that is True (upstream FinishedCondition).
func (j *Job) finished() (bool, string) {
	for _, c := range j.Status.Conditions {
		if (c.Type == "Complete" || c.Type == "Failed") && c.Status == "True" {
			return true, c.Type
		}
	}
	return false, ""
}

// succeeded: a Complete condition is True (upstream IsJobSucceeded).
func (j *Job) succeeded() bool {
	for _, c := range j.Status.Conditions {
		if c.Type == "Complete" && c.Status == "True" {
			return true
		}
	}
	return false
}
