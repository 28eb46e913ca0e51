package statefulset

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"time"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/abi/sdk/controller"
	"wasmctl.dev/wasmctl/abi/sdk/intstr"
	"wasmctl.dev/wasmctl/abi/sdk/meta"
)

func (p *Pod) phase() string     { return p.Status.Phase }
func (p *Pod) terminating() bool { return p.Metadata.Deleting() }
func (p *Pod) ready() bool {
	c := controller.GetPodCondition(p.Status.Conditions, controller.PodReady)
	return c != nil && c.Status == meta.ConditionTrue
}
func (p *Pod) runningAndReady() bool { return p.phase() == controller.PodRunning && p.ready() }
func (p *Pod) available(minReady int32, now time.Time) bool {
	c := controller.GetPodCondition(p.Status.Conditions, controller.PodReady)
	if c == nil || c.Status != meta.ConditionTrue {
		return false
	}
	return controller.IsPodAvailable(true, c.LastTransitionTime.Time, minReady, now)
}
func (p *Pod) unavailable(minReady int32, now time.Time) bool {
	return !p.available(minReady, now) || p.terminating()
}
func (p *Pod) revision() string { return p.Metadata.Labels[RevisionLabel] }

func (s *sync) podName(ord int) string { return s.set.Metadata.Name + "-" + strconv.Itoa(ord) }
func (s *sync) inRange(ord int) bool   { return ord >= s.start && ord < s.start+s.replicas }
func (s *sync) minReady() int32        { return s.set.Spec.MinReadySeconds }
func (s *sync) monotonic() bool        { return s.set.Spec.PodManagementPolicy != Parallel }

// countStatus is upstream's updateStatus over lists of pods.
func (s *sync) countStatus(lists ...[]*Pod) {
	st := &s.status
	st.Replicas, st.ReadyReplicas, st.AvailableReplicas, st.CurrentReplicas, st.UpdatedReplicas = 0, 0, 0, 0, 0
	for _, l := range lists {
		for _, p := range l {
			if p.phase() != "" {
				st.Replicas++
			}
			if p.runningAndReady() {
				st.ReadyReplicas++
				if p.available(s.minReady(), s.now) {
					st.AvailableReplicas++
				}
			}
			if p.phase() != "" && !p.terminating() {
				if p.revision() == s.current.Metadata.Name {
					st.CurrentReplicas++
				}
				if p.revision() == s.update.Metadata.Name {
					st.UpdatedReplicas++
				}
			}
		}
	}
}

// updateStatefulSet is upstream's updateStatefulSet: slots, creates,
// scale-down and the rolling update, as actions.
func (s *sync) updateStatefulSet() error {
	set := s.set
	strategy := set.Spec.UpdateStrategy.Type
	if strategy == Recreate {
		// Feature gate StatefulSetRecreateStrategy is off in v1.37.
		s.resp.Event(abi.EventWarning, ReasonUnknownStrategy, "statefulset %s/%s uses Recreate strategy but feature gate StatefulSetRecreateStrategy is disabled", set.Metadata.Namespace, set.Metadata.Name)
		s.retryAfter = time.Second
		s.status = set.Status // nothing written
		return nil
	}
	s.status = Status{
		ObservedGeneration: set.Metadata.Generation,
		CurrentRevision:    s.current.Metadata.Name,
		UpdateRevision:     s.update.Metadata.Name,
		CollisionCount:     &s.collision,
		Conditions:         set.Status.Conditions,
	}
	s.countStatus(s.pods)
	replicas := make([]*Pod, s.replicas)
	var condemned []*Pod
	for _, p := range s.pods {
		if s.inRange(p.ordinal) {
			replicas[p.ordinal-s.start] = p
		} else if p.ordinal >= 0 {
			condemned = append(condemned, p)
		}
	}
	for i := range replicas {
		if replicas[i] == nil {
			replicas[i] = s.placeholder(s.start + i)
		}
	}
	sort.SliceStable(condemned, func(i, j int) bool { return condemned[i].ordinal > condemned[j].ordinal })
	var firstUnavailable *Pod
	for _, p := range replicas {
		if p.unavailable(s.minReady(), s.now) && firstUnavailable == nil {
			firstUnavailable = p
		}
	}
	for i := len(condemned) - 1; i >= 0; i-- {
		if condemned[i].unavailable(s.minReady(), s.now) && firstUnavailable == nil {
			firstUnavailable = condemned[i]
		}
	}
	if set.Metadata.Deleting() {
		return nil
	}
	recount := func() { s.countStatus(replicas, condemned) }
	if s.forAll(replicas, func(i int) bool { return s.processReplica(replicas, i) }) {
		recount()
		return nil
	}
	if s.forAll(condemned, func(i int) bool {
		s.fixClaims(condemned[i])
		return false
	}) {
		recount()
		return nil
	}
	if s.forAll(condemned, func(i int) bool { return s.processCondemned(condemned[i], firstUnavailable) }) {
		recount()
		return nil
	}
	recount()
	if strategy == OnDelete {
		return nil
	}
	return s.rollingUpdate(replicas)
}

