// Package job is the Job controller of kube-controller-manager (v1.37) as a
// wasmctl plugin's logic: plain Go, tested natively, wrapped for Wasm by
// plugins/job/cmd.
//
// One call is one upstream syncJob: claim pods (adopt matching orphans with
// the tracking finalizer, release owned pods that no longer match), decide
// whether the Job has reached a terminal state (pod failure policy, backoff
// limit, deadline, failed indexes, success policy, completions), create or
// delete pods (at most 500 per call, deletions before creations, the pod
// recreation backoff), and track finished pods with the two-phase protocol:
// their UIDs are written to status.uncountedTerminatedPods, their
// finalizers removed, and only then are they counted — all in one response
// whose actions the host applies in order, stopping at the first failure,
// so that nothing is counted twice or lost whatever step fails.
//
// What upstream keeps in memory the host or the pods supply: expectations
// (the host calls the plugin only once its earlier creates, deletes and
// finalizer removals are observed), the recheck before adoption, slow-start
// batching, and the pod recreation backoff (derived from the finish times of
// the failed pods still present). docs/controllers/job.md states each rule
// with upstream file:line and lists where the plugin differs.
package job

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/valyala/fastjson"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/abi/sdk/controller"
	"wasmctl.dev/wasmctl/abi/sdk/labels"
	"wasmctl.dev/wasmctl/abi/sdk/meta"
)

// Caps of one call (upstream MaxPodCreateDeletePerSync and MaxUncountedPods).
const (
	MaxPodCreateDeletePerSync = 500
	MaxUncountedPods          = 500
)

// Manifest describes the plugin.
func Manifest() *abi.Manifest {
	return &abi.Manifest{
		Name:    "job",
		Version: "0.1.0",
		For:     abi.TypeRef{APIVersion: "batch/v1", Kind: "Job"},
		Owns:    []abi.TypeRef{{APIVersion: "v1", Kind: "Pod"}},
		// The echo of its own status write changes nothing the plugin
		// computes: pod changes and the Job's spec drive it.
		IgnoreOwnWrites: true,
		// Pods of a deleted Job keep the tracking finalizer until someone
		// removes it: the host does, as upstream's orphan queue does.
		OwnedFinalizers: []string{TrackingFinalizer},
		Fields: []abi.FieldSelection{{Type: abi.TypeRef{APIVersion: "v1", Kind: "Pod"}, Paths: []string{
			"metadata.labels",
			"metadata.annotations[" + CompletionIndexAnnotation + "]",
			"metadata.annotations[" + IndexFailureCountAnnotation + "]",
			"metadata.annotations[" + IndexIgnoredFailureCountAnnotation + "]",
			"metadata.ownerReferences",
			"metadata.finalizers",
			"metadata.creationTimestamp",
			"metadata.deletionTimestamp",
			"metadata.deletionGracePeriodSeconds",
			"spec.nodeName",
			"spec.initContainers.name",
			"spec.initContainers.restartPolicy",
			"status.phase",
			"status.conditions.type",
			"status.conditions.status",
			"status.conditions.lastTransitionTime",
			"status.containerStatuses.name",
			"status.containerStatuses.restartCount",
			"status.containerStatuses.state.terminated.exitCode",
			"status.containerStatuses.state.terminated.finishedAt",
			"status.initContainerStatuses.name",
			"status.initContainerStatuses.restartCount",
			"status.initContainerStatuses.state.terminated.exitCode",
			"status.initContainerStatuses.state.terminated.finishedAt",
		}}},
	}
}

// parser is reused across calls: a plugin instance serves one call at a time.
var parser fastjson.Parser

// Reconcile is one sync of one Job.
func Reconcile(input []byte) (*abi.ReconcileResponse, error) {
	r, err := decodeRequest(&parser, input)
	if err != nil {
		return nil, err
	}
	return syncJob(r)
}

// sync holds one call's state (upstream syncJobCtx).
type sync struct {
	job     *Job
	obj     *fastjson.Value
	now     time.Time
	indexed bool
	// completions is spec.completions (0 with nil: check hasCompletions).
	completions    int
	hasCompletions bool

	pods        []*Pod // claimed
	active      []*Pod
	ready       int32
	terminating int32
	uncountedS  map[string]bool // status.uncountedTerminatedPods at the start
	uncountedF  map[string]bool
	succeeded   int32
	failed      int32
	status      JobStatus // what will be written

	finished             *JobCondition
	prevSucceededIndexes orderedIntervals
	succeededIndexes     orderedIntervals
	failedIndexes        *orderedIntervals
	delayed              map[int]*Pod // backoffLimitPerIndex: failed pods kept for their index's replacement

	resp    *abi.ReconcileResponse
	claims  []abi.Action // adopt / release patches
	manage  []abi.Action // finalizer patches then deletes
	creates []abi.Action // pod creates
	// createsLast: the previous call's creates failed (see syncJob).
	createsLast bool
	requeue     time.Duration
}

func (s *sync) suspended() bool { return s.job.Spec.Suspend != nil && *s.job.Spec.Suspend }

// onlyReplaceFailed: podReplacementPolicy Failed (JC:2218).
func (s *sync) onlyReplaceFailed() bool {
	return s.job.Spec.PodReplacementPolicy != nil && *s.job.Spec.PodReplacementPolicy == Failed
}

func (s *sync) hasBackoffLimitPerIndex() bool {
	return s.indexed && s.job.Spec.BackoffLimitPerIndex != nil
}

