//go:build !wasip1

// A control plane runs on the host only (internal/testenv does not build
// for wasip1).

package daemonset_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"

	"wasmctl.dev/wasmctl/internal/sidebyside"
	"wasmctl.dev/wasmctl/internal/testenv"
	"wasmctl.dev/wasmctl/plugins/internal/podhash"
)

// sbsUnreadyImage is an image whose pods the test's kubelet runs but never
// reports Ready.
const sbsUnreadyImage = "registry.example/unready:1"

// sbsSide is one control plane: kube-controller-manager's daemonset
// controller, or the host with the DaemonSet plugin; kubelet plays the
// scheduler and the kubelets of its nodes.
type sbsSide struct {
	name    string
	c       kubernetes.Interface
	kubelet *sbsKubelet
}

// TestSideBySideWithKubeControllerManager runs the same DaemonSets and
// Nodes against kube-controller-manager v1.37.2 (--controllers=daemonset)
// and against the host with the DaemonSet plugin (TestMain's), each on its
// own control plane, step by step on both sides at
// once, and compares what a user sees once both sides have settled: every
// DaemonSet's status (desired, current, misscheduled, ready, updated,
// available and unavailable counts, observedGeneration, collisionCount),
// its ControllerRevisions (names, that is upstream's hash, revision
// numbers, labels with controller-revision-hash, annotations, owner, the
// template image they store), its pods by node (their names are generated:
// the node they are pinned to and bound to, labels with
// controller-revision-hash and pod-template-generation, nodeSelector, the
// node affinity, tolerations, image, owner references, phase, readiness)
// and the distinct Events on each DaemonSet (type, reason, message with
// each generated pod name replaced by the pod's node; not their counts,
// times or source: kube-controller-manager's "daemonset-controller", the
// host's "wasmctl-daemonset").
//
// Nodes are plain Node objects the test creates and edits: no node
// lifecycle controller runs, so the test removes the not-ready taint the
// API server's admission gives a new Node, and sets the unschedulable
// taint itself when it cordons one. No scheduler and no kubelet run
// either: the test binds each daemon pod to the node its node affinity
// pins it to (as the scheduler would: kube-controller-manager's node
// handler looks for a DaemonSet's pods on a node by spec.nodeName, so
// without binding it would ignore a node change that should evict one),
// marks it Running and Ready through the status subresource and, as a
// kubelet, finishes the deletion of a pod that has a deletionTimestamp.
func TestSideBySideWithKubeControllerManager(t *testing.T) {
	testenv.Require(t, env)
	started := time.Now()
	kcmEnv, err := testenv.Start(context.Background(), testenv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer kcmEnv.Stop()
	if _, err := kcmEnv.StartControllerManager(testenv.ControllerManagerOptions{Controllers: []string{"daemonset"}}); err != nil {
		t.Fatal(err)
	}
	ns := "ds-side-by-side"
	sides := []sbsSide{{name: "kcm", c: kcmEnv.Clientset()}, {name: "wasm", c: cs}}
	for i := range sides {
		env.Namespace(t, sides[i].c, ns)
		sides[i].kubelet = sbsStartKubelet(t, sides[i].c, ns)
	}
	// TestMain's control plane outlives this test: take its DaemonSets
	// and Nodes away, so the other tests' nodes wake none of them and
	// none of their DaemonSets sees these nodes.
	t.Cleanup(func() {
		ctx := context.Background()
		_ = cs.AppsV1().DaemonSets(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
		_ = cs.CoreV1().Nodes().DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: sbsNodeLabel})
	})
	t.Logf("second control plane and kube-controller-manager up after %s", time.Since(started).Round(time.Millisecond))

	pool := func(p string) map[string]string { return map[string]string{"pool": p} }
	const (
		dedicated = "example.com/dedicated" // NoSchedule, tolerated by "tolerant"
		evict     = "example.com/evict"     // NoExecute, tolerated by "tolerant"
	)
	noSchedule := corev1.Taint{Key: dedicated, Value: "infra", Effect: corev1.TaintEffectNoSchedule}
	noExecute := corev1.Taint{Key: evict, Value: "yes", Effect: corev1.TaintEffectNoExecute}

	type step struct {
		name string
		do   func(t *testing.T, s sbsSide)
		// until holds once the controllers have acted on the step; the
		// comparison waits for it on both sides and for both views to stay
		// unchanged for a while.
		until func(v sbsView) error
	}
	steps := []step{
		{"create the nodes and the DaemonSets", func(t *testing.T, s sbsSide) {
			sbsNode(t, s.c, "a1", map[string]string{"pool": "a", "disk": "ssd"})
			sbsNode(t, s.c, "a2", map[string]string{"pool": "a", "disk": "ssd"})
			for _, n := range []string{"t1", "t2", "u1"} {
				sbsNode(t, s.c, n, pool("t"))
			}
			for _, n := range []string{"r1", "r2", "r3"} {
				sbsNode(t, s.c, n, pool("r"))
			}
			sbsNode(t, s.c, "h1", pool("h"))
			sbsNode(t, s.c, "m1", pool("m"))
			// A ControllerRevision, not the DaemonSet's (its labels do not
			// match), holds the name collide's first revision would have:
			// the collision count goes to 1.
			sbsBlockRevisionName(t, s.c, sbsDS(ns, "collide", func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.NodeSelector = pool("m") }))
			for _, ds := range []*appsv1.DaemonSet{
				// A nodeSelector and a required node affinity of its own,
				// which its pods do not keep (they are pinned instead).
				sbsDS(ns, "select", func(ds *appsv1.DaemonSet) {
					ds.Spec.Template.Spec.NodeSelector = pool("a")
					ds.Spec.Template.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
						RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
							MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "disk", Operator: corev1.NodeSelectorOpNotIn, Values: []string{"hdd"}}},
						}}},
						PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{Weight: 10, Preference: corev1.NodeSelectorTerm{
							MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "disk", Operator: corev1.NodeSelectorOpIn, Values: []string{"ssd"}}},
						}}},
					}}
				}),
				// No tolerations of its own: only the daemon tolerations.
				sbsDS(ns, "plain", func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.NodeSelector = pool("t") }),
				// Tolerates both test taints; its not-ready toleration is
				// one of the daemon tolerations, replaced where it stands
				// (its tolerationSeconds lost).
				sbsDS(ns, "tolerant", func(ds *appsv1.DaemonSet) {
					ds.Spec.Template.Spec.NodeSelector = pool("t")
					ds.Spec.Template.Spec.Tolerations = []corev1.Toleration{
						{Key: dedicated, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
						{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](60)},
						{Key: evict, Operator: corev1.TolerationOpEqual, Value: "yes", Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](3600)},
					}
				}),
				sbsDS(ns, "surge", func(ds *appsv1.DaemonSet) {
					ds.Spec.Template.Spec.NodeSelector = pool("r")
					ds.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxSurge: ptr.To(intstr.FromInt32(1)), MaxUnavailable: ptr.To(intstr.FromInt32(0))}
				}),
				sbsDS(ns, "unavail", func(ds *appsv1.DaemonSet) {
					ds.Spec.Template.Spec.NodeSelector = pool("r")
					ds.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxUnavailable: ptr.To(intstr.FromInt32(2))}
				}),
				sbsDS(ns, "ondelete", func(ds *appsv1.DaemonSet) {
					ds.Spec.Template.Spec.NodeSelector = pool("r")
					ds.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType}
				}),
				// hostNetwork: one daemon toleration more (network-unavailable).
				sbsDS(ns, "failed", func(ds *appsv1.DaemonSet) {
					ds.Spec.Template.Spec.NodeSelector = pool("r")
					ds.Spec.Template.Spec.HostNetwork = true
				}),
				sbsDS(ns, "history", func(ds *appsv1.DaemonSet) {
					ds.Spec.Template.Spec.NodeSelector = pool("h")
					ds.Spec.RevisionHistoryLimit = ptr.To[int32](1)
				}),
				// A pod counts as available 2 s after it is Ready: the
				// controllers requeue themselves for that.
				sbsDS(ns, "minready", func(ds *appsv1.DaemonSet) {
					ds.Spec.Template.Spec.NodeSelector = pool("m")
					ds.Spec.MinReadySeconds = 2
					ds.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxSurge: ptr.To(intstr.FromInt32(1)), MaxUnavailable: ptr.To(intstr.FromInt32(0))}
				}),
				sbsDS(ns, "collide", func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.NodeSelector = pool("m") }),
				// Its pod runs but never becomes Ready: unavailable.
				sbsDS(ns, "stuck", func(ds *appsv1.DaemonSet) {
					ds.Spec.Template.Spec.NodeSelector = pool("h")
					ds.Spec.Template.Spec.Containers[0].Image = sbsUnreadyImage
				}),
			} {
				if _, err := s.c.AppsV1().DaemonSets(ns).Create(context.Background(), ds, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
		}, func(v sbsView) error {
			return sbsAll(
				v.rolledOut(2, "select"), v.on("select", "a1", "a2"),
				v.rolledOut(3, "plain", "tolerant", "surge", "unavail", "ondelete", "failed"),
				v.rolledOut(1, "history", "minready", "collide"), v.collisionCount("collide", 1),
				v.unready("stuck", 1),
			)
		}},
		{"a new node a3 for select; a4 its node affinity excludes (disk=hdd)", func(t *testing.T, s sbsSide) {
			sbsNode(t, s.c, "a3", pool("a"))
			sbsNode(t, s.c, "a4", map[string]string{"pool": "a", "disk": "hdd"})
		}, func(v sbsView) error {
			return sbsAll(v.rolledOut(3, "select"), v.on("select", "a1", "a2", "a3"))
		}},
		{"a1 relabelled pool=b: select's nodeSelector no longer matches it", func(t *testing.T, s sbsSide) {
			sbsEditNode(t, s.c, "a1", func(n *corev1.Node) { n.Labels["pool"] = "b" })
		}, func(v sbsView) error {
			return sbsAll(v.rolledOut(2, "select"), v.on("select", "a2", "a3"))
		}},
		// kube-controller-manager's node handler does not sync a DaemonSet
		// whose pod stays on a node that became NoSchedule-tainted
		// (shouldRun false, shouldContinueRunning true, no pod misscheduled
		// yet: DS1.7), while the host wakes every DaemonSet on a change of
		// a node's taints. The NoExecute taint on t2 follows in the same
		// step: the sync it causes (to evict plain's pod there) reads both
		// nodes from the informer, so both sides count t1's pod
		// misscheduled without the test touching the DaemonSet.
		{"t1 tainted NoSchedule, then t2 NoExecute: plain's pods stay on t1 (misscheduled) and go from t2; tolerant's stay", func(t *testing.T, s sbsSide) {
			sbsEditNode(t, s.c, "t1", func(n *corev1.Node) { n.Spec.Taints = append(n.Spec.Taints, noSchedule) })
			sbsEditNode(t, s.c, "t2", func(n *corev1.Node) { n.Spec.Taints = append(n.Spec.Taints, noExecute) })
		}, func(v sbsView) error {
			return sbsAll(
				v.counts("plain", 1, 1, 1), v.on("plain", "t1", "u1"),
				v.rolledOut(3, "tolerant"),
			)
		}},
		{"new node t3 with both taints; u1 cordoned; new node u2 created cordoned", func(t *testing.T, s sbsSide) {
			sbsNode(t, s.c, "t3", pool("t"), noSchedule, noExecute)
			sbsEditNode(t, s.c, "u1", sbsCordon)
			sbsNode(t, s.c, "u2", pool("t"), corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule})
			sbsEditNode(t, s.c, "u2", func(n *corev1.Node) { n.Spec.Unschedulable = true })
		}, func(v sbsView) error {
			return sbsAll(
				v.counts("plain", 2, 1, 2), v.on("plain", "t1", "u1", "u2"),
				v.rolledOut(5, "tolerant"), v.on("tolerant", "t1", "t2", "t3", "u1", "u2"),
			)
		}},
		{"template changes: maxSurge 1, maxUnavailable 2, OnDelete, history's second, plain's while t1 is NoSchedule-tainted, maxSurge 1 with minReadySeconds, the stuck pod's", func(t *testing.T, s sbsSide) {
			for _, n := range []string{"surge", "unavail", "ondelete", "plain", "history", "minready", "stuck"} {
				sbsSetImage(t, s.c, ns, n, "nginx:1.28")
			}
		}, func(v sbsView) error {
			return sbsAll(
				v.rolledOut(3, "surge", "unavail"),
				// OnDelete: a new revision, no pod replaced.
				v.counts("ondelete", 3, 0, 0), v.revisions("ondelete", 2),
				// The rolling update deletes the old pod on t1, where plain
				// no longer schedules, and creates none there.
				v.rolledOut(2, "plain"), v.on("plain", "u1", "u2"),
				v.rolledOut(1, "history", "minready"), v.revisions("history", 2),
				// An old pod that is not available is replaced at once.
				v.rolledOut(1, "stuck"),
			)
		}},
		{"t1 untainted; the test deletes ondelete's pod on r2; history's third template (the first revision goes)", func(t *testing.T, s sbsSide) {
			sbsEditNode(t, s.c, "t1", func(n *corev1.Node) { n.Spec.Taints = nil })
			sbsDeletePod(t, s.c, ns, "ondelete", "r2")
			sbsSetImage(t, s.c, ns, "history", "nginx:1.29")
		}, func(v sbsView) error {
			return sbsAll(
				v.rolledOut(3, "plain"), v.on("plain", "t1", "u1", "u2"),
				v.counts("ondelete", 3, 0, 1),
				v.rolledOut(1, "history"), v.revisions("history", 2),
			)
		}},
		{"failed's pod on r1 Failed, its replacement Failed at once (backoff); history rolled back to its second template (renumbered)", func(t *testing.T, s sbsSide) {
			first := sbsFailPod(t, s.c, ns, "failed", "r1")
			testenv.Eventually(t, 30*time.Second, func() error {
				p, err := sbsPodOn(s.c, ns, "failed", "r1")
				if err != nil {
					return err
				}
				if p.Name == first || !sbsReady(p) {
					return fmt.Errorf("%s: no replacement of %s Running and Ready on r1 yet", s.name, first)
				}
				return nil
			})
			sbsFailPod(t, s.c, ns, "failed", "r1")
			sbsSetImage(t, s.c, ns, "history", "nginx:1.28")
		}, func(v sbsView) error {
			return sbsAll(v.rolledOut(3, "failed"), v.rolledOut(1, "history"), v.revisions("history", 2))
		}},
		{"an orphan pod for failed on r3 (adopted, then deleted as the younger of two); unavail's pod on r3 relabelled (released, replaced); ondelete's pod on r1 Succeeded (deleted, replaced from the new template)", func(t *testing.T, s sbsSide) {
			orphan := sbsDS(ns, "failed").Spec.Template
			orphan.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"r3"}}}}}}}}
			if _, err := s.c.CoreV1().Pods(ns).Create(context.Background(), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "failed-orphan", Labels: orphan.Labels}, Spec: orphan.Spec}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			p, err := sbsPodOn(s.c, ns, "unavail", "r3")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.c.CoreV1().Pods(ns).Patch(context.Background(), p.Name, types.StrategicMergePatchType, []byte(`{"metadata":{"labels":{"app":"released"}}}`), metav1.PatchOptions{}); err != nil {
				t.Fatal(err)
			}
			sbsSetPhase(t, s.c, ns, "ondelete", "r1", corev1.PodSucceeded)
		}, func(v sbsView) error {
			if err := sbsAll(v.rolledOut(3, "failed", "unavail"), v.on("failed", "r1", "r2", "r3"), v.counts("ondelete", 3, 0, 2)); err != nil {
				return err
			}
			for _, p := range v.pods["failed"] {
				if p.Name == "failed-orphan" {
					return fmt.Errorf("failed-orphan still there")
				}
			}
			if orphans := v.pods[""]; len(orphans) != 1 || orphans[0].Labels["app"] != "released" {
				return fmt.Errorf("%d pods without a controller, want unavail's released one", len(orphans))
			}
			return nil
		}},
	}
	for _, st := range steps {
		stepStart := time.Now()
		for _, s := range sides {
			st.do(t, s)
		}
		views, equal := sidebyside.Settle(t, st.name, []string{sides[0].name, sides[1].name}, sidebyside.Options{}, func(i int) ([]string, error) {
			v := sbsObserve(t, sides[i], ns)
			return v.Lines, st.until(v)
		})
		if !equal {
			t.Errorf("step %q: the views differ (- kcm, + wasm):\n%s", st.name, sidebyside.Diff(views[0], views[1]))
			continue
		}
		t.Logf("step %q (%s): the same on both sides:\n%s", st.name, time.Since(stepStart).Round(time.Millisecond), strings.Join(views[1], "\n"))
	}
	t.Logf("side by side in %s", time.Since(started).Round(time.Millisecond))
}