// forAll is upstream's runForAll: in order, stopping at the first exit,
// for OrderedReady; every element for Parallel (the host batches the
// creates slow-start).
func (s *sync) forAll(pods []*Pod, fn func(i int) bool) bool {
	for i := range pods {
		if exit := fn(i); exit && s.monotonic() {
			return true
		}
	}
	return false
}

func (s *sync) processReplica(replicas []*Pod, i int) bool {
	p := replicas[i]
	mono := s.monotonic()
	if controller.IsPodTerminal(p.phase()) {
		if !p.terminating() {
			s.deletePod(p)
		}
		return true
	}
	if !p.created {
		if s.claimIsStale(p) {
			return true
		}
		s.createPod(p)
		if mono {
			return true
		}
		return false
	}
	if p.phase() == controller.PodPending {
		if !s.createMissingClaims(p, true) {
			return true
		}
		s.fixClaims(p)
	}
	if mono && (p.terminating() || !p.runningAndReady() || !p.available(s.minReady(), s.now)) {
		return true
	}
	retention := s.claimsMatchRetention(p)
	if s.identityMatches(p) && s.storageMatches(p) && retention {
		return false
	}
	s.repairPod(p)
	return false
}

func (s *sync) processCondemned(p *Pod, firstUnavailable *Pod) bool {
	mono := s.monotonic()
	if p.terminating() {
		return mono
	}
	if mono && p != firstUnavailable && (!p.runningAndReady() || !p.available(s.minReady(), s.now)) {
		return true
	}
	s.deletePod(p)
	return true
}

// rollingUpdate is updateStatefulSetAfterInvariantEstablished (the
// MaxUnavailableStatefulSet path, on by default in v1.37).
func (s *sync) rollingUpdate(replicas []*Pod) error {
	set := s.set
	updateMin, maxUnavailable := 0, 1
	if ru := set.Spec.UpdateStrategy.RollingUpdate; ru != nil {
		if ru.Partition != nil {
			updateMin = int(*ru.Partition)
		}
		v := intstr.ValueOrDefault(ru.MaxUnavailable, intstr.FromInt32(1))
		n, err := intstr.GetScaledValueFromIntOrPercent(v, s.replicas, false)
		if err != nil {
			return fmt.Errorf("StatefulSet %s/%s: maxUnavailable: %w", set.Metadata.Namespace, set.Metadata.Name, err)
		}
		maxUnavailable = max(n, 1)
	}
	mr, now, upd := s.minReady(), s.now, s.update.Metadata.Name
	unavailable, needing := 0, 0
	for _, p := range replicas {
		if p.unavailable(mr, now) {
			unavailable++
			if !s.monotonic() && p.revision() != upd && !p.terminating() {
				needing++
			}
		}
	}
	if unavailable >= maxUnavailable && needing == 0 {
		return nil
	}
	del := func(p *Pod) {
		s.deletePod(p)
		s.status.CurrentReplicas--
	}
	if !s.monotonic() {
		for t := len(replicas) - 1; t >= updateMin; t-- {
			if p := replicas[t]; p.revision() != upd && !p.available(mr, now) && !p.terminating() {
				del(p)
			}
		}
		budget := maxUnavailable - unavailable
		for t := len(replicas) - 1; t >= updateMin && budget > 0; t-- {
			if p := replicas[t]; p.revision() != upd && !p.unavailable(mr, now) {
				del(p)
				budget--
			}
		}
		return nil
	}
	toDelete, deleted := maxUnavailable-unavailable, 0
	for t := len(replicas) - 1; t >= updateMin && deleted < toDelete; t-- {
		if p := replicas[t]; p.revision() != upd && !p.terminating() {
			del(p)
			deleted++
		}
	}
	return nil
}

