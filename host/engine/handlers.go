package engine

import (
	"reflect"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/host/apply"
)

// addHandlers wires the informers to the queue:
//   - a primary's events enqueue it (resyncLoop re-enqueues every primary
//     once per resync period);
//   - a child's events enqueue its controller (resolved by kind, name and
//     UID) and settle expectations;
//   - an orphan's events enqueue every primary whose selector matches it;
//   - a related object's events enqueue the primaries whose request would
//     hold it (relatedChanged), unless the input is passive.
func (c *Controller) addHandlers() error {
	if _, err := c.primary.Informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: c.primaryUpdated,
		DeleteFunc: c.primaryDeleted,
	}); err != nil {
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
	// One handler per informer, however many inputs read it.
	seen := map[*informer]bool{}
	for _, inf := range c.related {
		if seen[inf] {
			continue
		}
		seen[inf] = true
		changed := func(obj any) { c.relatedChanged(inf, obj) }
		if _, err := inf.Informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: changed,
			UpdateFunc: func(oldObj, obj any) {
				if o, n := asObject(oldObj), asObject(obj); o != nil && n != nil && !reflect.DeepEqual(o.GetLabels(), n.GetLabels()) {
					changed(oldObj) // it may have left a selection
				}
				changed(obj)
			},
			DeleteFunc: changed,
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
	if !c.refersToFor(ref) {
		return "", false
	}
	ns := ""
	if c.primary.Namespaced {
		ns = child.GetNamespace()
	}
	key := cache.NewObjectName(ns, ref.Name).String()
	obj, ok, _ := c.primary.Informer.GetIndexer().GetByKey(key)
	if !ok || obj.(apply.Object).GetUID() != ref.UID {
		return "", false
	}
	return key, true
}

// refersToFor reports whether ref names an object of the for kind (group
// and kind; any version).
func (c *Controller) refersToFor(ref *metav1.OwnerReference) bool {
	if ref == nil || ref.Kind != c.primary.GVK.Kind {
		return false
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	return err == nil && gv.Group == c.primary.GVK.Group
}

func (c *Controller) childAdded(obj any) {
	child := asObject(obj)
	if child == nil {
		return
	}
	c.maybeSweep(child)
	if child.GetDeletionTimestamp() != nil {
		// Seen for the first time already terminating (e.g. after a relist):
		// as good as deleted for expectations.
		c.childDeleted(obj)
		return
	}
	if key, ok := c.ownerKey(child); ok {
		c.keys.creationObserved(key, 1)
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
		return // a relist that changed nothing
	}
	c.maybeSweep(cur)
	labelsChanged := !reflect.DeepEqual(old.GetLabels(), cur.GetLabels())
	if cur.GetDeletionTimestamp() != nil && old.GetDeletionTimestamp() == nil {
		// Graceful deletion has begun: the controller must not wait for the
		// object to disappear before it replaces it.
		if key, ok := c.ownerKey(cur); ok {
			c.keys.deletionObserved(key, objectKey(cur))
		}
	}
	oldRef, curRef := controllerOf(old), controllerOf(cur)
	if !reflect.DeepEqual(oldRef, curRef) && oldRef != nil {
		if key, ok := c.ownerKey(old); ok {
			// Released (perhaps by this controller's own patch).
			c.keys.childObserved(key, objectKey(cur), cur.GetResourceVersion())
			c.queue.Add(key)
		}
	}
	if key, ok := c.ownerKey(cur); ok {
		c.keys.childObserved(key, objectKey(cur), cur.GetResourceVersion())
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
		c.keys.deletionObserved(key, objectKey(child))
		c.keys.childObserved(key, objectKey(child), "")
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
			c.enqueue(p)
		}
	}
}

// relatedChanged enqueues the primaries whose request holds obj, an object
// of informer from, for each non-passive related input read from it (relatedObjects is the other side
// of each case):
//   - siblingChildren: the siblings of obj's controller (primaries with the
//     same controller owner, obj's controller itself excluded);
//   - siblingSelected: every primary with a controller owner one of whose
//     primaries selects obj;
//   - namespace: every primary in obj's namespace; all: every primary.
func (c *Controller) relatedChanged(from *informer, obj any) {
	u := asObject(obj)
	if u == nil {
		return
	}
	s := c.spec.Load()
	idx := c.primary.Informer.GetIndexer()
	for i, r := range s.Related {
		if r.Passive || c.related[i] != from {
			continue
		}
		if r.Selector != nil && !r.Selector.Matches(labels.Set(u.GetLabels())) {
			continue
		}
		switch r.Select {
		case abi.SelectSiblingChildren:
			ownerKey, ok := c.ownerKey(u)
			if !ok {
				continue
			}
			owner, exists, _ := idx.GetByKey(ownerKey)
			if !exists {
				continue
			}
			if grand := controllerOf(owner.(apply.Object)); grand != nil {
				c.enqueueControlledBy(grand.UID, ownerKey)
			}
		case abi.SelectSiblingSelected:
			objs, _ := idx.ByIndex(cache.NamespaceIndex, u.GetNamespace())
			set := labels.Set(u.GetLabels())
			owners := map[types.UID]bool{}
			for _, o := range objs {
				p := o.(apply.Object)
				ref := controllerOf(p)
				if ref == nil || owners[ref.UID] {
					continue
				}
				if sel := selectorOf(p); sel != nil && sel.Matches(set) {
					owners[ref.UID] = true
					c.enqueueControlledBy(ref.UID, "")
				}
			}
		case abi.SelectNamespace:
			objs, _ := idx.ByIndex(cache.NamespaceIndex, u.GetNamespace())
			c.enqueueAll(objs)
		case abi.SelectAll:
			c.enqueueAll(idx.List())
		}
	}
}

// enqueueControlledBy enqueues the primaries controlled by owner, except
// the one with key skip.
func (c *Controller) enqueueControlledBy(owner types.UID, skip string) {
	objs, _ := c.primary.Informer.GetIndexer().ByIndex(indexControllerUID, string(owner))
	for _, o := range objs {
		if p := o.(apply.Object); objectKey(p) != skip {
			c.enqueue(p)
		}
	}
}

// enqueueAll enqueues the primaries among objs.
func (c *Controller) enqueueAll(objs []any) {
	for _, o := range objs {
		c.enqueue(o)
	}
}
