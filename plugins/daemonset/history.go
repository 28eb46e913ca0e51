package daemonset

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"sort"

	appsv1 "wasmctl.dev/wasmctl/plugins/internal/kube/apps/v1"
	metav1 "wasmctl.dev/wasmctl/plugins/internal/kube/meta/v1"
	"wasmctl.dev/wasmctl/plugins/internal/kube/runtime"
	"wasmctl.dev/wasmctl/plugins/internal/request"

	"wasmctl.dev/wasmctl/abi"
)

// revisionData is upstream's getPatch: the template as the typed object
// marshals it, in {"spec":{"template":{"$patch":"replace", ...}}}, through
// a generic map (keys sorted at every level, compact, <, > and & escaped).
// Numbers stay as written (json.Number), as upstream's int64 decoding
// keeps them.
func revisionData(ds *appsv1.DaemonSet) ([]byte, error) {
	b, err := json.Marshal(ds.Spec.Template)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var t map[string]any
	if err := dec.Decode(&t); err != nil {
		return nil, err
	}
	t["$patch"] = "replace"
	return json.Marshal(map[string]any{"spec": map[string]any{"template": t}})
}

// constructHistory is upstream's constructHistory over the claimed
// revisions: a revision without the hash label gets its name as one; the
// revisions whose data is the template's are current, the rest old. No
// current one: create it, named <ds>-<hash> and numbered after the
// highest old one, raising the collision count while that name is taken
// (by a revision in the input, or by one the API server reported when
// this revision's create was refused). Several: keep the highest
// numbered, move every pod to its hash, delete the others. A current one
// numbered below an old one is renumbered (a rollback). It sets s.hash
// and returns the old revisions. all holds every revision of the input,
// for the collision check.
func (s *sync) constructHistory(req *request.Request, all []*Revision) ([]*Revision, error) {
	data, err := revisionData(s.ds)
	if err != nil {
		return nil, err
	}
	sort.Slice(s.revisions, func(i, j int) bool { return s.revisions[i].Metadata.Name < s.revisions[j].Metadata.Name })
	var current, old []*Revision
	for _, r := range s.revisions {
		if _, ok := r.Metadata.Labels[RevisionLabel]; !ok {
			r.Metadata.Labels = maps.Clone(r.Metadata.Labels)
			if r.Metadata.Labels == nil {
				r.Metadata.Labels = map[string]string{}
			}
			r.Metadata.Labels[RevisionLabel] = r.Metadata.Name
			s.updateRevision(r, func(m map[string]any) {
				md, _ := m["metadata"].(map[string]any)
				l, _ := md["labels"].(map[string]any)
				if l == nil {
					l = map[string]any{}
					md["labels"] = l
				}
				l[RevisionLabel] = r.Metadata.Name
			})
		}
		if bytes.Equal(compact(r.Data), data) {
			current = append(current, r)
		} else {
			old = append(old, r)
		}
	}
	next := int64(0)
	for _, r := range old {
		next = max(next, r.Revision)
	}
	next++
	if len(current) == 0 {
		s.snapshot(req, all, data, next)
		return old, nil
	}
	keep := current[0]
	for _, r := range current {
		if r.Revision >= keep.Revision {
			keep = r
		}
	}
	s.hash = keep.Metadata.Labels[RevisionLabel]
	if len(current) > 1 {
		for _, p := range s.pods {
			if p.Metadata.Labels[RevisionLabel] != s.hash {
				_ = s.resp.AddPatch(abi.ObjectRef{APIVersion: podType.APIVersion, Kind: podType.Kind, Namespace: s.ds.Namespace, Name: p.Metadata.Name},
					abi.PatchMerge, map[string]any{"metadata": map[string]any{"labels": map[string]string{RevisionLabel: s.hash}}})
			}
		}
		for _, r := range current {
			if r != keep {
				s.resp.AddDelete(abi.ObjectRef{APIVersion: revisionType.APIVersion, Kind: revisionType.Kind, Namespace: s.ds.Namespace, Name: r.Metadata.Name}, "")
			}
		}
	}
	if keep.Revision < next {
		s.updateRevision(keep, func(m map[string]any) { m["revision"] = next })
	}
	return old, nil
}

// snapshot creates the current revision (upstream's snapshot).
func (s *sync) snapshot(req *request.Request, all []*Revision, data []byte, revision int64) {
	ds := s.ds
	taken := map[string]bool{}
	for _, r := range all {
		taken[r.Metadata.Name] = true
	}
	if le := req.LastError; le != nil && le.Op == abi.OpCreate && le.Kind == revisionType.Kind && le.Reason == "AlreadyExists" {
		taken[le.Name] = true
	}
	count := ds.Status.CollisionCount
	hash := podHash(&ds.Spec.Template, count)
	for taken[ds.Name+"-"+hash] {
		n := int32(1)
		if count != nil {
			n = *count + 1
		}
		count = &n
		s.collision = count
		hash = podHash(&ds.Spec.Template, count)
	}
	s.hash = hash
	labels := maps.Clone(ds.Spec.Template.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[RevisionLabel] = hash
	cr := appsv1.ControllerRevision{
		TypeMeta: metav1.TypeMeta{APIVersion: revisionType.APIVersion, Kind: revisionType.Kind},
		ObjectMeta: metav1.ObjectMeta{
			Name: ds.Name + "-" + hash, Namespace: ds.Namespace, Labels: labels, Annotations: ds.Annotations,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ds, dsKind)},
		},
		Data:     runtime.RawExtension{Raw: data},
		Revision: revision,
	}
	_ = s.resp.Add(abi.OpCreate, cr)
}

// updateRevision adds an update of revision r (PUT, with its
// resourceVersion) after edit changed its JSON.
func (s *sync) updateRevision(r *Revision, edit func(map[string]any)) {
	dec := json.NewDecoder(bytes.NewReader(r.raw))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil {
		return
	}
	if _, ok := m["metadata"].(map[string]any); !ok {
		m["metadata"] = map[string]any{}
	}
	edit(m)
	raw, err := json.Marshal(m)
	if err != nil {
		return
	}
	r.raw = raw
	_ = s.resp.Add(abi.OpUpdate, json.RawMessage(raw))
}

// cleanupHistory is upstream's cleanupHistory: beyond
// revisionHistoryLimit, delete the oldest old revisions no claimed pod
// (terminal ones included) still carries the hash of.
func (s *sync) cleanupHistory(old []*Revision) {
	limit := defaultHistory
	if l := s.ds.Spec.RevisionHistoryLimit; l != nil {
		limit = int(*l)
	}
	toKill := len(old) - limit
	if toKill <= 0 {
		return
	}
	live := map[string]bool{}
	for _, pods := range s.nodeToPods(true) {
		for _, p := range pods {
			if h := p.Metadata.Labels[RevisionLabel]; h != "" {
				live[h] = true
			}
		}
	}
	old = slices.Clone(old)
	sort.SliceStable(old, func(i, j int) bool { return old[i].Revision < old[j].Revision })
	for _, r := range old {
		if toKill <= 0 {
			break
		}
		if live[r.Metadata.Labels[RevisionLabel]] {
			continue
		}
		s.resp.AddDelete(abi.ObjectRef{APIVersion: revisionType.APIVersion, Kind: revisionType.Kind, Namespace: s.ds.Namespace, Name: r.Metadata.Name}, "")
		toKill--
	}
}

func compact(b []byte) []byte {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return b
	}
	return buf.Bytes()
}
