package engine

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"k8s.io/klog/v2"

	"wasmctl.dev/wasmctl/host/config"
	"wasmctl.dev/wasmctl/host/runtime"
	"wasmctl.dev/wasmctl/host/spec"
)

// pluginSlot holds a controller's current plugin and lets it be swapped
// while calls are in flight: a call holds the read lock of the plugin it
// started on; retiring a plugin takes the write lock, so it closes only once
// its last call has returned.
type pluginSlot struct {
	cur atomic.Pointer[livePlugin]
}

type livePlugin struct {
	callable
	inFlight sync.RWMutex
	close    func()
}

func (s *pluginSlot) set(p callable, closeFn func()) (old *livePlugin) {
	return s.cur.Swap(&livePlugin{callable: p, close: closeFn})
}

// Call runs export on the current plugin. A call that raced a swap and
// found its plugin closed is retried once on the new one.
func (s *pluginSlot) Call(ctx context.Context, export string, input []byte) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		lp := s.cur.Load()
		lp.inFlight.RLock()
		out, err := lp.Call(ctx, export, input)
		lp.inFlight.RUnlock()
		var ce *runtime.CallError
		if attempt == 0 && errors.As(err, &ce) && ce.Kind == runtime.FailureClosed && s.cur.Load() != lp {
			continue
		}
		return out, err
	}
}

// stat reads a number from the current plugin (0 when it is not a
// *runtime.Plugin): gauges must follow hot reloads.
func (s *pluginSlot) stat(f func(*runtime.Plugin) float64) float64 {
	if rp, ok := s.cur.Load().callable.(*runtime.Plugin); ok {
		return f(rp)
	}
	return 0
}

// retire closes old once its in-flight calls are done.
func retire(old *livePlugin) {
	if old == nil || old.close == nil {
		return
	}
	go func() {
		old.inFlight.Lock()
		defer old.inFlight.Unlock()
		old.close()
	}()
}

// ReloadResult is the outcome of the last reload of one controller.
type ReloadResult struct {
	Controller string
	Path       string
	// Err is set when the new plugin or spec could not be loaded: the
	// previous one keeps running.
	Err error
	// Applied lists what changed and now runs (plugin, limits, config,
	// workers, ...).
	Applied []string
	// RestartRequired lists what changed and only a restart applies (for,
	// owns, related, record, an added or removed controller).
	RestartRequired []string
}

// Reload applies a new configuration to the running controllers, matched
// by name (never by position): for each entry whose configuration or
// plugin file changed, it loads the plugin and spec anew and applies live
// what it can (spec.Diff): the plugin swaps atomically (calls in flight
// finish on the old one, which is then closed), limits come with it, the
// config: block, permissions, fields, selector and event wording take
// effect at the next reconcile, workers are started or retired, the resync
// timer restarts. Changes that need new informers or files, or fields
// that read more of a kind the cache cuts (cacheFields), are not applied
// and are reported as needing a restart: in the log, on /readyz (Status)
// and in wasmctl_restart_required. A controller that fails to load keeps
// running as it was. Every result is also logged and counted.
func (m *Manager) Reload(ctx context.Context, cfg *config.Config) []ReloadResult {
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	logger := klog.FromContext(ctx).WithName("reload")
	m.status.Delete("") // the configuration loaded: an earlier failure to is over
	var results []ReloadResult
	seen := map[string]bool{}
	for i := range cfg.Controllers {
		cc := &cfg.Controllers[i]
		path, _ := filepath.Abs(cfg.PluginPath(cc))
		c := m.match(cc, path)
		if c != nil {
			seen[c.name] = true
		}
		if cc.ResolveErr != nil {
			// The registry could not be asked, or the artifact did not
			// verify: the running plugin stays.
			name := cc.Name
			if c != nil {
				name = c.name
			}
			results = append(results, ReloadResult{Controller: name, Path: cfg.PluginName(cc), Err: cc.ResolveErr})
			continue
		}
		if c != nil {
			if old := c.spec.Load(); reflect.DeepEqual(old.Entry, *cc) && old.PluginPath == path && fileDigest(path) == old.WasmSHA256 {
				// Nothing changed: what runs is what the configuration
				// asks for, so an earlier failure to reload is over (a
				// registry back up, a broken file put back).
				if r, ok := m.status.Load(c.name); ok && r.(ReloadResult).Err != nil {
					m.status.Delete(c.name)
					logger.Info("Running plugin matches the configuration again", "controller", c.name, "plugin", cfg.PluginName(cc))
				}
				continue
			}
		}
		results = append(results, m.reloadOne(ctx, cfg, i, c, path, seen))
	}
	for _, c := range m.controllers {
		if !seen[c.name] {
			results = append(results, ReloadResult{Controller: c.name, Path: c.spec.Load().PluginPath,
				RestartRequired: []string{"controller removed from the configuration"}})
		}
	}
	for _, r := range results {
		m.record(logger, r)
	}
	return results
}