// isFailed is upstream isPodFailed (J3.2): phase Failed, or, unless only
// failed pods are replaced, terminating and not Succeeded.
func (s *sync) isFailed(p *Pod) bool {
	if p.Phase == PodFailed {
		return true
	}
	if s.onlyReplaceFailed() {
		return false
	}
	return p.DeletionTimestamp != nil && p.Phase != PodSucceeded
}

// validIndex: an Indexed pod's index is set and below completions.
func (s *sync) validIndex(p *Pod) bool { return p.Index >= 0 && p.Index < s.completions }

func (s *sync) requeueAfter(d time.Duration) {
	if d > 0 && (s.requeue == 0 || d < s.requeue) {
		s.requeue = d
	}
}

func (j *Job) ref() abi.ObjectRef {
	return abi.ObjectRef{APIVersion: "batch/v1", Kind: "Job", Namespace: j.Metadata.Namespace, Name: j.Metadata.Name, UID: j.Metadata.UID}
}

func (p *Pod) ref() abi.ObjectRef {
	return abi.ObjectRef{APIVersion: "v1", Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID}
}

func (p *Pod) ready() bool {
	for _, c := range p.Conditions {
		if c.Type == "Ready" {
			return c.Status == "True"
		}
	}
	return false
}

func (p *Pod) isActive() bool { return controller.IsPodActive(p.Phase, p.DeletionTimestamp != nil) }

// finishedCondition reports whether the Job has Complete or Failed True
// (upstream IsJobFinished).
func (j *Job) finishedCondition() bool {
	for _, c := range j.Status.Conditions {
		if (c.Type == CondComplete || c.Type == CondFailed) && c.Status == "True" {
			return true
		}
	}
	return false
}

// findCondition returns the first condition of type t (upstream
// findConditionByType).
func findCondition(list []JobCondition, t string) *JobCondition {
	for i := range list {
		if list[i].Type == t {
			return &list[i]
		}
	}
	return nil
}

func newCondition(t, status, reason, message string, now time.Time) *JobCondition {
	tm := meta.NewTime(now)
	return &JobCondition{Type: t, Status: status, Reason: reason, Message: message, LastProbeTime: &tm, LastTransitionTime: &tm}
}

// ensureCondition is upstream ensureJobConditionStatus (J20.3).
func ensureCondition(list []JobCondition, t, status, reason, message string, now time.Time) ([]JobCondition, bool) {
	if c := findCondition(list, t); c != nil {
		if c.Status != status || c.Reason != reason || c.Message != message {
			*c = *newCondition(t, status, reason, message, now)
			return list, true
		}
		return list, false
	}
	if status != "False" {
		return append(list, *newCondition(t, status, reason, message, now)), true
	}
	return list, false
}

// syncJob is upstream syncJob for a Job the host found in its cache.
func syncJob(r *request) (*abi.ReconcileResponse, error) {
	job, resp := r.job, abi.NewResponse()
	if mb := job.Spec.ManagedBy; mb != nil && *mb != ControllerName {
		return resp, nil // another controller's Job: total silence (J0.4)
	}
	if job.finishedCondition() {
		// Upstream's sync does nothing for a finished Job; its orphan
		// queue removes the finalizers left on the pods (J0.5, J24). The
		// plugin sees them as children and does it here.
		for _, p := range r.children {
			if p.HasFinalizer && p.Controller != nil && p.Controller.UID == job.Metadata.UID {
				if err := addRemoveFinalizer(&resp.Actions, p); err != nil {
					return nil, err
				}
			}
		}
		return resp, nil
	}
	mode := NonIndexed
	if job.Spec.CompletionMode != nil {
		mode = *job.Spec.CompletionMode
	}
	if mode != NonIndexed && mode != Indexed {
		resp.Event(abi.EventWarning, EventUnknownCompletionMode, "Skipped Job sync because completion mode is unknown")
		return resp, nil
	}
	s := &sync{job: job, obj: r.obj, now: r.now, indexed: mode == Indexed, resp: resp}
	// Creates go before the status write, which counts them as active (as
	// upstream's does once they succeeded). When the previous call's
	// creates failed, they go last instead and are not counted: the status
	// is written even while every create fails (a quota, a template the
	// API server refuses), where upstream writes it with the failed
	// creates subtracted.
	s.createsLast = r.lastError != nil && r.lastError.Op == abi.OpCreate && r.lastError.Kind == "Pod"
	if job.Spec.Completions != nil {
		s.completions, s.hasCompletions = int(*job.Spec.Completions), true
	}
	if err := s.checkSpec(); err != nil {
		return nil, err
	}
	sel, err := meta.LabelSelectorAsSelector(job.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("invalid Job %s/%s: spec.selector: %w", job.Metadata.Namespace, job.Metadata.Name, err)
	}
	if err := s.claim(sel, r.children, r.orphans); err != nil {
		return nil, err
	}
	if err := s.run(); err != nil {
		return nil, err
	}
	if s.createsLast {
		resp.Actions = slices.Concat(s.claims, s.manage, resp.Actions, s.creates)
	} else {
		resp.Actions = slices.Concat(s.claims, s.manage, s.creates, resp.Actions)
	}
	if s.requeue > 0 {
		resp.RequeueAfter(s.requeue)
	}
	return resp, nil
}

