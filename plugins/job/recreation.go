package job

import (
	"slices"
	"time"
)

// Pod recreation backoff (upstream backoff_utils.go).
const (
	// DefaultPodFailureBackoff is the delay after the first failure
	// (DefaultJobPodFailureBackOff, JC:77).
	DefaultPodFailureBackoff = 10 * time.Second
	// MaxPodFailureBackoff caps it (MaxJobPodFailureBackOff, JC:79).
	MaxPodFailureBackoff = 10 * time.Minute
)

// backoffRecord is upstream's: failures since the last success and the
// time of the last of them.
type backoffRecord struct {
	failuresAfterLastSuccess int32
	lastFailureTime          *time.Time
}

// newBackoffRecord derives the global recreation backoff from the Job's
// finished pods. Upstream keeps it in memory, adding the failures of each
// sync's newly finished pods and resetting it at a success (BO:93-150); a
// plugin has no memory, so it counts the failed pods it is shown that
// finished strictly after the latest succeeded one (all of them without a
// success). The two agree while the pods exist — finished pods are kept
// until their Job is deleted — and where upstream forgets its record on a
// restart, this one does not. failed are the pods that count as failed
// (isFailed), Ignored failures included, as upstream's are.
func newBackoffRecord(succeeded, failed []*Pod) backoffRecord {
	var rec backoffRecord
	if len(failed) == 0 {
		return rec
	}
	var lastSuccess time.Time
	for _, p := range succeeded {
		if t := finishTime(p); t.After(lastSuccess) {
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

// remainingBackoff is how long pod creation waits (J10.2).
func remainingBackoff(rec backoffRecord, now time.Time) time.Duration {
	return remainingForFailures(DefaultPodFailureBackoff, MaxPodFailureBackoff, rec.failuresAfterLastSuccess, rec.lastFailureTime, now)
}

// indexRemainingBackoff is the per-index wait (J12.5): the delayed failed
// pod's absolute failure count plus one, from its finish time.
func indexRemainingBackoff(lastFailed *Pod, now time.Time) time.Duration {
	if lastFailed == nil {
		return 0
	}
	t := finishTime(lastFailed)
	return remainingForFailures(DefaultPodFailureBackoff, MaxPodFailureBackoff, absoluteFailureCount(lastFailed)+1, &t, now)
}

// remainingForFailures is upstream getRemainingTimeForFailuresCount: base
// doubled per failure after the first, capped, minus the time since the
// last failure; 0 once it has passed.
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

func absoluteFailureCount(p *Pod) int32 { return p.FailureCount + p.IgnoredFailureCount }

// finishTime is upstream getFinishedTime (J3.4): the latest finishedAt of
// the containers (regular, then sidecars) when every one terminated; else
// the Ready=False transition; else deletionTimestamp minus the grace
// period; else the creation time.
func finishTime(p *Pod) time.Time {
	if t, ok := containersFinishTime(p); ok {
		return t
	}
	for _, c := range p.Conditions {
		if c.Type == "Ready" {
			if c.Status == "False" && !c.LastTransitionTime.IsZero() {
				return c.LastTransitionTime
			}
			break
		}
	}
	if p.DeletionTimestamp != nil {
		grace := int64(0)
		if p.DeletionGracePeriodSeconds != nil {
			grace = *p.DeletionGracePeriodSeconds
		}
		return p.DeletionTimestamp.Add(-time.Duration(grace) * time.Second)
	}
	return p.CreationTimestamp
}

// containersFinishTime: upstream latestFinishTime over the regular
// containers, then folded over the sidecars; any unterminated (or zero)
// one in a pass makes it "none".
func containersFinishTime(p *Pod) (time.Time, bool) {
	var latest *time.Time
	fold := func(prev *time.Time, cs []ContainerStatus, keep func(ContainerStatus) bool) *time.Time {
		out := prev
		for _, c := range cs {
			if keep != nil && !keep(c) {
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
	latest = fold(nil, p.ContainerStatuses, nil)
	latest = fold(latest, p.InitContainerStatuses, func(c ContainerStatus) bool { return slices.Contains(p.Sidecars, c.Name) })
	if latest == nil {
		return time.Time{}, false
	}
	return *latest, true
}
