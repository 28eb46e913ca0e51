package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"wasmctl.dev/wasmctl/host/config"
	"wasmctl.dev/wasmctl/host/engine"
	"wasmctl.dev/wasmctl/internal/testenv"
	"wasmctl.dev/wasmctl/internal/wasmbuild"
)

var (
	env     *testenv.Environment
	mgr     *engine.Manager
	cs      *kubernetes.Clientset
	dyn     dynamic.Interface
	mirrors = schema.GroupVersionResource{Group: "test.wasmctl.dev", Version: "v1", Resource: "mirrors"}
)

func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, &env, func(ctx context.Context) (func(), error) { return startHost(ctx) }))
}

const mirrorCRD = `{
 "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
 "metadata": {"name": "mirrors.test.wasmctl.dev"},
 "spec": {"group": "test.wasmctl.dev", "scope": "Namespaced",
  "names": {"plural": "mirrors", "singular": "mirror", "kind": "Mirror", "listKind": "MirrorList"},
  "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
   "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}}`

// startHost installs the Mirror CRD and runs a host with four controllers of
// the mirror plugin: a well-behaved one for namespaces "e2e-*", and one that
// traps, one that loops forever and one that asks for a forbidden action,
// each in its own namespace.
func startHost(ctx context.Context) (func(), error) {
	cs = env.Clientset()
	dyn = dynamic.NewForConfigOrDie(env.RESTConfig())
	crd := &unstructured.Unstructured{}
	if err := crd.UnmarshalJSON([]byte(mirrorCRD)); err != nil {
		return nil, err
	}
	crdGVR := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	if _, err := dyn.Resource(crdGVR).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	// Wait until the CRD is served.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := dyn.Resource(mirrors).List(ctx, metav1.ListOptions{}); err == nil {
			break
		} else if time.Now().After(deadline) {
			return nil, fmt.Errorf("CRD not served: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	wasm, err := wasmbuild.Build("", "./testdata/mirror")
	if err != nil {
		return nil, err
	}
	hostile, err := wasmbuild.Build("", "./testdata/hostile")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "engine-test-")
	if err != nil {
		return nil, err
	}
	cfgYAML := fmt.Sprintf(`
compilationCacheDir: %[2]s/cache
shutdownTimeout: 5s
controllers:
  - {name: mirror, plugin: %[1]s, workers: 4, config: {namespace: e2e-}}
  - {name: trapper, plugin: %[1]s, workers: 1, config: {namespace: trap, mode: trap}}
  - {name: looper, plugin: %[1]s, workers: 1, timeout: 200ms, config: {namespace: loop, mode: loop}}
  - {name: grabber, plugin: %[1]s, workers: 1, config: {namespace: forbidden, mode: forbidden}}
  - {name: ticker, plugin: %[1]s, workers: 1, resyncPeriod: 1s, config: {namespace: resync}}
`, wasm, dir)
	for _, h := range hostileModes {
		// 1 s: the memory bomb must reach its limit before the timeout even on
		// a loaded machine.
		memory, timeout := "32Mi", "1s"
		if h.mode == "huge" {
			// Room and time to build the 100 MB response the output limit refuses.
			memory, timeout = "256Mi", "5s"
		}
		cfgYAML += fmt.Sprintf("  - {name: hostile-%[2]s, plugin: %[1]s, for: {apiVersion: test.wasmctl.dev/v1, kind: Mirror}, owns: [{apiVersion: v1, kind: ConfigMap}], workers: 1, timeout: %[4]s, memoryLimit: %[3]s, config: {namespace: hostile-%[2]s, mode: %[2]s}}\n", hostile, h.mode, memory, timeout)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(cfgYAML), 0o644); err != nil {
		return nil, err
	}
	cfg, err := config.Load(filepath.Join(dir, "config.yaml"), nil)
	if err != nil {
		return nil, err
	}
	mgr, err = engine.FromConfig(ctx, cfg, env.RESTConfig(), engine.Options{})
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Run(runCtx) }()
	select {
	case <-mgr.Synced():
	case err := <-done:
		cancel()
		return nil, fmt.Errorf("manager stopped: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		return nil, fmt.Errorf("caches did not sync")
	}
	return func() {
		cancel()
		<-done
		os.RemoveAll(dir)
	}, nil
}

