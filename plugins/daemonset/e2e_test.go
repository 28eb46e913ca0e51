//go:build !wasip1

package daemonset_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"wasmctl.dev/wasmctl/internal/hosttest"
	"wasmctl.dev/wasmctl/internal/testenv"
	"wasmctl.dev/wasmctl/internal/wasmbuild"
)

var (
	env  *testenv.Environment
	cs   *kubernetes.Clientset
	host *hosttest.Host
)

// TestMain runs the DaemonSet plugin alone, with the limits config.yaml
// gives it.
func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, &env, func(context.Context) (func(), error) {
		cs = env.Clientset()
		wasm, err := wasmbuild.Build("", "./cmd")
		if err != nil {
			return nil, err
		}
		config := fmt.Sprintf("controllers:\n  - {name: daemonset, plugin: %s, workers: 2, timeout: 5s, memoryLimit: 64Mi}\n", wasm)
		if host, err = hosttest.Start(env.RESTConfig(), config); err != nil {
			return nil, err
		}
		return func() { host.Stop() }, nil
	}))
}

// Nodes are cluster-scoped and the tests run in parallel: each test labels
// its nodes with its own value of testLabel and its DaemonSet selects that
// value, so no test's DaemonSet places pods on another test's nodes.
const testLabel = "e2e.wasmctl.dev/test"

// templateGenerationLabel is the label daemon pods carry the
// DaemonSet's template generation in.
const templateGenerationLabel = "pod-template-generation"

// createNode creates a Node labelled for test with taints, then takes off
// the node.kubernetes.io/not-ready:NoSchedule the API server's admission
// adds to every new Node, which daemon pods do not tolerate (with no
// kubelet and no node lifecycle controller nothing else would take it
// away). The node is deleted when the test ends.
func createNode(t *testing.T, test, name string, labels map[string]string, taints ...corev1.Taint) {
	t.Helper()
	ctx := context.Background()
	l := map[string]string{testLabel: test, "kubernetes.io/hostname": name}
	for k, v := range labels {
		l[k] = v
	}
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}, Spec: corev1.NodeSpec{Taints: taints}}
	if _, err := cs.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}) })
	if err := testenv.RemoveNotReadyTaint(ctx, cs, name); err != nil {
		t.Fatal(err)
	}
}

func editNode(t *testing.T, name string, edit func(*corev1.Node)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := cs.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		edit(n)
		_, err = cs.CoreV1().Nodes().Update(context.Background(), n, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// agent is a DaemonSet "agent" on the nodes of test, RollingUpdate with
// upstream's defaults (maxUnavailable 1).
func agent(ns, test string, edit ...func(*appsv1.DaemonSet)) *appsv1.DaemonSet {
	labels := map[string]string{"app": "agent"}
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: ns},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					NodeSelector: map[string]string{testLabel: test},
					Containers:   []corev1.Container{{Name: "agent", Image: "busybox:1.36"}},
				},
			},
		},
	}
	for _, e := range edit {
		e(ds)
	}
	return ds
}

func createDS(t *testing.T, ds *appsv1.DaemonSet) *appsv1.DaemonSet {
	t.Helper()
	got, err := cs.AppsV1().DaemonSets(ds.Namespace).Create(context.Background(), ds, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func getDS(t *testing.T, ns string) *appsv1.DaemonSet {
	t.Helper()
	ds, err := cs.AppsV1().DaemonSets(ns).Get(context.Background(), "agent", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// targetNode is the node a daemon pod is pinned to: the controller never
// sets spec.nodeName, it pins the pod with a required node affinity term
// on the node's name.
func targetNode(p *corev1.Pod) string {
	a := p.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return ""
	}
	for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		for _, f := range term.MatchFields {
			if f.Key == "metadata.name" && f.Operator == corev1.NodeSelectorOpIn && len(f.Values) == 1 {
				return f.Values[0]
			}
		}
	}
	return ""
}

func isReady(p *corev1.Pod) bool {
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

// readyPods plays the kubelet for ns until the test ends: every 100 ms it
// marks new pods Running and Ready through the status subresource.
func readyPods(t *testing.T, ns string) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); err == nil {
				for i := range pods.Items {
					p := &pods.Items[i]
					if p.Status.Phase != corev1.PodPending && p.Status.Phase != "" || p.DeletionTimestamp != nil {
						continue
					}
					p.Status.Phase = corev1.PodRunning
					p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()}}
					_, _ = cs.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
}

// podsByNode lists the live (not terminating) pods of ns by target node.
func podsByNode(t *testing.T, ns string) map[string][]*corev1.Pod {
	t.Helper()
	list, err := cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]*corev1.Pod{}
	for i := range list.Items {
		p := &list.Items[i]
		if p.DeletionTimestamp == nil {
			out[targetNode(p)] = append(out[targetNode(p)], p)
		}
	}
	return out
}

