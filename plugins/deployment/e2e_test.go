//go:build !wasip1

package deployment_test

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
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"wasmctl.dev/wasmctl/internal/hosttest"
	"wasmctl.dev/wasmctl/internal/testenv"
	"wasmctl.dev/wasmctl/internal/wasmbuild"
	"wasmctl.dev/wasmctl/plugins/deployment"
)

var (
	env  *testenv.Environment
	cs   *kubernetes.Clientset
	host *hosttest.Host
)

// TestMain runs the Deployment plugin with the host's ReplicaSet plugin,
// as config.yaml does.
func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, &env, func(context.Context) (func(), error) {
		cs = env.Clientset()
		dep, err := wasmbuild.Build("", "./cmd")
		if err != nil {
			return nil, err
		}
		rs, err := wasmbuild.Build("", "../replicaset/cmd")
		if err != nil {
			return nil, err
		}
		// The limits config.yaml gives them.
		config := fmt.Sprintf("controllers:\n  - {name: deployment, plugin: %s, workers: 5, timeout: 5s, memoryLimit: 64Mi}\n  - {name: replicaset, plugin: %s, workers: 5, timeout: 5s, memoryLimit: 64Mi}\n", dep, rs)
		if host, err = hosttest.Start(env.RESTConfig(), config); err != nil {
			return nil, err
		}
		return func() { host.Stop() }, nil
	}))
}

// userDeployment is a Deployment as `kubectl create deployment` writes it
// (label app=<name>, container named after the image's repository).
func userDeployment(ns, name string, replicas int32, edit ...func(*appsv1.Deployment)) *appsv1.Deployment {
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: name, Image: "nginx:1.27"}}},
			},
		},
	}
	for _, e := range edit {
		e(d)
	}
	return d
}

// readyPods marks every pod of ns (through c) Running and Ready through the
// status subresource, as a kubelet would report them, until the test ends;
// pods the filter refuses stay Pending (it is asked again each round).
func readyPods(t *testing.T, c kubernetes.Interface, ns string, filter func(*corev1.Pod) bool) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if err == nil {
				for i := range pods.Items {
					p := &pods.Items[i]
					if p.Status.Phase == corev1.PodRunning || p.DeletionTimestamp != nil || (filter != nil && !filter(p)) {
						continue
					}
					now := metav1.Now()
					p.Status.Phase = corev1.PodRunning
					p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now}}
					_, _ = c.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
}

