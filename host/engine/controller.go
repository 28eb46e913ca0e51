package engine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/host/apply"
	"wasmctl.dev/wasmctl/host/metrics"
	"wasmctl.dev/wasmctl/host/runtime"
	"wasmctl.dev/wasmctl/host/spec"
)

// Event reasons the host records on primaries.
const (
	// ReasonPluginFailed: the plugin call trapped, timed out, ran out of
	// memory or returned an error.
	ReasonPluginFailed = "PluginFailed"
	// ReasonResponseRefused: the response broke the contract or the
	// controller's permissions; nothing of it was applied.
	ReasonResponseRefused = "ResponseRefused"
	// ReasonApplyFailed: the API server refused an action.
	ReasonApplyFailed = "ApplyFailed"
)

// callable is what a controller calls: a runtime.Plugin, or anything with the
// same contract.
type callable interface {
	Call(ctx context.Context, export string, input []byte) ([]byte, error)
}

// Controller runs one plugin over the objects of its for kind.
type Controller struct {
	name string
	// spec is the controller's current spec. Its for, owns and related
	// inputs are fixed at construction (they chose the informers); a hot
	// reload swaps the rest.
	spec   atomic.Pointer[spec.Controller]
	plugin pluginSlot

	cache    *informerCache
	primary  *informer
	owns     []*informer
	related  []*informer // one per spec.Related, in order
	queue    workqueue.TypedRateLimitingInterface[string]
	sweep    workqueue.TypedRateLimitingInterface[sweepKey] // finalizers.go
	keys     *keyStates
	applier  *apply.Applier
	recorder record.EventRecorder
	metrics  *metrics.Metrics
	now      func() time.Time
	requests *requestLog // nil unless record: is configured

	workersMu sync.Mutex
	workers   []context.CancelFunc // one per running worker
	runCtx    context.Context      // set by Run: workers start under it
	workCtx   context.Context      // reconciles run under it
	workersWG sync.WaitGroup
	resyncNow chan struct{} // a new resync period: restart the timer
}

// controllerEnv is what a controller shares with the others of its host.
type controllerEnv struct {
	cache    *informerCache
	clients  *Clients
	recorder record.EventRecorderLogger
	metrics  *metrics.Metrics
	now      func() time.Time
}

// newController builds the controller of s over env: it creates (or
// shares) the informers of its kinds, checks that the kinds of its
// permissions are served, and wires the handlers. closeFn (nil: none)
// closes p once the controller is done with it. Nothing runs until Run.
// Tests build it over client-go's fake clients.
func newController(s *spec.Controller, p callable, closeFn func(), env controllerEnv) (*Controller, error) {
	at := fmt.Sprintf("controllers[%d]", s.Index)
	now := env.now
	if now == nil {
		now = time.Now
	}
	c := &Controller{
		name:      s.Name,
		cache:     env.cache,
		keys:      newKeyStates(now),
		metrics:   env.metrics,
		now:       now,
		recorder:  env.recorder,
		resyncNow: make(chan struct{}, 1),
		sweep:     newSweepQueue(s.Name),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: s.Name, MetricsProvider: env.metrics.Workqueue}),
	}
	c.spec.Store(s)
	c.plugin.set(p, closeFn)
	var err error
	if c.primary, err = env.cache.For(s.For); err != nil {
		return nil, fmt.Errorf("%s.for: %w", at, err)
	}
	for j, o := range s.Owns {
		inf, err := env.cache.For(o)
		if err != nil {
			return nil, fmt.Errorf("%s.owns[%d]: %w", at, j, err)
		}
		c.owns = append(c.owns, inf)
	}
	for j, r := range s.Related {
		inf, err := env.cache.For(r.GVK)
		if err != nil {
			return nil, fmt.Errorf("%s: manifest related[%d]: %w", at, j, err)
		}
		if r.Select == abi.SelectSiblingSelected {
			if err := inf.indexLabels(); err != nil {
				return nil, fmt.Errorf("%s: manifest related[%d]: label index: %w", at, j, err)
			}
		}
		c.related = append(c.related, inf)
	}
	for j, p := range s.Manifest.Permissions {
		gvk, _ := spec.GVK(abi.TypeRef{APIVersion: p.APIVersion, Kind: p.Kind})
		if _, err := env.clients.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
			return nil, fmt.Errorf("%s.permissions[%d]: %w", at, j, err)
		}
	}
	if s.Record.Dir != "" {
		if c.requests, err = newRequestLog(filepath.Join(s.Record.Dir, s.Name), s.Record.MaxFiles); err != nil {
			return nil, fmt.Errorf("%s.record.dir: %w", at, err)
		}
	}
	c.applier = &apply.Applier{
		Client: env.clients.Writes, Native: env.clients.Native, Mapper: env.clients.Mapper,
		FieldManager: "wasmctl-" + s.Name, Recorder: c.recorder,
		OwnedEvents: func(gvk schema.GroupVersionKind) abi.OwnedEvents { return c.spec.Load().OwnedEventsFor(gvk) },
		OnResult: func(a *apply.Action, err error) {
			result := "success"
			if err != nil {
				result = "error"
			}
			c.metrics.Actions.WithLabelValues(c.name, string(a.Op), a.GVK.Kind, result).Inc()
		},
	}
	if err := c.addHandlers(); err != nil {
		return nil, err
	}
	return c, nil
}

