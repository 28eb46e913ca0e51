// Package daemonset is the DaemonSet controller plugin: one call is one
// sync of kube-controller-manager's DaemonSet controller (v1.37.2), from
// the DaemonSet, its pods and ControllerRevisions (owned and adoptable),
// every Node (their names, labels and taints) and the per-node backoff of
// failed pods the host keeps for it (abi memo).
// docs/controllers/daemonset.md states the rules it follows.
package daemonset

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/valyala/fastjson"

	"wasmctl.dev/wasmctl/abi/sdk/intstr"
	"wasmctl.dev/wasmctl/abi/sdk/labels"
	appsv1 "wasmctl.dev/wasmctl/plugins/internal/kube/apps/v1"
	corev1 "wasmctl.dev/wasmctl/plugins/internal/kube/core/v1"
	metav1 "wasmctl.dev/wasmctl/plugins/internal/kube/meta/v1"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/abi/sdk/controller"
	"wasmctl.dev/wasmctl/plugins/internal/podhash"
	"wasmctl.dev/wasmctl/plugins/internal/request"
)

// Event reasons (upstream's; the host words the pod creates and deletes,
// SuccessfulCreate "Created pod: <name>" and so on).
const (
	ReasonFailedDaemonPod    = "FailedDaemonPod"
	ReasonSucceededDaemonPod = "SucceededDaemonPod"
	ReasonSelectingAll       = "SelectingAll"
)

// RelatedNodes names the related input of Nodes.
const RelatedNodes = "nodes"

var (
	podType      = abi.TypeRef{APIVersion: "v1", Kind: "Pod"}
	revisionType = abi.TypeRef{APIVersion: "apps/v1", Kind: "ControllerRevision"}
	nodeType     = abi.TypeRef{APIVersion: "v1", Kind: "Node"}
	dsKind       = appsv1.SchemeGroupVersion.WithKind(requestKind)
)

// Manifest describes the plugin.
func Manifest() *abi.Manifest {
	return &abi.Manifest{
		Name:    "daemonset",
		Version: "0.1.0",
		For:     abi.TypeRef{APIVersion: requestAPIVersion, Kind: requestKind},
		Owns:    []abi.TypeRef{podType, revisionType},
		// Every node, cut to what the placement reads: a node's status
		// heartbeat changes none of it and wakes no DaemonSet; a new node,
		// or one relabelled or retainted, wakes them all.
		Related: []abi.RelatedInput{{Name: RelatedNodes, Type: nodeType, Select: abi.SelectAll}},
		Fields: []abi.FieldSelection{
			{Type: podType, Paths: []string{
				"metadata.labels", "metadata.ownerReferences", "metadata.creationTimestamp", "metadata.deletionTimestamp",
				"spec.nodeName", "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms.matchFields",
				"status.phase", "status.conditions.type", "status.conditions.status", "status.conditions.lastTransitionTime",
			}},
			{Type: nodeType, Paths: []string{"metadata.labels", "spec.taints"}},
		},
		IgnoreOwnWrites: true,
		// Pods get the host's default wording, which is upstream's pod
		// control's ("Created pod: web-x7k2p"); revisions none.
		OwnedEvents: []abi.OwnedEvents{
			{Type: revisionType, Created: abi.NoEvent, CreateFailed: abi.NoEvent, Deleted: abi.NoEvent, DeleteFailed: abi.NoEvent},
		},
	}
}

// sync is one call's state.
type sync struct {
	ds       *appsv1.DaemonSet
	raw      map[string]json.RawMessage
	now      time.Time
	resp     *abi.ReconcileResponse
	ref      abi.ObjectRef
	selector labels.Selector
	nodes    []*corev1.Node
	nodeSet  map[string]*corev1.Node
	place    *placement

	pods      []*Pod      // claimed
	revisions []*Revision // claimed
	// hash is the current revision's controller-revision-hash label; pods
	// carrying it (or the template generation label) are up to date.
	hash       string
	generation *int64
	// collision is the collision count the current revision's name was
	// computed with, when this call raised it.
	collision *int32
	// template is the pod template of a create, but for the node pinning.
	template *corev1.PodTemplateSpec

	memo    memo
	requeue time.Duration
}

// Reconcile is the "reconcile" export. The request is parsed once with
// fastjson and the objects decoded from the parsed values
// (plugins/internal/request, the mirror's DecodeJSON).
func Reconcile(input []byte) (*abi.ReconcileResponse, error) { return request.Handle(input, reconcile) }

