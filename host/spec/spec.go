package spec

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	pathpkg "path"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/host/apply"
	"wasmctl.dev/wasmctl/host/config"
	"wasmctl.dev/wasmctl/host/oci"
	"wasmctl.dev/wasmctl/host/runtime"
	"wasmctl.dev/wasmctl/internal/projection"
)

// Controller is the validated spec of one controller: its configuration
// entry and its plugin's manifest merged, every string parsed. Read-only
// once built; a hot reload builds a new one.
type Controller struct {
	// Index is the controller's position in the configuration; errors name
	// it as controllers[Index].
	Index int
	// Name is the configuration's name, else the manifest's.
	Name string
	// PluginPath is the plugin file, absolute.
	PluginPath string
	// WasmSHA256 is the digest of the plugin file that was loaded.
	WasmSHA256 [sha256.Size]byte

	// Manifest is the effective manifest: the plugin's describe output with
	// the configuration's for, owns and permissions in place of its own.
	Manifest abi.Manifest
	For      schema.GroupVersionKind
	Owns     []schema.GroupVersionKind
	Related  []Related
	// Selector limits the primaries (Manifest.Selector); nil: all.
	Selector labels.Selector
	// Projections cut the children, orphans and related objects of a kind
	// to the fields the plugin reads (Manifest.Fields).
	Projections map[schema.GroupVersionKind]*projection.Projection
	// OwnedEvents holds the wording of every owns kind, defaults filled.
	OwnedEvents map[schema.GroupVersionKind]abi.OwnedEvents
	// Permissions are what the applier enforces: for, owns and explicit.
	Permissions apply.Permissions

	Limits       runtime.Limits
	Workers      int
	ResyncPeriod time.Duration
	// Config is the controller's config: block as JSON, sent in every
	// request ({} when absent).
	Config json.RawMessage
	Record config.Record

	// Entry is the configuration entry the spec was built from.
	Entry config.Controller
}

// Related is one validated related input.
type Related struct {
	abi.RelatedInput
	GVK schema.GroupVersionKind
	// Selector is LabelSelector parsed; nil: every object.
	Selector labels.Selector
	// WhenPath is When.Path split into its keys; nil without When.
	WhenPath []string
}

// OwnedEventsFor returns the wording of an owned kind (the default for any
// other kind).
func (c *Controller) OwnedEventsFor(gvk schema.GroupVersionKind) abi.OwnedEvents {
	if e, ok := c.OwnedEvents[gvk]; ok {
		return e
	}
	return abi.DefaultOwnedEvents
}

// Loaded is a spec with its compiled plugin.
type Loaded struct {
	Spec   *Controller
	Plugin *runtime.Plugin
}

// Close closes the plugin.
func (l *Loaded) Close() {
	if l != nil && l.Plugin != nil {
		_ = l.Plugin.Close(context.Background())
	}
}