// nodesOf is "node=count,..." of the pods, sorted by node.
func nodesOf(m map[string][]*corev1.Pod) string {
	var out []string
	for n, ps := range m {
		out = append(out, fmt.Sprintf("%s=%d", n, len(ps)))
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// waitPods waits until the live pods of ns are want ("node=count,...").
func waitPods(t *testing.T, ns, want string) map[string][]*corev1.Pod {
	t.Helper()
	var got map[string][]*corev1.Pod
	testenv.Eventually(t, 30*time.Second, func() error {
		if got = podsByNode(t, ns); nodesOf(got) != want {
			return fmt.Errorf("pods on %s, want %s", nodesOf(got), want)
		}
		return nil
	})
	return got
}

// status is the counters of a DaemonSet's status, in the order kubectl
// get prints most of them.
type status struct {
	Desired, Current, Misscheduled, Ready, Updated, Available, Unavailable int32
}

func (s status) String() string {
	return fmt.Sprintf("desired %d current %d misscheduled %d ready %d updated %d available %d unavailable %d",
		s.Desired, s.Current, s.Misscheduled, s.Ready, s.Updated, s.Available, s.Unavailable)
}

func countersOf(st appsv1.DaemonSetStatus) status {
	return status{st.DesiredNumberScheduled, st.CurrentNumberScheduled, st.NumberMisscheduled, st.NumberReady,
		st.UpdatedNumberScheduled, st.NumberAvailable, st.NumberUnavailable}
}

// waitStatus waits until the DaemonSet of ns has observed its generation
// and its counters are want.
func waitStatus(t *testing.T, ns string, want status) *appsv1.DaemonSet {
	t.Helper()
	var ds *appsv1.DaemonSet
	testenv.Eventually(t, 30*time.Second, func() error {
		ds = getDS(t, ns)
		if got := countersOf(ds.Status); ds.Status.ObservedGeneration != ds.Generation || got != want {
			return fmt.Errorf("status %v (observed generation %d of %d), want %v", got, ds.Status.ObservedGeneration, ds.Generation, want)
		}
		return nil
	})
	return ds
}

// dsEvents lists the Events on the DaemonSet agent of ns as "Type Reason:
// Message" lines.
func dsEvents(t *testing.T, ns string) string {
	t.Helper()
	list, err := cs.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.kind=DaemonSet,involvedObject.name=agent"})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range list.Items {
		out = append(out, e.Type+" "+e.Reason+": "+e.Message)
	}
	return strings.Join(out, "\n")
}

func waitEvent(t *testing.T, ns, want string) {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, func() error {
		if all := dsEvents(t, ns); !strings.Contains(all, want) {
			return fmt.Errorf("no event %q among:\n%s", want, all)
		}
		return nil
	})
}

func kubectl(t *testing.T, ns string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args = append([]string{"--kubeconfig", env.KubeconfigPath, "-n", ns}, args...)
	out, err := exec.CommandContext(ctx, "kubectl", args...).CombinedOutput()
	if err != nil {
		state, _ := exec.Command("kubectl", "--kubeconfig", env.KubeconfigPath, "-n", ns, "get", "daemonsets,controllerrevisions,pods", "-o", "wide", "--show-labels").CombinedOutput()
		t.Fatalf("kubectl %s: %v\n%s\n%s\nstatus: %v\nevents:\n%s", strings.Join(args, " "), err, out, state, getDS(t, ns).Status, dsEvents(t, ns))
	}
	return string(out)
}

func rolloutStatus(t *testing.T, ns string) {
	t.Helper()
	kubectl(t, ns, "rollout", "status", "daemonset/agent", "--timeout=60s")
}

