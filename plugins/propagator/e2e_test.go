//go:build !wasip1

// A control plane runs on the host only (internal/testenv does not build
// for wasip1).

package propagator_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"wasmctl.dev/wasmctl/internal/hosttest"
	"wasmctl.dev/wasmctl/internal/testenv"
	"wasmctl.dev/wasmctl/internal/wasmbuild"
	"wasmctl.dev/wasmctl/plugins/propagator"
)

var env *testenv.Environment

// The host runs the plugin with only a path in its config: for, selector,
// related inputs and permissions all come from the plugin's describe.
func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, &env, func(context.Context) (func(), error) {
		wasm, err := wasmbuild.Build("", "./cmd")
		if err != nil {
			return nil, err
		}
		h, err := hosttest.Start(env.RESTConfig(), fmt.Sprintf("controllers:\n  - plugin: %s\n", wasm))
		if err != nil {
			return nil, err
		}
		return h.Stop, nil
	}))
}

func copiesOf(t *testing.T, name string) []string {
	t.Helper()
	list, err := env.Clientset().CoreV1().ConfigMaps("").List(context.Background(), metav1.ListOptions{LabelSelector: propagator.SourceLabel + "=platform." + name})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range list.Items {
		if c.DeletionTimestamp == nil {
			out = append(out, c.Namespace+"="+c.Data["k"])
		}
	}
	sort.Strings(out)
	return out
}

func TestPropagation(t *testing.T) {
	testenv.Require(t, env)
	ctx := context.Background()
	cs := env.Clientset()
	for name, team := range map[string]string{"platform": "infra", "a1": "a", "a2": "a", "b1": "b"} {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"team": team}}}
		if _, err := cs.CoreV1().Namespaces().Create(ctx, n, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	src := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: "platform",
			Labels:      map[string]string{propagator.EnabledLabel: "true"},
			Annotations: map[string]string{propagator.SelectorAnnotation: "team=a"}},
		Data: map[string]string{"k": "v1"},
	}
	if _, err := cs.CoreV1().ConfigMaps("platform").Create(ctx, src, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	expect := func(want string) {
		t.Helper()
		testenv.Eventually(t, 10*time.Second, func() error {
			if got := fmt.Sprint(copiesOf(t, "settings")); got != want {
				return fmt.Errorf("copies %s, want %s", got, want)
			}
			return nil
		})
	}
	expect("[a1=v1 a2=v1]")

	// Data changes follow.
	if _, err := cs.CoreV1().ConfigMaps("platform").Patch(ctx, "settings", types.MergePatchType, []byte(`{"data":{"k":"v2"}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	expect("[a1=v2 a2=v2]")

	// A namespace that gains the label gets a copy; one that loses it, loses it.
	if _, err := cs.CoreV1().Namespaces().Patch(ctx, "b1", types.MergePatchType, []byte(`{"metadata":{"labels":{"team":"a"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Namespaces().Patch(ctx, "a1", types.MergePatchType, []byte(`{"metadata":{"labels":{"team":"z"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	expect("[a2=v2 b1=v2]")

	// A copy deleted by hand comes back.
	if err := cs.CoreV1().ConfigMaps("a2").Delete(ctx, "settings", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	expect("[a2=v2 b1=v2]")

	// Deleting the source removes every copy, then the source goes.
	if err := cs.CoreV1().ConfigMaps("platform").Delete(ctx, "settings", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	expect("[]")
	testenv.Eventually(t, 10*time.Second, func() error {
		_, err := cs.CoreV1().ConfigMaps("platform").Get(ctx, "settings", metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("source still there (finalizer not removed?): %v", err)
		}
		return nil
	})
}
