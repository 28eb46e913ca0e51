// Package deployment is the Deployment controller as a wasmctl plugin: one
// call is one upstream syncDeployment (kube-controller-manager v1.37.2),
// the writes it makes returned as one ordered response. The rules it
// follows, and where it knowingly differs, are in
// docs/controllers/deployment.md.
package deployment

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fastjson"
	"k8s.io/apimachinery/pkg/types"
	appsv1 "wasmctl.dev/wasmctl/plugins/internal/kube/apps/v1"
	corev1 "wasmctl.dev/wasmctl/plugins/internal/kube/core/v1"
	metav1 "wasmctl.dev/wasmctl/plugins/internal/kube/meta/v1"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/abi/sdk/controller"
	"wasmctl.dev/wasmctl/plugins/internal/podhash"
	"wasmctl.dev/wasmctl/plugins/internal/request"
)

// Event reasons, as upstream's.
const (
	ReasonScalingReplicaSet         = "ScalingReplicaSet"
	ReasonSelectingAll              = "SelectingAll"
	ReasonRollbackDone              = "DeploymentRollback"
	ReasonRollbackRevisionNotFound  = "DeploymentRollbackRevisionNotFound"
	ReasonRollbackTemplateUnchanged = "DeploymentRollbackTemplateUnchanged"
)

// PodsInput is the name of the related input holding the pods of the
// Deployment's ReplicaSets (Recreate Deployments only).
const PodsInput = "pods"

// maxRevHistoryLengthInChars bounds the revision-history annotation.
const maxRevHistoryLengthInChars = 2000

var (
	rsType  = abi.TypeRef{APIVersion: "apps/v1", Kind: "ReplicaSet"}
	podType = abi.TypeRef{APIVersion: "v1", Kind: "Pod"}
)

// Manifest describes the plugin.
func Manifest() *abi.Manifest {
	return &abi.Manifest{
		Name:    "deployment",
		Version: "0.1.0",
		For:     abi.TypeRef{APIVersion: "apps/v1", Kind: "Deployment"},
		Owns:    []abi.TypeRef{rsType},
		// The echo of its own status write changes nothing it computes but
		// the progress check it would schedule and, once the write
		// completes the rollout, the history cleanup: both are asked for
		// in the response (syncRolloutStatus).
		IgnoreOwnWrites: true,
		Related: []abi.RelatedInput{{
			Name: PodsInput, Type: podType, Select: abi.SelectGrandchildren,
			// Upstream lists pods only to see whether a Recreate rollout's
			// old pods are gone, and is woken by pod deletions only.
			WakeOn: abi.WakeDelete,
			When:   &abi.FieldCondition{Path: "spec.strategy.type", Equals: string(appsv1.RecreateDeploymentStrategyType)},
		}},
		Fields: []abi.FieldSelection{{Type: podType, Paths: []string{"metadata.ownerReferences", "status.phase"}}},
		// Upstream records no Events for its ReplicaSet writes beyond
		// ScalingReplicaSet, which the plugin words itself; a refused create
		// comes back in lastError (collisions, ReplicaSetCreateError).
		OwnedEvents: []abi.OwnedEvents{{Type: rsType, Created: abi.NoEvent, CreateFailed: abi.NoEvent,
			Deleted: abi.NoEvent, DeleteFailed: abi.NoEvent, QuietReasons: []string{"AlreadyExists"}}},
	}
}

// Reconcile is one sync of the Deployment in the request (the "reconcile"
// export's input).
func Reconcile(input []byte) (*abi.ReconcileResponse, error) { return request.Handle(input, reconcile) }

func reconcile(req *request.Request) (*abi.ReconcileResponse, error) {
	s, err := newSync(req)
	if err != nil {
		return nil, err
	}
	if err := s.run(); err != nil && !errors.Is(err, errCollision) && !errors.Is(err, errCreateReported) {
		return nil, err
	}
	return s.response(), nil
}

