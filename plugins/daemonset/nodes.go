package daemonset

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"

	v1helper "k8s.io/component-helpers/scheduling/corev1"
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
// nodeShouldRunDaemonPod with the tolerations and the parsed required node
// affinity built once per call. The node affinity and taint checks are
// the scheduler's own helpers (k8s.io/component-helpers), as upstream's.
type placement struct {
	nodeName    string
	tolerations []corev1.Toleration
	affinity    nodeaffinity.RequiredNodeAffinity
}

func newPlacement(template *corev1.PodTemplateSpec) *placement {
	spec := *template.Spec.DeepCopy()
	addDaemonTolerations(&spec)
	return &placement{
		nodeName:    spec.NodeName,
		tolerations: spec.Tolerations,
		affinity:    nodeaffinity.NewRequiredNodeAffinity(spec.NodeSelector, spec.Affinity),
	}
}

// logger is discarded: the helpers log only at high verbosity.
var logger = klog.Background()

// shouldRun reports whether a new daemon pod belongs on node, and whether
// one already there may stay:
//   - a template nodeName other than the node's: neither;
//   - the template's nodeSelector or required node affinity not met
//     (parse errors count as not met): neither;
//   - an untolerated NoSchedule or NoExecute taint: no new pod; one there
//     stays unless some untolerated taint is NoExecute.
//
// Unschedulable nodes, node conditions and resources do not matter.
func (p *placement) shouldRun(node *corev1.Node) (run, keep bool) {
	if p.nodeName != "" && p.nodeName != node.Name {
		return false, false
	}
	if fits, _ := p.affinity.Match(node); !fits {
		return false, false
	}
	if _, untolerated := v1helper.FindMatchingUntoleratedTaint(logger, node.Spec.Taints, p.tolerations, func(t *corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoExecute || t.Effect == corev1.TaintEffectNoSchedule
	}, false); !untolerated {
		return true, true
	}
	_, evicting := v1helper.FindMatchingUntoleratedTaint(logger, node.Spec.Taints, p.tolerations, func(t *corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoExecute
	}, false)
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