// placeholder is the pod upstream builds for an empty slot
// (newVersionedStatefulSetPod), not created yet.
func (s *sync) placeholder(ord int) *Pod {
	p := &Pod{ordinal: ord}
	p.Metadata.Name = s.podName(ord)
	rev, _ := s.revisionFor(ord)
	p.Metadata.Labels = map[string]string{RevisionLabel: rev.Metadata.Name}
	return p
}

// revisionFor is the revision a new pod of ordinal ord gets (note Go's
// operator precedence in upstream's condition).
func (s *sync) revisionFor(ord int) (*Revision, map[string]any) {
	us := s.set.Spec.UpdateStrategy
	if us.Type == RollingUpdate && us.RollingUpdate == nil && ord < s.start+int(s.set.Status.CurrentReplicas) ||
		us.RollingUpdate != nil && us.RollingUpdate.Partition != nil && ord < s.start+int(*us.RollingUpdate.Partition) {
		return s.current, s.currentTmpl
	}
	return s.update, s.updateTmpl
}

type claimTemplate struct {
	name string
	obj  map[string]any
}

// claimTemplates returns spec.volumeClaimTemplates decoded, in order,
// once per call (every slot reads them).
func (s *sync) claimTemplates() []claimTemplate {
	if s.templates != nil {
		return *s.templates
	}
	out := []claimTemplate{}
	defer func() { s.templates = &out }()
	for _, raw := range s.set.Spec.VolumeClaimTemplates {
		var m map[string]any
		if json.Unmarshal(raw, &m) != nil {
			continue
		}
		name, _ := stringMapAny(m, "metadata")["name"].(string)
		out = append(out, claimTemplate{name: name, obj: m})
	}
	return out
}

func stringMapAny(m map[string]any, key string) map[string]any {
	mm, _ := m[key].(map[string]any)
	return mm
}

func (s *sync) claimName(tmpl string, ord int) string {
	return tmpl + "-" + s.set.Metadata.Name + "-" + strconv.Itoa(ord)
}

// buildPod is the pod upstream creates for ordinal ord.
func (s *sync) buildPod(ord int) map[string]any {
	rev, tmpl := s.revisionFor(ord)
	name := s.podName(ord)
	tm := stringMapAny(tmpl, "metadata")
	lbl := map[string]any{}
	maps.Copy(lbl, stringMapAny(tm, "labels"))
	lbl[PodNameLabel] = name
	lbl[PodIndexLabel] = strconv.Itoa(ord)
	lbl[RevisionLabel] = rev.Metadata.Name
	md := map[string]any{
		"name": name, "generateName": s.set.Metadata.Name + "-", "namespace": s.set.Metadata.Namespace,
		"labels":          lbl,
		"ownerReferences": []meta.OwnerReference{meta.NewControllerRef(s.ref)},
	}
	if a := stringMapAny(tm, "annotations"); len(a) > 0 {
		md["annotations"] = a
	}
	if f, ok := tm["finalizers"]; ok {
		md["finalizers"] = f
	}
	spec := map[string]any{}
	maps.Copy(spec, stringMapAny(tmpl, "spec"))
	spec["hostname"] = name
	if s.set.Spec.ServiceName != "" {
		spec["subdomain"] = s.set.Spec.ServiceName
	}
	var volumes []any
	claimed := map[string]bool{}
	for _, ct := range s.claimTemplates() {
		claimed[ct.name] = true
		volumes = append(volumes, map[string]any{"name": ct.name, "persistentVolumeClaim": map[string]any{"claimName": s.claimName(ct.name, ord)}})
	}
	if vs, ok := spec["volumes"].([]any); ok {
		for _, v := range vs {
			if vm, ok := v.(map[string]any); ok && claimed[fmt.Sprint(vm["name"])] {
				continue
			}
			volumes = append(volumes, v)
		}
	}
	if len(volumes) > 0 {
		spec["volumes"] = volumes
	}
	return map[string]any{"apiVersion": podAPIVersion, "kind": "Pod", "metadata": md, "spec": spec}
}

