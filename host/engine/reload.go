package engine

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"

	"k8s.io/klog/v2"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/host/config"
	"wasmctl.dev/wasmctl/host/runtime"
)

// pluginSlot holds a controller's current plugin and lets it be swapped
// while calls are in flight: a call holds the read lock of the plugin it
// started on; retiring a plugin takes the write lock, so it closes only once
// its last call has returned.
type pluginSlot struct {
	cur atomic.Pointer[livePlugin]
}

type livePlugin struct {
	Plugin
	inFlight sync.RWMutex
	close    func()
}

func (s *pluginSlot) set(p Plugin, closeFn func()) (old *livePlugin) {
	return s.cur.Swap(&livePlugin{Plugin: p, close: closeFn})
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
	if rp, ok := s.cur.Load().Plugin.(*runtime.Plugin); ok {
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

// ReloadResult is the outcome of the last reload of a controller's plugin.
type ReloadResult struct {
	Controller string
	Path       string
	Err        error // nil: the new plugin runs
}

// ReloadPlugin compiles the plugin at path for the named controller and, if
// it loads and its manifest grants the same permissions and inputs as the
// running one, swaps it in atomically: calls in flight finish on the old
// plugin, the next calls use the new one. On any error the old plugin keeps
// running; the error says why.
func (m *Manager) ReloadPlugin(ctx context.Context, name, path string, cc *config.Controller) error {
	c := m.controller(name)
	if c == nil {
		return fmt.Errorf("no controller %q", name)
	}
	err := func() error {
		p, manifest, err := LoadPlugin(ctx, m.runtime, path, cc)
		if err != nil {
			return err
		}
		if err := sameShape(c.manifest, manifest); err != nil {
			p.Close(context.Background())
			return fmt.Errorf("%w: restart the host to apply it", err)
		}
		retire(c.plugin.set(p, func() { p.Close(context.Background()) }))
		return nil
	}()
	// Record before logging: whoever reads the log may ask /readyz next.
	m.reloads.Store(name, ReloadResult{Controller: name, Path: path, Err: err})
	result := "success"
	if err != nil {
		result = "error"
	}
	m.metrics.PluginReloads.WithLabelValues(name, result).Inc()
	if err != nil {
		klog.FromContext(ctx).Error(err, "Plugin reload failed; the previous plugin keeps running", "controller", name, "plugin", path)
	} else {
		klog.FromContext(ctx).Info("Plugin reloaded", "controller", name, "plugin", path)
	}
	return err
}

// FailedReloads lists controllers whose last reload failed (for /readyz).
func (m *Manager) FailedReloads() []ReloadResult {
	var out []ReloadResult
	m.reloads.Range(func(_, v any) bool {
		if r := v.(ReloadResult); r.Err != nil {
			out = append(out, r)
		}
		return true
	})
	return out
}

func (m *Manager) controller(name string) *Controller {
	for _, c := range m.controllers {
		if c.name == name {
			return c
		}
	}
	return nil
}

// sameShape refuses a new manifest that would need new informers or other
// permissions than the running controller has: those take a restart.
func sameShape(old, cur abi.Manifest) error {
	switch {
	case old.For != cur.For:
		return fmt.Errorf("for changed from %s to %s", old.For, cur.For)
	case !reflect.DeepEqual(old.Owns, cur.Owns):
		return fmt.Errorf("owns changed")
	case !reflect.DeepEqual(old.Related, cur.Related):
		return fmt.Errorf("related inputs changed")
	case !reflect.DeepEqual(old.Permissions, cur.Permissions):
		return fmt.Errorf("permissions changed")
	case !reflect.DeepEqual(old.Fields, cur.Fields):
		return fmt.Errorf("fields changed")
	case old.Selector != cur.Selector:
		return fmt.Errorf("selector changed")
	}
	return nil
}