func revisions(t *testing.T, ns string) map[string]*appsv1.ControllerRevision {
	t.Helper()
	list, err := cs.AppsV1().ControllerRevisions(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*appsv1.ControllerRevision{}
	for i := range list.Items {
		out[list.Items[i].Name] = &list.Items[i]
	}
	return out
}

// TestE2EPlacement: a pod on every node the DaemonSet should run on, built
// as upstream builds it; new, relabelled and tainted nodes gain or lose
// their pod as upstream decides, and the status counts them.
func TestE2EPlacement(t *testing.T) {
	testenv.Require(t, env)
	t.Parallel()
	const test = "placement"
	ns := env.Namespace(t, nil, "ds-placement")
	readyPods(t, ns)
	createNode(t, test, "pl-a", nil)
	createNode(t, test, "pl-b", nil,
		// Ignored by daemon pods, as upstream ignores it.
		corev1.Taint{Key: "example.com/soft", Effect: corev1.TaintEffectPreferNoSchedule})
	// Cordoned: daemon pods tolerate node.kubernetes.io/unschedulable.
	createNode(t, test, "pl-cordoned", nil, corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule})
	editNode(t, "pl-cordoned", func(n *corev1.Node) { n.Spec.Unschedulable = true })
	createNode(t, test, "pl-dedicated", nil, corev1.Taint{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule})
	// Another test's kind of node: the nodeSelector leaves it out.
	createNode(t, "elsewhere", "pl-other", nil)

	ds := createDS(t, agent(ns, test))
	got := waitPods(t, ns, "pl-a=1,pl-b=1,pl-cordoned=1")
	rolloutStatus(t, ns)
	ds = waitStatus(t, ns, status{Desired: 3, Current: 3, Ready: 3, Updated: 3, Available: 3})
	if ds.Status.CollisionCount != nil {
		t.Errorf("collisionCount %d, want none", *ds.Status.CollisionCount)
	}
	revs := revisions(t, ns)
	if len(revs) != 1 {
		t.Fatalf("%d ControllerRevisions, want 1", len(revs))
	}
	var rev *appsv1.ControllerRevision
	for _, r := range revs {
		rev = r
	}
	hash := rev.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]
	if rev.Name != "agent-"+hash || rev.Revision != 1 || metav1.GetControllerOf(rev) == nil || metav1.GetControllerOf(rev).UID != ds.UID {
		t.Errorf("ControllerRevision %s: hash label %q revision %d owner %v", rev.Name, hash, rev.Revision, metav1.GetControllerOf(rev))
	}

	wantTolerations := []string{
		"node.kubernetes.io/not-ready:Exists:NoExecute", "node.kubernetes.io/unreachable:Exists:NoExecute",
		"node.kubernetes.io/disk-pressure:Exists:NoSchedule", "node.kubernetes.io/memory-pressure:Exists:NoSchedule",
		"node.kubernetes.io/pid-pressure:Exists:NoSchedule", "node.kubernetes.io/unschedulable:Exists:NoSchedule",
	}
	for node, ps := range got {
		p := ps[0]
		if !strings.HasPrefix(p.Name, "agent-") || p.GenerateName != "agent-" {
			t.Errorf("%s: name %q generateName %q", node, p.Name, p.GenerateName)
		}
		if p.Spec.NodeName != "" {
			t.Errorf("%s: spec.nodeName %q: the controller pins by affinity, the scheduler binds", p.Name, p.Spec.NodeName)
		}
		terms := p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
		if len(terms) != 1 || len(terms[0].MatchExpressions) != 0 || len(terms[0].MatchFields) != 1 {
			t.Errorf("%s: node selector terms %+v, want one matchFields term", p.Name, terms)
		}
		var tols []string
		for _, tol := range p.Spec.Tolerations {
			tols = append(tols, fmt.Sprintf("%s:%s:%s", tol.Key, tol.Operator, tol.Effect))
		}
		if strings.Join(tols, " ") != strings.Join(wantTolerations, " ") {
			t.Errorf("%s: tolerations\n %v\nwant\n %v", p.Name, tols, wantTolerations)
		}
		if p.Labels["app"] != "agent" || p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] != hash || p.Labels[templateGenerationLabel] != "1" {
			t.Errorf("%s: labels %v, want app=agent, controller-revision-hash=%s, pod-template-generation=1", p.Name, p.Labels, hash)
		}
		if ref := metav1.GetControllerOf(p); ref == nil || ref.UID != ds.UID || ref.Kind != "DaemonSet" || ref.APIVersion != "apps/v1" ||
			ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
			t.Errorf("%s: controller reference %+v", p.Name, ref)
		}
	}

	// A new node, and the dedicated one's taint tolerated by nobody but
	// still there: one more pod.
	createNode(t, test, "pl-new", nil)
	waitPods(t, ns, "pl-a=1,pl-b=1,pl-cordoned=1,pl-new=1")
	waitStatus(t, ns, status{Desired: 4, Current: 4, Ready: 4, Updated: 4, Available: 4})

	// Relabelled out of the selector: the pod goes.
	editNode(t, "pl-b", func(n *corev1.Node) { n.Labels[testLabel] = "elsewhere" })
	waitPods(t, ns, "pl-a=1,pl-cordoned=1,pl-new=1")
	waitStatus(t, ns, status{Desired: 3, Current: 3, Ready: 3, Updated: 3, Available: 3})

	// A NoSchedule taint nobody tolerates keeps the pod there, counted
	// misscheduled; NoExecute evicts it.
	editNode(t, "pl-new", func(n *corev1.Node) {
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: "maintenance", Effect: corev1.TaintEffectNoSchedule})
	})
	waitStatus(t, ns, status{Desired: 2, Current: 2, Misscheduled: 1, Ready: 2, Updated: 2, Available: 2})
	waitPods(t, ns, "pl-a=1,pl-cordoned=1,pl-new=1")
	editNode(t, "pl-new", func(n *corev1.Node) {
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: "maintenance", Effect: corev1.TaintEffectNoExecute})
	})
	waitPods(t, ns, "pl-a=1,pl-cordoned=1")
	waitStatus(t, ns, status{Desired: 2, Current: 2, Ready: 2, Updated: 2, Available: 2})

	// A template toleration for the dedicated nodes brings one there.
	kubectl(t, ns, "patch", "daemonset/agent", "--type=merge", "-p",
		`{"spec":{"updateStrategy":{"rollingUpdate":{"maxUnavailable":3}},"template":{"spec":{"tolerations":[{"key":"dedicated","operator":"Equal","value":"db","effect":"NoSchedule"}]}}}}`)
	rolloutStatus(t, ns)
	waitPods(t, ns, "pl-a=1,pl-cordoned=1,pl-dedicated=1")
	waitStatus(t, ns, status{Desired: 3, Current: 3, Ready: 3, Updated: 3, Available: 3})
}

