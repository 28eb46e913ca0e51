//go:build !wasip1

package statefulset_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
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

// TestMain runs the StatefulSet plugin alone, with the limits config.yaml
// gives it.
func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, &env, func(context.Context) (func(), error) {
		cs = env.Clientset()
		sts, err := wasmbuild.Build("", "./cmd")
		if err != nil {
			return nil, err
		}
		config := fmt.Sprintf("controllers:\n  - {name: statefulset, plugin: %s, workers: 5, timeout: 5s, memoryLimit: 64Mi}\n", sts)
		if host, err = hosttest.Start(env.RESTConfig(), config); err != nil {
			return nil, err
		}
		return func() { host.Stop() }, nil
	}))
}

// userSet is a StatefulSet "web" as the upstream documentation's example
// writes it (label app=<name>, container "web", headless service "web").
func userSet(ns string, replicas int32, edit ...func(*appsv1.StatefulSet)) *appsv1.StatefulSet {
	s := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    ptr.To(replicas),
			ServiceName: "web",
			Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27"}}},
			},
		},
	}
	for _, e := range edit {
		e(s)
	}
	return s
}

func createSet(t *testing.T, s *appsv1.StatefulSet) *appsv1.StatefulSet {
	t.Helper()
	got, err := cs.AppsV1().StatefulSets(s.Namespace).Create(context.Background(), s, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func getSet(t *testing.T, ns string) *appsv1.StatefulSet {
	t.Helper()
	s, err := cs.AppsV1().StatefulSets(ns).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ordinal is the ordinal of a pod named <set>-<n>, -1 if it has none.
func ordinal(name string) int {
	i := strings.LastIndexByte(name, '-')
	n, err := strconv.Atoi(name[i+1:])
	if i < 0 || err != nil {
		return -1
	}
	return n
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
// marks the pods Running and Ready through the status subresource, lowest
// ordinal first (a StatefulSet's pods start in that order); pods hold
// returns true for stay Pending (it is asked again each round).
func readyPods(t *testing.T, ns string, hold func(*corev1.Pod) bool) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); err == nil {
				sort.Slice(pods.Items, func(i, j int) bool { return ordinal(pods.Items[i].Name) < ordinal(pods.Items[j].Name) })
				for i := range pods.Items {
					p := &pods.Items[i]
					if p.Status.Phase == corev1.PodRunning || p.DeletionTimestamp != nil || (hold != nil && hold(p)) {
						continue
					}
					now := metav1.Now()
					p.Status.Phase = corev1.PodRunning
					p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now}}
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

// podLog records, from one watch of the pods of ns (so in the API server's
// order), which pods were created and deleted; with ordered it also checks
// OrderedReady's rule: a pod is created only when every pod of a lower
// ordinal is Running and Ready.
type podLog struct {
	mu         sync.Mutex
	added      []string
	deleted    []string
	addedRV    map[string]int64
	violations []string
}

func watchPods(t *testing.T, ns string, ordered bool) *podLog {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	list, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := cs.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	l := &podLog{addedRV: map[string]int64{}}
	live := map[string]*corev1.Pod{}
	for i := range list.Items {
		live[list.Items[i].Name] = &list.Items[i]
	}
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); w.Stop(); <-done })
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			l.mu.Lock()
			switch ev.Type {
			case watch.Added:
				l.added = append(l.added, p.Name)
				l.addedRV[p.Name], _ = strconv.ParseInt(p.ResourceVersion, 10, 64)
				if ordered {
					for _, q := range live {
						if ordinal(q.Name) < ordinal(p.Name) && (!isReady(q) || q.DeletionTimestamp != nil) {
							l.violations = append(l.violations, fmt.Sprintf("%s created while %s is not Ready", p.Name, q.Name))
						}
					}
				}
				live[p.Name] = p
			case watch.Modified:
				live[p.Name] = p
			case watch.Deleted:
				l.deleted = append(l.deleted, p.Name)
				delete(live, p.Name)
			}
			l.mu.Unlock()
		}
	}()
	return l
}

