package deployment

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"

	"k8s.io/apimachinery/pkg/types"
	appsv1 "wasmctl.dev/wasmctl/plugins/internal/kube/apps/v1"
	corev1 "wasmctl.dev/wasmctl/plugins/internal/kube/core/v1"
	"wasmctl.dev/wasmctl/plugins/internal/kube/equality"
	metav1 "wasmctl.dev/wasmctl/plugins/internal/kube/meta/v1"
)

// The plugin decodes into k8s.io/api's Go types, as mirrored by
// plugins/internal/kube: the pod-template-hash is a dump of those structs
// (internal/podhash), and template equality is apimachinery's semantic
// equality over them (internal/kube/equality). Decoding a whole pod template
// costs about 0.5 ms in the guest (docs/controllers/deployment.md), so a
// ReplicaSet's template spec stays raw JSON until something needs it: the
// host serialises every template with the same encoder, so equal bytes are
// equal templates, and only templates whose bytes differ are compared typed.

// rawTemplate is a pod template as the host sent it.
type rawTemplate struct {
	Metadata json.RawMessage `json:"metadata"`
	Spec     json.RawMessage `json:"spec"`
}

// replicaSetJSON is a ReplicaSet with its template spec left undecoded.
type replicaSetJSON struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		Replicas        *int32                `json:"replicas,omitempty"`
		MinReadySeconds int32                 `json:"minReadySeconds,omitempty"`
		Selector        *metav1.LabelSelector `json:"selector"`
		Template        rawTemplate           `json:"template"`
	} `json:"spec"`
	Status appsv1.ReplicaSetStatus `json:"status"`
}

// deploymentJSON picks the raw template spec out of a Deployment.
type deploymentJSON struct {
	Spec struct {
		Template rawTemplate `json:"template"`
	} `json:"spec"`
}

// podJSON is what the plugin reads of a pod (the manifest's field
// selection).
type podJSON struct {
	Metadata struct {
		UID             types.UID               `json:"uid"`
		OwnerReferences []metav1.OwnerReference `json:"ownerReferences"`
	} `json:"metadata"`
	Status struct {
		Phase corev1.PodPhase `json:"phase"`
	} `json:"status"`
}

// decodeDeployment decodes the primary and its template spec's bytes.
func decodeDeployment(data []byte) (*appsv1.Deployment, []byte, error) {
	var d appsv1.Deployment
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, nil, fmt.Errorf("decode deployment: %w", err)
	}
	var raw deploymentJSON
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, nil, fmt.Errorf("decode deployment: %w", err)
	}
	return &d, raw.Spec.Template.Spec, nil
}

// decodeReplicaSet decodes a ReplicaSet whose Spec.Template.Spec is left
// empty: its bytes are returned (see templates).
func decodeReplicaSet(data []byte) (*appsv1.ReplicaSet, []byte, error) {
	var r replicaSetJSON
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, nil, fmt.Errorf("decode replicaset: %w", err)
	}
	rs := &appsv1.ReplicaSet{TypeMeta: r.TypeMeta, ObjectMeta: r.Metadata, Status: r.Status}
	rs.Spec.Replicas = r.Spec.Replicas
	rs.Spec.MinReadySeconds = r.Spec.MinReadySeconds
	rs.Spec.Selector = r.Spec.Selector
	if len(r.Spec.Template.Metadata) > 0 && string(r.Spec.Template.Metadata) != "null" {
		if err := json.Unmarshal(r.Spec.Template.Metadata, &rs.Spec.Template.ObjectMeta); err != nil {
			return nil, nil, fmt.Errorf("decode replicaset %s template metadata: %w", rs.Name, err)
		}
	}
	if rs.Spec.Replicas == nil {
		one := int32(1) // the API server's default; only hand-built objects lack it
		rs.Spec.Replicas = &one
	}
	return rs, r.Spec.Template.Spec, nil
}

// templates holds the raw template specs of one call's ReplicaSets (by UID)
// and decodes them on demand.
type templates struct {
	deployment []byte // the Deployment's template spec
	raw        map[types.UID][]byte
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
	raw, ok := t.raw[rs.UID]
	if !ok {
		return &rs.Spec.Template.Spec, nil
	}
	if s, ok := t.decoded[rs.UID]; ok {
		return s, nil
	}
	s := new(corev1.PodSpec)
	if err := json.Unmarshal(raw, s); err != nil {
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
