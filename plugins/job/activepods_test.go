package job

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"
)

func apNames(pods []*Pod) []string {
	out := make([]string, len(pods))
	for i, p := range pods {
		out[i] = p.Name
	}
	return out
}

func apReady(t time.Time) []PodCondition {
	return []PodCondition{{Type: "Ready", Status: "True", LastTransitionTime: t}}
}

func apRestarts(counts ...int32) []ContainerStatus {
	out := make([]ContainerStatus, len(counts))
	for i, c := range counts {
		out[i] = ContainerStatus{Name: string(rune('a' + i)), RestartCount: c}
	}
	return out
}

func TestSortActivePods(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	then := now.AddDate(0, -1, 0)
	// controller_utils_test.go:644-777 (TestSortingActivePods), sorted from
	// 20 shuffles.
	pods := []Pod{
		{Name: "unscheduled", Phase: PodPending},
		{Name: "scheduledButPending", NodeName: "bar", Phase: PodPending},
		{Name: "unknownPhase", NodeName: "foo", Phase: PodUnknown},
		{Name: "runningButNotReady", NodeName: "foo", Phase: PodRunning},
		{Name: "runningNoLastTransitionTime", NodeName: "foo", Phase: PodRunning,
			Conditions: apReady(time.Time{}), ContainerStatuses: apRestarts(3, 0)},
		{Name: "runningWithLastTransitionTime", NodeName: "foo", Phase: PodRunning,
			Conditions: apReady(now), ContainerStatuses: apRestarts(3, 0)},
		{Name: "runningLongerTime", NodeName: "foo", Phase: PodRunning,
			Conditions: apReady(then), ContainerStatuses: apRestarts(3, 0)},
		{Name: "lowerSidecarContainerRestartCount", CreationTimestamp: now, NodeName: "foo", Phase: PodRunning,
			Sidecars:   []string{"sidecar"},
			Conditions: apReady(then), ContainerStatuses: apRestarts(2, 1),
			InitContainerStatuses: []ContainerStatus{{Name: "sidecar", RestartCount: 2}}},
		{Name: "lowerContainerRestartCount", CreationTimestamp: now, NodeName: "foo", Phase: PodRunning,
			Conditions: apReady(then), ContainerStatuses: apRestarts(2, 1)},
		{Name: "oldest", CreationTimestamp: then, NodeName: "foo", Phase: PodRunning,
			Conditions: apReady(then), ContainerStatuses: apRestarts(2, 1)},
	}
	want := []string{
		"unscheduled",
		"scheduledButPending",
		"unknownPhase",
		"runningButNotReady",
		"runningNoLastTransitionTime",
		"runningWithLastTransitionTime",
		"runningLongerTime",
		"lowerSidecarContainerRestartCount",
		"lowerContainerRestartCount",
		"oldest",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20 {
		shuffled := make([]*Pod, len(pods))
		for j, k := range rng.Perm(len(pods)) {
			shuffled[j] = &pods[k]
		}
		sortActivePods(shuffled)
		if got := apNames(shuffled); !slices.Equal(got, want) {
			t.Fatalf("shuffle %d: order\n%v\nwant\n%v", i, got, want)
		}
	}
}

func TestActivePodsLess(t *testing.T) {
	t1 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Second)
	cases := map[string]struct {
		a, b Pod
		// aFirst: Less(a, b); bFirst: Less(b, a); both false = equal.
		aFirst, bFirst bool
	}{
		"unassigned before assigned": {
			a: Pod{Phase: PodRunning}, b: Pod{NodeName: "n", Phase: PodPending}, aFirst: true,
		},
		"two different nodes are no criterion": {
			a: Pod{NodeName: "n1"}, b: Pod{NodeName: "n2"},
		},
		"Pending before Unknown": {
			a: Pod{Phase: PodPending}, b: Pod{Phase: PodUnknown}, aFirst: true,
		},
		"Unknown before Running": {
			a: Pod{Phase: PodUnknown}, b: Pod{Phase: PodRunning}, aFirst: true,
		},
		"another phase ranks as Pending": {
			a: Pod{Phase: PodSucceeded, CreationTimestamp: t1}, b: Pod{Phase: PodPending, CreationTimestamp: t1},
		},
		"an empty phase ranks before Unknown": {
			a: Pod{}, b: Pod{Phase: PodUnknown}, aFirst: true,
		},
		"not ready before ready": {
			a: Pod{Phase: PodRunning, Conditions: apReady(t1)}, b: Pod{Phase: PodRunning}, bFirst: true,
		},
		"ready is the first Ready condition: a later True one does not count": {
			a: Pod{Conditions: []PodCondition{{Type: "Ready", Status: "False"}, {Type: "Ready", Status: "True"}}},
			b: Pod{},
		},
		"both ready: a zero ready time first": {
			a: Pod{Conditions: apReady(t1)}, b: Pod{Conditions: apReady(time.Time{})}, bFirst: true,
		},
		"both ready: the more recently ready first": {
			a: Pod{Conditions: apReady(t1)}, b: Pod{Conditions: apReady(t2)}, bFirst: true,
		},
		"not ready: the transition time is no criterion": {
			a: Pod{Conditions: []PodCondition{{Type: "Ready", Status: "False", LastTransitionTime: t1}}},
			b: Pod{Conditions: []PodCondition{{Type: "Ready", Status: "False", LastTransitionTime: t2}}},
		},
		"ready time beats restarts": {
			a:      Pod{Conditions: apReady(t1), ContainerStatuses: apRestarts(9)},
			b:      Pod{Conditions: apReady(t2)},
			bFirst: true,
		},
		"more container restarts first (the maximum, not the sum)": {
			a: Pod{ContainerStatuses: apRestarts(1, 1, 1)}, b: Pod{ContainerStatuses: apRestarts(0, 2)}, bFirst: true,
		},
		"container restarts beat sidecar restarts": {
			a:      Pod{ContainerStatuses: apRestarts(1)},
			b:      Pod{Sidecars: []string{"s"}, InitContainerStatuses: []ContainerStatus{{Name: "s", RestartCount: 5}}},
			aFirst: true,
		},
		"equal container restarts: more sidecar restarts first": {
			a:      Pod{ContainerStatuses: apRestarts(1), Sidecars: []string{"s"}, InitContainerStatuses: []ContainerStatus{{Name: "s", RestartCount: 1}}},
			b:      Pod{ContainerStatuses: apRestarts(1), Sidecars: []string{"s"}, InitContainerStatuses: []ContainerStatus{{Name: "s", RestartCount: 2}}},
			bFirst: true,
		},
		"restarts of init containers that are not sidecars do not count": {
			a: Pod{InitContainerStatuses: []ContainerStatus{{Name: "init", RestartCount: 4}}, CreationTimestamp: t1},
			b: Pod{CreationTimestamp: t1},
		},
		"newer before older": {
			a: Pod{CreationTimestamp: t1}, b: Pod{CreationTimestamp: t2}, bFirst: true,
		},
		"a zero creation time first": {
			a: Pod{CreationTimestamp: t1}, b: Pod{}, bFirst: true,
		},
		"equal": {
			a: Pod{NodeName: "n", Phase: PodRunning, Conditions: apReady(t1), CreationTimestamp: t1},
			b: Pod{NodeName: "n", Phase: PodRunning, Conditions: apReady(t1), CreationTimestamp: t1},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := activePods{&tc.a, &tc.b}
			if got := s.Less(0, 1); got != tc.aFirst {
				t.Errorf("Less(a, b) = %v, want %v", got, tc.aFirst)
			}
			if got := s.Less(1, 0); got != tc.bFirst {
				t.Errorf("Less(b, a) = %v, want %v", got, tc.bFirst)
			}
		})
	}
}