// checkSpec refuses what the plugin cannot evaluate. The API server's
// validation keeps such Jobs out; a Job that gets past it (an older server,
// a custom admission) fails the call, which the host reports as a Warning
// Event and retries with backoff, writing nothing.
func (s *sync) checkSpec() error {
	j := s.job
	bad := func(format string, args ...any) error {
		return fmt.Errorf("invalid Job %s/%s: %s", j.Metadata.Namespace, j.Metadata.Name, fmt.Sprintf(format, args...))
	}
	if j.Spec.Selector == nil {
		return bad("spec.selector is required")
	}
	if s.indexed && !s.hasCompletions {
		return bad("spec.completions is required for Indexed completion mode")
	}
	if s.completions < 0 {
		return bad("spec.completions must be >= 0")
	}
	if j.Spec.BackoffLimitPerIndex != nil && !s.indexed {
		return bad("spec.backoffLimitPerIndex requires Indexed completion mode")
	}
	if p := j.Spec.PodFailurePolicy; p != nil {
		for i, r := range p.Rules {
			if (r.OnExitCodes == nil) == (len(r.OnPodConditions) == 0) {
				return bad("spec.podFailurePolicy.rules[%d]: exactly one of onExitCodes and onPodConditions is required", i)
			}
			if r.Action == ActionFailIndex && j.Spec.BackoffLimitPerIndex == nil {
				return bad("spec.podFailurePolicy.rules[%d]: action FailIndex requires backoffLimitPerIndex", i)
			}
		}
	}
	return nil
}

// claim is upstream getPodsForJob (J1): owned pods that match stay, the
// others are released (their tracking finalizer removed with the
// reference); matching orphans are adopted with the tracking finalizer.
// Terminal and terminating pods are claimed too.
func (s *sync) claim(sel labels.Selector, children, orphans []*Pod) error {
	j := s.job
	deleting := j.Metadata.DeletionTimestamp != nil
	for _, p := range children {
		if c := p.Controller; c == nil || c.Kind != "Job" || c.Name != j.Metadata.Name || c.UID != j.Metadata.UID {
			continue
		}
		if sel.MatchesFunc(p.Labels.Get) {
			s.pods = append(s.pods, p)
			continue
		}
		if deleting {
			continue
		}
		var fin []string
		if p.HasFinalizer {
			fin = []string{TrackingFinalizer}
		}
		if err := addPatch(&s.claims, p, controller.ReleasePatch(j.Metadata.UID, p.UID, fin...)); err != nil {
			return err
		}
	}
	for _, p := range orphans {
		if deleting || p.DeletionTimestamp != nil || p.Controller != nil || p.Namespace != j.Metadata.Namespace || !sel.MatchesFunc(p.Labels.Get) {
			continue
		}
		if err := addPatch(&s.claims, p, controller.AdoptPatch(j.ref(), p.UID, TrackingFinalizer)); err != nil {
			return err
		}
		// As upstream: treated as carrying the finalizer for the rest of
		// the sync, so an adopted finished pod is counted now.
		p.HasFinalizer = true
		s.pods = append(s.pods, p)
	}
	return nil
}

func addPatch(to *[]abi.Action, p *Pod, patch []byte) error {
	obj, err := json.Marshal(podRef{APIVersion: "v1", Kind: "Pod", Metadata: podRefMeta{Name: p.Name, Namespace: p.Namespace}})
	if err != nil {
		return err
	}
	*to = append(*to, abi.Action{Op: abi.OpPatch, PatchType: abi.PatchStrategic, Object: obj, Patch: patch})
	return nil
}

type podRef struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   podRefMeta `json:"metadata"`
}

type podRefMeta struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
}

// removeFinalizerPatch is upstream removeTrackingFinalizerPatch.
var removeFinalizerPatch = []byte(`{"metadata":{"$deleteFromPrimitiveList/finalizers":["` + TrackingFinalizer + `"]}}`)

func addRemoveFinalizer(to *[]abi.Action, p *Pod) error { return addPatch(to, p, removeFinalizerPatch) }

func addDelete(to *[]abi.Action, p *Pod) error {
	obj, err := json.Marshal(podRef{APIVersion: "v1", Kind: "Pod", Metadata: podRefMeta{Name: p.Name, Namespace: p.Namespace}})
	if err != nil {
		return err
	}
	*to = append(*to, abi.Action{Op: abi.OpDelete, Object: obj})
	return nil
}

