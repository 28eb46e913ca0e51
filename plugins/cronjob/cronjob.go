// Package cronjob is kube-controller-manager's CronJob controller (v2, as of
// v1.37) as a wasmctl plugin's logic: plain Go, tested natively, wrapped for
// Wasm by plugins/cronjob/cmd. The IANA time-zone database is embedded
// (time/tzdata): a plugin has no filesystem.
//
// One call is one upstream sync: history cleanup, status.active and
// lastSuccessfulTime maintenance, then scheduling. Time comes only from the
// request. Where upstream reads the API server directly, the plugin trusts
// the host's cache, which the host keeps consistent with the controller's
// own writes (it waits for its creates, deletes and status writes to be
// observed before the next call):
//
//   - a Job created by the previous call appears as an unfinished child not
//     yet in status.active, named for status.lastScheduleTime: it is added
//     to active (upstream adds it in the same sync, from the create's
//     response, which a plugin never sees);
//   - an active Job missing from the children is gone (upstream confirms
//     with a GET);
//   - a Job named for the schedule time that already exists among the
//     children is treated as upstream treats AlreadyExists; a create that
//     failed with AlreadyExists for a Job that is not a child (someone
//     else's) stops the sync without a requeue, as upstream does.
//
// docs/controllers/cronjob.md states each upstream rule the plugin and the
// host follow, with upstream file:line and the tests that cover it, and
// lists where they differ from upstream.
package cronjob

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"
	_ "time/tzdata" // spec.timeZone without a filesystem

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/abi/sdk/meta"
)

// ScheduledTimestampAnnotation is set on every Job to its nominal time.
const ScheduledTimestampAnnotation = "batch.kubernetes.io/cronjob-scheduled-timestamp"

// Manifest describes the plugin.
func Manifest() *abi.Manifest {
	return &abi.Manifest{
		Name:    "cronjob",
		Version: "0.1.0",
		For:     abi.TypeRef{APIVersion: "batch/v1", Kind: "CronJob"},
		Owns:    []abi.TypeRef{{APIVersion: "batch/v1", Kind: "Job"}},
		// The CronJob controller's words for its Jobs; it handles
		// AlreadyExists itself (the Job of this schedule exists: nothing to
		// report), so the host records no FailedCreate for it.
		OwnedEvents: []abi.OwnedEvents{{
			Type:    abi.TypeRef{APIVersion: "batch/v1", Kind: "Job"},
			Created: "Created job {name}", CreateFailed: "Error creating job: {error}",
			Deleted: "Deleted job {name}", DeleteFailed: "Deleted job: {error}",
			QuietReasons: []string{"AlreadyExists"},
		}},
	}
}

// Reconcile is one sync of one CronJob.
func Reconcile(req *abi.ReconcileRequest) (*abi.ReconcileResponse, error) {
	now, err := req.NowTime()
	if err != nil {
		return nil, err
	}
	var raw map[string]any
	if err := json.Unmarshal(req.Object, &raw); err != nil {
		return nil, fmt.Errorf("decode object: %w", err)
	}
	var cj CronJob
	if err := json.Unmarshal(req.Object, &cj); err != nil {
		return nil, fmt.Errorf("decode CronJob: %w", err)
	}
	jobs := make([]*Job, 0, len(req.Children))
	for _, c := range req.Children {
		j := &Job{}
		if err := json.Unmarshal(c, j); err != nil {
			return nil, fmt.Errorf("decode Job: %w", err)
		}
		jobs = append(jobs, j)
	}
	s := &syncer{cj: &cj, jobs: jobs, now: now.UTC(), resp: abi.NewResponse(), lastError: req.LastError}
	s.sync()
	if s.updateStatus {
		status, _ := raw["status"].(map[string]any)
		if status == nil {
			status = map[string]any{}
		}
		b, err := json.Marshal(cj.Status)
		if err != nil {
			return nil, err
		}
		var fresh map[string]any
		if err := json.Unmarshal(b, &fresh); err != nil {
			return nil, err
		}
		for _, k := range []string{"active", "lastScheduleTime", "lastSuccessfulTime"} {
			if v, ok := fresh[k]; ok {
				status[k] = v
			} else {
				delete(status, k)
			}
		}
		raw["status"] = status
		if err := s.resp.Add(abi.OpUpdateStatus, raw); err != nil {
			return nil, err
		}
	}
	if s.requeue != nil {
		s.resp.RequeueAfterSeconds = max(s.requeue.Seconds(), 0.001)
	}
	return s.resp, nil
}

type syncer struct {
	cj           *CronJob
	jobs         []*Job
	now          time.Time
	resp         *abi.ReconcileResponse
	lastError    *abi.ApplyError
	updateStatus bool
	requeue      *time.Duration
}

func (s *syncer) sync() {
	s.cleanupFinishedJobs()
	s.syncCronJob()
}

