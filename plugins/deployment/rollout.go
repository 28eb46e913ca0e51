package deployment

import (
	"fmt"
	"reflect"
	"time"

	appsv1 "wasmctl.dev/wasmctl/plugins/internal/kube/apps/v1"
	corev1 "wasmctl.dev/wasmctl/plugins/internal/kube/core/v1"

	"wasmctl.dev/wasmctl/abi"
)

// rolloutRolling is upstream's RollingUpdate step: create or find the new
// ReplicaSet, scale it up within maxSurge, else scale old ones down within
// maxUnavailable, else clean up history; then the rollout status.
func (s *sync) rolloutRolling() error {
	newRS, oldRSs, err := s.getAllReplicaSetsAndSyncRevision(true)
	if err != nil {
		return err
	}
	allRSs := append(append([]*appsv1.ReplicaSet{}, oldRSs...), newRS)
	if s.reconcileNewReplicaSet(allRSs, newRS) {
		return s.syncRolloutStatus(allRSs, newRS)
	}
	if s.reconcileOldReplicaSets(allRSs, filterActiveReplicaSets(oldRSs), newRS) {
		return s.syncRolloutStatus(allRSs, newRS)
	}
	if deploymentComplete(s.d, &s.d.Status) {
		s.cleanupDeployment(oldRSs)
	}
	return s.syncRolloutStatus(allRSs, newRS)
}

func (s *sync) reconcileNewReplicaSet(allRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) bool {
	d := s.d
	if *newRS.Spec.Replicas == *d.Spec.Replicas {
		return false
	}
	if *newRS.Spec.Replicas > *d.Spec.Replicas {
		scaled, _ := s.scaleReplicaSet(newRS, *d.Spec.Replicas, false)
		return scaled
	}
	count, err := newRSNewReplicas(d, allRSs, newRS)
	if err != nil {
		return false
	}
	scaled, _ := s.scaleReplicaSet(newRS, count, false)
	return scaled
}

// reconcileOldReplicaSets scales old ReplicaSets down: unhealthy replicas
// first, then available ones down to replicas − maxUnavailable. Upstream
// swallows the errors of both steps (the sync goes on, nothing scaled).
func (s *sync) reconcileOldReplicaSets(allRSs, oldRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) bool {
	d := s.d
	if getReplicaCountForReplicaSets(oldRSs) == 0 {
		return false
	}
	allPods := getReplicaCountForReplicaSets(allRSs)
	minAvailable := *d.Spec.Replicas - maxUnavailable(d)
	newUnavailable := *newRS.Spec.Replicas - newRS.Status.AvailableReplicas
	maxScaledDown := allPods - minAvailable - newUnavailable
	if maxScaledDown <= 0 {
		return false
	}
	oldRSs, cleaned, err := s.cleanupUnhealthyReplicas(oldRSs, maxScaledDown)
	if err != nil {
		return false
	}
	allRSs = append(append([]*appsv1.ReplicaSet{}, oldRSs...), newRS)
	scaledDown, err := s.scaleDownOldReplicaSetsForRollingUpdate(allRSs, oldRSs)
	if err != nil {
		return false
	}
	return cleaned+scaledDown > 0
}

func (s *sync) cleanupUnhealthyReplicas(oldRSs []*appsv1.ReplicaSet, maxCleanup int32) ([]*appsv1.ReplicaSet, int32, error) {
	sortByCreation(oldRSs)
	total := int32(0)
	for i, rs := range oldRSs {
		if total >= maxCleanup {
			break
		}
		spec := *rs.Spec.Replicas
		if spec == 0 || spec == rs.Status.AvailableReplicas {
			continue
		}
		k := min(maxCleanup-total, spec-rs.Status.AvailableReplicas)
		target := spec - k
		if target > spec {
			return nil, 0, fmt.Errorf("when cleaning up unhealthy replicas, got invalid request to scale down %s/%s %d -> %d", rs.Namespace, rs.Name, spec, target)
		}
		_, updated := s.scaleReplicaSet(rs, target, false)
		total += k
		oldRSs[i] = updated
	}
	return oldRSs, total, nil
}

