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
// host's defaults). The plugin is closed when t ends.
func Build(t testing.TB, pkg string, limits runtime.Limits) *Plugin {
	t.Helper()
	return BuildWith(t, pkg, runtime.LoadOptions{Limits: limits})
}

// BuildWith is Build with every load option (name, limits, Extism config).
func BuildWith(t testing.TB, pkg string, opts runtime.LoadOptions) *Plugin {
	t.Helper()
	path, err := wasmbuild.Build("", pkg)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Name == "" {
		opts.Name = pkg
	}
	return Load(t, path, opts)
}

// Open is Build without a testing.TB, for Examples and tools: it builds pkg
// for wasip1 (once per process: later Opens of the same package only load)
// and loads it with opts. The caller closes the plugin.
func Open(pkg string, opts runtime.LoadOptions) (*Plugin, error) {
	path, err := wasmbuild.Build("", pkg)
	if err != nil {
		return nil, err
	}
	if opts.Name == "" {
		opts.Name = pkg
	}
	return open(path, opts)
}

// Load loads a .wasm file; the plugin is closed when t ends.
func Load(t testing.TB, path string, opts runtime.LoadOptions) *Plugin {
	t.Helper()
	p, err := open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p
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
	p, err := open(path, runtime.LoadOptions{Name: pkg})
	if err != nil {
		t.Fatal(err)
	}
	shared[pkg] = p
	return p
}

func open(path string, opts runtime.LoadOptions) (*Plugin, error) {
	wasm, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	rt, err := runtime.New(runtime.Options{CacheDir: "none"})
	if err != nil {
		return nil, err
	}
	if opts.Name == "" {
		opts.Name = path
	}
	p, err := rt.Load(context.Background(), wasm, opts)
	if err != nil {
		return nil, err
	}
	return &Plugin{Plugin: p}, nil
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