func (l *podLog) snapshot() (added, deleted, violations []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.added...), append([]string(nil), l.deleted...), append([]string(nil), l.violations...)
}

func pods(t *testing.T, ns string) map[string]*corev1.Pod {
	t.Helper()
	list, err := cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*corev1.Pod{}
	for i := range list.Items {
		out[list.Items[i].Name] = &list.Items[i]
	}
	return out
}

func names[V any](m map[string]V) string {
	var out []string
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
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

// setEvents lists the Events on the StatefulSet web of ns as
// "Type Reason: Message" lines.
func setEvents(t *testing.T, ns string) string {
	t.Helper()
	list, err := cs.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.kind=StatefulSet,involvedObject.name=web"})
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
	testenv.Eventually(t, 20*time.Second, func() error {
		if all := setEvents(t, ns); !strings.Contains(all, want) {
			return fmt.Errorf("no event %q among:\n%s", want, all)
		}
		return nil
	})
}

func kubectl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig", env.KubeconfigPath}, args...)...).CombinedOutput()
	return string(out), err
}

func mustKubectl(t *testing.T, ns string, args ...string) string {
	t.Helper()
	out, err := kubectl(t, append([]string{"-n", ns}, args...)...)
	if err != nil {
		state, _ := kubectl(t, "-n", ns, "get", "statefulsets,controllerrevisions,pods,pvc", "-o", "wide", "--show-labels")
		status, _ := kubectl(t, "-n", ns, "get", "statefulsets", "-o", "jsonpath={range .items[*]}{.metadata.name} gen={.metadata.generation} {.status}{\"\\n\"}{end}")
		t.Fatalf("kubectl %s: %v\n%s\n%s\n%s\nevents:\n%s", strings.Join(args, " "), err, out, state, status, setEvents(t, ns))
	}
	return out
}

func rolloutStatus(t *testing.T, ns string) {
	t.Helper()
	mustKubectl(t, ns, "rollout", "status", "statefulset/web", "--timeout=60s")
}

// TestE2EOrderedReadyScaleUp: 0→3 with the default OrderedReady policy:
// web-1 waits for web-0 to be Ready, every pod carries its identity and the
// revision's name, status converges and kubectl sees the rollout complete.
func TestE2EOrderedReadyScaleUp(t *testing.T) {
	testenv.Require(t, env)
	t.Parallel()
	ns := env.Namespace(t, nil, "sts-ordered")
	log := watchPods(t, ns, true)
	var held atomic.Bool
	held.Store(true)
	readyPods(t, ns, func(p *corev1.Pod) bool { return p.Name == "web-0" && held.Load() })
	set := createSet(t, userSet(ns, 3))

	testenv.Eventually(t, 20*time.Second, func() error {
		if _, ok := pods(t, ns)["web-0"]; !ok {
			return fmt.Errorf("no web-0")
		}
		return nil
	})
	time.Sleep(1500 * time.Millisecond)
	if got := pods(t, ns); len(got) != 1 {
		t.Fatalf("pods %s while web-0 is not Ready, want web-0 alone", names(got))
	}
	held.Store(false)
	rolloutStatus(t, ns)

	var s *appsv1.StatefulSet
	testenv.Eventually(t, 20*time.Second, func() error {
		s = getSet(t, ns)
		st := s.Status
		if st.ObservedGeneration != s.Generation || st.Replicas != 3 || st.ReadyReplicas != 3 || st.AvailableReplicas != 3 ||
			st.UpdatedReplicas != 3 || st.CurrentReplicas != 3 || st.UpdateRevision == "" || st.CurrentRevision != st.UpdateRevision ||
			st.CollisionCount == nil || *st.CollisionCount != 0 {
			return fmt.Errorf("status %+v (generation %d)", st, s.Generation)
		}
		return nil
	})
	rev := s.Status.UpdateRevision
	if !strings.HasPrefix(rev, "web-") {
		t.Errorf("updateRevision %q", rev)
	}
	revs := revisions(t, ns)
	cr, ok := revs[rev]
	if !ok || len(revs) != 1 {
		t.Fatalf("ControllerRevisions %s, want %s", names(revs), rev)
	}
	if ref := metav1.GetControllerOf(cr); ref == nil || ref.UID != set.UID || cr.Revision != 1 ||
		cr.Labels["controller.kubernetes.io/hash"] != strings.TrimPrefix(rev, "web-") || cr.Labels["app"] != "web" {
		t.Errorf("ControllerRevision %s: owner %v revision %d labels %v", cr.Name, metav1.GetControllerOf(cr), cr.Revision, cr.Labels)
	}

	got := pods(t, ns)
	if names(got) != "web-0,web-1,web-2" {
		t.Fatalf("pods %s", names(got))
	}
	for n, p := range got {
		want := map[string]string{"app": "web", "statefulset.kubernetes.io/pod-name": n,
			"apps.kubernetes.io/pod-index": strconv.Itoa(ordinal(n)), "controller-revision-hash": rev}
		for k, v := range want {
			if p.Labels[k] != v {
				t.Errorf("%s: label %s=%q, want %q (labels %v)", n, k, p.Labels[k], v, p.Labels)
			}
		}
		if p.Spec.Hostname != n || p.Spec.Subdomain != "web" {
			t.Errorf("%s: hostname %q subdomain %q", n, p.Spec.Hostname, p.Spec.Subdomain)
		}
		if ref := metav1.GetControllerOf(p); ref == nil || ref.UID != set.UID || ref.Kind != "StatefulSet" || ref.APIVersion != "apps/v1" ||
			ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
			t.Errorf("%s: controller reference %+v", n, ref)
		}
	}
	added, _, violations := log.snapshot()
	if strings.Join(added, ",") != "web-0,web-1,web-2" {
		t.Errorf("creation order %v", added)
	}
	for _, v := range violations {
		t.Error(v)
	}
}

