package job

import (
	"sort"
	"time"
)

// activePods sorts pods in upstream's controller.ActivePods order
// (CU:744-784, J9.1): the pod to delete first sorts first.
type activePods []*Pod

func (s activePods) Len() int      { return len(s) }
func (s activePods) Swap(i, j int) { s[i], s[j] = s[j], s[i] }

// Less is ActivePods.Less, rule by rule:
//  1. unassigned (NodeName "") before assigned — only when exactly one of
//     the two is unassigned;
//  2. phase Pending (0) < Unknown (1) < Running (2); any other phase
//     counts as 0, like Pending (podPhaseToOrdinal, CU:111);
//  3. not ready before ready (the first Ready condition is True);
//  4. both ready: the more recently ready first — the lastTransitionTime
//     of the first Ready=True condition, a zero time before any other,
//     exact times (no logarithmic buckets);
//  5. the higher maximum restartCount of the regular containers first,
//     then (equal) the higher maximum restartCount of the sidecars (init
//     containers in Pod.Sidecars; other init containers do not count);
//  6. the newer creationTimestamp first, a zero one before any other;
//
// otherwise equal.
func (s activePods) Less(i, j int) bool {
	a, b := s[i], s[j]
	if a.NodeName != b.NodeName && (a.NodeName == "" || b.NodeName == "") {
		return a.NodeName == ""
	}
	if pa, pb := podPhaseOrdinal(a.Phase), podPhaseOrdinal(b.Phase); pa != pb {
		return pa < pb
	}
	ra, rb := podIsReady(a), podIsReady(b)
	if ra != rb {
		return !ra
	}
	if ra && rb {
		if ta, tb := podReadySince(a), podReadySince(b); !ta.Equal(tb) {
			return zeroOrAfter(ta, tb)
		}
	}
	regA, sideA := podMaxRestarts(a)
	regB, sideB := podMaxRestarts(b)
	if regA != regB {
		return regA > regB
	}
	if sideA != sideB {
		return sideA > sideB
	}
	if !a.CreationTimestamp.Equal(b.CreationTimestamp) {
		return zeroOrAfter(a.CreationTimestamp, b.CreationTimestamp)
	}
	return false
}

// sortActivePods sorts pods in place in the ActivePods order (J9.1, see
// activePods.Less). Like upstream it uses sort.Sort, which is not stable:
// the order of pods that compare equal depends on their input order (Go's
// pdqsort is deterministic for a given input; it runs insertion sort,
// which is stable, up to 12 elements).
func sortActivePods(pods []*Pod) {
	sort.Sort(activePods(pods))
}

// podPhaseOrdinal is upstream podPhaseToOrdinal (CU:111): a missing map
// entry is 0.
func podPhaseOrdinal(phase string) int {
	switch phase {
	case PodUnknown:
		return 1
	case PodRunning:
		return 2
	}
	return 0
}

// podIsReady is podutil.IsPodReady: the first Ready condition is True.
func podIsReady(p *Pod) bool {
	for _, c := range p.Conditions {
		if c.Type == "Ready" {
			return c.Status == "True"
		}
	}
	return false
}

// podReadySince is upstream podReadyTime (CU:936-946): for a ready pod the
// lastTransitionTime of the first Ready=True condition, else zero.
func podReadySince(p *Pod) time.Time {
	if !podIsReady(p) {
		return time.Time{}
	}
	for _, c := range p.Conditions {
		if c.Type == "Ready" && c.Status == "True" {
			return c.LastTransitionTime
		}
	}
	return time.Time{}
}

// zeroOrAfter is upstream afterOrZero (CU:913-918): a zero t1 or t2 puts
// the zero one first; else t1 after t2.
func zeroOrAfter(t1, t2 time.Time) bool {
	if t1.IsZero() || t2.IsZero() {
		return t1.IsZero()
	}
	return t1.After(t2)
}