// match finds the running controller of a configuration entry: by name,
// or, for an entry without one, by plugin file among those without one.
func (m *Manager) match(cc *config.Controller, path string) *Controller {
	for _, c := range m.controllers {
		s := c.spec.Load()
		if cc.Name != "" && c.name == cc.Name {
			return c
		}
		if cc.Name == "" && s.Entry.Name == "" && s.PluginPath == path {
			return c
		}
		// An oci:// plugin's file changes with its digest: the reference
		// is what stays.
		if cc.Name == "" && s.Entry.Name == "" && cc.IsOCI() && s.Entry.Plugin == cc.Plugin {
			return c
		}
	}
	return nil
}

func (m *Manager) reloadOne(ctx context.Context, cfg *config.Config, i int, c *Controller, path string, seen map[string]bool) ReloadResult {
	res := ReloadResult{Controller: cfg.Controllers[i].Name, Path: cfg.PluginName(&cfg.Controllers[i])}
	if c != nil {
		res.Controller = c.name
	}
	if m.runtime == nil {
		res.Err = errors.New("this manager has no runtime to compile plugins with")
		return res
	}
	l, err := spec.Load(ctx, m.runtime, cfg, i)
	if err != nil {
		res.Err = err
		return res
	}
	if c == nil {
		c = m.controller(l.Spec.Name) // an entry without name: by its manifest's
		if c != nil {
			seen[c.name] = true
		}
	}
	if c == nil {
		l.Close()
		res.Controller = l.Spec.Name
		res.RestartRequired = []string{"controller added to the configuration"}
		return res
	}
	res.Controller = c.name
	old := c.spec.Load()
	cur := *l.Spec
	for _, ch := range spec.Diff(old, &cur) {
		if ch.Field == "fields" && !m.cache.covers(&cur) {
			ch.Live = false // reads fields the cache was built without
		}
		if ch.Live {
			res.Applied = append(res.Applied, ch.Field)
		} else {
			res.RestartRequired = append(res.RestartRequired, ch.Field)
		}
	}
	newInstances := slices.Contains(res.Applied, "plugin") || slices.Contains(res.Applied, "pluginConfig")
	if newInstances && slices.ContainsFunc(res.RestartRequired, func(f string) bool {
		return f == "for" || f == "owns" || f == "related" || f == "fields"
	}) {
		// The new module expects inputs this controller's informers do not
		// give (or another kind altogether): it waits for the restart, with
		// the manifest settings it brought; the configuration's own live
		// settings still apply.
		l.Close()
		keep := *old
		keep.Entry, keep.Config, keep.Workers, keep.ResyncPeriod = cur.Entry, cur.Config, cur.Workers, cur.ResyncPeriod
		var applied []string
		for _, f := range res.Applied {
			if f == "config" || f == "workers" || f == "resyncPeriod" {
				applied = append(applied, f)
			} else {
				res.RestartRequired = append(res.RestartRequired, f)
			}
		}
		res.Applied = applied
		m.applySpec(c, old, &keep, len(applied) > 0)
		return res
	}
	// What only a restart applies stays as it runs: the informers and the
	// request log were made for it.
	cur.Name = old.Name
	cur.For, cur.Owns, cur.Related, cur.Record = old.For, old.Owns, old.Related, old.Record
	cur.Manifest.For, cur.Manifest.Owns, cur.Manifest.Related = old.Manifest.For, old.Manifest.Owns, old.Manifest.Related
	cur.Permissions.For, cur.Permissions.Owns = old.Permissions.For, old.Permissions.Owns
	if slices.Contains(res.RestartRequired, "fields") {
		cur.Manifest.Fields, cur.Projections = old.Manifest.Fields, old.Projections
	}
	if !newInstances && !slices.Contains(res.Applied, "limits") {
		l.Close() // same module, limits and Extism config: keep the running instances
	} else {
		retire(c.plugin.set(l.Plugin, closer(l.Plugin)))
	}
	m.applySpec(c, old, &cur, len(res.Applied) > 0)
	return res
}