func reconcile(req *request.Request) (*abi.ReconcileResponse, error) {
	s := &sync{resp: abi.NewResponse(), nodeSet: map[string]*corev1.Node{}, now: req.Now}
	var err error
	// The status write sends the object back as it came: its fields'
	// bytes, taken before decoding reads (and unescapes) their strings.
	s.raw = map[string]json.RawMessage{}
	req.Object.GetObject().Visit(func(k []byte, v *fastjson.Value) { s.raw[string(k)] = v.MarshalTo(nil) })
	s.ds = &appsv1.DaemonSet{}
	if err := s.ds.DecodeJSON(req.Object); err != nil {
		return nil, fmt.Errorf("decode DaemonSet: %w", err)
	}
	ds := s.ds
	s.ref = abi.ObjectRef{APIVersion: requestAPIVersion, Kind: requestKind, Namespace: ds.Namespace, Name: ds.Name, UID: string(ds.UID)}
	if ds.Spec.Selector != nil && reflect.DeepEqual(*ds.Spec.Selector, metav1.LabelSelector{}) {
		s.resp.Event(abi.EventWarning, ReasonSelectingAll, "This daemon set is selecting all pods. A non-empty selector is required.")
		return s.resp, nil
	}
	// A DaemonSet being deleted gets nothing, not even status: its
	// revisions may be gone already (upstream).
	if ds.DeletionTimestamp != nil {
		return s.resp, nil
	}
	if s.selector, err = metav1.LabelSelectorAsSelector(ds.Spec.Selector); err != nil {
		return nil, fmt.Errorf("DaemonSet %s/%s: selector: %w", ds.Namespace, ds.Name, err)
	}
	for i, v := range req.Related[RelatedNodes] {
		n := &corev1.Node{}
		if err := n.DecodeJSON(v); err != nil {
			return nil, fmt.Errorf("decode node %d: %w", i, err)
		}
		s.nodes = append(s.nodes, n)
		s.nodeSet[n.Name] = n
	}
	s.memo = loadMemo(req.Memo, s.now)
	if g, ok := ds.Annotations[TemplateGenerationAnnotation]; ok {
		if n, err := strconv.ParseInt(g, 10, 64); err == nil {
			s.generation = &n
		}
	}
	s.place = newPlacement(&ds.Spec.Template)

	var pods, orphanPods []*Pod
	var revs, orphanRevs []*Revision
	for _, list := range []struct {
		values []*fastjson.Value
		orphan bool
	}{{req.Children, false}, {req.Orphans, true}} {
		for _, v := range list.values {
			// Pods and revisions decode into the plugin's own types
			// (types.go) with encoding/json, from their bytes.
			raw := v.MarshalTo(nil)
			switch string(v.GetStringBytes("kind")) {
			case podType.Kind:
				p := &Pod{}
				if err := json.Unmarshal(raw, p); err != nil {
					return nil, fmt.Errorf("decode pod: %w", err)
				}
				if list.orphan {
					orphanPods = append(orphanPods, p)
				} else {
					pods = append(pods, p)
				}
			case revisionType.Kind:
				r := &Revision{raw: raw}
				if err := json.Unmarshal(raw, r); err != nil {
					return nil, fmt.Errorf("decode ControllerRevision: %w", err)
				}
				if list.orphan {
					orphanRevs = append(orphanRevs, r)
				} else {
					revs = append(revs, r)
				}
			}
		}
	}

	s.revisions = claim(s, revs, orphanRevs, revisionType, func(r *Revision) map[string]string { return r.Metadata.Labels }, func(r *Revision) *abi.ObjectRef {
		return &abi.ObjectRef{APIVersion: revisionType.APIVersion, Kind: revisionType.Kind, Namespace: ds.Namespace, Name: r.Metadata.Name, UID: r.Metadata.UID}
	}, func(*Revision) bool { return false })
	old, err := s.constructHistory(req, append(revs, orphanRevs...))
	if err != nil {
		return nil, err
	}
	s.pods = claim(s, pods, orphanPods, podType, func(p *Pod) map[string]string { return p.Metadata.Labels }, func(p *Pod) *abi.ObjectRef {
		return &abi.ObjectRef{APIVersion: podType.APIVersion, Kind: podType.Kind, Namespace: ds.Namespace, Name: p.Metadata.Name, UID: p.Metadata.UID}
	}, func(p *Pod) bool { return p.Metadata.Deleting() })
	s.template = createPodTemplate(&ds.Spec.Template, s.generation, s.hash)

	groups := s.nodeToPods(false)
	creates, deletes := s.manage(groups)
	// Upstream runs the update step only once the writes of manage are
	// observed: in a call whose manage wrote nothing.
	if len(creates) == 0 && len(deletes) == 0 && ds.Spec.UpdateStrategy.Type == appsv1.RollingUpdateDaemonSetStrategyType {
		if creates, deletes, err = s.rollingUpdate(groups); err != nil {
			return nil, err
		}
	}
	s.writeStatus(groups)
	s.requeueForAvailability()
	s.syncNodes(creates, deletes)
	s.cleanupHistory(old)
	s.memo.save(s.resp)
	s.resp.RequeueAfter(s.requeue)
	return s.resp, nil
}

