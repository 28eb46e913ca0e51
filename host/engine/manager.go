package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/host/apply"
	"wasmctl.dev/wasmctl/host/config"
	"wasmctl.dev/wasmctl/host/metrics"
	"wasmctl.dev/wasmctl/host/runtime"
)

// Manager owns the shared cache and every controller of one host process.
type Manager struct {
	cfg         *config.Config
	cache       *Cache
	controllers []*Controller
	plugins     []*runtime.Plugin
	runtime     *runtime.Runtime
	broadcaster record.EventBroadcaster
	metrics     *metrics.Metrics

	synced  chan struct{}
	reloads sync.Map // controller name -> ReloadResult
}

// Options for New.
type Options struct {
	Config     *config.Config
	RESTConfig *rest.Config
	// Metrics; nil: a new registry.
	Metrics *metrics.Metrics
	// Now is the clock handed to plugins; nil: time.Now.
	Now func() time.Time
}

// New loads and validates every plugin, resolves the kinds against the API
// server's discovery and builds the controllers. Nothing runs until Run. Any
// error names the config key at fault.
func New(ctx context.Context, opts Options) (_ *Manager, err error) {
	cfg := opts.Config
	m := &Manager{cfg: cfg, metrics: opts.Metrics, synced: make(chan struct{})}
	if m.metrics == nil {
		m.metrics = metrics.New()
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	rc := rest.CopyConfig(opts.RESTConfig)
	rc.QPS, rc.Burst = cfg.QPS, cfg.Burst
	rc.UserAgent = "wasmctl-host"
	// Writes (dynamic and native) share one client rate limit; the informers'
	// lists and watches and the events have their own, as in
	// kube-controller-manager.
	writes := rest.CopyConfig(rc)
	if writes.QPS > 0 && writes.RateLimiter == nil {
		writes.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(writes.QPS, writes.Burst)
	}
	dyn, err := dynamic.NewForConfig(writes)
	if err != nil {
		return nil, err
	}
	native, err := apply.NewNativeClients(writes)
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	proto := rest.CopyConfig(rc)
	proto.ContentType = kruntime.ContentTypeProtobuf
	proto.AcceptContentTypes = kruntime.ContentTypeProtobuf + "," + kruntime.ContentTypeJSON
	typed, err := kubernetes.NewForConfig(proto)
	if err != nil {
		return nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(rc)
	if err != nil {
		return nil, err
	}
	mapper := &cachedMapper{RESTMapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))}
	var minResync time.Duration
	for _, cc := range cfg.Controllers {
		if cc.ResyncPeriod > 0 && (minResync == 0 || cc.ResyncPeriod < minResync) {
			minResync = cc.ResyncPeriod
		}
	}
	m.cache = NewCache(typed, dyn, mapper, minResync)
	m.runtime, err = runtime.New(runtime.Options{CacheDir: cfg.CompilationCacheDir})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			m.closePlugins(context.Background())
		}
	}()
	m.broadcaster = record.NewBroadcaster(record.WithContext(ctx))

	for i := range cfg.Controllers {
		cc := &cfg.Controllers[i]
		at := fmt.Sprintf("controllers[%d]", i)
		plugin, manifest, err := LoadPlugin(ctx, m.runtime, cfg.PluginPath(cc), cc)
		if err != nil {
			return nil, fmt.Errorf("%s.plugin: %w", at, err)
		}
		m.plugins = append(m.plugins, plugin)
		name := cc.Name
		if name == "" {
			name = manifest.Name
		}
		if name == "" {
			return nil, fmt.Errorf("%s.name: required (the plugin's manifest names none)", at)
		}
		ctrl := &Controller{
			name:         name,
			manifest:     manifest,
			perms:        apply.Permissions{For: manifest.For, Owns: manifest.Owns, Extra: manifest.Permissions},
			workers:      cc.Workers,
			resync:       cc.ResyncPeriod,
			cache:        m.cache,
			expectations: NewExpectations(),
			metrics:      m.metrics,
			now:          now,
			recorder:     m.broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "wasmctl-" + name}),
			queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
				workqueue.TypedRateLimitingQueueConfig[string]{Name: name, MetricsProvider: m.metrics.Workqueue}),
		}
		ctrl.plugin.set(plugin, func() { plugin.Close(context.Background()) })
		if cc.Record.Dir != "" {
			if ctrl.requests, err = newRequestLog(filepath.Join(cc.Record.Dir, name), cc.Record.MaxFiles); err != nil {
				return nil, fmt.Errorf("%s.record.dir: %w", at, err)
			}
		}
		if ctrl.config, err = json.Marshal(cc.Config); err != nil {
			return nil, fmt.Errorf("%s.config: %w", at, err)
		}
		if ctrl.primary, err = m.cache.For(gvkOf(manifest.For)); err != nil {
			return nil, fmt.Errorf("%s.for: %w", at, err)
		}
		for j, o := range manifest.Owns {
			inf, err := m.cache.For(gvkOf(o))
			if err != nil {
				return nil, fmt.Errorf("%s.owns[%d]: %w", at, j, err)
			}
			ctrl.owns = append(ctrl.owns, inf)
		}
		for j, r := range manifest.Related {
			switch r.Select {
			case abi.SelectSiblingChildren, abi.SelectSiblingSelected, abi.SelectNamespace, abi.SelectAll:
			default:
				return nil, fmt.Errorf("%s: manifest related[%d].select %q: want siblingChildren, siblingSelected, namespace or all", at, j, r.Select)
			}
			inf, err := m.cache.For(gvkOf(r.Type))
			if err != nil {
				return nil, fmt.Errorf("%s: manifest related[%d]: %w", at, j, err)
			}
			ri := relatedInput{RelatedInput: r, informer: inf}
			if r.LabelSelector != "" {
				if ri.selector, err = labels.Parse(r.LabelSelector); err != nil {
					return nil, fmt.Errorf("%s: manifest related[%d].labelSelector: %w", at, j, err)
				}
			}
			ctrl.related = append(ctrl.related, ri)
		}
		if manifest.Selector != "" {
			if ctrl.forSelector, err = labels.Parse(manifest.Selector); err != nil {
				return nil, fmt.Errorf("%s: manifest selector: %w", at, err)
			}
		}
		ctrl.projections = map[schema.GroupVersionKind]*Projection{}
		for j, f := range manifest.Fields {
			proj, err := NewProjection(fmt.Sprintf("%s/%d", name, j), f.Paths)
			if err != nil {
				return nil, fmt.Errorf("%s: manifest fields[%d]: %w", at, j, err)
			}
			ctrl.projections[gvkOf(f.Type)] = proj
		}
		for j, p := range manifest.Permissions {
			if _, err := mapper.RESTMapping(gvkOf(abi.TypeRef{APIVersion: p.APIVersion, Kind: p.Kind}).GroupKind()); err != nil {
				return nil, fmt.Errorf("%s.permissions[%d]: %w", at, j, err)
			}
		}
		ctrl.applier = &apply.Applier{
			Client: dyn, Native: native, Mapper: mapper, FieldManager: "wasmctl-" + name, Recorder: ctrl.recorder,
			OnResult: func(a *apply.Action, err error) {
				result := "success"
				if err != nil {
					result = "error"
				}
				m.metrics.Actions.WithLabelValues(name, string(a.Op), a.GVK.Kind, result).Inc()
			},
		}
		if err := ctrl.addHandlers(); err != nil {
			return nil, err
		}
		if err := m.metrics.GaugeFunc("wasmctl_plugin_instances", "Live Wasm instances of a controller's plugin.",
			prometheus.Labels{"controller": name}, func() float64 {
				return ctrl.plugin.stat(func(p *runtime.Plugin) float64 { return float64(p.Instances()) })
			}); err != nil {
			return nil, err
		}
		if err := m.metrics.GaugeFunc("wasmctl_plugin_idle_memory_bytes", "Linear memory of a controller's idle Wasm instances (it only grows during an instance's life).",
			prometheus.Labels{"controller": name}, func() float64 {
				return ctrl.plugin.stat(func(p *runtime.Plugin) float64 { return float64(p.IdleMemoryBytes()) })
			}); err != nil {
			return nil, err
		}
		m.controllers = append(m.controllers, ctrl)
	}
	for _, gvr := range m.cache.Resources() {
		if err := m.metrics.GaugeFunc("wasmctl_cache_objects", "Objects in the shared informer cache, per resource.",
			prometheus.Labels{"resource": gvr.String()}, func() float64 { return float64(m.cache.Count(gvr)) }); err != nil {
			return nil, err
		}
	}
	m.broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: cs.CoreV1().Events("")})
	return m, nil
}