// sync is one call's state. d is the working copy every step reads and
// edits, as upstream's deep copy; orig is the cached object the writes are
// compared with.
type sync struct {
	req  *request.Request
	now  time.Time
	orig *appsv1.Deployment
	d    *appsv1.Deployment
	t    *templates

	rsList []*appsv1.ReplicaSet // claimed, the working copies
	pods   map[types.UID][]podInfo

	created *appsv1.ReplicaSet // the new ReplicaSet this call creates

	resp       *abi.ReconcileResponse // the claims until response() adds the rest
	rsWrites   []*rsWrite
	deletes    []abi.Action
	statusOnly bool // a write of the primary is due even if unchanged (collision)
	// createReported: this call reports the last call's failed create.
	createReported bool
	update         bool // rollback: PUT the Deployment
	events         []abi.Event
	requeue        time.Duration
}

// rsWrite is the merged change of one ReplicaSet: upstream PUTs it, the
// plugin sends a merge patch of what changed, guarded by the cached
// resourceVersion as the PUT is.
type rsWrite struct {
	orig        *appsv1.ReplicaSet
	annotations map[string]string
	replicas    *int32
	minReady    *int32
}

func newSync(req *request.Request) (*sync, error) {
	orig, tspec, err := decodeDeployment(req.Object)
	if err != nil {
		return nil, err
	}
	s := &sync{req: req, now: req.Now, orig: orig, d: orig.DeepCopy(), resp: abi.NewResponse(),
		t: &templates{deployment: tspec, raw: map[types.UID][]byte{}, values: map[types.UID]*fastjson.Value{},
			decoded: map[types.UID]*corev1.PodSpec{}, equal: map[types.UID]bool{}}}
	return s, nil
}

// run is upstream's syncDeployment dispatch.
func (s *sync) run() error {
	d := s.d
	if reflect.DeepEqual(d.Spec.Selector, &metav1.LabelSelector{}) {
		s.event(corev1.EventTypeWarning, ReasonSelectingAll, false, "This deployment is selecting all pods. A non-empty selector is required.")
		if d.Status.ObservedGeneration < d.Generation {
			d.Status.ObservedGeneration = d.Generation
		}
		return nil
	}
	if err := s.checkSpec(); err != nil {
		return err
	}
	if err := s.claim(); err != nil {
		return err
	}
	if err := s.decodePods(); err != nil {
		return err
	}
	if s.collision() {
		return nil
	}
	s.reportCreateError()
	if d.DeletionTimestamp != nil {
		return s.syncStatusOnly()
	}
	s.checkPausedConditions()
	if d.Spec.Paused {
		return s.syncScale()
	}
	if rollbackTo(d) != nil {
		return s.rollback()
	}
	scaling, err := s.isScalingEvent()
	if err != nil {
		return err
	}
	if scaling {
		return s.syncScale()
	}
	switch d.Spec.Strategy.Type {
	case appsv1.RecreateDeploymentStrategyType:
		return s.rolloutRecreate()
	case appsv1.RollingUpdateDeploymentStrategyType:
		return s.rolloutRolling()
	}
	return fmt.Errorf("unexpected deployment strategy type: %s", d.Spec.Strategy.Type)
}

// checkSpec refuses what the API server's validation would have: the
// plugin writes nothing for such a Deployment (the host reports the error
// as a Warning Event and retries with backoff).
func (s *sync) checkSpec() error {
	d := s.d
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return fmt.Errorf("deployment %s/%s has invalid label selector: %v", d.Namespace, d.Name, err)
	}
	if sel.Empty() || !sel.Matches(d.Spec.Template.Labels) {
		return fmt.Errorf("deployment %s/%s: selector %q does not match the template labels %v", d.Namespace, d.Name, sel.String(), d.Spec.Template.Labels)
	}
	if d.Spec.Replicas == nil {
		return fmt.Errorf("deployment %s/%s: spec.replicas is not set", d.Namespace, d.Name)
	}
	switch d.Spec.Strategy.Type {
	case appsv1.RollingUpdateDeploymentStrategyType:
		ru := d.Spec.Strategy.RollingUpdate
		if ru == nil || ru.MaxSurge == nil || ru.MaxUnavailable == nil {
			return fmt.Errorf("deployment %s/%s: strategy RollingUpdate without maxSurge and maxUnavailable", d.Namespace, d.Name)
		}
		if _, _, err := resolveFenceposts(ru.MaxSurge, ru.MaxUnavailable, *d.Spec.Replicas); err != nil {
			return fmt.Errorf("deployment %s/%s: invalid rolling update strategy: %v", d.Namespace, d.Name, err)
		}
	case appsv1.RecreateDeploymentStrategyType:
	default:
		return fmt.Errorf("unexpected deployment strategy type: %s", d.Spec.Strategy.Type)
	}
	return nil
}

