package deployment

// Pure helpers of the Deployment plugin: revisions and annotations,
// fenceposts, proportions, ordering, conditions and status. Each follows
// the rule of kube-controller-manager v1.37.2 cited next to it (the
// D-numbers of upstream-deployment.md); none reads the clock: whatever
// needs the time takes it as now.

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"wasmctl.dev/wasmctl/abi/sdk/intstr"
	appsv1 "wasmctl.dev/wasmctl/plugins/internal/kube/apps/v1"
	corev1 "wasmctl.dev/wasmctl/plugins/internal/kube/core/v1"
	metav1 "wasmctl.dev/wasmctl/plugins/internal/kube/meta/v1"
)

// Annotation keys the controller reads or writes.
const (
	RevisionAnnotation        = "deployment.kubernetes.io/revision"
	RevisionHistoryAnnotation = "deployment.kubernetes.io/revision-history"
	DesiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas"
	MaxReplicasAnnotation     = "deployment.kubernetes.io/max-replicas"
	RollbackToAnnotation      = "deprecated.deployment.rollback.to"
	LastAppliedAnnotation     = "kubectl.kubernetes.io/last-applied-configuration"
)

// Reasons of the Progressing and Available conditions, as upstream's.
const (
	ReasonReplicaSetUpdated          = "ReplicaSetUpdated"
	ReasonFailedRSCreate             = "ReplicaSetCreateError"
	ReasonNewRSCreated               = "NewReplicaSetCreated"
	ReasonFoundNewRS                 = "FoundNewReplicaSet"
	ReasonNewRSAvailable             = "NewReplicaSetAvailable"
	ReasonTimedOut                   = "ProgressDeadlineExceeded"
	ReasonPaused                     = "DeploymentPaused"
	ReasonResumed                    = "DeploymentResumed"
	ReasonMinimumReplicasAvailable   = "MinimumReplicasAvailable"
	ReasonMinimumReplicasUnavailable = "MinimumReplicasUnavailable"
)

// notCopied are the annotations that never travel between a Deployment
// and its ReplicaSets, in either direction (D8).
var notCopied = map[string]struct{}{
	LastAppliedAnnotation:     {},
	RevisionAnnotation:        {},
	RevisionHistoryAnnotation: {},
	DesiredReplicasAnnotation: {},
	MaxReplicasAnnotation:     {},
	RollbackToAnnotation:      {},
}

func isNotCopied(key string) bool {
	_, skip := notCopied[key]
	return skip
}

// ---------------------------------------------------------------------------
// Revisions (D7)

// revision is the object's revision annotation as a base-10 int64: 0 when
// the annotation is absent, an error when it is present but not a number.
func revision(obj metav1.Object) (int64, error) {
	s, ok := obj.GetAnnotations()[RevisionAnnotation]
	if !ok {
		return 0, nil
	}
	return strconv.ParseInt(s, 10, 64)
}

// maxRevision is the highest revision among rss (0 for none); ReplicaSets
// whose revision does not parse are left out.
func maxRevision(rss []*appsv1.ReplicaSet) int64 {
	var highest int64
	for _, rs := range rss {
		if rs == nil {
			continue
		}
		if v, err := revision(rs); err == nil && v > highest {
			highest = v
		}
	}
	return highest
}

// lastRevision is the revision before the highest one (D18.4): a running
// (highest, second) pair where a value equal to the highest pushes the old
// highest down, so two ReplicaSets sharing the top revision make it the
// answer. Unparsable revisions are left out; 0 when there is none.
func lastRevision(rss []*appsv1.ReplicaSet) int64 {
	var highest, second int64
	for _, rs := range rss {
		if rs == nil {
			continue
		}
		v, err := revision(rs)
		switch {
		case err != nil:
		case v >= highest:
			highest, second = v, highest
		case v > second:
			second = v
		}
	}
	return second
}