// LoadPlugin reads and compiles a plugin and resolves its manifest: the
// plugin's describe output (when it exports describe) overridden by the
// config's for, owns and permissions.
func LoadPlugin(ctx context.Context, rt *runtime.Runtime, path string, cc *config.Controller) (*runtime.Plugin, abi.Manifest, error) {
	var manifest abi.Manifest
	wasm, err := os.ReadFile(path)
	if err != nil {
		return nil, manifest, err
	}
	mem, _ := cc.MemoryLimitBytes()
	maxOut, _ := cc.MaxResponseBytes()
	name := cc.Name
	if name == "" {
		name = path
	}
	p, err := rt.Load(ctx, wasm, runtime.LoadOptions{Name: name, Limits: runtime.Limits{
		MemoryBytes: mem, Timeout: cc.Timeout, MaxOutputBytes: int(maxOut),
	}})
	if err != nil {
		return nil, manifest, err
	}
	if !p.HasExport(abi.ExportReconcile) {
		p.Close(ctx)
		return nil, manifest, fmt.Errorf("%s exports no %q function", path, abi.ExportReconcile)
	}
	if p.HasExport(abi.ExportDescribe) {
		out, err := p.Call(ctx, abi.ExportDescribe, nil)
		if err != nil {
			p.Close(ctx)
			return nil, manifest, fmt.Errorf("describe: %w", err)
		}
		if err := abi.DecodeStrict(out, &manifest); err != nil {
			p.Close(ctx)
			return nil, manifest, fmt.Errorf("describe returned an invalid manifest: %w", err)
		}
		if manifest.ABIVersion != "" && manifest.ABIVersion != abi.Version {
			p.Close(ctx)
			return nil, manifest, fmt.Errorf("plugin speaks ABI %q; this host speaks %q", manifest.ABIVersion, abi.Version)
		}
	}
	if cc.For != nil {
		manifest.For = *cc.For
	}
	if cc.Owns != nil {
		manifest.Owns = cc.Owns
	}
	if cc.Permissions != nil {
		manifest.Permissions = cc.Permissions
	}
	if manifest.For.Kind == "" || manifest.For.APIVersion == "" {
		p.Close(ctx)
		return nil, manifest, errors.New("no for kind: set for: in the config or export describe")
	}
	for j, perm := range manifest.Permissions {
		if err := config.CheckPermission(perm); err != nil {
			p.Close(ctx)
			return nil, manifest, fmt.Errorf("permissions[%d]: %w", j, err)
		}
	}
	return p, manifest, nil
}