// claim is upstream's getReplicaSetsForDeployment: the children whose
// labels still match are claimed, the others released; orphans whose
// labels match are adopted (the host rechecks the Deployment uncached
// before it applies an adoption).
func (s *sync) claim() error {
	d := s.d
	sel, _ := metav1.LabelSelectorAsSelector(d.Spec.Selector) // checked
	owner := abi.ObjectRef{APIVersion: "apps/v1", Kind: "Deployment", Name: d.Name, Namespace: d.Namespace, UID: string(d.UID)}
	deleting := d.DeletionTimestamp != nil
	add := func(data *fastjson.Value, orphan bool) error {
		rs, raw, spec, err := decodeReplicaSet(data)
		if err != nil {
			return err
		}
		ref := abi.ObjectRef{APIVersion: rsType.APIVersion, Kind: rsType.Kind, Namespace: rs.Namespace, Name: rs.Name, UID: string(rs.UID)}
		match := sel.Matches(rs.Labels)
		switch {
		case !orphan && match:
		case !orphan:
			if !deleting {
				if err := controller.AddRelease(s.resp, owner, ref); err != nil {
					return err
				}
			}
			return nil
		case deleting || !match || rs.DeletionTimestamp != nil || rs.Namespace != d.Namespace:
			return nil
		default:
			if err := controller.AddAdopt(s.resp, owner, ref); err != nil {
				return err
			}
		}
		s.t.raw[rs.UID] = raw
		s.t.values[rs.UID] = spec
		s.rsList = append(s.rsList, rs)
		return nil
	}
	for _, c := range s.req.Children {
		if err := add(c, false); err != nil {
			return err
		}
	}
	for _, c := range s.req.Orphans {
		if err := add(c, true); err != nil {
			return err
		}
	}
	// Adoptions and releases are the response's first actions: nothing
	// else is added to it before response().
	return nil
}

func (s *sync) decodePods() error {
	raw := s.req.Related[PodsInput]
	if len(raw) == 0 {
		return nil
	}
	s.pods = map[types.UID][]podInfo{}
	for _, data := range raw {
		p, ref, err := decodePod(data)
		if err != nil {
			return err
		}
		if ref == nil || ref.Kind != "ReplicaSet" {
			continue
		}
		s.pods[ref.UID] = append(s.pods[ref.UID], p)
	}
	return nil
}

// rollbackTo is the revision of the deprecated rollback annotation, nil if
// absent or not a number (ignored, and never cleared, as upstream).
func rollbackTo(d *appsv1.Deployment) *int64 {
	v := d.Annotations[RollbackToAnnotation]
	if v == "" {
		return nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil
	}
	return &n
}

// event records an Event; afterApply ones only once the response applied
// (upstream records them after the write they report succeeded).
func (s *sync) event(eventType, reason string, afterApply bool, format string, args ...any) {
	s.events = append(s.events, abi.Event{Type: abi.EventType(eventType), Reason: reason, Message: fmt.Sprintf(format, args...), AfterApply: afterApply})
}

// findNewReplicaSet sorts rsList by creation (in place, as upstream) and
// returns the oldest ReplicaSet whose template equals the Deployment's.
func (s *sync) findNewReplicaSet() (*appsv1.ReplicaSet, []*appsv1.ReplicaSet, error) {
	if s.created != nil {
		return s.created, s.rsList, nil
	}
	sortByCreation(s.rsList)
	var newRS *appsv1.ReplicaSet
	for _, rs := range s.rsList {
		eq, err := s.t.equalIgnoreHash(s.d, rs)
		if err != nil {
			return nil, nil, err
		}
		if eq {
			newRS = rs
			break
		}
	}
	old := make([]*appsv1.ReplicaSet, 0, len(s.rsList))
	for _, rs := range s.rsList {
		if rs != newRS {
			old = append(old, rs)
		}
	}
	return newRS, old, nil
}