// setNewReplicaSetAnnotations brings the new ReplicaSet's annotations up to
// date (D7.2): the Deployment's annotations are copied (D8.1); the
// revision is raised to newRevision when it is lower (never lowered), the
// previous value, if the annotation was present, appended to the
// revision-history (oldest entries dropped to stay within
// revHistoryLimitInChars; left as it is when even the one entry would not
// fit); and for a ReplicaSet about to be created (!exists) the
// desired/max-replicas annotations are set (D9.1). It reports whether
// anything changed, except that an RS revision or a newRevision that is
// not a number ends it early reporting false, the copies already made
// kept in rs (as upstream).
func setNewReplicaSetAnnotations(d *appsv1.Deployment, rs *appsv1.ReplicaSet, newRevision string, exists bool, revHistoryLimitInChars int) bool {
	changed := copyDeploymentAnnotationsToReplicaSet(d, rs)

	oldRevision, hadRevision := rs.Annotations[RevisionAnnotation]
	oldRev, err := strconv.ParseInt(oldRevision, 10, 64)
	if err != nil {
		if oldRevision != "" {
			return false
		}
		// Absent, or present but empty: revision 0.
		oldRev = 0
	}
	newRev, err := strconv.ParseInt(newRevision, 10, 64)
	if err != nil {
		return false
	}
	if oldRev < newRev {
		rs.Annotations[RevisionAnnotation] = newRevision
		changed = true
		if hadRevision {
			appendRevisionHistory(rs, oldRevision, revHistoryLimitInChars)
		}
	}
	if !exists {
		replicas := *d.Spec.Replicas
		if setReplicasAnnotations(rs, replicas, replicas+maxSurge(d)) {
			changed = true
		}
	}
	return changed
}

// appendRevisionHistory appends old to the comma-separated
// revision-history annotation. A history that is empty (or whose first
// entry is empty) is replaced by old alone; otherwise as few leading
// entries are dropped as it takes for the joined result to fit in limit
// characters, and when even old alone is longer than limit the history is
// left unchanged.
func appendRevisionHistory(rs *appsv1.ReplicaSet, old string, limit int) {
	history := rs.Annotations[RevisionHistoryAnnotation]
	entries := strings.Split(history, ",")
	if entries[0] == "" {
		rs.Annotations[RevisionHistoryAnnotation] = old
		return
	}
	// Length of the history with old appended, minus what dropping the
	// first `drop` entries (each with its comma) saves.
	length := len(history) + 1 + len(old)
	drop := 0
	for length > limit && drop < len(entries) {
		length -= len(entries[drop]) + 1
		drop++
	}
	if length > limit {
		return
	}
	kept := append(append([]string{}, entries[drop:]...), old)
	rs.Annotations[RevisionHistoryAnnotation] = strings.Join(kept, ",")
}

// copyDeploymentAnnotationsToReplicaSet adds the Deployment's annotations
// to the ReplicaSet, overwriting different values, except the six
// controller/kubectl keys (D8.1); nothing is removed. A nil annotation map
// on rs becomes an empty one. It reports whether rs changed.
func copyDeploymentAnnotationsToReplicaSet(d *appsv1.Deployment, rs *appsv1.ReplicaSet) bool {
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	changed := false
	for k, v := range d.Annotations {
		if isNotCopied(k) {
			continue
		}
		if cur, ok := rs.Annotations[k]; ok && cur == v {
			continue
		}
		rs.Annotations[k] = v
		changed = true
	}
	return changed
}

// setDeploymentAnnotationsTo replaces the Deployment's annotations with
// those of the ReplicaSet it rolls back to (D8.2): the Deployment keeps
// only its own annotations among the six not-copied keys, and takes every
// other annotation of rollbackToRS.
func setDeploymentAnnotationsTo(d *appsv1.Deployment, rollbackToRS *appsv1.ReplicaSet) {
	kept := map[string]string{}
	for k, v := range d.Annotations {
		if isNotCopied(k) {
			kept[k] = v
		}
	}
	for k, v := range rollbackToRS.Annotations {
		if !isNotCopied(k) {
			kept[k] = v
		}
	}
	d.Annotations = kept
}

// ---------------------------------------------------------------------------
// desired-replicas / max-replicas (D9)

