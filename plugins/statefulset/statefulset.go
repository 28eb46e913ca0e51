// Package statefulset is the StatefulSet controller plugin: one call is one
// sync of kube-controller-manager's StatefulSet controller (v1.37.2), from
// the set, its pods and ControllerRevisions (owned and adoptable) and the
// PersistentVolumeClaims of its namespace. docs/controllers/statefulset.md
// states the rules it follows.
package statefulset

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/abi/sdk/controller"
	"wasmctl.dev/wasmctl/abi/sdk/labels"
	"wasmctl.dev/wasmctl/abi/sdk/meta"
)

// Event reasons (upstream's).
const (
	ReasonSuccessfulCreate = "SuccessfulCreate"
	ReasonFailedCreate     = "FailedCreate"
	ReasonSuccessfulDelete = "SuccessfulDelete"
	ReasonFailedDelete     = "FailedDelete"
	ReasonSuccessfulUpdate = "SuccessfulUpdate"
	ReasonFailedUpdate     = "FailedUpdate"
	ReasonConflicting      = "ConflictingController"
	ReasonUnknownStrategy  = "UnknownStrategy"
)

// RelatedClaims names the related input of PersistentVolumeClaims.
const RelatedClaims = "claims"

var (
	podType      = abi.TypeRef{APIVersion: "v1", Kind: "Pod"}
	revisionType = abi.TypeRef{APIVersion: "apps/v1", Kind: "ControllerRevision"}
	claimType    = abi.TypeRef{APIVersion: "v1", Kind: "PersistentVolumeClaim"}
)

// Manifest describes the plugin.
func Manifest() *abi.Manifest {
	return &abi.Manifest{
		Name:    "statefulset",
		Version: "0.1.0",
		For:     abi.TypeRef{APIVersion: requestAPIVersion, Kind: requestKind},
		Owns:    []abi.TypeRef{podType, revisionType},
		// Upstream looks claims up by name and does not watch them: a
		// claim's change wakes nothing.
		Related: []abi.RelatedInput{{Name: RelatedClaims, Type: claimType, Select: abi.SelectNamespace, Passive: true}},
		Permissions: []abi.Permission{
			{APIVersion: "v1", Kind: "PersistentVolumeClaim", Verbs: []abi.Op{abi.OpCreate, abi.OpPatch}},
		},
		Fields: []abi.FieldSelection{
			{Type: podType, Paths: []string{
				"metadata.labels", "metadata.ownerReferences", "metadata.deletionTimestamp",
				"spec.volumes.name", "spec.volumes.persistentVolumeClaim",
				"status.phase", "status.conditions.type", "status.conditions.status", "status.conditions.lastTransitionTime",
			}},
			{Type: claimType, Paths: []string{"metadata.ownerReferences", "metadata.deletionTimestamp"}},
		},
		IgnoreOwnWrites: true,
		// Events are worded per action (onSuccess / onFailure), as
		// upstream's pod control does, but for pod creates: their wording
		// is here, so that a create refused with AlreadyExists records
		// nothing, as upstream sinks that error (stateful_pod_control.go:162).
		// Deletes keep their own Events: upstream reports a pod already
		// gone as deleted, which ownedEvents does not.
		OwnedEvents: []abi.OwnedEvents{
			{Type: podType,
				Created:      "Create Pod {name} in StatefulSet {primary} successful",
				CreateFailed: "Create Pod {name} in StatefulSet {primary} failed error: {error}",
				Deleted:      abi.NoEvent, DeleteFailed: abi.NoEvent, QuietReasons: []string{"AlreadyExists"}},
			{Type: revisionType, Created: abi.NoEvent, CreateFailed: abi.NoEvent, Deleted: abi.NoEvent, DeleteFailed: abi.NoEvent},
		},
	}
}

// sync is one call's state.
type sync struct {
	set       *StatefulSet
	raw       map[string]json.RawMessage
	now       time.Time
	selector  labels.Selector
	start     int
	replicas  int
	resp      *abi.ReconcileResponse
	pods      []*Pod // claimed
	revisions []*Revision
	claims    map[string]*Claim
	current   *Revision
	update    *Revision
	collision int32
	status    Status
	deletes   map[string]bool
	// actions after the status write, in order.
	later []abi.Action
	// templates of the current and update revision (pods are built from
	// them).
	currentTmpl, updateTmpl map[string]any
	ref                     abi.ObjectRef
	retryAfter              time.Duration
	templates               *[]claimTemplate
}

// Reconcile is the "reconcile" export.
func Reconcile(input []byte) (*abi.ReconcileResponse, error) {
	var req request
	if err := json.Unmarshal(input, &req); err != nil {
		return nil, fmt.Errorf("decode request: %w", err)
	}
	return reconcile(&req)
}

