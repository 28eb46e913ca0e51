package testenv_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"wasmctl.dev/wasmctl/internal/testenv"
)

// TestKwok: with kube-scheduler and kwok, a kwok node reports Ready, a pod
// is bound to it and runs Ready, a pod annotated with an exit code fails
// with it, and a deleted pod is gone at once (kwok plays the kubelet that
// confirms the deletion).
func TestKwok(t *testing.T) {
	testenv.Require(t, env)
	if _, err := env.StartScheduler(); err != nil {
		t.Fatal(err)
	}
	if _, err := env.StartKwok(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cs := env.Clientset()
	if err := testenv.CreateKwokNodes(ctx, cs, true, "kwok-1"); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		n, err := cs.CoreV1().Nodes().Get(ctx, "kwok-1", metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return nil
			}
		}
		return fmt.Errorf("node conditions %+v", n.Status.Conditions)
	})
	ns := env.Namespace(t, nil, "kwok")
	pod := func(name string, annotations map[string]string) {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: annotations},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
		}
		if _, err := cs.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	pod("runs", nil)
	pod("fails", map[string]string{testenv.KwokExitCodeAnnotation: "3"})
	testenv.Eventually(t, 30*time.Second, func() error {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, "runs", metav1.GetOptions{})
		if err != nil {
			return err
		}
		ready := false
		for _, c := range p.Status.Conditions {
			ready = ready || c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue
		}
		if p.Spec.NodeName != "kwok-1" || p.Status.Phase != corev1.PodRunning || !ready || p.Status.PodIP == "" {
			return fmt.Errorf("pod runs: node %q phase %s ready %v IP %q", p.Spec.NodeName, p.Status.Phase, ready, p.Status.PodIP)
		}
		return nil
	})
	testenv.Eventually(t, 30*time.Second, func() error {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, "fails", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if p.Status.Phase != corev1.PodFailed || len(p.Status.ContainerStatuses) != 1 || p.Status.ContainerStatuses[0].State.Terminated == nil ||
			p.Status.ContainerStatuses[0].State.Terminated.ExitCode != 3 {
			return fmt.Errorf("pod fails: phase %s statuses %+v", p.Status.Phase, p.Status.ContainerStatuses)
		}
		return nil
	})
	if err := cs.CoreV1().Pods(ns).Delete(ctx, "runs", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		if _, err := cs.CoreV1().Pods(ns).Get(ctx, "runs", metav1.GetOptions{}); err == nil {
			return fmt.Errorf("pod runs still there")
		}
		return nil
	})

	// A node's pods capacity: 110, or what its KwokPodsAnnotation says.
	big := testenv.KwokNode("kwok-2", nil)
	big.Annotations[testenv.KwokPodsAnnotation] = "250"
	if _, err := cs.CoreV1().Nodes().Create(ctx, big, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int64{"kwok-1": 110, "kwok-2": 250} {
		testenv.Eventually(t, 30*time.Second, func() error {
			n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if c, a := n.Status.Capacity.Pods().Value(), n.Status.Allocatable.Pods().Value(); c != want || a != want {
				return fmt.Errorf("node %s: pods capacity %d, allocatable %d, want %d", name, c, a, want)
			}
			return nil
		})
	}
}