// Load reads and compiles the plugin of cfg.Controllers[i] with the
// entry's limits, calls its describe export (when it has one) and builds
// the spec. Every problem is reported, each named by its configuration key
// or manifest field. The caller owns the returned plugin.
func Load(ctx context.Context, rt *runtime.Runtime, cfg *config.Config, i int) (*Loaded, error) {
	if c := &cfg.Controllers[i]; c.IsOCI() && c.PluginFile == "" {
		// Pulled (or found in the cache) here for every command that
		// loads specs; run's watcher resolves before it reloads.
		if err := cfg.ResolvePlugin(ctx, nil, i, config.ResolveStart); err != nil {
			return nil, err
		}
	}
	cc := cfg.Controllers[i]
	at := fmt.Sprintf("controllers[%d]", i)
	path, err := filepath.Abs(cfg.PluginPath(&cc))
	if err != nil {
		return nil, fmt.Errorf("%s.plugin: %w", at, err)
	}
	wasm, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s.plugin: %w", at, err)
	}
	limits, err := limitsOf(&cc)
	if err != nil {
		return nil, fmt.Errorf("%s.%w", at, err)
	}
	name, shown := cc.Name, path
	if cc.IsOCI() {
		shown = cfg.PluginName(&cc) // the reference, not the cache file
	}
	if name == "" {
		name = filepath.Base(path)
		if ref, err := oci.ParseReference(cc.Plugin); err == nil {
			name = pathpkg.Base(ref.Repository)
		}
	}
	p, err := rt.Load(ctx, wasm, runtime.LoadOptions{Name: name, Limits: limits, Config: cc.PluginConfig})
	if err != nil {
		return nil, fmt.Errorf("%s.plugin %s: %w", at, shown, err)
	}
	described, err := describe(ctx, p)
	if err != nil {
		p.Close(context.Background())
		return nil, fmt.Errorf("%s.plugin %s: %w", at, shown, err)
	}
	s, err := Build(cfg, i, described)
	if err != nil {
		p.Close(context.Background())
		return nil, err
	}
	s.PluginPath, s.WasmSHA256 = path, sha256.Sum256(wasm)
	return &Loaded{Spec: s, Plugin: p}, nil
}

// LoadAll loads every controller of cfg. On error nothing stays open.
func LoadAll(ctx context.Context, rt *runtime.Runtime, cfg *config.Config) ([]*Loaded, error) {
	var out []*Loaded
	names := map[string]int{}
	for i := range cfg.Controllers {
		l, err := Load(ctx, rt, cfg, i)
		if err == nil {
			if j, dup := names[l.Spec.Name]; dup {
				err = fmt.Errorf("controllers[%d]: name %q is also controllers[%d]'s; set name: to tell them apart", i, l.Spec.Name, j)
				l.Close()
			}
		}
		if err != nil {
			for _, l := range out {
				l.Close()
			}
			return nil, err
		}
		names[l.Spec.Name] = i
		out = append(out, l)
	}
	return out, nil
}

// describe returns the plugin's manifest (nil when it exports no describe).
func describe(ctx context.Context, p *runtime.Plugin) (*abi.Manifest, error) {
	if !p.HasExport(abi.ExportReconcile) {
		return nil, fmt.Errorf("exports no %q function: a plugin exports reconcile() -> i32 (an Extism plugin function; Go: //go:wasmexport reconcile, or abi/guest; other languages: docs/PLUGINS.md)", abi.ExportReconcile)
	}
	if !p.HasExport(abi.ExportDescribe) {
		return nil, nil
	}
	out, err := p.Call(ctx, abi.ExportDescribe, nil)
	if err != nil {
		return nil, fmt.Errorf("describe: %w", err)
	}
	var m abi.Manifest
	if err := abi.DecodeStrict(out, &m); err != nil {
		return nil, fmt.Errorf("describe returned an invalid manifest: %w", err)
	}
	return &m, nil
}

func limitsOf(cc *config.Controller) (runtime.Limits, error) {
	mem, err := cc.MemoryLimitBytes()
	if err != nil {
		return runtime.Limits{}, err
	}
	out, err := cc.MaxResponseBytes()
	if err != nil {
		return runtime.Limits{}, err
	}
	return runtime.Limits{MemoryBytes: mem, Timeout: cc.Timeout, MaxOutputBytes: int(out), IdleTimeout: cc.IdleTimeout}, nil
}

