package job

import (
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"
)

// boT0 is the time upstream's backoff tests use (BOT:33, BOT:203).
var boT0 = time.Date(2009, time.November, 10, 23, 0, 0, 0, time.UTC)

// boTerminated is a container status terminated at t (zero t: terminated
// without finishedAt).
func boTerminated(name string, t time.Time) ContainerStatus {
	return ContainerStatus{Name: name, Terminated: &ContainerTerminated{FinishedAt: t}}
}

// boRunning is a container status that is not terminated.
func boRunning(name string) ContainerStatus { return ContainerStatus{Name: name} }

// boFinishedAt is a pod of phase whose one container finished at t, as
// upstream's TestNewBackoffRecord builds them (BOT:158-192).
func boFinishedAt(name, phase string, t time.Time) *Pod {
	return &Pod{Name: name, Index: -1, Phase: phase, ContainerStatuses: []ContainerStatus{boTerminated("c", t)}}
}

func TestFinishTime(t *testing.T) {
	minus30s := boT0.Add(-30 * time.Second)
	grace30 := int64(30)
	cases := map[string]struct {
		pod  Pod
		want time.Time
	}{
		// BOT:202-402 (TestGetFinishedTime).
		"Pod with multiple containers and all containers terminated": {
			pod: Pod{ContainerStatuses: []ContainerStatus{
				boTerminated("a", boT0.Add(-time.Second)),
				boTerminated("b", boT0),
				boTerminated("c", boT0.Add(-2*time.Second)),
			}},
			want: boT0,
		},
		"Pod with multiple containers; two containers in terminated state and one in running state; fallback to deletionTimestamp": {
			pod: Pod{
				ContainerStatuses: []ContainerStatus{
					boTerminated("a", boT0.Add(-time.Second)),
					boRunning("b"),
					boTerminated("c", boT0.Add(-2*time.Second)),
				},
				DeletionTimestamp: &boT0,
			},
			want: boT0,
		},
		"fallback to deletionTimestamp": {
			pod:  Pod{ContainerStatuses: []ContainerStatus{boRunning("a")}, DeletionTimestamp: &boT0},
			want: boT0,
		},
		"fallback to deletionTimestamp, decremented by grace period": {
			pod:  Pod{ContainerStatuses: []ContainerStatus{boRunning("a")}, DeletionTimestamp: &boT0, DeletionGracePeriodSeconds: &grace30},
			want: minus30s,
		},
		"fallback to PodReady.LastTransitionTime when status of the condition is False": {
			pod: Pod{
				ContainerStatuses: []ContainerStatus{boTerminated("a", time.Time{})},
				Conditions:        []PodCondition{{Type: "Ready", Status: "False", LastTransitionTime: boT0}},
			},
			want: boT0,
		},
		"skip fallback to PodReady.LastTransitionTime when status of the condition is True": {
			pod: Pod{
				ContainerStatuses: []ContainerStatus{boTerminated("a", time.Time{})},
				Conditions:        []PodCondition{{Type: "Ready", Status: "True", LastTransitionTime: minus30s}},
				DeletionTimestamp: &boT0,
			},
			want: boT0,
		},
		"fallback to creationTimestamp": {
			pod:  Pod{ContainerStatuses: []ContainerStatus{boTerminated("a", time.Time{})}, CreationTimestamp: boT0},
			want: boT0,
		},
		"Pod with sidecar container and all containers terminated": {
			pod: Pod{
				Sidecars:              []string{"sidecar"},
				ContainerStatuses:     []ContainerStatus{boTerminated("main", boT0.Add(-time.Second))},
				InitContainerStatuses: []ContainerStatus{boTerminated("sidecar", boT0)},
			},
			want: boT0,
		},
		// Beyond upstream's table, from reading BO:186-234.
		"no container statuses: creationTimestamp": {
			pod:  Pod{CreationTimestamp: boT0},
			want: boT0,
		},
		"unterminated regular container but terminated sidecars: the sidecars' time": {
			pod: Pod{
				Sidecars:              []string{"sidecar"},
				ContainerStatuses:     []ContainerStatus{boRunning("main")},
				InitContainerStatuses: []ContainerStatus{boTerminated("sidecar", minus30s)},
				DeletionTimestamp:     &boT0,
			},
			want: minus30s,
		},
		"an unterminated sidecar discards the regular containers' time": {
			pod: Pod{
				Sidecars:              []string{"sidecar"},
				ContainerStatuses:     []ContainerStatus{boTerminated("main", minus30s)},
				InitContainerStatuses: []ContainerStatus{boRunning("sidecar")},
				DeletionTimestamp:     &boT0,
			},
			want: boT0,
		},
		"a later sidecar wins over an earlier regular container": {
			pod: Pod{
				Sidecars:              []string{"s1", "s2"},
				ContainerStatuses:     []ContainerStatus{boTerminated("main", minus30s)},
				InitContainerStatuses: []ContainerStatus{boTerminated("s1", minus30s.Add(time.Second)), boTerminated("s2", boT0)},
			},
			want: boT0,
		},
		"an earlier sidecar keeps the regular containers' time": {
			pod: Pod{
				Sidecars:              []string{"sidecar"},
				ContainerStatuses:     []ContainerStatus{boTerminated("main", boT0)},
				InitContainerStatuses: []ContainerStatus{boTerminated("sidecar", minus30s)},
			},
			want: boT0,
		},
		"init containers that are not sidecars are not looked at": {
			pod: Pod{
				ContainerStatuses:     []ContainerStatus{boTerminated("main", minus30s)},
				InitContainerStatuses: []ContainerStatus{boTerminated("init", boT0), boRunning("init2")},
			},
			want: minus30s,
		},
		"Ready=False with a zero transition time: next fallback": {
			pod: Pod{
				Conditions:        []PodCondition{{Type: "Ready", Status: "False"}},
				DeletionTimestamp: &boT0,
			},
			want: boT0,
		},
		"only the first Ready condition is read": {
			pod: Pod{
				Conditions: []PodCondition{
					{Type: "Ready", Status: "True", LastTransitionTime: minus30s},
					{Type: "Ready", Status: "False", LastTransitionTime: minus30s},
				},
				CreationTimestamp: boT0,
			},
			want: boT0,
		},
		"Ready=False beats deletionTimestamp": {
			pod: Pod{
				Conditions:        []PodCondition{{Type: "ContainersReady", Status: "False", LastTransitionTime: boT0}, {Type: "Ready", Status: "False", LastTransitionTime: minus30s}},
				DeletionTimestamp: &boT0,
			},
			want: minus30s,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := finishTime(&tc.pod); !got.Equal(tc.want) {
				t.Errorf("finishTime = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNewBackoffRecord(t *testing.T) {
	ms := func(n int) time.Time { return boT0.Add(time.Duration(n) * time.Millisecond) }
	cases := map[string]struct {
		succeeded, failed []time.Time
		wantFailures      int32
		wantLast          *time.Time
	}{
		// BOT:31-200 (TestNewBackoffRecord), all pods new, empty store.
		"Empty backoff store and one new failure": {
			failed:       []time.Time{boT0},
			wantFailures: 1, wantLast: &boT0,
		},
		"Empty backoff store and two new failures": {
			failed:       []time.Time{boT0, ms(-1)},
			wantFailures: 2, wantLast: &boT0,
		},
		"Empty backoff store, two failures followed by success": {
			succeeded: []time.Time{boT0},
			failed:    []time.Time{ms(-2), ms(-1)},
		},
		"Empty backoff store, two failures, one success and two more failures": {
			succeeded:    []time.Time{ms(-2)},
			failed:       []time.Time{boT0, ms(-4), ms(-3), ms(-1)},
			wantFailures: 2, wantLast: &boT0,
		},
		"Empty backoff store with success and failure at same timestamp": {
			succeeded: []time.Time{boT0},
			failed:    []time.Time{boT0},
		},
		"Empty backoff store with no success/failure": {},
		"Empty backoff store with one success": {
			succeeded: []time.Time{boT0},
		},
		// BOT:97-114 ("Backoff store having failure count 2 and one new
		// failure") derived: the two earlier failures are pods still
		// present.
		"two earlier failed pods still present and one new failure": {
			failed:       []time.Time{ms(-20), ms(-10), boT0},
			wantFailures: 3, wantLast: &boT0,
		},
		// Beyond upstream's table.
		"the latest of several successes resets": {
			succeeded:    []time.Time{ms(-5), ms(-1), ms(-8)},
			failed:       []time.Time{ms(-3), boT0, ms(-9)},
			wantFailures: 1, wantLast: &boT0,
		},
		"every failure before the last success: none, no last failure time": {
			succeeded: []time.Time{boT0},
			failed:    []time.Time{ms(-3), ms(-2), ms(-1)},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var succeeded, failed []*Pod
			for _, ft := range tc.succeeded {
				succeeded = append(succeeded, boFinishedAt("s", PodSucceeded, ft))
			}
			for _, ft := range tc.failed {
				failed = append(failed, boFinishedAt("f", PodFailed, ft))
			}
			origFailed := slices.Clone(failed)
			rec := newBackoffRecord(succeeded, failed)
			if rec.failuresAfterLastSuccess != tc.wantFailures {
				t.Errorf("failuresAfterLastSuccess = %d, want %d", rec.failuresAfterLastSuccess, tc.wantFailures)
			}
			switch {
			case tc.wantLast == nil && rec.lastFailureTime != nil:
				t.Errorf("lastFailureTime = %v, want nil", *rec.lastFailureTime)
			case tc.wantLast != nil && rec.lastFailureTime == nil:
				t.Errorf("lastFailureTime = nil, want %v", *tc.wantLast)
			case tc.wantLast != nil && !rec.lastFailureTime.Equal(*tc.wantLast):
				t.Errorf("lastFailureTime = %v, want %v", *rec.lastFailureTime, *tc.wantLast)
			}
			if !slices.Equal(failed, origFailed) {
				t.Errorf("newBackoffRecord reordered the caller's slice")
			}
		})
	}
}

func TestNewBackoffRecordUsesFinishTime(t *testing.T) {
	// The finish time of each pod is J3.4's, not just the containers'.
	success := &Pod{Phase: PodSucceeded, Index: -1, Conditions: []PodCondition{{Type: "Ready", Status: "False", LastTransitionTime: boT0}}}
	before := &Pod{Phase: PodFailed, Index: -1, CreationTimestamp: boT0.Add(-time.Minute)}
	del := boT0.Add(time.Minute)
	after := &Pod{Phase: PodFailed, Index: -1, DeletionTimestamp: &del}
	rec := newBackoffRecord([]*Pod{success}, []*Pod{before, after})
	if rec.failuresAfterLastSuccess != 1 || rec.lastFailureTime == nil || !rec.lastFailureTime.Equal(del) {
		t.Errorf("record = %d, %v; want 1, %v", rec.failuresAfterLastSuccess, rec.lastFailureTime, del)
	}
}

func TestRemainingBackoff(t *testing.T) {
	t0 := boT0
	cases := map[string]struct {
		rec        backoffRecord
		now        time.Time
		base, maxD time.Duration
		want       time.Duration
	}{
		// BOT:404-503 (TestGetRemainingBackoffTime): base 5s, cap 700s.
		"no failures": {
			rec:  backoffRecord{},
			base: 5 * time.Second, maxD: 700 * time.Second, want: 0,
		},
		"one failure; current time and failure time are same": {
			rec: backoffRecord{lastFailureTime: &t0, failuresAfterLastSuccess: 1}, now: t0,
			base: 5 * time.Second, maxD: 700 * time.Second, want: 5 * time.Second,
		},
		"one failure; current time == 1 second + failure time": {
			rec: backoffRecord{lastFailureTime: &t0, failuresAfterLastSuccess: 1}, now: t0.Add(time.Second),
			base: 5 * time.Second, maxD: 700 * time.Second, want: 4 * time.Second,
		},
		"one failure; current time == expected backoff time": {
			rec: backoffRecord{lastFailureTime: &t0, failuresAfterLastSuccess: 1}, now: t0.Add(5 * time.Second),
			base: 5 * time.Second, maxD: 700 * time.Second, want: 0,
		},
		"one failure; current time == expected backoff time + 1 Second": {
			rec: backoffRecord{lastFailureTime: &t0, failuresAfterLastSuccess: 1}, now: t0.Add(6 * time.Second),
			base: 5 * time.Second, maxD: 700 * time.Second, want: 0,
		},
		"three failures; current time and failure time are same": {
			rec: backoffRecord{lastFailureTime: &t0, failuresAfterLastSuccess: 3}, now: t0,
			base: 5 * time.Second, maxD: 700 * time.Second, want: 20 * time.Second,
		},
		"eight failures; current time and failure time are same; backoff not exceeding maxBackoff": {
			rec: backoffRecord{lastFailureTime: &t0, failuresAfterLastSuccess: 8}, now: t0,
			base: 5 * time.Second, maxD: 700 * time.Second, want: 640 * time.Second,
		},
		"nine failures; current time and failure time are same; backoff exceeding maxBackoff": {
			rec: backoffRecord{lastFailureTime: &t0, failuresAfterLastSuccess: 9}, now: t0,
			base: 5 * time.Second, maxD: 700 * time.Second, want: 700 * time.Second,
		},
		// Beyond upstream's table.
		"a base above the cap is not lowered for one failure": {
			rec: backoffRecord{lastFailureTime: &t0, failuresAfterLastSuccess: 1}, now: t0,
			base: 20 * time.Second, maxD: 15 * time.Second, want: 20 * time.Second,
		},
		"a huge failure count stops at the cap": {
			rec: backoffRecord{lastFailureTime: &t0, failuresAfterLastSuccess: 1 << 30}, now: t0.Add(100 * time.Second),
			base: 5 * time.Second, maxD: 700 * time.Second, want: 600 * time.Second,
		},
		"a last failure in the future waits longer than the delay": {
			rec: backoffRecord{lastFailureTime: &t0, failuresAfterLastSuccess: 1}, now: t0.Add(-3 * time.Second),
			base: 5 * time.Second, maxD: 700 * time.Second, want: 8 * time.Second,
		},
		"failures without a last failure time: no wait": {
			rec:  backoffRecord{failuresAfterLastSuccess: 2},
			base: 5 * time.Second, maxD: 700 * time.Second, want: 0,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			// Upstream truncates its fake clock to the second and compares
			// seconds (BOT:496-499).
			now := tc.now.Truncate(time.Second)
			got := remainingForFailures(tc.base, tc.maxD, tc.rec.failuresAfterLastSuccess, tc.rec.lastFailureTime, now)
			if got != tc.want {
				t.Errorf("remaining = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRemainingBackoffDefaults(t *testing.T) {
	// J10.2 with upstream's defaults (JC:77-79): 10s·2^(n−1) capped at 10 min.
	t0 := boT0
	want := []time.Duration{0, 10, 20, 40, 80, 160, 320, 600, 600, 600}
	for n, w := range want {
		w *= time.Second
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			rec := backoffRecord{failuresAfterLastSuccess: int32(n)}
			if n > 0 {
				rec.lastFailureTime = &t0
			}
			if got := remainingBackoff(rec, t0); got != w {
				t.Errorf("n=%d at the failure: %v, want %v", n, got, w)
			}
			if n > 0 {
				if got := remainingBackoff(rec, t0.Add(3*time.Second)); got != w-3*time.Second {
					t.Errorf("n=%d 3s later: %v, want %v", n, got, w-3*time.Second)
				}
				if got := remainingBackoff(rec, t0.Add(w)); got != 0 {
					t.Errorf("n=%d once the delay passed: %v, want 0", n, got)
				}
			}
		})
	}
}

func TestIndexRemainingBackoff(t *testing.T) {
	failedAt := func(count, ignored int32, deleted time.Time) *Pod {
		return &Pod{Phase: PodFailed, Index: 0, FailureCount: count, IgnoredFailureCount: ignored, DeletionTimestamp: &deleted}
	}
	cases := map[string]struct {
		pod        *Pod
		now        time.Time
		base, maxD time.Duration
		want       time.Duration
	}{
		// BOT:505-546 (TestGetRemainingBackoffTimePerIndex): base 5s, cap 700s.
		"no failures": {
			pod: nil, base: 5 * time.Second, maxD: 700 * time.Second, want: 0,
		},
		"two prev failures; current time and failure time are same": {
			pod: failedAt(2, 0, boT0), now: boT0,
			base: 5 * time.Second, maxD: 700 * time.Second, want: 20 * time.Second,
		},
		"one prev failure counted and one ignored; current time and failure time are same": {
			pod: failedAt(1, 1, boT0), now: boT0,
			base: 5 * time.Second, maxD: 700 * time.Second, want: 20 * time.Second,
		},
		// Beyond upstream's table, with the defaults.
		"defaults: first failure of the index waits 10s": {
			pod: failedAt(0, 0, boT0), now: boT0,
			base: DefaultPodFailureBackoff, maxD: MaxPodFailureBackoff, want: 10 * time.Second,
		},
		"defaults: ignored failures count too": {
			pod: failedAt(0, 3, boT0), now: boT0.Add(5 * time.Second),
			base: DefaultPodFailureBackoff, maxD: MaxPodFailureBackoff, want: 75 * time.Second,
		},
		"defaults: capped": {
			pod: failedAt(20, 0, boT0), now: boT0,
			base: DefaultPodFailureBackoff, maxD: MaxPodFailureBackoff, want: 600 * time.Second,
		},
		"defaults: passed": {
			pod: failedAt(1, 0, boT0), now: boT0.Add(20 * time.Second),
			base: DefaultPodFailureBackoff, maxD: MaxPodFailureBackoff, want: 0,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			now := tc.now.Truncate(time.Second)
			if got := indexRemainingFor(tc.base, tc.maxD, tc.pod, now); got != tc.want {
				t.Errorf("remaining = %v, want %v", got, tc.want)
			}
			if tc.base == DefaultPodFailureBackoff && tc.maxD == MaxPodFailureBackoff {
				if got := indexRemainingBackoff(tc.pod, now); got != tc.want {
					t.Errorf("indexRemainingBackoff = %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestIndexesToCreateNow(t *testing.T) {
	now := boT0
	failed := func(count int32, deleted time.Time) *Pod {
		return &Pod{Phase: PodFailed, Index: 1, FailureCount: count, DeletionTimestamp: &deleted}
	}
	cases := map[string]struct {
		indexes  []int
		delayed  map[int]*Pod
		wantNow  []int
		wantWait time.Duration
	}{
		// JCT:5934-5992 (TestGetPodCreationInfoForIndependentIndexes).
		"simple index creation": {
			indexes: []int{1, 3}, wantNow: []int{1, 3},
		},
		"subset of indexes can be recreated now": {
			indexes: []int{1, 3},
			delayed: map[int]*Pod{1: failed(0, now)},
			wantNow: []int{3},
		},
		"subset of indexes can be recreated now as the pods failed long time ago": {
			indexes: []int{1, 3},
			delayed: map[int]*Pod{1: failed(0, now), 3: failed(0, now.Add(-DefaultPodFailureBackoff))},
			wantNow: []int{3},
		},
		"no indexes can be recreated now, need to wait default pod failure backoff": {
			indexes:  []int{1, 2, 3},
			delayed:  map[int]*Pod{1: failed(1, now), 2: failed(0, now), 3: failed(2, now)},
			wantWait: DefaultPodFailureBackoff,
		},
		"no indexes can be recreated now, need to wait but 1s already passed": {
			indexes:  []int{1, 2, 3},
			delayed:  map[int]*Pod{1: failed(1, now.Add(-time.Second)), 2: failed(0, now.Add(-time.Second)), 3: failed(2, now.Add(-time.Second))},
			wantWait: DefaultPodFailureBackoff - time.Second,
		},
		// Beyond upstream's table.
		"no indexes": {},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			gotNow, gotWait := indexesToCreateNow(tc.indexes, tc.delayed, now)
			if !slices.Equal(gotNow, tc.wantNow) || gotWait != tc.wantWait {
				t.Errorf("indexesToCreateNow = %v, %v; want %v, %v", gotNow, gotWait, tc.wantNow, tc.wantWait)
			}
		})
	}
}

// boIndexPod is a pod of index ix for delayedFailedPods, as upstream's
// buildPod().uid().indexFailureCount().phase().index() (IDXT:399-537).
func boIndexPod(uid string, ix int, count int32, phase string, finalizer bool) *Pod {
	return &Pod{UID: uid, Name: uid, Index: ix, FailureCount: count, Phase: phase, HasFinalizer: finalizer}
}

func boDeletedAt(p *Pod, t time.Time) *Pod { p.DeletionTimestamp = &t; return p }

func TestDelayedFailedPods(t *testing.T) {
	now := boT0
	phaseFailed := func(p *Pod) bool { return p.Phase == PodFailed }
	cases := map[string]struct {
		pods        []*Pod
		completions int
		// done are the completed or failed indexes, as upstream computes
		// them from the pods with calculateSucceededIndexes and
		// calculateFailedIndexes in its test.
		done     []int
		isFailed func(*Pod) bool
		want     []string
	}{
		// IDXT:399-537 (TestGetPodsWithDelayedDeletionPerIndex).
		"failed pods are kept corresponding to non-failed indexes are kept": {
			// backoffLimitPerIndex 1: index 1 (failure count 1) failed.
			completions: 3, done: []int{1},
			pods: []*Pod{
				boIndexPod("a", 0, 0, PodFailed, true),
				boIndexPod("b", 1, 1, PodFailed, true),
				boIndexPod("c", 2, 0, PodFailed, true),
			},
			want: []string{"a", "c"},
		},
		"failed pod without finalizer; the pod's deletion is not delayed as it already started": {
			// backoffLimitPerIndex 0, but the pod without finalizer does
			// not fail the index (J12.2).
			completions: 2,
			pods:        []*Pod{boIndexPod("a", 0, 0, PodFailed, false)},
		},
		"failed pod with expected finalizer removal; the pod's deletion is not delayed as it already started": {
			// Upstream skips its expectedRmFinalizers; the caller folds
			// that into isFailed. backoffLimitPerIndex 0 fails index 0.
			completions: 2, done: []int{0},
			pods:     []*Pod{boIndexPod("a", 0, 0, PodFailed, true)},
			isFailed: func(p *Pod) bool { return p.Phase == PodFailed && p.UID != "a" },
		},
		"failed pod with index outside of completions; the pod's deletion is not delayed": {
			completions: 2,
			pods:        []*Pod{boIndexPod("a", 4, 0, PodFailed, true)},
		},
		"failed pod for active index; the pod's deletion is not delayed as it is already replaced": {
			completions: 2,
			pods: []*Pod{
				boIndexPod("a1", 0, 0, PodFailed, true),
				boIndexPod("a2", 0, 1, PodRunning, true),
			},
		},
		"failed pod for succeeded index; the pod's deletion is not delayed as it is already replaced": {
			completions: 2, done: []int{0},
			pods: []*Pod{
				boIndexPod("a1", 0, 0, PodFailed, true),
				boIndexPod("a2", 0, 1, PodSucceeded, true),
			},
		},
		"multiple failed pods for index with different failure count; only the pod with highest failure count is kept": {
			completions: 2,
			pods: []*Pod{
				boIndexPod("a1", 0, 0, PodFailed, true),
				boIndexPod("a3", 0, 2, PodFailed, true),
				boIndexPod("a2", 0, 1, PodFailed, true),
			},
			want: []string{"a3"},
		},
		"multiple failed pods for index with different finish times; only the last failed pod is kept": {
			completions: 2,
			pods: []*Pod{
				boDeletedAt(boIndexPod("a1", 0, 1, PodFailed, true), now.Add(-time.Second)),
				boDeletedAt(boIndexPod("a3", 0, 1, PodFailed, true), now),
				boDeletedAt(boIndexPod("a2", 0, 1, PodFailed, true), now.Add(-2*time.Second)),
			},
			want: []string{"a3"},
		},
		// Beyond upstream's table, from reading IDX:321-346.
		"a pod excluded by isFailed (finalizer removal in flight) is not picked": {
			completions: 2,
			pods: []*Pod{
				boIndexPod("a", 0, 0, PodFailed, true),
				boIndexPod("b", 0, 0, PodFailed, true),
			},
			isFailed: func(p *Pod) bool { return p.Phase == PodFailed && p.UID != "b" },
			want:     []string{"a"},
		},
		"a higher count that finished earlier does not replace the pick": {
			completions: 1,
			pods: []*Pod{
				boDeletedAt(boIndexPod("late", 0, 1, PodFailed, true), now),
				boDeletedAt(boIndexPod("early", 0, 2, PodFailed, true), now.Add(-time.Second)),
			},
			want: []string{"late"},
		},
		"the same two pods the other way round: the order decides": {
			completions: 1,
			pods: []*Pod{
				boDeletedAt(boIndexPod("early", 0, 2, PodFailed, true), now.Add(-time.Second)),
				boDeletedAt(boIndexPod("late", 0, 1, PodFailed, true), now),
			},
			want: []string{"early"},
		},
		"a tie in count and finish time: the later pod in the list": {
			completions: 1,
			pods: []*Pod{
				boDeletedAt(boIndexPod("first", 0, 1, PodFailed, true), now),
				boDeletedAt(boIndexPod("second", 0, 1, PodFailed, true), now),
			},
			want: []string{"second"},
		},
		"ignored failures count towards the absolute count": {
			completions: 1,
			pods: []*Pod{
				boDeletedAt(boIndexPod("counted", 0, 2, PodFailed, true), now),
				func() *Pod {
					p := boDeletedAt(boIndexPod("ignored", 0, 1, PodFailed, true), now)
					p.IgnoredFailureCount = 2
					return p
				}(),
			},
			want: []string{"ignored"},
		},
		"a terminating pod does not make its index active": {
			// podReplacementPolicy Failed: the terminating pod is not
			// failed either.
			completions: 1,
			pods: []*Pod{
				boIndexPod("failed", 0, 0, PodFailed, true),
				boDeletedAt(boIndexPod("terminating", 0, 1, PodRunning, true), now),
			},
			want: []string{"failed"},
		},
		"a terminating pod counted as failed (TerminatingOrFailed) can be the pick": {
			completions: 1,
			pods: []*Pod{
				boDeletedAt(boIndexPod("terminating", 0, 1, PodRunning, true), now),
			},
			isFailed: func(p *Pod) bool {
				return p.Phase == PodFailed || (p.DeletionTimestamp != nil && p.Phase != PodSucceeded)
			},
			want: []string{"terminating"},
		},
		"an index-less active pod does not make anything active": {
			completions: 2,
			pods: []*Pod{
				boIndexPod("noindex", -1, 0, PodRunning, true),
				boIndexPod("a", 0, 0, PodFailed, true),
				boIndexPod("b", 1, 0, PodFailed, true),
			},
			want: []string{"a", "b"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			isFailed := tc.isFailed
			if isFailed == nil {
				isFailed = phaseFailed
			}
			done := func(ix int) bool { return slices.Contains(tc.done, ix) }
			got := delayedFailedPods(tc.pods, tc.completions, done, isFailed)
			var uids []string
			for ix, p := range got {
				if p.Index != ix {
					t.Errorf("pod %s under index %d, has index %d", p.UID, ix, p.Index)
				}
				uids = append(uids, p.UID)
			}
			sort.Strings(uids)
			if !slices.Equal(uids, tc.want) {
				t.Errorf("delayed pods = %v, want %v", uids, tc.want)
			}
		})
	}
}