func (s *sync) scaleDownOldReplicaSetsForRollingUpdate(allRSs, oldRSs []*appsv1.ReplicaSet) (int32, error) {
	d := s.d
	minAvailable := *d.Spec.Replicas - maxUnavailable(d)
	available := getAvailableReplicaCountForReplicaSets(allRSs)
	if available <= minAvailable {
		return 0, nil
	}
	sortByCreation(oldRSs)
	total, budget := int32(0), available-minAvailable
	for _, rs := range oldRSs {
		if total >= budget {
			break
		}
		spec := *rs.Spec.Replicas
		if spec == 0 {
			continue
		}
		k := min(spec, budget-total)
		target := spec - k
		if target > spec {
			return 0, fmt.Errorf("when scaling down old RS, got invalid request to scale down %s/%s %d -> %d", rs.Namespace, rs.Name, spec, target)
		}
		s.scaleReplicaSet(rs, target, false)
		total += k
	}
	return total, nil
}

// rolloutRecreate scales every old ReplicaSet to 0, waits until none of
// their pods runs, then creates the new one at full size.
func (s *sync) rolloutRecreate() error {
	d := s.d
	newRS, oldRSs, err := s.getAllReplicaSetsAndSyncRevision(false)
	if err != nil {
		return err
	}
	allRSs := append(append([]*appsv1.ReplicaSet{}, oldRSs...), newRS)
	scaledDown := false
	for _, rs := range filterActiveReplicaSets(oldRSs) {
		if scaled, _ := s.scaleReplicaSet(rs, 0, false); scaled {
			scaledDown = true
		}
	}
	if scaledDown {
		return s.syncRolloutStatus(allRSs, newRS)
	}
	if s.oldPodsRunning(newRS, oldRSs) {
		return s.syncRolloutStatus(allRSs, newRS)
	}
	if newRS == nil {
		newRS, oldRSs, err = s.getAllReplicaSetsAndSyncRevision(true)
		if err != nil {
			return err
		}
		allRSs = append(append([]*appsv1.ReplicaSet{}, oldRSs...), newRS)
	}
	s.scaleReplicaSet(newRS, *d.Spec.Replicas, false)
	if deploymentComplete(d, &d.Status) {
		s.cleanupDeployment(oldRSs)
	}
	return s.syncRolloutStatus(allRSs, newRS)
}

// oldPodsRunning: an old ReplicaSet still reports pods, or a pod of one
// (terminating ones included) has not finished.
func (s *sync) oldPodsRunning(newRS *appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet) bool {
	if getActualReplicaCountForReplicaSets(oldRSs) > 0 {
		return true
	}
	claimed := map[string]bool{}
	for _, rs := range s.rsList {
		claimed[string(rs.UID)] = true
	}
	for uid, pods := range s.pods {
		if newRS != nil && newRS.UID == uid || !claimed[string(uid)] {
			continue
		}
		for _, p := range pods {
			if p.Phase != corev1.PodSucceeded && p.Phase != corev1.PodFailed {
				return true
			}
		}
	}
	return false
}

// isScalingEvent: some active ReplicaSet was sized for another
// spec.replicas than the Deployment's now (its desired-replicas
// annotation).
func (s *sync) isScalingEvent() (bool, error) {
	newRS, oldRSs, err := s.getAllReplicaSetsAndSyncRevision(false)
	if err != nil {
		return false, err
	}
	for _, rs := range filterActiveReplicaSets(append(append([]*appsv1.ReplicaSet{}, oldRSs...), newRS)) {
		if desired, ok := getDesiredReplicasAnnotation(rs); ok && desired != *s.d.Spec.Replicas {
			return true, nil
		}
	}
	return false, nil
}

