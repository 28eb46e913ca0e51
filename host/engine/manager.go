package engine

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	"wasmctl.dev/wasmctl/host/config"
	"wasmctl.dev/wasmctl/host/metrics"
	"wasmctl.dev/wasmctl/host/runtime"
	"wasmctl.dev/wasmctl/host/spec"
)

// DefaultShutdownTimeout bounds how long Run waits for in-flight reconciles
// after its context is done, when Options.ShutdownTimeout is zero.
const DefaultShutdownTimeout = 30 * time.Second

// Manager owns the shared cache and every controller of one host process.
type Manager struct {
	cache           *informerCache
	controllers     []*Controller
	runtime         *runtime.Runtime
	broadcaster     record.EventBroadcaster
	metrics         *metrics.Metrics
	shutdownTimeout time.Duration

	synced chan struct{}

	reloadMu sync.Mutex // one reload at a time
	status   sync.Map   // controller name -> ReloadResult
}

// Options for New.
type Options struct {
	// Controllers are the loaded specs, in configuration order. From New on
	// the manager owns their plugins: Run closes them when it returns, New
	// when it fails.
	Controllers []*spec.Loaded
	// Clients talk to the API server (NewClients).
	Clients *Clients
	// Runtime compiles the plugins of hot reloads (Reload); the manager
	// closes it with the plugins. Nil: Reload refuses.
	Runtime *runtime.Runtime
	// ShutdownTimeout bounds the wait for in-flight reconciles once Run's
	// context is done; 0: DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// Metrics; nil: a new registry.
	Metrics *metrics.Metrics
	// Now is the clock handed to plugins; nil: time.Now.
	Now func() time.Time
	// OnIdle is called, on the cache's sweeper goroutine, each time the
	// host goes idle: no reconcile has read the cache for a minute and the
	// memoised JSON of every object has just been dropped. `run` gives
	// debug.FreeOSMemory, so a settled host hands back the pages its busy
	// spell grew (one collection, tens of ms); nil: nothing.
	OnIdle func()
}

// New builds a controller per spec over shared informers, resolving every
// kind against the API server's discovery (a kind not served fails here,
// naming the configuration key). Nothing runs until Run.
func New(ctx context.Context, o Options) (_ *Manager, err error) {
	m := &Manager{
		runtime: o.Runtime, metrics: o.Metrics, shutdownTimeout: o.ShutdownTimeout, synced: make(chan struct{}),
	}
	if m.metrics == nil {
		m.metrics = metrics.New()
	}
	if m.shutdownTimeout == 0 {
		m.shutdownTimeout = DefaultShutdownTimeout
	}
	defer func() {
		if err != nil {
			for _, l := range o.Controllers {
				l.Close()
			}
			if m.runtime != nil {
				_ = m.runtime.Close(context.Background())
			}
		}
	}()
	if o.Clients == nil {
		return nil, errors.New("engine: Options.Clients is required")
	}
	specs := make([]*spec.Controller, len(o.Controllers))
	for i, l := range o.Controllers {
		specs[i] = l.Spec
	}
	keep, err := cacheFields(specs)
	if err != nil {
		return nil, err
	}
	m.cache = newInformerCache(o.Clients.Typed, o.Clients.Dynamic, o.Clients.Mapper, keep)
	m.cache.onIdle = o.OnIdle
	m.broadcaster = record.NewBroadcaster(record.WithContext(ctx))
	for _, l := range o.Controllers {
		s := l.Spec
		c, err := newController(s, l.Plugin, closer(l.Plugin), controllerEnv{
			cache: m.cache, clients: o.Clients, metrics: m.metrics, now: o.Now,
			recorder: m.broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "wasmctl-" + s.Name}),
		})
		if err != nil {
			return nil, err
		}
		m.controllers = append(m.controllers, c)
		if err := m.controllerGauges(c); err != nil {
			return nil, err
		}
		m.metrics.RestartRequired.WithLabelValues(c.name).Set(0)
	}
	for _, gvr := range m.cache.Resources() {
		if err := m.metrics.GaugeFunc("wasmctl_cache_objects", "Objects in the shared informer cache, per resource.",
			prometheus.Labels{"resource": gvr.String()}, func() float64 { return float64(m.cache.Count(gvr)) }); err != nil {
			return nil, err
		}
	}
	if o.Clients.Events != nil {
		m.broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: o.Clients.Events.Events("")})
	}
	return m, nil
}