func reconcile(req *request) (*abi.ReconcileResponse, error) {
	s := &sync{resp: abi.NewResponse(), claims: map[string]*Claim{}, deletes: map[string]bool{}}
	var err error
	if s.now, err = time.Parse(time.RFC3339Nano, req.Now); err != nil {
		return nil, fmt.Errorf("request now %q: %w", req.Now, err)
	}
	s.set = &StatefulSet{}
	if err := json.Unmarshal(req.Object, s.set); err != nil {
		return nil, fmt.Errorf("decode StatefulSet: %w", err)
	}
	if err := json.Unmarshal(req.Object, &s.raw); err != nil {
		return nil, fmt.Errorf("decode StatefulSet: %w", err)
	}
	set := s.set
	s.ref = abi.ObjectRef{APIVersion: requestAPIVersion, Kind: requestKind, Namespace: set.Metadata.Namespace, Name: set.Metadata.Name, UID: set.Metadata.UID}
	if set.Spec.Selector == nil {
		return s.resp, nil
	}
	if s.selector, err = meta.LabelSelectorAsSelector(set.Spec.Selector); err != nil {
		return s.resp, nil // upstream: nothing, no retry
	}
	if set.Spec.Replicas == nil {
		return nil, fmt.Errorf("StatefulSet %s/%s has no spec.replicas", set.Metadata.Namespace, set.Metadata.Name)
	}
	s.replicas = int(*set.Spec.Replicas)
	if set.Spec.Ordinals != nil {
		s.start = int(set.Spec.Ordinals.Start)
	}
	for _, raw := range req.Related[RelatedClaims] {
		c := &Claim{}
		if err := json.Unmarshal(raw, c); err != nil {
			return nil, fmt.Errorf("decode claim: %w", err)
		}
		s.claims[c.Metadata.Name] = c
	}
	var pods, podOrphans []*Pod
	var revs, revOrphans []*Revision
	for i, list := range [][]json.RawMessage{req.Children, req.Orphans} {
		for _, raw := range list {
			// One pass per child: pods and revisions share metadata.
			var c struct {
				Kind string `json:"kind"`
				Pod
				Data     json.RawMessage `json:"data"`
				Revision int64           `json:"revision"`
			}
			if err := json.Unmarshal(raw, &c); err != nil {
				return nil, fmt.Errorf("decode %s: %w", c.Kind, err)
			}
			switch c.Kind {
			case "Pod":
				p := &c.Pod
				p.created = true
				if i == 0 {
					pods = append(pods, p)
				} else {
					podOrphans = append(podOrphans, p)
				}
			case "ControllerRevision":
				r := &Revision{raw: raw, Metadata: c.Metadata, Data: c.Data, Revision: c.Revision}
				if i == 0 {
					revs = append(revs, r)
				} else {
					revOrphans = append(revOrphans, r)
				}
			}
		}
	}
	deleting := set.Metadata.Deleting()
	// Revisions: owned ones whose labels still match, and orphans to adopt.
	for _, r := range revs {
		if s.selector.Matches(r.Metadata.Labels) {
			s.revisions = append(s.revisions, r)
		}
	}
	for _, r := range revOrphans {
		if !s.selector.Matches(r.Metadata.Labels) || deleting {
			continue
		}
		if err := controller.AddAdopt(s.resp, s.ref, s.objRef(revisionType, r.Metadata)); err != nil {
			return nil, err
		}
		s.revisions = append(s.revisions, r)
	}
	// Pods: claim as upstream's ClaimPods with the name pattern.
	for _, p := range pods {
		if s.selector.Matches(p.Metadata.Labels) && s.isMember(p) {
			s.pods = append(s.pods, p)
		} else if !deleting {
			if err := controller.AddRelease(s.resp, s.ref, s.objRef(podType, p.Metadata)); err != nil {
				return nil, err
			}
		}
	}
	for _, p := range podOrphans {
		if deleting || p.Metadata.Deleting() || !s.selector.Matches(p.Metadata.Labels) || !s.isMember(p) {
			continue
		}
		if err := controller.AddAdopt(s.resp, s.ref, s.objRef(podType, p.Metadata)); err != nil {
			return nil, err
		}
		s.pods = append(s.pods, p)
	}
	for _, p := range s.pods {
		p.ordinal = ordinalOf(p.Metadata.Name)
	}
	sortRevisions(s.revisions)
	if err := s.revisionsForSet(req); err != nil {
		return nil, err
	}
	if err := s.updateStatefulSet(); err != nil {
		return nil, err
	}
	s.writeStatus()
	s.resp.Actions = append(s.resp.Actions, s.later...)
	s.truncateHistory()
	s.requeue()
	return s.resp, nil
}

func (s *sync) objRef(t abi.TypeRef, m meta.ObjectMeta) abi.ObjectRef {
	return abi.ObjectRef{APIVersion: t.APIVersion, Kind: t.Kind, Namespace: s.set.Metadata.Namespace, Name: m.Name, UID: m.UID}
}

// splitName matches upstream's ^(.*)-([0-9]+)$ without a regexp (a
// third of a call's time with one): the digits after the last dash.
func splitName(name string) (parent, digits string, ok bool) {
	i := strings.LastIndexByte(name, '-')
	if i < 0 || i == len(name)-1 {
		return "", "", false
	}
	for _, c := range []byte(name[i+1:]) {
		if c < '0' || c > '9' {
			return "", "", false
		}
	}
	return name[:i], name[i+1:], true
}

