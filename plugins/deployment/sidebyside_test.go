//go:build !wasip1

// A control plane runs on the host only (internal/testenv does not build
// for wasip1).

package deployment_test

import (
	"context"
	"fmt"
	"os/exec"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"wasmctl.dev/wasmctl/internal/sidebyside"
	"wasmctl.dev/wasmctl/internal/testenv"
)

// Images with a meaning for the pods' "kubelet" (readyPods): pods of
// sbsNeverImage never become ready, pods of sbsSlowImage only once the
// test lets them.
const (
	sbsNeverImage = "registry.example/never:1"
	sbsSlowImage  = "registry.example/slow:1"
)

// sbsSide is one control plane: kube-controller-manager's deployment and
// replicaset controllers, or the host with the plugins.
type sbsSide struct {
	name       string
	c          kubernetes.Interface
	kubeconfig string
}

// TestSideBySideWithKubeControllerManager runs the same Deployments against
// kube-controller-manager (--controllers=deployment,replicaset) and against
// the host with the Deployment and ReplicaSet plugins, each on its own
// control plane, step by step on both sides at once, and compares what a
// user sees once both sides have settled: for every Deployment its
// annotations, status counters, observedGeneration, collisionCount and
// conditions (type, status, reason, message), and its ReplicaSets (names,
// that is upstream's pod-template-hash, replicas, annotations, labels,
// selector, template image and labels, owner, pod counts). Only what the
// servers generate (UIDs, times, resourceVersions) is left out.
//
// Pods are made Running and Ready by the test through the status
// subresource, as a kubelet would; no scheduler runs, so a deleted pod is
// gone at once on both sides.
func TestSideBySideWithKubeControllerManager(t *testing.T) {
	testenv.Require(t, env)
	started := time.Now()
	kcmEnv, err := testenv.Start(context.Background(), testenv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer kcmEnv.Stop()
	if _, err := kcmEnv.StartControllerManager(testenv.ControllerManagerOptions{
		Controllers: []string{"deployment", "replicaset"},
		ExtraArgs:   []string{"--concurrent-deployment-syncs=5", "--concurrent-replicaset-syncs=5"},
	}); err != nil {
		t.Fatal(err)
	}
	sides := []sbsSide{
		{name: "kcm", c: kcmEnv.Clientset(), kubeconfig: kcmEnv.KubeconfigPath},
		{name: "wasm", c: cs, kubeconfig: env.KubeconfigPath},
	}
	ns := "deployment-side-by-side"
	var slowReady atomic.Bool
	for _, s := range sides {
		env.Namespace(t, s.c, ns)
		readyPods(t, s.c, ns, func(p *corev1.Pod) bool {
			switch p.Spec.Containers[0].Image {
			case sbsNeverImage:
				return false
			case sbsSlowImage:
				return slowReady.Load()
			}
			return true
		})
	}
	t.Logf("second control plane and kube-controller-manager up after %s", time.Since(started).Round(time.Millisecond))

	type step struct {
		name string
		do   func(t *testing.T, s sbsSide)
		// until holds once the controllers have acted on the step; the
		// comparison waits for it on both sides and for both views to stay
		// unchanged for a while.
		until func(v sbsView) error
	}
	steps := []step{
		{"first rollout", func(t *testing.T, s sbsSide) {
			for _, d := range []*appsv1.Deployment{
				sbsDeployment(ns, "surge", 3, "nginx:1.27", func(d *appsv1.Deployment) {
					d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
						MaxSurge: ptr.To(intstr.FromInt32(2)), MaxUnavailable: ptr.To(intstr.FromInt32(0)),
					}}
				}),
				sbsDeployment(ns, "recreate", 3, "nginx:1.27", func(d *appsv1.Deployment) {
					d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
				}),
				sbsDeployment(ns, "paused", 3, "nginx:1.27"),
				// 4 replicas: maxSurge 1 and maxUnavailable 1 (25%).
				sbsDeployment(ns, "resize", 4, "nginx:1.27"),
				sbsDeployment(ns, "undo", 3, "nginx:1.27"),
				sbsDeployment(ns, "history", 2, "nginx:1.27", func(d *appsv1.Deployment) { d.Spec.RevisionHistoryLimit = ptr.To[int32](1) }),
				sbsDeployment(ns, "deadline", 2, sbsNeverImage, func(d *appsv1.Deployment) { d.Spec.ProgressDeadlineSeconds = ptr.To[int32](3) }),
			} {
				if _, err := s.c.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
		}, func(v sbsView) error {
			if err := v.complete("nginx:1.27", "surge", "recreate", "paused", "resize", "undo", "history"); err != nil {
				return err
			}
			return v.progressing("deadline", corev1.ConditionFalse, "ProgressDeadlineExceeded")
		}},
		{"rolling update with surge, Recreate", func(t *testing.T, s sbsSide) {
			for _, name := range []string{"surge", "recreate", "undo"} {
				sbsSetImage(t, s.c, ns, name, "nginx:1.28")
			}
		}, func(v sbsView) error {
			return v.complete("nginx:1.28", "surge", "recreate", "undo")
		}},
		{"pause, change the template while paused", func(t *testing.T, s sbsSide) {
			sbsPatch(t, s.c, ns, "paused", `{"spec":{"paused":true}}`)
			sbsSetImage(t, s.c, ns, "paused", "nginx:1.28")
		}, func(v sbsView) error {
			if err := v.observed("paused"); err != nil {
				return err
			}
			return v.progressing("paused", corev1.ConditionUnknown, "DeploymentPaused")
		}},
		{"resume", func(t *testing.T, s sbsSide) {
			sbsPatch(t, s.c, ns, "paused", `{"spec":{"paused":false}}`)
		}, func(v sbsView) error {
			return v.complete("nginx:1.28", "paused")
		}},
		{"hold a rollout mid-way", func(t *testing.T, s sbsSide) {
			sbsSetImage(t, s.c, ns, "resize", sbsSlowImage)
		}, func(v sbsView) error {
			// Old 3 (available), new 2 (not ready): the surge is used and
			// nothing more may go unavailable.
			return v.counts("resize", 5, 2, 3)
		}},
		{"resize mid-rollout", func(t *testing.T, s sbsSide) {
			sbsPatch(t, s.c, ns, "resize", `{"spec":{"replicas":8}}`)
		}, func(v sbsView) error {
			// 8+2 allowed, proportionally to the max-replicas annotation
			// (5): old 3 -> 6, new 2 -> 4.
			return v.counts("resize", 10, 4, 6)
		}},
		{"let the held rollout finish", func(t *testing.T, s sbsSide) {
			slowReady.Store(true) // for both sides; the second call is a no-op
		}, func(v sbsView) error {
			return v.complete(sbsSlowImage, "resize")
		}},
		{"rollout undo, history cleanup", func(t *testing.T, s sbsSide) {
			sbsKubectl(t, s.kubeconfig, "-n", ns, "rollout", "undo", "deployment/undo")
			// Each template change is seen (its ReplicaSet created) before
			// the next, so the revisions do not depend on timing.
			for _, img := range []string{"nginx:1.28", "nginx:1.29", "nginx:1.30"} {
				sbsSetImage(t, s.c, ns, "history", img)
				sbsWaitObserved(t, s.c, ns, "history")
			}
		}, func(v sbsView) error {
			if err := v.complete("nginx:1.27", "undo"); err != nil {
				return err
			}
			return v.complete("nginx:1.30", "history")
		}},
	}
	for _, st := range steps {
		stepStart := time.Now()
		for _, s := range sides {
			st.do(t, s)
		}
		kcm, wasm, equal := sbsSettle(t, sides, ns, st.name, st.until)
		if !equal {
			t.Errorf("step %q: the views differ (- kcm, + wasm):\n%s", st.name, sidebyside.Diff(kcm.Lines, wasm.Lines))
			continue
		}
		t.Logf("step %q (%s): the same on both sides:\n%s", st.name, time.Since(stepStart).Round(time.Millisecond), strings.Join(wasm.Lines, "\n"))
	}
	t.Logf("side by side in %s", time.Since(started).Round(time.Millisecond))
}