// TestE2EVolumeClaimTemplates: the claim is created before its pod, with
// the selector's labels over the template's, mounted by the pod, and with
// whenDeleted=Delete owned by the set.
func TestE2EVolumeClaimTemplates(t *testing.T) {
	testenv.Require(t, env)
	t.Parallel()
	ctx := context.Background()
	ns := env.Namespace(t, nil, "sts-claims")
	claimRV := make(chan int64, 1)
	cw, err := cs.CoreV1().PersistentVolumeClaims(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer cw.Stop()
	go func() {
		for ev := range cw.ResultChan() {
			if c, ok := ev.Object.(*corev1.PersistentVolumeClaim); ok && ev.Type == watch.Added && c.Name == "data-web-0" {
				rv, _ := strconv.ParseInt(c.ResourceVersion, 10, 64)
				claimRV <- rv
				return
			}
		}
	}()
	log := watchPods(t, ns, true)
	readyPods(t, ns, nil)
	set := createSet(t, userSet(ns, 1, func(s *appsv1.StatefulSet) {
		s.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{{
			ObjectMeta: metav1.ObjectMeta{Name: "data", Labels: map[string]string{"app": "claim", "tier": "db"}},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			},
		}}
		s.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
			WhenDeleted: appsv1.DeletePersistentVolumeClaimRetentionPolicyType,
			WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
		}
	}))
	rolloutStatus(t, ns)

	var crv int64
	select {
	case crv = <-claimRV:
	case <-time.After(10 * time.Second):
		t.Fatal("no claim data-web-0")
	}
	log.mu.Lock()
	prv, ok := log.addedRV["web-0"]
	log.mu.Unlock()
	// Resource versions are etcd revisions here: their order is the
	// order of the writes.
	if !ok || crv >= prv {
		t.Errorf("claim data-web-0 created at revision %d, pod web-0 at %d (ok %v): the claim must come first", crv, prv, ok)
	}
	c, err := cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data-web-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Labels) != 2 || c.Labels["app"] != "web" || c.Labels["tier"] != "db" {
		t.Errorf("claim labels %v, want app=web (the selector's) and tier=db", c.Labels)
	}
	p := pods(t, ns)["web-0"]
	mounted := false
	for _, v := range p.Spec.Volumes {
		if v.Name == "data" && v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == "data-web-0" {
			mounted = true
		}
	}
	if !mounted {
		t.Errorf("web-0 volumes %+v, want data from claim data-web-0", p.Spec.Volumes)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		c, err := cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data-web-0", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if ref := metav1.GetControllerOf(c); ref == nil || ref.UID != set.UID || ref.Kind != "StatefulSet" || len(c.OwnerReferences) != 1 {
			return fmt.Errorf("claim owner references %+v, want the set as controller", c.OwnerReferences)
		}
		return nil
	})
}