// replicaSets lists the ReplicaSets of ns by name: "name=spec/available".
func replicaSets(t *testing.T, ns string) map[string]*appsv1.ReplicaSet {
	t.Helper()
	list, err := cs.AppsV1().ReplicaSets(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*appsv1.ReplicaSet{}
	for i := range list.Items {
		out[list.Items[i].Name] = &list.Items[i]
	}
	return out
}

func sizes(rss map[string]*appsv1.ReplicaSet) string {
	var out []string
	for n, rs := range rss {
		out = append(out, fmt.Sprintf("%s=%d", n, *rs.Spec.Replicas))
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func kubectl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig", env.KubeconfigPath}, args...)...).CombinedOutput()
	return string(out), err
}

func mustKubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := kubectl(t, args...)
	if err != nil {
		state, _ := kubectl(t, "get", "deployments,replicasets,pods", "-A", "-o", "wide", "--show-labels")
		status, _ := kubectl(t, "get", "deployments", "-A", "-o", "jsonpath={range .items[*]}{.metadata.name} {.metadata.annotations} {.status}{\"\\n\"}{end}")
		t.Fatalf("kubectl %s: %v\n%s\n%s\n%s", strings.Join(args, " "), err, out, state, status)
	}
	return out
}

func condition(d *appsv1.Deployment, typ appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range d.Status.Conditions {
		if d.Status.Conditions[i].Type == typ {
			return &d.Status.Conditions[i]
		}
	}
	return nil
}

func getDeployment(t *testing.T, ns, name string) *appsv1.Deployment {
	t.Helper()
	d, err := cs.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestRolloutWithKubectl drives one Deployment the way a user does: the
// first rollout gets upstream's ReplicaSet name, `kubectl rollout status`
// waits for it, an image change rolls, history lists both revisions, undo
// returns to the first template as revision 3, pause holds a template
// change back, resume and restart roll again.
func TestRolloutWithKubectl(t *testing.T) {
	testenv.Require(t, env)
	ctx := context.Background()
	ns := env.Namespace(t, nil, "rollout")
	readyPods(t, cs, ns, nil)
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, userDeployment(ns, "web", 3, func(d *appsv1.Deployment) {
		d.Spec.Template.Spec.Containers[0].Name = "web"
	}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mustKubectl(t, "-n", ns, "rollout", "status", "deployment/web", "--timeout=60s")
	rss := replicaSets(t, ns)
	first, ok := rss["web-5c8597c5fb"]
	if !ok || len(rss) != 1 {
		t.Fatalf("ReplicaSets %s, want web-5c8597c5fb (kube-controller-manager's name for this template)", sizes(rss))
	}
	if first.Annotations[deployment.RevisionAnnotation] != "1" || first.Labels["pod-template-hash"] != "5c8597c5fb" ||
		first.Spec.Selector.MatchLabels["pod-template-hash"] != "5c8597c5fb" {
		t.Errorf("first ReplicaSet annotations %v labels %v selector %v", first.Annotations, first.Labels, first.Spec.Selector)
	}
	d := getDeployment(t, ns, "web")
	if c := condition(d, appsv1.DeploymentProgressing); c == nil || c.Reason != "NewReplicaSetAvailable" ||
		c.Message != `ReplicaSet "web-5c8597c5fb" has successfully progressed.` {
		t.Errorf("Progressing %+v", c)
	}
	if c := condition(d, appsv1.DeploymentAvailable); c == nil || c.Status != corev1.ConditionTrue || c.Reason != "MinimumReplicasAvailable" {
		t.Errorf("Available %+v", c)
	}
	if d.Status.AvailableReplicas != 3 || d.Status.UpdatedReplicas != 3 || d.Status.ObservedGeneration != d.Generation {
		t.Errorf("status %+v", d.Status)
	}

	mustKubectl(t, "-n", ns, "set", "image", "deployment/web", "web=nginx:1.28")
	mustKubectl(t, "-n", ns, "rollout", "status", "deployment/web", "--timeout=60s")
	rss = replicaSets(t, ns)
	if len(rss) != 2 || *rss["web-5c8597c5fb"].Spec.Replicas != 0 {
		t.Fatalf("after the image change: %s", sizes(rss))
	}
	hist := mustKubectl(t, "-n", ns, "rollout", "history", "deployment/web")
	if !strings.Contains(hist, "1         <none>") || !strings.Contains(hist, "2         <none>") {
		t.Errorf("rollout history:\n%s", hist)
	}

	mustKubectl(t, "-n", ns, "rollout", "undo", "deployment/web")
	mustKubectl(t, "-n", ns, "rollout", "status", "deployment/web", "--timeout=60s")
	rss = replicaSets(t, ns)
	if rs := rss["web-5c8597c5fb"]; len(rss) != 2 || *rs.Spec.Replicas != 3 || rs.Annotations[deployment.RevisionAnnotation] != "3" ||
		rs.Annotations[deployment.RevisionHistoryAnnotation] != "1" {
		t.Fatalf("after undo: %s, first RS annotations %v", sizes(rss), rs.Annotations)
	}

	mustKubectl(t, "-n", ns, "rollout", "pause", "deployment/web")
	mustKubectl(t, "-n", ns, "set", "image", "deployment/web", "web=nginx:1.29")
	testenv.Eventually(t, 20*time.Second, func() error {
		d := getDeployment(t, ns, "web")
		if c := condition(d, appsv1.DeploymentProgressing); c == nil || c.Reason != "DeploymentPaused" || c.Status != corev1.ConditionUnknown {
			return fmt.Errorf("Progressing %+v", c)
		}
		if d.Status.ObservedGeneration != d.Generation {
			return fmt.Errorf("observedGeneration %d of %d", d.Status.ObservedGeneration, d.Generation)
		}
		return nil
	})
	if rss := replicaSets(t, ns); len(rss) != 2 {
		t.Fatalf("paused Deployment rolled: %s", sizes(rss))
	}
	mustKubectl(t, "-n", ns, "rollout", "resume", "deployment/web")
	mustKubectl(t, "-n", ns, "rollout", "status", "deployment/web", "--timeout=60s")
	mustKubectl(t, "-n", ns, "rollout", "restart", "deployment/web")
	mustKubectl(t, "-n", ns, "rollout", "status", "deployment/web", "--timeout=60s")
	rss = replicaSets(t, ns)
	live := 0
	for _, rs := range rss {
		if *rs.Spec.Replicas > 0 {
			live++
			if rs.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] == "" || rs.Annotations[deployment.RevisionAnnotation] != "5" {
				t.Errorf("the live ReplicaSet after restart: %v, template annotations %v", rs.Annotations, rs.Spec.Template.Annotations)
			}
		}
	}
	if len(rss) != 4 || live != 1 {
		t.Errorf("after resume and restart: %s", sizes(rss))
	}
	events, _ := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.kind=Deployment"})
	var msgs []string
	for _, e := range events.Items {
		msgs = append(msgs, e.Reason+": "+e.Message)
	}
	if all := strings.Join(msgs, "\n"); !strings.Contains(all, "ScalingReplicaSet: Scaled up replica set web-5c8597c5fb from 0 to 3") {
		t.Errorf("events:\n%s", all)
	}
}

// TestRecreate: the old ReplicaSet goes to 0 and its pods are gone before
// the new one is created, at full size.
func TestRecreate(t *testing.T) {
	testenv.Require(t, env)
	ctx := context.Background()
	ns := env.Namespace(t, nil, "recreate")
	readyPods(t, cs, ns, nil)
	d, err := cs.AppsV1().Deployments(ns).Create(ctx, userDeployment(ns, "db", 2, func(d *appsv1.Deployment) {
		d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mustKubectl(t, "-n", ns, "rollout", "status", "deployment/db", "--timeout=60s")
	// Watch the ReplicaSets while the template changes: the new one must
	// never coexist with a running old pod.
	w, err := cs.AppsV1().ReplicaSets(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	mustKubectl(t, "-n", ns, "set", "image", "deployment/db", "db=nginx:1.28")
	mustKubectl(t, "-n", ns, "rollout", "status", "deployment/db", "--timeout=60s")
	var newRS string
	for newRS == "" {
		select {
		case ev := <-w.ResultChan():
			rs, ok := ev.Object.(*appsv1.ReplicaSet)
			if !ok || rs.Spec.Template.Spec.Containers[0].Image != "nginx:1.28" {
				continue
			}
			newRS = rs.Name
			if *rs.Spec.Replicas != 2 {
				t.Errorf("the new ReplicaSet was created with %d replicas, want all 2 at once", *rs.Spec.Replicas)
			}
			pods, _ := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			for _, p := range pods.Items {
				if p.Spec.Containers[0].Image == "nginx:1.27" {
					t.Errorf("old pod %s still there when the new ReplicaSet appeared", p.Name)
				}
			}
		case <-time.After(30 * time.Second):
			t.Fatal("no new ReplicaSet")
		}
	}
	got := getDeployment(t, ns, "db")
	if got.Status.UpdatedReplicas != 2 || got.Status.AvailableReplicas != 2 || got.UID != d.UID {
		t.Errorf("status %+v", got.Status)
	}
}

// TestProgressDeadlineExceeded: pods that never become ready time the
// rollout out with upstream's reason and message, and `kubectl rollout
// status` reports it.
func TestProgressDeadlineExceeded(t *testing.T) {
	testenv.Require(t, env)
	ctx := context.Background()
	ns := env.Namespace(t, nil, "deadline")
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, userDeployment(ns, "slow", 2, func(d *appsv1.Deployment) {
		d.Spec.ProgressDeadlineSeconds = ptr.To[int32](3)
	}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var rsName string
	testenv.Eventually(t, 30*time.Second, func() error {
		d := getDeployment(t, ns, "slow")
		c := condition(d, appsv1.DeploymentProgressing)
		if c == nil || c.Reason != "ProgressDeadlineExceeded" || c.Status != corev1.ConditionFalse {
			return fmt.Errorf("Progressing %+v", c)
		}
		for n := range replicaSets(t, ns) {
			rsName = n
		}
		if want := fmt.Sprintf("ReplicaSet %q has timed out progressing.", rsName); c.Message != want {
			return fmt.Errorf("message %q, want %q", c.Message, want)
		}
		return nil
	})
	out, err := kubectl(t, "-n", ns, "rollout", "status", "deployment/slow", "--timeout=20s")
	if err == nil || !strings.Contains(out, "exceeded its progress deadline") {
		t.Errorf("kubectl rollout status: %v\n%s", err, out)
	}
}

// TestSelectorUID: a ReplicaSet a user created with matching labels is
// adopted (gets the controller reference) and, with another template,
// scaled down once the new one is available.
func TestAdoption(t *testing.T) {
	testenv.Require(t, env)
	ctx := context.Background()
	ns := env.Namespace(t, nil, "adopt")
	readyPods(t, cs, ns, nil)
	orphan := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "adp-orphan", Namespace: ns, Labels: map[string]string{"app": "adp"}},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "adp", "v": "old"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "adp", "v": "old"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "adp", Image: "nginx:1.20"}}},
			},
		},
	}
	if _, err := cs.AppsV1().ReplicaSets(ns).Create(ctx, orphan, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	d, err := cs.AppsV1().Deployments(ns).Create(ctx, userDeployment(ns, "adp", 2), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mustKubectl(t, "-n", ns, "rollout", "status", "deployment/adp", "--timeout=60s")
	testenv.Eventually(t, 20*time.Second, func() error {
		rs := replicaSets(t, ns)["adp-orphan"]
		ref := metav1.GetControllerOf(rs)
		if ref == nil || ref.UID != d.UID || *rs.Spec.Replicas != 0 {
			return fmt.Errorf("adp-orphan: owner %v, %d replicas", ref, *rs.Spec.Replicas)
		}
		return nil
	})
	_ = types.UID("")
}

// TestRecreateWaitsForTerminatingPods: pods bound to a node terminate
// gracefully (there is no kubelet here to finish them), and the new
// ReplicaSet appears only once the last old pod is gone: the host wakes the
// Deployment on that pod's deletion (its related input of the pods of its
// ReplicaSets, deletions only).
func TestRecreateWaitsForTerminatingPods(t *testing.T) {
	testenv.Require(t, env)
	ctx := context.Background()
	ns := env.Namespace(t, nil, "recreate-terminating")
	readyPods(t, cs, ns, nil)
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, userDeployment(ns, "db", 2, func(d *appsv1.Deployment) {
		d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mustKubectl(t, "-n", ns, "rollout", "status", "deployment/db", "--timeout=60s")
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(pods.Items) != 2 {
		t.Fatalf("pods: %v %v", len(pods.Items), err)
	}
	for _, p := range pods.Items {
		b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: ns}, Target: corev1.ObjectReference{Kind: "Node", Name: "node-1"}}
		if err := cs.CoreV1().Pods(ns).Bind(ctx, b, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mustKubectl(t, "-n", ns, "set", "image", "deployment/db", "db=nginx:1.28")
	testenv.Eventually(t, 20*time.Second, func() error {
		pods, _ := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil {
				return fmt.Errorf("pod %s not terminating", p.Name)
			}
		}
		return nil
	})
	time.Sleep(2 * time.Second)
	if rss := replicaSets(t, ns); len(rss) != 1 {
		t.Fatalf("a new ReplicaSet while old pods terminate: %s", sizes(rss))
	}
	for i, p := range pods.Items {
		if i == 0 {
			continue // one old pod left: still no new ReplicaSet
		}
		if err := cs.CoreV1().Pods(ns).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Second)
	if rss := replicaSets(t, ns); len(rss) != 1 {
		t.Fatalf("a new ReplicaSet with an old pod terminating: %s", sizes(rss))
	}
	if err := cs.CoreV1().Pods(ns).Delete(ctx, pods.Items[0].Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		rss := replicaSets(t, ns)
		for _, rs := range rss {
			if rs.Spec.Template.Spec.Containers[0].Image == "nginx:1.28" && *rs.Spec.Replicas == 2 {
				return nil
			}
		}
		return fmt.Errorf("no new ReplicaSet of 2 after the old pods went: %s", sizes(rss))
	})
}
