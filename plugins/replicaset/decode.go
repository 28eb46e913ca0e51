package replicaset

import (
	"fmt"
	"slices"
	"strconv"
	"time"
	"unsafe"

	"github.com/valyala/fastjson"

	"wasmctl.dev/wasmctl/abi/sdk/controller"
	"wasmctl.dev/wasmctl/abi/sdk/labels"
	"wasmctl.dev/wasmctl/abi/sdk/meta"
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

// parseTime reads an API timestamp (meta.ParseTime, which parses the usual
// "2006-01-02T15:04:05Z" form without time.Parse); the zero time when it is
// not one.
func parseTime(s string) time.Time {
	t, _ := meta.ParseTime(s)
	return t
}

func controllerRef(md *fastjson.Value) *meta.OwnerReference {
	return controllerRefOf(md.Get("ownerReferences"))
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

// decodePod reads a Pod in one pass over each object it descends into.
// Strings alias the request buffer (b2s): a Pod never outlives its call.
func decodePod(v *fastjson.Value) *Pod {
	p := &Pod{}
	o, err := v.Object()
	if err != nil {
		return p
	}
	o.Visit(func(k []byte, v *fastjson.Value) {
		switch string(k) {
		case "metadata":
			decodePodMeta(p, v)
		case "spec":
			decodePodSpec(p, v)
		case "status":
			decodePodStatus(p, v)
		}
	})
	if len(p.sidecars) > 0 {
		p.SidecarRestarts = 0
		for _, c := range p.initStatuses {
			if slices.Contains(p.sidecars, c.name) {
				p.SidecarRestarts = max(p.SidecarRestarts, c.restarts)
			}
		}
	}
	p.sidecars, p.initStatuses = nil, nil
	return p
}

func decodePodMeta(p *Pod, v *fastjson.Value) {
	o, err := v.Object()
	if err != nil {
		return
	}
	o.Visit(func(k []byte, v *fastjson.Value) {
		switch string(k) {
		case "name":
			p.Name = b2s(v.GetStringBytes())
		case "namespace":
			p.Namespace = b2s(v.GetStringBytes())
		case "uid":
			p.UID = b2s(v.GetStringBytes())
		case "labels":
			p.Labels = labelsOf(v)
		case "annotations":
			p.DeletionCost = deletionCost(v)
		case "ownerReferences":
			p.Controller = controllerRefOf(v)
		case "deletionTimestamp":
			p.Deleting = v.Type() != fastjson.TypeNull
		case "creationTimestamp":
			p.CreationTimestamp = parseTime(b2s(v.GetStringBytes()))
		}
	})
}

func decodePodSpec(p *Pod, v *fastjson.Value) {
	p.NodeName = b2s(v.GetStringBytes("nodeName"))
	for _, c := range v.GetArray("initContainers") {
		if b2s(c.GetStringBytes("restartPolicy")) == "Always" {
			p.sidecars = append(p.sidecars, b2s(c.GetStringBytes("name")))
		}
	}
}

func decodePodStatus(p *Pod, v *fastjson.Value) {
	o, err := v.Object()
	if err != nil {
		return
	}
	o.Visit(func(k []byte, v *fastjson.Value) {
		switch string(k) {
		case "phase":
			p.Phase = b2s(v.GetStringBytes())
		case "conditions":
			for _, c := range v.GetArray() {
				if b2s(c.GetStringBytes("type")) == "Ready" {
					if b2s(c.GetStringBytes("status")) == "True" {
						p.Ready = true
						p.ReadyTime = parseTime(b2s(c.GetStringBytes("lastTransitionTime")))
					}
					break
				}
			}
		case "containerStatuses":
			for _, c := range v.GetArray() {
				p.Restarts = max(p.Restarts, int32(c.GetInt("restartCount")))
			}
		case "initContainerStatuses":
			for _, c := range v.GetArray() {
				p.initStatuses = append(p.initStatuses, initStatus{b2s(c.GetStringBytes("name")), int32(c.GetInt("restartCount"))})
			}
		}
	})
}

func labelsOf(v *fastjson.Value) labels.List {
	o, err := v.Object()
	if err != nil || o.Len() == 0 {
		return nil
	}
	l := make(labels.List, 0, o.Len())
	o.Visit(func(k []byte, v *fastjson.Value) {
		if b, err := v.StringBytes(); err == nil {
			l = append(l, labels.Label{Key: b2s(k), Value: b2s(b)})
		}
	})
	return l
}

var isController = true

// controllerRefOf is meta.GetControllerOf over the JSON: the first
// reference with controller true. Only the fields the controller compares
// are read.
func controllerRefOf(refs *fastjson.Value) *meta.OwnerReference {
	for _, r := range refs.GetArray() {
		if r.GetBool("controller") {
			return &meta.OwnerReference{APIVersion: str(r, "apiVersion"), Kind: str(r, "kind"), Name: str(r, "name"), UID: str(r, "uid"), Controller: &isController}
		}
	}
	return nil
}

// b2s views b as a string without copying.
func b2s(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

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
	md := v.Get("metadata")
	if md == nil {
		return nil, fmt.Errorf("object has no metadata")
	}
	rs := &ReplicaSet{
		Name:            str(md, "name"),
		Namespace:       str(md, "namespace"),
		UID:             str(md, "uid"),
		Generation:      md.GetInt64("generation"),
		Deleting:        md.Exists("deletionTimestamp") && md.Get("deletionTimestamp").Type() != fastjson.TypeNull,
		Controller:      controllerRef(md),
		Replicas:        1, // the API defaults it; a missing field means 1
		MinReadySeconds: int32(v.GetInt("spec", "minReadySeconds")),
	}
	if r := v.Get("spec", "replicas"); r != nil && r.Type() == fastjson.TypeNumber {
		rs.Replicas = int32(r.GetInt())
	}
	if sel := v.Get("spec", "selector"); sel != nil && sel.Type() == fastjson.TypeObject {
		ls := meta.LabelSelector{MatchLabels: stringMap(sel.Get("matchLabels"))}
		for _, e := range sel.GetArray("matchExpressions") {
			r := meta.LabelSelectorRequirement{Key: str(e, "key"), Operator: str(e, "operator")}
			for _, val := range e.GetArray("values") {
				r.Values = append(r.Values, string(val.GetStringBytes()))
			}
			ls.MatchExpressions = append(ls.MatchExpressions, r)
		}
		s, err := meta.LabelSelectorAsSelector(&ls)
		rs.Selector, rs.SelectorErr = &s, err
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
		rs.Template.Spec = tmpl.Get("spec")
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
			rs.Status.Conditions = append(rs.Status.Conditions, controller.WorkloadCondition{
				Type: str(c, "type"), Status: str(c, "status"), LastTransitionTime: meta.NewTime(parseTime(str(c, "lastTransitionTime"))),
				Reason: str(c, "reason"), Message: str(c, "message"),
			})
		}
	}
	return rs, nil
}