// TestE2EGarbageTaints: what an old cluster or a careless script leaves on a
// Node — the taints annotation of the alpha days naming a taint nobody
// tolerates, taints of odd keys and values with the effect the scheduler
// only prefers — places the pod as upstream does: annotations are not
// read, PreferNoSchedule is ignored. (The API server refuses that
// annotation unless it holds valid taints, and taints of unknown effects.)
func TestE2EGarbageTaints(t *testing.T) {
	testenv.Require(t, env)
	t.Parallel()
	const test = "garbage"
	ns := env.Namespace(t, nil, "ds-garbage")
	readyPods(t, ns)
	createNode(t, test, "gb-a", nil,
		corev1.Taint{Key: "x/" + strings.Repeat("z", 63), Value: "", Effect: corev1.TaintEffectPreferNoSchedule},
		corev1.Taint{Key: "odd.example.com/key_.-1", Value: "v._-1", Effect: corev1.TaintEffectPreferNoSchedule})
	editNode(t, "gb-a", func(n *corev1.Node) {
		n.Annotations = map[string]string{"scheduler.alpha.kubernetes.io/taints": `[{"key":"legacy","value":"x","effect":"NoExecute"}]`}
	})
	createDS(t, agent(ns, test))
	waitPods(t, ns, "gb-a=1")
	rolloutStatus(t, ns)
	waitStatus(t, ns, status{Desired: 1, Current: 1, Ready: 1, Updated: 1, Available: 1})
}