// setReplicasAnnotations writes the desired- and max-replicas annotations
// as decimal strings and reports whether either changed.
func setReplicasAnnotations(rs *appsv1.ReplicaSet, desiredReplicas, maxReplicas int32) bool {
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	changed := false
	set := func(key string, value int32) {
		if s := strconv.FormatInt(int64(value), 10); rs.Annotations[key] != s {
			rs.Annotations[key] = s
			changed = true
		}
	}
	set(DesiredReplicasAnnotation, desiredReplicas)
	set(MaxReplicasAnnotation, maxReplicas)
	return changed
}

// replicasAnnotationsNeedUpdate: the annotation map is nil, or either
// annotation is not exactly the decimal string of its value.
func replicasAnnotationsNeedUpdate(rs *appsv1.ReplicaSet, desiredReplicas, maxReplicas int32) bool {
	if rs.Annotations == nil {
		return true
	}
	return rs.Annotations[DesiredReplicasAnnotation] != strconv.FormatInt(int64(desiredReplicas), 10) ||
		rs.Annotations[MaxReplicasAnnotation] != strconv.FormatInt(int64(maxReplicas), 10)
}

// getDesiredReplicasAnnotation is the desired-replicas annotation, read
// strictly (D9.2); false when absent or not in [0, MaxInt32].
func getDesiredReplicasAnnotation(rs *appsv1.ReplicaSet) (int32, bool) {
	return nonNegativeInt32Annotation(rs, DesiredReplicasAnnotation)
}

// getMaxReplicasAnnotation is the max-replicas annotation, read as
// getDesiredReplicasAnnotation reads its own.
func getMaxReplicasAnnotation(rs *appsv1.ReplicaSet) (int32, bool) {
	return nonNegativeInt32Annotation(rs, MaxReplicasAnnotation)
}

// nonNegativeInt32Annotation parses the annotation as an unsigned decimal
// (no sign, no spaces) of at most MaxInt32.
func nonNegativeInt32Annotation(rs *appsv1.ReplicaSet, key string) (int32, bool) {
	s, ok := rs.Annotations[key]
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil || v > math.MaxInt32 {
		return 0, false
	}
	return int32(v), true
}

// ---------------------------------------------------------------------------
// maxSurge / maxUnavailable (D10)

// resolveFenceposts turns maxSurge and maxUnavailable into counts for
// desired replicas: nil is 0, an int is itself, a percentage is rounded up
// for the surge and down for unavailability; if both come out 0,
// unavailability is 1. A string that is not "<int>%" is an error.
func resolveFenceposts(maxSurge, maxUnavailable *intstr.IntOrString, desired int32) (int32, int32, error) {
	zero := intstr.FromInt32(0)
	surge, err := intstr.GetScaledValueFromIntOrPercent(intstr.ValueOrDefault(maxSurge, zero), int(desired), true)
	if err != nil {
		return 0, 0, err
	}
	unavailable, err := intstr.GetScaledValueFromIntOrPercent(intstr.ValueOrDefault(maxUnavailable, zero), int(desired), false)
	if err != nil {
		return 0, 0, err
	}
	if surge == 0 && unavailable == 0 {
		// The API forbids 0/0, but percentages can round down to it.
		unavailable = 1
	}
	return int32(surge), int32(unavailable), nil
}

func isRollingUpdate(d *appsv1.Deployment) bool {
	return d.Spec.Strategy.Type == appsv1.RollingUpdateDeploymentStrategyType
}

// rollingFenceposts resolves the Deployment's own fenceposts; errors (which
// validation rules out) count as 0/0. A RollingUpdate Deployment without
// a rollingUpdate block (upstream would dereference nil) counts as nil/nil.
func rollingFenceposts(d *appsv1.Deployment) (int32, int32) {
	var surge, unavailable *intstr.IntOrString
	if ru := d.Spec.Strategy.RollingUpdate; ru != nil {
		surge, unavailable = ru.MaxSurge, ru.MaxUnavailable
	}
	s, u, err := resolveFenceposts(surge, unavailable, *d.Spec.Replicas)
	if err != nil {
		return 0, 0
	}
	return s, u
}

