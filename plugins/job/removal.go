package job

import (
	"sort"
	"time"
)

// activePodsLess is upstream ActivePods.Less (CU:749-784): the pod to
// delete first sorts first. Unassigned before assigned; Pending < Unknown
// < Running (other phases rank as Pending); not ready before ready; of two
// ready pods the more recently ready (zero time first); more container
// restarts, then more sidecar restarts; newer (zero creation time first).
func activePodsLess(a, b *Pod) bool {
	if a.NodeName != b.NodeName && (a.NodeName == "" || b.NodeName == "") {
		return a.NodeName == ""
	}
	if pa, pb := phaseOrdinal(a.Phase), phaseOrdinal(b.Phase); pa != pb {
		return pa < pb
	}
	ra, rb := a.ready(), b.ready()
	if ra != rb {
		return !ra
	}
	if ra && rb {
		if ta, tb := a.readyTime(), b.readyTime(); !ta.Equal(tb) {
			return afterOrZero(ta, tb)
		}
	}
	aReg, aSide := a.maxRestarts()
	bReg, bSide := b.maxRestarts()
	if aReg != bReg {
		return aReg > bReg
	}
	if aSide != bSide {
		return aSide > bSide
	}
	if !a.CreationTimestamp.Equal(b.CreationTimestamp) {
		return afterOrZero(a.CreationTimestamp, b.CreationTimestamp)
	}
	return false
}

func phaseOrdinal(phase string) int {
	switch phase {
	case PodUnknown:
		return 1
	case PodRunning:
		return 2
	}
	return 0
}

func afterOrZero(a, b time.Time) bool {
	if a.IsZero() || b.IsZero() {
		return a.IsZero()
	}
	return a.After(b)
}

// readyTime is the lastTransitionTime of a Ready=True condition.
func (p *Pod) readyTime() time.Time {
	for _, c := range p.Conditions {
		if c.Type == "Ready" && c.Status == "True" {
			return c.LastTransitionTime
		}
	}
	return time.Time{}
}

// maxRestarts are the highest restart counts of the regular containers and
// of the sidecars.
func (p *Pod) maxRestarts() (regular, sidecar int32) {
	for _, c := range p.ContainerStatuses {
		regular = max(regular, c.RestartCount)
	}
	for _, c := range p.InitContainerStatuses {
		for _, s := range p.Sidecars {
			if s == c.Name {
				sidecar = max(sidecar, c.RestartCount)
			}
		}
	}
	return regular, sidecar
}

func sortActivePods(pods []*Pod) {
	sort.Slice(pods, func(i, j int) bool { return activePodsLess(pods[i], pods[j]) })
}

// activePodsForRemoval is upstream activePodsForRemoval (J9): Indexed Jobs
// first give up every index-less and out-of-range pod and all but the most
// advanced pod of a repeated index; then, either mode, the first pods in
// ActivePods order until rmAtLeast are chosen. Every candidate is
// returned, even beyond rmAtLeast. pods is not modified.
func activePodsForRemoval(s *sync, pods []*Pod, rmAtLeast int) []*Pod {
	var rm, left []*Pod
	if s.indexed {
		rm, left = duplicatedIndexPodsForRemoval(pods, s.completions)
	} else {
		left = append([]*Pod(nil), pods...)
	}
	if len(rm) < rmAtLeast {
		sortActivePods(left)
		rm = append(rm, left[:rmAtLeast-len(rm)]...)
	}
	return rm
}

// duplicatedIndexPodsForRemoval is upstream appendDuplicatedIndexPodsForRemoval
// (IDX:293-312, IDX:377-390).
func duplicatedIndexPodsForRemoval(pods []*Pod, completions int) (rm, left []*Pod) {
	sorted := append([]*Pod(nil), pods...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Index < sorted[j].Index })
	group := func(g []*Pod, ix int) {
		switch {
		case len(g) == 0:
		case ix < 0:
			rm = append(rm, g...)
		case len(g) == 1:
			left = append(left, g[0])
		default:
			g = append([]*Pod(nil), g...)
			sortActivePods(g)
			rm = append(rm, g[:len(g)-1]...)
			left = append(left, g[len(g)-1])
		}
	}
	start, last := 0, -1
	end := len(sorted)
	for i, p := range sorted {
		if p.Index >= completions {
			rm = append(rm, sorted[i:]...)
			end = i
			break
		}
		if p.Index != last {
			group(sorted[start:i], last)
			start, last = i, p.Index
		}
	}
	group(sorted[start:end], last)
	return rm, left
}

// podsWithDelayedDeletionPerIndex is upstream
// getPodsWithDelayedDeletionPerIndex (J12.4): per index that is not done
// (skip reports completed, failed or active indexes), the failed,
// finalizer-carrying pod with the highest absolute failure count keeps its
// finalizer until a replacement exists; a later pod replaces the pick when
// its count is not lower and it did not finish earlier.
func podsWithDelayedDeletionPerIndex(pods []*Pod, completions int, skip func(ix int) bool, isFailed func(*Pod) bool) map[int]*Pod {
	out := map[int]*Pod{}
	for _, p := range pods {
		if !p.HasFinalizer || p.Index < 0 || p.Index >= completions || !isFailed(p) || skip(p.Index) {
			continue
		}
		cur, ok := out[p.Index]
		if !ok || (absoluteFailureCount(cur) <= absoluteFailureCount(p) && !finishTime(p).Before(finishTime(cur))) {
			out[p.Index] = p
		}
	}
	return out
}