// syncScale is upstream's sync(): paused Deployments and scaling events
// resize, clean up (paused only) and write the plain status; no rollout.
func (s *sync) syncScale() error {
	newRS, oldRSs, err := s.getAllReplicaSetsAndSyncRevision(false)
	if err != nil {
		return err
	}
	s.scale(newRS, oldRSs)
	if s.d.Spec.Paused && rollbackTo(s.d) == nil {
		s.cleanupDeployment(oldRSs)
	}
	s.syncDeploymentStatus(append(append([]*appsv1.ReplicaSet{}, oldRSs...), newRS), newRS)
	return nil
}

// scale resizes the ReplicaSets for a changed spec.replicas: a single
// active one takes it all; a saturated new one zeroes the old; otherwise
// (RollingUpdate) proportionally to their sizes.
func (s *sync) scale(newRS *appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet) {
	d := s.d
	if rs := findActiveOrLatest(newRS, oldRSs); rs != nil {
		if *rs.Spec.Replicas != *d.Spec.Replicas {
			s.scaleReplicaSet(rs, *d.Spec.Replicas, false)
		}
		return
	}
	if isSaturated(d, newRS) {
		for _, old := range filterActiveReplicaSets(oldRSs) {
			s.scaleReplicaSet(old, 0, false)
		}
		return
	}
	if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
		return
	}
	all := filterActiveReplicaSets(append(append([]*appsv1.ReplicaSet{}, oldRSs...), newRS))
	allowed := int32(0)
	if *d.Spec.Replicas > 0 {
		allowed = *d.Spec.Replicas + maxSurge(d)
	}
	toAdd := allowed - getReplicaCountForReplicaSets(all)
	switch {
	case toAdd > 0:
		sortBySizeNewer(all)
	case toAdd < 0:
		sortBySizeOlder(all)
	}
	added := int32(0)
	sizes := make([]int32, len(all))
	for i, rs := range all {
		sizes[i] = *rs.Spec.Replicas
		if toAdd != 0 {
			p := getProportion(rs, *d, toAdd, added)
			sizes[i] += p
			added += p
		}
	}
	for i, rs := range all {
		if i == 0 && toAdd != 0 {
			sizes[i] += toAdd - added
			if sizes[i] < 0 {
				sizes[i] = 0
			}
		}
		s.scaleReplicaSet(rs, sizes[i], true)
	}
}

// syncStatusOnly is a deleting Deployment's sync: revisions and status,
// nothing scaled.
func (s *sync) syncStatusOnly() error {
	newRS, oldRSs, err := s.getAllReplicaSetsAndSyncRevision(false)
	if err != nil {
		return err
	}
	s.syncDeploymentStatus(append(append([]*appsv1.ReplicaSet{}, oldRSs...), newRS), newRS)
	return nil
}

// syncDeploymentStatus is the plain status: counts and Available.
func (s *sync) syncDeploymentStatus(allRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) {
	s.d.Status = calculateStatus(allRSs, newRS, s.d, s.now)
}

// checkPausedConditions marks a paused or resumed Deployment's Progressing
// condition Unknown, so that the time spent paused never counts against
// its deadline.
func (s *sync) checkPausedConditions() {
	d := s.d
	if !hasProgressDeadline(d) {
		return
	}
	cond := getDeploymentCondition(d.Status, appsv1.DeploymentProgressing)
	if cond != nil && cond.Reason == ReasonTimedOut {
		return
	}
	pausedCond := cond != nil && cond.Reason == ReasonPaused
	switch {
	case d.Spec.Paused && !pausedCond:
		setDeploymentCondition(&d.Status, *newDeploymentCondition(appsv1.DeploymentProgressing, corev1.ConditionUnknown, ReasonPaused, "Deployment is paused", s.now))
	case !d.Spec.Paused && pausedCond:
		setDeploymentCondition(&d.Status, *newDeploymentCondition(appsv1.DeploymentProgressing, corev1.ConditionUnknown, ReasonResumed, "Deployment is resumed", s.now))
	}
}

