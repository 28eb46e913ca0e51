package job

import (
	"encoding/json"
	"fmt"
	"time"
	"unsafe"

	"github.com/valyala/fastjson"

	"wasmctl.dev/wasmctl/abi"
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

// decodePod reads the parts of a Pod the controller uses.
func decodePod(v *fastjson.Value) *Pod {
	p := &Pod{Index: -1}
	md := v.Get("metadata")
	if md != nil {
		p.Name = b2s(md.GetStringBytes("name"))
		p.Namespace = b2s(md.GetStringBytes("namespace"))
		p.UID = b2s(md.GetStringBytes("uid"))
		if o, err := md.Get("labels").Object(); err == nil && o.Len() > 0 {
			p.Labels = make(map[string]string, o.Len())
			o.Visit(func(k []byte, v *fastjson.Value) { p.Labels[b2s(k)] = b2s(v.GetStringBytes()) })
		}
		if a := md.Get("annotations"); a != nil {
			ann := map[string]string{}
			for _, k := range []string{CompletionIndexAnnotation, IndexFailureCountAnnotation, IndexIgnoredFailureCountAnnotation} {
				if b := a.GetStringBytes(k); b != nil {
					ann[k] = b2s(b)
				}
			}
			p.Index = getCompletionIndex(ann)
			p.FailureCount = getIndexFailureCount(ann, IndexFailureCountAnnotation)
			p.IgnoredFailureCount = getIndexFailureCount(ann, IndexIgnoredFailureCountAnnotation)
		}
		for _, r := range md.GetArray("ownerReferences") {
			if r.GetBool("controller") {
				p.Controller = &meta.OwnerReference{APIVersion: str(r, "apiVersion"), Kind: str(r, "kind"), Name: str(r, "name"), UID: str(r, "uid"), Controller: &isController}
				break
			}
		}
		for _, f := range md.GetArray("finalizers") {
			if b2s(f.GetStringBytes()) == TrackingFinalizer {
				p.HasFinalizer = true
			}
		}
		p.CreationTimestamp = parseTime(b2s(md.GetStringBytes("creationTimestamp")))
		if d := md.Get("deletionTimestamp"); d != nil && d.Type() == fastjson.TypeString {
			t := parseTime(b2s(d.GetStringBytes()))
			p.DeletionTimestamp = &t
		}
		if g := md.Get("deletionGracePeriodSeconds"); g != nil && g.Type() == fastjson.TypeNumber {
			n := g.GetInt64()
			p.DeletionGracePeriodSeconds = &n
		}
	}
	if spec := v.Get("spec"); spec != nil {
		p.NodeName = b2s(spec.GetStringBytes("nodeName"))
		for _, c := range spec.GetArray("initContainers") {
			if b2s(c.GetStringBytes("restartPolicy")) == "Always" {
				p.Sidecars = append(p.Sidecars, b2s(c.GetStringBytes("name")))
			}
		}
	}
	if st := v.Get("status"); st != nil {
		p.Phase = b2s(st.GetStringBytes("phase"))
		for _, c := range st.GetArray("conditions") {
			p.Conditions = append(p.Conditions, PodCondition{
				Type: b2s(c.GetStringBytes("type")), Status: b2s(c.GetStringBytes("status")),
				LastTransitionTime: parseTime(b2s(c.GetStringBytes("lastTransitionTime"))),
			})
		}
		p.ContainerStatuses = containerStatuses(st.GetArray("containerStatuses"))
		p.InitContainerStatuses = containerStatuses(st.GetArray("initContainerStatuses"))
	}
	return p
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