// Name is the controller's name.
func (c *Controller) Name() string { return c.name }

// GVK returns the controller's primary kind.
func (c *Controller) GVK() schema.GroupVersionKind { return c.primary.GVK }

// Spec returns the controller's current spec.
func (c *Controller) Spec() *spec.Controller { return c.spec.Load() }

// Run starts the workers and the resync timer and blocks until ctx is
// done; then it stops taking keys and waits for the in-flight reconciles,
// which run under workCtx (the manager cancels it when the shutdown grace
// period ends).
func (c *Controller) Run(ctx, workCtx context.Context) {
	defer utilruntime.HandleCrashWithContext(ctx)
	logger := klog.FromContext(ctx).WithValues("controller", c.name)
	c.workersMu.Lock()
	c.runCtx, c.workCtx = ctx, workCtx
	c.workersMu.Unlock()
	n := c.setWorkers(c.spec.Load().Workers)
	logger.Info("Starting workers", "count", n)
	go c.resyncLoop(ctx)
	go c.runSweep(ctx)
	<-ctx.Done()
	c.queue.ShutDown()
	c.workersWG.Wait()
	logger.Info("Workers stopped")
}

// setWorkers starts or retires workers until n run, and returns how many
// run. A retired worker finishes the key it holds; a key it takes
// afterwards goes back to the queue. Before Run (and after it) it does
// nothing and returns 0: Run starts the spec's count.
func (c *Controller) setWorkers(n int) int {
	c.workersMu.Lock()
	defer c.workersMu.Unlock()
	if c.runCtx == nil || c.runCtx.Err() != nil {
		return 0
	}
	for len(c.workers) < n {
		wctx, cancel := context.WithCancel(c.runCtx)
		c.workers = append(c.workers, cancel)
		c.workersWG.Add(1)
		go func() {
			defer c.workersWG.Done()
			wait.UntilWithContext(wctx, func(ctx context.Context) {
				for c.processNextWorkItem(ctx, c.workCtx) {
				}
			}, time.Second)
		}()
	}
	for len(c.workers) > n {
		c.workers[len(c.workers)-1]()
		c.workers = c.workers[:len(c.workers)-1]
	}
	return len(c.workers)
}

// resyncLoop enqueues every primary once per resync period (re-read after
// each round, so a reload takes effect at the next one).
func (c *Controller) resyncLoop(ctx context.Context) {
	for {
		period := c.spec.Load().ResyncPeriod
		if period <= 0 {
			period = 24 * time.Hour
		}
		t := time.NewTimer(period)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-c.resyncNow:
			t.Stop()
			continue
		case <-t.C:
		}
		c.enqueueAll(c.primary.Informer.GetIndexer().List())
	}
}

func (c *Controller) processNextWorkItem(ctx, workCtx context.Context) bool {
	key, shutdown := c.queue.Get()
	if shutdown {
		return false
	}
	defer c.queue.Done(key)
	if ctx.Err() != nil {
		// Shutting down (the queue is shut down too), or this worker was
		// retired: hand the key to a remaining worker.
		c.queue.Add(key)
		return false
	}
	logger := klog.FromContext(ctx).WithValues("controller", c.name, "key", key)
	start := time.Now()
	requeueAfter, err := c.reconcile(klog.NewContext(workCtx, logger), key)
	c.metrics.ReconcileDuration.WithLabelValues(c.name).Observe(time.Since(start).Seconds())
	if err != nil {
		c.queue.AddRateLimited(key)
		logger.Error(err, "Reconcile failed; retrying with backoff", "retries", c.queue.NumRequeues(key))
		return true
	}
	c.queue.Forget(key)
	if requeueAfter > 0 {
		c.queue.AddAfter(key, requeueAfter)
	}
	return true
}