func (s *sync) event(t abi.EventType, reason, format string, args ...any) abi.Event {
	return abi.Event{Type: t, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// createPod creates the claims of a new pod, then the pod.
func (s *sync) createPod(p *Pod) {
	if !s.createMissingClaims(p, false) {
		return
	}
	// Its Events are the manifest's (ownedEvents of Pod): none when the
	// create is refused with AlreadyExists.
	raw, _ := json.Marshal(s.buildPod(p.ordinal))
	s.later = append(s.later, abi.Action{Op: abi.OpCreate, Object: raw})
}

// createMissingClaims creates the claims of p not in the cache; false when
// one is being deleted (upstream's "pvc ... is being deleted" error: the
// pod is not created and the sync retried).
func (s *sync) createMissingClaims(p *Pod, existing bool) bool {
	set := s.set.Metadata.Name
	for _, ct := range s.claimTemplates() {
		name := s.claimName(ct.name, p.ordinal)
		if c, ok := s.claims[name]; ok {
			if c.Metadata.Deleting() {
				err := fmt.Sprintf("pvc %s is being deleted", name)
				if !existing {
					s.resp.Event(abi.EventWarning, ReasonFailedCreate, "Create Pod %s in StatefulSet %s failed error: %s", p.Metadata.Name, set, err)
				}
				s.retryAfter = time.Second
				return false
			}
			continue
		}
		claim := deepCopy(ct.obj)
		md := stringMapAny(claim, "metadata")
		if md == nil {
			md = map[string]any{}
			claim["metadata"] = md
		}
		md["name"] = name
		md["namespace"] = s.set.Metadata.Namespace
		lbl := map[string]any{}
		maps.Copy(lbl, stringMapAny(md, "labels"))
		if s.set.Spec.Selector != nil {
			for k, v := range s.set.Spec.Selector.MatchLabels {
				lbl[k] = v
			}
		}
		if len(lbl) > 0 {
			md["labels"] = lbl
		}
		claim["apiVersion"], claim["kind"] = "v1", "PersistentVolumeClaim"
		raw, _ := json.Marshal(claim)
		fail := []abi.Event{s.event(abi.EventWarning, ReasonFailedCreate, "Create Claim %s for Pod %s in StatefulSet %s failed error: {error}", name, p.Metadata.Name, set)}
		if !existing {
			fail = append(fail, s.event(abi.EventWarning, ReasonFailedCreate, "Create Pod %s in StatefulSet %s failed error: failed to create PVC %s: {error}", p.Metadata.Name, set, name))
		}
		s.later = append(s.later, abi.Action{Op: abi.OpCreate, Object: raw,
			OnSuccess: []abi.Event{s.event(abi.EventNormal, ReasonSuccessfulCreate, "Create Claim %s Pod %s in StatefulSet %s success", name, p.Metadata.Name, set)},
			OnFailure: fail,
		})
		// Known from now on: a repair later in this call must not create it twice.
		s.claims[name] = &Claim{Metadata: meta.ObjectMeta{Name: name}}
	}
	return true
}

func deepCopy(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

func (s *sync) deletePod(p *Pod) {
	if s.deletes[p.Metadata.Name] {
		return
	}
	s.deletes[p.Metadata.Name] = true
	set := s.set.Metadata.Name
	obj, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": p.Metadata.Name, "namespace": s.set.Metadata.Namespace}})
	a := abi.Action{Op: abi.OpDelete, Object: obj}
	a.OnSuccess = []abi.Event{s.event(abi.EventNormal, ReasonSuccessfulDelete, "Delete Pod %s in StatefulSet %s successful", p.Metadata.Name, set)}
	a.OnFailure = []abi.Event{s.event(abi.EventWarning, ReasonFailedDelete, "Delete Pod %s in StatefulSet %s failed error: {error}", p.Metadata.Name, set)}
	s.later = append(s.later, a)
}

func (s *sync) identityMatches(p *Pod) bool {
	return p.ordinal >= 0 && s.isMember(p) && p.Metadata.Name == s.podName(p.ordinal) && p.Metadata.Labels[PodNameLabel] == p.Metadata.Name
}

func (s *sync) storageMatches(p *Pod) bool {
	vols := map[string]string{}
	for _, v := range p.Spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			vols[v.Name] = v.PersistentVolumeClaim.ClaimName
		} else {
			vols[v.Name] = ""
		}
	}
	for _, ct := range s.claimTemplates() {
		if c, ok := vols[ct.name]; !ok || c != s.claimName(ct.name, p.ordinal) {
			return false
		}
	}
	return true
}

// repairPod is upstream's UpdateStatefulPod: identity labels, missing
// claims, claim owner references, then a write of the pod (a merge patch of
// its identity labels guarded by its resourceVersion; the volumes of a
// pod cannot change).
func (s *sync) repairPod(p *Pod) {
	s.createMissingClaims(p, true)
	s.fixClaims(p)
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{
		"resourceVersion": p.Metadata.ResourceVersion,
		"labels":          map[string]string{PodNameLabel: p.Metadata.Name, PodIndexLabel: strconv.Itoa(p.ordinal)},
	}})
	obj, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": p.Metadata.Name, "namespace": s.set.Metadata.Namespace}})
	set := s.set.Metadata.Name
	s.later = append(s.later, abi.Action{Op: abi.OpPatch, Object: obj, PatchType: abi.PatchMerge, Patch: patch,
		OnSuccess: []abi.Event{s.event(abi.EventNormal, ReasonSuccessfulUpdate, "Update Pod %s in StatefulSet %s successful", p.Metadata.Name, set)},
		OnFailure: []abi.Event{s.event(abi.EventWarning, ReasonFailedUpdate, "Update Pod %s in StatefulSet %s failed error: {error}", p.Metadata.Name, set)},
	})
}

