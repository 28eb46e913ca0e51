package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
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

// Plugin is what a controller calls: a runtime.Plugin, or anything with the
// same contract.
type Plugin interface {
	Call(ctx context.Context, export string, input []byte) ([]byte, error)
}

// ControllerOptions define one controller.
type ControllerOptions struct {
	Name     string
	Plugin   Plugin
	Manifest abi.Manifest
	// Perms are the effective permissions (for, owns, explicit).
	Perms apply.Permissions
	// Config is the controller's config: block as JSON.
	Config       []byte
	Workers      int
	ResyncPeriod time.Duration
}

// Controller runs one plugin over the objects of its for kind.
type Controller struct {
	name     string
	plugin   pluginSlot
	manifest abi.Manifest
	perms    apply.Permissions
	config   []byte
	workers  int
	resync   time.Duration

	cache       *Cache
	primary     *Informer
	owns        []*Informer
	related     []relatedInput
	projections map[schema.GroupVersionKind]*Projection
	// forSelector limits the primaries (Manifest.Selector); nil: all.
	forSelector  labels.Selector
	queue        workqueue.TypedRateLimitingInterface[string]
	expectations *Expectations
	applier      *apply.Applier
	recorder     record.EventRecorder
	metrics      *metrics.Metrics
	now          func() time.Time
	requests     *requestLog // nil unless record: is configured

	// lastErrors holds, per key, the apply error of the previous response,
	// sent in the next request (abi.ReconcileRequest.LastError).
	lastErrors sync.Map // string -> *abi.ApplyError
	// ownWrites holds, per key, the resourceVersion of the controller's
	// last write of the primary, while its echo has not arrived
	// (Manifest.IgnoreOwnWrites).
	ownWrites sync.Map // string -> string
	// awaitingWrite marks keys whose reconcile was deferred until the cache
	// shows the primary write: their echo must enqueue them.
	awaitingWrite sync.Map // string -> struct{}
}

type relatedInput struct {
	abi.RelatedInput
	informer *Informer
	selector labels.Selector // from LabelSelector; nil: everything
}

func gvkOf(t abi.TypeRef) schema.GroupVersionKind {
	gv, _ := schema.ParseGroupVersion(t.APIVersion)
	return gv.WithKind(t.Kind)
}

// Name is the controller's name.
func (c *Controller) Name() string { return c.name }

// Queue exposes the work queue (tests and metrics).
func (c *Controller) Queue() workqueue.TypedRateLimitingInterface[string] { return c.queue }

// Run starts the workers and blocks until ctx is done; then it stops taking
// keys and waits for the in-flight reconciles, which run under workCtx (the
// manager cancels it when the shutdown grace period ends).
func (c *Controller) Run(ctx, workCtx context.Context) {
	defer utilruntime.HandleCrashWithContext(ctx)
	logger := klog.FromContext(ctx).WithValues("controller", c.name)
	logger.Info("Starting workers", "count", c.workers)
	done := make(chan struct{}, c.workers)
	for range c.workers {
		go func() {
			defer func() { done <- struct{}{} }()
			wait.UntilWithContext(ctx, func(ctx context.Context) {
				for c.processNextWorkItem(ctx, workCtx) {
				}
			}, time.Second)
		}()
	}
	<-ctx.Done()
	c.queue.ShutDown()
	for range c.workers {
		<-done
	}
	logger.Info("Workers stopped")
}