// sbsDeployment is a Deployment with an explicit template: labels, an
// annotation, one container with a port, env and resources (quantities are
// part of the pod-template-hash input), and an annotation of its own that
// the ReplicaSets copy.
func sbsDeployment(ns, name string, replicas int32, image string, edit ...func(*appsv1.Deployment)) *appsv1.Deployment {
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": name},
			Annotations: map[string]string{"example.com/owner": "side-by-side"}},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels:      map[string]string{"app": name, "tier": "web"},
					Annotations: map[string]string{"example.com/team": "a"},
				},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name:  "app",
					Image: image,
					Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 80}},
					Env:   []corev1.EnvVar{{Name: "MODE", Value: "test"}},
					Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
						corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi"),
					}},
				}}},
			},
		},
	}
	for _, e := range edit {
		e(d)
	}
	return d
}

func sbsPatch(t *testing.T, c kubernetes.Interface, ns, name, patch string) {
	t.Helper()
	if _, err := c.AppsV1().Deployments(ns).Patch(context.Background(), name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatalf("patch deployment %s %s: %v", name, patch, err)
	}
}

// sbsSetImage is `kubectl set image deployment/<name> app=<image>`.
func sbsSetImage(t *testing.T, c kubernetes.Interface, ns, name, image string) {
	t.Helper()
	sbsPatch(t, c, ns, name, fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"app","image":%q}]}}}}`, image))
}

// sbsWaitObserved waits until the controller has synced the Deployment's
// latest generation (and so created the ReplicaSet of its template).
func sbsWaitObserved(t *testing.T, c kubernetes.Interface, ns, name string) {
	t.Helper()
	testenv.Eventually(t, 20*time.Second, func() error {
		d, err := c.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if d.Status.ObservedGeneration != d.Generation {
			return fmt.Errorf("deployment %s: observedGeneration %d of %d", name, d.Status.ObservedGeneration, d.Generation)
		}
		return nil
	})
}

func sbsKubectl(t *testing.T, kubeconfig string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig", kubeconfig}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// sbsView is what a user sees of the namespace's Deployments and their
// ReplicaSets: Lines are compared, the objects serve the predicates.
type sbsView struct {
	Lines []string
	deps  map[string]*appsv1.Deployment
}

func sbsObserve(t *testing.T, c kubernetes.Interface, ns string) sbsView {
	t.Helper()
	ctx := context.Background()
	deps, err := c.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rss, err := c.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v := sbsView{deps: map[string]*appsv1.Deployment{}}
	byUID := map[types.UID]string{}
	var names []string
	for i := range deps.Items {
		d := &deps.Items[i]
		v.deps[d.Name] = d
		byUID[d.UID] = d.Name
		names = append(names, d.Name)
	}
	sort.Strings(names)
	rsLines := map[string][]string{}
	for _, rs := range rss.Items {
		owner, key := "none", ""
		if ref := metav1.GetControllerOf(&rs); ref != nil {
			owner = fmt.Sprintf("%s/%s/%s controller=%v blockOwnerDeletion=%v", ref.APIVersion, ref.Kind, ref.Name, ptr.Deref(ref.Controller, false), ptr.Deref(ref.BlockOwnerDeletion, false))
			key = byUID[ref.UID]
			if key == "" {
				owner += " (unknown uid)"
			}
		}
		deleting := ""
		if rs.DeletionTimestamp != nil {
			deleting = " deleting"
		}
		st := rs.Status
		rsLines[key] = append(rsLines[key], fmt.Sprintf("  rs %s: replicas=%d annotations=%v labels=%v selector=%s template=%v/%s owner=%s status=%d/%d/%d/%d%s",
			rs.Name, ptr.Deref(rs.Spec.Replicas, -1), rs.Annotations, rs.Labels, metav1.FormatLabelSelector(rs.Spec.Selector),
			rs.Spec.Template.Labels, rs.Spec.Template.Spec.Containers[0].Image, owner,
			st.Replicas, st.ReadyReplicas, st.AvailableReplicas, ptr.Deref(st.TerminatingReplicas, -1), deleting))
	}
	for _, n := range names {
		d := v.deps[n]
		st := d.Status
		v.Lines = append(v.Lines, fmt.Sprintf("deployment %s: annotations=%v generation=%d observedGeneration=%d replicas=%d updated=%d ready=%d available=%d unavailable=%d terminating=%v collisionCount=%v",
			n, d.Annotations, d.Generation, st.ObservedGeneration, st.Replicas, st.UpdatedReplicas, st.ReadyReplicas, st.AvailableReplicas, st.UnavailableReplicas,
			sbsDeref(st.TerminatingReplicas), sbsDeref(st.CollisionCount)))
		for _, c := range st.Conditions {
			v.Lines = append(v.Lines, fmt.Sprintf("  condition %s=%s %s %q", c.Type, c.Status, c.Reason, c.Message))
		}
		lines := rsLines[n]
		sort.Strings(lines)
		v.Lines = append(v.Lines, lines...)
	}
	if orphans := rsLines[""]; len(orphans) > 0 {
		sort.Strings(orphans)
		v.Lines = append(v.Lines, "without a known controller:")
		v.Lines = append(v.Lines, orphans...)
	}
	return v
}

func sbsDeref(p *int32) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

func (v sbsView) observed(name string) error {
	d, ok := v.deps[name]
	if !ok {
		return fmt.Errorf("no deployment %s", name)
	}
	if d.Status.ObservedGeneration != d.Generation {
		return fmt.Errorf("deployment %s: observedGeneration %d of %d", name, d.Status.ObservedGeneration, d.Generation)
	}
	return nil
}

// complete: the Deployments run image and their rollout is done, as
// `kubectl rollout status` sees it, with the Progressing reason of a
// finished rollout.
func (v sbsView) complete(image string, names ...string) error {
	for _, n := range names {
		if err := v.observed(n); err != nil {
			return err
		}
		d := v.deps[n]
		st := d.Status
		if img := d.Spec.Template.Spec.Containers[0].Image; img != image {
			return fmt.Errorf("deployment %s: image %s, want %s", n, img, image)
		}
		if r := *d.Spec.Replicas; st.UpdatedReplicas != r || st.Replicas != r || st.AvailableReplicas != r {
			return fmt.Errorf("deployment %s: %d replicas, %d updated, %d available, want %d", n, st.Replicas, st.UpdatedReplicas, st.AvailableReplicas, r)
		}
		if err := v.progressing(n, corev1.ConditionTrue, "NewReplicaSetAvailable"); err != nil {
			return err
		}
	}
	return nil
}

func (v sbsView) progressing(name string, status corev1.ConditionStatus, reason string) error {
	d, ok := v.deps[name]
	if !ok {
		return fmt.Errorf("no deployment %s", name)
	}
	c := condition(d, appsv1.DeploymentProgressing)
	if c == nil || c.Status != status || c.Reason != reason {
		return fmt.Errorf("deployment %s: Progressing %+v, want %s %s", name, c, status, reason)
	}
	return nil
}

// counts: the Deployment's latest generation is observed and its status
// has these pods, updated pods and available pods.
func (v sbsView) counts(name string, replicas, updated, available int32) error {
	if err := v.observed(name); err != nil {
		return err
	}
	st := v.deps[name].Status
	if st.Replicas != replicas || st.UpdatedReplicas != updated || st.AvailableReplicas != available {
		return fmt.Errorf("deployment %s: %d replicas, %d updated, %d available, want %d, %d, %d", name,
			st.Replicas, st.UpdatedReplicas, st.AvailableReplicas, replicas, updated, available)
	}
	return nil
}

// sbsSettle observes both sides until until holds on each and neither view
// has changed for sbsQuiet (a settled state, not a passing one), then until
// the two views are equal, for at most sbsEqualWait more. It returns the
// last views and whether they are equal; it fails the test if a side never
// settles.
func sbsSettle(t *testing.T, sides []sbsSide, ns, step string, until func(sbsView) error) (kcm, wasm sbsView, equal bool) {
	t.Helper()
	const (
		sbsQuiet     = 1500 * time.Millisecond
		sbsSettleMax = 60 * time.Second
		sbsEqualWait = 30 * time.Second
	)
	start := time.Now()
	views := make([]sbsView, len(sides))
	since := make([]time.Time, len(sides))
	var settledAt time.Time
	for {
		now := time.Now()
		settled := true
		var why []string
		for i, s := range sides {
			v := sbsObserve(t, s.c, ns)
			if !reflect.DeepEqual(v.Lines, views[i].Lines) {
				since[i] = now
			}
			views[i] = v
			if err := until(v); err != nil {
				settled = false
				why = append(why, s.name+": "+err.Error())
			} else if now.Sub(since[i]) < sbsQuiet {
				settled = false
			}
		}
		if settled {
			if reflect.DeepEqual(views[0].Lines, views[1].Lines) {
				return views[0], views[1], true
			}
			if settledAt.IsZero() {
				settledAt = now
			}
			if now.Sub(settledAt) > sbsEqualWait {
				return views[0], views[1], false
			}
		} else if settledAt.IsZero() && now.Sub(start) > sbsSettleMax {
			t.Fatalf("step %q: did not settle in %s: %s\nkcm:\n%s\nwasm:\n%s", step, sbsSettleMax, strings.Join(why, "; "),
				strings.Join(views[0].Lines, "\n"), strings.Join(views[1].Lines, "\n"))
		} else if !settledAt.IsZero() && now.Sub(settledAt) > sbsEqualWait {
			return views[0], views[1], false
		}
		time.Sleep(250 * time.Millisecond)
	}
}
