//go:build !wasip1

// A control plane runs on the host only (internal/testenv does not build
// for wasip1).

package replicaset_test

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"wasmctl.dev/wasmctl/internal/testenv"
)

// TestSideBySideWithKubeControllerManager runs the same scenario against
// kube-controller-manager's replicaset controller and against the host, and
// compares what a user sees: pods (count, labels, generateName, controller
// reference) and status.
//
// Two control planes, not two namespaces of one: kube-controller-manager
// cannot be limited to a namespace, so on one control plane both controllers
// would manage the host's ReplicaSets too.
func TestSideBySideWithKubeControllerManager(t *testing.T) {
	testenv.Require(t, env)
	kcmEnv, err := testenv.Start(context.Background(), testenv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer kcmEnv.Stop()
	if _, err := kcmEnv.StartControllerManager(testenv.ControllerManagerOptions{
		Controllers: []string{"replicaset"}, ExtraArgs: []string{"--concurrent-replicaset-syncs=5"},
	}); err != nil {
		t.Fatal(err)
	}
	sides := map[string]kubernetes.Interface{"kcm": kcmEnv.Clientset(), "wasm": cs}
	ns := "side-by-side"
	for _, c := range sides {
		env.Namespace(t, c, ns)
	}

	type step struct {
		name string
		do   func(t *testing.T, c kubernetes.Interface)
		want map[string]int // ReplicaSet -> pods
	}
	steps := []step{
		{"create", func(t *testing.T, c kubernetes.Interface) {
			// The orphan is made much older than the pods the controllers
			// create, so the scale-down ranking (creation time in log2
			// buckets, then UID) keeps it on both sides deterministically.
			orphan := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "stray", Namespace: ns, Labels: map[string]string{"app": "front"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "pause"}}},
			}
			if _, err := c.CoreV1().Pods(ns).Create(context.Background(), orphan, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(4 * time.Second)
			for name, n := range map[string]int32{"front": 4, "back": 2} {
				rs := newRS(ns, name, n, map[string]string{"app": name})
				rs.Spec.Template.Annotations = map[string]string{"team": "a"}
				if _, err := c.AppsV1().ReplicaSets(ns).Create(context.Background(), rs, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
		}, map[string]int{"front": 4, "back": 2}},
		{"scale", func(t *testing.T, c kubernetes.Interface) {
			for name, n := range map[string]int{"front": 1, "back": 6} {
				patch := fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, n)
				if _, err := c.AppsV1().ReplicaSets(ns).Patch(context.Background(), name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
					t.Fatal(err)
				}
			}
		}, map[string]int{"front": 1, "back": 6}},
		{"release", func(t *testing.T, c kubernetes.Interface) {
			pods, _ := c.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=back"})
			sort.Slice(pods.Items, func(i, j int) bool { return pods.Items[i].Name < pods.Items[j].Name })
			patch := []byte(`{"metadata":{"labels":{"app":"gone"}}}`)
			if _, err := c.CoreV1().Pods(ns).Patch(context.Background(), pods.Items[0].Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
				t.Fatal(err)
			}
		}, map[string]int{"front": 1, "back": 6}},
	}
	// Each side runs the whole scenario in turn, so the ages of its pods at
	// each step do not depend on the other side.
	views := map[string][]view{}
	for side, c := range sides {
		for _, s := range steps {
			s.do(t, c)
			for rs, n := range s.want {
				converged(t, c, ns, rs, n)
			}
			time.Sleep(time.Second) // let stragglers (a release, a second status write) land
			views[side] = append(views[side], observe(t, c, ns))
		}
	}
	for i, s := range steps {
		if !reflect.DeepEqual(views["kcm"][i], views["wasm"][i]) {
			t.Fatalf("step %s differs:\nkcm:  %+v\nwasm: %+v", s.name, views["kcm"][i], views["wasm"][i])
		}
		t.Logf("step %s: same pods and status on both sides: %+v", s.name, views["wasm"][i])
	}
}

// view is what a user sees, without names the server generates.
type view struct {
	Pods   []string // "labels|annotations|generateName|owner kind/name controller blockOwnerDeletion"
	Status map[string]appsv1.ReplicaSetStatus
}

func observe(t *testing.T, c kubernetes.Interface, ns string) view {
	t.Helper()
	v := view{Status: map[string]appsv1.ReplicaSetStatus{}}
	pods, err := c.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		owner := "none"
		if ref := metav1.GetControllerOf(&p); ref != nil {
			owner = fmt.Sprintf("%s %s/%s %v %v", ref.APIVersion, ref.Kind, ref.Name, *ref.Controller, *ref.BlockOwnerDeletion)
		}
		v.Pods = append(v.Pods, fmt.Sprintf("%v|%v|%s|%s|%v", p.Labels, p.Annotations, p.GenerateName, owner, p.Spec.Containers[0].Image))
	}
	sort.Strings(v.Pods)
	rss, err := c.AppsV1().ReplicaSets(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range rss.Items {
		st := rs.Status
		for i := range st.Conditions {
			st.Conditions[i].LastTransitionTime = metav1.Time{}
		}
		v.Status[rs.Name] = st
	}
	return v
}