func (s *sync) policy() (whenScaled, whenDeleted string) {
	whenScaled, whenDeleted = RetentionRetain, RetentionRetain
	if rp := s.set.Spec.RetentionPolicy; rp != nil {
		whenScaled, whenDeleted = rp.WhenScaled, rp.WhenDeleted
	}
	known := func(v string) bool { return v == RetentionRetain || v == RetentionDelete }
	if !known(whenScaled) || !known(whenDeleted) {
		return RetentionRetain, RetentionRetain
	}
	return whenScaled, whenDeleted
}

func matchesRef(r meta.OwnerReference, apiVersion, kind, name string) bool {
	return r.APIVersion == apiVersion && r.Kind == kind && r.Name == name
}

func hasUID(refs []meta.OwnerReference, uid string) bool {
	for _, r := range refs {
		if r.UID == uid {
			return true
		}
	}
	return false
}

// stale is hasStaleOwnerRef: the first reference naming the object has
// another UID.
func stale(refs []meta.OwnerReference, apiVersion, kind, name, uid string) bool {
	for _, r := range refs {
		if matchesRef(r, apiVersion, kind, name) {
			return r.UID != uid
		}
	}
	return false
}

func (s *sync) unexpectedController(refs []meta.OwnerReference, p *Pod) bool {
	ws, wd := s.policy()
	if ws == RetentionRetain && wd == RetentionRetain {
		return false
	}
	for _, r := range refs {
		if matchesRef(r, requestAPIVersion, requestKind, s.set.Metadata.Name) {
			if r.UID != s.set.Metadata.UID {
				return true
			}
			continue
		}
		if matchesRef(r, podAPIVersion, "Pod", p.Metadata.Name) {
			if r.UID != p.Metadata.UID {
				return true
			}
			continue
		}
		if r.IsController() {
			return true
		}
	}
	return false
}

