package cli

import (
	"context"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	"k8s.io/klog/v2"

	"wasmctl.dev/wasmctl/host/config"
	"wasmctl.dev/wasmctl/host/engine"
)

// watchAndReload hot-reloads plugins: a change to a .wasm the config names,
// or to the config file itself, recompiles the affected plugins and swaps
// them in (engine.Manager.ReloadPlugin). Directories are watched, not
// files, so editors' and ConfigMap volumes' atomic renames are seen.
// Changes other than plugin files and limits (new controllers, for/owns)
// need a restart, and are logged as such.
func watchAndReload(ctx context.Context, cfgPath string, cfg *config.Config, mgr *engine.Manager) {
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
	plugins := map[string]int{} // absolute plugin path -> controller index
	index := func(c *config.Config) {
		clear(plugins)
		for i := range c.Controllers {
			p, _ := filepath.Abs(c.PluginPath(&c.Controllers[i]))
			plugins[p] = i
			watch(p)
		}
	}
	index(cfg)
	watch(absCfg)

	pending := map[string]bool{}
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
			// A ConfigMap volume swaps a "..data" symlink: treat any event in
			// the config's directory as a config change.
			if filepath.Dir(ev.Name) == filepath.Dir(absCfg) || ev.Name == absCfg {
				pending[absCfg] = true
			}
			if _, ok := plugins[ev.Name]; ok {
				pending[ev.Name] = true
			}
			if len(pending) > 0 {
				timer = time.After(300 * time.Millisecond) // let the writer finish
			}
		case <-timer:
			if pending[absCfg] {
				delete(pending, absCfg)
				if next, err := config.Load(cfgPath, nil); err != nil {
					logger.Error(err, "New configuration is invalid; keeping the running one")
				} else {
					for i := range next.Controllers {
						nc := &next.Controllers[i]
						if i >= len(cfg.Controllers) || nc.Name != cfg.Controllers[i].Name {
							logger.Info("Controllers added, removed or renamed in the configuration: restart the host to apply it", "controller", nc.Name)
							continue
						}
						oc := &cfg.Controllers[i]
						if next.PluginPath(nc) != cfg.PluginPath(oc) || nc.Timeout != oc.Timeout || nc.MemoryLimit != oc.MemoryLimit || nc.MaxResponse != oc.MaxResponse {
							p, _ := filepath.Abs(next.PluginPath(nc))
							pending[p] = true
						}
					}
					cfg = next
					index(cfg)
				}
			}
			for path := range pending {
				delete(pending, path)
				i, ok := plugins[path]
				if !ok || i >= len(mgr.Controllers()) {
					continue
				}
				// Logged, counted and kept for /readyz inside.
				_ = mgr.ReloadPlugin(ctx, mgr.Controllers()[i].Name(), path, &cfg.Controllers[i])
			}
		}
	}
}