// TestE2ERollingUpdate: an image change replaces the pods from the highest
// ordinal down under a new revision; kubectl's history shows two
// revisions and undo returns to the first one, renumbered 3.
func TestE2ERollingUpdate(t *testing.T) {
	testenv.Require(t, env)
	t.Parallel()
	ns := env.Namespace(t, nil, "sts-rolling")
	readyPods(t, ns, nil)
	createSet(t, userSet(ns, 3))
	rolloutStatus(t, ns)
	var first string
	testenv.Eventually(t, 20*time.Second, func() error {
		st := getSet(t, ns).Status
		if first = st.CurrentRevision; first == "" || first != st.UpdateRevision {
			return fmt.Errorf("status %+v", st)
		}
		return nil
	})

	log := watchPods(t, ns, true)
	mustKubectl(t, ns, "set", "image", "statefulset/web", "web=nginx:1.28")
	rolloutStatus(t, ns)
	var second string
	testenv.Eventually(t, 20*time.Second, func() error {
		st := getSet(t, ns).Status
		if second = st.UpdateRevision; second == first || st.CurrentRevision != second || st.UpdatedReplicas != 3 || st.ReadyReplicas != 3 {
			return fmt.Errorf("status %+v (first revision %s)", st, first)
		}
		return nil
	})
	for n, p := range pods(t, ns) {
		if p.Spec.Containers[0].Image != "nginx:1.28" || p.Labels["controller-revision-hash"] != second {
			t.Errorf("%s: image %s revision %s after the update to %s", n, p.Spec.Containers[0].Image, p.Labels["controller-revision-hash"], second)
		}
	}
	_, deleted, violations := log.snapshot()
	if strings.Join(deleted, ",") != "web-2,web-1,web-0" {
		t.Errorf("deletion order %v, want web-2,web-1,web-0", deleted)
	}
	for _, v := range violations {
		t.Error(v)
	}
	revs := revisions(t, ns)
	if len(revs) != 2 || revs[first] == nil || revs[second] == nil || revs[first].Revision != 1 || revs[second].Revision != 2 {
		t.Fatalf("ControllerRevisions %s, want %s (1) and %s (2)", names(revs), first, second)
	}
	hist := mustKubectl(t, ns, "rollout", "history", "statefulset/web")
	if !strings.Contains(hist, "\n1 ") || !strings.Contains(hist, "\n2 ") {
		t.Errorf("rollout history:\n%s", hist)
	}

	mustKubectl(t, ns, "rollout", "undo", "statefulset/web")
	rolloutStatus(t, ns)
	testenv.Eventually(t, 20*time.Second, func() error {
		st := getSet(t, ns).Status
		if st.UpdateRevision != first || st.CurrentRevision != first || st.UpdatedReplicas != 3 {
			return fmt.Errorf("status %+v, want back to revision %s", st, first)
		}
		return nil
	})
	for n, p := range pods(t, ns) {
		if p.Spec.Containers[0].Image != "nginx:1.27" || p.Labels["controller-revision-hash"] != first {
			t.Errorf("%s: image %s revision %s after undo", n, p.Spec.Containers[0].Image, p.Labels["controller-revision-hash"])
		}
	}
	revs = revisions(t, ns)
	if len(revs) != 2 || revs[first] == nil || revs[first].Revision != 3 || revs[second].Revision != 2 {
		for n, r := range revs {
			t.Logf("%s: revision %d", n, r.Revision)
		}
		t.Fatalf("ControllerRevisions after undo %s, want %s renumbered 3", names(revs), first)
	}
}

