package cli_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"wasmctl.dev/wasmctl/internal/testenv"
)

// TestLeaderElectionFailover runs two hosts; only the Lease holder
// reconciles. SIGKILL the leader: the standby takes the Lease over and
// converges a ReplicaSet created after the kill.
func TestLeaderElectionFailover(t *testing.T) {
	testenv.Require(t, env)
	ctx := context.Background()
	cs := env.Clientset()
	ns := env.Namespace(t, nil, "leader")
	cfg := repoConfig(t)
	hosts := map[int]*testenv.Process{}
	for i := range 2 {
		p, err := env.StartProcess(fmt.Sprintf("host-leader-%d", i), buildHost(t), []string{"run", "--config", cfg,
			"--kubeconfig", env.KubeconfigPath, "--leader-elect", "--leader-election-namespace", ns,
			"--leader-elect-lease-duration=4s", "--leader-elect-renew-deadline=3s", "--leader-elect-retry-period=500ms",
			"--metrics-bind-address", "0", "--health-probe-bind-address", "0"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		hosts[p.Pid()] = p
		defer p.Stop(10 * time.Second)
	}
	holder := func() (int, error) {
		lease, err := cs.CoordinationV1().Leases(ns).Get(ctx, "wasmctl-host", metav1.GetOptions{})
		if err != nil {
			return 0, err
		}
		if lease.Spec.HolderIdentity == nil {
			return 0, fmt.Errorf("no holder")
		}
		_, pid, _ := strings.Cut(*lease.Spec.HolderIdentity, "_")
		return strconv.Atoi(pid)
	}
	var leader int
	testenv.Eventually(t, 30*time.Second, func() (err error) {
		leader, err = holder()
		if err == nil && hosts[leader] == nil {
			return fmt.Errorf("holder %d is not one of ours", leader)
		}
		return err
	})
	if _, err := cs.AppsV1().ReplicaSets(ns).Create(ctx, sampleRS(ns), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPods := func(n int) {
		testenv.Eventually(t, 30*time.Second, func() error {
			pods, _ := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if len(pods.Items) != n {
				return fmt.Errorf("%d pods, want %d", len(pods.Items), n)
			}
			return nil
		})
	}
	waitPods(2)

	hosts[leader].Kill()
	killed := time.Now()
	if _, err := cs.AppsV1().ReplicaSets(ns).Patch(ctx, "hello", "application/merge-patch+json", []byte(`{"spec":{"replicas":4}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPods(4)
	next, err := holder()
	if err != nil || next == leader || hosts[next] == nil {
		t.Fatalf("lease holder after the kill: %d (%v), was %d", next, err, leader)
	}
	t.Logf("standby took over and converged %s after the leader was killed", time.Since(killed).Round(time.Millisecond))
}