// Build merges cfg.Controllers[i] (defaulted and checked by config.Load)
// with the plugin's described manifest (nil: none) and validates the
// result. The error lists every problem found, each named by its
// configuration key or manifest field.
func Build(cfg *config.Config, i int, described *abi.Manifest) (*Controller, error) {
	cc := cfg.Controllers[i]
	at := fmt.Sprintf("controllers[%d]", i)
	var m abi.Manifest
	if described != nil {
		m = *described
	}
	var errs []error
	bad := func(field string, err error) { errs = append(errs, fmt.Errorf("%s: %s: %w", at, field, err)) }
	badf := func(field, format string, args ...any) { bad(field, fmt.Errorf(format, args...)) }

	if m.ABIVersion != "" && m.ABIVersion != abi.Version {
		badf("manifest abiVersion", "the plugin speaks ABI %q; this host speaks %q", m.ABIVersion, abi.Version)
	}
	if cc.For != nil {
		m.For = *cc.For
	}
	if cc.Owns != nil {
		m.Owns = cc.Owns
	}
	if cc.Permissions != nil {
		m.Permissions = cc.Permissions
	}
	s := &Controller{
		Index: i, Name: cc.Name, Manifest: m, Entry: cc,
		Workers: cc.Workers, ResyncPeriod: cc.ResyncPeriod, Record: cc.Record,
		Projections: map[schema.GroupVersionKind]*projection.Projection{},
		OwnedEvents: map[schema.GroupVersionKind]abi.OwnedEvents{},
		Permissions: apply.Permissions{For: m.For, Owns: m.Owns, Extra: m.Permissions},
	}
	if s.Name == "" {
		s.Name = m.Name
	}
	if s.Name == "" {
		badf("name", "required (the plugin's manifest names none)")
	}
	var err error
	if s.Limits, err = limitsOf(&cc); err != nil {
		bad("limits", err)
	}
	if s.Config, err = json.Marshal(orEmpty(cc.Config)); err != nil {
		bad("config", err)
	}

	forField := "manifest for"
	if cc.For != nil {
		forField = "for"
	}
	if m.For.APIVersion == "" || m.For.Kind == "" {
		badf(forField, "no for kind: set for: in the configuration or export describe")
	} else if s.For, err = GVK(m.For); err != nil {
		bad(forField, err)
	}
	ownsField := "manifest owns"
	if cc.Owns != nil {
		ownsField = "owns"
	}
	owned := map[schema.GroupVersionKind]bool{}
	for j, o := range m.Owns {
		gvk, err := GVK(o)
		if err != nil {
			bad(fmt.Sprintf("%s[%d]", ownsField, j), err)
			continue
		}
		if owned[gvk] {
			badf(fmt.Sprintf("%s[%d]", ownsField, j), "%s is listed twice", o)
		}
		owned[gvk] = true
		s.Owns = append(s.Owns, gvk)
	}
	permField := "manifest permissions"
	if cc.Permissions != nil {
		permField = "permissions"
	}
	for j, p := range m.Permissions {
		if err := config.CheckPermission(p); err != nil {
			bad(fmt.Sprintf("%s[%d]", permField, j), err)
		} else if _, err := GVK(abi.TypeRef{APIVersion: p.APIVersion, Kind: p.Kind}); err != nil {
			bad(fmt.Sprintf("%s[%d]", permField, j), err)
		}
	}
	if m.Selector != "" {
		if s.Selector, err = labels.Parse(m.Selector); err != nil {
			badf("manifest selector", "%q: %w", m.Selector, err)
		}
	}
	relNames := map[string]bool{}
	for j, r := range m.Related {
		field := fmt.Sprintf("manifest related[%d]", j)
		rel := Related{RelatedInput: r}
		if r.Name == "" {
			badf(field+".name", "required")
		} else if relNames[r.Name] {
			badf(field+".name", "%q is used twice", r.Name)
		}
		relNames[r.Name] = true
		if rel.GVK, err = GVK(r.Type); err != nil {
			bad(field+".type", err)
		}
		if !validSelect(r.Select) {
			badf(field+".select", "%q: want %s", r.Select, selectList())
		}
		if r.Select == abi.SelectGrandchildren && len(m.Owns) == 0 {
			badf(field+".select", "%q: the children of the primary's children, but the controller owns no kinds", r.Select)
		}
		if r.LabelSelector != "" {
			if rel.Selector, err = labels.Parse(r.LabelSelector); err != nil {
				badf(field+".labelSelector", "%q: %w", r.LabelSelector, err)
			}
		}
		switch {
		case !validWake(r.WakeOn):
			badf(field+".wakeOn", "%q: want %q (deletions only) or nothing (every change)", r.WakeOn, abi.WakeDelete)
		case r.Passive && r.WakeOn != abi.WakeAny:
			badf(field+".wakeOn", "%q on a passive input, which no change wakes: set one or the other", r.WakeOn)
		}
		if r.When != nil {
			if r.When.Path == "" {
				badf(field+".when.path", "required")
			} else if rel.WhenPath, err = projection.SplitPath(r.When.Path); err != nil {
				bad(field+".when.path", err)
			}
		}
		s.Related = append(s.Related, rel)
	}
	for j, f := range m.Fields {
		field := fmt.Sprintf("manifest fields[%d]", j)
		gvk, err := GVK(f.Type)
		if err != nil {
			bad(field+".type", err)
			continue
		}
		if _, dup := s.Projections[gvk]; dup {
			badf(field+".type", "%s has fields twice", f.Type)
			continue
		}
		// The id keys memoised JSON: it changes with the paths, so a
		// reload that changes them is not served the old cut.
		h := fnv.New32a()
		h.Write([]byte(strings.Join(f.Paths, "\x00")))
		proj, err := projection.New(fmt.Sprintf("%s/%d/%08x", s.Name, j, h.Sum32()), f.Paths)
		if err != nil {
			bad(field+".paths", err)
			continue
		}
		s.Projections[gvk] = proj
	}
	for _, o := range s.Owns {
		s.OwnedEvents[o] = abi.DefaultOwnedEvents
	}
	for j, e := range m.OwnedEvents {
		field := fmt.Sprintf("manifest ownedEvents[%d]", j)
		gvk, err := GVK(e.Type)
		if err != nil {
			bad(field+".type", err)
			continue
		}
		if !owned[gvk] {
			if cc.Owns == nil { // the manifest contradicts itself
				badf(field+".type", "%s is not an owns kind", e.Type)
			}
			continue // the configuration's owns left the kind out: nothing to word
		}
		if err := apply.CheckOwnedEvents(e); err != nil {
			bad(field, err)
			continue
		}
		s.OwnedEvents[gvk] = apply.WithDefaults(e)
	}
	for j, f := range m.OwnedFinalizers {
		if msgs := validation.IsQualifiedName(f); len(msgs) > 0 {
			badf(fmt.Sprintf("manifest ownedFinalizers[%d]", j), "%q: %s", f, strings.Join(msgs, "; "))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// GVK parses a TypeRef, refusing what no API server serves: an empty kind
// or a malformed apiVersion ("a/b/c", "/v1").
func GVK(t abi.TypeRef) (schema.GroupVersionKind, error) {
	if t.APIVersion == "" || t.Kind == "" {
		return schema.GroupVersionKind{}, fmt.Errorf("apiVersion and kind are required (got %q, %q)", t.APIVersion, t.Kind)
	}
	gv, err := schema.ParseGroupVersion(t.APIVersion)
	if err != nil || gv.Version == "" {
		return schema.GroupVersionKind{}, fmt.Errorf("apiVersion %q: want version or group/version", t.APIVersion)
	}
	return gv.WithKind(t.Kind), nil
}

func validSelect(s abi.Select) bool {
	for _, v := range abi.Selects {
		if s == v {
			return true
		}
	}
	return false
}

func validWake(w abi.Wake) bool {
	for _, v := range abi.Wakes {
		if w == v {
			return true
		}
	}
	return false
}

func selectList() string {
	out := ""
	for i, v := range abi.Selects {
		switch {
		case i == len(abi.Selects)-1:
			out += " or "
		case i > 0:
			out += ", "
		}
		out += string(v)
	}
	return out
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}
