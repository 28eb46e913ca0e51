//go:build !wasip1

// A control plane runs on the host only (internal/testenv does not build
// for wasip1).

package job_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"wasmctl.dev/wasmctl/internal/hosttest"
	"wasmctl.dev/wasmctl/internal/testenv"
	"wasmctl.dev/wasmctl/internal/wasmbuild"
	"wasmctl.dev/wasmctl/plugins/job"
)

var (
	env        *testenv.Environment
	cs         *kubernetes.Clientset
	host       *hosttest.Host
	hostConfig string
)

func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, &env, func(context.Context) (func(), error) {
		cs = env.Clientset()
		wasm, err := wasmbuild.Build("", "./cmd")
		if err != nil {
			return nil, err
		}
		hostConfig = fmt.Sprintf("controllers:\n  - {name: job, plugin: %s, workers: 5}\n", wasm)
		if host, err = hosttest.Start(env.RESTConfig(), hostConfig); err != nil {
			return nil, err
		}
		return func() { host.Stop() }, nil
	}))
}

// newJob is a Job as a user writes it; the API server fills in the rest.
func newTestJob(ns, name string, completions, parallelism int32, edit ...func(*batchv1.Job)) *batchv1.Job {
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: batchv1.JobSpec{
			Completions: ptr.To(completions), Parallelism: ptr.To(parallelism),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"team": "a"}},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers:    []corev1.Container{{Name: "main", Image: "busybox"}},
				},
			},
		},
	}
	for _, e := range edit {
		e(j)
	}
	return j
}

func createJob(t *testing.T, c kubernetes.Interface, j *batchv1.Job) *batchv1.Job {
	t.Helper()
	j, err := c.BatchV1().Jobs(j.Namespace).Create(context.Background(), j, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// podsOf lists the pods controlled by the Job, sorted by name.
func podsOf(t *testing.T, c kubernetes.Interface, ns string, uid types.UID) []corev1.Pod {
	t.Helper()
	list, err := c.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if ref := metav1.GetControllerOf(&p); ref != nil && ref.UID == uid {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, k int) bool { return out[i].Name < out[k].Name })
	return out
}

// finish sets a pod's phase through the status subresource, as a kubelet
// would report it: the container terminated with exitCode.
func finish(t *testing.T, c kubernetes.Interface, p *corev1.Pod, phase corev1.PodPhase, exitCode int32) {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, func() error {
		cur, err := c.CoreV1().Pods(p.Namespace).Get(context.Background(), p.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		now := metav1.Now()
		cur.Status.Phase = phase
		cur.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "main", Image: "busybox", State: corev1.ContainerState{
			Terminated: &corev1.ContainerStateTerminated{ExitCode: exitCode, StartedAt: now, FinishedAt: now},
		}}}
		_, err = c.CoreV1().Pods(p.Namespace).UpdateStatus(context.Background(), cur, metav1.UpdateOptions{})
		return err
	})
}

func getJob(t *testing.T, c kubernetes.Interface, ns, name string) *batchv1.Job {
	t.Helper()
	j, err := c.BatchV1().Jobs(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func hasCondition(j *batchv1.Job, typ batchv1.JobConditionType, reason string) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == typ && c.Status == corev1.ConditionTrue && (reason == "" || c.Reason == reason) {
			return true
		}
	}
	return false
}

func events(t *testing.T, c kubernetes.Interface, ns, name string) []string {
	t.Helper()
	list, err := c.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range list.Items {
		if e.InvolvedObject.Kind == "Job" && e.InvolvedObject.Name == name {
			out = append(out, e.Type+" "+e.Reason+" "+e.Message)
		}
	}
	sort.Strings(out)
	return out
}

// runPods completes (or fails) the Job's pending pods as they appear until
// done says stop.
func runPods(t *testing.T, c kubernetes.Interface, j *batchv1.Job, phase func(p *corev1.Pod) (corev1.PodPhase, int32), done func(*batchv1.Job) bool) *batchv1.Job {
	t.Helper()
	var cur *batchv1.Job
	testenv.Eventually(t, 60*time.Second, func() error {
		cur = getJob(t, c, j.Namespace, j.Name)
		if done(cur) {
			return nil
		}
		for _, p := range podsOf(t, c, j.Namespace, j.UID) {
			if p.Status.Phase == corev1.PodPending && p.DeletionTimestamp == nil {
				ph, code := phase(&p)
				finish(t, c, &p, ph, code)
			}
		}
		return fmt.Errorf("status %+v", cur.Status)
	})
	return cur
}