// reconcile runs the plugin for one key and applies its response.
func (c *Controller) reconcile(ctx context.Context, key string) (time.Duration, error) {
	logger := klog.FromContext(ctx)
	s := c.spec.Load()
	if s.Manifest.IgnoreOwnWrites {
		// Marked before the cache is read: if the cache still shows the
		// primary before the controller's last write, that write's echo
		// arrives after this mark and enqueues the key (primaryUpdated).
		c.keys.setAwaitingWrite(key, true)
	}
	obj, exists, err := c.primary.Informer.GetIndexer().GetByKey(key)
	if err != nil {
		return 0, err
	}
	if !exists {
		c.keys.forget(key)
		c.metrics.ReconcileTotal.WithLabelValues(c.name, "gone").Inc()
		return 0, nil
	}
	primary := obj.(apply.Object) // read-only: owned by the cache
	if !isPrimary(s, primary) {
		c.keys.forget(key)
		return 0, nil
	}
	if c.keys.bind(key, primary.GetUID()) {
		logger.V(2).Info("Primary recreated under the same name: its earlier state is dropped", "uid", primary.GetUID())
	}
	if !c.keys.satisfied(key, primary.GetResourceVersion()) {
		logger.V(4).Info("Waiting for the informer to observe earlier writes")
		c.metrics.ReconcileTotal.WithLabelValues(c.name, "skipped").Inc()
		return 0, nil
	}

	c.keys.setAwaitingWrite(key, false)
	req, controlled, orphans, err := c.buildRequest(s, key, primary)
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	if c.requests != nil {
		if err := c.requests.write(key, req); err != nil {
			logger.Error(err, "Recording the request failed")
		}
	}
	callStart := time.Now()
	out, err := c.plugin.Call(ctx, abi.ExportReconcile, req)
	c.metrics.PluginCallDuration.WithLabelValues(c.name).Observe(time.Since(callStart).Seconds())
	if err != nil {
		reason := "error"
		var ce *runtime.CallError
		if errors.As(err, &ce) {
			reason = ce.Kind
		}
		c.metrics.PluginFailures.WithLabelValues(c.name, reason).Inc()
		c.metrics.ReconcileTotal.WithLabelValues(c.name, "plugin_error").Inc()
		c.recorder.Eventf(primary, corev1.EventTypeWarning, ReasonPluginFailed, "Plugin %s failed (%s): %s", c.name, reason, truncate(err.Error(), 512))
		return 0, err
	}

	resp, actions, err := c.validate(s, out, primary, controlled, orphans)
	if err != nil {
		c.metrics.RefusedResponses.WithLabelValues(c.name).Inc()
		c.metrics.ReconcileTotal.WithLabelValues(c.name, "refused").Inc()
		c.recorder.Eventf(primary, corev1.EventTypeWarning, ReasonResponseRefused, "Response of plugin %s refused, nothing applied: %s", c.name, truncate(err.Error(), 512))
		return 0, err
	}
	// Before applying: the actions are attempted whatever comes of them,
	// and the memo is the plugin's record of having asked for them.
	c.keys.setMemo(key, resp.Memo)
	for _, ev := range resp.Events {
		if !ev.AfterApply {
			c.recorder.Event(primary, string(ev.Type), ev.Reason, ev.Message)
		}
	}

	creates, deletes := 0, []string(nil)
	for _, a := range actions {
		if a.Owned && a.Op == abi.OpCreate {
			creates++
		}
		if a.Owned && a.Op == abi.OpDelete {
			deletes = append(deletes, a.Key)
		}
	}
	if creates > 0 || len(deletes) > 0 {
		c.keys.expect(key, creates, deletes)
	}
	outcome, err := c.applier.Apply(ctx, primary, actions)
	if outcome.CreatesNotDone > 0 {
		c.keys.creationObserved(key, outcome.CreatesNotDone)
	}
	for _, d := range append(outcome.DeletesNotDone, outcome.DeletesGone...) {
		c.keys.deletionObserved(key, d)
	}
	for _, w := range outcome.Written {
		c.keys.childWritten(key, w.Key, w.ResourceVersion)
		// The watch event may have come already (or the write changed
		// nothing and none will): settle it from the cache.
		if inf := c.ownsInformer(w.GVK); inf != nil {
			obj, exists, _ := inf.Informer.GetIndexer().GetByKey(w.Key)
			if !exists {
				c.keys.childObserved(key, w.Key, "")
			} else if o := asObject(obj); o != nil {
				c.keys.childObserved(key, w.Key, o.GetResourceVersion())
			}
		}
	}
	if n := len(outcome.PrimaryRVs); n > 0 && outcome.PrimaryRVs[n-1] != primary.GetResourceVersion() {
		// Recorded on failure too: a write that applied before a later
		// action failed must show in the cache before the next call.
		c.keys.primaryWritten(key, primary.GetResourceVersion(), outcome.PrimaryRVs, s.Manifest.IgnoreOwnWrites)
	}
	if err != nil {
		c.metrics.ReconcileTotal.WithLabelValues(c.name, "error").Inc()
		var ae *apply.ActionError
		if errors.As(err, &ae) {
			c.keys.setLastError(key, ae.AsABI())
			// Owned creates and deletes have their own events, and so have
			// actions with onFailure; a conflict is routine (the cache was
			// behind).
			if !ae.Reported() && !apierrors.IsConflict(err) {
				c.recorder.Eventf(primary, corev1.EventTypeWarning, ReasonApplyFailed, "%s", truncate(err.Error(), 512))
			}
		}
		return 0, err
	}
	c.keys.setLastError(key, nil)
	for _, ev := range resp.Events {
		if ev.AfterApply {
			c.recorder.Event(primary, string(ev.Type), ev.Reason, ev.Message)
		}
	}
	c.metrics.ReconcileTotal.WithLabelValues(c.name, "success").Inc()
	if len(actions) > 0 {
		logger.V(2).Info("Applied plugin response", "actions", len(actions), "creates", outcome.CreatesSucceeded)
	}
	return time.Duration(resp.RequeueAfterSeconds * float64(time.Second)), nil
}