// sbsDS is a DaemonSet with an explicit template: labels, an annotation,
// one container with a port, env and resources, and an annotation of its
// own (revisions copy the DaemonSet's annotations).
func sbsDS(ns, name string, edit ...func(*appsv1.DaemonSet)) *appsv1.DaemonSet {
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": name},
			Annotations: map[string]string{"example.com/owner": "side-by-side"}},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels:      map[string]string{"app": name, "tier": "node"},
					Annotations: map[string]string{"example.com/team": "a"},
				},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name:  "agent",
					Image: "nginx:1.27",
					Ports: []corev1.ContainerPort{{Name: "metrics", ContainerPort: 9100}},
					Env:   []corev1.EnvVar{{Name: "MODE", Value: "test"}},
					Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
						corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("32Mi"),
					}},
				}}},
			},
		},
	}
	for _, e := range edit {
		e(ds)
	}
	return ds
}

// sbsBlockRevisionName creates a ControllerRevision with the name ds's
// first revision would get (<name>-<hash of the template as the API server
// defaults it, with no collision count>), other data and labels ds's
// selector does not match.
func sbsBlockRevisionName(t *testing.T, c kubernetes.Interface, ds *appsv1.DaemonSet) {
	t.Helper()
	ctx := context.Background()
	dry, err := c.AppsV1().DaemonSets(ds.Namespace).Create(ctx, ds, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		t.Fatal(err)
	}
	tmpl, _ := json.Marshal(&dry.Spec.Template)
	hash, err := podhash.ComputeJSON(tmpl, nil)
	if err != nil {
		t.Fatal(err)
	}
	cr := &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{Name: ds.Name + "-" + hash, Namespace: ds.Namespace, Labels: map[string]string{"app": "someone-else"}},
		Data:       runtime.RawExtension{Raw: []byte(`{"spec":{"template":{"$patch":"replace"}}}`)},
		Revision:   1,
	}
	if _, err := c.AppsV1().ControllerRevisions(ds.Namespace).Create(ctx, cr, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// sbsNodeLabel marks the nodes of this test.
const sbsNodeLabel = "sidebyside.wasmctl.dev/node"

// sbsNode creates a Node with these labels (and kubernetes.io/hostname,
// sbsNodeLabel)
// and taints, then removes the node.kubernetes.io/not-ready:NoSchedule
// taint admission gave it, as the node lifecycle controller does once the
// node reports Ready (daemon pods do not tolerate it: DS19.1).
func sbsNode(t *testing.T, c kubernetes.Interface, name string, labels map[string]string, taints ...corev1.Taint) {
	t.Helper()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name, sbsNodeLabel: "true"}},
		Spec: corev1.NodeSpec{Taints: taints}}
	for k, v := range labels {
		n.Labels[k] = v
	}
	if _, err := c.CoreV1().Nodes().Create(context.Background(), n, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create node %s: %v", name, err)
	}
	if err := testenv.RemoveNotReadyTaint(context.Background(), c, name); err != nil {
		t.Fatal(err)
	}
}