func succeed(*corev1.Pod) (corev1.PodPhase, int32) { return corev1.PodSucceeded, 0 }

func TestNonIndexedJobRunsToCompletion(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t, nil, "job-complete")
	j := createJob(t, cs, newTestJob(ns, "pi", 3, 2))
	testenv.Eventually(t, 10*time.Second, func() error {
		if pods := podsOf(t, cs, ns, j.UID); len(pods) != 2 {
			return fmt.Errorf("%d pods, want parallelism 2", len(pods))
		}
		return nil
	})
	p := podsOf(t, cs, ns, j.UID)[0]
	if p.GenerateName != "pi-" || !slices.Contains(p.Finalizers, job.TrackingFinalizer) ||
		p.Labels["batch.kubernetes.io/job-name"] != "pi" || p.Labels["controller-uid"] != string(j.UID) || p.Labels["team"] != "a" {
		t.Errorf("pod %s: generateName %q finalizers %v labels %v", p.Name, p.GenerateName, p.Finalizers, p.Labels)
	}
	done := runPods(t, cs, j, succeed, func(j *batchv1.Job) bool { return hasCondition(j, batchv1.JobComplete, "CompletionsReached") })
	st := done.Status
	if st.Succeeded != 3 || st.Failed != 0 || st.Active != 0 || st.CompletionTime == nil || st.StartTime == nil ||
		len(st.UncountedTerminatedPods.Succeeded)+len(st.UncountedTerminatedPods.Failed) != 0 || ptr.Deref(st.Ready, -1) != 0 || ptr.Deref(st.Terminating, -1) != 0 {
		t.Errorf("status %+v", st)
	}
	if !hasCondition(done, batchv1.JobSuccessCriteriaMet, "CompletionsReached") {
		t.Errorf("conditions %+v", st.Conditions)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		for _, p := range podsOf(t, cs, ns, j.UID) {
			if slices.Contains(p.Finalizers, job.TrackingFinalizer) {
				return fmt.Errorf("pod %s still has the tracking finalizer", p.Name)
			}
		}
		evs := events(t, cs, ns, "pi")
		created := 0
		for _, e := range evs {
			if strings.HasPrefix(e, "Normal SuccessfulCreate Created pod: pi-") {
				created++
			}
		}
		if created != 3 || !slices.Contains(evs, "Normal Completed Job completed") {
			return fmt.Errorf("events %q", evs)
		}
		return nil
	})
}

func TestIndexedJob(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t, nil, "job-indexed")
	j := createJob(t, cs, newTestJob(ns, "idx", 3, 3, func(j *batchv1.Job) { j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion) }))
	var pods []corev1.Pod
	testenv.Eventually(t, 10*time.Second, func() error {
		if pods = podsOf(t, cs, ns, j.UID); len(pods) != 3 {
			return fmt.Errorf("%d pods", len(pods))
		}
		return nil
	})
	seen := map[string]bool{}
	for _, p := range pods {
		ix := p.Annotations[job.CompletionIndexAnnotation]
		seen[ix] = true
		if p.Labels[job.CompletionIndexAnnotation] != ix || p.GenerateName != "idx-"+ix+"-" || p.Spec.Hostname != "idx-"+ix {
			t.Errorf("pod %s: index %q labels %v generateName %q hostname %q", p.Name, ix, p.Labels, p.GenerateName, p.Spec.Hostname)
		}
		env := p.Spec.Containers[0].Env
		if len(env) != 1 || env[0].Name != "JOB_COMPLETION_INDEX" || env[0].ValueFrom.FieldRef.FieldPath != "metadata.labels['batch.kubernetes.io/job-completion-index']" {
			t.Errorf("pod %s env %+v", p.Name, env)
		}
	}
	if len(seen) != 3 {
		t.Errorf("indexes %v", seen)
	}
	done := runPods(t, cs, j, succeed, func(j *batchv1.Job) bool { return hasCondition(j, batchv1.JobComplete, "") })
	if done.Status.CompletedIndexes != "0-2" || done.Status.Succeeded != 3 {
		t.Errorf("status %+v", done.Status)
	}
}

