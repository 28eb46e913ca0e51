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

// watchAndReload hot-reloads the configuration and plugins: a change to the
// config file or to a .wasm it names reloads the configuration and hands it
// to engine.Manager.Reload, which applies live what it can and reports what
// needs a restart (log, /readyz, wasmctl_restart_required). An invalid
// configuration keeps the running one (logged, counted, on /readyz).
// Directories are watched, not files, so editors' and ConfigMap volumes'
// atomic renames are seen; events are debounced for 300 ms.
func watchAndReload(ctx context.Context, cfgPath string, mgr *engine.Manager) {
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
			p := c.Spec().PluginPath
			plugins[p] = true
			watch(p)
		}
	}
	index()
	watch(absCfg)

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
			mgr.Reload(ctx, next) // logged, counted and kept for /readyz inside
			index()
			for i := range next.Controllers {
				p, _ := filepath.Abs(next.PluginPath(&next.Controllers[i]))
				plugins[p] = true // a new path: watched before a restart applies it
				watch(p)
			}
		}
	}
}
