package job

import "time"

// Pod-recreation backoff (J10, J12.5; upstream backoff_utils.go).
const (
	// DefaultPodFailureBackoff is the delay after the first failure
	// (DefaultJobPodFailureBackOff, JC:77).
	DefaultPodFailureBackoff = 10 * time.Second
	// MaxPodFailureBackoff caps the doubled delay (MaxJobPodFailureBackOff,
	// JC:79): 10 minutes, so the curve is 10s, 20s, ... 320s, 600s, 600s.
	MaxPodFailureBackoff = 10 * time.Minute
)

// finishTime is when a finished pod finished, upstream getFinishedTime
// (J3.4, BO:163-234), first of:
//  1. the containers: the latest terminated.finishedAt of the regular
//     containers, then folded with the sidecars (init containers listed
//     in p.Sidecars, statuses matched by name); a pass that meets an
//     unterminated container or a zero finishedAt yields "none" — so an
//     unterminated regular container with terminated sidecars yields the
//     sidecars' time, and a pod without container statuses yields none;
//  2. the lastTransitionTime of the first Ready condition when it is
//     False and that time is non-zero;
//  3. deletionTimestamp minus deletionGracePeriodSeconds;
//  4. creationTimestamp.
func finishTime(p *Pod) time.Time {
	if t := containersFinishTime(p); t != nil {
		return *t
	}
	// apipod.GetPodCondition: the first condition of type Ready.
	for _, c := range p.Conditions {
		if c.Type == "Ready" {
			if c.Status == "False" && !c.LastTransitionTime.IsZero() {
				return c.LastTransitionTime
			}
			break
		}
	}
	if p.DeletionTimestamp != nil {
		var grace int64
		if p.DeletionGracePeriodSeconds != nil {
			grace = *p.DeletionGracePeriodSeconds
		}
		return p.DeletionTimestamp.Add(-time.Duration(grace) * time.Second)
	}
	return p.CreationTimestamp
}

// containersFinishTime is upstream getFinishTimeFromContainers
// (BO:186-202): latestFinishTime over the regular container statuses,
// then again over the sidecar statuses starting from that result. Each
// pass returns nil as soon as one of its containers is not terminated or
// has a zero finishedAt, discarding what came before (BO:204-219).
func containersFinishTime(p *Pod) *time.Time {
	t := latestFinish(nil, p.ContainerStatuses, nil)
	return latestFinish(t, p.InitContainerStatuses, func(name string) bool { return isSidecar(p, name) })
}

// latestFinish is upstream latestFinishTime (BO:204-219); keep, when not
// nil, selects the statuses looked at.
func latestFinish(prev *time.Time, statuses []ContainerStatus, keep func(name string) bool) *time.Time {
	out := prev
	for i := range statuses {
		c := &statuses[i]
		if keep != nil && !keep(c.Name) {
			continue
		}
		if c.Terminated == nil || c.Terminated.FinishedAt.IsZero() {
			return nil
		}
		if out == nil || out.Before(c.Terminated.FinishedAt) {
			t := c.Terminated.FinishedAt
			out = &t
		}
	}
	return out
}

// isSidecar reports whether name is one of p's init containers with
// restartPolicy Always.
func isSidecar(p *Pod, name string) bool {
	for _, s := range p.Sidecars {
		if s == name {
			return true
		}
	}
	return false
}

// backoffRecord is upstream's backoffRecord (BO:33-37) without the key:
// the failures since the last success and the time of the latest one
// (nil when there is none).
type backoffRecord struct {
	failuresAfterLastSuccess int32
	lastFailureTime          *time.Time
}