// getAllReplicaSetsAndSyncRevision returns the new ReplicaSet (nil if none
// and !create) and the old ones, with the new one's annotations and the
// Deployment's revision brought up to date (upstream's getNewReplicaSet).
// It can run more than once per call: the working copies make it
// idempotent where upstream's second pass conflicts and retries.
func (s *sync) getAllReplicaSetsAndSyncRevision(create bool) (*appsv1.ReplicaSet, []*appsv1.ReplicaSet, error) {
	d := s.d
	existing, oldRSs, err := s.findNewReplicaSet()
	if err != nil {
		return nil, nil, err
	}
	newRevision := strconv.FormatInt(maxRevision(oldRSs)+1, 10)
	if existing != nil {
		if existing == s.created {
			return existing, oldRSs, nil
		}
		rsCopy := existing.DeepCopy()
		annotationsUpdated := setNewReplicaSetAnnotations(d, rsCopy, newRevision, true, maxRevHistoryLengthInChars)
		if annotationsUpdated || rsCopy.Spec.MinReadySeconds != d.Spec.MinReadySeconds {
			rsCopy.Spec.MinReadySeconds = d.Spec.MinReadySeconds
			s.writeRS(rsCopy)
			s.replaceInList(rsCopy)
			return rsCopy, oldRSs, nil
		}
		setDeploymentRevision(d, rsCopy.Annotations[RevisionAnnotation])
		if hasProgressDeadline(d) && getDeploymentCondition(d.Status, appsv1.DeploymentProgressing) == nil {
			setDeploymentCondition(&d.Status, *newDeploymentCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonFoundNewRS,
				fmt.Sprintf("Found new replica set %q", rsCopy.Name), s.now))
		}
		return rsCopy, oldRSs, nil
	}
	if !create {
		return nil, oldRSs, nil
	}

	tmpl := d.Spec.Template.DeepCopy()
	hash := podhash.Compute(&d.Spec.Template, d.Status.CollisionCount)
	tmpl.Labels = cloneAndAdd(d.Spec.Template.Labels, appsv1.DefaultDeploymentUniqueLabelKey, hash)
	selector := d.Spec.Selector.DeepCopy()
	if selector.MatchLabels == nil {
		selector.MatchLabels = map[string]string{}
	}
	selector.MatchLabels[appsv1.DefaultDeploymentUniqueLabelKey] = hash
	name := replicaSetName(d.Name, hash)
	if s.createReported {
		// This call writes the ReplicaSetCreateError condition; the create
		// is retried on the next, after a pause (upstream's rate-limited
		// retry), so the condition is not overwritten in the same write.
		s.requeue = time.Second
		return nil, nil, errCreateReported
	}
	for _, rs := range s.rsList {
		if rs.Name == name {
			// Ours, with another template under the same hash.
			return nil, nil, s.hashCollision()
		}
	}
	newRS := &appsv1.ReplicaSet{
		TypeMeta: metav1.TypeMeta{APIVersion: rsType.APIVersion, Kind: rsType.Kind},
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: d.Namespace,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(d,
				appsv1.SchemeGroupVersion.WithKind("Deployment"))},
			Labels: tmpl.Labels,
		},
		Spec: appsv1.ReplicaSetSpec{Replicas: new(int32), MinReadySeconds: d.Spec.MinReadySeconds, Selector: selector, Template: *tmpl},
	}
	count, err := newRSNewReplicas(d, append(append([]*appsv1.ReplicaSet{}, oldRSs...), newRS), newRS)
	if err != nil {
		return nil, nil, err
	}
	*newRS.Spec.Replicas = count
	setNewReplicaSetAnnotations(d, newRS, newRevision, false, maxRevHistoryLengthInChars)
	if count > 0 {
		s.event(corev1.EventTypeNormal, ReasonScalingReplicaSet, true, "Scaled up replica set %s from 0 to %d", name, count)
	}
	s.created = newRS
	setDeploymentRevision(d, newRevision)
	if hasProgressDeadline(d) {
		setDeploymentCondition(&d.Status, *newDeploymentCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewRSCreated,
			fmt.Sprintf("Created new replica set %q", name), s.now))
	}
	return newRS, oldRSs, nil
}