// run is syncJob from the pod classification on (J0.8 steps 3-9).
func (s *sync) run() error {
	j := s.job
	s.status = j.Status
	s.status.Conditions = slices.Clone(j.Status.Conditions)
	if u := j.Status.UncountedTerminatedPods; u != nil {
		s.status.UncountedTerminatedPods = &UncountedTerminatedPods{Succeeded: slices.Clone(u.Succeeded), Failed: slices.Clone(u.Failed)}
	} else {
		s.status.UncountedTerminatedPods = &UncountedTerminatedPods{}
	}
	s.uncountedS, s.uncountedF = setOf(s.status.UncountedTerminatedPods.Succeeded), setOf(s.status.UncountedTerminatedPods.Failed)

	for _, p := range s.pods {
		if p.isActive() {
			s.active = append(s.active, p)
			if p.ready() {
				s.ready++
			}
		}
		if controller.IsPodTerminating(p.Phase, p.DeletionTimestamp != nil) {
			s.terminating++
		}
	}
	active := int32(len(s.active))
	newSucceeded, newFailed := s.newFinishedPods()
	s.succeeded = j.Status.Succeeded + int32(len(newSucceeded)) + int32(len(s.uncountedS))
	s.failed = j.Status.Failed + int32(s.nonIgnoredFailed(newFailed)) + int32(len(s.uncountedF))

	if s.status.StartTime == nil && !s.suspended() {
		t := meta.NewTime(s.now)
		s.status.StartTime = &t
	}

	// Terminal-state decision, in upstream's order (J5).
	backoffLimit := int32(6)
	if j.Spec.BackoffLimit != nil {
		backoffLimit = *j.Spec.BackoffLimit
	} else if j.Spec.BackoffLimitPerIndex != nil {
		backoffLimit = math.MaxInt32
	}
	if c := findCondition(s.status.Conditions, CondSuccessCriteriaMet); c != nil && c.Status == "True" {
		s.finished = c
	}
	if s.finished == nil {
		if ft := findCondition(s.status.Conditions, CondFailureTarget); ft != nil && ft.Status == "True" {
			s.finished = newCondition(CondFailed, "True", ft.Reason, ft.Message, s.now)
		} else if msg := s.failJobMessage(); msg != nil {
			s.finished = newCondition(CondFailureTarget, "True", ReasonPodFailurePolicy, *msg, s.now)
		}
	}
	if s.finished == nil {
		switch {
		case s.failed > backoffLimit || s.pastBackoffLimitOnFailure(backoffLimit):
			s.finished = newCondition(CondFailureTarget, "True", ReasonBackoffLimitExceeded, MessageBackoffLimitExceeded, s.now)
		case s.pastActiveDeadline():
			s.finished = newCondition(CondFailureTarget, "True", ReasonDeadlineExceeded, MessageDeadlineExceeded, s.now)
		case j.Spec.ActiveDeadlineSeconds != nil && !s.suspended():
			s.requeueAfter(time.Duration(*j.Spec.ActiveDeadlineSeconds)*time.Second - s.now.Sub(s.status.StartTime.Time))
		}
	}
	if s.indexed {
		s.prevSucceededIndexes = parseIndexesFromString(j.Status.CompletedIndexes, s.completions)
		var ix []int
		for _, p := range s.pods {
			if p.Phase == PodSucceeded && s.validIndex(p) && p.HasFinalizer {
				ix = append(ix, p.Index)
			}
		}
		s.succeededIndexes = s.prevSucceededIndexes.withOrderedIndexes(sortedUnique(ix))
		s.succeeded = int32(s.succeededIndexes.total())
		if s.hasBackoffLimitPerIndex() {
			s.failedIndexes = s.calculateFailedIndexes()
			if s.finished == nil {
				if m := j.Spec.MaxFailedIndexes; m != nil && s.failedIndexes.total() > int(*m) {
					s.finished = newCondition(CondFailureTarget, "True", ReasonMaxFailedIndexesExceeded, MessageMaxFailedIndexesExceeded, s.now)
				} else if n := s.failedIndexes.total(); n > 0 && n+s.succeededIndexes.total() >= s.completions {
					s.finished = newCondition(CondFailureTarget, "True", ReasonFailedIndexes, MessageFailedIndexes, s.now)
				}
			}
			s.delayed = s.delayedPods()
		}
		if s.finished == nil {
			if msg, ok := matchSuccessPolicy(j.Spec.SuccessPolicy, s.completions, s.succeededIndexes); ok {
				s.finished = newCondition(CondSuccessCriteriaMet, "True", ReasonSuccessPolicy, msg, s.now)
			}
		}
	}

	suspendChanged := false
	if s.finished != nil {
		// J6: every active pod goes, finalizers kept (they are counted as
		// failed next). If a delete fails the host stops before the
		// status write, as upstream drops the condition for the sync.
		for _, p := range s.active {
			if err := addDelete(&s.manage, p); err != nil {
				return err
			}
			if p.ready() {
				s.ready--
			}
		}
		s.terminating += active
		active = 0
	} else {
		manageCalled := false
		if j.Metadata.DeletionTimestamp == nil {
			var err error
			if active, err = s.manageJob(); err != nil {
				return err
			}
			manageCalled = true
		}
		var complete bool
		if !s.hasCompletions {
			complete = s.succeeded > 0 && active == 0
		} else {
			complete = s.succeeded >= int32(s.completions) && active == 0
		}
		switch {
		case complete:
			s.finished = newCondition(CondSuccessCriteriaMet, "True", ReasonCompletionsReached, MessageCompletionsReached, s.now)
		case manageCalled && s.suspended():
			if s.status.Conditions, suspendChanged = ensureCondition(s.status.Conditions, CondSuspended, "True", ReasonJobSuspended, MessageJobSuspended, s.now); suspendChanged {
				s.resp.Event(abi.EventNormal, EventSuspended, MessageJobSuspended)
				s.status.StartTime = nil
			}
		case manageCalled:
			if s.status.Conditions, suspendChanged = ensureCondition(s.status.Conditions, CondSuspended, "False", ReasonJobResumed, MessageJobResumed, s.now); suspendChanged {
				s.resp.Event(abi.EventNormal, EventResumed, MessageJobResumed)
				t := meta.NewTime(s.now)
				s.status.StartTime = &t
			}
		}
	}

	needsFlush := suspendChanged || active != j.Status.Active || !ptrEqual(&s.ready, j.Status.Ready) || !ptrEqual(&s.terminating, j.Status.Terminating)
	s.status.Active = active
	ready, terminating := s.ready, s.terminating
	s.status.Ready, s.status.Terminating = &ready, &terminating
	return s.track(needsFlush)
}

func ptrEqual(a, b *int32) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func setOf(uids []string) map[string]bool {
	m := make(map[string]bool, len(uids))
	for _, u := range uids {
		m[u] = true
	}
	return m
}

