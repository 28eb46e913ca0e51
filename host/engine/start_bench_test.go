package engine_test

import (
	"context"
	"testing"
	"time"

	"wasmctl.dev/wasmctl/host/config"
	"wasmctl.dev/wasmctl/host/engine"
	"wasmctl.dev/wasmctl/host/runtime"
	"wasmctl.dev/wasmctl/internal/wasmbuild"
)

// BenchmarkPluginStart is the plugin part of a host start: compile (or load
// from the compilation cache) the two sample plugins, instantiate them and
// call describe — with a cold cache (new directory) and a warm one.
func BenchmarkPluginStart(b *testing.B) {
	var paths []string
	for _, p := range []string{"replicaset", "cronjob"} {
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
		for _, path := range paths {
			p, _, err := engine.LoadPlugin(context.Background(), rt, path, &config.Controller{Name: "x", Timeout: 10 * time.Second, MemoryLimit: "64Mi", MaxResponse: "16Mi"})
			if err != nil {
				b.Fatal(err)
			}
			p.Close(context.Background())
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