func TestBackoffLimitFailsTheJob(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t, nil, "job-fail")
	j := createJob(t, cs, newTestJob(ns, "bad", 2, 2, func(j *batchv1.Job) { j.Spec.BackoffLimit = ptr.To[int32](0) }))
	var pods []corev1.Pod
	testenv.Eventually(t, 10*time.Second, func() error {
		if pods = podsOf(t, cs, ns, j.UID); len(pods) != 2 {
			return fmt.Errorf("%d pods", len(pods))
		}
		return nil
	})
	finish(t, cs, &pods[0], corev1.PodFailed, 3)
	testenv.Eventually(t, 20*time.Second, func() error {
		cur := getJob(t, cs, ns, "bad")
		if !hasCondition(cur, batchv1.JobFailed, "BackoffLimitExceeded") || !hasCondition(cur, batchv1.JobFailureTarget, "BackoffLimitExceeded") {
			return fmt.Errorf("status %+v", cur.Status)
		}
		// The running pod was deleted (no kubelet: it is gone once its
		// finalizer is) and counted as failed, as upstream counts it.
		if cur.Status.Failed != 2 || cur.Status.Active != 0 || len(podsOf(t, cs, ns, j.UID)) != 1 {
			return fmt.Errorf("status %+v, %d pods", cur.Status, len(podsOf(t, cs, ns, j.UID)))
		}
		if evs := events(t, cs, ns, "bad"); !slices.Contains(evs, "Warning BackoffLimitExceeded Job has reached the specified backoff limit") {
			return fmt.Errorf("events %q", evs)
		}
		return nil
	})
}

func TestSuspendAndResume(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t, nil, "job-suspend")
	j := createJob(t, cs, newTestJob(ns, "nap", 2, 2))
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := len(podsOf(t, cs, ns, j.UID)); n != 2 {
			return fmt.Errorf("%d pods", n)
		}
		return nil
	})
	patch := func(suspend bool) {
		body := fmt.Appendf(nil, `{"spec":{"suspend":%v}}`, suspend)
		if _, err := cs.BatchV1().Jobs(ns).Patch(context.Background(), "nap", types.MergePatchType, body, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	patch(true)
	testenv.Eventually(t, 10*time.Second, func() error {
		cur := getJob(t, cs, ns, "nap")
		if n := len(podsOf(t, cs, ns, j.UID)); n != 0 || !hasCondition(cur, batchv1.JobSuspended, "JobSuspended") || cur.Status.StartTime != nil || cur.Status.Failed != 0 {
			return fmt.Errorf("%d pods, status %+v", n, cur.Status)
		}
		return nil
	})
	patch(false)
	testenv.Eventually(t, 10*time.Second, func() error {
		cur := getJob(t, cs, ns, "nap")
		if n := len(podsOf(t, cs, ns, j.UID)); n != 2 || cur.Status.StartTime == nil {
			return fmt.Errorf("%d pods, status %+v", n, cur.Status)
		}
		for _, c := range cur.Status.Conditions {
			if c.Type == batchv1.JobSuspended && c.Status == corev1.ConditionFalse && c.Reason == "JobResumed" {
				return nil
			}
		}
		return fmt.Errorf("conditions %+v", cur.Status.Conditions)
	})
	if evs := events(t, cs, ns, "nap"); !slices.Contains(evs, "Normal Suspended Job suspended") || !slices.Contains(evs, "Normal Resumed Job resumed") {
		t.Errorf("events %q", evs)
	}
}

// TestDeletedJobsPodsLoseTheFinalizer: nothing reconciles a deleted Job, so
// the host sweeps the tracking finalizer off its pods (upstream's orphan
// cleanup); otherwise they would stay forever once deleted.
func TestDeletedJobsPodsLoseTheFinalizer(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t, nil, "job-deleted")
	j := createJob(t, cs, newTestJob(ns, "gone", 2, 2))
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := len(podsOf(t, cs, ns, j.UID)); n != 2 {
			return fmt.Errorf("%d pods", n)
		}
		return nil
	})
	// Background: the Job goes at once (no garbage collector runs here),
	// its pods stay with a dangling owner reference.
	if err := cs.BatchV1().Jobs(ns).Delete(context.Background(), "gone", metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		for _, p := range podsOf(t, cs, ns, j.UID) {
			if slices.Contains(p.Finalizers, job.TrackingFinalizer) {
				return fmt.Errorf("pod %s keeps the finalizer", p.Name)
			}
		}
		return nil
	})
}