func sortedUnique(ix []int) []int {
	slices.Sort(ix)
	return slices.Compact(ix)
}

// newFinishedPods is upstream getNewFinishedPods (J4.1).
func (s *sync) newFinishedPods() (succeeded, failed []*Pod) {
	for _, p := range s.pods {
		if !p.HasFinalizer || (s.indexed && !s.validIndex(p)) {
			continue
		}
		if p.Phase == PodSucceeded && !s.uncountedS[p.UID] {
			succeeded = append(succeeded, p)
		}
		if s.isFailed(p) && !s.uncountedF[p.UID] {
			failed = append(failed, p)
		}
	}
	return succeeded, failed
}

// nonIgnoredFailed counts the failures no Ignore rule exempts.
func (s *sync) nonIgnoredFailed(failed []*Pod) int {
	n := len(failed)
	if pfp := s.job.Spec.PodFailurePolicy; pfp != nil {
		for _, p := range failed {
			if _, count, _ := matchPodFailurePolicy(pfp, p); !count {
				n--
			}
		}
	}
	return n
}

// failJobMessage is upstream getFailJobMessage (J5.3).
func (s *sync) failJobMessage() *string {
	pfp := s.job.Spec.PodFailurePolicy
	if pfp == nil {
		return nil
	}
	for _, p := range s.pods {
		if s.isFailed(p) {
			if msg, _, _ := matchPodFailurePolicy(pfp, p); msg != nil {
				return msg
			}
		}
	}
	return nil
}

// pastBackoffLimitOnFailure is J16.2: restarts of Running and Pending pods
// under restartPolicy OnFailure.
func (s *sync) pastBackoffLimitOnFailure(limit int32) bool {
	if s.templateRestartPolicy() != "OnFailure" {
		return false
	}
	var restarts int32
	for _, p := range s.pods {
		if p.Phase == PodRunning || p.Phase == PodPending {
			for _, c := range p.InitContainerStatuses {
				restarts += c.RestartCount
			}
			for _, c := range p.ContainerStatuses {
				restarts += c.RestartCount
			}
		}
	}
	if limit == 0 {
		return restarts > 0
	}
	return restarts >= limit
}

func (s *sync) templateRestartPolicy() string {
	var spec struct {
		RestartPolicy string `json:"restartPolicy"`
	}
	_ = json.Unmarshal(s.job.Spec.Template.Spec, &spec) // a bad template: no policy
	return spec.RestartPolicy
}

// pastActiveDeadline is J5.5 over the (possibly just set) startTime.
func (s *sync) pastActiveDeadline() bool {
	ads := s.job.Spec.ActiveDeadlineSeconds
	if ads == nil || s.status.StartTime == nil || s.suspended() {
		return false
	}
	return s.now.Sub(s.status.StartTime.Time) >= time.Duration(*ads)*time.Second
}

// calculateFailedIndexes is J12.3.
func (s *sync) calculateFailedIndexes() *orderedIntervals {
	var prev orderedIntervals
	if fi := s.job.Status.FailedIndexes; fi != nil {
		prev = parseIndexesFromString(*fi, s.completions)
	}
	var ix []int
	for _, p := range s.pods {
		if s.validIndex(p) && p.HasFinalizer && s.isIndexFailed(p) {
			ix = append(ix, p.Index)
		}
	}
	out := prev.withOrderedIndexes(sortedUnique(ix))
	return &out
}

// isIndexFailed is J12.2.
func (s *sync) isIndexFailed(p *Pod) bool {
	counted := false
	if s.isFailed(p) {
		if pfp := s.job.Spec.PodFailurePolicy; pfp != nil {
			_, count, action := matchPodFailurePolicy(pfp, p)
			if action != nil && *action == ActionFailIndex {
				return true
			}
			counted = count
		} else {
			counted = true
		}
	}
	return counted && p.FailureCount >= *s.job.Spec.BackoffLimitPerIndex
}

// countsAsFailure: the pod failure policy (if any) counts p's failure.
func (s *sync) countsAsFailure(p *Pod) bool {
	if pfp := s.job.Spec.PodFailurePolicy; pfp != nil {
		_, count, _ := matchPodFailurePolicy(pfp, p)
		return count
	}
	return true
}

// manageJob is upstream manageJob (J7): it returns the active count the
// status reports (pods created in this call included, deleted excluded).
func (s *sync) manageJob() (int32, error) {
	j := s.job
	active := int32(len(s.active))
	parallelism := int32(1)
	if j.Spec.Parallelism != nil {
		parallelism = *j.Spec.Parallelism
	}
	if s.suspended() {
		return active - s.deletePods(activePodsForRemoval(s.active, len(s.active), s.indexed, s.completions)), nil
	}
	var wantActive int32
	switch {
	case !s.hasCompletions && s.succeeded > 0:
		wantActive = active
	case !s.hasCompletions:
		wantActive = parallelism
	default:
		wantActive = max(0, min(int32(s.completions)-s.succeeded, parallelism))
	}
	rmAtLeast := max(active-wantActive, 0)
	toDelete := activePodsForRemoval(s.active, int(rmAtLeast), s.indexed, s.completions)
	if len(toDelete) > MaxPodCreateDeletePerSync {
		toDelete = toDelete[:MaxPodCreateDeletePerSync]
	}
	if len(toDelete) > 0 {
		// Deletion takes precedence: no creates in the same call.
		return active - s.deletePods(toDelete), nil
	}
	var terminatingToWait int32
	if s.onlyReplaceFailed() {
		terminatingToWait = s.terminating
	}
	diff := wantActive - terminatingToWait - active
	if diff <= 0 {
		return active, nil
	}
	if !s.hasBackoffLimitPerIndex() {
		if rem := remainingBackoff(s.backoffRecord(), s.now); rem > 0 {
			s.requeueAfter(max(rem, time.Second))
			return active, nil
		}
	}
	diff = min(diff, MaxPodCreateDeletePerSync)
	var indexes []int
	if s.indexed {
		indexes = firstPendingIndexes(s.occupiedIndexes(), s.succeededIndexes, s.failedOrNone(), int(diff), s.completions)
		if s.hasBackoffLimitPerIndex() {
			var now []int
			var minRem time.Duration
			for _, ix := range indexes {
				rem := time.Duration(0)
				if p := s.delayed[ix]; p != nil {
					rem = indexRemainingBackoff(p, s.now)
				}
				if rem == 0 {
					now = append(now, ix)
				} else if minRem == 0 || rem < minRem {
					minRem = rem
				}
			}
			if len(now) == 0 && minRem > 0 {
				s.requeueAfter(max(minRem, time.Second))
				return active, nil
			}
			indexes = now
		}
		diff = int32(len(indexes))
	}
	if diff <= 0 {
		return active, nil
	}
	if err := s.createPods(int(diff), indexes); err != nil {
		return 0, err
	}
	if s.createsLast {
		return active, nil
	}
	return active + diff, nil
}