// maxUnavailable is how many pods a rolling update may have unavailable:
// 0 for Recreate or 0 replicas, else the fencepost clamped to replicas.
func maxUnavailable(d *appsv1.Deployment) int32 {
	if !isRollingUpdate(d) || *d.Spec.Replicas == 0 {
		return 0
	}
	_, u := rollingFenceposts(d)
	return min(u, *d.Spec.Replicas)
}

// maxSurge is how many pods a rolling update may run above replicas: 0
// for Recreate, else the surge fencepost (not clamped).
func maxSurge(d *appsv1.Deployment) int32 {
	if !isRollingUpdate(d) {
		return 0
	}
	s, _ := rollingFenceposts(d)
	return s
}

// newRSNewReplicas is the size the new ReplicaSet should have (D12.1). For
// RollingUpdate: with maxTotal = replicas + maxSurge and current = Σ spec
// over allRSs, the new RS keeps its size when current ≥ maxTotal, else it
// grows by min(maxTotal − current, replicas − new). Recreate: replicas.
// maxSurge is read without the nil default (a nil one is an error).
func newRSNewReplicas(d *appsv1.Deployment, allRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) (int32, error) {
	replicas := *d.Spec.Replicas
	switch d.Spec.Strategy.Type {
	case appsv1.RollingUpdateDeploymentStrategyType:
		var surgeValue *intstr.IntOrString
		if ru := d.Spec.Strategy.RollingUpdate; ru != nil {
			surgeValue = ru.MaxSurge
		}
		surge, err := intstr.GetScaledValueFromIntOrPercent(surgeValue, int(replicas), true)
		if err != nil {
			return 0, err
		}
		current := getReplicaCountForReplicaSets(allRSs)
		maxTotal := replicas + int32(surge)
		if current >= maxTotal {
			return *newRS.Spec.Replicas, nil
		}
		return *newRS.Spec.Replicas + min(maxTotal-current, replicas-*newRS.Spec.Replicas), nil
	case appsv1.RecreateDeploymentStrategyType:
		return replicas, nil
	default:
		return 0, fmt.Errorf("deployment type %v isn't supported", d.Spec.Strategy.Type)
	}
}

// ---------------------------------------------------------------------------
// Scaling (D16)

// isSaturated: rs is sized for, annotated for and fully available at the
// Deployment's replicas (D16.2b). Unlike the other readers of the
// desired-replicas annotation this one takes it with Atoi (a sign is
// accepted) and truncates it to int32, as upstream does.
func isSaturated(d *appsv1.Deployment, rs *appsv1.ReplicaSet) bool {
	if rs == nil {
		return false
	}
	desired, err := strconv.Atoi(rs.Annotations[DesiredReplicasAnnotation])
	if err != nil {
		return false
	}
	replicas := *d.Spec.Replicas
	return *rs.Spec.Replicas == replicas && int32(desired) == replicas && rs.Status.AvailableReplicas == replicas
}

// findActiveOrLatest is the one ReplicaSet a scaling event resizes alone
// (D16.2a): with no active ReplicaSet the new one, or without it the
// newest old one; with exactly one active ReplicaSet that one; nil when
// two or more are active (or there are none at all). oldRSs is sorted
// newest first in place, as upstream does.
func findActiveOrLatest(newRS *appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet) *appsv1.ReplicaSet {
	if newRS == nil && len(oldRSs) == 0 {
		return nil
	}
	sort.Sort(sort.Reverse(byCreation(oldRSs)))
	all := make([]*appsv1.ReplicaSet, 0, len(oldRSs)+1)
	all = append(append(all, oldRSs...), newRS)
	active := filterActiveReplicaSets(all)
	switch len(active) {
	case 0:
		if newRS != nil {
			return newRS
		}
		return oldRSs[0]
	case 1:
		return active[0]
	default:
		return nil
	}
}