// claim is upstream's ControllerRefManager for pods and revisions alike:
// owned objects the selector still matches are kept, the others released;
// orphans it matches that are not being deleted are adopted (the host
// re-reads the DaemonSet before the first adoption, as upstream's
// CanAdopt does).
func claim[T any](s *sync, owned, orphans []*T, typ abi.TypeRef, labelsOf func(*T) map[string]string, refOf func(*T) *abi.ObjectRef, deleting func(*T) bool) []*T {
	var out []*T
	for _, o := range owned {
		if s.selector.Matches(labelsOf(o)) {
			out = append(out, o)
			continue
		}
		_ = controller.AddRelease(s.resp, s.ref, *refOf(o))
	}
	for _, o := range orphans {
		if !s.selector.Matches(labelsOf(o)) || deleting(o) {
			continue
		}
		_ = controller.AddAdopt(s.resp, s.ref, *refOf(o))
		out = append(out, o)
	}
	return out
}

// createPodTemplate is upstream's CreatePodTemplate: the template with the
// daemon tolerations and the labels pod-template-generation (when the
// DaemonSet has a template generation) and controller-revision-hash.
func createPodTemplate(t *corev1.PodTemplateSpec, generation *int64, hash string) *corev1.PodTemplateSpec {
	out := t.DeepCopy()
	addDaemonTolerations(&out.Spec)
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	if generation != nil {
		out.Labels[TemplateGenerationLabel] = strconv.FormatInt(*generation, 10)
	}
	if hash != "" {
		out.Labels[RevisionLabel] = hash
	}
	return out
}

// nodeToPods groups the claimed pods by their target node; terminal pods
// already being deleted are left out unless includeDeletedTerminal, and
// pods with no target node always.
func (s *sync) nodeToPods(includeDeletedTerminal bool) map[string][]*Pod {
	m := map[string][]*Pod{}
	for _, p := range s.pods {
		if !includeDeletedTerminal && p.terminal() && p.Metadata.Deleting() {
			continue
		}
		if n, ok := p.targetNode(); ok {
			m[n] = append(m[n], p)
		}
	}
	return m
}

// sortPods orders pods as upstream's podByCreationTimestampAndPhase: bound
// pods first, then older first, then by name.
func sortPods(pods []*Pod) {
	sort.SliceStable(pods, func(i, j int) bool {
		a, b := pods[i], pods[j]
		if (a.Spec.NodeName != "") != (b.Spec.NodeName != "") {
			return a.Spec.NodeName != ""
		}
		ta, tb := a.Metadata.CreationTimestamp.Time, b.Metadata.CreationTimestamp.Time
		if ta.Equal(tb) {
			return a.Metadata.Name < b.Metadata.Name
		}
		return ta.Before(tb)
	})
}

// updated is upstream's IsPodUpdated: the pod carries the current hash or
// the current template generation.
func (s *sync) updated(p *Pod) bool {
	if s.generation != nil && p.Metadata.Labels[TemplateGenerationLabel] == strconv.FormatInt(*s.generation, 10) {
		return true
	}
	return s.hash != "" && p.Metadata.Labels[RevisionLabel] == s.hash
}

// allowsSurge is upstream's AllowsSurge: maxSurge resolves to more than 0
// of one node.
func (s *sync) allowsSurge() bool {
	n, err := s.surgeCount(1)
	return err == nil && n > 0
}

func (s *sync) surgeCount(desired int) (int, error) {
	u := s.ds.Spec.UpdateStrategy
	if u.Type != appsv1.RollingUpdateDaemonSetStrategyType || u.RollingUpdate == nil || u.RollingUpdate.MaxSurge == nil {
		return 0, nil
	}
	return intstr.GetScaledValueFromIntOrPercent(u.RollingUpdate.MaxSurge, desired, true)
}