// TestE2ERollingUpdate: an image change with maxSurge replaces every pod
// under a new revision, kubectl sees the rollout finish, its history shows
// two revisions and undo returns to the first one, renumbered 3.
func TestE2ERollingUpdate(t *testing.T) {
	testenv.Require(t, env)
	t.Parallel()
	const test = "rolling"
	ns := env.Namespace(t, nil, "ds-rolling")
	readyPods(t, ns)
	for _, n := range []string{"ru-a", "ru-b", "ru-c"} {
		createNode(t, test, n, nil)
	}
	createDS(t, agent(ns, test, func(ds *appsv1.DaemonSet) {
		ds.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{
			MaxSurge: ptr.To(intstr.FromString("34%")), MaxUnavailable: ptr.To(intstr.FromInt32(0)),
		}
	}))
	rolloutStatus(t, ns)
	first := waitStatus(t, ns, status{Desired: 3, Current: 3, Ready: 3, Updated: 3, Available: 3})
	firstHash := podsByNode(t, ns)["ru-a"][0].Labels[appsv1.DefaultDaemonSetUniqueLabelKey]

	kubectl(t, ns, "set", "image", "daemonset/agent", "agent=busybox:1.37")
	rolloutStatus(t, ns)
	waitStatus(t, ns, status{Desired: 3, Current: 3, Ready: 3, Updated: 3, Available: 3})
	var secondHash string
	for node, ps := range waitPods(t, ns, "ru-a=1,ru-b=1,ru-c=1") {
		p := ps[0]
		secondHash = p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]
		if p.Spec.Containers[0].Image != "busybox:1.37" || secondHash == firstHash || p.Labels[templateGenerationLabel] != "2" {
			t.Errorf("%s: %s image %s labels %v after the update", node, p.Name, p.Spec.Containers[0].Image, p.Labels)
		}
	}
	revs := revisions(t, ns)
	if len(revs) != 2 || revs["agent-"+firstHash] == nil || revs["agent-"+secondHash] == nil ||
		revs["agent-"+firstHash].Revision != 1 || revs["agent-"+secondHash].Revision != 2 {
		t.Fatalf("ControllerRevisions %v, want agent-%s (1) and agent-%s (2)", revs, firstHash, secondHash)
	}
	if hist := kubectl(t, ns, "rollout", "history", "daemonset/agent"); !strings.Contains(hist, "\n1 ") || !strings.Contains(hist, "\n2 ") {
		t.Errorf("rollout history:\n%s", hist)
	}
	if detail := kubectl(t, ns, "rollout", "history", "daemonset/agent", "--revision=1"); !strings.Contains(detail, "busybox:1.36") {
		t.Errorf("rollout history --revision=1:\n%s", detail)
	}

	kubectl(t, ns, "rollout", "undo", "daemonset/agent")
	rolloutStatus(t, ns)
	waitStatus(t, ns, status{Desired: 3, Current: 3, Ready: 3, Updated: 3, Available: 3})
	for node, ps := range waitPods(t, ns, "ru-a=1,ru-b=1,ru-c=1") {
		if p := ps[0]; p.Spec.Containers[0].Image != "busybox:1.36" || p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] != firstHash {
			t.Errorf("%s: %s image %s labels %v after undo", node, p.Name, p.Spec.Containers[0].Image, p.Labels)
		}
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		revs := revisions(t, ns)
		if len(revs) != 2 || revs["agent-"+firstHash] == nil || revs["agent-"+firstHash].Revision != 3 {
			return fmt.Errorf("ControllerRevisions after undo %v, want agent-%s renumbered 3", revs, firstHash)
		}
		return nil
	})
	if ds := getDS(t, ns); ds.Status.ObservedGeneration <= first.Status.ObservedGeneration {
		t.Errorf("observedGeneration %d after two updates, was %d", ds.Status.ObservedGeneration, first.Status.ObservedGeneration)
	}
}