// getProportion is how many replicas rs gains (or, negative, loses) in a
// proportional scale (D16.3): none for a zero-sized rs or when nothing is
// left to distribute; else its fraction, capped by what is left
// (deploymentReplicasToAdd − deploymentReplicasAdded) in the direction of
// the scale.
func getProportion(rs *appsv1.ReplicaSet, d appsv1.Deployment, deploymentReplicasToAdd, deploymentReplicasAdded int32) int32 {
	if rs == nil || *rs.Spec.Replicas == 0 || deploymentReplicasToAdd == 0 || deploymentReplicasToAdd == deploymentReplicasAdded {
		return 0
	}
	fraction := replicaSetFraction(rs, &d)
	left := deploymentReplicasToAdd - deploymentReplicasAdded
	if deploymentReplicasToAdd > 0 {
		return min(fraction, left)
	}
	return max(fraction, left)
}

// replicaSetFraction is rs's share of the new size minus its size: its
// whole size (negative) when the Deployment goes to 0; else
// round(spec·(replicas+maxSurge) / before) − spec, where before is the
// max-replicas annotation, or the Deployment's status.replicas when that
// is absent, unreadable or 0 (no change when that is 0 too). The product
// is an int32 multiplication (it wraps as upstream's does) and the
// rounding is half away from zero.
func replicaSetFraction(rs *appsv1.ReplicaSet, d *appsv1.Deployment) int32 {
	size := *rs.Spec.Replicas
	if *d.Spec.Replicas == 0 {
		return -size
	}
	newMax := *d.Spec.Replicas + maxSurge(d)
	before, ok := getMaxReplicasAnnotation(rs)
	if !ok || before == 0 {
		before = d.Status.Replicas
		if before == 0 {
			return 0
		}
	}
	product := size * newMax
	return int32(math.Round(float64(product)/float64(before))) - size
}

// filterActiveReplicaSets keeps the ReplicaSets with spec.replicas > 0
// (nil ones dropped); nil when none is.
func filterActiveReplicaSets(rss []*appsv1.ReplicaSet) []*appsv1.ReplicaSet {
	var active []*appsv1.ReplicaSet
	for _, rs := range rss {
		if rs != nil && *rs.Spec.Replicas > 0 {
			active = append(active, rs)
		}
	}
	return active
}

// sumReplicaSets adds f over the non-nil ReplicaSets.
func sumReplicaSets(rss []*appsv1.ReplicaSet, f func(*appsv1.ReplicaSet) int32) int32 {
	var total int32
	for _, rs := range rss {
		if rs != nil {
			total += f(rs)
		}
	}
	return total
}

// getReplicaCountForReplicaSets is Σ spec.replicas.
func getReplicaCountForReplicaSets(rss []*appsv1.ReplicaSet) int32 {
	return sumReplicaSets(rss, func(rs *appsv1.ReplicaSet) int32 { return *rs.Spec.Replicas })
}

// getActualReplicaCountForReplicaSets is Σ status.replicas.
func getActualReplicaCountForReplicaSets(rss []*appsv1.ReplicaSet) int32 {
	return sumReplicaSets(rss, func(rs *appsv1.ReplicaSet) int32 { return rs.Status.Replicas })
}

// getReadyReplicaCountForReplicaSets is Σ status.readyReplicas.
func getReadyReplicaCountForReplicaSets(rss []*appsv1.ReplicaSet) int32 {
	return sumReplicaSets(rss, func(rs *appsv1.ReplicaSet) int32 { return rs.Status.ReadyReplicas })
}

// getAvailableReplicaCountForReplicaSets is Σ status.availableReplicas.
func getAvailableReplicaCountForReplicaSets(rss []*appsv1.ReplicaSet) int32 {
	return sumReplicaSets(rss, func(rs *appsv1.ReplicaSet) int32 { return rs.Status.AvailableReplicas })
}