func (s *sync) unavailableCount(desired int) (int, error) {
	u := s.ds.Spec.UpdateStrategy
	if u.Type != appsv1.RollingUpdateDaemonSetStrategyType || u.RollingUpdate == nil {
		return 0, nil
	}
	return intstr.GetScaledValueFromIntOrPercent(u.RollingUpdate.MaxUnavailable, desired, true)
}

// manage is upstream's manage and podsShouldBeOnNode: per node, create a
// pod where one should run and none is; delete failed pods (with the
// per-node backoff), succeeded pods, surplus pods and pods on nodes that
// should not keep them; and delete unbound pods aimed at nodes that are
// gone. It returns the nodes to create pods on and the pods to delete.
func (s *sync) manage(groups map[string][]*Pod) (creates []string, deletes []*Pod) {
	surge := s.allowsSurge()
	ds := s.ds
	for _, node := range s.nodes {
		run, keep := s.place.shouldRun(node)
		pods, exists := groups[node.Name]
		switch {
		case run && !exists:
			creates = append(creates, node.Name)
		case keep:
			var running []*Pod
			for _, p := range pods {
				if p.Metadata.Deleting() {
					continue
				}
				switch p.Status.Phase {
				case controller.PodFailed:
					// The kubelet may refuse the pod again and again: back
					// off per node before deleting the next failed one.
					key := backoffKey(ds, node.Name)
					if s.memo.inBackoff(key, s.now) {
						s.requeueAfter(s.memo.delay(key))
						continue
					}
					s.memo.next(key, s.now)
					s.resp.Event(abi.EventWarning, ReasonFailedDaemonPod, "Found failed daemon pod %s/%s on node %s, will try to kill it", ds.Namespace, p.Metadata.Name, node.Name)
					deletes = append(deletes, p)
				case controller.PodSucceeded:
					s.resp.Event(abi.EventNormal, ReasonSucceededDaemonPod, "Found succeeded daemon pod %s/%s on node %s, will try to delete it", ds.Namespace, p.Metadata.Name, node.Name)
					deletes = append(deletes, p)
				default:
					running = append(running, p)
				}
			}
			if !surge {
				// One pod per node: the oldest stays.
				if len(running) > 1 {
					sortPods(running)
					deletes = append(deletes, running[1:]...)
				}
				break
			}
			if len(running) <= 1 {
				if len(running) == 0 && run {
					creates = append(creates, node.Name)
				}
				break
			}
			// Surge: at most the oldest new and the oldest old pod; the
			// old one goes once it is not ready or the new one available.
			sortPods(running)
			var oldestNew, oldestOld *Pod
			for _, p := range running {
				if p.Metadata.Labels[RevisionLabel] == s.hash {
					if oldestNew == nil {
						oldestNew = p
						continue
					}
				} else if oldestOld == nil {
					oldestOld = p
					continue
				}
				deletes = append(deletes, p)
			}
			if oldestNew != nil && oldestOld != nil && (!oldestOld.ready() || oldestNew.available(ds.Spec.MinReadySeconds, s)) {
				deletes = append(deletes, oldestOld)
			}
		case !keep && exists:
			for _, p := range pods {
				if !p.Metadata.Deleting() {
					deletes = append(deletes, p)
				}
			}
		}
	}
	// Pods aimed at a node that is gone are never scheduled, and so never
	// collected by the pod garbage collector: delete them here.
	for _, name := range slices.Sorted(maps.Keys(groups)) {
		if s.nodeSet[name] != nil {
			continue
		}
		for _, p := range groups[name] {
			if p.Spec.NodeName == "" {
				deletes = append(deletes, p)
			}
		}
	}
	return creates, deletes
}

