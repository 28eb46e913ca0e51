package daemonset

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"testing"
	"time"

	realcorev1 "k8s.io/api/core/v1"
	v1helper "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"

	corev1 "wasmctl.dev/wasmctl/plugins/internal/kube/core/v1"
)

// TestPlacementMatchesSchedulerHelpers compares shouldRun with the
// scheduler's helpers that upstream's nodeShouldRunDaemonPod calls
// (component-helpers' RequiredNodeAffinity and
// FindMatchingUntoleratedTaint) on random nodes and templates drawn from
// few keys, values and operators (invalid ones included), so that matches,
// misses and parse errors all occur.
func TestPlacementMatchesSchedulerHelpers(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewSource(seed))
	pick := func(xs ...string) string { return xs[r.Intn(len(xs))] }
	keys := []string{"a", "b", "metadata.name", "bad key!"}
	values := []string{"1", "2", "x", "n1", "-3", "01"}
	ops := []string{"In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt", "Bogus"}
	effects := []string{"NoSchedule", "NoExecute", "PreferNoSchedule", ""}
	reqs := func(n int) []realcorev1.NodeSelectorRequirement {
		var out []realcorev1.NodeSelectorRequirement
		for range r.Intn(n + 1) {
			req := realcorev1.NodeSelectorRequirement{Key: pick(keys...), Operator: realcorev1.NodeSelectorOperator(pick(ops...))}
			for range r.Intn(3) {
				req.Values = append(req.Values, pick(values...))
			}
			out = append(out, req)
		}
		return out
	}
	logger := klog.Background()
	counts := map[string]int{}
	for i := range 5000 {
		node := realcorev1.Node{}
		node.Name = pick("n1", "n2", "")
		node.Labels = map[string]string{}
		for range r.Intn(3) {
			node.Labels[pick("a", "b")] = pick(values...)
		}
		for range r.Intn(3) {
			node.Spec.Taints = append(node.Spec.Taints, realcorev1.Taint{Key: pick("t", "u", corev1.TaintNodeUnschedulable), Value: pick("", "v", "5"), Effect: realcorev1.TaintEffect(pick(effects[:3]...))})
		}
		var spec realcorev1.PodSpec
		if r.Intn(4) == 0 {
			spec.NodeName = pick("n1", "n2")
		}
		if r.Intn(3) == 0 {
			spec.NodeSelector = map[string]string{pick("a", "b"): pick(values...)}
		}
		if r.Intn(2) == 0 {
			sel := &realcorev1.NodeSelector{}
			for range r.Intn(3) {
				sel.NodeSelectorTerms = append(sel.NodeSelectorTerms, realcorev1.NodeSelectorTerm{MatchExpressions: reqs(2), MatchFields: reqs(1)})
			}
			spec.Affinity = &realcorev1.Affinity{NodeAffinity: &realcorev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: sel}}
		}
		for range r.Intn(3) {
			spec.Tolerations = append(spec.Tolerations, realcorev1.Toleration{Key: pick("t", "u", ""), Operator: realcorev1.TolerationOperator(pick("", "Equal", "Exists", "Lt", "Gt")), Value: pick("", "v", "9"), Effect: realcorev1.TaintEffect(pick(effects...))})
		}
		var mNode corev1.Node
		var mTemplate corev1.PodTemplateSpec
		roundTrip(t, &node, &mNode)
		roundTrip(t, &realcorev1.PodTemplateSpec{Spec: spec}, &mTemplate)

		p := newPlacement(&mTemplate)
		var tolerations []realcorev1.Toleration
		roundTrip(t, p.tolerations, &tolerations)
		wantRun, wantKeep := false, false
		if spec.NodeName == "" || spec.NodeName == node.Name {
			if fits, _ := nodeaffinity.NewRequiredNodeAffinity(spec.NodeSelector, spec.Affinity).Match(&node); fits {
				_, untol := v1helper.FindMatchingUntoleratedTaint(logger, node.Spec.Taints, tolerations, func(t *realcorev1.Taint) bool {
					return t.Effect == realcorev1.TaintEffectNoExecute || t.Effect == realcorev1.TaintEffectNoSchedule
				}, false)
				_, evict := v1helper.FindMatchingUntoleratedTaint(logger, node.Spec.Taints, tolerations, func(t *realcorev1.Taint) bool {
					return t.Effect == realcorev1.TaintEffectNoExecute
				}, false)
				wantRun, wantKeep = !untol, !untol || !evict
			}
		}
		run, keep := p.shouldRun(&mNode)
		if run != wantRun || keep != wantKeep {
			nj, _ := json.Marshal(node)
			sj, _ := json.Marshal(spec)
			t.Fatalf("case %d: shouldRun = %v, %v; the scheduler's helpers %v, %v\nnode %s\nspec %s", i, run, keep, wantRun, wantKeep, nj, sj)
		}
		counts[fmt.Sprintf("run=%v keep=%v", run, keep)]++
	}
	t.Logf("outcomes: %v", counts)
	if len(counts) < 3 {
		t.Fatalf("only outcomes %v: the cases test too little", counts)
	}
}

func roundTrip(t *testing.T, in, out any) {
	t.Helper()
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatal(err)
	}
}