// isMember is upstream's isMemberOf: the name is <set>-<digits>.
func (s *sync) isMember(p *Pod) bool {
	parent, _, ok := splitName(p.Metadata.Name)
	return ok && parent == s.set.Metadata.Name
}

// ordinalOf is the ordinal of a <set>-<n> name, -1 when it has none or it
// does not fit an int32.
func ordinalOf(name string) int {
	_, digits, ok := splitName(name)
	if !ok {
		return -1
	}
	i, err := strconv.ParseInt(digits, 10, 32)
	if err != nil {
		return -1
	}
	return int(i)
}

func sortRevisions(rs []*Revision) {
	sort.SliceStable(rs, func(i, j int) bool {
		a, b := rs[i], rs[j]
		if a.Revision != b.Revision {
			return a.Revision < b.Revision
		}
		ta, tb := a.Metadata.CreationTimestamp.Time, b.Metadata.CreationTimestamp.Time
		if !ta.Equal(tb) {
			return ta.Before(tb)
		}
		return a.Metadata.Name < b.Metadata.Name
	})
}

// revisionsForSet is upstream's getStatefulSetRevisions: find or create
// the update revision, pick the current one.
func (s *sync) revisionsForSet(req *request) error {
	set := s.set
	if set.Status.CollisionCount != nil {
		s.collision = *set.Status.CollisionCount
	}
	data, err := revisionData(set.Spec.Template)
	if err != nil {
		return fmt.Errorf("StatefulSet %s/%s: template: %w", set.Metadata.Namespace, set.Metadata.Name, err)
	}
	// A create refused with AlreadyExists by an object we do not list (a
	// hash collision) takes the next count, as upstream's retry loop does.
	if le := req.LastError; le != nil && le.Op == string(abi.OpCreate) && le.Kind == "ControllerRevision" && le.Reason == "AlreadyExists" &&
		le.Name == revisionName(set.Metadata.Name, revisionHash(data, s.collision)) {
		s.collision++
	}
	maxRev := int64(0)
	for _, r := range s.revisions {
		maxRev = max(maxRev, r.Revision)
	}
	var equal []*Revision
	for _, r := range s.revisions {
		if bytes.Equal(compact(r.Data), data) {
			equal = append(equal, r)
		}
	}
	n := len(s.revisions)
	switch {
	case len(equal) > 0 && s.revisions[n-1] == equal[len(equal)-1]:
		s.update = equal[len(equal)-1]
	case len(equal) > 0:
		// A rollback: the newest equal revision is renumbered.
		r := equal[len(equal)-1]
		var obj map[string]any
		if err := json.Unmarshal(r.raw, &obj); err != nil {
			return err
		}
		obj["revision"] = maxRev + 1
		if err := s.resp.Add(abi.OpUpdate, obj); err != nil {
			return err
		}
		r.Revision = maxRev + 1
		s.update = r
	case n > 0 && legacyEqual(compact(s.revisions[n-1].Data), data):
		s.update = s.revisions[n-1]
	default:
		hash := revisionHash(data, s.collision)
		lbl := map[string]string{}
		tmpl, err := templateOf(data)
		if err != nil {
			return err
		}
		for k, v := range stringMap(tmpl, "metadata", "labels") {
			lbl[k] = v
		}
		lbl[RevisionHashLabel] = hash
		r := &Revision{Metadata: meta.ObjectMeta{
			Name: revisionName(set.Metadata.Name, hash), Namespace: set.Metadata.Namespace,
			Labels: lbl, Annotations: set.Metadata.Annotations,
			OwnerReferences: []meta.OwnerReference{meta.NewControllerRef(s.ref)},
		}, Data: data, Revision: maxRev + 1}
		// A set being deleted gets no new revision: the garbage collector
		// would delete it again, and that delete wakes the set here (the
		// host watches its owned revisions; upstream has no revision
		// handlers and creates it only on a pod's or the set's event), so
		// the two would take turns until the foreground deletion happens
		// to find no revision left.
		if !set.Metadata.Deleting() {
			if err := s.resp.Add(abi.OpCreate, map[string]any{
				"apiVersion": revisionAPIVersion, "kind": "ControllerRevision", "metadata": r.Metadata,
				"data": json.RawMessage(data), "revision": r.Revision,
			}); err != nil {
				return err
			}
		}
		s.update = r
	}
	for _, r := range s.revisions {
		if r.Metadata.Name == set.Status.CurrentRevision {
			s.current = r
			break
		}
	}
	if s.current == nil {
		s.current = s.update
	}
	if s.currentTmpl, err = templateOf(s.current.Data); err != nil {
		return err
	}
	if s.updateTmpl, err = templateOf(s.update.Data); err != nil {
		return err
	}
	return nil
}

func compact(b []byte) []byte {
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return b
	}
	return out.Bytes()
}

func stringMap(m map[string]any, path ...string) map[string]string {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[p]
	}
	mm, _ := cur.(map[string]any)
	out := map[string]string{}
	for k, v := range mm {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}
