package testenv

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// KwokStages is the kwok configuration StartKwok runs with: the stages a
// managed node and the pods bound to it go through (see the file's
// comment). Tests may write their own and pass it to StartKwokWith.
//
//go:embed kwok-stages.yaml
var KwokStages []byte

// Kwok's node selection: it plays the kubelet only for nodes carrying this
// annotation, so a test's plain Node objects stay as the test writes them.
const (
	KwokNodeAnnotation = "kwok.x-k8s.io/node"
	KwokNodeValue      = "fake"
	// KwokExitCodeAnnotation on a pod makes kwok's pod-exit stage end it a
	// second after it runs: "0" Succeeded, any other code Failed.
	KwokExitCodeAnnotation = "kwok.wasmctl.dev/exit-code"
	// KwokPodsAnnotation on a kwok node is the pods capacity (and
	// allocatable) its node-ready stage reports, a decimal string; without
	// it 110, a kubelet's default.
	KwokPodsAnnotation = "kwok.wasmctl.dev/pods"
)

// StartScheduler runs kube-scheduler (from the same build as the
// apiserver) against this environment: pods get bound to nodes, which kwok
// needs before it plays a pod. Stopped by Stop.
func (e *Environment) StartScheduler() (*Process, error) {
	return e.StartProcess("kube-scheduler", filepath.Join(e.binDir, "kube-scheduler"), []string{
		"--kubeconfig=" + e.KubeconfigPath,
		"--authentication-kubeconfig=" + e.KubeconfigPath,
		"--authorization-kubeconfig=" + e.KubeconfigPath,
		"--leader-elect=false",
		"--secure-port=0",
		"--kube-api-qps=1000",
		"--kube-api-burst=2000",
		"--v=1",
	}, nil)
}

// StartKwok runs kwok with KwokStages for the nodes annotated
// KwokNodeAnnotation=KwokNodeValue. Stopped by Stop.
func (e *Environment) StartKwok() (*Process, error) { return e.StartKwokWith(KwokStages) }

// StartKwokWith runs kwok with the given configuration (stages and, if
// wanted, a KwokConfiguration).
func (e *Environment) StartKwokWith(config []byte) (*Process, error) {
	path := filepath.Join(e.Dir, "kwok.yaml")
	if err := os.WriteFile(path, config, 0o644); err != nil {
		return nil, err
	}
	return e.StartProcess("kwok", filepath.Join(e.binDir, "kwok"), []string{
		"--kubeconfig=" + e.KubeconfigPath,
		"--config=" + path,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=" + KwokNodeAnnotation + "=" + KwokNodeValue,
		"--node-ip=10.0.0.1",
		"--cidr=10.0.1.0/24",
		"--server-address=",
		// Renew each node's Lease, the heartbeat kube-controller-manager's
		// node lifecycle controller reads: without it, it marks the nodes
		// NotReady after its grace period and their pods not Ready.
		"--node-lease-duration-seconds=40",
	}, nil)
}

// KwokNode is a Node kwok manages, named name, with the labels a kubelet
// sets (hostname, os, arch) plus labels.
func KwokNode(name string, labels map[string]string) *corev1.Node {
	l := map[string]string{
		"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "type": "kwok",
	}
	for k, v := range labels {
		l[k] = v
	}
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{
		Name: name, Labels: l, Annotations: map[string]string{KwokNodeAnnotation: KwokNodeValue},
	}}
}

// CreateKwokNodes creates KwokNode(name, nil) for each name. Without a
// node lifecycle controller (kube-controller-manager's nodelifecycle) the
// not-ready taint the API server puts on every new node would stay and
// keep pods off it, so with untaint the function takes it off itself.
func CreateKwokNodes(ctx context.Context, c kubernetes.Interface, untaint bool, names ...string) error {
	for _, name := range names {
		if _, err := c.CoreV1().Nodes().Create(ctx, KwokNode(name, nil), metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create node %s: %w", name, err)
		}
		if !untaint {
			continue
		}
		if err := RemoveNotReadyTaint(ctx, c, name); err != nil {
			return err
		}
	}
	return nil
}

// RemoveNotReadyTaint takes node.kubernetes.io/not-ready off the node, as
// the node lifecycle controller does once a node reports Ready: the API
// server's admission puts it (NoSchedule) on every new Node, and daemon
// pods do not tolerate it. Other taints stay.
func RemoveNotReadyTaint(ctx context.Context, c kubernetes.Interface, name string) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		var keep []corev1.Taint
		for _, t := range n.Spec.Taints {
			if t.Key != corev1.TaintNodeNotReady {
				keep = append(keep, t)
			}
		}
		n.Spec.Taints = keep
		_, err = c.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("untaint node %s: %w", name, err)
	}
	return nil
}
