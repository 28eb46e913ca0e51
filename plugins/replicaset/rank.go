package replicaset

import (
	"math"
	"sort"
	"time"
)

// podsToDelete picks n of the active pods to delete (upstream
// getPodsToDelete): all of them, unsorted, when n covers them; otherwise the
// first n by deletion preference. Ranks count the active related pods on
// each pod's node.
func podsToDelete(active, related []*Pod, n int, now time.Time) []*Pod {
	if n >= len(active) {
		return active[:n:n]
	}
	onNode := map[string]int{}
	for _, p := range related {
		if p.active() {
			onNode[p.NodeName]++
		}
	}
	ranked := &rankedPods{pods: append([]*Pod(nil), active...), rank: make([]int, len(active)), now: now}
	for i, p := range ranked.pods {
		ranked.rank[i] = onNode[p.NodeName]
	}
	sort.Sort(ranked)
	return ranked.pods[:n]
}

// rankedPods sorts pods so the ones to delete first come first (upstream
// ActivePodsWithRanks).
type rankedPods struct {
	pods []*Pod
	rank []int
	now  time.Time
}

func (s *rankedPods) Len() int { return len(s.pods) }

func (s *rankedPods) Swap(i, j int) {
	s.pods[i], s.pods[j] = s.pods[j], s.pods[i]
	s.rank[i], s.rank[j] = s.rank[j], s.rank[i]
}

// phaseOrdinal: Pending < Unknown < Running; any other phase ranks as Pending.
func phaseOrdinal(phase string) int {
	switch phase {
	case "Unknown":
		return 1
	case "Running":
		return 2
	}
	return 0
}

func (s *rankedPods) Less(i, j int) bool {
	a, b := s.pods[i], s.pods[j]
	// 1. Unassigned before assigned.
	if a.NodeName != b.NodeName && (a.NodeName == "" || b.NodeName == "") {
		return a.NodeName == ""
	}
	// 2. Pending < Unknown < Running.
	if pa, pb := phaseOrdinal(a.Phase), phaseOrdinal(b.Phase); pa != pb {
		return pa < pb
	}
	// 3. Not ready before ready.
	if a.Ready != b.Ready {
		return !a.Ready
	}
	// 4. Lower pod-deletion-cost first.
	if a.DeletionCost != b.DeletionCost {
		return a.DeletionCost < b.DeletionCost
	}
	// 5. More colocated related pods first.
	if s.rank[i] != s.rank[j] {
		return s.rank[i] > s.rank[j]
	}
	// 6. Both ready: the more recently ready first, in log2 buckets.
	if a.Ready && b.Ready && !a.ReadyTime.Equal(b.ReadyTime) {
		return s.timeLess(a.ReadyTime, b.ReadyTime, a.UID, b.UID)
	}
	// 7. More restarts first; then more sidecar restarts.
	if a.Restarts != b.Restarts {
		return a.Restarts > b.Restarts
	}
	if a.SidecarRestarts != b.SidecarRestarts {
		return a.SidecarRestarts > b.SidecarRestarts
	}
	// 8. Newer first, in log2 buckets.
	if !a.CreationTimestamp.Equal(b.CreationTimestamp) {
		return s.timeLess(a.CreationTimestamp, b.CreationTimestamp, a.UID, b.UID)
	}
	return false
}

// timeLess orders two different timestamps: a zero time first; then the
// more recent first, by floor(log2(now - t)) buckets, with the UID deciding
// within one bucket.
func (s *rankedPods) timeLess(t1, t2 time.Time, uid1, uid2 string) bool {
	if s.now.IsZero() || t1.IsZero() || t2.IsZero() {
		if t1.IsZero() || t2.IsZero() {
			return t1.IsZero()
		}
		return t1.After(t2)
	}
	r1, r2 := log2Bucket(s.now.Sub(t1)), log2Bucket(s.now.Sub(t2))
	if r1 == r2 {
		return uid1 < uid2
	}
	return r1 < r2
}

func log2Bucket(d time.Duration) int64 {
	if d <= 0 {
		return -1
	}
	return int64(math.Log2(float64(d)))
}