// getTerminatingReplicaCountForReplicaSets is Σ status.terminatingReplicas
// (D20.3): a ReplicaSet its controller never synced (observedGeneration 0)
// that reports none is left out; any other that reports none makes the sum
// unknown (nil); otherwise a pointer to the sum, 0 included.
func getTerminatingReplicaCountForReplicaSets(rss []*appsv1.ReplicaSet) *int32 {
	var total int32
	for _, rs := range rss {
		switch {
		case rs == nil:
		case rs.Status.TerminatingReplicas == nil && rs.Status.ObservedGeneration == 0:
		case rs.Status.TerminatingReplicas == nil:
			return nil
		default:
			total += *rs.Status.TerminatingReplicas
		}
	}
	return &total
}

// ---------------------------------------------------------------------------
// Orders. Each sorts in place with sort.Sort and the same comparison as
// upstream's (sort.Sort, not sort.Stable, there too), so that even the
// cases the comparison does not order strictly — unparsable revisions in
// sortByRevision, identical timestamp and name — come out as upstream's.
// For ReplicaSets of one namespace (distinct names) the creation-based
// orders are strict, so the result is the same as a stable sort's.

// byCreation: creationTimestamp ascending, then name ascending.
type byCreation []*appsv1.ReplicaSet

func (o byCreation) Len() int           { return len(o) }
func (o byCreation) Swap(i, j int)      { o[i], o[j] = o[j], o[i] }
func (o byCreation) Less(i, j int) bool { return createdBefore(o[i], o[j]) }

func createdBefore(a, b *appsv1.ReplicaSet) bool {
	if a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.Name < b.Name
	}
	return a.CreationTimestamp.Before(&b.CreationTimestamp)
}

// bySize: spec.replicas descending; equal sizes older first, or newer
// first with newer set.
type bySize struct {
	rss   []*appsv1.ReplicaSet
	newer bool
}

func (o bySize) Len() int      { return len(o.rss) }
func (o bySize) Swap(i, j int) { o.rss[i], o.rss[j] = o.rss[j], o.rss[i] }
func (o bySize) Less(i, j int) bool {
	a, b := o.rss[i], o.rss[j]
	if *a.Spec.Replicas != *b.Spec.Replicas {
		return *a.Spec.Replicas > *b.Spec.Replicas
	}
	if o.newer {
		return createdBefore(b, a)
	}
	return createdBefore(a, b)
}

// byRevision: revision ascending; creation order when either revision
// does not parse or they are equal.
type byRevision []*appsv1.ReplicaSet

func (o byRevision) Len() int      { return len(o) }
func (o byRevision) Swap(i, j int) { o[i], o[j] = o[j], o[i] }
func (o byRevision) Less(i, j int) bool {
	ri, erri := revision(o[i])
	rj, errj := revision(o[j])
	if erri != nil || errj != nil || ri == rj {
		return createdBefore(o[i], o[j])
	}
	return ri < rj
}

// sortByCreation orders by creationTimestamp, then name, ascending.
func sortByCreation(rss []*appsv1.ReplicaSet) { sort.Sort(byCreation(rss)) }

// sortBySizeNewer orders by spec.replicas descending, equal sizes newest
// first (creationTimestamp, then name, descending): a growing scale.
func sortBySizeNewer(rss []*appsv1.ReplicaSet) { sort.Sort(bySize{rss: rss, newer: true}) }

// sortBySizeOlder orders by spec.replicas descending, equal sizes oldest
// first: a shrinking scale.
func sortBySizeOlder(rss []*appsv1.ReplicaSet) { sort.Sort(bySize{rss: rss}) }

// sortByRevision orders by revision ascending (absent = 0), falling back
// to creation order (D19.3).
func sortByRevision(rss []*appsv1.ReplicaSet) { sort.Sort(byRevision(rss)) }

// ---------------------------------------------------------------------------
// Conditions (D21)

// newDeploymentCondition is a condition last updated and transitioned now.
func newDeploymentCondition(condType appsv1.DeploymentConditionType, status corev1.ConditionStatus, reason, message string, now time.Time) *appsv1.DeploymentCondition {
	t := metav1.NewTime(now)
	return &appsv1.DeploymentCondition{
		Type:               condType,
		Status:             status,
		LastUpdateTime:     t,
		LastTransitionTime: t,
		Reason:             reason,
		Message:            message,
	}
}