// TestE2EOnDelete: a template change replaces nothing until a pod is
// deleted; the replacement has the new template.
func TestE2EOnDelete(t *testing.T) {
	testenv.Require(t, env)
	t.Parallel()
	const test = "ondelete"
	ns := env.Namespace(t, nil, "ds-ondelete")
	readyPods(t, ns)
	createNode(t, test, "od-a", nil)
	createNode(t, test, "od-b", nil)
	createDS(t, agent(ns, test, func(ds *appsv1.DaemonSet) {
		ds.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType}
	}))
	waitStatus(t, ns, status{Desired: 2, Current: 2, Ready: 2, Updated: 2, Available: 2})
	before := waitPods(t, ns, "od-a=1,od-b=1")

	kubectl(t, ns, "set", "image", "daemonset/agent", "agent=busybox:1.37")
	waitStatus(t, ns, status{Desired: 2, Current: 2, Ready: 2, Updated: 0, Available: 2})
	time.Sleep(time.Second)
	after := waitPods(t, ns, "od-a=1,od-b=1")
	for node := range after {
		if after[node][0].UID != before[node][0].UID {
			t.Errorf("%s: pod replaced under OnDelete", node)
		}
	}

	if err := cs.CoreV1().Pods(ns).Delete(context.Background(), before["od-a"][0].Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, ns, status{Desired: 2, Current: 2, Ready: 2, Updated: 1, Available: 2})
	got := waitPods(t, ns, "od-a=1,od-b=1")
	if p := got["od-a"][0]; p.UID == before["od-a"][0].UID || p.Spec.Containers[0].Image != "busybox:1.37" {
		t.Errorf("od-a: %s image %s after its pod's deletion", p.Name, p.Spec.Containers[0].Image)
	}
	if p := got["od-b"][0]; p.UID != before["od-b"][0].UID {
		t.Errorf("od-b: pod replaced under OnDelete")
	}
}

// TestE2EFailedPod: a pod that fails is deleted with upstream's Warning and
// a new one created on its node.
func TestE2EFailedPod(t *testing.T) {
	testenv.Require(t, env)
	t.Parallel()
	const test = "failed"
	ns := env.Namespace(t, nil, "ds-failed")
	readyPods(t, ns)
	createNode(t, test, "fp-a", nil)
	createDS(t, agent(ns, test))
	rolloutStatus(t, ns)
	p := waitPods(t, ns, "fp-a=1")["fp-a"][0]
	p.Status.Phase = corev1.PodFailed
	if _, err := cs.CoreV1().Pods(ns).UpdateStatus(context.Background(), p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, ns, fmt.Sprintf("Warning FailedDaemonPod: Found failed daemon pod %s/%s on node fp-a, will try to kill it", ns, p.Name))
	waitEvent(t, ns, "Normal SuccessfulDelete: Deleted pod: "+p.Name)
	testenv.Eventually(t, 30*time.Second, func() error {
		got := podsByNode(t, ns)["fp-a"]
		if len(got) != 1 || got[0].UID == p.UID || !isReady(got[0]) {
			return fmt.Errorf("pods on fp-a %d, want one new Ready pod", len(got))
		}
		return nil
	})
	rolloutStatus(t, ns)
}

// TestE2EBadTemplate: a template the DaemonSet validation accepts but the
// pod validation refuses (an image with trailing whitespace) gets a
// FailedCreate Warning and backoff; a healthy DaemonSet elsewhere is
// served all along, and fixing the template brings the pods.
func TestE2EBadTemplate(t *testing.T) {
	testenv.Require(t, env)
	t.Parallel()
	const test = "bad"
	createNode(t, test, "bt-a", nil)
	createNode(t, test, "bt-b", nil)

	healthy := env.Namespace(t, nil, "ds-healthy")
	readyPods(t, healthy)
	createDS(t, agent(healthy, test))

	ns := env.Namespace(t, nil, "ds-bad")
	readyPods(t, ns)
	createDS(t, agent(ns, test, func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.Containers[0].Image = "busybox:1.36 " }))
	waitEvent(t, ns, "Warning FailedCreate: Error creating: ")
	t.Logf("events of the bad DaemonSet:\n%s", dsEvents(t, ns))
	if got := podsByNode(t, ns); len(got) != 0 {
		t.Errorf("pods %s of the bad DaemonSet", nodesOf(got))
	}
	waitStatus(t, ns, status{Desired: 2, Unavailable: 2})
	// Retried with backoff: exponential from 5 ms, about ten attempts in
	// the first 2.5 s (the client's event spam filter would let 25 through).
	time.Sleep(2 * time.Second)
	if n := strings.Count(dsEvents(t, ns), "FailedCreate"); n > 15 {
		t.Errorf("%d FailedCreate events within seconds: retried without backoff", n)
	}

	rolloutStatus(t, healthy)
	waitPods(t, healthy, "bt-a=1,bt-b=1")

	kubectl(t, ns, "set", "image", "daemonset/agent", "agent=busybox:1.36")
	rolloutStatus(t, ns)
	waitPods(t, ns, "bt-a=1,bt-b=1")
}
