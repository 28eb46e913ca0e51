package daemonset

import (
	"wasmctl.dev/wasmctl/abi/sdk/labels"
	corev1 "wasmctl.dev/wasmctl/plugins/internal/kube/core/v1"
)

// daemonTolerations are the tolerations every daemon pod gets on top of its
// template's, in upstream's order (the last only with hostNetwork): the
// node lifecycle controller's taints for an unhealthy or cordoned node
// must not evict or block a daemon.
var daemonTolerations = []corev1.Toleration{
	{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
	{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
	{Key: corev1.TaintNodeDiskPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
	{Key: corev1.TaintNodeMemoryPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
	{Key: corev1.TaintNodePIDPressure, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
	{Key: corev1.TaintNodeUnschedulable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
}

var networkUnavailable = corev1.Toleration{Key: corev1.TaintNodeNetworkUnavailable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}

// addDaemonTolerations adds daemonTolerations to spec as upstream's
// AddOrUpdateTolerationInPodSpec does: a template toleration with the same
// key, operator, value and effect is replaced where it stands (so a
// tolerationSeconds on it is lost), any other is appended.
func addDaemonTolerations(spec *corev1.PodSpec) {
	add := daemonTolerations
	if spec.HostNetwork {
		add = append(add[:len(add):len(add)], networkUnavailable)
	}
	for _, t := range add {
		replaced := false
		for i := range spec.Tolerations {
			if t.MatchToleration(&spec.Tolerations[i]) {
				spec.Tolerations[i] = t
				replaced = true
			}
		}
		if !replaced {
			spec.Tolerations = append(spec.Tolerations, t)
		}
	}
}

// placement decides which nodes run a DaemonSet's pods: upstream's
// nodeShouldRunDaemonPod with the tolerations and the required node
// affinity parsed once per call. The affinity and taint rules are the
// scheduler's (k8s.io/component-helpers' RequiredNodeAffinity and
// FindMatchingUntoleratedTaint), restated here on the plugin's mirrored
// types: linking component-helpers would link all of k8s.io/api.
type placement struct {
	nodeName    string
	tolerations []corev1.Toleration
	// nodeSelector is the template's nodeSelector as a selector; nil when
	// it has none.
	nodeSelector *labels.Selector
	// required says the template has required node affinity; terms are
	// its non-empty terms (none: no node matches).
	required bool
	terms    []nodeTerm
}

// nodeTerm is one parsed required node selector term: every expression
// (on labels) and every field requirement (metadata.name) must hold. A term
// that does not parse matches no node, as upstream's lazy-error selector.
type nodeTerm struct {
	labels  *labels.Selector // nil: no matchExpressions
	fields  []fieldRequirement
	invalid bool
}

// fieldRequirement is a matchFields entry: In or NotIn with one value.
type fieldRequirement struct {
	key, value string
	equal      bool
}

func newPlacement(template *corev1.PodTemplateSpec) *placement {
	spec := *template.Spec.DeepCopy()
	addDaemonTolerations(&spec)
	p := &placement{nodeName: spec.NodeName, tolerations: spec.Tolerations}
	if len(spec.NodeSelector) > 0 {
		sel := labels.SelectorFromSet(spec.NodeSelector)
		p.nodeSelector = &sel
	}
	if a := spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		p.required = true
		for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
			if len(term.MatchExpressions) == 0 && len(term.MatchFields) == 0 {
				continue // an empty term is skipped, not "match all"
			}
			p.terms = append(p.terms, parseTerm(term))
		}
	}
	return p
}

// labelOperators maps node selector operators to label selector ones.
var labelOperators = map[corev1.NodeSelectorOperator]labels.Operator{
	corev1.NodeSelectorOpIn:           labels.In,
	corev1.NodeSelectorOpNotIn:        labels.NotIn,
	corev1.NodeSelectorOpExists:       labels.Exists,
	corev1.NodeSelectorOpDoesNotExist: labels.DoesNotExist,
	corev1.NodeSelectorOpGt:           labels.GreaterThan,
	corev1.NodeSelectorOpLt:           labels.LessThan,
}

func parseTerm(term corev1.NodeSelectorTerm) nodeTerm {
	var t nodeTerm
	if len(term.MatchExpressions) > 0 {
		reqs := make([]labels.Requirement, 0, len(term.MatchExpressions))
		for _, e := range term.MatchExpressions {
			op, ok := labelOperators[e.Operator]
			if !ok {
				return nodeTerm{invalid: true}
			}
			r, err := labels.NewRequirement(e.Key, op, e.Values)
			if err != nil {
				return nodeTerm{invalid: true}
			}
			reqs = append(reqs, r)
		}
		sel := labels.Everything().Add(reqs...)
		t.labels = &sel
	}
	for _, e := range term.MatchFields {
		if (e.Operator != corev1.NodeSelectorOpIn && e.Operator != corev1.NodeSelectorOpNotIn) || len(e.Values) != 1 {
			return nodeTerm{invalid: true}
		}
		t.fields = append(t.fields, fieldRequirement{key: e.Key, value: e.Values[0], equal: e.Operator == corev1.NodeSelectorOpIn})
	}
	return t
}

// affinityMatches: the nodeSelector, then any required term. Fields are
// only checked on a node with a name (the only field is metadata.name; a
// field other than that reads as "").
func (p *placement) affinityMatches(node *corev1.Node) bool {
	if p.nodeSelector != nil && !p.nodeSelector.Matches(node.Labels) {
		return false
	}
	if !p.required {
		return true
	}
	for _, t := range p.terms {
		if t.invalid || t.labels != nil && !t.labels.Matches(node.Labels) {
			continue
		}
		if node.Name != "" && !t.fieldsMatch(node.Name) {
			continue
		}
		return true
	}
	return false
}

func (t *nodeTerm) fieldsMatch(name string) bool {
	for _, f := range t.fields {
		got := ""
		if f.key == "metadata.name" {
			got = name
		}
		if (got == f.value) != f.equal {
			return false
		}
	}
	return true
}

// untolerated reports whether some taint passing filter is tolerated by
// none of the tolerations (comparison operators off, as upstream's daemon
// controller calls it).
func untolerated(taints []corev1.Taint, tolerations []corev1.Toleration, filter func(*corev1.Taint) bool) bool {
	for i := range taints {
		t := &taints[i]
		if !filter(t) {
			continue
		}
		tolerated := false
		for j := range tolerations {
			if tolerations[j].ToleratesTaint(t, false) {
				tolerated = true
				break
			}
		}
		if !tolerated {
			return true
		}
	}
	return false
}

// shouldRun reports whether a new daemon pod belongs on node, and whether
// one already there may stay:
//   - a template nodeName other than the node's: neither;
//   - the template's nodeSelector or required node affinity not met
//     (terms that do not parse count as not met): neither;
//   - an untolerated NoSchedule or NoExecute taint: no new pod; one there
//     stays unless some untolerated taint is NoExecute.
//
// Unschedulable nodes, node conditions and resources do not matter.
func (p *placement) shouldRun(node *corev1.Node) (run, keep bool) {
	if p.nodeName != "" && p.nodeName != node.Name {
		return false, false
	}
	if !p.affinityMatches(node) {
		return false, false
	}
	if !untolerated(node.Spec.Taints, p.tolerations, func(t *corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoExecute || t.Effect == corev1.TaintEffectNoSchedule
	}) {
		return true, true
	}
	evicting := untolerated(node.Spec.Taints, p.tolerations, func(t *corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoExecute
	})
	return false, !evicting
}

// pinToNode replaces the required node affinity of a pod's spec with the
// one term upstream writes, matchFields metadata.name In [node]: the
// scheduler then binds the pod there (the controller never sets nodeName).
// The template's own required terms are dropped (they chose the node);
// preferred terms and pod (anti-)affinity stay.
func pinToNode(spec *corev1.PodSpec, node string) {
	sel := &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
		MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{node}}},
	}}}
	if spec.Affinity == nil {
		spec.Affinity = &corev1.Affinity{}
	}
	if spec.Affinity.NodeAffinity == nil {
		spec.Affinity.NodeAffinity = &corev1.NodeAffinity{}
	}
	if spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution = sel
		return
	}
	spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms = sel.NodeSelectorTerms
}