func (c *Controller) processNextWorkItem(ctx, workCtx context.Context) bool {
	key, shutdown := c.queue.Get()
	if shutdown {
		return false
	}
	defer c.queue.Done(key)
	if ctx.Err() != nil {
		return false // shutting down: take no new keys
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
	if c.manifest.IgnoreOwnWrites {
		// Marked before the cache is read: if the cache still shows the
		// primary before the controller's last write, that write's echo
		// arrives after this mark and enqueues the key (primaryUpdated).
		c.awaitingWrite.Store(key, struct{}{})
	}
	obj, exists, err := c.primary.Informer.GetIndexer().GetByKey(key)
	if err != nil {
		return 0, err
	}
	if !exists {
		c.expectations.Delete(key)
		c.ownWrites.Delete(key)
		c.awaitingWrite.Delete(key)
		c.lastErrors.Delete(key)
		c.metrics.ReconcileTotal.WithLabelValues(c.name, "gone").Inc()
		return 0, nil
	}
	primary := obj.(apply.Object) // read-only: owned by the cache
	if !c.isPrimary(primary) {
		c.expectations.Delete(key)
		c.awaitingWrite.Delete(key)
		return 0, nil
	}
	if !c.expectations.Satisfied(key) || !c.expectations.PrimaryObserved(key, primary.GetResourceVersion()) {
		logger.V(4).Info("Waiting for the informer to observe earlier writes")
		c.metrics.ReconcileTotal.WithLabelValues(c.name, "skipped").Inc()
		return 0, nil
	}

	c.awaitingWrite.Delete(key)
	req, controlled, orphans, err := c.buildRequest(key, primary)
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

	resp, err := apply.Decode(out)
	var actions []apply.Action
	if err == nil {
		actions, err = apply.Validate(resp, apply.Input{
			Primary:    primary,
			Controlled: controlled,
			Orphans:    orphans,
			Perms:      c.perms,
			Scope:      c.scope,
		})
	}
	if err != nil {
		c.metrics.RefusedResponses.WithLabelValues(c.name).Inc()
		c.metrics.ReconcileTotal.WithLabelValues(c.name, "refused").Inc()
		c.recorder.Eventf(primary, corev1.EventTypeWarning, ReasonResponseRefused, "Response of plugin %s refused, nothing applied: %s", c.name, truncate(err.Error(), 512))
		return 0, err
	}
	for _, ev := range resp.Events {
		c.recorder.Event(primary, string(ev.Type), ev.Reason, ev.Message)
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
		c.expectations.Expect(key, creates, deletes)
	}
	outcome, err := c.applier.Apply(ctx, primary, actions)
	if outcome.CreatesNotDone > 0 {
		c.expectations.LowerCreations(key, outcome.CreatesNotDone)
	}
	for _, d := range outcome.DeletesNotDone {
		c.expectations.DeletionObserved(key, d)
	}
	if err != nil {
		c.metrics.ReconcileTotal.WithLabelValues(c.name, "error").Inc()
		var ae *apply.ActionError
		if errors.As(err, &ae) {
			c.lastErrors.Store(key, ae.AsABI())
			ownedWrite := ae.Action.Owned && (ae.Action.Op == abi.OpCreate || ae.Action.Op == abi.OpDelete)
			// Owned creates and deletes have their own events; a conflict is
			// routine (the cache was behind).
			if !ownedWrite && !apierrors.IsConflict(err) {
				c.recorder.Eventf(primary, corev1.EventTypeWarning, ReasonApplyFailed, "%s", truncate(err.Error(), 512))
			}
		}
		return 0, err
	}
	c.lastErrors.Delete(key)
	if outcome.PrimaryRV != "" && outcome.PrimaryRV != primary.GetResourceVersion() {
		c.expectations.ExpectPrimaryWrite(key, primary.GetResourceVersion())
		if c.manifest.IgnoreOwnWrites {
			c.ownWrites.Store(key, outcome.PrimaryRV)
		}
	}
	c.metrics.ReconcileTotal.WithLabelValues(c.name, "success").Inc()
	if len(actions) > 0 {
		logger.V(2).Info("Applied plugin response", "actions", len(actions), "creates", outcome.CreatesSucceeded)
	}
	return time.Duration(resp.RequeueAfterSeconds * float64(time.Second)), nil
}

func (c *Controller) scope(gvk schema.GroupVersionKind) (bool, error) {
	m, err := c.cache.Mapper().RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return false, err
	}
	return m.Scope.Name() == "namespace", nil
}

// isPrimary reports whether obj passes the manifest's selector.
func (c *Controller) isPrimary(obj apply.Object) bool {
	return c.forSelector == nil || c.forSelector.Matches(labels.Set(obj.GetLabels()))
}

// primaryUpdated enqueues an updated primary, unless the update is only the
// echo of the controller's own last write and the plugin asked to ignore
// those (Manifest.IgnoreOwnWrites).
func (c *Controller) primaryUpdated(oldObj, obj any) {
	if c.manifest.IgnoreOwnWrites {
		old, cur := asObject(oldObj), asObject(obj)
		if old != nil && cur != nil && old.GetResourceVersion() != cur.GetResourceVersion() {
			key := objectKey(cur)
			if rv, ok := c.ownWrites.Load(key); ok && rv == cur.GetResourceVersion() {
				c.ownWrites.Delete(key)
				if _, waiting := c.awaitingWrite.Load(key); !waiting {
					c.metrics.ReconcileTotal.WithLabelValues(c.name, "own_write_ignored").Inc()
					return
				}
			}
		}
	}
	c.enqueue(obj)
}

func (c *Controller) enqueue(obj any) {
	if u := asObject(obj); u != nil && !c.isPrimary(u) {
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
