package engine

import (
	"context"
	"slices"

	"k8s.io/apimachinery/pkg/runtime/schema"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"wasmctl.dev/wasmctl/host/apply"
)

// The orphan sweep removes Manifest.OwnedFinalizers from owned objects that
// no call of the plugin will see: no controller reference, or a controller
// of the for kind that is not in the cache (deleted). Upstream's Job
// controller runs the same cleanup from a queue of its own (orphanQueue);
// here it is generic: any plugin that finalizes its children names the
// finalizer and the host does the rest. One worker: the sweep is rare (a
// primary deleted before its children were finalized) and each item is one
// PATCH.

// sweepKey is an owned object of one kind.
type sweepKey struct {
	gvk schema.GroupVersionKind
	key string
}

func newSweepQueue(name string) workqueue.TypedRateLimitingInterface[sweepKey] {
	return workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[sweepKey](),
		workqueue.TypedRateLimitingQueueConfig[sweepKey]{Name: name + "-orphan-finalizers"})
}

// sweepFinalizers returns the owned finalizers obj carries if nothing but
// the sweep will remove them (see above), else nil.
func (c *Controller) sweepFinalizers(obj apply.Object) []string {
	owned := c.spec.Load().Manifest.OwnedFinalizers
	if len(owned) == 0 {
		return nil
	}
	var held []string
	for _, f := range obj.GetFinalizers() {
		if slices.Contains(owned, f) {
			held = append(held, f)
		}
	}
	if len(held) == 0 {
		return nil
	}
	ref := controllerOf(obj)
	if ref == nil {
		return held
	}
	if !c.refersToFor(ref) {
		return nil // another controller's object
	}
	if _, ok := c.ownerKey(obj); ok {
		return nil // its controller is there: the plugin finalizes it
	}
	return held
}

// maybeSweep queues obj when it needs the sweep.
func (c *Controller) maybeSweep(obj apply.Object) {
	if obj != nil && c.sweepFinalizers(obj) != nil {
		c.sweep.Add(sweepKey{gvk: obj.GetObjectKind().GroupVersionKind(), key: objectKey(obj)})
	}
}

// sweepChildrenOf queues the children of a deleted primary.
func (c *Controller) sweepChildrenOf(primary apply.Object) {
	if primary == nil || len(c.spec.Load().Manifest.OwnedFinalizers) == 0 {
		return
	}
	for _, inf := range c.owns {
		objs, _ := inf.Informer.GetIndexer().ByIndex(indexControllerUID, string(primary.GetUID()))
		for _, o := range objs {
			c.maybeSweep(asObject(o))
		}
	}
}

// runSweep processes the sweep queue until ctx is done.
func (c *Controller) runSweep(ctx context.Context) {
	defer utilruntime.HandleCrashWithContext(ctx)
	go func() {
		<-ctx.Done()
		c.sweep.ShutDown()
	}()
	for c.sweepOne(ctx) {
	}
}

func (c *Controller) sweepOne(ctx context.Context) bool {
	k, shutdown := c.sweep.Get()
	if shutdown {
		return false
	}
	defer c.sweep.Done(k)
	logger := klog.FromContext(ctx).WithValues("controller", c.name, "object", k.key)
	inf := c.ownsInformer(k.gvk)
	if inf == nil {
		c.sweep.Forget(k)
		return true
	}
	obj, exists, err := inf.Informer.GetIndexer().GetByKey(k.key)
	if err != nil || !exists {
		c.sweep.Forget(k)
		return true
	}
	o := asObject(obj)
	held := c.sweepFinalizers(o)
	if held == nil {
		c.sweep.Forget(k)
		return true
	}
	if err := c.applier.RemoveFinalizers(ctx, o, held); err != nil {
		logger.Error(err, "Removing finalizers of an orphaned object failed; retrying with backoff", "finalizers", held)
		c.sweep.AddRateLimited(k)
		return true
	}
	logger.V(2).Info("Removed finalizers of an orphaned object", "finalizers", held)
	c.sweep.Forget(k)
	return true
}
