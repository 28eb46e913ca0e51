package cli

import (
	"context"
	"path/filepath"
	"slices"
	"time"

	"github.com/fsnotify/fsnotify"
	"k8s.io/klog/v2"

	"wasmctl.dev/wasmctl/host/config"
	"wasmctl.dev/wasmctl/host/engine"
)

// watchAndReload hot-reloads the configuration and plugins: a change to the
// config file or to a .wasm it names reloads the configuration and hands it
// to engine.Manager.Reload, which applies live what it can and reports what
// needs a restart (log, /readyz, wasmctl_restart_required). An invalid
// configuration keeps the running one (logged, counted, on /readyz).
// Directories are watched, not files, so editors' and ConfigMap volumes'
// atomic renames are seen; events are debounced for 300 ms.
//
// oci:// plugins are resolved anew on every configuration change, and
// their tags polled at their pollInterval: a moved tag is pulled,
// verified and swapped in like a changed file; a registry that cannot be
// reached or an artifact that does not verify keeps the running plugin
// (reported as a failed reload). cur is the configuration run started
// with, its plugins resolved.
func watchAndReload(ctx context.Context, cfgPath string, cur *config.Config, mgr *engine.Manager) {
	logger := klog.FromContext(ctx).WithName("reload")
	w, err := fsnotify.NewWatcher()
	if err != nil {
		logger.Error(err, "Hot reload disabled")
		return
	}
	defer w.Close()
	absCfg, _ := filepath.Abs(cfgPath)
	watched := map[string]bool{}
	watch := func(path string) {
		dir := filepath.Dir(path)
		if !watched[dir] {
			if err := w.Add(dir); err != nil {
				logger.Error(err, "Cannot watch", "dir", dir)
				return
			}
			watched[dir] = true
		}
	}
	plugins := map[string]bool{} // absolute plugin paths
	index := func() {
		clear(plugins)
		for _, c := range mgr.Controllers() {
			if c.Spec().Entry.IsOCI() {
				continue // its cache file never changes: the tag does
			}
			p := c.Spec().PluginPath
			plugins[p] = true
			watch(p)
		}
	}
	index()
	watch(absCfg)
	resolver, err := cur.Resolver()
	if err != nil {
		logger.Error(err, "OCI plugins will not be polled")
	}
	polls := newPoller(cur)

	reload := func(next *config.Config) {
		mgr.Reload(ctx, next) // logged, counted and kept for /readyz inside
		cur = next
		polls.reset(next)
		index()
		for i := range next.Controllers {
			if next.Controllers[i].IsOCI() {
				continue
			}
			p, _ := filepath.Abs(next.PluginPath(&next.Controllers[i]))
			plugins[p] = true // a new path: watched before a restart applies it
			watch(p)
		}
	}
	var timer <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case err := <-w.Errors:
			logger.Error(err, "Watch error")
		case ev := <-w.Events:
			if ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename) == 0 {
				continue
			}
			// A ConfigMap volume swaps a "..data" symlink: any event in the
			// config's directory may be a config change.
			if filepath.Dir(ev.Name) == filepath.Dir(absCfg) || plugins[ev.Name] {
				timer = time.After(300 * time.Millisecond) // let the writer finish
			}
		case <-timer:
			next, err := config.Load(cfgPath, nil)
			if err != nil {
				mgr.ReloadFailed(ctx, cfgPath, err)
				continue
			}
			if resolver == nil {
				resolver, _ = next.Resolver()
			}
			for i := range next.Controllers {
				_ = next.ResolvePlugin(ctx, resolver, i, config.ResolveReload) // kept in ResolveErr
			}
			reload(next)
		case <-polls.C():
			// Only the due tags are asked; the others keep what they run.
			next := *cur
			next.Controllers = slices.Clone(cur.Controllers)
			due := polls.due(&next, time.Now())
			for _, i := range due {
				_ = next.ResolvePlugin(ctx, resolver, i, config.ResolveReload)
			}
			if len(due) > 0 {
				reload(&next)
			} else {
				polls.reset(&next)
			}
		}
	}
}

// poller says which oci:// tags are due for a poll.
type poller struct {
	next  map[string]time.Time // by reference and controller name
	timer *time.Timer
}

func newPoller(cfg *config.Config) *poller {
	p := &poller{next: map[string]time.Time{}, timer: time.NewTimer(time.Hour)}
	p.reset(cfg)
	return p
}

func pollKey(c *config.Controller) string { return c.Name + "\x00" + c.Plugin }

// reset schedules the next poll of every tag of cfg, keeping the due
// times of those already scheduled.
func (p *poller) reset(cfg *config.Config) {
	now := time.Now()
	keep := map[string]time.Time{}
	var first time.Time
	for i := range cfg.Controllers {
		c := &cfg.Controllers[i]
		d := cfg.PollIntervalOf(c)
		if d <= 0 {
			continue
		}
		k := pollKey(c)
		t, ok := p.next[k]
		if !ok || t.After(now.Add(d)) {
			t = now.Add(d)
		}
		keep[k] = t
		if first.IsZero() || t.Before(first) {
			first = t
		}
	}
	p.next = keep
	p.timer.Stop()
	if !first.IsZero() {
		p.timer.Reset(max(time.Until(first), 0))
	}
}

func (p *poller) C() <-chan time.Time { return p.timer.C }

// due returns the controllers of cfg whose poll is due at now, and
// schedules their next one.
func (p *poller) due(cfg *config.Config, now time.Time) []int {
	var out []int
	for i := range cfg.Controllers {
		c := &cfg.Controllers[i]
		k := pollKey(c)
		if t, ok := p.next[k]; ok && !t.After(now) {
			out = append(out, i)
			p.next[k] = now.Add(cfg.PollIntervalOf(c))
		}
	}
	return out
}