// getDeploymentCondition is a copy of the first condition of that type,
// nil if there is none; changing it does not change status.
func getDeploymentCondition(status appsv1.DeploymentStatus, condType appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for _, c := range status.Conditions {
		if c.Type == condType {
			return &c
		}
	}
	return nil
}

// setDeploymentCondition sets the condition of its type (D21.2). An
// existing one with the same status and reason is kept as it is (message
// and times included). Otherwise every existing one of that type is
// removed and condition appended at the end, with the existing one's
// lastTransitionTime when the status did not change.
func setDeploymentCondition(status *appsv1.DeploymentStatus, condition appsv1.DeploymentCondition) {
	if cur := getDeploymentCondition(*status, condition.Type); cur != nil {
		if cur.Status == condition.Status && cur.Reason == condition.Reason {
			return
		}
		if cur.Status == condition.Status {
			condition.LastTransitionTime = cur.LastTransitionTime
		}
	}
	status.Conditions = append(withoutCondition(status.Conditions, condition.Type), condition)
}

// removeDeploymentCondition removes every condition of that type; a list
// left empty becomes nil (so reflect.DeepEqual sees what upstream's does).
func removeDeploymentCondition(status *appsv1.DeploymentStatus, condType appsv1.DeploymentConditionType) {
	status.Conditions = withoutCondition(status.Conditions, condType)
}

// withoutCondition is a new slice (nil when empty) of the conditions not of
// that type.
func withoutCondition(conds []appsv1.DeploymentCondition, condType appsv1.DeploymentConditionType) []appsv1.DeploymentCondition {
	var out []appsv1.DeploymentCondition
	for _, c := range conds {
		if c.Type != condType {
			out = append(out, c)
		}
	}
	return out
}

// replicaSetToDeploymentCondition copies a ReplicaSet condition; both of
// its times are the ReplicaSet condition's lastTransitionTime.
func replicaSetToDeploymentCondition(cond appsv1.ReplicaSetCondition) appsv1.DeploymentCondition {
	return appsv1.DeploymentCondition{
		Type:               appsv1.DeploymentConditionType(cond.Type),
		Status:             cond.Status,
		LastUpdateTime:     cond.LastTransitionTime,
		LastTransitionTime: cond.LastTransitionTime,
		Reason:             cond.Reason,
		Message:            cond.Message,
	}
}

// hasProgressDeadline: progressDeadlineSeconds is set and not MaxInt32
// (D22.1).
func hasProgressDeadline(d *appsv1.Deployment) bool {
	return d.Spec.ProgressDeadlineSeconds != nil && *d.Spec.ProgressDeadlineSeconds != math.MaxInt32
}

// hasRevisionHistoryLimit: revisionHistoryLimit is set and not MaxInt32
// (D19.1).
func hasRevisionHistoryLimit(d *appsv1.Deployment) bool {
	return d.Spec.RevisionHistoryLimit != nil && *d.Spec.RevisionHistoryLimit != math.MaxInt32
}

// deploymentComplete: updated, total and available replicas of newStatus
// all equal spec.replicas and newStatus has observed the generation
// (D22.2).
func deploymentComplete(d *appsv1.Deployment, newStatus *appsv1.DeploymentStatus) bool {
	replicas := *d.Spec.Replicas
	return newStatus.UpdatedReplicas == replicas &&
		newStatus.Replicas == replicas &&
		newStatus.AvailableReplicas == replicas &&
		newStatus.ObservedGeneration >= d.Generation
}

// deploymentProgressing compares newStatus with the Deployment's current
// status (D22.2): more updated replicas, fewer old ones (replicas −
// updated), more ready or more available ones.
func deploymentProgressing(d *appsv1.Deployment, newStatus *appsv1.DeploymentStatus) bool {
	cur := &d.Status
	return newStatus.UpdatedReplicas > cur.UpdatedReplicas ||
		newStatus.Replicas-newStatus.UpdatedReplicas < cur.Replicas-cur.UpdatedReplicas ||
		newStatus.ReadyReplicas > cur.ReadyReplicas ||
		newStatus.AvailableReplicas > cur.AvailableReplicas
}