// deleteJob asks for a Background delete and drops the job from active.
func (s *syncer) deleteJob(j *Job) {
	s.resp.AddDelete(abi.ObjectRef{APIVersion: "batch/v1", Kind: "Job", Namespace: j.Metadata.Namespace, Name: j.Metadata.Name}, "Background")
	s.removeFromActive(j.Metadata.UID)
	s.updateStatus = true
}

func (s *syncer) removeFromActive(uid string) {
	var kept []ObjectReference
	for _, r := range s.cj.Status.Active {
		if r.UID != uid {
			kept = append(kept, r)
		}
	}
	s.cj.Status.Active = kept
}

func (s *syncer) inActive(uid string) bool {
	for _, r := range s.cj.Status.Active {
		if r.UID == uid {
			return true
		}
	}
	return false
}

// cleanupFinishedJobs applies successfulJobsHistoryLimit and
// failedJobsHistoryLimit: the oldest finished Jobs beyond them are deleted
// (docs/controllers/cronjob.md, history limits).
func (s *syncer) cleanupFinishedJobs() {
	spec := &s.cj.Spec
	if spec.SuccessfulJobsHistoryLimit == nil && spec.FailedJobsHistoryLimit == nil {
		return
	}
	var succeeded, failed []*Job
	for _, j := range s.jobs {
		switch ok, cond := j.finished(); {
		case ok && cond == "Complete":
			succeeded = append(succeeded, j)
		case ok && cond == "Failed":
			failed = append(failed, j)
		}
	}
	if spec.SuccessfulJobsHistoryLimit != nil {
		s.removeOldest(succeeded, *spec.SuccessfulJobsHistoryLimit)
	}
	if spec.FailedJobsHistoryLimit != nil {
		s.removeOldest(failed, *spec.FailedJobsHistoryLimit)
	}
}

func (s *syncer) removeOldest(jobs []*Job, limit int32) {
	n := len(jobs) - int(limit)
	if n <= 0 {
		return
	}
	sort.Slice(jobs, func(a, b int) bool { return byStartTime(jobs[a], jobs[b]) })
	for _, j := range jobs[:n] {
		s.deleteJob(j)
	}
}

// byStartTime: by status.startTime, nil last, then by name.
func byStartTime(a, b *Job) bool {
	sa, sb := a.Status.StartTime, b.Status.StartTime
	if sa == nil && sb != nil {
		return false
	}
	if sa != nil && sb == nil {
		return true
	}
	if sa == nil || sa.Equal(sb.Time) {
		return a.Metadata.Name < b.Metadata.Name
	}
	return sa.Before(sb.Time)
}

func jobName(cj *CronJob, scheduled time.Time) string {
	return fmt.Sprintf("%s-%d", cj.Metadata.Name, scheduled.Unix()/60)
}

func jobRef(j *Job) ObjectReference {
	return ObjectReference{
		Kind: "Job", APIVersion: "batch/v1", Name: j.Metadata.Name, Namespace: j.Metadata.Namespace,
		UID: j.Metadata.UID, ResourceVersion: j.Metadata.ResourceVersion,
	}
}

