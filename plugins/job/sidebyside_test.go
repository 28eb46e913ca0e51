//go:build !wasip1

package job_test

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"wasmctl.dev/wasmctl/internal/testenv"
)

// TestSideBySideWithKubeControllerManager runs the same Jobs against
// kube-controller-manager's job controller and against the host, each on
// its own control plane, and compares what a user sees at each step: the
// pods (generateName, labels, annotations, finalizers, owner, hostname,
// env, phase) and the Job's status and conditions, without the UIDs and
// times the servers generate.
func TestSideBySideWithKubeControllerManager(t *testing.T) {
	testenv.Require(t, env)
	kcmEnv, err := testenv.Start(context.Background(), testenv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer kcmEnv.Stop()
	if _, err := kcmEnv.StartControllerManager(testenv.ControllerManagerOptions{
		Controllers: []string{"job"}, ExtraArgs: []string{"--concurrent-job-syncs=5"},
	}); err != nil {
		t.Fatal(err)
	}
	sides := map[string]kubernetes.Interface{"kcm": kcmEnv.Clientset(), "wasm": cs}
	ns := "job-side-by-side"
	for _, c := range sides {
		env.Namespace(t, c, ns)
	}
	indexedJob := func(j *batchv1.Job) { j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion) }
	type step struct {
		name string
		do   func(t *testing.T, c kubernetes.Interface)
		// until holds once the controller has acted on the step.
		until func(v view) bool
	}
	finishAll := func(t *testing.T, c kubernetes.Interface, name string, phase corev1.PodPhase, code int32, n int) {
		j := getJob(t, c, ns, name)
		done := 0
		for _, p := range podsOf(t, c, ns, j.UID) {
			if p.Status.Phase == corev1.PodPending && p.DeletionTimestamp == nil && done < n {
				finish(t, c, &p, phase, code)
				done++
			}
		}
	}
	steps := []step{
		{"create", func(t *testing.T, c kubernetes.Interface) {
			createJob(t, c, newTestJob(ns, "plain", 3, 2))
			createJob(t, c, newTestJob(ns, "indexed", 3, 2, indexedJob))
			createJob(t, c, newTestJob(ns, "fails", 2, 2, func(j *batchv1.Job) { j.Spec.BackoffLimit = ptr.To[int32](0) }))
			createJob(t, c, newTestJob(ns, "sleepy", 2, 2, func(j *batchv1.Job) { j.Spec.Suspend = ptr.To(true) }))
		}, func(v view) bool {
			return v.pods("plain") == 2 && v.pods("indexed") == 2 && v.pods("fails") == 2 && strings.Contains(v.Jobs["sleepy"], "Suspended=True")
		}},
		{"first pods finish", func(t *testing.T, c kubernetes.Interface) {
			finishAll(t, c, "plain", corev1.PodSucceeded, 0, 1)
			finishAll(t, c, "indexed", corev1.PodSucceeded, 0, 1)
			finishAll(t, c, "fails", corev1.PodFailed, 2, 1)
		}, func(v view) bool {
			return strings.Contains(v.Jobs["plain"], "succeeded=1") && strings.Contains(v.Jobs["indexed"], "succeeded=1") && strings.Contains(v.Jobs["fails"], "Failed=True")
		}},
		{"resume and finish", func(t *testing.T, c kubernetes.Interface) {
			finishAll(t, c, "plain", corev1.PodSucceeded, 0, 2)
			finishAll(t, c, "indexed", corev1.PodSucceeded, 0, 2)
			if _, err := c.BatchV1().Jobs(ns).Patch(context.Background(), "sleepy", "application/merge-patch+json", []byte(`{"spec":{"suspend":false}}`), metav1.PatchOptions{}); err != nil {
				t.Fatal(err)
			}
		}, func(v view) bool {
			return v.pods("sleepy") == 2 && strings.Contains(v.Jobs["sleepy"], "JobResumed")
		}},
		{"complete", func(t *testing.T, c kubernetes.Interface) {
			finishAll(t, c, "sleepy", corev1.PodSucceeded, 0, 2)
		}, func(v view) bool {
			return strings.Contains(v.Jobs["plain"], "Complete=True") && strings.Contains(v.Jobs["indexed"], "Complete=True") && strings.Contains(v.Jobs["sleepy"], "Complete=True")
		}},
	}
	views := map[string][]view{}
	for side, c := range sides {
		for _, s := range steps {
			s.do(t, c)
			views[side] = append(views[side], settle(t, c, ns, side+" "+s.name, s.until))
		}
	}
	for i, s := range steps {
		if !reflect.DeepEqual(views["kcm"][i], views["wasm"][i]) {
			t.Errorf("step %s differs:\nkcm:  %s\nwasm: %s", s.name, views["kcm"][i], views["wasm"][i])
			continue
		}
		t.Logf("step %s: the same on both sides:\n%s", s.name, views["wasm"][i])
	}
}