// FromConfig is what `run` does: it compiles every plugin of cfg, builds
// the clients over rc with cfg's limits and the manager. o.Controllers,
// o.Clients and o.Runtime are filled in; the rest of o is used as given
// (ShutdownTimeout defaults to cfg's).
func FromConfig(ctx context.Context, cfg *config.Config, rc *rest.Config, o Options) (*Manager, error) {
	rt, err := runtime.New(runtime.Options{CacheDir: cfg.CompilationCacheDir})
	if err != nil {
		return nil, err
	}
	loaded, err := spec.LoadAll(ctx, rt, cfg)
	if err != nil {
		rt.Close(context.Background())
		return nil, err
	}
	clients, err := NewClients(rc, cfg.QPS, cfg.Burst)
	if err != nil {
		for _, l := range loaded {
			l.Close()
		}
		rt.Close(context.Background())
		return nil, err
	}
	o.Controllers, o.Clients, o.Runtime = loaded, clients, rt
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = cfg.ShutdownTimeout
	}
	return New(ctx, o)
}

func (m *Manager) controllerGauges(c *Controller) error {
	if err := m.metrics.GaugeFunc("wasmctl_plugin_instances", "Live Wasm instances of a controller's plugin.",
		prometheus.Labels{"controller": c.name}, func() float64 {
			return c.plugin.stat(func(p *runtime.Plugin) float64 { return float64(p.Instances()) })
		}); err != nil {
		return err
	}
	return m.metrics.GaugeFunc("wasmctl_plugin_idle_memory_bytes", "Linear memory of a controller's idle Wasm instances (it only grows during an instance's life).",
		prometheus.Labels{"controller": c.name}, func() float64 {
			return c.plugin.stat(func(p *runtime.Plugin) float64 { return float64(p.IdleMemoryBytes()) })
		})
}

func closer(p *runtime.Plugin) func() {
	return func() { p.Close(context.Background()) }
}

// Controllers lists the controllers.
func (m *Manager) Controllers() []*Controller { return m.controllers }

// Metrics returns the manager's metrics.
func (m *Manager) Metrics() *metrics.Metrics { return m.metrics }

// Synced is closed once the caches have synced and workers run.
func (m *Manager) Synced() <-chan struct{} { return m.synced }

// Run starts the informers, waits for them to sync, runs every controller
// and blocks until ctx is done. Then it stops taking keys, lets in-flight
// reconciles finish for up to the shutdown timeout, closes the plugins and
// returns.
func (m *Manager) Run(ctx context.Context) error {
	logger := klog.FromContext(ctx)
	defer m.closePlugins(context.Background())
	defer m.broadcaster.Shutdown()
	stop := make(chan struct{})
	m.cache.Start(stop)
	defer func() {
		close(stop)
		m.cache.Shutdown()
	}()
	logger.Info("Waiting for informer caches to sync")
	if !m.cache.WaitForSync(ctx.Done()) {
		if ctx.Err() != nil {
			return nil
		}
		return errors.New("failed to sync informer caches")
	}
	close(m.synced)
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	var wg sync.WaitGroup
	for _, c := range m.controllers {
		wg.Go(func() { c.Run(ctx, workCtx) })
	}
	logger.Info("Started controllers", "count", len(m.controllers))
	<-ctx.Done()
	logger.Info("Shutting down: finishing in-flight reconciles", "timeout", m.shutdownTimeout)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(m.shutdownTimeout):
		logger.Info("Shutdown timeout reached; cancelling in-flight reconciles")
		cancelWork()
		<-done
	}
	return nil
}

func (m *Manager) closePlugins(ctx context.Context) {
	for _, c := range m.controllers {
		if lp := c.plugin.cur.Load(); lp != nil && lp.close != nil {
			lp.close()
		}
	}
	if m.runtime != nil {
		_ = m.runtime.Close(ctx)
	}
}

func (m *Manager) controller(name string) *Controller {
	for _, c := range m.controllers {
		if c.name == name {
			return c
		}
	}
	return nil
}
