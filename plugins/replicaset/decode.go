package replicaset

import (
	"fmt"
	"strconv"
	"time"

	"github.com/valyala/fastjson"
)

// The request is parsed with fastjson, a non-reflective parser: under
// wasip1 encoding/json costs ~10 ms for 100 pods, fastjson a fraction of it
// (docs/BENCHMARKS.md).

const deletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost"

func str(v *fastjson.Value, keys ...string) string { return string(v.GetStringBytes(keys...)) }

func stringMap(v *fastjson.Value) map[string]string {
	if v == nil {
		return nil
	}
	o, err := v.Object()
	if err != nil {
		return nil
	}
	m := make(map[string]string, o.Len())
	o.Visit(func(k []byte, v *fastjson.Value) {
		if b, err := v.StringBytes(); err == nil {
			m[string(k)] = string(b)
		}
	})
	return m
}

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

func controllerRef(meta *fastjson.Value) *OwnerRef {
	for _, r := range meta.GetArray("ownerReferences") {
		if r.GetBool("controller") {
			return &OwnerRef{APIVersion: str(r, "apiVersion"), Kind: str(r, "kind"), Name: str(r, "name"), UID: str(r, "uid")}
		}
	}
	return nil
}

// deletionCost parses the pod-deletion-cost annotation as upstream does
// (helper.GetDeletionCostFromPodAnnotations): an int32 in canonical form, or
// 0 when absent or invalid.
func deletionCost(annotations *fastjson.Value) int32 {
	b := annotations.GetStringBytes(deletionCostAnnotation)
	if b == nil {
		return 0
	}
	s := string(b)
	// The first character must be '-', a non-zero digit, or "0" alone: "+5"
	// and "007" are invalid (but "-007" is -7, as upstream parses it).
	if s == "" || !(s[0] == '-' || s == "0" || (s[0] >= '1' && s[0] <= '9')) {
		return 0
	}
	v, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0
	}
	return int32(v)
}

// decodePod reads a Pod.
func decodePod(v *fastjson.Value) *Pod {
	meta := v.Get("metadata")
	p := &Pod{
		Name:              str(meta, "name"),
		Namespace:         str(meta, "namespace"),
		UID:               str(meta, "uid"),
		Labels:            stringMap(meta.Get("labels")),
		Controller:        controllerRef(meta),
		Deleting:          meta.Exists("deletionTimestamp") && meta.Get("deletionTimestamp").Type() != fastjson.TypeNull,
		CreationTimestamp: parseTime(str(meta, "creationTimestamp")),
		NodeName:          str(v, "spec", "nodeName"),
		Phase:             str(v, "status", "phase"),
	}
	if a := meta.Get("annotations"); a != nil {
		p.DeletionCost = deletionCost(a)
	}
	for _, c := range v.GetArray("status", "conditions") {
		if str(c, "type") == "Ready" {
			if str(c, "status") == "True" {
				p.Ready = true
				p.ReadyTime = parseTime(str(c, "lastTransitionTime"))
			}
			break
		}
	}
	for _, c := range v.GetArray("status", "containerStatuses") {
		p.Restarts = max(p.Restarts, int32(c.GetInt("restartCount")))
	}
	var sidecars map[string]bool
	for _, c := range v.GetArray("spec", "initContainers") {
		if str(c, "restartPolicy") == "Always" {
			if sidecars == nil {
				sidecars = map[string]bool{}
			}
			sidecars[str(c, "name")] = true
		}
	}
	for _, c := range v.GetArray("status", "initContainerStatuses") {
		if sidecars[str(c, "name")] {
			p.SidecarRestarts = max(p.SidecarRestarts, int32(c.GetInt("restartCount")))
		}
	}
	return p
}

// decodeRelatedPod reads what the colocation rank needs of a related pod.
func decodeRelatedPod(v *fastjson.Value) *Pod {
	return &Pod{
		UID:      str(v, "metadata", "uid"),
		Deleting: v.Exists("metadata", "deletionTimestamp") && v.Get("metadata", "deletionTimestamp").Type() != fastjson.TypeNull,
		NodeName: str(v, "spec", "nodeName"),
		Phase:    str(v, "status", "phase"),
	}
}

// decodeReplicaSet reads a ReplicaSet.
func decodeReplicaSet(v *fastjson.Value) (*ReplicaSet, error) {
	meta := v.Get("metadata")
	if meta == nil {
		return nil, fmt.Errorf("object has no metadata")
	}
	rs := &ReplicaSet{
		Name:            str(meta, "name"),
		Namespace:       str(meta, "namespace"),
		UID:             str(meta, "uid"),
		Generation:      meta.GetInt64("generation"),
		Deleting:        meta.Exists("deletionTimestamp") && meta.Get("deletionTimestamp").Type() != fastjson.TypeNull,
		Controller:      controllerRef(meta),
		Replicas:        1, // the API defaults it; a missing field means 1
		MinReadySeconds: int32(v.GetInt("spec", "minReadySeconds")),
	}
	if r := v.Get("spec", "replicas"); r != nil && r.Type() == fastjson.TypeNumber {
		rs.Replicas = int32(r.GetInt())
	}
	if sel := v.Get("spec", "selector"); sel != nil && sel.Type() == fastjson.TypeObject {
		rs.Selector = &Selector{MatchLabels: stringMap(sel.Get("matchLabels"))}
		for _, e := range sel.GetArray("matchExpressions") {
			r := Requirement{Key: str(e, "key"), Operator: str(e, "operator")}
			for _, val := range e.GetArray("values") {
				r.Values = append(r.Values, string(val.GetStringBytes()))
			}
			rs.Selector.MatchExpressions = append(rs.Selector.MatchExpressions, r)
		}
		rs.SelectorErr = rs.Selector.validate()
	}
	tmpl := v.Get("spec", "template")
	if tmpl != nil {
		tm := tmpl.Get("metadata")
		if tm != nil {
			rs.Template.Labels = stringMap(tm.Get("labels"))
			rs.Template.Annotations = stringMap(tm.Get("annotations"))
			for _, f := range tm.GetArray("finalizers") {
				rs.Template.Finalizers = append(rs.Template.Finalizers, string(f.GetStringBytes()))
			}
		}
		if spec := tmpl.Get("spec"); spec != nil {
			rs.Template.Spec = spec.MarshalTo(nil)
		}
	}
	st := v.Get("status")
	if st != nil {
		rs.Status = Status{
			Replicas:             int32(st.GetInt("replicas")),
			FullyLabeledReplicas: int32(st.GetInt("fullyLabeledReplicas")),
			ReadyReplicas:        int32(st.GetInt("readyReplicas")),
			AvailableReplicas:    int32(st.GetInt("availableReplicas")),
			ObservedGeneration:   st.GetInt64("observedGeneration"),
		}
		if t := st.Get("terminatingReplicas"); t != nil && t.Type() == fastjson.TypeNumber {
			n := int32(t.GetInt())
			rs.Status.TerminatingReplicas = &n
		}
		for _, c := range st.GetArray("conditions") {
			rs.Status.Conditions = append(rs.Status.Conditions, Condition{
				Type: str(c, "type"), Status: str(c, "status"), LastTransitionTime: str(c, "lastTransitionTime"),
				Reason: str(c, "reason"), Message: str(c, "message"),
			})
		}
	}
	return rs, nil
}