// sbsEditNode updates a node after edit changed it.
func sbsEditNode(t *testing.T, c kubernetes.Interface, name string, edit func(*corev1.Node)) {
	t.Helper()
	ctx := context.Background()
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		edit(n)
		_, err = c.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
		return err
	}); err != nil {
		t.Fatalf("update node %s: %v", name, err)
	}
}

// sbsCordon is `kubectl cordon` with the taint the node lifecycle
// controller adds for it.
func sbsCordon(n *corev1.Node) {
	n.Spec.Unschedulable = true
	n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule})
}

// sbsSetImage is `kubectl set image daemonset/<name> agent=<image>`.
func sbsSetImage(t *testing.T, c kubernetes.Interface, ns, name, image string) {
	t.Helper()
	patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"agent","image":%q}]}}}}`, image)
	if _, err := c.AppsV1().DaemonSets(ns).Patch(context.Background(), name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatalf("patch daemonset %s %s: %v", name, patch, err)
	}
}

// sbsTarget is the node a daemon pod is bound to, else the one its node
// affinity pins it to.
func sbsTarget(p *corev1.Pod) string {
	if p.Spec.NodeName != "" {
		return p.Spec.NodeName
	}
	if a := p.Spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
			for _, f := range term.MatchFields {
				if f.Key == "metadata.name" && f.Operator == corev1.NodeSelectorOpIn && len(f.Values) == 1 {
					return f.Values[0]
				}
			}
		}
	}
	return ""
}

// sbsPodOn is the live (not terminating) pod of DaemonSet ds on node.
func sbsPodOn(c kubernetes.Interface, ns, ds, node string) (*corev1.Pod, error) {
	pods, err := c.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=" + ds})
	if err != nil {
		return nil, err
	}
	var found []*corev1.Pod
	for i := range pods.Items {
		if p := &pods.Items[i]; p.DeletionTimestamp == nil && sbsTarget(p) == node {
			found = append(found, p)
		}
	}
	if len(found) != 1 {
		return nil, fmt.Errorf("%d live pods of %s on %s", len(found), ds, node)
	}
	return found[0], nil
}

// sbsDeletePod deletes the pod of DaemonSet ds on node, as a user would.
func sbsDeletePod(t *testing.T, c kubernetes.Interface, ns, ds, node string) {
	t.Helper()
	p, err := sbsPodOn(c, ns, ds, node)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CoreV1().Pods(ns).Delete(context.Background(), p.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete pod %s: %v", p.Name, err)
	}
}

// sbsFailPod is the kubelet of node reporting the containers of the
// DaemonSet's pod there failed; it returns the pod's name.
func sbsFailPod(t *testing.T, c kubernetes.Interface, ns, ds, node string) string {
	t.Helper()
	return sbsSetPhase(t, c, ns, ds, node, corev1.PodFailed)
}

// sbsSetPhase is the kubelet of node reporting the containers of the
// DaemonSet's pod there ended with this phase; it returns the pod's name.
func sbsSetPhase(t *testing.T, c kubernetes.Interface, ns, ds, node string, phase corev1.PodPhase) string {
	t.Helper()
	var name string
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		p, err := sbsPodOn(c, ns, ds, node)
		if err != nil {
			return err
		}
		name = p.Name
		p.Status.Phase = phase
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse, LastTransitionTime: metav1.Now()}}
		_, err = c.CoreV1().Pods(ns).UpdateStatus(context.Background(), p, metav1.UpdateOptions{})
		return err
	}); err != nil {
		t.Fatalf("set the pod of %s on %s %s: %v", ds, node, phase, err)
	}
	return name
}

func sbsReady(p *corev1.Pod) bool {
	if p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// sbsKubelet plays, for one namespace of one side, the scheduler (it binds
// a new daemon pod to the node its affinity pins it to) and the nodes'
// kubelets (they report a bound pod Running and Ready, and end the
// graceful deletion of a pod at once), from a pod informer. It remembers
// the node of every pod it saw, for the events' pod names.
type sbsKubelet struct {
	mu     sync.Mutex
	nodeOf map[string]string
}

func sbsStartKubelet(t *testing.T, c kubernetes.Interface, ns string) *sbsKubelet {
	t.Helper()
	k := &sbsKubelet{nodeOf: map[string]string{}}
	factory := informers.NewSharedInformerFactoryWithOptions(c, 0, informers.WithNamespace(ns))
	pods := factory.Core().V1().Pods()
	queue := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())
	enqueue := func(obj any) {
		p, ok := obj.(*corev1.Pod)
		if !ok {
			return
		}
		k.mu.Lock()
		if n := sbsTarget(p); n != "" {
			k.nodeOf[p.Name] = n
		}
		k.mu.Unlock()
		queue.Add(p.Name)
	}
	if _, err := pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
	}); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	factory.Start(stop)
	factory.WaitForCacheSync(stop)
	ctx := context.Background()
	work := func(name string) error {
		p, err := pods.Lister().Pods(ns).Get(name)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		switch {
		case p.DeletionTimestamp != nil:
			err = c.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0), Preconditions: &metav1.Preconditions{UID: &p.UID}})
		case p.Spec.NodeName == "":
			node := sbsTarget(p)
			if node == "" {
				return nil
			}
			err = c.CoreV1().Pods(ns).Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: name, UID: p.UID},
				Target: corev1.ObjectReference{Kind: "Node", Name: node}}, metav1.CreateOptions{})
		case p.Status.Phase == corev1.PodPending:
			p = p.DeepCopy()
			now := metav1.Now()
			p.Status.Phase = corev1.PodRunning
			p.Status.StartTime = &now
			ready := corev1.ConditionTrue
			if p.Spec.Containers[0].Image == sbsUnreadyImage {
				ready = corev1.ConditionFalse
			}
			p.Status.Conditions = []corev1.PodCondition{
				{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
				{Type: corev1.PodReady, Status: ready, LastTransitionTime: now},
			}
			_, err = c.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
		}
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil // gone, or a newer pod is on its way through the informer
		}
		return err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			name, shutdown := queue.Get()
			if shutdown {
				return
			}
			if err := work(name); err != nil {
				queue.AddRateLimited(name)
			} else {
				queue.Forget(name)
			}
			queue.Done(name)
		}
	}()
	t.Cleanup(func() {
		queue.ShutDown()
		<-done
		close(stop)
		factory.Shutdown()
	})
	return k
}

func (k *sbsKubelet) node(pod string) (string, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	n, ok := k.nodeOf[pod]
	return n, ok
}

// sbsView is what a user sees of the namespace's DaemonSets, their
// revisions, pods and events: Lines are compared, the objects serve the
// predicates.
type sbsView struct {
	Lines []string
	dss   map[string]*appsv1.DaemonSet
	pods  map[string][]*corev1.Pod // by DaemonSet
	revs  map[string]int           // revisions by DaemonSet
}

func sbsObserve(t *testing.T, s sbsSide, ns string) sbsView {
	t.Helper()
	ctx := context.Background()
	dsList, err := s.c.AppsV1().DaemonSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	revList, err := s.c.AppsV1().ControllerRevisions(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	podList, err := s.c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	events, err := s.c.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v := sbsView{dss: map[string]*appsv1.DaemonSet{}, pods: map[string][]*corev1.Pod{}, revs: map[string]int{}}
	live := map[types.UID]string{} // "Kind/name" of every listed object
	var names []string
	for i := range dsList.Items {
		ds := &dsList.Items[i]
		v.dss[ds.Name] = ds
		live[ds.UID] = "DaemonSet/" + ds.Name
		names = append(names, ds.Name)
	}
	sort.Strings(names)
	// owners formats owner references without UIDs, each marked stale
	// when its UID is not the listed object of that kind and name.
	owners := func(refs []metav1.OwnerReference) string {
		var out []string
		for _, r := range refs {
			o := fmt.Sprintf("%s/%s/%s controller=%v blockOwnerDeletion=%v", r.APIVersion, r.Kind, r.Name, ptr.Deref(r.Controller, false), ptr.Deref(r.BlockOwnerDeletion, false))
			if live[r.UID] != r.Kind+"/"+r.Name {
				o += " (stale uid)"
			}
			out = append(out, o)
		}
		return "[" + strings.Join(out, ", ") + "]"
	}
	controllerOf := func(m metav1.Object) string {
		ref := metav1.GetControllerOfNoCopy(m)
		if ref == nil || ref.Kind != "DaemonSet" || live[ref.UID] != "DaemonSet/"+ref.Name {
			return ""
		}
		return ref.Name
	}
	children := map[string][]string{} // by the DaemonSet's name, "" without a listed controller
	for i := range revList.Items {
		r := &revList.Items[i]
		var data struct {
			Spec struct {
				Template corev1.PodTemplateSpec `json:"template"`
			} `json:"spec"`
		}
		img := "?"
		if json.Unmarshal(r.Data.Raw, &data) == nil && len(data.Spec.Template.Spec.Containers) > 0 {
			img = data.Spec.Template.Spec.Containers[0].Image
		}
		key := controllerOf(r)
		v.revs[key]++
		children[key] = append(children[key], fmt.Sprintf("  revision %s: revision=%d image=%s labels=%v annotations=%v owners=%s",
			r.Name, r.Revision, img, r.Labels, r.Annotations, owners(r.OwnerReferences)))
	}
	for i := range podList.Items {
		p := &podList.Items[i]
		key := controllerOf(p)
		v.pods[key] = append(v.pods[key], p)
		ready := corev1.ConditionUnknown
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady {
				ready = c.Status
			}
		}
		var tols []string
		for _, tt := range p.Spec.Tolerations {
			tol := fmt.Sprintf("%s:%s:%s:%s", tt.Key, tt.Operator, tt.Value, tt.Effect)
			if tt.TolerationSeconds != nil {
				tol += fmt.Sprintf(":%ds", *tt.TolerationSeconds)
			}
			tols = append(tols, tol)
		}
		affinity := "nil"
		if p.Spec.Affinity != nil {
			b, _ := json.Marshal(p.Spec.Affinity)
			affinity = string(b)
		}
		deleting := ""
		if p.DeletionTimestamp != nil {
			deleting = " deleting"
		}
		children[key] = append(children[key], fmt.Sprintf("  pod @%s: nodeName=%s generateName=%s labels=%v annotations=%v nodeSelector=%v affinity=%s tolerations=%v image=%s owners=%s phase=%s ready=%s%s",
			sbsTarget(p), p.Spec.NodeName, p.GenerateName, p.Labels, p.Annotations, p.Spec.NodeSelector, affinity, tols,
			p.Spec.Containers[0].Image, owners(p.OwnerReferences), p.Status.Phase, ready, deleting))
	}
	// Events: distinct (type, reason, message), each generated pod name
	// <ds>-xxxxx replaced by the pod's node.
	evs := map[string]map[string]bool{}
	for _, e := range events.Items {
		o := e.InvolvedObject
		key := o.Kind + " " + o.Name
		if evs[key] == nil {
			evs[key] = map[string]bool{}
		}
		evs[key][fmt.Sprintf("  event %s %s: %s", e.Type, e.Reason, sbsNormalise(s.kubelet, o.Name, e.Message))] = true
	}
	sortedKeys := func(m map[string]bool) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	for _, n := range names {
		ds := v.dss[n]
		st := ds.Status
		collision := "nil"
		if st.CollisionCount != nil {
			collision = fmt.Sprint(*st.CollisionCount)
		}
		v.Lines = append(v.Lines, fmt.Sprintf("daemonset %s: generation=%d observedGeneration=%d desired=%d current=%d misscheduled=%d ready=%d updated=%d available=%d unavailable=%d collisionCount=%s conditions=%d annotations=%v",
			n, ds.Generation, st.ObservedGeneration, st.DesiredNumberScheduled, st.CurrentNumberScheduled, st.NumberMisscheduled, st.NumberReady,
			st.UpdatedNumberScheduled, st.NumberAvailable, st.NumberUnavailable, collision, len(st.Conditions), ds.Annotations))
		lines := children[n]
		sort.Strings(lines)
		v.Lines = append(v.Lines, lines...)
		v.Lines = append(v.Lines, sortedKeys(evs["DaemonSet "+n])...)
		delete(evs, "DaemonSet "+n)
	}
	if orphans := children[""]; len(orphans) > 0 {
		sort.Strings(orphans)
		v.Lines = append(v.Lines, "without a listed controller:")
		v.Lines = append(v.Lines, orphans...)
	}
	var other []string
	for k := range evs {
		other = append(other, k)
	}
	sort.Strings(other)
	for _, k := range other {
		v.Lines = append(v.Lines, "events on "+k+":")
		v.Lines = append(v.Lines, sortedKeys(evs[k])...)
	}
	return v
}

// sbsPodName matches a generated pod name: generateName's prefix and five
// characters.
var sbsPodName = regexp.MustCompile(`\b[a-z0-9]([-a-z0-9]*[a-z0-9])?-[bcdfghjklmnpqrstvwxz2456789]{5}\b`)

// sbsNormalise replaces in an event's message each generated pod name of
// DaemonSet ds by "<ds>-@<node>", from what the side's kubelet saw. It
// also drops the prefix client-go's event correlator gives an event it
// combined with similar ones (both sides use that correlator; which event
// it combines depends on the order of their arrival).
func sbsNormalise(k *sbsKubelet, ds, msg string) string {
	msg = strings.TrimPrefix(msg, "(combined from similar events): ")
	return sbsPodName.ReplaceAllStringFunc(msg, func(name string) string {
		if !strings.HasPrefix(name, ds+"-") || len(name) != len(ds)+6 {
			return name
		}
		if n, ok := k.node(name); ok {
			return ds + "-@" + n
		}
		return ds + "-@?"
	})
}

func sbsAll(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (v sbsView) observed(name string) (*appsv1.DaemonSet, error) {
	ds, ok := v.dss[name]
	if !ok {
		return nil, fmt.Errorf("no daemonset %s", name)
	}
	if ds.Status.ObservedGeneration != ds.Generation {
		return nil, fmt.Errorf("daemonset %s: observedGeneration %d of %d", name, ds.Status.ObservedGeneration, ds.Generation)
	}
	return ds, nil
}

// counts: the DaemonSet's generation is observed; desired nodes each have
// a ready and available pod (current = ready = available = desired),
// misscheduled nodes one more pod each, updated of them up to date; every
// pod is Running and Ready and none is being deleted.
func (v sbsView) counts(name string, desired, misscheduled, updated int32) error {
	ds, err := v.observed(name)
	if err != nil {
		return err
	}
	st := ds.Status
	if st.DesiredNumberScheduled != desired || st.CurrentNumberScheduled != desired || st.NumberReady != desired || st.NumberAvailable != desired ||
		st.NumberUnavailable != 0 || st.NumberMisscheduled != misscheduled || st.UpdatedNumberScheduled != updated {
		return fmt.Errorf("daemonset %s: status %+v, want %d desired, all available, %d misscheduled, %d updated", name, st, desired, misscheduled, updated)
	}
	pods := v.pods[name]
	if len(pods) != int(desired+misscheduled) {
		return fmt.Errorf("daemonset %s: %d pods, want %d", name, len(pods), desired+misscheduled)
	}
	for _, p := range pods {
		if p.DeletionTimestamp != nil || !sbsReady(p) || p.Spec.NodeName == "" {
			return fmt.Errorf("daemonset %s: pod %s on %q %s, deleting %v", name, p.Name, p.Spec.NodeName, p.Status.Phase, p.DeletionTimestamp != nil)
		}
	}
	return nil
}

// rolledOut: counts with n desired nodes, none misscheduled, all up to
// date, as `kubectl rollout status` sees it.
func (v sbsView) rolledOut(n int32, names ...string) error {
	for _, name := range names {
		if err := v.counts(name, n, 0, n); err != nil {
			return err
		}
	}
	return nil
}

// unready: the DaemonSet's generation is observed and it has a pod on each
// of its n desired nodes, Running, none Ready (so none available).
func (v sbsView) unready(name string, n int32) error {
	ds, err := v.observed(name)
	if err != nil {
		return err
	}
	st := ds.Status
	if st.DesiredNumberScheduled != n || st.CurrentNumberScheduled != n || st.NumberReady != 0 || st.NumberAvailable != 0 || st.NumberUnavailable != n || st.UpdatedNumberScheduled != n {
		return fmt.Errorf("daemonset %s: status %+v, want %d desired, scheduled, updated, unavailable", name, st, n)
	}
	if pods := v.pods[name]; len(pods) != int(n) {
		return fmt.Errorf("daemonset %s: %d pods, want %d", name, len(pods), n)
	}
	for _, p := range v.pods[name] {
		if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
			return fmt.Errorf("daemonset %s: pod %s %s, deleting %v", name, p.Name, p.Status.Phase, p.DeletionTimestamp != nil)
		}
	}
	return nil
}

// on: the DaemonSet's pods are on these nodes.
func (v sbsView) on(name string, nodes ...string) error {
	var got []string
	for _, p := range v.pods[name] {
		got = append(got, sbsTarget(p))
	}
	sort.Strings(got)
	if strings.Join(got, ",") != strings.Join(nodes, ",") {
		return fmt.Errorf("daemonset %s: pods on %v, want %v", name, got, nodes)
	}
	return nil
}

// collisionCount: the DaemonSet's status.collisionCount is n.
func (v sbsView) collisionCount(name string, n int32) error {
	ds, ok := v.dss[name]
	if !ok || ds.Status.CollisionCount == nil || *ds.Status.CollisionCount != n {
		return fmt.Errorf("daemonset %s: collisionCount not %d", name, n)
	}
	return nil
}

// revisions: the DaemonSet has n ControllerRevisions.
func (v sbsView) revisions(name string, n int) error {
	if v.revs[name] != n {
		return fmt.Errorf("daemonset %s: %d revisions, want %d", name, v.revs[name], n)
	}
	return nil
}