// podMaxRestarts is upstream maxContainerRestarts and the comparison of
// compareMaxContainerRestarts (CU:948-983): the
// highest restartCount of the regular container statuses and of the
// sidecar init container statuses (matched by name to Pod.Sidecars), 0
// when there is none.
func podMaxRestarts(p *Pod) (regular, sidecar int32) {
	for _, c := range p.ContainerStatuses {
		regular = max(regular, c.RestartCount)
	}
	for _, c := range p.InitContainerStatuses {
		if isSidecar(p, c.Name) {
			sidecar = max(sidecar, c.RestartCount)
		}
	}
	return regular, sidecar
}

// byCompletionIndex sorts pods by Index (-1, no index, first), upstream's
// byCompletionIndex (IDX:503-515); sort.Sort, unstable, as there.
type byCompletionIndex []*Pod

func (s byCompletionIndex) Len() int           { return len(s) }
func (s byCompletionIndex) Swap(i, j int)      { s[i], s[j] = s[j], s[i] }
func (s byCompletionIndex) Less(i, j int) bool { return s[i].Index < s[j].Index }

// activePodsForRemoval picks the active pods to delete (J9; upstream
// activePodsForRemoval, JC:1992-2008). pods are the Job's active pods
// (J3.1); rmAtLeast is how many must go at least; indexed and completions
// (spec.completions, only read when indexed) give the completion mode.
//
// NonIndexed: the first rmAtLeast pods in ActivePods order (J9.1).
// Indexed (J9.2): first every candidate of duplicatedIndexPodsForRemoval
// (index-less pods, pods with index >= completions, all but one pod of a
// repeated index), all of them even beyond rmAtLeast; then, if fewer than
// rmAtLeast, the first pods in ActivePods order of the remaining ones.
//
// The result is in that order. pods itself is not reordered (upstream
// sorts the caller's slice in place; nothing here depends on that).
// rmAtLeast above the number of pods takes them all (upstream would slice
// out of range; its callers never ask for more than there are).
func activePodsForRemoval(pods []*Pod, rmAtLeast int, indexed bool, completions int) []*Pod {
	var rm, left []*Pod
	if indexed {
		rm, left = duplicatedIndexPodsForRemoval(pods, completions)
	} else {
		left = append([]*Pod(nil), pods...)
	}
	if len(rm) < rmAtLeast {
		sortActivePods(left)
		n := min(rmAtLeast-len(rm), len(left))
		rm = append(rm, left[:n]...)
	}
	return rm
}

// duplicatedIndexPodsForRemoval is upstream
// appendDuplicatedIndexPodsForRemoval with
// appendPodsWithSameIndexForRemovalAndRemaining (J9.2; IDX:287-312,
// IDX:377-390), on a copy of pods sorted by index (byCompletionIndex):
//   - the index-less pods go to rm;
//   - from the first pod with an index >= completions, that pod and all
//     after it go to rm, in index order;
//   - a valid index held by one pod: that pod goes to left;
//   - a valid index held by several: the group is sorted in ActivePods
//     order and all but its last (the most advanced) go to rm, the last
//     to left.
//
// rm is in index order except that the out-of-range pods, appended when
// met, precede the candidates of the last group, which is flushed after
// the loop as upstream's: the duplicates of the last valid index, or the
// index-less pods when no pod has a valid index. left is in index order.
func duplicatedIndexPodsForRemoval(pods []*Pod, completions int) (rm, left []*Pod) {
	sorted := append([]*Pod(nil), pods...)
	sort.Sort(byCompletionIndex(sorted))
	flush := func(group []*Pod, ix int) {
		switch {
		case ix < 0:
			rm = append(rm, group...)
		case len(group) == 0:
		case len(group) == 1:
			left = append(left, group[0])
		default:
			sortActivePods(group)
			rm = append(rm, group[:len(group)-1]...)
			left = append(left, group[len(group)-1])
		}
	}
	start, end, last := 0, len(sorted), -1
	for i, p := range sorted {
		if p.Index >= completions {
			rm = append(rm, sorted[i:]...)
			end = i
			break
		}
		if p.Index != last {
			flush(sorted[start:i], last)
			start, last = i, p.Index
		}
	}
	flush(sorted[start:end], last)
	return rm, left
}
