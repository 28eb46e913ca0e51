//go:build !wasip1

// A control plane runs on the host only (internal/testenv does not build
// for wasip1).

package statefulset_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
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

// Images with a meaning for the pods' "kubelet" (sbsKubelet): pods of
// sbsPendingImage stay Pending, pods of sbsUnreadyImage run but never
// become Ready.
const (
	sbsPendingImage = "registry.example/never:1"
	sbsUnreadyImage = "registry.example/unready:1"
)

// sbsKubeletDelay is how long the test's kubelet leaves a new pod Pending
// before it runs it. Both controllers then see every new pod Pending once
// (they sync on its creation), so what they do to a Pending pod (fix its
// claims' owner references without writing the pod) happens on both sides
// rather than, by a race with the kubelet, on one side to a Pending pod
// and on the other to a Ready one (where the pod is written too and a
// SuccessfulUpdate event recorded).
const sbsKubeletDelay = 300 * time.Millisecond

// sbsSide is one control plane: kube-controller-manager's statefulset
// controller, or the host with the StatefulSet plugin.
type sbsSide struct {
	name string
	c    kubernetes.Interface
}

// TestSideBySideWithKubeControllerManager runs the same StatefulSets
// against kube-controller-manager v1.37.2 (--controllers=statefulset) and
// against the host with the StatefulSet plugin (TestMain's), each on its
// own control plane, step by step on both sides at once, and compares what
// a user sees once both sides have settled: every StatefulSet's status
// (all counters, currentRevision, updateRevision, observedGeneration,
// collisionCount, conditions), its ControllerRevisions (names, revision
// numbers, labels, owner, the template image they store), its pods (names,
// generateName, labels with statefulset.kubernetes.io/pod-name,
// apps.kubernetes.io/pod-index and controller-revision-hash, annotations,
// hostname, subdomain, image, claim volumes, owner references, phase), the
// namespace's PersistentVolumeClaims (names, labels, owner references,
// each marked live or stale by its UID) and the distinct Events on each
// set (type, reason, message; not their counts or times). Only what the
// servers generate (UIDs, times, resourceVersions) is left out, and the
// events' source (kube-controller-manager's "statefulset-controller", the
// host's "wasmctl-statefulset": a documented difference).
//
// Pods are made Running (and Ready, but for sbsUnreadyImage) by the test
// through the status subresource, as a kubelet would. No scheduler runs,
// so a deleted pod is gone at once on both sides. No garbage collector
// runs on either side (testenv starts none; the host has none): a claim
// owned by a deleted pod or set stays, and a set deleted with foreground
// propagation stays with its deletionTimestamp, so the comparison covers
// what the StatefulSet controllers write (owner references on claims, a
// deleting set's status), not what the garbage collector would do with it.
func TestSideBySideWithKubeControllerManager(t *testing.T) {
	testenv.Require(t, env)
	started := time.Now()
	kcmEnv, err := testenv.Start(context.Background(), testenv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer kcmEnv.Stop()
	if _, err := kcmEnv.StartControllerManager(testenv.ControllerManagerOptions{
		Controllers: []string{"statefulset"},
		ExtraArgs:   []string{"--concurrent-statefulset-syncs=5"},
	}); err != nil {
		t.Fatal(err)
	}
	sides := []sbsSide{
		{name: "kcm", c: kcmEnv.Clientset()},
		{name: "wasm", c: cs},
	}
	ns := "sts-side-by-side"
	for _, s := range sides {
		env.Namespace(t, s.c, ns)
		sbsKubelet(t, s.c, ns)
	}
	t.Logf("second control plane and kube-controller-manager up after %s", time.Since(started).Round(time.Millisecond))

	claims := func(whenScaled, whenDeleted appsv1.PersistentVolumeClaimRetentionPolicyType) func(*appsv1.StatefulSet) {
		return func(s *appsv1.StatefulSet) {
			s.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "data", Labels: map[string]string{"tier": "db"}},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
				},
			}}
			s.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{WhenScaled: whenScaled, WhenDeleted: whenDeleted}
		}
	}
	const (
		del    = appsv1.DeletePersistentVolumeClaimRetentionPolicyType
		retain = appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	)
	parallel := func(s *appsv1.StatefulSet) { s.Spec.PodManagementPolicy = appsv1.ParallelPodManagement }

	type step struct {
		name string
		do   func(t *testing.T, s sbsSide)
		// until holds once the controllers have acted on the step; the
		// comparison waits for it on both sides and for both views to stay
		// unchanged for a while.
		until func(v sbsView) error
	}
	steps := []step{
		{"create the sets", func(t *testing.T, s sbsSide) {
			for _, set := range []*appsv1.StatefulSet{
				sbsSet(ns, "ordered", 0),
				sbsSet(ns, "parallel", 0, parallel, func(s *appsv1.StatefulSet) {
					s.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{MaxUnavailable: ptr.To(intstr.FromInt32(2))}
				}),
				sbsSet(ns, "partition", 4, func(s *appsv1.StatefulSet) {
					s.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To[int32](2)}
				}),
				sbsSet(ns, "ondelete", 3, func(s *appsv1.StatefulSet) {
					s.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
				}),
				sbsSet(ns, "scaled-delete", 3, claims(del, retain)),
				sbsSet(ns, "deleted-delete", 3, claims(retain, del)),
				sbsSet(ns, "both-delete", 3, claims(del, del)),
				// OrderedReady waits for each pod to be available.
				sbsSet(ns, "minready", 2, func(s *appsv1.StatefulSet) { s.Spec.MinReadySeconds = 2 }),
				sbsSet(ns, "stall", 3),
				// OrderedReady stops at its first pod, Running but never Ready.
				sbsSet(ns, "stuck", 3, func(s *appsv1.StatefulSet) { s.Spec.Template.Spec.Containers[0].Image = sbsUnreadyImage }),
			} {
				if _, err := s.c.AppsV1().StatefulSets(ns).Create(context.Background(), set, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
		}, func(v sbsView) error {
			if err := v.rolledOut(0, "ordered", "parallel"); err != nil {
				return err
			}
			if err := v.rolledOut(4, "partition"); err != nil {
				return err
			}
			if err := v.rolledOut(3, "ondelete", "scaled-delete", "deleted-delete", "both-delete", "stall"); err != nil {
				return err
			}
			if err := v.rolledOut(2, "minready"); err != nil {
				return err
			}
			return v.counts("stuck", 1, 0, 1)
		}},
		{"scale up 0→3 (OrderedReady, Parallel)", func(t *testing.T, s sbsSide) {
			sbsScale(t, s.c, ns, "ordered", 3)
			sbsScale(t, s.c, ns, "parallel", 3)
		}, func(v sbsView) error {
			return v.rolledOut(3, "ordered", "parallel")
		}},
		{"scale down 3→1 (OrderedReady, Parallel, both retention policies), 3→0 past a pod never Ready", func(t *testing.T, s sbsSide) {
			for _, n := range []string{"ordered", "parallel", "scaled-delete", "deleted-delete", "both-delete"} {
				sbsScale(t, s.c, ns, n, 1)
			}
			sbsScale(t, s.c, ns, "stuck", 0)
		}, func(v sbsView) error {
			if err := v.rolledOut(1, "ordered", "parallel", "scaled-delete", "deleted-delete", "both-delete"); err != nil {
				return err
			}
			// whenScaled=Delete: the claims of the removed pods are theirs.
			for _, c := range []string{"data-scaled-delete-1", "data-scaled-delete-2", "data-both-delete-1", "data-both-delete-2"} {
				if err := v.claimOwnedBy(c, "Pod"); err != nil {
					return err
				}
			}
			return v.rolledOut(0, "stuck")
		}},
		{"scale up again: whenScaled=Delete's claim still owned by the removed pod blocks the slot", func(t *testing.T, s sbsSide) {
			for _, n := range []string{"scaled-delete", "deleted-delete", "parallel"} {
				sbsScale(t, s.c, ns, n, 3)
			}
		}, func(v sbsView) error {
			if err := v.counts("scaled-delete", 1, 1, 1); err != nil {
				return err
			}
			return v.rolledOut(3, "deleted-delete", "parallel")
		}},
		{"template changes: partition 2, OnDelete, Parallel with maxUnavailable 2, an update to a pod never Ready", func(t *testing.T, s sbsSide) {
			for _, n := range []string{"partition", "ondelete", "parallel"} {
				sbsSetImage(t, s.c, ns, n, "nginx:1.28")
			}
			sbsSetImage(t, s.c, ns, "stall", sbsPendingImage)
		}, func(v sbsView) error {
			// Above the partition only.
			if err := v.updating("partition", 4, 4, 2); err != nil {
				return err
			}
			// OnDelete: a new update revision, no pod replaced.
			if err := v.updating("ondelete", 3, 3, 0); err != nil {
				return err
			}
			if err := v.rolledOut(3, "parallel"); err != nil {
				return err
			}
			// stall-2 replaced, Pending: OrderedReady waits on it.
			return v.updating("stall", 3, 2, 1)
		}},
		{"partition 0; the test deletes an OnDelete pod; rollback of the stalled set and deletion of its stuck pod", func(t *testing.T, s sbsSide) {
			sbsPatch(t, s.c, ns, "partition", `{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}`)
			sbsDeletePod(t, s.c, ns, "ondelete-1")
			// A rollback does not replace a pod that never became Ready
			// (OrderedReady waits on it): as upstream's documentation says,
			// the user deletes it, once the controller has the old
			// template again (else it may come back at the broken one).
			sbsSetImage(t, s.c, ns, "stall", "nginx:1.27")
			sbsWaitObserved(t, s.c, ns, "stall")
			sbsDeletePod(t, s.c, ns, "stall-2")
		}, func(v sbsView) error {
			if err := v.rolledOut(4, "partition"); err != nil {
				return err
			}
			if err := v.updating("ondelete", 3, 3, 1); err != nil {
				return err
			}
			return v.rolledOut(3, "stall")
		}},
		{"the test's own changes: a pod released by a label change (its name blocks the slot), a pod's identity label removed, a pod Failed, a retention policy changed", func(t *testing.T, s sbsSide) {
			sbsPatchPod(t, s.c, ns, "partition-3", `{"metadata":{"labels":{"app":null}}}`)
			sbsPatchPod(t, s.c, ns, "ordered-0", `{"metadata":{"labels":{"statefulset.kubernetes.io/pod-name":null}}}`)
			sbsFailPod(t, s.c, ns, "stall-1")
			sbsPatch(t, s.c, ns, "both-delete", `{"spec":{"persistentVolumeClaimRetentionPolicy":{"whenScaled":"Retain","whenDeleted":"Retain"}}}`)
		}, func(v sbsView) error {
			if err := v.counts("partition", 3, 3, 3); err != nil {
				return err
			}
			if p := v.pods["partition-3"]; p == nil || metav1.GetControllerOfNoCopy(p) != nil {
				return fmt.Errorf("partition-3 not released")
			}
			if p := v.pods["ordered-0"]; p == nil || p.Labels["statefulset.kubernetes.io/pod-name"] != "ordered-0" {
				return fmt.Errorf("ordered-0 without its pod-name label")
			}
			if p := v.pods["stall-1"]; p == nil || p.Status.Phase != corev1.PodRunning {
				return fmt.Errorf("stall-1 not running again")
			}
			if err := v.rolledOut(3, "stall"); err != nil {
				return err
			}
			if err := v.rolledOut(1, "ordered", "both-delete"); err != nil {
				return err
			}
			if c := v.claims["data-both-delete-0"]; c == nil || len(c.OwnerReferences) != 0 {
				return fmt.Errorf("claim data-both-delete-0 still owned")
			}
			return nil
		}},
		{"the test gives the released pod its label back: adopted", func(t *testing.T, s sbsSide) {
			sbsPatchPod(t, s.c, ns, "partition-3", `{"metadata":{"labels":{"app":"partition"}}}`)
		}, func(v sbsView) error {
			if p := v.pods["partition-3"]; p == nil || metav1.GetControllerOfNoCopy(p) == nil {
				return fmt.Errorf("partition-3 not adopted")
			}
			return v.rolledOut(4, "partition")
		}},
		{"delete the sets with claims (foreground: no garbage collector, they stay deleting)", func(t *testing.T, s sbsSide) {
			for _, n := range []string{"scaled-delete", "deleted-delete"} {
				if err := s.c.AppsV1().StatefulSets(ns).Delete(context.Background(), n, metav1.DeleteOptions{
					PropagationPolicy: ptr.To(metav1.DeletePropagationForeground),
				}); err != nil {
					t.Fatal(err)
				}
			}
		}, func(v sbsView) error {
			for _, n := range []string{"scaled-delete", "deleted-delete"} {
				if err := v.deleting(n); err != nil {
					return err
				}
			}
			return nil
		}},
		{"the test deletes a pod of each deleting set: not recreated", func(t *testing.T, s sbsSide) {
			sbsDeletePod(t, s.c, ns, "scaled-delete-0")
			sbsDeletePod(t, s.c, ns, "deleted-delete-0")
		}, func(v sbsView) error {
			if err := v.counts("scaled-delete", 0, 0, 0); err != nil {
				return err
			}
			return v.counts("deleted-delete", 2, 2, 2)
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

// sbsSet is a StatefulSet with an explicit template: labels, an
// annotation, one container with a port, env and resources, and an
// annotation of its own (revisions copy the set's annotations).
func sbsSet(ns, name string, replicas int32, edit ...func(*appsv1.StatefulSet)) *appsv1.StatefulSet {
	s := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": name},
			Annotations: map[string]string{"example.com/owner": "side-by-side"}},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    ptr.To(replicas),
			ServiceName: name,
			Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels:      map[string]string{"app": name, "tier": "web"},
					Annotations: map[string]string{"example.com/team": "a"},
				},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name:  "app",
					Image: "nginx:1.27",
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
		e(s)
	}
	return s
}

// sbsKubelet plays the kubelet for ns on one side until the test ends:
// every 100 ms it marks the pods it first saw at least sbsKubeletDelay ago
// Running and Ready through the status subresource; pods of
// sbsPendingImage stay Pending, pods of sbsUnreadyImage run not Ready.
func sbsKubelet(t *testing.T, c kubernetes.Interface, ns string) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		seen := map[types.UID]time.Time{}
		for ctx.Err() == nil {
			if pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); err == nil {
				now := time.Now()
				for i := range pods.Items {
					p := &pods.Items[i]
					first, ok := seen[p.UID]
					if !ok {
						seen[p.UID] = now
						continue
					}
					img := p.Spec.Containers[0].Image
					if p.Status.Phase != corev1.PodPending || p.DeletionTimestamp != nil || img == sbsPendingImage || now.Sub(first) < sbsKubeletDelay {
						continue
					}
					ready := corev1.ConditionTrue
					if img == sbsUnreadyImage {
						ready = corev1.ConditionFalse
					}
					p.Status.Phase = corev1.PodRunning
					p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: ready, LastTransitionTime: metav1.Now()}}
					_, _ = c.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
}