func (s *sync) failedOrNone() orderedIntervals {
	if s.failedIndexes == nil {
		return nil
	}
	return *s.failedIndexes
}

// occupiedIndexes are the indexes firstPendingIndexes skips besides the
// completed and failed ones: those of active pods and, with
// podReplacementPolicy Failed, of terminating pods (J11.4).
func (s *sync) occupiedIndexes() []int {
	var ix []int
	for _, p := range s.pods {
		if p.Index < 0 {
			continue
		}
		if p.isActive() || (s.onlyReplaceFailed() && controller.IsPodTerminating(p.Phase, p.DeletionTimestamp != nil)) {
			ix = append(ix, p.Index)
		}
	}
	return sortedUnique(ix)
}

// deletePods is J7.6 for each pod: the finalizer patch first, then the
// DELETE, so a pod removed this way is never counted. It returns how many
// pods it removes and adjusts ready and terminating.
func (s *sync) deletePods(pods []*Pod) int32 {
	var patches, deletes []abi.Action
	for _, p := range pods {
		if p.HasFinalizer {
			_ = addRemoveFinalizer(&patches, p)
		}
		_ = addDelete(&deletes, p)
		if p.ready() {
			s.ready--
		}
	}
	s.manage = slices.Concat(s.manage, patches, deletes)
	n := int32(len(pods))
	s.terminating += n
	return n
}

// backoffRecord derives the global pod recreation backoff from the pods:
// upstream keeps it in memory from the pods it saw finish with the
// tracking finalizer (J10). A failed pod counts while it carries the
// finalizer (not counted yet, as upstream's new failures), or once counted
// while it stays (no deletionTimestamp). A pod being deleted without the
// finalizer does not: the controller itself removed it (scale-down,
// suspension: upstream never counts those), or someone deletes it.
func (s *sync) backoffRecord() backoffRecord {
	var succeeded, failed []*Pod
	for _, p := range s.pods {
		switch {
		case p.Phase == PodSucceeded:
			succeeded = append(succeeded, p)
		case s.isFailed(p) && (p.HasFinalizer || p.DeletionTimestamp == nil):
			failed = append(failed, p)
		}
	}
	return newBackoffRecord(succeeded, failed)
}

// delayedPods is J12.4.
func (s *sync) delayedPods() map[int]*Pod {
	activeIx := map[int]bool{}
	for _, p := range s.active {
		if p.Index >= 0 {
			activeIx[p.Index] = true
		}
	}
	return delayedFailedPods(s.pods, s.completions, func(ix int) bool {
		return activeIx[ix] || s.succeededIndexes.has(ix) || s.failedOrNone().has(ix)
	}, s.isFailed)
}