func createMirror(t *testing.T, ns, name string, spec map[string]any) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "test.wasmctl.dev/v1", "kind": "Mirror",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec":     spec,
	}}
	out, err := dyn.Resource(mirrors).Namespace(ns).Create(context.Background(), u, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// childrenOf lists the ConfigMaps controlled by the Mirror with uid.
func childrenOf(t *testing.T, ns string, uid types.UID) []corev1.ConfigMap {
	t.Helper()
	list, err := cs.CoreV1().ConfigMaps(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []corev1.ConfigMap
	for _, cm := range list.Items {
		if ref := metav1.GetControllerOf(&cm); ref != nil && ref.UID == uid {
			out = append(out, cm)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func getMirror(t *testing.T, ns, name string) *unstructured.Unstructured {
	t.Helper()
	u, err := dyn.Resource(mirrors).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestCreateUpdateScaleDown(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t, nil, "e2e-crud")
	m := createMirror(t, ns, "web", map[string]any{"copies": int64(2), "data": map[string]any{"a": "1"}})

	testenv.Eventually(t, 10*time.Second, func() error {
		kids := childrenOf(t, ns, m.GetUID())
		if len(kids) != 2 {
			return fmt.Errorf("%d children, want 2", len(kids))
		}
		for _, k := range kids {
			ref := metav1.GetControllerOf(&k)
			if k.Data["a"] != "1" || !strings.HasPrefix(k.Name, "web-") || ref.Kind != "Mirror" || ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
				return fmt.Errorf("child %s: data %v, ref %+v", k.Name, k.Data, ref)
			}
		}
		st, _, _ := unstructured.NestedInt64(getMirror(t, ns, "web").Object, "status", "copies")
		if st != 2 {
			return fmt.Errorf("status.copies %d", st)
		}
		return nil
	})

	// Update: the children follow spec.data.
	patch := []byte(`{"spec":{"data":{"a":"2"},"copies":1}}`)
	if _, err := dyn.Resource(mirrors).Namespace(ns).Patch(context.Background(), "web", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		kids := childrenOf(t, ns, m.GetUID())
		if len(kids) != 1 || kids[0].Data["a"] != "2" {
			return fmt.Errorf("children %v", kids)
		}
		u := getMirror(t, ns, "web")
		gen, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
		if gen != u.GetGeneration() {
			return fmt.Errorf("observedGeneration %d, generation %d", gen, u.GetGeneration())
		}
		return nil
	})
}

func TestAdoptsMatchingOrphan(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t, nil, "e2e-adopt")
	ctx := context.Background()
	orphan := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "stray", Namespace: ns, Labels: map[string]string{"app": "x"}}}
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, orphan, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	other := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "unrelated", Namespace: ns, Labels: map[string]string{"app": "y"}}}
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	m := createMirror(t, ns, "x", map[string]any{"copies": int64(1), "selector": map[string]any{"matchLabels": map[string]any{"app": "x"}}})
	testenv.Eventually(t, 10*time.Second, func() error {
		kids := childrenOf(t, ns, m.GetUID())
		if len(kids) != 1 || kids[0].Name != "stray" {
			return fmt.Errorf("children %d, want the adopted orphan only", len(kids))
		}
		return nil
	})
	cm, _ := cs.CoreV1().ConfigMaps(ns).Get(ctx, "unrelated", metav1.GetOptions{})
	if metav1.GetControllerOf(cm) != nil {
		t.Fatal("a ConfigMap that does not match the selector was adopted")
	}
	waitEvent(t, ns, "x", "Adopted")
}