// newBackoffRecord derives the global pod-recreation backoff (J10.1) from
// the Job's finished pods: succeeded are the pods in phase Succeeded,
// failed the pods the caller deems failed (J3.2) — Ignored failures
// (podFailurePolicy) included, as upstream includes them. It gives what
// upstream newBackoffRecord (BO:93-150) gives with an empty store when
// every pod is "new": without a success, every failure counts and
// lastFailureTime is the latest finish time (J3.4) of them; with one, only
// the failures finishing strictly after the latest success count (a tie
// does not), lastFailureTime being the latest of those, nil if none.
// Upstream sorts both lists by finish time and walks the failures back
// from the latest; counting the failures after the latest success and
// taking their maximum is the same result, without reordering the
// caller's slices.
//
// Deliberate approximation: upstream keeps the record in memory and adds
// each sync's newly finished pods (those still carrying the tracking
// finalizer) to it; the plugin has no memory between calls, so the caller
// passes ALL the finished pods of the Job it is shown, with or without the
// finalizer. Upstream counts the failures since the last success seen by
// this process; we count the failed pods still present that finished
// after the last success; they agree while the pods exist (finished pods
// are kept until the Job is deleted unless someone deletes them). Where
// they differ: a deleted failed pod no longer counts here, and a
// controller restart, which loses upstream's record, loses nothing here.
// One choice is the caller's: under podReplacementPolicy
// TerminatingOrFailed, J3.2 calls any pod being deleted "failed", but a
// pod the controller deleted for scale-down or suspension lost its
// finalizer first, so upstream never counted it; such pods (no finalizer,
// not in phase Failed, being deleted) are best left out of failed.
func newBackoffRecord(succeeded, failed []*Pod) backoffRecord {
	var rec backoffRecord
	if len(failed) == 0 {
		return rec
	}
	var lastSuccess time.Time
	for i, p := range succeeded {
		if t := finishTime(p); i == 0 || t.After(lastSuccess) {
			lastSuccess = t
		}
	}
	for _, p := range failed {
		t := finishTime(p)
		if len(succeeded) > 0 && !t.After(lastSuccess) {
			continue
		}
		rec.failuresAfterLastSuccess++
		if rec.lastFailureTime == nil || t.After(*rec.lastFailureTime) {
			rec.lastFailureTime = &t
		}
	}
	return rec
}

// remainingBackoff is how long pod creation must still wait under the
// global backoff (J10.2; upstream backoffRecord.getRemainingTime with
// DefaultJobPodFailureBackOff and MaxJobPodFailureBackOff, BO:236-238,
// JC:1826): 0 without failures, else 10s·2^(n−1) capped at 10 min, minus
// the time since the last failure, 0 once that has passed.
func remainingBackoff(rec backoffRecord, now time.Time) time.Duration {
	return remainingForFailures(DefaultPodFailureBackoff, MaxPodFailureBackoff, rec.failuresAfterLastSuccess, rec.lastFailureTime, now)
}

// indexRemainingBackoff is the per-index backoff (J12.5; upstream
// getRemainingTimePerIndex, BO:245-253): delayed is the index's pod whose
// finalizer removal is delayed (delayedFailedPods), nil when there is none
// (then 0). The failure count is its failure-count plus its ignored-count
// annotation plus one (int32 arithmetic, as upstream), from its finish
// time (J3.4).
func indexRemainingBackoff(delayed *Pod, now time.Time) time.Duration {
	return indexRemainingFor(DefaultPodFailureBackoff, MaxPodFailureBackoff, delayed, now)
}

// indexRemainingFor is indexRemainingBackoff with the base and the cap as
// parameters (upstream getRemainingTimePerIndex takes them too).
func indexRemainingFor(base, maxDelay time.Duration, delayed *Pod, now time.Time) time.Duration {
	if delayed == nil {
		return 0
	}
	t := finishTime(delayed)
	return remainingForFailures(base, maxDelay, absoluteIndexFailures(delayed)+1, &t, now)
}

