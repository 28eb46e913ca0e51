package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

// workloadControllers are the kube-controller-manager controllers the
// host replaces.
var workloadControllers = []string{"replicaset", "deployment", "statefulset", "daemonset", "job", "cronjob"}

func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, &env, func(ctx context.Context) (func(), error) {
		cs = env.Clientset()
		list := []string{"*"}
		for _, c := range workloadControllers {
			list = append(list, "-"+c)
		}
		if _, err := env.StartControllerManager(testenv.ControllerManagerOptions{Controllers: list}); err != nil {
			return nil, err
		}
		if _, err := env.StartScheduler(); err != nil {
			return nil, err
		}
		if _, err := env.StartKwok(); err != nil {
			return nil, err
		}
		// The node lifecycle controller lifts the not-ready taint.
		if err := testenv.CreateKwokNodes(ctx, cs, false, "node-1", "node-2", "node-3"); err != nil {
			return nil, err
		}
		config, err := repoConfig()
		if err != nil {
			return nil, err
		}
		if host, err = hosttest.Start(env.RESTConfig(), config); err != nil {
			return nil, err
		}
		return func() { host.Stop() }, nil
	}))
}

// repoConfig is the repository's config.yaml with its plugin paths pointing
// at freshly built plugins, compiled into the user's cache (as the host does
// by default) so a second run starts warm.
func repoConfig() (string, error) {
	cfg, err := wasmbuild.RepoConfig("../config.yaml")
	if err != nil {
		return "", err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return "compilationCacheDir: " + filepath.Join(cache, "wasmctl", "wazero") + "\n" + cfg, nil
}

func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig", env.KubeconfigPath}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		state, _ := exec.Command("kubectl", "--kubeconfig", env.KubeconfigPath, "get", "all,controllerrevisions", "-A", "-o", "wide").CombinedOutput()
		t.Fatalf("kubectl %s: %v\n%s\n%s", strings.Join(args, " "), err, out.String(), state)
	}
	return out.String()
}

// TestExamples: examples/ — what `make run` applies — rolls out on kwok's
// nodes: the Deployment available, the StatefulSet's pods one after the
// other, the DaemonSet on every node; kubectl sees each rollout finish.
func TestExamples(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t, nil, "examples")
	for _, f := range []string{"deployment.yaml", "statefulset.yaml", "daemonset.yaml"} {
		kubectl(t, "-n", ns, "apply", "-f", "../examples/"+f)
	}
	for _, w := range []string{"deployment/web", "statefulset/db", "daemonset/node-agent"} {
		kubectl(t, "-n", ns, "rollout", "status", w, "--timeout=90s")
	}
	pods, err := cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=node-agent"})
	if err != nil {
		t.Fatal(err)
	}
	on := map[string]bool{}
	for _, p := range pods.Items {
		on[p.Spec.NodeName] = true
	}
	if len(on) != 3 || !on["node-1"] || !on["node-2"] || !on["node-3"] {
		t.Errorf("node-agent pods on %v, want one on each of node-1..3", on)
	}

	// A rollout and its undo, as a user types them.
	kubectl(t, "-n", ns, "set", "image", "deployment/web", "web=nginx:1.28")
	kubectl(t, "-n", ns, "rollout", "status", "deployment/web", "--timeout=90s")
	kubectl(t, "-n", ns, "rollout", "undo", "deployment/web")
	kubectl(t, "-n", ns, "rollout", "status", "deployment/web", "--timeout=90s")
	d, err := cs.AppsV1().Deployments(ns).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if img := d.Spec.Template.Spec.Containers[0].Image; img != "nginx:1.27" || d.Status.AvailableReplicas != 3 || d.Status.UpdatedReplicas != 3 {
		t.Errorf("after undo: image %s, status %+v", img, d.Status)
	}
}