// view is what a user sees of the namespace's Jobs and their pods.
type view struct {
	Pods map[string][]string // Job -> its pods, one line each, sorted
	Jobs map[string]string   // Job -> status line
}

func (v view) pods(jobName string) int {
	n := 0
	for _, p := range v.Pods[jobName] {
		if !strings.Contains(p, "deleting") {
			n++
		}
	}
	return n
}

func (v view) String() string {
	var b strings.Builder
	names := make([]string, 0, len(v.Jobs))
	for n := range v.Jobs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "  job %s: %s\n", n, v.Jobs[n])
		for _, p := range v.Pods[n] {
			fmt.Fprintf(&b, "    pod %s\n", p)
		}
	}
	return b.String()
}

// settle waits until until holds and two observations a second apart agree
// (kube-controller-manager batches pod events for a second).
func settle(t *testing.T, c kubernetes.Interface, ns, what string, until func(view) bool) view {
	t.Helper()
	var last view
	deadline := time.Now().Add(60 * time.Second)
	for {
		v := observe(t, c, ns)
		if until(v) && reflect.DeepEqual(v, last) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: did not settle:\n%s", what, v)
		}
		last = v
		time.Sleep(time.Second)
	}
}

func observe(t *testing.T, c kubernetes.Interface, ns string) view {
	t.Helper()
	v := view{Pods: map[string][]string{}, Jobs: map[string]string{}}
	jobs, err := c.BatchV1().Jobs(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	byUID := map[string]string{}
	for _, j := range jobs.Items {
		byUID[string(j.UID)] = j.Name
		st := j.Status
		var conds []string
		for _, c := range st.Conditions {
			conds = append(conds, fmt.Sprintf("%s=%s/%s/%q", c.Type, c.Status, c.Reason, c.Message))
		}
		v.Jobs[j.Name] = fmt.Sprintf("active=%d succeeded=%d failed=%d ready=%v terminating=%v completedIndexes=%q failedIndexes=%v uncounted=%d/%d startTime=%v completionTime=%v conditions=%v",
			st.Active, st.Succeeded, st.Failed, ptr.Deref(st.Ready, -1), ptr.Deref(st.Terminating, -1), st.CompletedIndexes, ptr.Deref(st.FailedIndexes, "<nil>"),
			len(ptr.Deref(st.UncountedTerminatedPods, batchv1.UncountedTerminatedPods{}).Succeeded), len(ptr.Deref(st.UncountedTerminatedPods, batchv1.UncountedTerminatedPods{}).Failed),
			st.StartTime != nil, st.CompletionTime != nil, conds)
	}
	pods, err := c.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		ref := metav1.GetControllerOf(&p)
		if ref == nil {
			continue
		}
		name := byUID[string(ref.UID)]
		uid := string(ref.UID)
		labels := map[string]string{}
		for k, val := range p.Labels {
			labels[k] = strings.ReplaceAll(val, uid, "<uid>")
		}
		deleting := ""
		if p.DeletionTimestamp != nil {
			deleting = " deleting"
		}
		v.Pods[name] = append(v.Pods[name], fmt.Sprintf("%s labels=%v annotations=%v finalizers=%v owner=%s/%s/%s/%v/%v hostname=%q env=%v phase=%s%s",
			p.GenerateName, labels, p.Annotations, p.Finalizers, ref.APIVersion, ref.Kind, ref.Name, *ref.Controller, ptr.Deref(ref.BlockOwnerDeletion, false),
			p.Spec.Hostname, envOf(p), p.Status.Phase, deleting))
	}
	for _, ps := range v.Pods {
		sort.Strings(ps)
	}
	return v
}

func envOf(p corev1.Pod) []string {
	var out []string
	for _, e := range p.Spec.Containers[0].Env {
		s := e.Name + "=" + e.Value
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			s += e.ValueFrom.FieldRef.APIVersion + ":" + e.ValueFrom.FieldRef.FieldPath
		}
		out = append(out, s)
	}
	return out
}