// indexesToCreateNow splits the pending indexes of a Job with
// backoffLimitPerIndex (J12.5; upstream
// getPodCreationInfoForIndependentIndexes, JC:1966-1984, JC:1845): the indexes
// whose per-index backoff has passed (delayed maps an index to its delayed
// pod, see delayedFailedPods), in the given order; when there is none,
// the smallest remaining backoff of the others (0 for no indexes). When
// some index may start now the waiting ones get no wait (no requeue).
func indexesToCreateNow(indexes []int, delayed map[int]*Pod, now time.Time) ([]int, time.Duration) {
	var ready []int
	var minWait *time.Duration
	for _, ix := range indexes {
		if rem := indexRemainingBackoff(delayed[ix], now); rem == 0 {
			ready = append(ready, ix)
		} else if minWait == nil || rem < *minWait {
			minWait = &rem
		}
	}
	if len(ready) > 0 || minWait == nil {
		return ready, 0
	}
	return ready, *minWait
}

// remainingForFailures is upstream getRemainingTimeForFailuresCount
// (BO:255-276) with the base and the cap as parameters: 0 for no
// failures; else base doubled once per failure after the first, stopping
// at the cap as soon as it reaches it (a base above the cap is not
// lowered), minus now − last; 0 when that is not positive. A last failure
// in the future makes the wait longer than the delay, as upstream. A nil
// last with failures (upstream would dereference it) is taken as no wait.
func remainingForFailures(base, maxDelay time.Duration, failures int32, last *time.Time, now time.Time) time.Duration {
	if failures == 0 || last == nil {
		return 0
	}
	d := base
	for i := 1; i < int(failures); i++ {
		d *= 2
		if d >= maxDelay {
			d = maxDelay
			break
		}
	}
	elapsed := now.Sub(*last)
	if d < elapsed {
		return 0
	}
	return d - elapsed
}

// absoluteIndexFailures is upstream getIndexAbsoluteFailureCount
// (IDX:422-424): a pod's failure count plus its ignored failure count, in
// int32 like upstream (a sum beyond MaxInt32 wraps there too).
func absoluteIndexFailures(p *Pod) int32 {
	return p.FailureCount + p.IgnoredFailureCount
}

// delayedFailedPods is upstream getPodsWithDelayedDeletionPerIndex (J12.4,
// IDX:321-346): for a Job with backoffLimitPerIndex, the failed pod of each
// index whose finalizer removal is held back until the index gets a
// replacement pod, so that the replacement can inherit its failure
// counts (J12.6).
//
// pods are all the Job's pods (claimed, any state); completions is
// spec.completions; indexDone reports the indexes that are completed or
// failed (J4.3, J12.3); isFailed is the caller's "failed" (J3.2) — a
// caller that tracks finalizer removals in flight (upstream skips its
// expectedRmFinalizers) excludes those pods there. Indexes held by an
// active pod (J3.1) of pods are skipped: the replacement already exists.
//
// A candidate carries the tracking finalizer, has an index below
// completions, is failed, and its index is neither done nor active. Per
// index, candidates are taken in the order of pods: the first is picked,
// and a later one replaces the pick when its absolute failure count
// (failure + ignored) is not lower AND it does not finish earlier (J3.4).
// So a higher count that finished earlier does not replace the pick, and
// the result can depend on the order of pods, as upstream's depends on
// its informer's.
func delayedFailedPods(pods []*Pod, completions int, indexDone func(ix int) bool, isFailed func(*Pod) bool) map[int]*Pod {
	active := map[int]bool{}
	for _, p := range pods {
		if p.Index >= 0 && p.DeletionTimestamp == nil && p.Phase != PodSucceeded && p.Phase != PodFailed {
			active[p.Index] = true
		}
	}
	out := map[int]*Pod{}
	for _, p := range pods {
		if !p.HasFinalizer || p.Index < 0 || p.Index >= completions || !isFailed(p) {
			continue
		}
		if active[p.Index] || (indexDone != nil && indexDone(p.Index)) {
			continue
		}
		cur, ok := out[p.Index]
		if !ok || (absoluteIndexFailures(cur) <= absoluteIndexFailures(p) && !finishTime(p).Before(finishTime(cur))) {
			out[p.Index] = p
		}
	}
	return out
}