// claimUpToDate is isClaimOwnerUpToDate.
func (s *sync) claimUpToDate(c *Claim, p *Pod) bool {
	refs, setUID, podUID := c.Metadata.OwnerReferences, s.set.Metadata.UID, p.Metadata.UID
	if stale(refs, requestAPIVersion, requestKind, s.set.Metadata.Name, setUID) || stale(refs, podAPIVersion, "Pod", p.Metadata.Name, podUID) {
		return true
	}
	if s.unexpectedController(refs, p) {
		return !(hasUID(refs, setUID) || podUID != "" && hasUID(refs, podUID))
	}
	for _, r := range refs {
		if (r.UID == setUID || podUID != "" && r.UID == podUID) && !r.IsController() {
			return false
		}
	}
	hasSet, hasPod := hasUID(refs, setUID), podUID != "" && hasUID(refs, podUID)
	scaledDown := !s.inRange(p.ordinal)
	switch ws, wd := s.policy(); {
	case ws == RetentionRetain && wd == RetentionRetain:
		return !hasSet && !hasPod
	case ws == RetentionRetain && wd == RetentionDelete:
		return hasSet && !hasPod
	case ws == RetentionDelete && wd == RetentionRetain:
		return !hasSet && scaledDown == hasPod
	default:
		return scaledDown != hasSet && scaledDown == hasPod
	}
}

func (s *sync) claimsMatchRetention(p *Pod) bool {
	for _, ct := range s.claimTemplates() {
		c, ok := s.claims[s.claimName(ct.name, p.ordinal)]
		if !ok || c.Metadata.UID == "" {
			continue // picked up next time
		}
		if !s.claimUpToDate(c, p) {
			return false
		}
	}
	return true
}

// fixClaims is UpdatePodClaimForRetentionPolicy: each claim of p whose
// owner references are not as the policy wants gets them rewritten (a
// merge patch guarded by the claim's resourceVersion, as upstream's PUT).
func (s *sync) fixClaims(p *Pod) {
	for _, ct := range s.claimTemplates() {
		name := s.claimName(ct.name, p.ordinal)
		c, ok := s.claims[name]
		if !ok || c.Metadata.UID == "" || s.claimUpToDate(c, p) {
			continue
		}
		refs := c.Metadata.OwnerReferences
		unexpected := s.unexpectedController(refs, p)
		keep := []meta.OwnerReference{}
		for _, r := range refs {
			if !matchesRef(r, requestAPIVersion, requestKind, s.set.Metadata.Name) && !matchesRef(r, podAPIVersion, "Pod", p.Metadata.Name) {
				keep = append(keep, r)
			}
		}
		podRef := meta.NewControllerRef(abi.ObjectRef{APIVersion: "v1", Kind: "Pod", Name: p.Metadata.Name, UID: p.Metadata.UID})
		setRef := meta.NewControllerRef(s.ref)
		if unexpected {
			s.resp.Event(abi.EventWarning, ReasonConflicting, "PersistentVolumeClaim %s has a conflicting OwnerReference that acts as a manging controller, the retention policy is ignored for this claim", name)
		} else {
			scaledDown := !s.inRange(p.ordinal)
			switch ws, wd := s.policy(); {
			case ws == RetentionRetain && wd == RetentionDelete:
				keep = append(keep, setRef)
			case ws == RetentionDelete && wd == RetentionRetain:
				if scaledDown && p.Metadata.UID != "" {
					keep = append(keep, podRef)
				}
			case ws == RetentionDelete && wd == RetentionDelete:
				if scaledDown && p.Metadata.UID != "" {
					keep = append(keep, podRef)
				} else if !scaledDown {
					keep = append(keep, setRef)
				}
			}
		}
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"resourceVersion": c.Metadata.ResourceVersion, "ownerReferences": keep}})
		obj, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": map[string]any{"name": name, "namespace": s.set.Metadata.Namespace}})
		s.later = append(s.later, abi.Action{Op: abi.OpPatch, Object: obj, PatchType: abi.PatchMerge, Patch: patch})
		c.Metadata.OwnerReferences = keep
	}
}