// syncCronJob is upstream's syncCronJob: reconcile status.active with the
// Jobs, then, unless suspended or deleted, create the Job of the most recent
// missed schedule within the starting deadline, as concurrencyPolicy allows
// (docs/controllers/cronjob.md).
func (s *syncer) syncCronJob() {
	cj := s.cj
	children := map[string]bool{}
	for _, j := range s.jobs {
		children[j.Metadata.UID] = true
		found := s.inActive(j.Metadata.UID)
		finished, cond := j.finished()
		switch {
		case !found && !finished:
			if cj.Status.LastScheduleTime != nil && j.Metadata.Name == jobName(cj, cj.Status.LastScheduleTime.Time) {
				// Created by the previous call, which could not know its UID.
				cj.Status.Active = append(cj.Status.Active, jobRef(j))
				s.updateStatus = true
				continue
			}
			s.resp.Event(abi.EventWarning, "UnexpectedJob", "Saw a job that the controller did not create or forgot: %s", j.Metadata.Name)
		case finished:
			if found {
				s.removeFromActive(j.Metadata.UID)
				s.resp.Event(abi.EventNormal, "SawCompletedJob", "Saw completed job: %s, condition: %v", j.Metadata.Name, cond)
				s.updateStatus = true
			}
			if j.succeeded() {
				if cj.Status.LastSuccessfulTime == nil {
					cj.Status.LastSuccessfulTime = j.Status.CompletionTime
					s.updateStatus = true
				}
				if j.Status.CompletionTime != nil && cj.Status.LastSuccessfulTime != nil && j.Status.CompletionTime.After(cj.Status.LastSuccessfulTime.Time) {
					cj.Status.LastSuccessfulTime = j.Status.CompletionTime
					s.updateStatus = true
				}
			}
		}
	}
	for _, r := range append([]ObjectReference(nil), cj.Status.Active...) {
		if children[r.UID] {
			continue
		}
		s.resp.Event(abi.EventNormal, "MissingJob", "Active job went missing: %v", r.Name)
		s.removeFromActive(r.UID)
		s.updateStatus = true
	}

	if cj.Metadata.DeletionTimestamp != nil {
		return
	}
	if cj.Spec.TimeZone != nil {
		if _, err := time.LoadLocation(*cj.Spec.TimeZone); err != nil {
			s.resp.Event(abi.EventWarning, "UnknownTimeZone", "invalid timeZone: %q: %s", *cj.Spec.TimeZone, err)
			return
		}
	}
	if cj.Spec.Suspend != nil && *cj.Spec.Suspend {
		return
	}
	sched, err := parseSchedule(formatSchedule(cj, s.resp))
	if err != nil {
		s.resp.Event(abi.EventWarning, "UnparseableSchedule", "unparseable schedule: %q : %s", cj.Spec.Schedule, err)
		return
	}
	scheduled, err := nextScheduleTime(cj, s.now, sched, s.resp)
	if err != nil {
		s.resp.Event(abi.EventWarning, "InvalidSchedule", "invalid schedule: %s : %s", cj.Spec.Schedule, err)
		return
	}
	requeue := func() {
		d := nextScheduleTimeDuration(cj, s.now, sched)
		s.requeue = &d
	}
	if scheduled == nil {
		requeue()
		return
	}
	if sds := cj.Spec.StartingDeadlineSeconds; sds != nil && scheduled.Add(time.Second*time.Duration(*sds)).Before(s.now) {
		s.resp.Event(abi.EventWarning, "MissSchedule", "Missed scheduled time to start a job: %s", scheduled.UTC().Format(time.RFC1123Z))
		requeue()
		return
	}
	name := jobName(cj, *scheduled)
	for _, r := range cj.Status.Active {
		if r.Name == name && r.Namespace == cj.Metadata.Namespace {
			requeue()
			return
		}
	}
	if cj.Status.LastScheduleTime != nil && cj.Status.LastScheduleTime.Equal(*scheduled) {
		requeue()
		return
	}
	if cj.Spec.ConcurrencyPolicy == "Forbid" && len(cj.Status.Active) > 0 {
		s.resp.Event(abi.EventNormal, "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid")
		requeue()
		return
	}
	if cj.Spec.ConcurrencyPolicy == "Replace" {
		for _, r := range append([]ObjectReference(nil), cj.Status.Active...) {
			s.deleteJob(&Job{Metadata: ObjectMeta{Name: r.Name, Namespace: r.Namespace, UID: r.UID}})
		}
	}

	// The Job may exist already: upstream's AlreadyExists path.
	for _, j := range s.jobs {
		if j.Metadata.Name != name {
			continue
		}
		if s.inActive(j.Metadata.UID) {
			return
		}
		cj.Status.Active = append(cj.Status.Active, jobRef(j))
		cj.Status.LastScheduleTime = &meta.Time{Time: *scheduled}
		s.updateStatus = true
		requeue()
		return
	}
	if le := s.lastError; le != nil && le.Op == abi.OpCreate && le.Kind == "Job" && le.Name == name && le.Reason == "AlreadyExists" {
		// Someone else's Job holds the name: assume it maintains the status.
		return
	}
	job, err := jobFromTemplate(cj, *scheduled)
	if err != nil {
		s.resp.Event(abi.EventWarning, "FailedCreate", "Error creating job: %v", err)
		return
	}
	if err := s.resp.Add(abi.OpCreate, job); err != nil {
		return
	}
	cj.Status.LastScheduleTime = &meta.Time{Time: *scheduled}
	s.updateStatus = true
	requeue()
}

// jobFromTemplate is upstream getJobFromTemplate2.
func jobFromTemplate(cj *CronJob, scheduled time.Time) (map[string]any, error) {
	tz := ""
	if cj.Spec.TimeZone != nil {
		tz = *cj.Spec.TimeZone
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, err
	}
	labels := map[string]string{}
	for k, v := range cj.Spec.JobTemplate.Metadata.Labels {
		labels[k] = v
	}
	annotations := map[string]string{}
	for k, v := range cj.Spec.JobTemplate.Metadata.Annotations {
		annotations[k] = v
	}
	annotations[ScheduledTimestampAnnotation] = scheduled.In(loc).Format(time.RFC3339)
	spec := cj.Spec.JobTemplate.Spec
	if len(spec) == 0 {
		spec = json.RawMessage("{}")
	}
	return map[string]any{
		"apiVersion": "batch/v1", "kind": "Job",
		"metadata": map[string]any{
			"name": jobName(cj, scheduled), "namespace": cj.Metadata.Namespace,
			"labels": labels, "annotations": annotations,
			"creationTimestamp": meta.FormatTime(scheduled),
			"ownerReferences": []meta.OwnerReference{meta.NewControllerRef(abi.ObjectRef{
				APIVersion: "batch/v1", Kind: "CronJob", Name: cj.Metadata.Name, UID: cj.Metadata.UID,
			})},
		},
		"spec": spec,
	}, nil
}
