//go:build !wasip1

// A control plane runs on the host only (internal/testenv does not build
// for wasip1).

package replicaset_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"wasmctl.dev/wasmctl/internal/hosttest"
	"wasmctl.dev/wasmctl/internal/testenv"
)

// faultEnv is a control plane of the test's own: these tests restart and
// kill things, and another host must not share it.
func faultEnv(t *testing.T, extraArgs ...string) *testenv.Environment {
	t.Helper()
	testenv.Require(t, env)
	e, err := testenv.Start(context.Background(), testenv.Options{ExtraAPIServerArgs: extraArgs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Stop)
	return e
}

func createReplicaSets(t *testing.T, c kubernetes.Interface, ns string, n int, replicas int32) {
	t.Helper()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			name := fmt.Sprintf("rs-%02d", i)
			if _, err := c.AppsV1().ReplicaSets(ns).Create(context.Background(), newRS(ns, name, replicas, map[string]string{"rs": name}), metav1.CreateOptions{}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

func scaleAll(t *testing.T, c kubernetes.Interface, ns string, n int, replicas int32) {
	t.Helper()
	for i := range n {
		patch := fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, replicas)
		if _, err := c.AppsV1().ReplicaSets(ns).Patch(context.Background(), fmt.Sprintf("rs-%02d", i), types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// exactly waits until every ReplicaSet has exactly want active pods and says
// so in a current status, and no pod exists beyond them: no duplicates.
func exactly(t *testing.T, c kubernetes.Interface, ns string, n, want int, timeout time.Duration) {
	t.Helper()
	testenv.Eventually(t, timeout, func() error {
		rss, err := c.AppsV1().ReplicaSets(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return err
		}
		pods, err := c.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return err
		}
		perOwner := map[types.UID]int{}
		for _, p := range pods.Items {
			if ref := metav1.GetControllerOf(&p); ref != nil && p.DeletionTimestamp == nil {
				perOwner[ref.UID]++
			}
		}
		for _, rs := range rss.Items {
			if perOwner[rs.UID] != want || rs.Status.Replicas != int32(want) || rs.Status.ObservedGeneration != rs.Generation {
				return fmt.Errorf("%s: %d pods, status.replicas %d, generation %d/%d; want %d", rs.Name, perOwner[rs.UID], rs.Status.Replicas, rs.Status.ObservedGeneration, rs.Generation, want)
			}
		}
		if len(pods.Items) != n*want {
			return fmt.Errorf("%d pods in the namespace, want %d", len(pods.Items), n*want)
		}
		return nil
	})
	time.Sleep(2 * time.Second) // and it stays that way
	pods, _ := c.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if len(pods.Items) != n*want {
		t.Fatalf("%d pods after settling, want %d", len(pods.Items), n*want)
	}
}

// TestAPIServerRestartMidRun restarts kube-apiserver (SIGKILL) while 20
// ReplicaSets converge, with etcd compacting every few seconds so the
// informers' watches expire: they relist, and the run converges with no
// duplicate pods.
func TestAPIServerRestartMidRun(t *testing.T) {
	e := faultEnv(t, "--etcd-compaction-interval=2s")
	cfg, err := hostConfig()
	if err != nil {
		t.Fatal(err)
	}
	h, err := hosttest.Start(e.RESTConfig(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Stop()
	c := e.Clientset()
	ns := e.Namespace(t, c, "restart")
	createReplicaSets(t, c, ns, 20, 10)
	time.Sleep(500 * time.Millisecond) // mid-convergence
	start := time.Now()
	if err := e.RestartAPIServer(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	t.Logf("kube-apiserver back after %s", time.Since(start).Round(time.Millisecond))
	time.Sleep(5 * time.Second) // a compaction or two after the restart
	scaleAll(t, c, ns, 20, 7)
	exactly(t, c, ns, 20, 7, 60*time.Second)
}

// TestHostKilledWhileScaling SIGKILLs the host process while it scales 50
// ReplicaSets to 20; a new host converges to exactly the wanted counts.
func TestHostKilledWhileScaling(t *testing.T) {
	e := faultEnv(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "wasmctl-host")
	build := exec.Command("go", "build", "-o", bin, "wasmctl.dev/wasmctl/cmd/wasmctl-host")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build host: %v\n%s", err, out)
	}
	cfg, err := hostConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg+"compilationCacheDir: "+filepath.Join(dir, "cache")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	start := func(n int) *testenv.Process {
		p, err := e.StartProcess(fmt.Sprintf("host-%d", n), bin, []string{"run", "--config", cfgPath, "--kubeconfig", e.KubeconfigPath,
			"--metrics-bind-address", "0", "--health-probe-bind-address", "0"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	c := e.Clientset()
	ns := e.Namespace(t, c, "kill")
	first := start(1)
	createReplicaSets(t, c, ns, 50, 1)
	exactly(t, c, ns, 50, 1, 60*time.Second)
	scaleAll(t, c, ns, 50, 20)
	time.Sleep(2 * time.Second) // mid-scale
	pods, _ := c.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	first.Kill()
	t.Logf("host SIGKILLed with %d of 1000 pods created", len(pods.Items))
	if len(pods.Items) >= 1000 {
		t.Log("the host finished before the kill; the restart still must not add pods")
	}
	start(2)
	exactly(t, c, ns, 50, 20, 120*time.Second)
}