// collision handles the previous call's create that found its name taken
// by a ReplicaSet that is not this Deployment's new one: the hash
// collision upstream resolves by bumping status.collisionCount, so that
// the next call hashes to another name.
func (s *sync) collision() bool {
	le := s.req.LastError
	if le == nil || le.Op != abi.OpCreate || le.Kind != rsType.Kind || le.Reason != "AlreadyExists" {
		return false
	}
	hash := podhash.Compute(&s.d.Spec.Template, s.d.Status.CollisionCount)
	if le.Name != replicaSetName(s.d.Name, hash) {
		return false // the collision count moved on already
	}
	for _, rs := range s.rsList {
		if rs.Name == le.Name {
			return false // it is ours now: the normal sync finds it
		}
	}
	s.hashCollision()
	return true
}

func (s *sync) hashCollision() error {
	d := s.d
	if d.Status.CollisionCount == nil {
		d.Status.CollisionCount = new(int32)
	}
	*d.Status.CollisionCount++
	s.statusOnly = true
	s.requeue = 5 * time.Millisecond // upstream returns the error: a rate-limited retry
	return errCollision
}

// errCollision ends a call that found a hash collision: its response is
// the collisionCount write alone.
var errCollision = errors.New("hash collision")

// errCreateReported ends a call that reports the previous call's failed
// create: its response is the condition's status write.
var errCreateReported = errors.New("create error reported")

// reportCreateError is the rest of upstream's failed create of the new
// ReplicaSet, which the plugin learns of in the next call: a Progressing
// ReplicaSetCreateError condition and a Warning Event. This call then
// tries the create again, as upstream's retry does.
func (s *sync) reportCreateError() {
	le := s.req.LastError
	if le == nil || le.Op != abi.OpCreate || le.Kind != rsType.Kind || le.Reason == "AlreadyExists" {
		return
	}
	if strings.Contains(le.Message, "because it is being terminated") {
		return // NamespaceTerminating: upstream stays silent
	}
	msg := fmt.Sprintf("Failed to create new replica set %q: %s", le.Name, le.Message)
	if hasProgressDeadline(s.d) {
		setDeploymentCondition(&s.d.Status, *newDeploymentCondition(appsv1.DeploymentProgressing, corev1.ConditionFalse, ReasonFailedRSCreate, msg, s.now))
	}
	s.event(corev1.EventTypeWarning, ReasonFailedRSCreate, false, "%s", msg)
	s.statusOnly = true
	s.createReported = true
}

func (s *sync) replaceInList(rs *appsv1.ReplicaSet) {
	for i, r := range s.rsList {
		if r.UID == rs.UID {
			s.rsList[i] = rs
		}
	}
}

// writeRS records rs (a modified copy of a cached ReplicaSet) to be
// written.
func (s *sync) writeRS(rs *appsv1.ReplicaSet) {
	var w *rsWrite
	for _, x := range s.rsWrites {
		if x.orig.UID == rs.UID {
			w = x
		}
	}
	if w == nil {
		var orig *appsv1.ReplicaSet
		for _, r := range s.rsList {
			if r.UID == rs.UID {
				orig = r
			}
		}
		if orig == nil {
			orig = rs
		}
		w = &rsWrite{orig: orig, annotations: map[string]string{}}
		s.rsWrites = append(s.rsWrites, w)
	}
	for k, v := range rs.Annotations {
		if old, ok := w.orig.Annotations[k]; !ok || old != v {
			w.annotations[k] = v
		}
	}
	if *rs.Spec.Replicas != *w.orig.Spec.Replicas {
		n := *rs.Spec.Replicas
		w.replicas = &n
	} else {
		w.replicas = nil
	}
	if rs.Spec.MinReadySeconds != w.orig.Spec.MinReadySeconds {
		n := rs.Spec.MinReadySeconds
		w.minReady = &n
	}
}