func waitEvent(t *testing.T, ns, involved, reason string) corev1.Event {
	t.Helper()
	var found corev1.Event
	testenv.Eventually(t, 15*time.Second, func() error {
		evs, err := cs.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, e := range evs.Items {
			if e.InvolvedObject.Name == involved && e.Reason == reason {
				found = e
				return nil
			}
		}
		return fmt.Errorf("no %s event on %s/%s among %d", reason, ns, involved, len(evs.Items))
	})
	return found
}

func TestForbiddenResponseRefusedWhole(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t, nil, "forbidden")
	createMirror(t, ns, "greedy", map[string]any{})
	ev := waitEvent(t, ns, "greedy", engine.ReasonResponseRefused)
	if ev.Type != corev1.EventTypeWarning || !strings.Contains(ev.Message, "Secret") {
		t.Fatalf("event %s: %s", ev.Type, ev.Message)
	}
	// Give the host time to (wrongly) apply anything, then check nothing was.
	time.Sleep(time.Second)
	cms, _ := cs.CoreV1().ConfigMaps(ns).List(context.Background(), metav1.ListOptions{})
	for _, cm := range cms.Items {
		if cm.Name != "kube-root-ca.crt" {
			t.Fatalf("ConfigMap %s created from a refused response", cm.Name)
		}
	}
	if _, err := cs.CoreV1().Secrets(ns).Get(context.Background(), "greedy", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("forbidden Secret: %v", err)
	}
	if n := testutil.ToFloat64(mgr.Metrics().RefusedResponses.WithLabelValues("grabber")); n < 1 {
		t.Fatalf("refused responses metric %v", n)
	}
}

// TestExpectationsPreventDuplicates creates many children while the primary
// is updated over and over: every update enqueues a reconcile while the
// cache has not yet seen the earlier creates. Without expectations the
// plugin would create again.
func TestExpectationsPreventDuplicates(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t, nil, "e2e-burst")
	const copies = 40
	creates := mgr.Metrics().Actions.WithLabelValues("mirror", "create", "ConfigMap", "success")
	deletes := mgr.Metrics().Actions.WithLabelValues("mirror", "delete", "ConfigMap", "success")
	createsBefore, deletesBefore := testutil.ToFloat64(creates), testutil.ToFloat64(deletes)
	m := createMirror(t, ns, "burst", map[string]any{"copies": int64(copies)})
	for i := range 30 {
		patch := fmt.Appendf(nil, `{"metadata":{"annotations":{"poke":"%d"}}}`, i)
		if _, err := dyn.Resource(mirrors).Namespace(ns).Patch(context.Background(), "burst", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		if n := len(childrenOf(t, ns, m.GetUID())); n != copies {
			return fmt.Errorf("%d children, want %d", n, copies)
		}
		return nil
	})
	time.Sleep(2 * time.Second)
	if n := len(childrenOf(t, ns, m.GetUID())); n != copies {
		t.Fatalf("%d children after settling, want %d", n, copies)
	}
	// The plugin deletes extras, so the count converges either way: what
	// shows duplicates is the work done.
	if c, d := testutil.ToFloat64(creates)-createsBefore, testutil.ToFloat64(deletes)-deletesBefore; c != copies || d != 0 {
		t.Fatalf("%v creates and %v deletes for %d children: the plugin acted on a stale cache", c, d, copies)
	}
}

func TestRequeueAfter(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t, nil, "e2e-requeue")
	createMirror(t, ns, "tick", map[string]any{"requeueAfter": 1.0})
	seen := map[string]bool{}
	testenv.Eventually(t, 8*time.Second, func() error {
		s, _, _ := unstructured.NestedString(getMirror(t, ns, "tick").Object, "status", "lastSeen")
		if s != "" {
			seen[s] = true
		}
		if len(seen) < 3 {
			return fmt.Errorf("status.lastSeen took %d values, want 3 (one per requeue)", len(seen))
		}
		return nil
	})
}