// TestE2EScaleDown: 3→1 OrderedReady deletes the highest ordinal first;
// the set's Events name each pod as upstream words them.
func TestE2EScaleDown(t *testing.T) {
	testenv.Require(t, env)
	t.Parallel()
	ns := env.Namespace(t, nil, "sts-scale")
	readyPods(t, ns, nil)
	createSet(t, userSet(ns, 3))
	rolloutStatus(t, ns)
	log := watchPods(t, ns, true)
	mustKubectl(t, ns, "scale", "statefulset/web", "--replicas=1")
	testenv.Eventually(t, 20*time.Second, func() error {
		if got := pods(t, ns); names(got) != "web-0" {
			return fmt.Errorf("pods %s", names(got))
		}
		s := getSet(t, ns)
		if s.Status.ObservedGeneration != s.Generation || s.Status.Replicas != 1 || s.Status.ReadyReplicas != 1 {
			return fmt.Errorf("status %+v", s.Status)
		}
		return nil
	})
	rolloutStatus(t, ns)
	if _, deleted, _ := log.snapshot(); strings.Join(deleted, ",") != "web-2,web-1" {
		t.Errorf("deletion order %v, want web-2,web-1", deleted)
	}
	waitEvent(t, ns, "Normal SuccessfulCreate: Create Pod web-0 in StatefulSet web successful")
	waitEvent(t, ns, "Normal SuccessfulDelete: Delete Pod web-2 in StatefulSet web successful")
	waitEvent(t, ns, "Normal SuccessfulDelete: Delete Pod web-1 in StatefulSet web successful")
}

// TestE2EParallel: podManagementPolicy Parallel creates every pod without
// waiting for any to be Ready.
func TestE2EParallel(t *testing.T) {
	testenv.Require(t, env)
	t.Parallel()
	ns := env.Namespace(t, nil, "sts-parallel")
	createSet(t, userSet(ns, 3, func(s *appsv1.StatefulSet) {
		s.Spec.PodManagementPolicy = appsv1.ParallelPodManagement
	}))
	testenv.Eventually(t, 20*time.Second, func() error {
		got := pods(t, ns)
		if names(got) != "web-0,web-1,web-2" {
			return fmt.Errorf("pods %s", names(got))
		}
		for n, p := range got {
			if isReady(p) {
				return fmt.Errorf("%s Ready: nobody made it so", n)
			}
		}
		return nil
	})
	readyPods(t, ns, nil)
	rolloutStatus(t, ns)
}

// TestE2EBadTemplate: a template the StatefulSet validation accepts but the
// pod validation refuses (an image with trailing whitespace is checked
// only for pods) gets upstream's FailedCreate event; the host keeps
// serving a healthy set elsewhere.
func TestE2EBadTemplate(t *testing.T) {
	testenv.Require(t, env)
	t.Parallel()
	healthy := env.Namespace(t, nil, "sts-healthy")
	readyPods(t, healthy, nil)
	createSet(t, userSet(healthy, 1))
	rolloutStatus(t, healthy)

	ns := env.Namespace(t, nil, "sts-bad")
	readyPods(t, ns, nil)
	createSet(t, userSet(ns, 1, func(s *appsv1.StatefulSet) { s.Spec.Template.Spec.Containers[0].Image = "nginx:1.27 " }))
	waitEvent(t, ns, "Warning FailedCreate: Create Pod web-0 in StatefulSet web failed error: ")
	t.Logf("events of the bad set:\n%s", setEvents(t, ns))
	if got := pods(t, ns); len(got) != 0 {
		t.Errorf("pods %s of the bad set", names(got))
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		s := getSet(t, ns)
		if s.Status.ObservedGeneration != s.Generation || s.Status.UpdateRevision == "" {
			return fmt.Errorf("bad set status %+v", s.Status)
		}
		return nil
	})

	mustKubectl(t, healthy, "scale", "statefulset/web", "--replicas=2")
	rolloutStatus(t, healthy)
	if got := pods(t, healthy); names(got) != "web-0,web-1" {
		t.Errorf("healthy set pods %s", names(got))
	}
}
