package cronjob

import (
	"testing"
	"time"

	"wasmctl.dev/wasmctl/abi/sdk/meta"
)

// TestMostRecentScheduleTime pins the missed-time approximation, quirks
// included, on the inputs upstream's own table uses (2016-05-19 10:00 UTC is
// a Thursday).
func TestMostRecentScheduleTime(t *testing.T) {
	top := time.Date(2016, 5, 19, 10, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { x := top.Add(d); return &x }
	half := at(30 * time.Minute)
	cases := []struct {
		name     string
		schedule string
		created  time.Time
		last     *time.Time
		sds      *int64
		now      time.Time
		want     *time.Time
		missed   missedSchedules
	}{
		{"complex schedule", "30 6-16/4 * * 1-5", top, half, nil, *at(24*time.Hour + 31*time.Minute), at(24*time.Hour + 30*time.Minute), fewMissed},
		{"another complex schedule: the approximation finds nothing", "30 10,11,12 * * 1-5", top, half, nil, *at(30*time.Hour + 30*time.Minute), nil, fewMissed},
		{"longer diff between executions", "30 6-16/4 * * 1-5", top, half, nil, *at(96*time.Hour + 31*time.Minute), at(96*time.Hour + 30*time.Minute), fewMissed},
		{"not yet due", "0 * * * *", top, nil, nil, *at(30 * time.Minute), nil, noneMissed},
		{"exactly one due", "0 * * * *", top, nil, nil, *at(61 * time.Minute), at(time.Hour), noneMissed},
		{"many missed", "*/1 * * * *", top, nil, nil, *at(3 * time.Hour), at(3 * time.Hour), manyMissed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sched, err := parseSchedule(tc.schedule)
			if err != nil {
				t.Fatal(err)
			}
			cj := &CronJob{}
			cj.Metadata.CreationTimestamp = &meta.Time{Time: tc.created}
			if tc.last != nil {
				cj.Status.LastScheduleTime = &meta.Time{Time: *tc.last}
			}
			cj.Spec.StartingDeadlineSeconds = tc.sds
			_, got, missed, err := mostRecentScheduleTime(cj, tc.now, sched, true)
			if err != nil {
				t.Fatal(err)
			}
			if (got == nil) != (tc.want == nil) || (got != nil && !got.Equal(*tc.want)) || missed != tc.missed {
				t.Fatalf("got %v %v, want %v %v", got, missed, tc.want, tc.missed)
			}
		})
	}
}
