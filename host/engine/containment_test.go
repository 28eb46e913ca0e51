package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"wasmctl.dev/wasmctl/host/config"
	"wasmctl.dev/wasmctl/host/engine"
	"wasmctl.dev/wasmctl/host/runtime"
	"wasmctl.dev/wasmctl/host/spec"
	"wasmctl.dev/wasmctl/internal/testenv"
	"wasmctl.dev/wasmctl/internal/wasmbuild"
)

// hostileModes are the misbehaviours of testdata/hostile, each run by its
// own controller on Mirrors in namespace "hostile-<mode>".
var hostileModes = []struct {
	mode   string
	reason string // the Warning Event on the primary
	kind   string // runtime failure kind (PluginFailed) or a word of the refusal
}{
	{"loop", engine.ReasonPluginFailed, "timeout"},
	{"oom", engine.ReasonPluginFailed, "memory"},
	{"trap", engine.ReasonPluginFailed, "trap"},
	{"exit", engine.ReasonPluginFailed, "exit"},
	{"huge", engine.ReasonPluginFailed, "output_limit"},
	{"network", engine.ReasonPluginFailed, "forbidden"},
	{"wasi", engine.ReasonPluginFailed, "plugin_error"},
	{"garbage", engine.ReasonResponseRefused, "invalid JSON"},
	{"truncated", engine.ReasonResponseRefused, "invalid JSON"},
	{"nonutf8", engine.ReasonResponseRefused, "UTF-8"},
	{"forbidden-kind", engine.ReasonResponseRefused, "Secret"},
	{"other-namespace", engine.ReasonResponseRefused, "kube-system"},
	{"cluster-scoped", engine.ReasonResponseRefused, "cluster-scoped"},
	{"foreign-child", engine.ReasonResponseRefused, "not controlled"},
	{"foreign-update", engine.ReasonResponseRefused, "not controlled"},
}

// TestHostilePlugins runs every hostile plugin at once next to the
// well-behaved one. Each must fail only its own key: a Warning Event and a
// metric say what happened, nothing of its response reaches the cluster, the
// key backs off, and the good controller keeps converging at its pace.
func TestHostilePlugins(t *testing.T) {
	testenv.Require(t, env)
	ctx := context.Background()
	for _, h := range hostileModes {
		ns := env.Namespace(t, nil, "hostile-"+h.mode)
		victim := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "victim", Namespace: ns}, Data: map[string]string{"keep": "me"}}
		if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, victim, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		createMirror(t, ns, "m", map[string]any{})
	}

	// The good controller, meanwhile.
	pace := env.Namespace(t, nil, "e2e-pace")
	var worst time.Duration
	for i := range 5 {
		m := createMirror(t, pace, fmt.Sprintf("p%d", i), map[string]any{"copies": int64(3)})
		start := time.Now()
		testenv.Eventually(t, 5*time.Second, func() error {
			if n := len(childrenOf(t, pace, m.GetUID())); n != 3 {
				return fmt.Errorf("%d children", n)
			}
			return nil
		})
		worst = max(worst, time.Since(start))
		time.Sleep(300 * time.Millisecond)
	}
	t.Logf("good controller: slowest of 5 convergences with %d hostile plugins running: %s", len(hostileModes), worst.Round(time.Millisecond))

	var wg sync.WaitGroup
	for _, h := range hostileModes {
		wg.Go(func() {
			t.Run(h.mode, func(t *testing.T) {
				ns := "hostile-" + h.mode
				ev := waitEvent(t, ns, "m", h.reason)
				if ev.Type != corev1.EventTypeWarning || !strings.Contains(ev.Message, h.kind) {
					t.Errorf("event %s %s: %s", ev.Type, ev.Reason, ev.Message)
				}
				name := "hostile-" + h.mode
				var failures float64
				if h.reason == engine.ReasonPluginFailed {
					failures = testutil.ToFloat64(mgr.Metrics().PluginFailures.WithLabelValues(name, h.kind))
				} else {
					failures = testutil.ToFloat64(mgr.Metrics().RefusedResponses.WithLabelValues(name))
				}
				if failures < 1 {
					t.Errorf("metric not counted")
				}
				// Backoff: per-item exponential from 5 ms, so few retries.
				if failures > 15 {
					t.Errorf("%v failed calls: the key is not backing off", failures)
				}
				if h.mode == "wasi" && (strings.Contains(ev.Message, "file: <nil>") || !strings.Contains(ev.Message, `HOME=""`) || !strings.Contains(ev.Message, "readdir: 0 entries")) {
					t.Errorf("the plugin saw something of the host: %s", ev.Message)
				}
				assertNothingApplied(t, ns)
			})
		})
	}
	wg.Wait()
	if _, err := cs.CoreV1().Namespaces().Get(ctx, "hostile-created", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a cluster-scoped object was created: %v", err)
	}
	if _, err := cs.CoreV1().ConfigMaps("kube-system").Get(ctx, "hostile", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("an object in another namespace was created: %v", err)
	}
}

func assertNothingApplied(t *testing.T, ns string) {
	t.Helper()
	ctx := context.Background()
	cms, err := cs.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, cm := range cms.Items {
		switch cm.Name {
		case "kube-root-ca.crt":
		case "victim":
			if cm.Data["keep"] != "me" || cm.Data["owned"] != "" || len(cm.OwnerReferences) > 0 {
				t.Errorf("victim changed: %v %v", cm.Data, cm.OwnerReferences)
			}
		default:
			t.Errorf("ConfigMap %s created", cm.Name)
		}
	}
	if _, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "victim", metav1.GetOptions{}); err != nil {
		t.Errorf("victim: %v", err)
	}
	if secrets, _ := cs.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{}); len(secrets.Items) > 0 {
		t.Errorf("%d Secrets created", len(secrets.Items))
	}
}

// TestLoadPluginRefuses: plugins that cannot be trusted to describe
// themselves are refused at load, with the reason, before anything runs.
func TestLoadPluginRefuses(t *testing.T) {
	rt, err := runtime.New(runtime.Options{CacheDir: "none"})
	if err != nil {
		t.Fatal(err)
	}
	hang, err := wasmbuild.Build("", "./testdata/hangdescribe")
	if err != nil {
		t.Fatal(err)
	}
	notWasm := filepath.Join(t.TempDir(), "x.wasm")
	if err := os.WriteFile(notWasm, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{hang, "describe: plugin x: describe: timeout"},
		{notWasm, "not a valid WebAssembly module"},
	} {
		start := time.Now()
		cfg := &config.Config{Controllers: []config.Controller{{Name: "x", Plugin: tc.path, Timeout: 200 * time.Millisecond, MemoryLimit: "64Mi", MaxResponse: "16Mi"}}}
		_, err := spec.Load(context.Background(), rt, cfg, 0)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%s: got %v, want %q", tc.path, err, tc.want)
		}
		t.Logf("refused in %s: %v", time.Since(start).Round(time.Millisecond), err)
	}
}
