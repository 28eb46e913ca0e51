package runtime_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"wasmctl.dev/wasmctl/host/runtime"
	"wasmctl.dev/wasmctl/internal/wasmbuild"
)

// TestSharedModule: plugins loaded from the same bytes share the compiled
// module but nothing else — each has its own Extism config, instances and
// limits, closing one leaves the other working, and a module with another
// memory limit compiles on its own.
func TestSharedModule(t *testing.T) {
	path, err := wasmbuild.Build("", "./testdata/pdkecho")
	if err != nil {
		t.Fatal(err)
	}
	wasm, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := runtime.New(runtime.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(context.Background())
	ctx := context.Background()
	load := func(prefix string, mem uint64) *runtime.Plugin {
		p, err := rt.Load(ctx, wasm, runtime.LoadOptions{Name: prefix, Config: map[string]string{"prefix": prefix}, Limits: runtime.Limits{MemoryBytes: mem}})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	echo := func(p *runtime.Plugin, want string) {
		t.Helper()
		out, err := p.Call(ctx, "echo", []byte("x"))
		if err != nil || string(out) != want {
			t.Fatalf("%s: echo = %q, %v; want %q", p.Name(), out, err, want)
		}
	}
	a, b := load("a:", 0), load("b:", 0)
	other := load("c:", 32<<20)
	if got := runtime.SharedModules(rt); got != 2 {
		t.Fatalf("%d compiled modules for two limits, want 2", got)
	}
	// Concurrent calls on both: each answers with its own config.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { echo(a, "a:x") })
		wg.Go(func() { echo(b, "b:x") })
	}
	wg.Wait()
	echo(other, "c:x")
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Call(ctx, "echo", nil); err == nil {
		t.Fatal("a closed plugin answered")
	}
	echo(b, "b:x") // still compiled, still its instances
	b.Close(ctx)
	other.Close(ctx)
	if got := runtime.SharedModules(rt); got != 0 {
		t.Fatalf("%d compiled modules left after closing every plugin", got)
	}
	// Loading again after the last close compiles (from the cache) anew.
	echo(load("d:", 0), "d:x")
}

// TestIdleInstancesClosed: an instance no call used for IdleTimeout is
// closed (its memory with it) while one in use stays; the next call makes
// a new one.
func TestIdleInstancesClosed(t *testing.T) {
	const idle = 300 * time.Millisecond
	p := load(t, "./testdata/pdkecho", runtime.LoadOptions{Limits: runtime.Limits{IdleTimeout: idle}, MaxInstances: 2})
	ctx := context.Background()
	call := func() {
		t.Helper()
		if _, err := p.Call(ctx, "echo", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	// Two instances: two calls at once.
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for range 20 {
				call()
			}
		})
	}
	wg.Wait()
	if n := p.Instances(); n != 2 {
		t.Skipf("%d instances after concurrent calls (the calls did not overlap)", n)
	}
	// Keep one busy past the timeout: only the other goes.
	deadline := time.Now().Add(2 * idle)
	for time.Now().Before(deadline) {
		call()
		time.Sleep(idle / 10)
	}
	if n := p.Instances(); n != 1 {
		t.Fatalf("%d instances after one stayed idle for %s, want 1", n, 2*idle)
	}
	time.Sleep(2 * idle)
	if n, mem := p.Instances(), p.IdleMemoryBytes(); n != 0 || mem != 0 {
		t.Fatalf("%d instances, %d bytes idle after %s unused, want none", n, mem, 2*idle)
	}
	call()
	if n := p.Instances(); n != 1 {
		t.Fatalf("%d instances after a call on a reaped plugin, want 1", n)
	}
}
