package cli_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"wasmctl.dev/wasmctl/internal/testenv"
	"wasmctl.dev/wasmctl/internal/testregistry"
	"wasmctl.dev/wasmctl/internal/wasmbuild"
)

// TestOCIHotReloadProcess runs the built wasmctl-host against a control
// plane with its plugin on a registry tag, signed, polled every second,
// as a user runs it. The stamp test plugin annotates ConfigMaps with its
// version, so which plugin runs is read off the cluster:
//
//   - v1 signed on the tag: it reconciles;
//   - the tag moved to v2, signed: swapped in without a restart;
//   - the tag moved to a v1 signed with another key, then unsigned:
//     refused, v2 keeps reconciling, /readyz and the log say why,
//     wasmctl_plugin_reloads_total{result="error"} rises;
//   - the registry down: v2 kept, the host alive;
//   - a restart with the registry still down: v2 from the cache (the tag's
//     last verified digest, not what the tag points at now);
//   - the registry back, the tag signed at v2 again: /readyz clears.
func TestOCIHotReloadProcess(t *testing.T) {
	testenv.Require(t, env)
	ctx := context.Background()
	cs := env.Clientset()
	v1, err := wasmbuild.Build("", "./testdata/stamp")
	if err != nil {
		t.Fatal(err)
	}
	v2, err := wasmbuild.Build("", "./testdata/stamp", "stamp_v2")
	if err != nil {
		t.Fatal(err)
	}
	bin := buildHost(t)
	reg := testregistry.Start(t)
	dir := t.TempDir()
	priv, _ := cosignKeys(t, dir, "cosign", "pw")
	wrongPriv, _ := cosignKeys(t, dir, "other", "pw")
	t.Setenv("COSIGN_PASSWORD", "pw")
	ref := "oci://" + reg.Host + "/controllers/stamp:v1"
	pushCache := filepath.Join(dir, "push-cache")
	push := func(wasm string, args ...string) string {
		t.Helper()
		out, err := run(t, append([]string{"push", wasm, ref, "--oci-cache-dir", pushCache, "--docker-config", filepath.Join(dir, "none.json")}, args...)...)
		if err != nil {
			t.Fatalf("push: %v\n%s", err, out)
		}
		m := regexp.MustCompile(`pushed \S+@(sha256:[0-9a-f]{64})`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("push output: %s", out)
		}
		return m[1]
	}
	push(v1, "--sign-key", priv)
	cfg := write(t, dir, "config.yaml", "oci: {cacheDir: cache, publicKey: cosign.pub, dockerConfig: none.json}\n"+
		"controllers:\n  - {name: stamp, plugin: '"+ref+"', pollInterval: 1s}\n")

	var p *testenv.Process
	var probe, metricsAddr string
	start := func(name string) {
		t.Helper()
		probe, metricsAddr = freeAddr(t), freeAddr(t)
		var err error
		p, err = env.StartProcess(name, bin, []string{"run", "--config", cfg, "--kubeconfig", env.KubeconfigPath,
			"--metrics-bind-address", metricsAddr, "--health-probe-bind-address", probe},
			[]string{"XDG_CACHE_HOME=" + filepath.Join(dir, "xdg")})
		if err != nil {
			t.Fatal(err)
		}
	}
	start("host-oci-1")
	defer func() { p.Stop(10 * time.Second) }()
	t.Cleanup(func() {
		if t.Failed() {
			log, _ := os.ReadFile(p.LogFile)
			t.Logf("host log (%s):\n%s", p.LogFile, log)
		}
	})
	get := func(addr, path string) string {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	reloads := func(result string) float64 {
		series := `wasmctl_plugin_reloads_total{controller="stamp",result="` + result + `"} `
		for _, line := range strings.Split(get(metricsAddr, "/metrics"), "\n") {
			if v, ok := strings.CutPrefix(line, series); ok {
				f, _ := strconv.ParseFloat(v, 64)
				return f
			}
		}
		return 0
	}
	logHas := func(s string) func() error {
		return func() error {
			if p.Exited() {
				return fmt.Errorf("the host exited")
			}
			log, _ := os.ReadFile(p.LogFile)
			if !strings.Contains(string(log), s) {
				return fmt.Errorf("log has no %q", s)
			}
			return nil
		}
	}
	readyz := func(want ...string) {
		t.Helper()
		testenv.Eventually(t, 10*time.Second, func() error {
			body := get(probe, "/readyz")
			if !strings.HasPrefix(body, "ok") {
				return fmt.Errorf("/readyz: %q", body)
			}
			if len(want) == 0 && body != "ok" {
				return fmt.Errorf("/readyz: %q, want ok", body)
			}
			for _, w := range want {
				if !strings.Contains(body, w) {
					return fmt.Errorf("/readyz has no %q: %q", w, body)
				}
			}
			return nil
		})
	}
	errorsRise := func() {
		t.Helper()
		before := reloads("error")
		testenv.Eventually(t, 10*time.Second, func() error {
			if n := reloads("error"); n <= before {
				return fmt.Errorf("wasmctl_plugin_reloads_total{result=error} %v, not above %v", n, before)
			}
			return nil
		})
	}

	ns := env.Namespace(t, nil, "oci-reload")
	const by = "stamp.wasmctl.dev/by"
	stamped := func(name, want string) {
		t.Helper()
		testenv.Eventually(t, 20*time.Second, func() error {
			cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if got := cm.Annotations[by]; got != want {
				return fmt.Errorf("ConfigMap %s stamped %q, want %q", name, got, want)
			}
			return nil
		})
	}
	create := func(name string) {
		t.Helper()
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"stamp.wasmctl.dev/enabled": "true"}}}
		if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	// 1. v1 from the registry reconciles.
	create("a")
	stamped("a", "1.0.0")
	readyz()
	pid := p.Pid()

	// 2. The tag moves to v2, signed: polled, verified, swapped in; the
	// existing object is reconciled again by the new plugin.
	d2 := push(v2, "--sign-key", priv)
	stamped("a", "2.0.0")
	testenv.Eventually(t, 5*time.Second, logHas(`"Plugin reloaded" logger="reload" controller="stamp" plugin="`+ref+"@"+d2+`"`))
	if n := reloads("success"); n != 1 {
		t.Errorf("wasmctl_plugin_reloads_total{result=success} %v after one move of the tag, want 1", n)
	}
	if p.Exited() || p.Pid() != pid {
		t.Fatal("the host restarted to swap the plugin")
	}
	readyz()

	// 3. The tag moves to v1 signed with another key, then unsigned:
	// refused, v2 keeps running.
	push(v1, "--sign-key", wrongPriv, "--annotation", "test=wrong-key")
	testenv.Eventually(t, 10*time.Second, logHas("no signature verifies with "+filepath.Join(dir, "cosign.pub")))
	readyz("reload of stamp (", "failed, previous plugin running", "verify the signature: no signature verifies with")
	errorsRise()
	create("b")
	stamped("b", "2.0.0")

	push(v1, "--annotation", "test=unsigned")
	testenv.Eventually(t, 10*time.Second, logHas("verify the signature: unsigned: no sigstore bundle"))
	readyz("failed, previous plugin running", "unsigned: no sigstore bundle")
	errorsRise()
	create("c")
	stamped("c", "2.0.0")
	stamped("a", "2.0.0")

	// 4. The registry goes down: polls fail, v2 stays, the host lives.
	reg.Down()
	testenv.Eventually(t, 10*time.Second, logHas("resolve the tag: "))
	readyz("failed, previous plugin running", "resolve the tag: ")
	errorsRise()
	create("d")
	stamped("d", "2.0.0")
	if h := get(probe, "/healthz"); h != "ok" || p.Exited() {
		t.Fatalf("the host with its registry down: /healthz %q, exited %v", h, p.Exited())
	}

	// 5. A restart with the registry down: the tag's cached digest is the
	// last one verified (v2), not the unsigned artifact the tag points at.
	if err := p.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	start("host-oci-2")
	testenv.Eventually(t, 20*time.Second, logHas(`"Registry unreachable; using the digest the tag had last" controller="stamp" plugin="`+ref+`" digest="`+d2+`"`))
	create("e")
	stamped("e", "2.0.0")
	readyz("failed, previous plugin running", "resolve the tag: ")

	// Back up with the tag still unsigned: refused; signed at v2 again:
	// what runs matches the tag, /readyz clears.
	reg.Up(t)
	readyz("unsigned: no sigstore bundle")
	push(v2, "--sign-key", priv)
	readyz()
	create("f")
	stamped("f", "2.0.0")
}
