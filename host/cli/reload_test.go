package cli_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"wasmctl.dev/wasmctl/internal/testenv"
	"wasmctl.dev/wasmctl/internal/wasmbuild"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	// Write beside and rename: what deployment tools do, and atomic.
	tmp := to + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, to); err != nil {
		t.Fatal(err)
	}
}

// TestHotReload swaps the .wasm under a running host: a broken file leaves
// the old plugin running (and /readyz says so); a good one takes over
// without a restart.
func TestHotReload(t *testing.T) {
	testenv.Require(t, env)
	ctx := context.Background()
	cs := env.Clientset()
	dir := t.TempDir()
	wasm := replicasetWasm(t)
	copyFile(t, wasm, filepath.Join(dir, "rs.wasm"))
	cfg := write(t, dir, "config.yaml", "controllers:\n  - {name: replicaset, plugin: rs.wasm}\n")
	probe := freeAddr(t)
	p, err := env.StartProcess("host-reload", buildHost(t), []string{"run", "--config", cfg, "--kubeconfig", env.KubeconfigPath,
		"--metrics-bind-address", "0", "--health-probe-bind-address", probe}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(10 * time.Second)
	readyz := func() string {
		resp, err := http.Get("http://" + probe + "/readyz")
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	logHas := func(s string) func() error {
		return func() error {
			log, _ := os.ReadFile(p.LogFile)
			if !strings.Contains(string(log), s) {
				return fmt.Errorf("log has no %q", s)
			}
			return nil
		}
	}
	ns := env.Namespace(t, nil, "reload")
	rs := sampleRS(ns)
	one := int32(1)
	rs.Spec.Replicas = &one
	if _, err := cs.AppsV1().ReplicaSets(ns).Create(ctx, rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pods := func(n int) {
		t.Helper()
		testenv.Eventually(t, 20*time.Second, func() error {
			list, _ := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if len(list.Items) != n {
				return fmt.Errorf("%d pods, want %d", len(list.Items), n)
			}
			return nil
		})
	}
	scale := func(n int) {
		t.Helper()
		patch := fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, n)
		if _, err := cs.AppsV1().ReplicaSets(ns).Patch(ctx, "hello", "application/merge-patch+json", patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		pods(n)
	}
	pods(1)

	// A broken plugin: refused, the old one keeps working.
	broken := write(t, t.TempDir(), "broken.wasm", "this is not wasm")
	copyFile(t, broken, filepath.Join(dir, "rs.wasm"))
	testenv.Eventually(t, 20*time.Second, logHas("Plugin reload failed"))
	testenv.Eventually(t, 5*time.Second, func() error {
		if body := readyz(); !strings.HasPrefix(body, "ok") || !strings.Contains(body, "previous plugin running") {
			return fmt.Errorf("/readyz: %q", body)
		}
		return nil
	})
	scale(2)

	// A good new build (the portable variant: a different module, same
	// logic) takes over.
	portable, err := wasmbuild.Build("", "wasmctl.dev/wasmctl/plugins/replicaset/cmd", "wasmctl_portable")
	if err != nil {
		t.Fatal(err)
	}
	copyFile(t, portable, filepath.Join(dir, "rs.wasm"))
	testenv.Eventually(t, 20*time.Second, logHas("Plugin reloaded"))
	testenv.Eventually(t, 5*time.Second, func() error {
		if body := readyz(); body != "ok" {
			return fmt.Errorf("/readyz after a good reload: %q", body)
		}
		return nil
	})
	scale(3)

	// The configuration changes under it: a config: block and workers apply
	// live; a new owns kind needs new informers and is reported.
	write(t, dir, "config.yaml", "controllers:\n  - {name: replicaset, plugin: rs.wasm, workers: 2, config: {x: 1}, owns: [{apiVersion: v1, kind: Pod}, {apiVersion: v1, kind: ConfigMap}]}\n")
	testenv.Eventually(t, 20*time.Second, logHas("Configuration changes need a restart of the host to apply"))
	testenv.Eventually(t, 5*time.Second, func() error {
		if body := readyz(); !strings.HasPrefix(body, "ok") || !strings.Contains(body, "replicaset: restart required to apply owns") {
			return fmt.Errorf("/readyz: %q", body)
		}
		return nil
	})
	log, _ := os.ReadFile(p.LogFile)
	applied := false
	for _, line := range strings.Split(string(log), "\n") {
		if strings.Contains(line, "Configuration reloaded") && strings.Contains(line, "config") && strings.Contains(line, "workers") && !strings.Contains(line, "owns") {
			applied = true
		}
	}
	if !applied {
		t.Errorf("the live changes (config, workers) are not logged as applied:\n%s", log)
	}
	scale(1) // still reconciling with the running informers
}
