// Package plugintest runs wasmctl plugins in unit tests under the host's own
// runtime and limits: build a plugin package for wasip1 (cached per test
// binary), call reconcile with a request, get the decoded response.
package plugintest

import (
	"context"
	"os"
	"sync"
	"testing"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/host/apply"
	"wasmctl.dev/wasmctl/host/runtime"
	"wasmctl.dev/wasmctl/internal/wasmbuild"
)

// Plugin is a loaded plugin.
type Plugin struct {
	*runtime.Plugin
}

// Build compiles the Go package pkg (import path or ./relative to the test's
// directory) for wasip1 and loads it with the given limits (zero: the
// host's defaults).
func Build(t testing.TB, pkg string, limits runtime.Limits) *Plugin {
	t.Helper()
	path, err := wasmbuild.Build("", pkg)
	if err != nil {
		t.Fatal(err)
	}
	return Load(t, path, limits)
}

// Load loads a .wasm file.
func Load(t testing.TB, path string, limits runtime.Limits) *Plugin {
	t.Helper()
	wasm, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := runtime.New(runtime.Options{CacheDir: "none"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := rt.Load(context.Background(), wasm, runtime.LoadOptions{Name: path, Limits: limits})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return &Plugin{Plugin: p}
}

// Reconcile calls the reconcile export with request (JSON) and decodes the
// response strictly, as the host does.
func (p *Plugin) Reconcile(request []byte) (*abi.ReconcileResponse, error) {
	out, err := p.Call(context.Background(), abi.ExportReconcile, request)
	if err != nil {
		return nil, err
	}
	return apply.Decode(out)
}

var (
	sharedMu sync.Mutex
	shared   = map[string]*Plugin{}
)

// Shared is Build for a plugin used by many tests of a package: it is built
// and loaded once per test binary and never closed.
func Shared(t testing.TB, pkg string) *Plugin {
	t.Helper()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if p, ok := shared[pkg]; ok {
		return p
	}
	path, err := wasmbuild.Build("", pkg)
	if err != nil {
		t.Fatal(err)
	}
	wasm, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := runtime.New(runtime.Options{CacheDir: "none"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := rt.Load(context.Background(), wasm, runtime.LoadOptions{Name: pkg})
	if err != nil {
		t.Fatal(err)
	}
	shared[pkg] = &Plugin{Plugin: p}
	return shared[pkg]
}