// track is upstream trackJobStatusAndRemoveFinalizers (J19): write 1
// records newly finished pods (and the interim condition), the finalizer
// patches follow, and write 2 counts the pods whose finalizer went and
// adds the final condition. The host applies them in this order and stops
// at the first failure: a UID is persisted in uncountedTerminatedPods
// before its finalizer goes, and moves to a counter only in a write that
// follows the successful removal.
func (s *sync) track(needsFlush bool) error {
	st := &s.status
	if s.indexed {
		sort.SliceStable(s.pods, func(a, b int) bool { return s.pods[a].Index < s.pods[b].Index })
	}
	withFinalizer := map[string]bool{}
	for _, p := range s.pods {
		if p.HasFinalizer {
			withFinalizer[p.UID] = true
		}
	}
	if cleanUncounted(st, withFinalizer) {
		needsFlush = true
	}
	var toFinalize []*Pod
	var newSucceededIndexes []int
	reachedMax := false
	unc := st.UncountedTerminatedPods
	for _, p := range s.pods {
		if !p.HasFinalizer {
			continue
		}
		failed := s.isFailed(p)
		if !s.canRemoveFinalizer(p, failed) {
			continue
		}
		toFinalize = append(toFinalize, p)
		if p.Phase == PodSucceeded && !s.uncountedF[p.UID] {
			if s.indexed {
				if s.validIndex(p) && !s.prevSucceededIndexes.has(p.Index) {
					newSucceededIndexes = append(newSucceededIndexes, p.Index)
					needsFlush = true
				}
			} else if !s.uncountedS[p.UID] {
				needsFlush = true
				unc.Succeeded = append(unc.Succeeded, p.UID)
			}
		} else if failed || (s.finished != nil && s.finished.Type != CondSuccessCriteriaMet) {
			// A finishing failure counts every unfinished pod as failed.
			if !s.uncountedF[p.UID] && (!s.indexed || s.validIndex(p)) && s.countsAsFailure(p) {
				needsFlush = true
				unc.Failed = append(unc.Failed, p.UID)
			}
		}
		if len(newSucceededIndexes)+len(unc.Succeeded)+len(unc.Failed) >= MaxUncountedPods {
			reachedMax = true
			break
		}
	}
	if s.indexed {
		s.succeededIndexes = s.succeededIndexes.withOrderedIndexes(sortedUnique(newSucceededIndexes))
		if str := s.succeededIndexes.String(); str != st.CompletedIndexes {
			needsFlush = true
			st.CompletedIndexes = str
		}
		st.Succeeded = int32(s.succeededIndexes.total())
		var failedStr *string
		if s.failedIndexes != nil {
			f := s.failedIndexes.String()
			failedStr = &f
		}
		if (failedStr == nil) != (st.FailedIndexes == nil) || (failedStr != nil && *failedStr != *st.FailedIndexes) {
			st.FailedIndexes = failedStr
			needsFlush = true
		}
	}
	if s.finished != nil && s.finished.Type == CondFailureTarget {
		st.Conditions = append(st.Conditions, *s.finished)
		needsFlush = true
		s.finished = newCondition(CondFailed, "True", s.finished.Reason, s.finished.Message, s.now)
	}
	if s.finished != nil && s.finished.Type == CondSuccessCriteriaMet {
		if c := findCondition(st.Conditions, CondSuccessCriteriaMet); c == nil || c.Status != "True" {
			st.Conditions = append(st.Conditions, *s.finished)
			needsFlush = true
		}
		s.finished = newCondition(CondComplete, "True", s.finished.Reason, s.finished.Message, s.now)
	}
	if needsFlush {
		if err := s.writeStatus(); err != nil {
			return err
		}
		needsFlush = false
	}
	for _, p := range toFinalize {
		if err := addRemoveFinalizer(&s.resp.Actions, p); err != nil {
			return err
		}
		delete(withFinalizer, p.UID)
	}
	if cleanUncounted(st, withFinalizer) {
		needsFlush = true
	}
	if !reachedMax && s.enactFinished() {
		needsFlush = true
		s.finishEvents()
	}
	if reachedMax {
		// Upstream relies on the events of its own writes to come back;
		// ask for it.
		s.requeueAfter(time.Second)
	}
	if needsFlush {
		return s.writeStatus()
	}
	return nil
}

// canRemoveFinalizer is upstream canRemoveFinalizer (J19.2).
func (s *sync) canRemoveFinalizer(p *Pod, failed bool) bool {
	if s.job.Metadata.DeletionTimestamp != nil || s.finished != nil || p.Phase == PodSucceeded {
		return true
	}
	if !failed {
		return false
	}
	if s.hasBackoffLimitPerIndex() && p.Index >= 0 {
		if d, ok := s.delayed[p.Index]; ok && d.UID == p.UID {
			return false
		}
	}
	return true
}

// cleanUncounted moves the uncounted UIDs of pods that no longer carry the
// finalizer into the counters (upstream cleanUncountedPodsWithoutFinalizers).
func cleanUncounted(st *JobStatus, withFinalizer map[string]bool) bool {
	u := st.UncountedTerminatedPods
	keep := func(uids []string) []string {
		var out []string
		for _, uid := range uids {
			if withFinalizer[uid] {
				out = append(out, uid)
			}
		}
		return out
	}
	changed := false
	if k := keep(u.Succeeded); len(k) != len(u.Succeeded) {
		st.Succeeded += int32(len(u.Succeeded) - len(k))
		u.Succeeded, changed = k, true
	}
	if k := keep(u.Failed); len(k) != len(u.Failed) {
		st.Failed += int32(len(u.Failed) - len(k))
		u.Failed, changed = k, true
	}
	return changed
}

// enactFinished is upstream enactJobFinished (J21.1).
func (s *sync) enactFinished() bool {
	if s.finished == nil {
		return false
	}
	st := &s.status
	if len(st.UncountedTerminatedPods.Succeeded)+len(st.UncountedTerminatedPods.Failed) > 0 || s.terminating > 0 {
		return false
	}
	f := s.finished
	st.Conditions, _ = ensureCondition(st.Conditions, f.Type, f.Status, f.Reason, f.Message, s.now)
	if f.Type == CondComplete {
		t := meta.NewTime(s.now)
		st.CompletionTime = &t
	}
	return true
}

// finishEvents are recorded once the final write applied (J21.2).
func (s *sync) finishEvents() {
	add := func(t abi.EventType, reason, msg string) {
		s.resp.Events = append(s.resp.Events, abi.Event{Type: t, Reason: reason, Message: msg, AfterApply: true})
	}
	if s.finished.Type == CondComplete {
		if s.hasCompletions && s.status.Succeeded > int32(s.completions) {
			add(abi.EventWarning, EventTooManySucceededPods, "Too many succeeded pods running after completion count reached")
		}
		add(abi.EventNormal, EventCompleted, "Job completed")
		return
	}
	add(abi.EventWarning, s.finished.Reason, s.finished.Message)
}

