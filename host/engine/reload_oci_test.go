package engine

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"

	"wasmctl.dev/wasmctl/host/config"
	"wasmctl.dev/wasmctl/host/metrics"
	"wasmctl.dev/wasmctl/host/oci"
	"wasmctl.dev/wasmctl/host/runtime"
	"wasmctl.dev/wasmctl/host/spec"
	"wasmctl.dev/wasmctl/internal/testregistry"
	"wasmctl.dev/wasmctl/internal/wasmbuild"
)

// TestReloadOCI: a plugin from a registry, signed. A moved tag is swapped
// in; an unsigned artifact on the tag, or a registry that is down, keeps
// the running plugin (error result, metric, Status) until the tag is good
// again; a start with the registry down uses the cached digest.
func TestReloadOCI(t *testing.T) {
	v1, err := wasmbuild.Build("", "./testdata/mirror")
	if err != nil {
		t.Fatal(err)
	}
	v2, err := wasmbuild.Build("", "./testdata/mirror", "wasmctl_portable") // another module, same logic
	if err != nil {
		t.Fatal(err)
	}
	reg := testregistry.Start(t)
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err := os.WriteFile(filepath.Join(dir, "cosign.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(dir, "cache")
	pusher, err := oci.New(oci.Options{CacheDir: t.TempDir(), DockerConfig: filepath.Join(dir, "none.json")})
	if err != nil {
		t.Fatal(err)
	}
	ref := "oci://" + reg.Host + "/controllers/mirror:v1"
	push := func(path string, signed bool) string {
		t.Helper()
		wasm, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		o := oci.PushOptions{}
		if signed {
			o.SignKey = key
		} else {
			// Not the digest of a signed push: its signature would count.
			o.Annotations = map[string]string{"test": "unsigned"}
		}
		a, err := pusher.Push(t.Context(), wasm, ref, o)
		if err != nil {
			t.Fatal(err)
		}
		return a.Digest
	}
	d1 := push(v1, true)
	load := func() *config.Config {
		t.Helper()
		path := filepath.Join(dir, "config.yaml")
		yaml := fmt.Sprintf("compilationCacheDir: none\noci: {cacheDir: cache, publicKey: cosign.pub, dockerConfig: none.json}\ncontrollers:\n  - {name: a, plugin: %q, pollInterval: 1m}\n", ref)
		if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.OCI.CacheDir != cache {
			t.Fatalf("cacheDir %q not relative to the config file", cfg.OCI.CacheDir)
		}
		return cfg
	}
	resolve := func(cfg *config.Config) *config.Config {
		t.Helper()
		_ = cfg.ResolvePlugin(t.Context(), nil, 0, config.ResolveReload)
		return cfg
	}
	rt, err := runtime.New(runtime.Options{CacheDir: "none"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := load()
	loaded, err := spec.LoadAll(t.Context(), rt, cfg) // pulls and verifies
	if err != nil {
		t.Fatal(err)
	}
	if e := loaded[0].Spec.Entry; e.PluginDigest != d1 || !strings.HasPrefix(loaded[0].Spec.PluginPath, cache) {
		t.Fatalf("loaded %s from %s, want %s from the cache", e.PluginDigest, loaded[0].Spec.PluginPath, d1)
	}
	mapper := meta.NewDefaultRESTMapper(nil)
	for _, gvk := range []schema.GroupVersionKind{{Group: "test.wasmctl.dev", Version: "v1", Kind: "Mirror"}, cmGVK} {
		mapper.Add(gvk, meta.RESTScopeNamespace)
	}
	dyn := dynamicfake.NewSimpleDynamicClient(scheme.Scheme)
	mx := metrics.New()
	m, err := New(t.Context(), Options{Controllers: loaded, Runtime: rt, Metrics: mx, Clients: &Clients{Typed: kubefake.NewClientset(), Dynamic: dyn, Writes: dyn, Mapper: mapper}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.closePlugins(t.Context())
	a := m.controller("a")
	errors := func() float64 { return testutil.ToFloat64(mx.PluginReloads.WithLabelValues("a", "error")) }

	// The tag has not moved: nothing to do.
	if rs := m.Reload(t.Context(), resolve(load())); len(rs) != 0 {
		t.Fatalf("an unmoved tag reported %+v", rs)
	}

	// The tag moves: pulled, verified, swapped.
	running := a.plugin.cur.Load()
	d2 := push(v2, true)
	rs := m.Reload(t.Context(), resolve(load()))
	if len(rs) != 1 || rs[0].Err != nil || !slices.Contains(rs[0].Applied, "plugin") || a.plugin.cur.Load() == running {
		t.Fatalf("moved tag: %+v", rs)
	}
	if got := a.Spec().Entry.PluginDigest; got != d2 || rs[0].Path != strings.TrimSuffix(ref, ":v1")+":v1@"+d2 {
		t.Fatalf("running digest %s (result path %s), want %s", got, rs[0].Path, d2)
	}

	// An unsigned module on the tag: refused, the running plugin stays.
	running = a.plugin.cur.Load()
	push(v1, false)
	rs = m.Reload(t.Context(), resolve(load()))
	if len(rs) != 1 || rs[0].Err == nil || !strings.Contains(rs[0].Err.Error(), "unsigned") || a.plugin.cur.Load() != running || a.Spec().Entry.PluginDigest != d2 {
		t.Fatalf("unsigned: %+v", rs)
	}
	if st := m.Status(); len(st) != 1 || st[0].Err == nil || errors() != 1 {
		t.Fatalf("status %+v, error reloads %v", st, errors())
	}

	// The registry goes down during a reload: the running plugin stays.
	reg.Down()
	rs = m.Reload(t.Context(), resolve(load()))
	if len(rs) != 1 || rs[0].Err == nil || !strings.Contains(rs[0].Err.Error(), "resolve the tag") || a.plugin.cur.Load() != running || errors() != 2 {
		t.Fatalf("registry down: %+v", rs)
	}
	t.Logf("registry down: %v", rs[0].Err)

	// A new start while it is down: the tag's cached digest (d2, the last
	// one verified), from the cache alone.
	cold := load()
	l, err := spec.Load(t.Context(), rt, cold, 0)
	if err != nil {
		t.Fatalf("start with the registry down: %v", err)
	}
	l.Close()
	if cold.Controllers[0].PluginDigest != d2 {
		t.Fatalf("started on %s, want the cached %s", cold.Controllers[0].PluginDigest, d2)
	}

	// Back up, the tag signed again at what runs: nothing to swap, and
	// the failure is over.
	reg.Up(t)
	if d := push(v2, true); d != d2 {
		t.Fatalf("the same module pushed again is %s, not %s", d, d2)
	}
	if rs := m.Reload(t.Context(), resolve(load())); len(rs) != 0 {
		t.Fatalf("tag back at the running digest: %+v", rs)
	}
	if st := m.Status(); len(st) != 0 {
		t.Fatalf("status after recovery: %+v", st)
	}
}