// rollingUpdate is upstream's rollingUpdate: which old pods to delete (no
// surge: within maxUnavailable, manage recreates them) or which nodes get
// a new pod beside the old one (surge: within maxSurge, manage deletes the
// old one once the new one is available). Upstream walks the nodes in map
// order; this walks them by name.
func (s *sync) rollingUpdate(groups map[string][]*Pod) (creates []string, deletes []*Pod, err error) {
	ds := s.ds
	byNode := maps.Clone(groups)
	desired := 0
	for _, node := range s.nodes {
		if run, _ := s.place.shouldRun(node); run {
			desired++
			if _, ok := byNode[node.Name]; !ok {
				byNode[node.Name] = nil
			}
		}
	}
	maxUnavailable, err := s.unavailableCount(desired)
	if err != nil {
		return nil, nil, fmt.Errorf("couldn't get unavailable numbers: invalid value for MaxUnavailable: %w", err)
	}
	maxSurge, err := s.surgeCount(desired)
	if err != nil {
		return nil, nil, fmt.Errorf("couldn't get unavailable numbers: invalid value for MaxSurge: %w", err)
	}
	if desired > 0 && maxUnavailable == 0 && maxSurge == 0 {
		maxUnavailable = 1
	}
	mrs := ds.Spec.MinReadySeconds
	names := slices.Sorted(maps.Keys(byNode))

	if maxSurge == 0 {
		unavailable := 0
		var replace, candidates []*Pod
		for _, name := range names {
			newPod, oldPod, ok := s.updatedPodsOnNode(byNode[name])
			switch {
			case !ok:
				unavailable++ // manage prunes the extra pods first
			case oldPod == nil && newPod == nil, oldPod != nil && newPod != nil:
				unavailable++
			case newPod != nil:
				if !newPod.available(mrs, s) {
					unavailable++
				}
			case !oldPod.available(mrs, s):
				replace = append(replace, oldPod)
				unavailable++
			case unavailable >= maxUnavailable:
			default:
				candidates = append(candidates, oldPod)
			}
		}
		n := min(max(maxUnavailable-unavailable, 0), len(candidates))
		return nil, append(replace, candidates[:n]...), nil
	}

	var shouldNotRun, candidateNodes, allowedNodes []string
	var shouldNotRunPods []*Pod
	surge, available := 0, 0
	for _, name := range names {
		newPod, oldPod, ok := s.updatedPodsOnNode(byNode[name])
		if !ok {
			surge++
			continue
		}
		if oldPod != nil {
			if oldPod.available(mrs, s) {
				available++
			}
		} else if newPod != nil && newPod.available(mrs, s) {
			available++
		}
		switch {
		case oldPod == nil:
		case newPod == nil:
			node := s.nodeSet[name]
			if node == nil {
				return nil, nil, fmt.Errorf("couldn't get node for nodeName %q: node %q not found", name, name)
			}
			run, _ := s.place.shouldRun(node)
			switch {
			case !oldPod.available(mrs, s):
				if !run {
					deletes = append(deletes, oldPod)
					continue
				}
				allowedNodes = append(allowedNodes, name)
			case !run:
				shouldNotRun = append(shouldNotRun, name)
				shouldNotRunPods = append(shouldNotRunPods, oldPod)
			case surge >= maxSurge:
			default:
				candidateNodes = append(candidateNodes, name)
			}
		default:
			if !newPod.available(mrs, s) {
				surge++
				continue
			}
			deletes = append(deletes, oldPod)
		}
	}
	// With surge the owner expects full availability: a pod on a node
	// that should no longer run it goes only once enough others are
	// available.
	if spare := min(available-desired, len(shouldNotRunPods)); spare > 0 {
		deletes = append(deletes, shouldNotRunPods[:spare]...)
	}
	n := min(max(maxSurge-surge, 0), len(candidateNodes))
	return append(allowedNodes, candidateNodes[:n]...), deletes, nil
}

// updatedPodsOnNode is upstream's findUpdatedPodsOnNode: the node's one
// new and one old pod (not being deleted); ok is false when it has more
// than one of either.
func (s *sync) updatedPodsOnNode(pods []*Pod) (newPod, oldPod *Pod, ok bool) {
	for _, p := range pods {
		if p.Metadata.Deleting() {
			continue
		}
		if s.updated(p) {
			if newPod != nil {
				return nil, nil, false
			}
			newPod = p
		} else {
			if oldPod != nil {
				return nil, nil, false
			}
			oldPod = p
		}
	}
	return newPod, oldPod, true
}