// TestJobCompletesOnKwok: a Job's pods are bound, run and exit 0 (kwok), and
// the Job plugin sees it through to Complete; a Job whose pods exit 1 fails
// with BackoffLimitExceeded.
func TestJobCompletesOnKwok(t *testing.T) {
	testenv.Require(t, env)
	t.Parallel()
	ctx := context.Background()
	ns := env.Namespace(t, nil, "jobs")
	job := func(name string, annotations map[string]string) {
		j := &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: batchv1.JobSpec{
				Completions: ptr.To[int32](3), Parallelism: ptr.To[int32](2), BackoffLimit: ptr.To[int32](1),
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Annotations: annotations},
					Spec: corev1.PodSpec{
						RestartPolicy: corev1.RestartPolicyNever,
						Containers:    []corev1.Container{{Name: "work", Image: "busybox:1.37", Command: []string{"true"}}},
					},
				},
			},
		}
		if _, err := cs.BatchV1().Jobs(ns).Create(ctx, j, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	job("works", nil)
	job("fails", map[string]string{testenv.KwokExitCodeAnnotation: "1"})
	kubectl(t, "-n", ns, "wait", "job/works", "--for=condition=Complete", "--timeout=90s")
	kubectl(t, "-n", ns, "wait", "job/fails", "--for=condition=Failed", "--timeout=90s")
	j, err := cs.BatchV1().Jobs(ns).Get(ctx, "works", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if j.Status.Succeeded != 3 || j.Status.Failed != 0 || j.Status.CompletionTime == nil {
		t.Errorf("job works: status %+v", j.Status)
	}
	f, err := cs.BatchV1().Jobs(ns).Get(ctx, "fails", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	reason := ""
	for _, c := range f.Status.Conditions {
		if c.Type == batchv1.JobFailed {
			reason = c.Reason
		}
	}
	if reason != "BackoffLimitExceeded" || f.Status.Failed != 2 {
		t.Errorf("job fails: reason %q, status %+v", reason, f.Status)
	}
}

// TestNodesAndCascade: a new node gets the DaemonSet's pod, a NoExecute
// taint takes it away, and deleting a Deployment in the foreground lets the
// garbage collector take its ReplicaSet and pods first.
func TestNodesAndCascade(t *testing.T) {
	testenv.Require(t, env)
	ctx := context.Background()
	ns := env.Namespace(t, nil, "nodes")
	kubectl(t, "-n", ns, "apply", "-f", "../examples/daemonset.yaml", "-f", "../examples/deployment.yaml")
	kubectl(t, "-n", ns, "rollout", "status", "daemonset/node-agent", "--timeout=90s")
	kubectl(t, "-n", ns, "rollout", "status", "deployment/web", "--timeout=90s")

	if err := testenv.CreateKwokNodes(ctx, cs, false, "node-4"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Nodes().Delete(context.Background(), "node-4", metav1.DeleteOptions{}) })
	agentOn := func(node string) (bool, error) {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=node-agent"})
		if err != nil {
			return false, err
		}
		for _, p := range pods.Items {
			if p.Spec.NodeName == node && p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
				return true, nil
			}
		}
		return false, nil
	}
	testenv.Eventually(t, 90*time.Second, func() error {
		if ok, err := agentOn("node-4"); err != nil || !ok {
			return fmt.Errorf("no running node-agent pod on node-4 (%v)", err)
		}
		return nil
	})
	kubectl(t, "-n", ns, "rollout", "status", "daemonset/node-agent", "--timeout=90s")

	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := cs.CoreV1().Nodes().Get(ctx, "node-4", metav1.GetOptions{})
		if err != nil {
			return err
		}
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: "maintenance", Effect: corev1.TaintEffectNoExecute})
		_, err = cs.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 60*time.Second, func() error {
		if ok, err := agentOn("node-4"); err != nil || ok {
			return fmt.Errorf("node-agent still on the tainted node-4 (%v)", err)
		}
		ds, err := cs.AppsV1().DaemonSets(ns).Get(ctx, "node-agent", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if ds.Status.DesiredNumberScheduled != 3 || ds.Status.NumberReady != 3 {
			return fmt.Errorf("daemonset status %+v", ds.Status)
		}
		return nil
	})

	if err := cs.AppsV1().Deployments(ns).Delete(ctx, "web", metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationForeground)}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 60*time.Second, func() error {
		if _, err := cs.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{}); err == nil {
			return fmt.Errorf("deployment web still there")
		}
		rs, err := cs.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return err
		}
		if len(rs.Items) != 0 || len(pods.Items) != 0 {
			return fmt.Errorf("%d ReplicaSets and %d pods of web left", len(rs.Items), len(pods.Items))
		}
		return nil
	})
}