// Controllers lists the controllers.
func (m *Manager) Controllers() []*Controller { return m.controllers }

// Metrics returns the manager's metrics.
func (m *Manager) Metrics() *metrics.Metrics { return m.metrics }

// Synced is closed once the caches have synced and workers run.
func (m *Manager) Synced() <-chan struct{} { return m.synced }

// Run starts the informers, waits for them to sync, runs every controller
// and blocks until ctx is done. Then it stops taking keys, lets in-flight
// reconciles finish for up to the configured shutdown timeout, and returns.
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
	logger.Info("Shutting down: finishing in-flight reconciles", "timeout", m.cfg.ShutdownTimeout)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(m.cfg.ShutdownTimeout):
		logger.Info("Shutdown timeout reached; cancelling in-flight reconciles")
		cancelWork()
		<-done
	}
	return nil
}

func (m *Manager) closePlugins(ctx context.Context) {
	for _, p := range m.plugins {
		_ = p.Close(ctx)
	}
	for _, c := range m.controllers {
		if lp := c.plugin.cur.Load(); lp != nil && lp.close != nil {
			lp.close() // a reloaded plugin
		}
	}
	if m.runtime != nil {
		_ = m.runtime.Close(ctx)
	}
}

// GVK returns the primary kind of a controller (for tests).
func (c *Controller) GVK() schema.GroupVersionKind { return c.primary.GVK }
