package deployment

import (
	"bytes"
	"fmt"
	"hash/fnv"

	"github.com/valyala/fastjson"
	"k8s.io/apimachinery/pkg/types"
	appsv1 "wasmctl.dev/wasmctl/plugins/internal/kube/apps/v1"
	corev1 "wasmctl.dev/wasmctl/plugins/internal/kube/core/v1"
	"wasmctl.dev/wasmctl/plugins/internal/kube/decode"
	"wasmctl.dev/wasmctl/plugins/internal/kube/equality"
	metav1 "wasmctl.dev/wasmctl/plugins/internal/kube/meta/v1"
)

// The plugin decodes into k8s.io/api's Go types, as mirrored by
// plugins/internal/kube: the pod-template-hash is a dump of those structs
// (internal/podhash), and template equality is apimachinery's semantic
// equality over them (internal/kube/equality). The request is parsed once
// with fastjson (plugins/internal/request) and the objects are decoded
// from the parsed values by the mirror's generated DecodeJSON methods:
// under wasip1 encoding/json cost ~7 of a steady call's ~10 ms
// (docs/BENCHMARKS.md). A ReplicaSet's template spec still stays
// undecoded until something needs it: the host serialises every template
// with the same encoder, so equal bytes are equal templates, and only
// templates whose bytes differ are compared typed.

// podInfo is what the plugin reads of a pod (the manifest's field
// selection).
type podInfo struct {
	UID   types.UID
	Phase corev1.PodPhase
}

// specBytes is the JSON of a template spec as the host wrote it: taken
// before anything reads the value's strings, which fastjson then writes
// back escaped its own way (decode.Raw).
func specBytes(v *fastjson.Value) []byte { return decode.Raw(v.Get("spec", "template", "spec")) }

// decodeDeployment decodes the primary and its template spec's bytes.
func decodeDeployment(v *fastjson.Value) (*appsv1.Deployment, []byte, error) {
	raw := specBytes(v)
	d := new(appsv1.Deployment)
	if err := d.DecodeJSON(v); err != nil {
		return nil, nil, fmt.Errorf("decode deployment: %w", err)
	}
	return d, raw, nil
}

// decodeReplicaSet decodes a ReplicaSet whose Spec.Template.Spec is left
// empty: its bytes and its parsed value are returned (see templates).
func decodeReplicaSet(v *fastjson.Value) (*appsv1.ReplicaSet, []byte, *fastjson.Value, error) {
	raw := specBytes(v)
	var spec *fastjson.Value
	if tmpl := v.GetObject("spec", "template"); tmpl != nil {
		spec = tmpl.Get("spec")
		tmpl.Del("spec") // decoded on demand only
	}
	rs := new(appsv1.ReplicaSet)
	if err := rs.DecodeJSON(v); err != nil {
		return nil, nil, nil, fmt.Errorf("decode replicaset: %w", err)
	}
	if rs.Spec.Replicas == nil {
		one := int32(1) // the API server's default; only hand-built objects lack it
		rs.Spec.Replicas = &one
	}
	return rs, raw, spec, nil
}

// decodePod reads a pod's UID, phase and controller reference.
func decodePod(v *fastjson.Value) (podInfo, *metav1.OwnerReference, error) {
	var m metav1.ObjectMeta
	if err := m.DecodeJSON(v.Get("metadata")); err != nil {
		return podInfo{}, nil, fmt.Errorf("decode pod: %w", err)
	}
	p := podInfo{UID: m.UID}
	if ph := v.Get("status", "phase"); ph != nil {
		if err := decode.String(ph, &p.Phase); err != nil {
			return podInfo{}, nil, fmt.Errorf("decode pod %s: status.phase: %w", m.Name, err)
		}
	}
	return p, metav1.GetControllerOfNoCopy(&m), nil
}

