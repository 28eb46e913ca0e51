package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"wasmctl.dev/wasmctl/host/config"
	"wasmctl.dev/wasmctl/host/runtime"
	"wasmctl.dev/wasmctl/host/spec"
	"wasmctl.dev/wasmctl/internal/wasmbuild"
)

// BenchmarkPluginStart is the plugin part of a host start: compile (or load
// from the compilation cache) the plugins of the repository's config.yaml
// (six controllers; since plugins/workloads, one module they share),
// instantiate them and call describe — with a cold cache (new directory)
// and a warm one (what every start after the first one costs).
func BenchmarkPluginStart(b *testing.B) {
	yaml, err := wasmbuild.RepoConfig("../../config.yaml")
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		b.Fatal(err)
	}
	cfg, err := config.Load(path, nil)
	if err != nil {
		b.Fatal(err)
	}
	if len(cfg.Controllers) != 6 {
		b.Fatalf("config.yaml has %d controllers, the benchmark's text says six", len(cfg.Controllers))
	}
	start := func(b *testing.B, dir string) {
		rt, err := runtime.New(runtime.Options{CacheDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		defer rt.Close(context.Background())
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
