package cronjob

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"wasmctl.dev/wasmctl/abi"
)

// nextScheduleDelta pads every timed requeue (upstream: NTP skew).
const nextScheduleDelta = 100 * time.Millisecond

type missedSchedules int

const (
	noneMissed missedSchedules = iota
	fewMissed
	manyMissed
)

// parseSchedule is cron.ParseStandard under panic recovery, as upstream
// calls it ("TZ=0" panics inside the parser).
func parseSchedule(schedule string) (sched cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			sched, err = nil, fmt.Errorf("invalid schedule format: %v", r)
		}
	}()
	return cron.ParseStandard(schedule)
}

// formatSchedule prefixes spec.timeZone unless the schedule carries its own
// TZ (which earns a warning on every sync).
func formatSchedule(cj *CronJob, resp *abi.ReconcileResponse) string {
	if strings.Contains(cj.Spec.Schedule, "TZ") {
		resp.Event(abi.EventWarning, "UnsupportedSchedule", "CRON_TZ or TZ used in schedule %q is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details", cj.Spec.Schedule)
		return cj.Spec.Schedule
	}
	if cj.Spec.TimeZone != nil {
		if _, err := time.LoadLocation(*cj.Spec.TimeZone); err != nil {
			return cj.Spec.Schedule
		}
		return fmt.Sprintf("TZ=%s %s", *cj.Spec.TimeZone, cj.Spec.Schedule)
	}
	return cj.Spec.Schedule
}

// mostRecentScheduleTime is upstream's, approximation and all: the earliest
// time considered, the most recent schedule time not after now (nil when
// none is found), and how many were missed.
func mostRecentScheduleTime(cj *CronJob, now time.Time, sched cron.Schedule, includeSDS bool) (time.Time, *time.Time, missedSchedules, error) {
	var earliest time.Time
	if cj.Metadata.CreationTimestamp != nil {
		earliest = cj.Metadata.CreationTimestamp.Time
	}
	missed := noneMissed
	if cj.Status.LastScheduleTime != nil {
		earliest = cj.Status.LastScheduleTime.Time
	}
	if includeSDS && cj.Spec.StartingDeadlineSeconds != nil {
		deadline := now.Add(-time.Second * time.Duration(*cj.Spec.StartingDeadlineSeconds))
		if deadline.After(earliest) {
			earliest = deadline
		}
	}
	t1 := sched.Next(earliest)
	t2 := sched.Next(t1)
	if now.Before(t1) {
		return earliest, nil, missed, nil
	}
	if now.Before(t2) {
		return earliest, &t1, missed, nil
	}
	between := int64(t2.Sub(t1).Round(time.Second).Seconds())
	if between < 1 {
		return earliest, nil, missed, fmt.Errorf("time difference between two schedules is less than 1 second")
	}
	elapsed := int64(now.Sub(t1).Seconds())
	n := elapsed/between + 1
	potentialEarliest := t1.Add(time.Duration((n-1-1)*between) * time.Second)
	var mostRecent time.Time
	for t := sched.Next(potentialEarliest); !t.After(now); t = sched.Next(t) {
		mostRecent = t
	}
	switch {
	case n > 100:
		missed = manyMissed
	case n > 0:
		missed = fewMissed
	}
	if mostRecent.IsZero() {
		return earliest, nil, missed, nil
	}
	return earliest, &mostRecent, missed, nil
}

// nextScheduleTimeDuration is how long until the next schedule, plus 100 ms;
// startingDeadlineSeconds is ignored here, as upstream ignores it.
func nextScheduleTimeDuration(cj *CronJob, now time.Time, sched cron.Schedule) time.Duration {
	earliest, mostRecent, missed, err := mostRecentScheduleTime(cj, now, sched, false)
	switch {
	case err != nil:
		mostRecent = &now
	case mostRecent == nil && missed == noneMissed:
		mostRecent = &earliest
	case mostRecent == nil:
		mostRecent = &now
	}
	return sched.Next(*mostRecent).Add(nextScheduleDelta).Sub(now)
}

// nextScheduleTime returns the most recent unmet schedule time (nil for
// none), warning when more than 100 were missed.
func nextScheduleTime(cj *CronJob, now time.Time, sched cron.Schedule, resp *abi.ReconcileResponse) (*time.Time, error) {
	_, mostRecent, missed, err := mostRecentScheduleTime(cj, now, sched, true)
	if mostRecent == nil || mostRecent.After(now) {
		return nil, err
	}
	if missed == manyMissed {
		resp.Event(abi.EventWarning, "TooManyMissedTimes", "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew")
	}
	return mostRecent, err
}
