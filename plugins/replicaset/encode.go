package replicaset

import (
	"slices"
	"strconv"

	"github.com/valyala/fastjson"

	"wasmctl.dev/wasmctl/abi/sdk/controller"
	"wasmctl.dev/wasmctl/abi/sdk/jsonwrite"
	"wasmctl.dev/wasmctl/abi/sdk/meta"
)

// The objects of the plugin's actions are written by hand, byte for byte as
// json.Marshal would write them (tests compare the two): under wasip1
// json.Marshal's reflection, and its compaction of the template spec copied
// into every pod, cost more than the rest of a 10-pod call
// (docs/BENCHMARKS.md).

// podFromTemplate builds the pod every create sends: template labels,
// annotations and finalizers, generateName "<rs>-", the controller
// reference, and the template spec verbatim.
func podFromTemplate(rs *ReplicaSet) []byte {
	b := make([]byte, 0, 512)
	b = append(b, `{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":`...)
	b = jsonwrite.AppendString(b, rs.Name+"-")
	b = append(b, `,"namespace":`...)
	b = jsonwrite.AppendString(b, rs.Namespace)
	if len(rs.Template.Labels) > 0 {
		b = append(b, `,"labels":`...)
		b = appendStringMap(b, rs.Template.Labels)
	}
	if len(rs.Template.Annotations) > 0 {
		b = append(b, `,"annotations":`...)
		b = appendStringMap(b, rs.Template.Annotations)
	}
	if len(rs.Template.Finalizers) > 0 {
		b = append(b, `,"finalizers":[`...)
		for i, f := range rs.Template.Finalizers {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonwrite.AppendString(b, f)
		}
		b = append(b, ']')
	}
	b = append(b, `,"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":`...)
	b = jsonwrite.AppendString(b, rs.Name)
	b = append(b, `,"uid":`...)
	b = jsonwrite.AppendString(b, rs.UID)
	b = append(b, `,"controller":true,"blockOwnerDeletion":true}]},"spec":`...)
	if rs.Template.Spec == nil {
		b = append(b, "{}"...)
	} else {
		b = rs.Template.Spec.MarshalTo(b) // parsed strings go back as they came
	}
	return append(b, '}')
}

// podToDelete names a pod for a delete by name (no UID precondition, as
// upstream deletes).
func podToDelete(p *Pod) []byte {
	b := make([]byte, 0, 96)
	b = append(b, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":`...)
	b = jsonwrite.AppendString(b, p.Name)
	b = append(b, `,"namespace":`...)
	b = jsonwrite.AppendString(b, p.Namespace)
	return append(b, "}}"...)
}

// withStatus writes obj, the ReplicaSet as received, with its status
// replaced by st. It removes obj's status.
func withStatus(obj *fastjson.Value, st *Status) []byte {
	o, err := obj.Object()
	if err != nil {
		return nil
	}
	o.Del("status")
	b := obj.MarshalTo(make([]byte, 0, 2048))
	b = b[:len(b)-1] // the closing brace
	if o.Len() > 0 {
		b = append(b, ',')
	}
	b = append(b, `"status":`...)
	b = appendStatus(b, st)
	return append(b, '}')
}

func appendStatus(b []byte, st *Status) []byte {
	b = append(b, `{"replicas":`...)
	b = strconv.AppendInt(b, int64(st.Replicas), 10)
	count := func(name string, n int32) {
		if n != 0 {
			b = append(b, name...)
			b = strconv.AppendInt(b, int64(n), 10)
		}
	}
	count(`,"fullyLabeledReplicas":`, st.FullyLabeledReplicas)
	count(`,"readyReplicas":`, st.ReadyReplicas)
	count(`,"availableReplicas":`, st.AvailableReplicas)
	if st.TerminatingReplicas != nil {
		b = append(b, `,"terminatingReplicas":`...)
		b = strconv.AppendInt(b, int64(*st.TerminatingReplicas), 10)
	}
	if st.ObservedGeneration != 0 {
		b = append(b, `,"observedGeneration":`...)
		b = strconv.AppendInt(b, st.ObservedGeneration, 10)
	}
	if len(st.Conditions) > 0 {
		b = append(b, `,"conditions":[`...)
		for i := range st.Conditions {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendCondition(b, &st.Conditions[i])
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func appendCondition(b []byte, c *controller.WorkloadCondition) []byte {
	b = append(b, `{"type":`...)
	b = jsonwrite.AppendString(b, c.Type)
	b = append(b, `,"status":`...)
	b = jsonwrite.AppendString(b, c.Status)
	b = appendTime(b, `,"lastProbeTime":`, c.LastProbeTime)
	b = appendTime(b, `,"lastUpdateTime":`, c.LastUpdateTime)
	b = appendTime(b, `,"lastTransitionTime":`, c.LastTransitionTime)
	if c.Reason != "" {
		b = append(b, `,"reason":`...)
		b = jsonwrite.AppendString(b, c.Reason)
	}
	if c.Message != "" {
		b = append(b, `,"message":`...)
		b = jsonwrite.AppendString(b, c.Message)
	}
	return append(b, '}')
}

// appendTime writes a meta.Time field that is omitzero.
func appendTime(b []byte, field string, t meta.Time) []byte {
	if t.IsZero() {
		return b
	}
	return t.AppendJSON(append(b, field...))
}

// appendStringMap writes m with its keys sorted, as encoding/json does.
func appendStringMap(b []byte, m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonwrite.AppendString(b, k)
		b = append(b, ':')
		b = jsonwrite.AppendString(b, m[k])
	}
	return append(b, '}')
}