// templates holds the raw template specs of one call's ReplicaSets (by UID)
// and decodes them on demand.
type templates struct {
	deployment []byte // the Deployment's template spec
	raw        map[types.UID][]byte
	values     map[types.UID]*fastjson.Value // the parsed specs, valid during the call
	decoded    map[types.UID]*corev1.PodSpec
	// equal memoises equalIgnoreHash for this call's ReplicaSets (upstream
	// looks for the new ReplicaSet twice per sync); dMeta and dSum are the
	// Deployment's side of the comparison, computed once.
	equal map[types.UID]bool
	dMeta *metav1.ObjectMeta
	dSum  uint64
}

// spec returns rs's template spec, decoding it once. A ReplicaSet built in
// this call (no raw bytes) has its spec in place.
func (t *templates) spec(rs *appsv1.ReplicaSet) (*corev1.PodSpec, error) {
	v, ok := t.values[rs.UID]
	if !ok {
		return &rs.Spec.Template.Spec, nil
	}
	if s, ok := t.decoded[rs.UID]; ok {
		return s, nil
	}
	s := new(corev1.PodSpec)
	if err := s.DecodeJSON(v); err != nil {
		return nil, fmt.Errorf("decode replicaset %s template: %w", rs.Name, err)
	}
	t.decoded[rs.UID] = s
	return s, nil
}

// fullTemplate returns rs's whole template (for a rollback to it).
func (t *templates) fullTemplate(rs *appsv1.ReplicaSet) (*corev1.PodTemplateSpec, error) {
	spec, err := t.spec(rs)
	if err != nil {
		return nil, err
	}
	out := rs.Spec.Template.DeepCopy()
	out.Spec = *spec.DeepCopy()
	return out, nil
}

// equalCache memoises typed comparisons of template specs whose bytes
// differ, by the FNV-64 of both: the old ReplicaSets of a Deployment are
// compared with its template on every call, and each typed comparison
// costs a decode. It lives as long as the plugin instance; bounded.
var equalCache = map[[2]uint64]bool{}

const equalCacheMax = 4096

func sum64(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}

// equalIgnoreHash reports whether rs's template equals d's, ignoring the
// pod-template-hash label, with apimachinery's semantic equality (nil and
// empty are equal, quantities compare by value), as upstream's
// EqualIgnoreHash.
func (t *templates) equalIgnoreHash(d *appsv1.Deployment, rs *appsv1.ReplicaSet) (bool, error) {
	if rs.UID != "" {
		if eq, ok := t.equal[rs.UID]; ok {
			return eq, nil
		}
	}
	eq, err := t.compare(d, rs)
	if err == nil && rs.UID != "" {
		t.equal[rs.UID] = eq
	}
	return eq, err
}

func (t *templates) compare(d *appsv1.Deployment, rs *appsv1.ReplicaSet) (bool, error) {
	if t.dMeta == nil {
		t.dMeta = d.Spec.Template.ObjectMeta.DeepCopy()
		delete(t.dMeta.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
		t.dSum = sum64(t.deployment)
	}
	m := rs.Spec.Template.ObjectMeta.DeepCopy()
	delete(m.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	if !equality.Semantic.DeepEqual(t.dMeta, m) {
		return false, nil
	}
	raw, ok := t.raw[rs.UID]
	if !ok {
		return equality.Semantic.DeepEqual(d.Spec.Template.Spec, rs.Spec.Template.Spec), nil
	}
	if bytes.Equal(raw, t.deployment) {
		return true, nil
	}
	key := [2]uint64{t.dSum, sum64(raw)}
	if eq, ok := equalCache[key]; ok {
		return eq, nil
	}
	spec, err := t.spec(rs)
	if err != nil {
		return false, err
	}
	eq := equality.Semantic.DeepEqual(d.Spec.Template.Spec, *spec)
	if len(equalCache) >= equalCacheMax {
		clear(equalCache)
	}
	equalCache[key] = eq
	return eq, nil
}