// syncRolloutStatus is the status of a rollout step: counts, Available,
// Progressing (created, updated, complete, timed out) and ReplicaFailure
// copied from the ReplicaSets, and the progress check to schedule.
func (s *sync) syncRolloutStatus(allRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) error {
	d := s.d
	newStatus := calculateStatus(allRSs, newRS, d, s.now)
	if !hasProgressDeadline(d) {
		removeDeploymentCondition(&newStatus, appsv1.DeploymentProgressing)
	}
	current := getDeploymentCondition(d.Status, appsv1.DeploymentProgressing)
	complete := newStatus.Replicas == newStatus.UpdatedReplicas && current != nil && current.Reason == ReasonNewRSAvailable
	if hasProgressDeadline(d) && !complete {
		switch {
		case deploymentComplete(d, &newStatus):
			msg := fmt.Sprintf("Deployment %q has successfully progressed.", d.Name)
			if newRS != nil {
				msg = fmt.Sprintf("ReplicaSet %q has successfully progressed.", newRS.Name)
			}
			setDeploymentCondition(&newStatus, *newDeploymentCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewRSAvailable, msg, s.now))
		case deploymentProgressing(d, &newStatus):
			msg := fmt.Sprintf("Deployment %q is progressing.", d.Name)
			if newRS != nil {
				msg = fmt.Sprintf("ReplicaSet %q is progressing.", newRS.Name)
			}
			cond := newDeploymentCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonReplicaSetUpdated, msg, s.now)
			if current != nil {
				if current.Status == corev1.ConditionTrue {
					cond.LastTransitionTime = current.LastTransitionTime
				}
				removeDeploymentCondition(&newStatus, appsv1.DeploymentProgressing)
			}
			setDeploymentCondition(&newStatus, *cond)
		case deploymentTimedOut(d, &newStatus, s.now):
			msg := fmt.Sprintf("Deployment %q has timed out progressing.", d.Name)
			if newRS != nil {
				msg = fmt.Sprintf("ReplicaSet %q has timed out progressing.", newRS.Name)
			}
			setDeploymentCondition(&newStatus, *newDeploymentCondition(appsv1.DeploymentProgressing, corev1.ConditionFalse, ReasonTimedOut, msg, s.now))
		}
	}
	if failure := replicaFailure(allRSs, newRS); failure != nil {
		setDeploymentCondition(&newStatus, replicaSetToDeploymentCondition(*failure))
	} else {
		removeDeploymentCondition(&newStatus, appsv1.DeploymentReplicaFailure)
	}
	// Upstream cleans up the history only on a sync that reads a complete
	// status (D19.5): the one the echo of its completing status write
	// starts. The plugin is not called for that echo (IgnoreOwnWrites), so
	// it asks for that call when it has history to clean up.
	cleanupDue := !deploymentComplete(d, &d.Status) && deploymentComplete(d, &newStatus) && historyBeyondLimit(d, allRSs, newRS)
	if !reflect.DeepEqual(d.Status, newStatus) {
		d.Status = newStatus
	}
	if cleanupDue {
		s.requeue = 10 * time.Millisecond
	}
	// Upstream schedules the progress check on the sync that finds the
	// status unchanged: the echo of this write when it writes. The plugin
	// ignores its own writes' echoes, so it asks for the check now, from
	// the status that call would read.
	if after, ok := progressRequeue(d, &d.Status, s.now); ok {
		if after < time.Second {
			after += 10 * time.Millisecond // upstream's rate-limited retry loop until it times out
		} else {
			after += time.Second
		}
		s.requeue = after
	}
	return nil
}

// replicaFailure is the ReplicaFailure condition of the new ReplicaSet,
// else of the first old one that has one.
func replicaFailure(allRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) *appsv1.ReplicaSetCondition {
	find := func(rs *appsv1.ReplicaSet) *appsv1.ReplicaSetCondition {
		for i := range rs.Status.Conditions {
			if rs.Status.Conditions[i].Type == appsv1.ReplicaSetReplicaFailure {
				return &rs.Status.Conditions[i]
			}
		}
		return nil
	}
	if newRS != nil {
		if c := find(newRS); c != nil {
			return c
		}
	}
	for _, rs := range allRSs {
		if rs != nil {
			if c := find(rs); c != nil {
				return c
			}
		}
	}
	return nil
}