// TestMisbehavingPluginsAreContained: the trapping and the looping
// controllers fail their own keys (Warning events, metrics, backoff) while
// the good controller keeps converging new objects promptly.
func TestMisbehavingPluginsAreContained(t *testing.T) {
	testenv.Require(t, env)
	createMirror(t, env.Namespace(t, nil, "trap"), "t", map[string]any{})
	createMirror(t, env.Namespace(t, nil, "loop"), "l", map[string]any{})
	ns := env.Namespace(t, nil, "e2e-alive")
	for i := range 3 {
		m := createMirror(t, ns, fmt.Sprintf("ok%d", i), map[string]any{"copies": int64(2)})
		start := time.Now()
		testenv.Eventually(t, 5*time.Second, func() error {
			if n := len(childrenOf(t, ns, m.GetUID())); n != 2 {
				return fmt.Errorf("%d children", n)
			}
			return nil
		})
		t.Logf("good controller converged %s in %s", m.GetName(), time.Since(start).Round(time.Millisecond))
		time.Sleep(500 * time.Millisecond)
	}
	trapEv := waitEvent(t, "trap", "t", engine.ReasonPluginFailed)
	loopEv := waitEvent(t, "loop", "l", engine.ReasonPluginFailed)
	if !strings.Contains(trapEv.Message, "trap") || !strings.Contains(loopEv.Message, "timeout") {
		t.Fatalf("events: %q / %q", trapEv.Message, loopEv.Message)
	}
	if n := testutil.ToFloat64(mgr.Metrics().PluginFailures.WithLabelValues("looper", "timeout")); n < 1 {
		t.Fatalf("timeout metric %v", n)
	}
	if n := testutil.ToFloat64(mgr.Metrics().PluginFailures.WithLabelValues("trapper", "trap")); n < 1 {
		t.Fatalf("trap metric %v", n)
	}
	cms, _ := cs.CoreV1().ConfigMaps("trap").List(context.Background(), metav1.ListOptions{})
	for _, cm := range cms.Items {
		if cm.Name != "kube-root-ca.crt" {
			t.Fatalf("a failing plugin's key produced ConfigMap %s", cm.Name)
		}
	}
}

// TestResyncPeriod: a controller's primaries are reconciled again every
// resyncPeriod with nothing changing.
func TestResyncPeriod(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t, nil, "resync")
	m := createMirror(t, ns, "r", map[string]any{})
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := len(childrenOf(t, ns, m.GetUID())); n != 1 {
			return fmt.Errorf("%d children", n)
		}
		return nil
	})
	calls := mgr.Metrics().ReconcileTotal.WithLabelValues("ticker", "success")
	before := testutil.ToFloat64(calls)
	time.Sleep(3500 * time.Millisecond)
	if got := testutil.ToFloat64(calls) - before; got < 2 {
		t.Fatalf("%v reconciles in 3.5 s with a 1 s resync period", got)
	}
}

// TestMetricsExposed: the families operators alert on are registered and
// carry values once the host has worked.
func TestMetricsExposed(t *testing.T) {
	testenv.Require(t, env)
	families, err := mgr.Metrics().Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range families {
		seen[f.GetName()] = true
	}
	for _, want := range []string{
		"workqueue_depth", "workqueue_adds_total", "workqueue_queue_duration_seconds", "workqueue_work_duration_seconds", "workqueue_retries_total",
		"wasmctl_reconcile_total", "wasmctl_reconcile_duration_seconds", "wasmctl_plugin_call_duration_seconds",
		"wasmctl_actions_total", "wasmctl_plugin_instances", "wasmctl_cache_objects", "go_goroutines", "process_resident_memory_bytes",
	} {
		if !seen[want] {
			t.Errorf("metric %s not exposed", want)
		}
	}
	if n := testutil.ToFloat64(mgr.Metrics().Actions.WithLabelValues("mirror", "create", "ConfigMap", "success")); n < 1 {
		t.Errorf("wasmctl_actions_total{op=create} = %v after creates", n)
	}
}
