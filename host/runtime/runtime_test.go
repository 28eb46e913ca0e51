package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wasmctl.dev/wasmctl/host/plugintest"
	"wasmctl.dev/wasmctl/host/runtime"
	"wasmctl.dev/wasmctl/internal/wasmbuild"
)

func load(t testing.TB, pkg string, opts runtime.LoadOptions) *runtime.Plugin {
	t.Helper()
	return plugintest.BuildWith(t, pkg, opts).Plugin
}

func TestGoPDKPlugin(t *testing.T) {
	p := load(t, "./testdata/pdkecho", runtime.LoadOptions{Config: map[string]string{"prefix": "> "}})
	ctx := context.Background()

	t.Run("input output and config", func(t *testing.T) {
		in := strings.Repeat("0123456789", 1000) + "tail" // not a multiple of 8
		out, err := p.Call(ctx, "echo", []byte(in))
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != "> "+in {
			t.Fatalf("echo returned %d bytes, want %d", len(out), len(in)+2)
		}
	})
	t.Run("error", func(t *testing.T) {
		_, err := p.Call(ctx, "fail", []byte("why"))
		var ce *runtime.CallError
		if !errors.As(err, &ce) || ce.Kind != runtime.FailurePluginError || ce.Msg != "failed on purpose: why" {
			t.Fatalf("got %v, want plugin_error with the plugin's message", err)
		}
	})
	t.Run("vars persist per instance", func(t *testing.T) {
		for want := 1; want <= 3; want++ {
			out, err := p.Call(ctx, "vars", nil)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != fmt.Sprint(want) {
				t.Fatalf("call %d: vars = %s", want, out)
			}
		}
	})
	t.Run("missing export", func(t *testing.T) {
		_, err := p.Call(ctx, "nope", nil)
		var ce *runtime.CallError
		if !errors.As(err, &ce) || ce.Kind != runtime.FailureNoExport {
			t.Fatalf("got %v, want no_export", err)
		}
	})
}

func TestContainment(t *testing.T) {
	p := load(t, "./testdata/misbehave", runtime.LoadOptions{Limits: runtime.Limits{
		MemoryBytes:    32 << 20,
		Timeout:        time.Second, // room for the memory bomb on a loaded CI machine
		MaxOutputBytes: 2 << 20,
	}})
	if got := p.Interrupt(); got != runtime.InterruptLoopChecks {
		t.Fatalf("a Go plugin is interrupted by %q, want %q (the cheap loop checks)", got, runtime.InterruptLoopChecks)
	}
	ctx := context.Background()
	cases := []struct {
		input string
		kind  string
	}{
		{"loop", runtime.FailureTimeout},
		{"trap", runtime.FailureTrap}, // a Go panic aborts with unreachable
		{"oom", runtime.FailureMemory},
		{"exit", runtime.FailureExit},
		{"size:xxx", runtime.FailureOutputLimit},
		{"http", runtime.FailureForbidden},
		{"alloc", runtime.FailureOutputLimit},
	}
	for _, tc := range cases {
		t.Run(tc.input, func(t *testing.T) {
			start := time.Now()
			_, err := p.Call(ctx, "run", []byte(tc.input))
			var ce *runtime.CallError
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a CallError", err)
			}
			if ce.Kind != tc.kind {
				t.Fatalf("kind %q (%v), want %q", ce.Kind, err, tc.kind)
			}
			t.Logf("contained in %s: %v", time.Since(start).Round(time.Millisecond), err)
			// The broken instance is gone; the next call gets a fresh one.
			out, err := p.Call(ctx, "run", []byte("echo:still here"))
			if err != nil || string(out) != "still here" {
				t.Fatalf("after %s: %q, %v", tc.input, out, err)
			}
			if n := p.Instances(); n != 1 {
				t.Fatalf("%d live instances, want 1", n)
			}
		})
	}
	t.Run("output under the limit", func(t *testing.T) {
		out, err := p.Call(ctx, "run", []byte("size:x"))
		if err != nil || len(out) != 1<<20 {
			t.Fatalf("got %d bytes, %v", len(out), err)
		}
	})
}