// cleanupDeployment deletes the oldest old ReplicaSets beyond
// revisionHistoryLimit that are fully scaled down and synced; only the
// first count−limit by revision are looked at.
func (s *sync) cleanupDeployment(oldRSs []*appsv1.ReplicaSet) {
	d := s.d
	if !hasRevisionHistoryLimit(d) {
		return
	}
	var cleanable []*appsv1.ReplicaSet
	for _, rs := range oldRSs {
		if rs != nil && rs.DeletionTimestamp == nil {
			cleanable = append(cleanable, rs)
		}
	}
	diff := int32(len(cleanable)) - *d.Spec.RevisionHistoryLimit
	if diff <= 0 {
		return
	}
	sortByRevision(cleanable)
	for _, rs := range cleanable[:diff] {
		if rs.Status.Replicas != 0 || *rs.Spec.Replicas != 0 || rs.Generation > rs.Status.ObservedGeneration || rs.DeletionTimestamp != nil {
			continue
		}
		for _, w := range s.rsWrites {
			if w.orig.UID == rs.UID {
				w.annotations, w.replicas, w.minReady = nil, nil, nil // deleted instead
			}
		}
		var del abi.ReconcileResponse
		del.AddDelete(abi.ObjectRef{APIVersion: rsType.APIVersion, Kind: rsType.Kind, Namespace: rs.Namespace, Name: rs.Name, UID: string(rs.UID)}, "")
		s.deletes = append(s.deletes, del.Actions...)
	}
}

// historyBeyondLimit: the Deployment keeps more old ReplicaSets than its
// revisionHistoryLimit, so cleanupDeployment has some to look at.
func historyBeyondLimit(d *appsv1.Deployment, allRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) bool {
	if !hasRevisionHistoryLimit(d) {
		return false
	}
	n := int32(0)
	for _, rs := range allRSs {
		if rs != nil && rs != newRS && rs.DeletionTimestamp == nil {
			n++
		}
	}
	return n > *d.Spec.RevisionHistoryLimit
}

// rollback is the deprecated rollback annotation: the template of the
// ReplicaSet with that revision (0: the one before the latest) becomes the
// Deployment's, the annotation is cleared, and the Deployment PUT.
func (s *sync) rollback() error {
	d := s.d
	newRS, oldRSs, err := s.getAllReplicaSetsAndSyncRevision(true)
	if err != nil {
		return err
	}
	allRSs := append(append([]*appsv1.ReplicaSet{}, oldRSs...), newRS)
	target := *rollbackTo(d)
	if target == 0 {
		if target = lastRevision(allRSs); target == 0 {
			s.event(corev1.EventTypeWarning, ReasonRollbackRevisionNotFound, false, "Unable to find last revision.")
			s.clearRollback()
			return nil
		}
	}
	for _, rs := range allRSs {
		v, err := revision(rs)
		if err != nil || v != target {
			continue
		}
		eq, err := s.t.equalIgnoreHash(d, rs)
		if err != nil {
			return err
		}
		if eq {
			s.event(corev1.EventTypeWarning, ReasonRollbackTemplateUnchanged, false, "The rollback revision contains the same template as current deployment %q", d.Name)
		} else {
			tmpl, err := s.t.fullTemplate(rs)
			if err != nil {
				return err
			}
			delete(tmpl.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
			d.Spec.Template = *tmpl
			setDeploymentAnnotationsTo(d, rs)
			// The new template rolls on the next call: upstream's comes
			// from the update's echo, which this plugin does not get.
			s.requeue = 10 * time.Millisecond
			s.event(corev1.EventTypeNormal, ReasonRollbackDone, true, "Rolled back deployment %q to revision %d", d.Name, target)
		}
		s.clearRollback()
		return nil
	}
	s.event(corev1.EventTypeWarning, ReasonRollbackRevisionNotFound, false, "Unable to find the revision to rollback to.")
	s.clearRollback()
	return nil
}

func (s *sync) clearRollback() {
	delete(s.d.Annotations, RollbackToAnnotation)
	s.update = true
}
