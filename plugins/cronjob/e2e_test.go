//go:build !wasip1

// A control plane runs on the host only (internal/testenv does not build
// for wasip1).

package cronjob_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"wasmctl.dev/wasmctl/internal/hosttest"
	"wasmctl.dev/wasmctl/internal/testenv"
	"wasmctl.dev/wasmctl/internal/wasmbuild"
	"wasmctl.dev/wasmctl/plugins/cronjob"
)

var (
	env *testenv.Environment
	cs  *kubernetes.Clientset
)

func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, &env, func(context.Context) (func(), error) {
		cs = env.Clientset()
		wasm, err := wasmbuild.Build("", "./cmd")
		if err != nil {
			return nil, err
		}
		// The Job plugin runs the CronJob's Jobs, as kube-controller-manager's
		// job controller would.
		jobWasm, err := wasmbuild.Build("", "wasmctl.dev/wasmctl/plugins/job/cmd")
		if err != nil {
			return nil, err
		}
		h, err := hosttest.Start(env.RESTConfig(), fmt.Sprintf("controllers:\n  - {name: cronjob, plugin: %s, workers: 5}\n  - {name: job, plugin: %s, workers: 5}\n", wasm, jobWasm))
		if err != nil {
			return nil, err
		}
		return h.Stop, nil
	}))
}

func newCronJob(ns, name, schedule string, policy batchv1.ConcurrencyPolicy) *batchv1.CronJob {
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: batchv1.CronJobSpec{
			Schedule:          schedule,
			ConcurrencyPolicy: policy,
			JobTemplate: batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"cron": name}},
				Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers:    []corev1.Container{{Name: "c", Image: "busybox"}},
				}}},
			},
		},
	}
}

func jobsOf(t *testing.T, ns string) []batchv1.Job {
	t.Helper()
	list, err := cs.BatchV1().Jobs(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []batchv1.Job
	for _, j := range list.Items {
		if j.DeletionTimestamp == nil {
			out = append(out, j)
		}
	}
	sort.Slice(out, func(i, k int) bool { return out[i].Name < out[k].Name })
	return out
}

// setStatus writes a CronJob's status as a restarted or lagging controller
// would find it.
func setStatus(t *testing.T, ns, name string, mutate func(*batchv1.CronJobStatus)) {
	t.Helper()
	testenv.Eventually(t, 5*time.Second, func() error {
		cj, err := cs.BatchV1().CronJobs(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		mutate(&cj.Status)
		_, err = cs.BatchV1().CronJobs(ns).UpdateStatus(context.Background(), cj, metav1.UpdateOptions{})
		return err // a conflict with the controller's own write: retry
	})
}

func minuteFloor(t time.Time) time.Time { return t.UTC().Truncate(time.Minute) }

func TestMissedScheduleRunsAtOnce(t *testing.T) {
	testenv.Require(t, env)
	ns := "cj-missed"
	env.Namespace(t, nil, ns)
	if _, err := cs.BatchV1().CronJobs(ns).Create(context.Background(), newCronJob(ns, "late", "*/1 * * * *", batchv1.AllowConcurrent), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	past := metav1.NewTime(minuteFloor(time.Now()).Add(-5 * time.Minute))
	setStatus(t, ns, "late", func(s *batchv1.CronJobStatus) { s.LastScheduleTime = &past })
	var want time.Time
	testenv.Eventually(t, 5*time.Second, func() error {
		want = minuteFloor(time.Now())
		for _, j := range jobsOf(t, ns) {
			if j.Name == fmt.Sprintf("late-%d", want.Unix()/60) {
				if got := j.Annotations[cronjob.ScheduledTimestampAnnotation]; got != want.Format(time.RFC3339) {
					return fmt.Errorf("annotation %q, want %q", got, want.Format(time.RFC3339))
				}
				if ref := metav1.GetControllerOf(&j); ref == nil || ref.Kind != "CronJob" || ref.Name != "late" {
					return fmt.Errorf("owner %+v", j.OwnerReferences)
				}
				return nil
			}
		}
		return fmt.Errorf("no job for %s among %d", want, len(jobsOf(t, ns)))
	})
	if n := len(jobsOf(t, ns)); n != 1 {
		t.Fatalf("%d jobs: only the most recent missed time may run", n)
	}
	// The Job plugin gives the CronJob's Job its pod.
	testenv.Eventually(t, 10*time.Second, func() error {
		name := fmt.Sprintf("late-%d", want.Unix()/60)
		pods, err := cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "batch.kubernetes.io/job-name=" + name})
		if err != nil {
			return err
		}
		if len(pods.Items) != 1 {
			return fmt.Errorf("%d pods for job %s", len(pods.Items), name)
		}
		return nil
	})
	testenv.Eventually(t, 5*time.Second, func() error {
		cj, _ := cs.BatchV1().CronJobs(ns).Get(context.Background(), "late", metav1.GetOptions{})
		if len(cj.Status.Active) != 1 || cj.Status.LastScheduleTime == nil || !cj.Status.LastScheduleTime.Time.Equal(want) {
			return fmt.Errorf("status %+v", cj.Status)
		}
		return nil
	})
	// Upstream's event, in the CronJob controller's words.
	testenv.Eventually(t, 5*time.Second, func() error {
		evs, err := cs.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return err
		}
		msg := fmt.Sprintf("Created job late-%d", want.Unix()/60)
		for _, e := range evs.Items {
			if e.Reason == "SuccessfulCreate" && e.Message == msg && e.InvolvedObject.Name == "late" {
				return nil
			}
		}
		return fmt.Errorf("no SuccessfulCreate %q among %d events", msg, len(evs.Items))
	})
}