// applySpec makes cur c's spec and starts what it changes from old.
func (m *Manager) applySpec(c *Controller, old, cur *spec.Controller, changed bool) {
	c.spec.Store(cur)
	if old.Workers != cur.Workers {
		c.setWorkers(cur.Workers)
	}
	if old.ResyncPeriod != cur.ResyncPeriod {
		select {
		case c.resyncNow <- struct{}{}:
		default:
		}
	}
	if changed {
		// A new plugin or config may act differently on the same objects.
		c.enqueueAll(c.primary.Informer.GetIndexer().List())
	}
}

// record keeps r for Status, logs and counts it.
func (m *Manager) record(logger klog.Logger, r ReloadResult) {
	// Record before logging: whoever reads the log may ask /readyz next.
	// The running spec keeps the shape it started with, so each result
	// lists every change still waiting for a restart, not only new ones.
	m.status.Store(r.Controller, r)
	restart := 0.0
	if len(r.RestartRequired) > 0 {
		restart = 1
	}
	m.metrics.RestartRequired.WithLabelValues(r.Controller).Set(restart)
	result := "success"
	if r.Err != nil {
		result = "error"
	}
	m.metrics.PluginReloads.WithLabelValues(r.Controller, result).Inc()
	switch {
	case r.Err != nil && r.Controller == "":
		logger.Error(r.Err, "New configuration is invalid; keeping the running one", "config", r.Path)
	case r.Err != nil:
		logger.Error(r.Err, "Plugin reload failed; the previous plugin keeps running", "controller", r.Controller, "plugin", r.Path)
	case slices.Contains(r.Applied, "plugin"):
		logger.Info("Plugin reloaded", "controller", r.Controller, "plugin", r.Path, "applied", r.Applied)
	case len(r.Applied) > 0:
		logger.Info("Configuration reloaded", "controller", r.Controller, "applied", r.Applied)
	}
	if len(r.RestartRequired) > 0 {
		logger.Info("Configuration changes need a restart of the host to apply", "controller", r.Controller, "restartRequired", r.RestartRequired)
	}
}

// ReloadFailed records a configuration that could not be loaded at all
// (the running one is kept): logged, counted and shown by Status.
func (m *Manager) ReloadFailed(ctx context.Context, path string, err error) {
	m.record(klog.FromContext(ctx).WithName("reload"), ReloadResult{Controller: "", Path: path, Err: err})
}

// Status lists the results of the last reloads that need attention: a
// failed reload (the previous plugin runs) or changes waiting for a
// restart. For /readyz.
func (m *Manager) Status() []ReloadResult {
	var out []ReloadResult
	m.status.Range(func(_, v any) bool {
		if r := v.(ReloadResult); r.Err != nil || len(r.RestartRequired) > 0 {
			out = append(out, r)
		}
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Controller < out[j].Controller })
	return out
}

func fileDigest(path string) [sha256.Size]byte {
	data, err := os.ReadFile(path)
	if err != nil {
		return [sha256.Size]byte{}
	}
	return sha256.Sum256(data)
}
