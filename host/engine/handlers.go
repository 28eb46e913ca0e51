package engine

import (
	"reflect"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"

	"wasmctl.dev/wasmctl/host/apply"
)

// addHandlers wires the informers to the queue:
//   - a primary's events enqueue it (and resync re-enqueues every primary);
//   - a child's events enqueue its controller (resolved by kind, name and
//     UID) and settle expectations;
//   - an orphan's events enqueue every primary whose selector matches it;
//   - a related object's events enqueue the primaries it is related to.
func (c *Controller) addHandlers() error {
	if _, err := c.primary.Informer.AddEventHandlerWithResyncPeriod(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: c.primaryUpdated,
		DeleteFunc: c.enqueue,
	}, resyncOr(c.resync)); err != nil {
		return err
	}
	for _, inf := range c.owns {
		if _, err := inf.Informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    c.childAdded,
			UpdateFunc: c.childUpdated,
			DeleteFunc: c.childDeleted,
		}); err != nil {
			return err
		}
	}
	for _, r := range c.related {
		if _, err := r.informer.Informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    c.relatedChanged,
			UpdateFunc: func(_, obj any) { c.relatedChanged(obj) },
			DeleteFunc: c.relatedChanged,
		}); err != nil {
			return err
		}
	}
	return nil
}

// ownerKey returns the key of the primary that controls child, when that
// primary is in the cache with the UID the reference names.
func (c *Controller) ownerKey(child apply.Object) (string, bool) {
	ref := controllerOf(child)
	if ref == nil || ref.Kind != c.primary.GVK.Kind {
		return "", false
	}
	if gv, err := schema.ParseGroupVersion(ref.APIVersion); err != nil || gv.Group != c.primary.GVK.Group {
		return "", false
	}
	key := ref.Name
	if c.primary.Namespaced {
		key = child.GetNamespace() + "/" + ref.Name
	}
	obj, ok, _ := c.primary.Informer.GetIndexer().GetByKey(key)
	if !ok || obj.(apply.Object).GetUID() != ref.UID {
		return "", false
	}
	return key, true
}

func (c *Controller) childAdded(obj any) {
	child := asObject(obj)
	if child == nil {
		return
	}
	if child.GetDeletionTimestamp() != nil {
		// Seen for the first time already terminating (e.g. after a relist):
		// as good as deleted for expectations.
		c.childDeleted(obj)
		return
	}
	if key, ok := c.ownerKey(child); ok {
		c.expectations.CreationObserved(key)
		c.queue.Add(key)
		return
	}
	if controllerOf(child) == nil {
		c.enqueueMatching(child)
	}
}

func (c *Controller) childUpdated(oldObj, newObj any) {
	old, cur := asObject(oldObj), asObject(newObj)
	if old == nil || cur == nil || old.GetResourceVersion() == cur.GetResourceVersion() {
		return // periodic resync of an owns informer: the primary resync covers it
	}
	labelsChanged := !reflect.DeepEqual(old.GetLabels(), cur.GetLabels())
	if cur.GetDeletionTimestamp() != nil && old.GetDeletionTimestamp() == nil {
		// Graceful deletion has begun: the controller must not wait for the
		// object to disappear before it replaces it.
		if key, ok := c.ownerKey(cur); ok {
			c.expectations.DeletionObserved(key, objectKey(cur))
		}
	}
	oldRef, curRef := controllerOf(old), controllerOf(cur)
	if !reflect.DeepEqual(oldRef, curRef) && oldRef != nil {
		if key, ok := c.ownerKey(old); ok {
			c.queue.Add(key)
		}
	}
	if key, ok := c.ownerKey(cur); ok {
		c.queue.Add(key)
		return
	}
	if curRef == nil && (labelsChanged || oldRef != nil) {
		c.enqueueMatching(cur)
	}
}

func (c *Controller) childDeleted(obj any) {
	child := asObject(obj)
	if child == nil {
		return
	}
	if key, ok := c.ownerKey(child); ok {
		c.expectations.DeletionObserved(key, objectKey(child))
		c.queue.Add(key)
	}
}

// enqueueMatching enqueues the primaries in orphan's namespace whose selector
// matches its labels: they may adopt it.
func (c *Controller) enqueueMatching(orphan apply.Object) {
	objs, err := c.primary.Informer.GetIndexer().ByIndex(cache.NamespaceIndex, orphan.GetNamespace())
	if err != nil {
		return
	}
	set := labels.Set(orphan.GetLabels())
	for _, o := range objs {
		p := o.(apply.Object)
		if sel := selectorOf(p); sel != nil && sel.Matches(set) {
			c.queue.Add(objectKey(p))
		}
	}
}

// relatedChanged enqueues the primaries a changed related object feeds.
// For siblingChildren: the siblings of the object's controller; for the
// namespace and all selections: every primary in the namespace, or all.
func (c *Controller) relatedChanged(obj any) {
	u := asObject(obj)
	if u == nil {
		return
	}
	for _, r := range c.related {
		if !sameKind(u, r.informer.GVK) {
			continue
		}
		if r.selector != nil && !r.selector.Matches(labels.Set(u.GetLabels())) {
			continue
		}
		switch r.Select {
		case "siblingChildren":
			ownerKey, ok := c.ownerKey(u)
			if !ok {
				continue
			}
			owner, exists, _ := c.primary.Informer.GetIndexer().GetByKey(ownerKey)
			if !exists {
				continue
			}
			grand := controllerOf(owner.(apply.Object))
			if grand == nil {
				continue
			}
			sibs, _ := c.primary.Informer.GetIndexer().ByIndex(IndexControllerUID, string(grand.UID))
			for _, s := range sibs {
				if k := objectKey(s.(apply.Object)); k != ownerKey {
					c.queue.Add(k)
				}
			}
		case "namespace":
			objs, _ := c.primary.Informer.GetIndexer().ByIndex(cache.NamespaceIndex, u.GetNamespace())
			c.enqueueAll(objs)
		case "all":
			c.enqueueAll(c.primary.Informer.GetIndexer().List())
		}
	}
}

// enqueueAll enqueues the primaries among objs.
func (c *Controller) enqueueAll(objs []any) {
	for _, o := range objs {
		if p := o.(apply.Object); c.isPrimary(p) {
			c.queue.Add(objectKey(p))
		}
	}
}
