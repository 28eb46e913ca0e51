package engine_test

import (
	"context"
	"testing"
	"time"

	"wasmctl.dev/wasmctl/host/config"
	"wasmctl.dev/wasmctl/host/runtime"
	"wasmctl.dev/wasmctl/host/spec"
	"wasmctl.dev/wasmctl/internal/wasmbuild"
)

// BenchmarkPluginStart is the plugin part of a host start: compile (or load
// from the compilation cache) the six workload plugins of config.yaml,
// instantiate them and call describe — with a cold cache (new directory)
// and a warm one (what every start after the first one costs).
func BenchmarkPluginStart(b *testing.B) {
	var paths []string
	for _, p := range []string{"replicaset", "deployment", "statefulset", "daemonset", "job", "cronjob"} {
		path, err := wasmbuild.Build("", "wasmctl.dev/wasmctl/plugins/"+p+"/cmd")
		if err != nil {
			b.Fatal(err)
		}
		paths = append(paths, path)
	}
	start := func(b *testing.B, dir string) {
		rt, err := runtime.New(runtime.Options{CacheDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		defer rt.Close(context.Background())
		cfg := &config.Config{}
		for _, path := range paths {
			cc := config.Controller{Plugin: path, Timeout: 10 * time.Second}
			cc.SetDefaults()
			cfg.Controllers = append(cfg.Controllers, cc)
		}
		loaded, err := spec.LoadAll(context.Background(), rt, cfg)
		if err != nil {
			b.Fatal(err)
		}
		for _, l := range loaded {
			l.Close()
		}
	}
	b.Run("cold-cache", func(b *testing.B) {
		for b.Loop() {
			start(b, b.TempDir())
		}
	})
	b.Run("warm-cache", func(b *testing.B) {
		dir := b.TempDir()
		start(b, dir) // fill it
		for b.Loop() {
			start(b, dir)
		}
	})
}