// claimIsStale is PodClaimIsStale: with whenScaled=Delete, a claim of the
// pod still owned by an earlier pod of that name blocks the slot silently.
func (s *sync) claimIsStale(p *Pod) bool {
	if ws, _ := s.policy(); ws != RetentionDelete {
		return false
	}
	for _, ct := range s.claimTemplates() {
		c, ok := s.claims[s.claimName(ct.name, p.ordinal)]
		if !ok {
			continue
		}
		for _, r := range c.Metadata.OwnerReferences {
			if matchesRef(r, podAPIVersion, "Pod", p.Metadata.Name) && r.UID != p.Metadata.UID {
				return true
			}
		}
	}
	return false
}

// writeStatus is completeUpdate + updateStatefulSetStatus: the status is
// written when it differs from the stored one as upstream compares.
func (s *sync) writeStatus() {
	if s.status.UpdateRevision == "" { // Recreate: nothing written
		return
	}
	st, old := &s.status, &s.set.Status
	if st.UpdatedReplicas == st.ReadyReplicas && st.ReadyReplicas == st.Replicas && int(st.Replicas) == s.replicas {
		st.CurrentReplicas = st.UpdatedReplicas
		st.CurrentRevision = st.UpdateRevision
	}
	if st.ObservedGeneration <= old.ObservedGeneration && st.Replicas == old.Replicas && st.CurrentReplicas == old.CurrentReplicas &&
		st.ReadyReplicas == old.ReadyReplicas && st.UpdatedReplicas == old.UpdatedReplicas && st.CurrentRevision == old.CurrentRevision &&
		st.AvailableReplicas == old.AvailableReplicas && st.UpdateRevision == old.UpdateRevision && conditionsEqual(st.Conditions, old.Conditions) {
		return
	}
	obj := maps.Clone(s.raw)
	obj["status"], _ = json.Marshal(st)
	_ = s.resp.Add(abi.OpUpdateStatus, obj)
}

func conditionsEqual(a, b []json.RawMessage) bool {
	return slices.EqualFunc(a, b, func(x, y json.RawMessage) bool { return string(compact(x)) == string(compact(y)) })
}

// truncateHistory is upstream's truncateHistory.
func (s *sync) truncateHistory() {
	limit := defaultHistory
	if l := s.set.Spec.RevisionHistoryLimit; l != nil {
		limit = int(*l)
	}
	if limit < 0 {
		return
	}
	live := map[string]bool{s.current.Metadata.Name: true, s.update.Metadata.Name: true}
	for _, p := range s.pods {
		if r := p.revision(); r != "" {
			live[r] = true
		}
	}
	var history []*Revision
	for _, r := range s.revisions {
		if !live[r.Metadata.Name] {
			history = append(history, r)
		}
	}
	for i := 0; i < len(history)-limit; i++ {
		s.resp.AddDelete(s.objRef(revisionType, history[i].Metadata), "")
	}
}

// requeue is the minReadySeconds requeue of a sync.
func (s *sync) requeue() {
	if s.retryAfter > 0 {
		s.resp.RequeueAfter(s.retryAfter)
	}
	mr := s.minReady()
	if mr <= 0 || s.status.ReadyReplicas == s.status.AvailableReplicas {
		return
	}
	var next time.Duration
	for _, p := range s.pods {
		if !p.ready() {
			continue
		}
		if d, ok := controller.NextAvailabilityCheck(true, p.ReadySinceTime(), mr, s.now); ok && (next == 0 || d < next) {
			next = d
		}
	}
	if next == 0 {
		next = time.Duration(mr) * time.Second
	}
	s.resp.RequeueAfter(next)
}

// ReadySinceTime is the Ready condition's lastTransitionTime.
func (p *Pod) ReadySinceTime() time.Time {
	if c := controller.GetPodCondition(p.Status.Conditions, controller.PodReady); c != nil {
		return c.LastTransitionTime.Time
	}
	return time.Time{}
}
