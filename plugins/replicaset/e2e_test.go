//go:build !wasip1

// A control plane runs on the host only (internal/testenv does not build
// for wasip1).

package replicaset_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
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

func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, &env, func(context.Context) (func(), error) {
		cs = env.Clientset()
		h, err := startHost(env)
		if err != nil {
			return nil, err
		}
		host = h
		return h.Stop, nil
	}))
}

// hostConfig runs the replicaset plugin as configured in the repository's
// config.yaml.
func hostConfig() (string, error) {
	wasm, err := wasmbuild.Build("", "./cmd")
	if err != nil {
		return "", err
	}
	return fmt.Sprintf(`
controllers:
  - name: replicaset
    plugin: %s
    workers: 5
`, wasm), nil
}

func startHost(e *testenv.Environment) (*hosttest.Host, error) {
	cfg, err := hostConfig()
	if err != nil {
		return nil, err
	}
	return hosttest.Start(e.RESTConfig(), cfg)
}

func newRS(ns, name string, replicas int32, sel map[string]string) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: sel},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}}},
			},
		},
	}
}

// activePodsOf lists the non-terminating pods controlled by the RS uid.
func activePodsOf(t *testing.T, c kubernetes.Interface, ns string, uid types.UID) []corev1.Pod {
	t.Helper()
	list, err := c.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if ref := metav1.GetControllerOf(&p); ref != nil && ref.UID == uid && p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// converged waits until the RS has want pods and a status saying so for its
// current generation.
func converged(t *testing.T, c kubernetes.Interface, ns, name string, want int) *appsv1.ReplicaSet {
	t.Helper()
	var rs *appsv1.ReplicaSet
	testenv.Eventually(t, 20*time.Second, func() error {
		var err error
		rs, err = c.AppsV1().ReplicaSets(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		pods := activePodsOf(t, c, ns, rs.UID)
		if len(pods) != want || rs.Status.Replicas != int32(want) || rs.Status.ObservedGeneration != rs.Generation {
			return fmt.Errorf("%d pods, status.replicas %d, observedGeneration %d/%d, want %d", len(pods), rs.Status.Replicas, rs.Status.ObservedGeneration, rs.Generation, want)
		}
		return nil
	})
	return rs
}

func scale(t *testing.T, ns, name string, replicas int32) {
	t.Helper()
	patch := fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, replicas)
	if _, err := cs.AppsV1().ReplicaSets(ns).Patch(context.Background(), name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestScaleUpDownToZero(t *testing.T) {
	testenv.Require(t, env)
	ns := "rs-scale"
	env.Namespace(t, cs, ns)
	rs, err := cs.AppsV1().ReplicaSets(ns).Create(context.Background(), newRS(ns, "web", 0, map[string]string{"app": "web"}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	converged(t, cs, ns, "web", 0)
	for _, n := range []int32{5, 2, 0} {
		scale(t, ns, "web", n)
		converged(t, cs, ns, "web", int(n))
	}
	scale(t, ns, "web", 3)
	converged(t, cs, ns, "web", 3)
	for _, p := range activePodsOf(t, cs, ns, rs.UID) {
		ref := metav1.GetControllerOf(&p)
		if p.GenerateName != "web-" || p.Labels["app"] != "web" || ref.Kind != "ReplicaSet" || ref.Name != "web" || !*ref.BlockOwnerDeletion {
			t.Fatalf("pod %s: generateName %q labels %v ref %+v", p.Name, p.GenerateName, p.Labels, ref)
		}
	}
	// Upstream's events for each create and delete.
	evs, _ := cs.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
	reasons := map[string]int{}
	for _, e := range evs.Items {
		reasons[e.Reason] += int(e.Count)
	}
	if reasons["SuccessfulCreate"] != 8 || reasons["SuccessfulDelete"] != 5 {
		t.Fatalf("events %v, want 8 SuccessfulCreate and 5 SuccessfulDelete", reasons)
	}
	// The manifest's ignoreOwnWrites: the echoes of the plugin's status
	// writes did not call it again (and it still converged, above).
	if n := testutil.ToFloat64(host.Manager.Metrics().ReconcileTotal.WithLabelValues("replicaset", "own_write_ignored")); n < 1 {
		t.Fatalf("%v echoes of own status writes ignored, want some", n)
	}
}

func TestAdoptOrphanReleaseRelabelled(t *testing.T) {
	testenv.Require(t, env)
	ctx := context.Background()
	ns := "rs-claim"
	env.Namespace(t, cs, ns)
	orphan := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "stray", Namespace: ns, Labels: map[string]string{"app": "api"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "pause"}}},
	}
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, orphan, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rs, err := cs.AppsV1().ReplicaSets(ns).Create(ctx, newRS(ns, "api", 2, map[string]string{"app": "api"}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	converged(t, cs, ns, "api", 2)
	stray, _ := cs.CoreV1().Pods(ns).Get(ctx, "stray", metav1.GetOptions{})
	if ref := metav1.GetControllerOf(stray); ref == nil || ref.UID != rs.UID {
		t.Fatalf("orphan not adopted: %+v", stray.OwnerReferences)
	}

	// Relabel it: the ReplicaSet releases it and makes a replacement.
	patch := []byte(`{"metadata":{"labels":{"app":"elsewhere"}}}`)
	if _, err := cs.CoreV1().Pods(ns).Patch(ctx, "stray", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, "stray", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(p.OwnerReferences) != 0 {
			return fmt.Errorf("still owned: %+v", p.OwnerReferences)
		}
		return nil
	})
	converged(t, cs, ns, "api", 2)
}

// TestMinReadySecondsAvailability sets pod readiness through the status
// subresource (there is no kubelet) and watches availability follow
// minReadySeconds through the plugin's timed requeue.
func TestMinReadySecondsAvailability(t *testing.T) {
	testenv.Require(t, env)
	ctx := context.Background()
	ns := "rs-ready"
	env.Namespace(t, cs, ns)
	r := newRS(ns, "slow", 2, map[string]string{"app": "slow"})
	r.Spec.MinReadySeconds = 3
	rs, err := cs.AppsV1().ReplicaSets(ns).Create(ctx, r, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	converged(t, cs, ns, "slow", 2)
	readyAt := time.Now()
	for _, p := range activePodsOf(t, cs, ns, rs.UID) {
		p.Status.Phase = corev1.PodRunning
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(readyAt)}}
		if _, err := cs.CoreV1().Pods(ns).UpdateStatus(ctx, &p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		got, _ := cs.AppsV1().ReplicaSets(ns).Get(ctx, "slow", metav1.GetOptions{})
		if got.Status.ReadyReplicas != 2 {
			return fmt.Errorf("ready %d", got.Status.ReadyReplicas)
		}
		return nil
	})
	got, _ := cs.AppsV1().ReplicaSets(ns).Get(ctx, "slow", metav1.GetOptions{})
	if got.Status.AvailableReplicas != 0 && time.Since(readyAt) < 2*time.Second {
		t.Fatalf("available %d before minReadySeconds passed", got.Status.AvailableReplicas)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		got, _ := cs.AppsV1().ReplicaSets(ns).Get(ctx, "slow", metav1.GetOptions{})
		if got.Status.AvailableReplicas != 2 {
			return fmt.Errorf("available %d", got.Status.AvailableReplicas)
		}
		return nil
	})
	if since := time.Since(readyAt); since < 2*time.Second {
		t.Fatalf("available after %s, before minReadySeconds (3s, second-granular timestamps)", since)
	}
}

// TestOverlappingSelectorsDoNotFight: two ReplicaSets select the same pods;
// each keeps its own (controller references decide), neither deletes or
// adopts the other's.
func TestOverlappingSelectorsDoNotFight(t *testing.T) {
	testenv.Require(t, env)
	ctx := context.Background()
	ns := "rs-overlap"
	env.Namespace(t, cs, ns)
	a, err := cs.AppsV1().ReplicaSets(ns).Create(ctx, newRS(ns, "a", 3, map[string]string{"app": "same"}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	converged(t, cs, ns, "a", 3)
	b, err := cs.AppsV1().ReplicaSets(ns).Create(ctx, newRS(ns, "b", 2, map[string]string{"app": "same"}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	converged(t, cs, ns, "b", 2)
	time.Sleep(2 * time.Second)
	if n := len(activePodsOf(t, cs, ns, a.UID)); n != 3 {
		t.Fatalf("a has %d pods", n)
	}
	if n := len(activePodsOf(t, cs, ns, b.UID)); n != 2 {
		t.Fatalf("b has %d pods", n)
	}
	all, _ := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if len(all.Items) != 5 {
		t.Fatalf("%d pods in the namespace, want 5: the ReplicaSets fought", len(all.Items))
	}
}