// scaleReplicaSet is upstream's scaleReplicaSet: it writes rs with
// newScale replicas and the desired/max annotations when either differs
// (forced) or when the size differs (lazy), and returns the ReplicaSet as
// the write would (new spec, old status).
func (s *sync) scaleReplicaSet(rs *appsv1.ReplicaSet, newScale int32, force bool) (bool, *appsv1.ReplicaSet) {
	d := s.d
	if !force && *rs.Spec.Replicas == newScale {
		return false, rs
	}
	desired, max := *d.Spec.Replicas, *d.Spec.Replicas+maxSurge(d)
	sizeNeedsUpdate := *rs.Spec.Replicas != newScale
	if !sizeNeedsUpdate && !replicasAnnotationsNeedUpdate(rs, desired, max) {
		return false, rs
	}
	oldScale := *rs.Spec.Replicas
	rsCopy := rs.DeepCopy()
	*rsCopy.Spec.Replicas = newScale
	setReplicasAnnotations(rsCopy, desired, max)
	if rs == s.created {
		// Not written yet: the create carries the change.
		*s.created = *rsCopy
		return sizeNeedsUpdate, s.created
	}
	s.writeRS(rsCopy)
	if sizeNeedsUpdate {
		op := "down"
		if oldScale < newScale {
			op = "up"
		}
		s.event(corev1.EventTypeNormal, ReasonScalingReplicaSet, true, "Scaled %s replica set %s from %d to %d", op, rs.Name, oldScale, newScale)
	}
	return sizeNeedsUpdate, rsCopy
}

func cloneAndAdd(m map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for a, b := range m {
		out[a] = b
	}
	out[k] = v
	return out
}

// replicaSetName is <deployment>-<hash>, the Deployment's part cut so the
// name fits 253 characters.
func replicaSetName(deployment, hash string) string {
	if max := 253 - 1 - len(hash); len(deployment) > max {
		deployment = deployment[:max]
	}
	return deployment + "-" + hash
}

// setDeploymentRevision sets the Deployment's revision annotation;
// reports a change.
func setDeploymentRevision(d *appsv1.Deployment, revision string) bool {
	if d.Annotations[RevisionAnnotation] == revision {
		return false
	}
	if d.Annotations == nil {
		d.Annotations = map[string]string{}
	}
	d.Annotations[RevisionAnnotation] = revision
	return true
}

// response assembles the actions: claims, the create, the ReplicaSet
// writes, the history deletes, then the Deployment's one status write (all
// of upstream's status writes of a sync folded into the last, which is
// what they converge to) and, for a rollback, its update.
func (s *sync) response() *abi.ReconcileResponse {
	resp := s.resp // holds the claims
	if s.created != nil {
		_ = resp.Add(abi.OpCreate, s.created) // a typed object: cannot fail
	}
	for _, w := range s.rsWrites {
		patch := map[string]any{}
		meta := map[string]any{"resourceVersion": w.orig.ResourceVersion}
		if len(w.annotations) > 0 {
			meta["annotations"] = w.annotations
		}
		patch["metadata"] = meta
		spec := map[string]any{}
		if w.replicas != nil {
			spec["replicas"] = *w.replicas
		}
		if w.minReady != nil {
			spec["minReadySeconds"] = *w.minReady
		}
		if len(spec) > 0 {
			patch["spec"] = spec
		}
		if len(w.annotations) == 0 && len(spec) == 0 {
			continue
		}
		ref := abi.ObjectRef{APIVersion: rsType.APIVersion, Kind: rsType.Kind, Namespace: w.orig.Namespace, Name: w.orig.Name}
		_ = resp.AddPatch(ref, abi.PatchMerge, patch) // maps of strings and ints: cannot fail
	}
	resp.Actions = append(resp.Actions, s.deletes...)
	d := s.d
	statusChanged := s.statusOnly || !reflect.DeepEqual(d.Status, s.orig.Status) ||
		d.Annotations[RevisionAnnotation] != s.orig.Annotations[RevisionAnnotation]
	if statusChanged {
		obj := d.DeepCopy()
		if s.update {
			// The status write must not carry the rollback's spec.
			obj.Spec = s.orig.Spec
			obj.Annotations = s.orig.DeepCopy().Annotations
			if r, ok := d.Annotations[RevisionAnnotation]; ok {
				if obj.Annotations == nil {
					obj.Annotations = map[string]string{}
				}
				obj.Annotations[RevisionAnnotation] = r
			}
		}
		_ = resp.Add(abi.OpUpdateStatus, obj)
	}
	if s.update {
		_ = resp.Add(abi.OpUpdate, d)
	}
	resp.Events = append(resp.Events, s.events...)
	if s.requeue > 0 {
		resp.RequeueAfter(s.requeue)
	}
	return resp
}