// TestHostStoppedBetweenTheSteps: the tracking protocol survives a host
// that stops after recording finished pods and before removing their
// finalizers. An admission policy refuses the finalizer removals, so the
// host is stuck exactly there when it is stopped; a new host then finishes
// the job without counting any pod twice or losing one.
func TestHostStoppedBetweenTheSteps(t *testing.T) {
	testenv.Require(t, env)
	ctx := context.Background()
	ns := env.Namespace(t, nil, "job-crash")
	policy := &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "keep-job-tracking"},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionv1.Fail),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionv1.RuleWithOperations{
					Operations: []admissionv1.OperationType{admissionv1.Update},
					Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
				},
			}}},
			Validations: []admissionv1.Validation{{
				Expression: `!(oldObject.metadata.?finalizers.orValue([]).exists(f, f == "batch.kubernetes.io/job-tracking")) || object.metadata.?finalizers.orValue([]).exists(f, f == "batch.kubernetes.io/job-tracking")`,
				Message:    "the tracking finalizer stays (test)",
			}},
		},
	}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "keep-job-tracking"},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        policy.Name,
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
			MatchResources: &admissionv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns},
			}},
		},
	}
	if _, err := cs.AdmissionregistrationV1().ValidatingAdmissionPolicies().Create(ctx, policy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	removePolicy := func() {
		_ = cs.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Delete(ctx, binding.Name, metav1.DeleteOptions{})
		_ = cs.AdmissionregistrationV1().ValidatingAdmissionPolicies().Delete(ctx, policy.Name, metav1.DeleteOptions{})
	}
	defer removePolicy()

	j := createJob(t, cs, newTestJob(ns, "crash", 2, 2))
	var pods []corev1.Pod
	testenv.Eventually(t, 10*time.Second, func() error {
		if pods = podsOf(t, cs, ns, j.UID); len(pods) != 2 {
			return fmt.Errorf("%d pods", len(pods))
		}
		return nil
	})
	// The policy is in force once it refuses a finalizer removal.
	testenv.Eventually(t, 20*time.Second, func() error {
		_, err := cs.CoreV1().Pods(ns).Patch(ctx, pods[0].Name, types.StrategicMergePatchType,
			[]byte(`{"metadata":{"$deleteFromPrimitiveList/finalizers":["batch.kubernetes.io/job-tracking"]}}`), metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}})
		if err == nil {
			return fmt.Errorf("the policy does not refuse yet")
		}
		return nil
	})
	for i := range pods {
		finish(t, cs, &pods[i], corev1.PodSucceeded, 0)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		st := getJob(t, cs, ns, "crash").Status
		if len(st.UncountedTerminatedPods.Succeeded) != 2 || st.Succeeded != 0 {
			return fmt.Errorf("status %+v", st)
		}
		return nil
	})
	host.Stop()
	removePolicy()
	var err error
	if host, err = hosttest.Start(env.RESTConfig(), hostConfig); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		cur := getJob(t, cs, ns, "crash")
		st := cur.Status
		if !hasCondition(cur, batchv1.JobComplete, "") || st.Succeeded != 2 || len(st.UncountedTerminatedPods.Succeeded) != 0 {
			return fmt.Errorf("status %+v", st)
		}
		for _, p := range podsOf(t, cs, ns, j.UID) {
			if slices.Contains(p.Finalizers, job.TrackingFinalizer) {
				return fmt.Errorf("pod %s keeps the finalizer", p.Name)
			}
		}
		return nil
	})
}
