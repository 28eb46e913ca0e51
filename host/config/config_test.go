package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"wasmctl.dev/wasmctl/host/config"
)

func write(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "p.wasm"), []byte("\x00asm"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDefaults(t *testing.T) {
	cfg, err := config.Load(write(t, "controllers:\n  - plugin: p.wasm\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Controllers[0]
	if c.Workers != config.DefaultWorkers || c.ResyncPeriod != config.DefaultResyncPeriod || c.Timeout != time.Second || c.MemoryLimit != "64Mi" {
		t.Fatalf("defaults %+v", c)
	}
	if got := cfg.PluginPath(&c); got != filepath.Join(cfg.Dir, "p.wasm") {
		t.Fatalf("plugin path %s: relative paths resolve against the config's directory", got)
	}
	if n, _ := c.MemoryLimitBytes(); n != 64<<20 {
		t.Fatalf("memory %d", n)
	}
}

func TestErrorsNameTheKey(t *testing.T) {
	cases := []struct{ body, want string }{
		{"controllers:\n  - plugin: p.wasm\n    wrokers: 2\n", "wrokers"},
		{"kubeconfg: x\ncontrollers:\n  - plugin: p.wasm\n", "kubeconfg"},
		{"controllers: []\n", "controllers"},
		{"controllers:\n  - name: a\n", "controllers[0].plugin"},
		{"controllers:\n  - plugin: missing.wasm\n", "controllers[0].plugin"},
		{"controllers:\n  - plugin: p.wasm\n    memoryLimit: lots\n", "controllers[0].memoryLimit"},
		{"controllers:\n  - plugin: p.wasm\n    for: {kind: X}\n", "controllers[0].for"},
		{"controllers:\n  - plugin: p.wasm\n    owns: [{apiVersion: v1}]\n", "controllers[0].owns[0]"},
		{"controllers:\n  - plugin: p.wasm\n    permissions: [{apiVersion: v1, kind: Secret, verbs: [steal]}]\n", "controllers[0].permissions[0]"},
		{"controllers:\n  - {name: a, plugin: p.wasm}\n  - {name: a, plugin: p.wasm}\n", "controllers[1].name"},
		{"controllers:\n  - plugin: p.wasm\n    timeout: soon\n", "timeout"},
		{"controllers: [\n", "config file"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			_, err := config.Load(write(t, tc.body), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error naming %q", err, tc.want)
			}
		})
	}
	if _, err := config.Load(filepath.Join(t.TempDir(), "nope.yaml"), nil); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestEnvAndFlagsOverrideTheFile(t *testing.T) {
	path := write(t, "kubeconfig: from-file\nqps: 5\ncontrollers:\n  - plugin: p.wasm\n")
	t.Setenv("WASMCTL_QPS", "7")
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.QPS != 7 || cfg.Kubeconfig != "from-file" {
		t.Fatalf("env: qps %v kubeconfig %q", cfg.QPS, cfg.Kubeconfig)
	}
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	config.BindFlags(fs)
	if err := fs.Parse([]string{"--config", path, "--kubeconfig", "from-flag"}); err != nil {
		t.Fatal(err)
	}
	cfg, err = config.Load("", fs)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Kubeconfig != "from-flag" {
		t.Fatalf("flag: kubeconfig %q", cfg.Kubeconfig)
	}
}