func TestCommandModuleRefused(t *testing.T) {
	dir := t.TempDir()
	src := "package main\nfunc main() {}\n"
	if err := os.WriteFile(dir+"/main.go", []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/go.mod", []byte("module example.com/cmd\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := execGo(t, dir, "build", "-o", "cmd.wasm", ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	wasm, _ := os.ReadFile(dir + "/cmd.wasm")
	rt, _ := runtime.New(runtime.Options{CacheDir: "none"})
	_, err := rt.Load(context.Background(), wasm, runtime.LoadOptions{Name: "cmd"})
	if err == nil || !strings.Contains(err.Error(), "-buildmode=c-shared") {
		t.Fatalf("got %v, want an error naming -buildmode=c-shared", err)
	}
	_, err = rt.Load(context.Background(), []byte("not wasm at all"), runtime.LoadOptions{Name: "junk"})
	if err == nil || !strings.Contains(err.Error(), "not a valid WebAssembly module") {
		t.Fatalf("got %v, want invalid module", err)
	}
}

// TestConcurrentCalls hammers one plugin from many goroutines: each call must
// see its own input and output, and the pool must never grow past
// MaxInstances (default GOMAXPROCS): the other callers wait.
func TestConcurrentCalls(t *testing.T) {
	for _, max := range []int{0, 3} {
		t.Run(fmt.Sprintf("MaxInstances=%d", max), func(t *testing.T) {
			p := load(t, "./testdata/misbehave", runtime.LoadOptions{MaxInstances: max})
			bound := max
			if bound == 0 {
				bound = goruntime.GOMAXPROCS(0)
			}
			const workers, calls = 8, 50
			var wg sync.WaitGroup
			var peak atomic.Int64
			errs := make(chan error, workers)
			for w := range workers {
				wg.Go(func() {
					for i := range calls {
						want := fmt.Sprintf("worker %d call %d", w, i)
						out, err := p.Call(context.Background(), "run", []byte("echo:"+want))
						if err != nil || string(out) != want {
							errs <- fmt.Errorf("got %q, %v; want %q", out, err, want)
							return
						}
						n := int64(p.Instances())
						for old := peak.Load(); n > old && !peak.CompareAndSwap(old, n); old = peak.Load() {
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if n := peak.Load(); n > int64(bound) || n == 0 {
				t.Fatalf("peak of %d instances, want 1..%d", n, bound)
			}
		})
	}
}

// TestWaitForInstance: a call waiting for the one instance gives up when
// its context is done, and gets it once the instance is free.
func TestWaitForInstance(t *testing.T) {
	p := load(t, "./testdata/misbehave", runtime.LoadOptions{MaxInstances: 1, Limits: runtime.Limits{Timeout: time.Second}})
	busy := make(chan error, 1)
	go func() {
		_, err := p.Call(context.Background(), "run", []byte("loop")) // holds the instance for its timeout
		busy <- err
	}()
	time.Sleep(100 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := p.Call(ctx, "run", []byte("echo:x"))
	var ce *runtime.CallError
	if !errors.As(err, &ce) || ce.Kind != runtime.FailureCanceled {
		t.Fatalf("got %v, want canceled while waiting", err)
	}
	if err := <-busy; !errors.As(err, &ce) || ce.Kind != runtime.FailureTimeout {
		t.Fatalf("busy call: %v, want timeout", err)
	}
	if out, err := p.Call(context.Background(), "run", []byte("echo:x")); err != nil || string(out) != "x" {
		t.Fatalf("after: %q, %v", out, err)
	}
}

func execGo(t *testing.T, dir string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	return cmd
}

// TestInterruptModes: a guest spinning in a loop is stopped at its timeout,
// or when the caller's context is done, the same way with the host's loop
// checks and with wazero's mechanism; the instance is replaced after. The
// host's garbage collector runs meanwhile: a collection waits for every
// goroutine, including the one running the guest, so a guest that never
// returns to Go would hang the host (it did, with an earlier design that
// only set a flag from a timer).
func TestInterruptModes(t *testing.T) {
	for _, mode := range []string{runtime.InterruptLoopChecks, runtime.InterruptWazero} {
		opt := ""
		if mode == runtime.InterruptWazero {
			opt = mode
		}
		p := load(t, "./testdata/misbehave", runtime.LoadOptions{Limits: runtime.Limits{Timeout: 300 * time.Millisecond}, Interrupt: opt})
		if p.Interrupt() != mode {
			t.Fatalf("mode %q, want %q", p.Interrupt(), mode)
		}
		for _, tc := range []struct {
			name   string
			cancel time.Duration // cancel the caller's context after this; 0: never
			kind   string
		}{
			{"timeout", 0, runtime.FailureTimeout},
			{"caller canceled", 50 * time.Millisecond, runtime.FailureCanceled},
		} {
			t.Run(mode+"/"+tc.name, func(t *testing.T) {
				ctx := context.Background()
				if tc.cancel > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tc.cancel)
					defer cancel()
				}
				gcDone := make(chan struct{})
				defer close(gcDone)
				go func() {
					for {
						select {
						case <-gcDone:
							return
						default:
							goruntime.GC()
						}
					}
				}()
				start := time.Now()
				_, err := p.Call(ctx, "run", []byte("loop"))
				var ce *runtime.CallError
				if !errors.As(err, &ce) || ce.Kind != tc.kind {
					t.Fatalf("got %v, want kind %q", err, tc.kind)
				}
				if took := time.Since(start); took > 5*time.Second {
					t.Fatalf("stopped after %s", took)
				}
				out, err := p.Call(context.Background(), "run", []byte("echo:ok"))
				if err != nil || string(out) != "ok" {
					t.Fatalf("next call: %q, %v", out, err)
				}
			})
		}
	}
}

// TestRewrittenModuleCached: with a cache directory, the loop-check rewrite
// of a module is kept as one file, and a later load (a warm start) uses it.
func TestRewrittenModuleCached(t *testing.T) {
	path, err := wasmbuild.Build("", "./testdata/misbehave")
	if err != nil {
		t.Fatal(err)
	}
	wasm, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i := range 2 {
		rt, err := runtime.New(runtime.Options{CacheDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		p, err := rt.Load(context.Background(), wasm, runtime.LoadOptions{Name: "m"})
		if err != nil {
			t.Fatal(err)
		}
		if p.Interrupt() != runtime.InterruptLoopChecks {
			t.Fatalf("load %d: %s", i, p.Interrupt())
		}
		if out, err := p.Call(context.Background(), "run", []byte("echo:ok")); err != nil || string(out) != "ok" {
			t.Fatalf("load %d: %q, %v", i, out, err)
		}
		p.Close(context.Background())
		rt.Close(context.Background())
		entries, _ := filepath.Glob(filepath.Join(dir, "wasmctl-interrupt-*", "*"))
		if len(entries) != 1 || !strings.HasSuffix(entries[0], ".wasm") {
			t.Fatalf("load %d: cache entries %v, want one rewritten module", i, entries)
		}
	}
}
