package daemonset

import (
	"encoding/json"

	"wasmctl.dev/wasmctl/abi/sdk/controller"
	"wasmctl.dev/wasmctl/abi/sdk/meta"
)

// Labels and annotations upstream reads and writes.
const (
	// RevisionLabel carries the hash of the revision a pod was built from
	// (and the revision's own hash).
	RevisionLabel = "controller-revision-hash"
	// TemplateGenerationLabel carries the template generation a pod was
	// built from (kept by upstream for compatibility; it counts as up to
	// date as well as the hash).
	TemplateGenerationLabel = "pod-template-generation"
	// TemplateGenerationAnnotation is where the API server keeps a
	// DaemonSet's template generation (1 at create, +1 per template change).
	TemplateGenerationAnnotation = "deprecated.daemonset.template.generation"
)

// Upstream's limits.
const (
	// burstReplicas caps the pod creates and the pod deletes of one call.
	burstReplicas = 250
	// defaultHistory is the API default of spec.revisionHistoryLimit.
	defaultHistory = 10
)

const (
	requestAPIVersion = "apps/v1"
	requestKind       = "DaemonSet"
)

// Pod is the part of a pod the plugin reads (the manifest's fields).
type Pod struct {
	Metadata meta.ObjectMeta `json:"metadata"`
	Spec     struct {
		NodeName string `json:"nodeName"`
		Affinity *struct {
			NodeAffinity *struct {
				Required *struct {
					Terms []struct {
						MatchFields []struct {
							Key      string   `json:"key"`
							Operator string   `json:"operator"`
							Values   []string `json:"values"`
						} `json:"matchFields"`
					} `json:"nodeSelectorTerms"`
				} `json:"requiredDuringSchedulingIgnoredDuringExecution"`
			} `json:"nodeAffinity"`
		} `json:"affinity"`
	} `json:"spec"`
	Status controller.PodStatus `json:"status"`
}

// targetNode is upstream's GetTargetNodeName: spec.nodeName, else the one
// value of the first matchFields metadata.name In requirement of the
// required node affinity. ok is false when there is none (or it has more
// than one value): such a pod is no daemon pod of any node.
func (p *Pod) targetNode() (string, bool) {
	if p.Spec.NodeName != "" {
		return p.Spec.NodeName, true
	}
	a := p.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.Required == nil {
		return "", false
	}
	for _, term := range a.NodeAffinity.Required.Terms {
		for _, f := range term.MatchFields {
			if f.Key == "metadata.name" && f.Operator == "In" {
				if len(f.Values) != 1 {
					return "", false
				}
				return f.Values[0], true
			}
		}
	}
	return "", false
}

func (p *Pod) ready() bool { return (&controller.Pod{Status: p.Status}).IsReady() }

func (p *Pod) available(minReadySeconds int32, s *sync) bool {
	return (&controller.Pod{Status: p.Status}).IsAvailable(minReadySeconds, s.now)
}

func (p *Pod) terminal() bool { return controller.IsPodTerminal(p.Status.Phase) }

// Revision is apps/v1 ControllerRevision.
type Revision struct {
	Metadata meta.ObjectMeta `json:"metadata"`
	Data     json.RawMessage `json:"data"`
	Revision int64           `json:"revision"`

	raw json.RawMessage
}