// activeJob creates a Job controlled by the CronJob and records it in
// status.active, as if an earlier run were still going.
func activeJob(t *testing.T, ns string, cj *batchv1.CronJob) *batchv1.Job {
	t.Helper()
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: cj.Name + "-old", Namespace: ns, OwnerReferences: []metav1.OwnerReference{
			*metav1.NewControllerRef(cj, batchv1.SchemeGroupVersion.WithKind("CronJob")),
		}},
		Spec: cj.Spec.JobTemplate.Spec,
	}
	j, err := cs.BatchV1().Jobs(ns).Create(context.Background(), j, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	past := metav1.NewTime(minuteFloor(time.Now()).Add(-3 * time.Minute))
	setStatus(t, ns, cj.Name, func(s *batchv1.CronJobStatus) {
		s.LastScheduleTime = &past
		s.Active = []corev1.ObjectReference{{Kind: "Job", APIVersion: "batch/v1", Namespace: ns, Name: j.Name, UID: j.UID}}
	})
	return j
}

func TestForbidWithActiveJobCreatesNothing(t *testing.T) {
	testenv.Require(t, env)
	ns := "cj-forbid"
	env.Namespace(t, nil, ns)
	cj, err := cs.BatchV1().CronJobs(ns).Create(context.Background(), newCronJob(ns, "once", "*/1 * * * *", batchv1.ForbidConcurrent), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	activeJob(t, ns, cj)
	testenv.Eventually(t, 10*time.Second, func() error {
		evs, _ := cs.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
		for _, e := range evs.Items {
			if e.Reason == "JobAlreadyActive" {
				return nil
			}
		}
		return fmt.Errorf("no JobAlreadyActive event")
	})
	time.Sleep(time.Second)
	if jobs := jobsOf(t, ns); len(jobs) != 1 {
		t.Fatalf("%d jobs, want only the active one", len(jobs))
	}
}

func TestReplaceDeletesActiveJob(t *testing.T) {
	testenv.Require(t, env)
	ns := "cj-replace"
	env.Namespace(t, nil, ns)
	cj, err := cs.BatchV1().CronJobs(ns).Create(context.Background(), newCronJob(ns, "swap", "*/1 * * * *", batchv1.ReplaceConcurrent), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	old := activeJob(t, ns, cj)
	testenv.Eventually(t, 10*time.Second, func() error {
		_, err := cs.BatchV1().Jobs(ns).Get(context.Background(), old.Name, metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			// Background propagation with no garbage collector running:
			// the Job is gone at once.
			return fmt.Errorf("old job still there: %v", err)
		}
		jobs := jobsOf(t, ns)
		if len(jobs) != 1 || !strings.HasPrefix(jobs[0].Name, "swap-") {
			return fmt.Errorf("jobs %d", len(jobs))
		}
		c, _ := cs.BatchV1().CronJobs(ns).Get(context.Background(), "swap", metav1.GetOptions{})
		if len(c.Status.Active) != 1 || c.Status.Active[0].Name != jobs[0].Name {
			return fmt.Errorf("active %+v", c.Status.Active)
		}
		return nil
	})
}

func TestHistoryLimitsDeleteOldFinishedJobs(t *testing.T) {
	testenv.Require(t, env)
	ctx := context.Background()
	ns := "cj-history"
	env.Namespace(t, nil, ns)
	c := newCronJob(ns, "hist", "0 0 1 1 *", batchv1.AllowConcurrent)
	c.Spec.SuccessfulJobsHistoryLimit = ptr.To[int32](2)
	c.Spec.FailedJobsHistoryLimit = ptr.To[int32](1)
	c.Spec.Suspend = ptr.To(true) // cleanup runs even when suspended
	cj, err := cs.BatchV1().CronJobs(ns).Create(ctx, c, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Hour).Truncate(time.Second)
	finish := func(name string, age time.Duration, typ batchv1.JobConditionType) {
		j := &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, OwnerReferences: []metav1.OwnerReference{
				*metav1.NewControllerRef(cj, batchv1.SchemeGroupVersion.WithKind("CronJob")),
			}},
			Spec: c.Spec.JobTemplate.Spec,
		}
		// The test writes these Jobs' status itself: another manager keeps
		// the Job plugin (which config.yaml runs too) off them, as upstream's
		// Job controller skips them.
		j.Spec.ManagedBy = ptr.To("wasmctl.dev/test")
		j, err := cs.BatchV1().Jobs(ns).Create(ctx, j, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		st := metav1.NewTime(start.Add(-age))
		now := metav1.NewTime(start.Add(-age).Add(time.Minute))
		j.Status.StartTime = &st
		if typ == batchv1.JobComplete {
			j.Status.CompletionTime = &now
			j.Status.Succeeded = 1
			j.Status.Conditions = []batchv1.JobCondition{
				{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now},
				{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now},
			}
		} else {
			j.Status.Failed = 1
			j.Status.Conditions = []batchv1.JobCondition{
				{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, LastTransitionTime: now},
				{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, LastTransitionTime: now},
			}
		}
		if _, err := cs.BatchV1().Jobs(ns).UpdateStatus(ctx, j, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("finish %s: %v", name, err)
		}
	}
	finish("ok-1", 4*time.Hour, batchv1.JobComplete)
	finish("ok-2", 3*time.Hour, batchv1.JobComplete)
	finish("ok-3", 2*time.Hour, batchv1.JobComplete)
	finish("ok-4", 1*time.Hour, batchv1.JobComplete)
	finish("bad-1", 2*time.Hour, batchv1.JobFailed)
	finish("bad-2", 1*time.Hour, batchv1.JobFailed)
	// Touch the CronJob so the host looks at it with every job in its cache.
	if _, err := cs.BatchV1().CronJobs(ns).Patch(ctx, "hist", "application/merge-patch+json", []byte(`{"metadata":{"annotations":{"poke":"1"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		var got []string
		for _, j := range jobsOf(t, ns) {
			got = append(got, j.Name)
		}
		if fmt.Sprint(got) != "[bad-2 ok-3 ok-4]" {
			return fmt.Errorf("jobs %v", got)
		}
		return nil
	})
	testenv.Eventually(t, 5*time.Second, func() error {
		c, _ := cs.BatchV1().CronJobs(ns).Get(ctx, "hist", metav1.GetOptions{})
		if c.Status.LastSuccessfulTime == nil || !c.Status.LastSuccessfulTime.Time.Equal(start.Add(-time.Hour).Add(time.Minute)) {
			return fmt.Errorf("lastSuccessfulTime %v", c.Status.LastSuccessfulTime)
		}
		return nil
	})
}

// TestEveryMinuteFiresOnTime waits for the next minute boundary: the Job
// must exist within 2 s of it.
func TestEveryMinuteFiresOnTime(t *testing.T) {
	testenv.Require(t, env)
	ns := "cj-ontime"
	env.Namespace(t, nil, ns)
	if _, err := cs.BatchV1().CronJobs(ns).Create(context.Background(), newCronJob(ns, "tick", "*/1 * * * *", batchv1.AllowConcurrent), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	boundary := minuteFloor(time.Now()).Add(time.Minute)
	name := fmt.Sprintf("tick-%d", boundary.Unix()/60)
	time.Sleep(time.Until(boundary))
	var lag time.Duration
	testenv.Eventually(t, 2*time.Second, func() error {
		j, err := cs.BatchV1().Jobs(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		lag = j.CreationTimestamp.Sub(boundary)
		return nil
	})
	t.Logf("job %s created %s after the boundary (creationTimestamp is whole seconds)", name, lag)
}