// writeStatus appends a status write of the Job with s.status. A second
// write in the same response goes with the resourceVersion the first
// returned (the host chains writes of the primary).
func (s *sync) writeStatus() error {
	raw, err := json.Marshal(&s.status)
	if err != nil {
		return err
	}
	v, err := fastjson.ParseBytes(raw)
	if err != nil {
		return err
	}
	s.obj.Set("status", v)
	s.resp.Actions = append(s.resp.Actions, abi.Action{Op: abi.OpUpdateStatus, Object: s.obj.MarshalTo(nil)})
	return nil
}

// createPods appends n pod creates (Indexed: one per index, ascending).
func (s *sync) createPods(n int, indexes []int) error {
	j := s.job
	tmpl := j.Spec.Template
	finalizers := tmpl.Metadata.Finalizers
	if !slices.Contains(finalizers, TrackingFinalizer) {
		finalizers = append(slices.Clone(finalizers), TrackingFinalizer)
	}
	owner := []meta.OwnerReference{meta.NewControllerRef(j.ref())}
	if !s.indexed {
		obj, err := json.Marshal(newPod{APIVersion: "v1", Kind: "Pod", Metadata: newPodMeta{
			GenerateName: j.Metadata.Name + "-", Namespace: j.Metadata.Namespace,
			Labels: tmpl.Metadata.Labels, Annotations: tmpl.Metadata.Annotations, Finalizers: finalizers, OwnerReferences: owner,
		}, Spec: specOrEmpty(tmpl.Spec)})
		if err != nil {
			return err
		}
		for range n {
			s.creates = append(s.creates, abi.Action{Op: abi.OpCreate, Object: obj})
		}
		return nil
	}
	spec, err := indexedSpec(tmpl.Spec)
	if err != nil {
		return fmt.Errorf("pod template: %w", err)
	}
	for _, ix := range indexes {
		lbls := cloneMap(tmpl.Metadata.Labels)
		ann := cloneMap(tmpl.Metadata.Annotations)
		lbls[CompletionIndexAnnotation] = strconv.Itoa(ix)
		ann[CompletionIndexAnnotation] = strconv.Itoa(ix)
		if s.hasBackoffLimitPerIndex() {
			count, ignored := s.newIndexFailureCounts(s.delayed[ix])
			ann[IndexFailureCountAnnotation] = strconv.Itoa(int(count))
			if ignored > 0 {
				ann[IndexIgnoredFailureCountAnnotation] = strconv.Itoa(int(ignored))
			}
		}
		spec["hostname"] = fmt.Sprintf("%s-%d", j.Metadata.Name, ix)
		rawSpec, err := json.Marshal(spec)
		if err != nil {
			return err
		}
		obj, err := json.Marshal(newPod{APIVersion: "v1", Kind: "Pod", Metadata: newPodMeta{
			GenerateName: indexedPodName(j.Metadata.Name, ix), Namespace: j.Metadata.Namespace,
			Labels: lbls, Annotations: ann, Finalizers: finalizers, OwnerReferences: owner,
		}, Spec: rawSpec})
		if err != nil {
			return err
		}
		s.creates = append(s.creates, abi.Action{Op: abi.OpCreate, Object: obj})
	}
	return nil
}

// newIndexFailureCounts is J12.6: the replacement's annotations from the
// failed pod it replaces.
func (s *sync) newIndexFailureCounts(replaced *Pod) (count, ignored int32) {
	if replaced == nil {
		return 0, 0
	}
	count, ignored = replaced.FailureCount, replaced.IgnoredFailureCount
	if s.countsAsFailure(replaced) {
		count++
	} else {
		ignored++
	}
	return count, ignored
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+2)
	for k, v := range m {
		out[k] = v
	}
	return out
}

func specOrEmpty(spec json.RawMessage) json.RawMessage {
	if len(spec) == 0 {
		return json.RawMessage("{}")
	}
	return spec
}

// indexedSpec decodes the template spec and adds JOB_COMPLETION_INDEX to
// every init and regular container that lacks it (J8.1).
func indexedSpec(raw json.RawMessage) (map[string]any, error) {
	spec := map[string]any{}
	if len(raw) > 0 {
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber() // int64 fields stay exact
		if err := d.Decode(&spec); err != nil {
			return nil, err
		}
	}
	env := map[string]any{"name": CompletionIndexEnv, "valueFrom": map[string]any{"fieldRef": map[string]any{
		"fieldPath": "metadata.labels['" + CompletionIndexAnnotation + "']",
	}}}
	for _, key := range []string{"initContainers", "containers"} {
		cs, _ := spec[key].([]any)
		for _, c := range cs {
			cm, ok := c.(map[string]any)
			if !ok {
				continue
			}
			vars, _ := cm["env"].([]any)
			has := false
			for _, v := range vars {
				if vm, ok := v.(map[string]any); ok && vm["name"] == CompletionIndexEnv {
					has = true
				}
			}
			if !has {
				cm["env"] = append(vars, env)
			}
		}
	}
	return spec, nil
}

type newPod struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Metadata   newPodMeta      `json:"metadata"`
	Spec       json.RawMessage `json:"spec"`
}

type newPodMeta struct {
	GenerateName    string                `json:"generateName"`
	Namespace       string                `json:"namespace"`
	Labels          map[string]string     `json:"labels,omitempty"`
	Annotations     map[string]string     `json:"annotations,omitempty"`
	Finalizers      []string              `json:"finalizers,omitempty"`
	OwnerReferences []meta.OwnerReference `json:"ownerReferences"`
}
