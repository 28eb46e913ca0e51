package engine

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/host/config"
	"wasmctl.dev/wasmctl/host/runtime"
	"wasmctl.dev/wasmctl/host/spec"
	"wasmctl.dev/wasmctl/internal/wasmbuild"
)

// TestReload: Manager.Reload applies live what it can, reports what needs a
// restart, keeps the running plugin when the new one fails to load, and
// matches controllers by name, not position.
// reloadFixture is a manager over fake clients running the mirror plugin
// as the controllers of the configuration yaml lists, the configuration's
// directory, and load, which writes another configuration there and loads
// it.
func reloadFixture(t *testing.T, yaml string) (m *Manager, dir string, load func(yaml string) *config.Config) {
	t.Helper()
	wasm, err := wasmbuild.Build("", "./testdata/mirror")
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	copyTo(t, wasm, filepath.Join(dir, "mirror.wasm"))
	load = func(yaml string) *config.Config {
		t.Helper()
		path := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(path, []byte("compilationCacheDir: none\ncontrollers:\n"+yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	rt, err := runtime.New(runtime.Options{CacheDir: "none"})
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := spec.LoadAll(t.Context(), rt, load(yaml))
	if err != nil {
		t.Fatal(err)
	}
	mapper := meta.NewDefaultRESTMapper(nil)
	for _, gvk := range []schema.GroupVersionKind{{Group: "test.wasmctl.dev", Version: "v1", Kind: "Mirror"}, cmGVK, corev1.SchemeGroupVersion.WithKind("Secret")} {
		mapper.Add(gvk, meta.RESTScopeNamespace)
	}
	typed := kubefake.NewClientset()
	dyn := dynamicfake.NewSimpleDynamicClient(scheme.Scheme)
	m, err = New(t.Context(), Options{Controllers: loaded, Runtime: rt, Clients: &Clients{Typed: typed, Dynamic: dyn, Writes: dyn, Mapper: mapper}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.closePlugins(context.Background()) })
	return m, dir, load
}

func TestReload(t *testing.T) {
	initial := "  - {name: a, plugin: mirror.wasm, workers: 2, config: {v: 1}}\n  - {name: b, plugin: mirror.wasm}\n"
	m, dir, load := reloadFixture(t, initial)
	cfg := load(initial)
	a, b := m.controller("a"), m.controller("b")
	byName := func(rs []ReloadResult, name string) ReloadResult {
		t.Helper()
		for _, r := range rs {
			if r.Controller == name {
				return r
			}
		}
		t.Fatalf("no result for %s in %+v", name, rs)
		return ReloadResult{}
	}

	// Unchanged: nothing to report.
	if rs := m.Reload(t.Context(), cfg); len(rs) != 0 {
		t.Fatalf("an unchanged configuration reported %+v", rs)
	}

	// Live: config block and workers, with the entries in another order.
	running := a.plugin.cur.Load()
	rs := m.Reload(t.Context(), load("  - {name: b, plugin: mirror.wasm}\n  - {name: a, plugin: mirror.wasm, workers: 3, config: {v: 2}}\n"))
	if r := byName(rs, "a"); r.Err != nil || !slices.Equal(r.Applied, []string{"config", "workers"}) || len(r.RestartRequired) != 0 {
		t.Fatalf("live change: %+v", r)
	}
	if string(a.Spec().Config) != `{"v":2}` || a.Spec().Workers != 3 || a.plugin.cur.Load() != running {
		t.Fatalf("not applied, or the unchanged plugin was reloaded: config %s workers %d", a.Spec().Config, a.Spec().Workers)
	}
	if string(b.Spec().Config) != `{}` {
		t.Fatalf("b took a's config: %s", b.Spec().Config)
	}

	// A new Extism configuration: new instances (their init may read it).
	rs = m.Reload(t.Context(), load("  - {name: b, plugin: mirror.wasm}\n  - {name: a, plugin: mirror.wasm, workers: 3, config: {v: 2}, pluginConfig: {mode: x}}\n"))
	if r := byName(rs, "a"); r.Err != nil || !slices.Equal(r.Applied, []string{"pluginConfig"}) || a.plugin.cur.Load() == running {
		t.Fatalf("pluginConfig change: %+v (plugin replaced: %v)", r, a.plugin.cur.Load() != running)
	}
	rs = m.Reload(t.Context(), load("  - {name: b, plugin: mirror.wasm}\n  - {name: a, plugin: mirror.wasm, workers: 3, config: {v: 2}}\n"))
	if r := byName(rs, "a"); !slices.Equal(r.Applied, []string{"pluginConfig"}) {
		t.Fatalf("pluginConfig removed: %+v", r)
	}

	// A new owns kind: reported, not applied; the config change with it is.
	rs = m.Reload(t.Context(), load("  - {name: b, plugin: mirror.wasm}\n  - {name: a, plugin: mirror.wasm, workers: 3, config: {v: 3}, owns: [{apiVersion: v1, kind: ConfigMap}, {apiVersion: v1, kind: Secret}]}\n"))
	if r := byName(rs, "a"); !slices.Equal(r.RestartRequired, []string{"owns"}) || !slices.Equal(r.Applied, []string{"config"}) {
		t.Fatalf("owns change: %+v", r)
	}
	if len(a.Spec().Owns) != 1 || len(a.Spec().Permissions.Owns) != 1 || string(a.Spec().Config) != `{"v":3}` {
		t.Fatalf("owns applied without its informer (%v), or config not applied (%s)", a.Spec().Owns, a.Spec().Config)
	}
	if st := m.Status(); len(st) != 1 || st[0].Controller != "a" {
		t.Fatalf("status %+v", st)
	}
	if v := testutil.ToFloat64(m.metrics.RestartRequired.WithLabelValues("a")); v != 1 {
		t.Fatalf("wasmctl_restart_required{controller=a} = %v", v)
	}

	// A broken plugin file: the running plugin stays, the error is kept.
	running = b.plugin.cur.Load()
	if err := os.WriteFile(filepath.Join(dir, "broken.wasm"), []byte("not wasm"), 0o644); err != nil {
		t.Fatal(err)
	}
	rs = m.Reload(t.Context(), load("  - {name: b, plugin: broken.wasm}\n  - {name: a, plugin: mirror.wasm, workers: 3, config: {v: 3}, owns: [{apiVersion: v1, kind: ConfigMap}, {apiVersion: v1, kind: Secret}]}\n  - {name: c, plugin: mirror.wasm}\n"))
	if r := byName(rs, "b"); r.Err == nil || !strings.Contains(r.Err.Error(), "not a valid WebAssembly module") || b.plugin.cur.Load() != running {
		t.Fatalf("broken plugin: %+v", r)
	}
	if r := byName(rs, "c"); !slices.Equal(r.RestartRequired, []string{"controller added to the configuration"}) {
		t.Fatalf("added controller: %+v", r)
	}
	if _, err := b.plugin.Call(t.Context(), abi.ExportDescribe, nil); err != nil {
		t.Fatalf("the running plugin no longer answers: %v", err)
	}

	// Removed from the configuration.
	rs = m.Reload(t.Context(), load("  - {name: a, plugin: mirror.wasm, workers: 3, config: {v: 3}}\n"))
	if r := byName(rs, "b"); !slices.Equal(r.RestartRequired, []string{"controller removed from the configuration"}) {
		t.Fatalf("removed controller: %+v", r)
	}
	if r := byName(rs, "a"); len(r.RestartRequired) != 0 {
		t.Fatalf("owns back as it runs: nothing waits for a restart any more: %+v", r)
	}
}

func copyTo(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestReloadFieldsTheCacheLacks: a controller's owned ConfigMaps are cached
// cut to the fields it lists; a reload that reads more of them waits for a
// restart (the running plugin stays, as for a new owns kind), one that
// reads less applies live.
func TestReloadFieldsTheCacheLacks(t *testing.T) {
	entry := func(fields string) string {
		return "  - {name: a, plugin: mirror.wasm, pluginConfig: {fields: " + fields + "}}\n"
	}
	m, _, loadYAML := reloadFixture(t, entry(`"data,metadata.annotations[keep]"`))
	load := func(fields string) *config.Config { return loadYAML(entry(fields)) }
	if m.cache.keep[cmGVK.GroupKind()] == nil {
		t.Fatalf("ConfigMaps cached whole, cut: %v", m.cache.keep)
	}
	a := m.controller("a")
	running := a.plugin.cur.Load()

	rs := m.Reload(t.Context(), load(`"data,metadata.annotations"`))
	if len(rs) != 1 || !slices.Contains(rs[0].RestartRequired, "fields") || slices.Contains(rs[0].Applied, "fields") {
		t.Fatalf("wider fields: %+v", rs)
	}
	if a.plugin.cur.Load() != running || len(a.Spec().Manifest.Fields[0].Paths) != 2 || a.Spec().Manifest.Fields[0].Paths[1] != "metadata.annotations[keep]" {
		t.Fatalf("the plugin that reads more was swapped in, or its fields applied: %v", a.Spec().Manifest.Fields)
	}

	rs = m.Reload(t.Context(), load(`data.x`))
	if len(rs) != 1 || !slices.Contains(rs[0].Applied, "fields") || len(rs[0].RestartRequired) != 0 {
		t.Fatalf("narrower fields: %+v", rs)
	}
	if a.plugin.cur.Load() == running || a.Spec().Manifest.Fields[0].Paths[0] != "data.x" {
		t.Fatalf("narrower fields not applied: %v", a.Spec().Manifest.Fields)
	}
}
