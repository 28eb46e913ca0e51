package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wasmctl.dev/wasmctl/host/config"
)

func TestOCIPlugins(t *testing.T) {
	const d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		name, yaml string
		check      func(t *testing.T, cfg *config.Config)
		wantErr    string
	}{
		{name: "a tag, global key and poll", yaml: "oci: {publicKey: k.pub, pollInterval: 5m, cacheDir: c}\ncontrollers:\n  - plugin: oci://r.example/backup:v1.2\n",
			check: func(t *testing.T, cfg *config.Config) {
				c := &cfg.Controllers[0]
				if cfg.PublicKeyOf(c) != filepath.Join(cfg.Dir, "k.pub") || cfg.PollIntervalOf(c) != 5*time.Minute || cfg.OCI.CacheDir != filepath.Join(cfg.Dir, "c") {
					t.Fatalf("key %q poll %v cache %q", cfg.PublicKeyOf(c), cfg.PollIntervalOf(c), cfg.OCI.CacheDir)
				}
				if cfg.PluginPath(c) != "" || cfg.PluginName(c) != "oci://r.example/backup:v1.2" {
					t.Fatalf("unresolved: path %q name %q", cfg.PluginPath(c), cfg.PluginName(c))
				}
				c.PluginFile, c.PluginDigest = "/cache/sha256/x", d
				if cfg.PluginPath(c) != "/cache/sha256/x" || cfg.PluginName(c) != "oci://r.example/backup:v1.2@"+d {
					t.Fatalf("resolved: path %q name %q", cfg.PluginPath(c), cfg.PluginName(c))
				}
			}},
		{name: "per controller overrides", yaml: "oci: {publicKey: k.pub, pollInterval: 5m}\ncontrollers:\n  - {plugin: 'oci://r.example/a:v1', publicKey: none, pollInterval: 30s}\n  - {plugin: 'oci://r.example/b@" + d + "'}\n",
			check: func(t *testing.T, cfg *config.Config) {
				a, b := &cfg.Controllers[0], &cfg.Controllers[1]
				if cfg.PublicKeyOf(a) != "" || cfg.PollIntervalOf(a) != 30*time.Second {
					t.Fatalf("a: key %q poll %v", cfg.PublicKeyOf(a), cfg.PollIntervalOf(a))
				}
				if cfg.PollIntervalOf(b) != 0 || cfg.PublicKeyOf(b) == "" {
					t.Fatalf("b (pinned) polled every %v, key %q", cfg.PollIntervalOf(b), cfg.PublicKeyOf(b))
				}
			}},
		{name: "no tag", yaml: "controllers:\n  - plugin: oci://r.example/backup\n", wantErr: "controllers[0].plugin: \"oci://r.example/backup\": name a tag"},
		{name: "poll a digest", yaml: "controllers:\n  - {plugin: 'oci://r.example/b@" + d + "', pollInterval: 1m}\n", wantErr: "controllers[0].pollInterval: oci://r.example/b@" + d + " is pinned by digest"},
		{name: "missing key", yaml: "controllers:\n  - {plugin: 'oci://r.example/b:v1', publicKey: nope.pub}\n", wantErr: "controllers[0].publicKey: stat"},
		{name: "missing global key", yaml: "oci: {publicKey: nope.pub}\ncontrollers:\n  - {plugin: 'oci://r.example/b:v1'}\n", wantErr: "oci.publicKey: stat"},
		{name: "key on a file plugin", yaml: "controllers:\n  - {plugin: p.wasm, publicKey: k.pub}\n", wantErr: "controllers[0]: publicKey and pollInterval apply to oci:// plugins only"},
		{name: "negative poll", yaml: "oci: {pollInterval: -1s}\ncontrollers:\n  - {plugin: 'oci://r.example/b:v1'}\n", wantErr: "oci.pollInterval: must not be negative"},
		{name: "unknown oci key", yaml: "oci: {insecure: true}\ncontrollers:\n  - {plugin: 'oci://r.example/b:v1'}\n", wantErr: "insecure"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := write(t, tc.yaml)
			if err := os.WriteFile(filepath.Join(filepath.Dir(path), "k.pub"), []byte("key"), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Load(path, nil)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, cfg)
		})
	}
}