func sbsPatch(t *testing.T, c kubernetes.Interface, ns, name, patch string) {
	t.Helper()
	if _, err := c.AppsV1().StatefulSets(ns).Patch(context.Background(), name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatalf("patch statefulset %s %s: %v", name, patch, err)
	}
}

func sbsScale(t *testing.T, c kubernetes.Interface, ns, name string, replicas int32) {
	t.Helper()
	sbsPatch(t, c, ns, name, fmt.Sprintf(`{"spec":{"replicas":%d}}`, replicas))
}

// sbsSetImage is `kubectl set image statefulset/<name> app=<image>`.
func sbsSetImage(t *testing.T, c kubernetes.Interface, ns, name, image string) {
	t.Helper()
	sbsPatch(t, c, ns, name, fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"app","image":%q}]}}}}`, image))
}

func sbsPatchPod(t *testing.T, c kubernetes.Interface, ns, name, patch string) {
	t.Helper()
	if _, err := c.CoreV1().Pods(ns).Patch(context.Background(), name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatalf("patch pod %s %s: %v", name, patch, err)
	}
}

// sbsFailPod is a kubelet reporting the pod's containers failed.
func sbsFailPod(t *testing.T, c kubernetes.Interface, ns, name string) {
	t.Helper()
	ctx := context.Background()
	p, err := c.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Status.Phase = corev1.PodFailed
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse, LastTransitionTime: metav1.Now()}}
	if _, err := c.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("fail pod %s: %v", name, err)
	}
}

func sbsDeletePod(t *testing.T, c kubernetes.Interface, ns, name string) {
	t.Helper()
	if err := c.CoreV1().Pods(ns).Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete pod %s: %v", name, err)
	}
}

// sbsWaitObserved waits until the controller has synced the set's latest
// generation (and so has its update revision).
func sbsWaitObserved(t *testing.T, c kubernetes.Interface, ns, name string) {
	t.Helper()
	testenv.Eventually(t, 20*time.Second, func() error {
		s, err := c.AppsV1().StatefulSets(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if s.Status.ObservedGeneration != s.Generation {
			return fmt.Errorf("statefulset %s: observedGeneration %d of %d", name, s.Status.ObservedGeneration, s.Generation)
		}
		return nil
	})
}

// sbsView is what a user sees of the namespace's StatefulSets, their
// revisions and pods, the claims and the sets' events: Lines are compared,
// the objects serve the predicates.
type sbsView struct {
	Lines  []string
	sets   map[string]*appsv1.StatefulSet
	claims map[string]*corev1.PersistentVolumeClaim
	pods   map[string]*corev1.Pod
	live   map[types.UID]string // "Kind/name" of every listed object
}

func sbsObserve(t *testing.T, c kubernetes.Interface, ns string) sbsView {
	t.Helper()
	ctx := context.Background()
	sets, err := c.AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	revs, err := c.AppsV1().ControllerRevisions(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	podList, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	claimList, err := c.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	events, err := c.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v := sbsView{sets: map[string]*appsv1.StatefulSet{}, claims: map[string]*corev1.PersistentVolumeClaim{}, pods: map[string]*corev1.Pod{}, live: map[types.UID]string{}}
	var names []string
	for i := range sets.Items {
		s := &sets.Items[i]
		v.sets[s.Name] = s
		v.live[s.UID] = "StatefulSet/" + s.Name
		names = append(names, s.Name)
	}
	for i := range podList.Items {
		v.pods[podList.Items[i].Name] = &podList.Items[i]
		v.live[podList.Items[i].UID] = "Pod/" + podList.Items[i].Name
	}
	sort.Strings(names)
	// owners formats owner references without UIDs, each marked stale
	// when its UID is not the listed object of that kind and name.
	owners := func(refs []metav1.OwnerReference) string {
		var out []string
		for _, r := range refs {
			s := fmt.Sprintf("%s/%s/%s controller=%v blockOwnerDeletion=%v", r.APIVersion, r.Kind, r.Name, ptr.Deref(r.Controller, false), ptr.Deref(r.BlockOwnerDeletion, false))
			if v.live[r.UID] != r.Kind+"/"+r.Name {
				s += " (stale uid)"
			}
			out = append(out, s)
		}
		return "[" + strings.Join(out, ", ") + "]"
	}
	children := map[string][]string{} // by the set's name, "" without a known controller
	controllerOf := func(m metav1.Object) string {
		ref := metav1.GetControllerOfNoCopy(m)
		if ref == nil || ref.Kind != "StatefulSet" || v.live[ref.UID] != "StatefulSet/"+ref.Name {
			return ""
		}
		return ref.Name
	}
	for i := range revs.Items {
		r := &revs.Items[i]
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
		children[key] = append(children[key], fmt.Sprintf("  revision %s: revision=%d image=%s labels=%v annotations=%v owners=%s",
			r.Name, r.Revision, img, r.Labels, r.Annotations, owners(r.OwnerReferences)))
	}
	for i := range podList.Items {
		p := &podList.Items[i]
		var vols []string
		for _, vol := range p.Spec.Volumes {
			if vol.PersistentVolumeClaim != nil {
				vols = append(vols, vol.Name+":"+vol.PersistentVolumeClaim.ClaimName)
			}
		}
		ready := corev1.ConditionUnknown
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady {
				ready = c.Status
			}
		}
		key := controllerOf(p)
		children[key] = append(children[key], fmt.Sprintf("  pod %s: generateName=%s labels=%v annotations=%v hostname=%s subdomain=%s image=%s claims=%v owners=%s phase=%s ready=%s%s",
			p.Name, p.GenerateName, p.Labels, p.Annotations, p.Spec.Hostname, p.Spec.Subdomain, p.Spec.Containers[0].Image, vols,
			owners(p.OwnerReferences), p.Status.Phase, ready, sbsDeleting(p.DeletionTimestamp)))
	}
	evs := map[string]map[string]bool{}
	for _, e := range events.Items {
		o := e.InvolvedObject
		key := o.Kind + " " + o.Name
		if evs[key] == nil {
			evs[key] = map[string]bool{}
		}
		evs[key][fmt.Sprintf("  event %s %s: %s", e.Type, e.Reason, e.Message)] = true
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
		s := v.sets[n]
		st := s.Status
		v.Lines = append(v.Lines, fmt.Sprintf("statefulset %s: generation=%d observedGeneration=%d replicas=%d ready=%d current=%d updated=%d available=%d currentRevision=%s updateRevision=%s collisionCount=%s finalizers=%v%s",
			n, s.Generation, st.ObservedGeneration, st.Replicas, st.ReadyReplicas, st.CurrentReplicas, st.UpdatedReplicas, st.AvailableReplicas,
			st.CurrentRevision, st.UpdateRevision, sbsDeref(st.CollisionCount), s.Finalizers, sbsDeleting(s.DeletionTimestamp)))
		for _, c := range st.Conditions {
			v.Lines = append(v.Lines, fmt.Sprintf("  condition %s=%s %s %q", c.Type, c.Status, c.Reason, c.Message))
		}
		lines := children[n]
		sort.Strings(lines)
		v.Lines = append(v.Lines, lines...)
		v.Lines = append(v.Lines, sortedKeys(evs["StatefulSet "+n])...)
		delete(evs, "StatefulSet "+n)
	}
	if orphans := children[""]; len(orphans) > 0 {
		sort.Strings(orphans)
		v.Lines = append(v.Lines, "without a listed controller:")
		v.Lines = append(v.Lines, orphans...)
	}
	var claimLines []string
	for i := range claimList.Items {
		c := &claimList.Items[i]
		v.claims[c.Name] = c
		claimLines = append(claimLines, fmt.Sprintf("claim %s: labels=%v owners=%s%s", c.Name, c.Labels, owners(c.OwnerReferences), sbsDeleting(c.DeletionTimestamp)))
	}
	sort.Strings(claimLines)
	v.Lines = append(v.Lines, claimLines...)
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

func sbsDeref(p *int32) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

func sbsDeleting(ts *metav1.Time) string {
	if ts == nil {
		return ""
	}
	return " deleting"
}

func (v sbsView) observed(name string) (*appsv1.StatefulSet, error) {
	s, ok := v.sets[name]
	if !ok {
		return nil, fmt.Errorf("no statefulset %s", name)
	}
	if s.Status.ObservedGeneration != s.Generation {
		return nil, fmt.Errorf("statefulset %s: observedGeneration %d of %d", name, s.Status.ObservedGeneration, s.Generation)
	}
	return s, nil
}

// rolledOut: the sets have replicas pods, all Ready and at the update
// revision, which is current, as `kubectl rollout status` sees it.
func (v sbsView) rolledOut(replicas int32, names ...string) error {
	for _, n := range names {
		s, err := v.observed(n)
		if err != nil {
			return err
		}
		st := s.Status
		if st.Replicas != replicas || st.ReadyReplicas != replicas || st.AvailableReplicas != replicas || st.UpdatedReplicas != replicas ||
			st.CurrentReplicas != replicas || st.UpdateRevision == "" || st.CurrentRevision != st.UpdateRevision {
			return fmt.Errorf("statefulset %s: status %+v, want %d replicas rolled out", n, st, replicas)
		}
	}
	return nil
}

// counts: the set's latest generation is observed and its status has
// these pods, ready pods and updated pods.
func (v sbsView) counts(name string, replicas, ready, updated int32) error {
	s, err := v.observed(name)
	if err != nil {
		return err
	}
	if st := s.Status; st.Replicas != replicas || st.ReadyReplicas != ready || st.UpdatedReplicas != updated {
		return fmt.Errorf("statefulset %s: %d replicas, %d ready, %d updated, want %d, %d, %d", name, st.Replicas, st.ReadyReplicas, st.UpdatedReplicas, replicas, ready, updated)
	}
	return nil
}

// updating: counts, with an update revision that is not (yet) current.
func (v sbsView) updating(name string, replicas, ready, updated int32) error {
	if err := v.counts(name, replicas, ready, updated); err != nil {
		return err
	}
	if st := v.sets[name].Status; st.UpdateRevision == "" || st.CurrentRevision == st.UpdateRevision {
		return fmt.Errorf("statefulset %s: currentRevision %q, updateRevision %q, want an update under way", name, st.CurrentRevision, st.UpdateRevision)
	}
	return nil
}

func (v sbsView) deleting(name string) error {
	s, err := v.observed(name)
	if err != nil {
		return err
	}
	if s.DeletionTimestamp == nil {
		return fmt.Errorf("statefulset %s not being deleted", name)
	}
	return nil
}

// claimOwnedBy: the claim's controller is an object of this kind.
func (v sbsView) claimOwnedBy(name, kind string) error {
	c, ok := v.claims[name]
	if !ok {
		return fmt.Errorf("no claim %s", name)
	}
	if ref := metav1.GetControllerOfNoCopy(c); ref == nil || ref.Kind != kind {
		return fmt.Errorf("claim %s: owners %+v, want a %s as controller", name, c.OwnerReferences, kind)
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
		sbsEqualWait = 20 * time.Second
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