// validate decodes a plugin's output and checks it against the spec's
// permissions: the response as a whole, or nothing.
func (c *Controller) validate(s *spec.Controller, out []byte, primary apply.Object, controlled, orphans map[schema.GroupVersionKind]map[string]bool) (*abi.ReconcileResponse, []apply.Action, error) {
	resp, err := apply.Decode(out)
	if err != nil {
		return nil, nil, err
	}
	actions, err := apply.Validate(resp, apply.Input{
		Primary: primary, Controlled: controlled, Orphans: orphans, Perms: s.Permissions, Scope: c.scope,
	})
	return resp, actions, err
}

func (c *Controller) scope(gvk schema.GroupVersionKind) (bool, error) {
	m, err := c.cache.Mapper().RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return false, err
	}
	return m.Scope.Name() == "namespace", nil
}

// ownsInformer returns the informer of owned kind gvk.
func (c *Controller) ownsInformer(gvk schema.GroupVersionKind) *informer {
	for _, inf := range c.owns {
		if inf.GVK == gvk {
			return inf
		}
	}
	return nil
}

// isPrimary reports whether obj passes the spec's selector.
func isPrimary(s *spec.Controller, obj apply.Object) bool {
	return s.Selector == nil || s.Selector.Matches(labels.Set(obj.GetLabels()))
}

// primaryUpdated enqueues an updated primary, unless the update is only the
// echo of the controller's own last write and the plugin asked to ignore
// those (Manifest.IgnoreOwnWrites).
func (c *Controller) primaryUpdated(oldObj, obj any) {
	if c.spec.Load().Manifest.IgnoreOwnWrites {
		old, cur := asObject(oldObj), asObject(obj)
		if old != nil && cur != nil && old.GetResourceVersion() != cur.GetResourceVersion() {
			key := objectKey(cur)
			if c.keys.isOwnEcho(key, cur.GetResourceVersion()) {
				c.metrics.ReconcileTotal.WithLabelValues(c.name, "own_write_ignored").Inc()
				return
			}
		}
	}
	c.enqueue(obj)
}

// primaryDeleted forgets the key's state at once (as upstream drops a
// deleted ReplicaSet's expectations) and enqueues it.
func (c *Controller) primaryDeleted(obj any) {
	if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
		c.keys.forget(key)
	}
	c.sweepChildrenOf(asObject(obj))
	c.enqueue(obj)
}

func (c *Controller) enqueue(obj any) {
	if u := asObject(obj); u != nil && !isPrimary(c.spec.Load(), u) {
		return // outside the manifest's selector: never reconciled
	}
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	c.queue.Add(key)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