// deploymentTimedOut (D22.3): with a progress deadline and a Progressing
// condition in newStatus, false for NewReplicaSetAvailable, true for
// ProgressDeadlineExceeded, else whether lastUpdateTime + deadline is
// strictly before now.
func deploymentTimedOut(d *appsv1.Deployment, newStatus *appsv1.DeploymentStatus, now time.Time) bool {
	if !hasProgressDeadline(d) {
		return false
	}
	cond := getDeploymentCondition(*newStatus, appsv1.DeploymentProgressing)
	if cond == nil {
		return false
	}
	switch cond.Reason {
	case ReasonNewRSAvailable:
		return false
	case ReasonTimedOut:
		return true
	}
	deadline := cond.LastUpdateTime.Add(time.Duration(*d.Spec.ProgressDeadlineSeconds) * time.Second)
	return deadline.Before(now)
}

// ---------------------------------------------------------------------------
// Status (D20)

// calculateStatus is the Deployment status the ReplicaSets give (D20.1-
// D20.4): counts over allRSs (updated = the new RS's status.replicas,
// unavailable = Σ spec − available, floored at 0), terminatingReplicas (the
// feature gate is on), observedGeneration = generation, collisionCount
// and conditions carried over (a copy, in order), and Available set for
// now (D21.1).
func calculateStatus(allRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet, d *appsv1.Deployment, now time.Time) appsv1.DeploymentStatus {
	available := getAvailableReplicaCountForReplicaSets(allRSs)
	status := appsv1.DeploymentStatus{
		ObservedGeneration:  d.Generation,
		Replicas:            getActualReplicaCountForReplicaSets(allRSs),
		UpdatedReplicas:     getActualReplicaCountForReplicaSets([]*appsv1.ReplicaSet{newRS}),
		ReadyReplicas:       getReadyReplicaCountForReplicaSets(allRSs),
		AvailableReplicas:   available,
		UnavailableReplicas: max(0, getReplicaCountForReplicaSets(allRSs)-available),
		TerminatingReplicas: getTerminatingReplicaCountForReplicaSets(allRSs),
		CollisionCount:      d.Status.CollisionCount,
	}
	// A fresh slice (nil when there are none), so d.Status is not shared.
	status.Conditions = append([]appsv1.DeploymentCondition(nil), d.Status.Conditions...)
	if available >= *d.Spec.Replicas-maxUnavailable(d) {
		setDeploymentCondition(&status, *newDeploymentCondition(appsv1.DeploymentAvailable, corev1.ConditionTrue,
			ReasonMinimumReplicasAvailable, "Deployment has minimum availability.", now))
	} else {
		setDeploymentCondition(&status, *newDeploymentCondition(appsv1.DeploymentAvailable, corev1.ConditionFalse,
			ReasonMinimumReplicasUnavailable, "Deployment does not have minimum availability.", now))
	}
	return status
}

// progressRequeue says when to look at the rollout's progress again
// (D22.4), judged from the Deployment's current Progressing condition and
// newStatus: no check (0, false) without a progress deadline or a
// Progressing condition, for a complete newStatus or a rollout already
// timed out. Otherwise (after, true) with after = lastUpdateTime +
// progressDeadlineSeconds − now, raw: it can be below a second, zero or
// negative. Upstream turns after < 1 s into an immediate rate-limited
// requeue and otherwise waits after + 1 s; doing so is the caller's part.
func progressRequeue(d *appsv1.Deployment, newStatus *appsv1.DeploymentStatus, now time.Time) (time.Duration, bool) {
	cur := getDeploymentCondition(d.Status, appsv1.DeploymentProgressing)
	if !hasProgressDeadline(d) || cur == nil {
		return 0, false
	}
	if deploymentComplete(d, newStatus) || cur.Reason == ReasonTimedOut {
		return 0, false
	}
	deadline := cur.LastUpdateTime.Add(time.Duration(*d.Spec.ProgressDeadlineSeconds) * time.Second)
	return deadline.Sub(now), true
}