// apIndexPhase is upstream's indexPhase (IDXT:905-908): the index as the
// annotation's text ("-" for none) and the phase.
type apIndexPhase struct{ ix, phase string }

// apIndexPods builds pods like upstream's hollowPodsWithIndexPhase
// (IDXT:887-903); Index is the annotation parsed as the decoder does
// (J3.3), Name keeps the text to compare with.
func apIndexPods(descs []apIndexPhase) []*Pod {
	out := make([]*Pod, len(descs))
	for i, d := range descs {
		ix := -1
		if n, err := strconv.Atoi(d.ix); err == nil && n >= 0 {
			ix = n
		}
		out[i] = &Pod{Name: d.ix, Index: ix, Phase: d.phase}
	}
	return out
}

func apIndexPhases(pods []*Pod) []apIndexPhase {
	out := make([]apIndexPhase, len(pods))
	for i, p := range pods {
		out[i] = apIndexPhase{p.Name, p.Phase}
	}
	return out
}

func TestDuplicatedIndexPodsForRemoval(t *testing.T) {
	const noIndex = "-"
	cases := map[string]struct {
		pods        []apIndexPhase
		wantRm      []apIndexPhase
		wantLeft    []apIndexPhase
		completions int
	}{
		// IDXT:725-812 (TestAppendDuplicatedIndexPodsForRemoval).
		"all unique": {
			pods: []apIndexPhase{
				{noIndex, PodPending},
				{"2", PodPending},
				{"5", PodRunning},
				{"6", PodRunning},
			},
			wantRm: []apIndexPhase{
				{noIndex, PodPending},
				{"6", PodRunning},
			},
			wantLeft: []apIndexPhase{
				{"2", PodPending},
				{"5", PodRunning},
			},
			completions: 6,
		},
		"all with index": {
			pods: []apIndexPhase{
				{"5", PodPending},
				{"0", PodRunning},
				{"3", PodPending},
				{"0", PodRunning},
				{"3", PodRunning},
				{"0", PodPending},
				{"6", PodRunning},
				{"6", PodPending},
			},
			wantRm: []apIndexPhase{
				{"0", PodPending},
				{"0", PodRunning},
				{"3", PodPending},
				{"6", PodRunning},
				{"6", PodPending},
			},
			wantLeft: []apIndexPhase{
				{"0", PodRunning},
				{"3", PodRunning},
				{"5", PodPending},
			},
			completions: 6,
		},
		"mixed": {
			pods: []apIndexPhase{
				{noIndex, PodPending},
				{"invalid", PodRunning},
				{"-2", PodRunning},
				{"0", PodPending},
				{"1", PodPending},
				{"1", PodPending},
				{"1", PodRunning},
			},
			wantRm: []apIndexPhase{
				{noIndex, PodPending},
				{"invalid", PodRunning},
				{"-2", PodRunning},
				{"1", PodPending},
				{"1", PodPending},
			},
			wantLeft: []apIndexPhase{
				{"0", PodPending},
				{"1", PodRunning},
			},
			completions: 6,
		},
		// Beyond upstream's table.
		"no pods": {completions: 3},
		"everything out of range": {
			pods:        []apIndexPhase{{"4", PodRunning}, {"3", PodPending}},
			wantRm:      []apIndexPhase{{"3", PodPending}, {"4", PodRunning}},
			completions: 3,
		},
		"index-less and out-of-range pods only: the out-of-range ones first": {
			pods:        []apIndexPhase{{"7", PodRunning}, {noIndex, PodPending}},
			wantRm:      []apIndexPhase{{"7", PodRunning}, {noIndex, PodPending}},
			completions: 3,
		},
		"only index-less pods": {
			pods:        []apIndexPhase{{noIndex, PodRunning}, {noIndex, PodPending}},
			wantRm:      []apIndexPhase{{noIndex, PodRunning}, {noIndex, PodPending}},
			completions: 3,
		},
		"a repeated last valid index before out-of-range pods": {
			pods:        []apIndexPhase{{"9", PodRunning}, {"2", PodRunning}, {"2", PodUnknown}},
			wantRm:      []apIndexPhase{{"9", PodRunning}, {"2", PodUnknown}},
			wantLeft:    []apIndexPhase{{"2", PodRunning}},
			completions: 3,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			pods := apIndexPods(tc.pods)
			orig := slices.Clone(pods)
			rm, left := duplicatedIndexPodsForRemoval(pods, tc.completions)
			if got := apIndexPhases(rm); !slices.Equal(got, tc.wantRm) {
				t.Errorf("rm = %v, want %v", got, tc.wantRm)
			}
			if got := apIndexPhases(left); !slices.Equal(got, tc.wantLeft) {
				t.Errorf("left = %v, want %v", got, tc.wantLeft)
			}
			if !slices.Equal(pods, orig) {
				t.Errorf("the input was reordered")
			}
		})
	}
}