// syncNodes is upstream's syncNodes: at most burstReplicas creates (the
// host sends them in slow-start batches 1, 2, 4, … and stops at the first
// failure) and burstReplicas deletes.
func (s *sync) syncNodes(creates []string, deletes []*Pod) {
	ds := s.ds
	if len(creates) > burstReplicas {
		creates = creates[:burstReplicas]
	}
	if len(deletes) > burstReplicas {
		deletes = deletes[:burstReplicas]
	}
	ref := *metav1.NewControllerRef(ds, dsKind)
	for _, node := range creates {
		spec := *s.template.Spec.DeepCopy()
		pinToNode(&spec, node)
		pod := corev1.Pod{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
			ObjectMeta: metav1.ObjectMeta{
				GenerateName: ds.Name + "-", Namespace: ds.Namespace,
				Labels: s.template.Labels, Annotations: s.template.Annotations, Finalizers: s.template.Finalizers,
				OwnerReferences: []metav1.OwnerReference{ref},
			},
			Spec: spec,
		}
		_ = s.resp.Add(abi.OpCreate, pod)
	}
	for _, p := range deletes {
		s.resp.AddDelete(abi.ObjectRef{APIVersion: podType.APIVersion, Kind: podType.Kind, Namespace: ds.Namespace, Name: p.Metadata.Name}, "")
	}
}

// writeStatus is upstream's updateDaemonSetStatus: per node that should
// run a pod, desired +1 and, when it has one, scheduled +1 and its oldest
// pod counts as ready, available and up to date or not; nodes that should
// not run one but have one are misscheduled. Written when a counter
// changed, the generation is not yet observed or the collision count rose.
func (s *sync) writeStatus(groups map[string][]*Pod) {
	ds := s.ds
	st := ds.Status.DeepCopy()
	var desired, current, mis, ready, updated, available int32
	for _, node := range s.nodes {
		run, _ := s.place.shouldRun(node)
		pods := groups[node.Name]
		if !run {
			if len(pods) > 0 {
				mis++
			}
			continue
		}
		desired++
		if len(pods) == 0 {
			continue
		}
		current++
		pods = slices.Clone(pods)
		sortPods(pods)
		p := pods[0]
		if p.ready() {
			ready++
			if p.available(ds.Spec.MinReadySeconds, s) {
				available++
			} else if d, ok := controller.NextAvailabilityCheck(true, (&controller.Pod{Status: p.Status}).ReadySince(), ds.Spec.MinReadySeconds, s.now); ok {
				s.requeueAfter(d)
			}
		}
		if s.updated(p) {
			updated++
		}
	}
	unavailable := desired - available
	// A flat resync after minReadySeconds as upstream's, besides the exact
	// time the next pod becomes available.
	if ds.Spec.MinReadySeconds > 0 && ready != available {
		s.requeueAfter(time.Duration(ds.Spec.MinReadySeconds) * time.Second)
	}
	if st.DesiredNumberScheduled == desired && st.CurrentNumberScheduled == current && st.NumberMisscheduled == mis &&
		st.NumberReady == ready && st.UpdatedNumberScheduled == updated && st.NumberAvailable == available &&
		st.NumberUnavailable == unavailable && st.ObservedGeneration >= ds.Generation && s.collision == nil {
		return
	}
	st.ObservedGeneration = ds.Generation
	st.DesiredNumberScheduled, st.CurrentNumberScheduled, st.NumberMisscheduled = desired, current, mis
	st.NumberReady, st.UpdatedNumberScheduled, st.NumberAvailable, st.NumberUnavailable = ready, updated, available, unavailable
	if s.collision != nil {
		st.CollisionCount = s.collision
	}
	obj := maps.Clone(s.raw)
	obj["status"], _ = json.Marshal(st)
	_ = s.resp.Add(abi.OpUpdateStatus, obj)
}

// requeueForAvailability stands for upstream's pod handler, which syncs a
// DaemonSet with minReadySeconds again minReadySeconds (+1 s) after any of
// its pods turns Ready: the call is requeued for when the first ready pod
// not yet available becomes so, whether or not it is the oldest of its
// node (the one status looks at). With surge, the old pod's deletion waits
// for the new one beside it, which status never counts.
func (s *sync) requeueForAvailability() {
	mrs := s.ds.Spec.MinReadySeconds
	if mrs <= 0 {
		return
	}
	for _, p := range s.pods {
		if p.Metadata.Deleting() || p.terminal() {
			continue
		}
		if d, ok := controller.NextAvailabilityCheck(p.ready(), (&controller.Pod{Status: p.Status}).ReadySince(), mrs, s.now); ok {
			s.requeueAfter(d)
		}
	}
}

func (s *sync) requeueAfter(d time.Duration) {
	if d > 0 && (s.requeue == 0 || d < s.requeue) {
		s.requeue = d
	}
}

// podHash is the hash upstream names a DaemonSet's revisions with: the
// Deployment's pod-template-hash of the template and collision count.
func podHash(t *corev1.PodTemplateSpec, collisionCount *int32) string {
	return podhash.Compute(t, collisionCount)
}
