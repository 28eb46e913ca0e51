package job

import (
	"encoding/json"
	"fmt"
	"time"
	"unsafe"

	"github.com/valyala/fastjson"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/abi/sdk/labels"
	"wasmctl.dev/wasmctl/abi/sdk/meta"
)

// The request is parsed with fastjson, as the ReplicaSet plugin's is: under
// wasip1 encoding/json costs several milliseconds for 100 pods. The Job
// itself, one object, goes through encoding/json into typed structs.

// request is a decoded ReconcileRequest.
type request struct {
	now       time.Time
	job       *Job
	obj       *fastjson.Value // the Job as received: status writes send it back
	children  []*Pod
	orphans   []*Pod
	lastError *abi.ApplyError
}

func str(v *fastjson.Value, keys ...string) string { return string(v.GetStringBytes(keys...)) }

// b2s views b as a string without copying: a Pod never outlives its call.
func b2s(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func parseTime(s string) time.Time {
	t, _ := meta.ParseTime(s)
	return t
}

func decodeRequest(p *fastjson.Parser, input []byte) (*request, error) {
	v, err := p.ParseBytes(input)
	if err != nil {
		return nil, fmt.Errorf("decode request: %w", err)
	}
	if av := str(v, "apiVersion"); av != abi.Version {
		return nil, fmt.Errorf("request apiVersion %q, want %q", av, abi.Version)
	}
	r := &request{}
	if r.now, err = time.Parse(time.RFC3339Nano, str(v, "now")); err != nil {
		return nil, fmt.Errorf("request now: %w", err)
	}
	if r.obj = v.Get("object"); r.obj == nil || r.obj.Type() != fastjson.TypeObject {
		return nil, fmt.Errorf("request has no object")
	}
	r.job = &Job{}
	if err := json.Unmarshal(r.obj.MarshalTo(nil), r.job); err != nil {
		return nil, fmt.Errorf("decode Job: %w", err)
	}
	for _, c := range v.GetArray("children") {
		r.children = append(r.children, decodePod(c))
	}
	for _, c := range v.GetArray("orphans") {
		r.orphans = append(r.orphans, decodePod(c))
	}
	if le := v.Get("lastError"); le != nil && le.Type() == fastjson.TypeObject {
		r.lastError = &abi.ApplyError{Op: abi.Op(str(le, "op")), Kind: str(le, "kind"), Name: str(le, "name"), Reason: str(le, "reason"), Message: str(le, "message")}
	}
	return r, nil
}

var isController = true

// decodePod reads the parts of a Pod the controller uses, in one pass over
// each object it descends into.
func decodePod(v *fastjson.Value) *Pod {
	p := &Pod{Index: -1}
	o, err := v.Object()
	if err != nil {
		return p
	}
	o.Visit(func(k []byte, v *fastjson.Value) {
		switch string(k) {
		case "metadata":
			decodePodMeta(p, v)
		case "spec":
			p.NodeName = b2s(v.GetStringBytes("nodeName"))
			for _, c := range v.GetArray("initContainers") {
				if b2s(c.GetStringBytes("restartPolicy")) == "Always" {
					p.Sidecars = append(p.Sidecars, b2s(c.GetStringBytes("name")))
				}
			}
		case "status":
			decodePodStatus(p, v)
		}
	})
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
			if l, err := v.Object(); err == nil && l.Len() > 0 {
				p.Labels = make(labels.List, 0, l.Len())
				l.Visit(func(k []byte, v *fastjson.Value) {
					p.Labels = append(p.Labels, labels.Label{Key: b2s(k), Value: b2s(v.GetStringBytes())})
				})
			}
		case "annotations":
			// Only Indexed pods carry these: no map for the others.
			var ann map[string]string
			for _, key := range []string{CompletionIndexAnnotation, IndexFailureCountAnnotation, IndexIgnoredFailureCountAnnotation} {
				if b := v.GetStringBytes(key); b != nil {
					if ann == nil {
						ann = make(map[string]string, 3)
					}
					ann[key] = b2s(b)
				}
			}
			if ann != nil {
				p.Index = getCompletionIndex(ann)
				p.FailureCount = getIndexFailureCount(ann, IndexFailureCountAnnotation)
				p.IgnoredFailureCount = getIndexFailureCount(ann, IndexIgnoredFailureCountAnnotation)
			}
		case "ownerReferences":
			for _, r := range v.GetArray() {
				if r.GetBool("controller") {
					p.Controller = &meta.OwnerReference{APIVersion: str(r, "apiVersion"), Kind: str(r, "kind"), Name: str(r, "name"), UID: str(r, "uid"), Controller: &isController}
					break
				}
			}
		case "finalizers":
			for _, f := range v.GetArray() {
				if b2s(f.GetStringBytes()) == TrackingFinalizer {
					p.HasFinalizer = true
				}
			}
		case "creationTimestamp":
			p.CreationTimestamp = parseTime(b2s(v.GetStringBytes()))
		case "deletionTimestamp":
			if v.Type() == fastjson.TypeString {
				t := parseTime(b2s(v.GetStringBytes()))
				p.DeletionTimestamp = &t
			}
		case "deletionGracePeriodSeconds":
			if v.Type() == fastjson.TypeNumber {
				n := v.GetInt64()
				p.DeletionGracePeriodSeconds = &n
			}
		}
	})
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
			cs := v.GetArray()
			p.Conditions = make([]PodCondition, len(cs))
			for i, c := range cs {
				p.Conditions[i] = PodCondition{
					Type: b2s(c.GetStringBytes("type")), Status: b2s(c.GetStringBytes("status")),
					LastTransitionTime: parseTime(b2s(c.GetStringBytes("lastTransitionTime"))),
				}
			}
		case "containerStatuses":
			p.ContainerStatuses = containerStatuses(v.GetArray())
		case "initContainerStatuses":
			p.InitContainerStatuses = containerStatuses(v.GetArray())
		}
	})
}

func containerStatuses(vs []*fastjson.Value) []ContainerStatus {
	if len(vs) == 0 {
		return nil
	}
	out := make([]ContainerStatus, len(vs))
	for i, c := range vs {
		out[i] = ContainerStatus{Name: b2s(c.GetStringBytes("name")), RestartCount: int32(c.GetInt("restartCount"))}
		if t := c.Get("state", "terminated"); t != nil && t.Type() == fastjson.TypeObject {
			out[i].Terminated = &ContainerTerminated{ExitCode: int32(t.GetInt("exitCode")), FinishedAt: parseTime(b2s(t.GetStringBytes("finishedAt")))}
		}
	}
	return out
}