func TestActivePodsForRemoval(t *testing.T) {
	t1 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func(name string, ix int, node, phase string, ready bool) *Pod {
		p := &Pod{Name: name, Index: ix, NodeName: node, Phase: phase, CreationTimestamp: t1}
		if ready {
			p.Conditions = apReady(t1)
		}
		return p
	}
	cases := map[string]struct {
		pods        []*Pod
		rmAtLeast   int
		indexed     bool
		completions int
		want        []string
	}{
		"NonIndexed: the first rmAtLeast in ActivePods order": {
			pods: []*Pod{
				mk("ready", -1, "n", PodRunning, true),
				mk("running", -1, "n", PodRunning, false),
				mk("unscheduled", -1, "", PodPending, false),
				mk("pending", -1, "n", PodPending, false),
			},
			rmAtLeast: 2,
			want:      []string{"unscheduled", "pending"},
		},
		"NonIndexed: none": {
			pods:      []*Pod{mk("a", -1, "n", PodRunning, false)},
			rmAtLeast: 0,
		},
		"NonIndexed: all, in order": {
			pods:      []*Pod{mk("ready", -1, "n", PodRunning, true), mk("running", -1, "n", PodRunning, false)},
			rmAtLeast: 2,
			want:      []string{"running", "ready"},
		},
		"NonIndexed: the index is ignored": {
			pods:      []*Pod{mk("ix0", 0, "n", PodRunning, true), mk("ix0b", 0, "n", PodRunning, true), mk("ix9", 9, "n", PodRunning, true)},
			rmAtLeast: 0, completions: 1,
		},
		"Indexed: every candidate even beyond rmAtLeast": {
			pods: []*Pod{
				mk("ok", 0, "n", PodRunning, true),
				mk("noindex", -1, "n", PodRunning, true),
				mk("out", 5, "n", PodRunning, true),
				mk("dupReady", 1, "n", PodRunning, true),
				mk("dupPending", 1, "n", PodPending, false),
			},
			rmAtLeast: 1, indexed: true, completions: 3,
			// The out-of-range pods are appended when met, before the
			// duplicates of the last valid index group (IDX:298-300).
			want: []string{"noindex", "out", "dupPending"},
		},
		"Indexed: candidates first, then the ActivePods order of the rest": {
			pods: []*Pod{
				mk("ready0", 0, "n", PodRunning, true),
				mk("running1", 1, "n", PodRunning, false),
				mk("pending2", 2, "n", PodPending, false),
				mk("out", 3, "n", PodRunning, true),
			},
			rmAtLeast: 3, indexed: true, completions: 3,
			want: []string{"out", "pending2", "running1"},
		},
		"Indexed: no candidates and rmAtLeast 0": {
			pods:      []*Pod{mk("a", 0, "n", PodRunning, true), mk("b", 1, "n", PodRunning, true)},
			rmAtLeast: 0, indexed: true, completions: 2,
		},
		"rmAtLeast above the pods: all of them": {
			pods:      []*Pod{mk("a", -1, "n", PodRunning, true), mk("b", -1, "", PodPending, false)},
			rmAtLeast: 5,
			want:      []string{"b", "a"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			orig := slices.Clone(tc.pods)
			got := apNames(activePodsForRemoval(tc.pods, tc.rmAtLeast, tc.indexed, tc.completions))
			if len(got) == 0 {
				got = nil
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("removal = %v, want %v", got, tc.want)
			}
			if !slices.Equal(tc.pods, orig) {
				t.Errorf("the input was reordered")
			}
		})
	}
}
