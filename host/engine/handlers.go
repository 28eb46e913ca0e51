package engine

import (
	"encoding/json"
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
//     hold it (relatedChanged), unless the input is passive; only its
//     deletion for an input with wakeOn: delete.
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
		if _, err := inf.Informer.AddEventHandler(c.relatedHandler(inf)); err != nil {
			return err
		}
	}
	return nil
}

// relatedHandler is the event handler of related informer inf: every
// event goes to relatedChanged, an update that changed the object's labels
// also with the old object (it may have left a selection), a delete marked
// as one (the only event a wakeOn: delete input acts on). An update that
// leaves the fields the plugin reads (Manifest.Fields) as they were
// enqueues nothing: every request would be the same but for a
// resourceVersion (a Node's status heartbeat, for a plugin that reads its
// labels and taints).
func (c *Controller) relatedHandler(inf *informer) cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { c.relatedChanged(inf, obj, false) },
		UpdateFunc: func(oldObj, obj any) {
			if !c.wakesOnUpdate(inf) || c.sameProjection(inf, oldObj, obj) {
				return
			}
			if o, n := asObject(oldObj), asObject(obj); o != nil && n != nil && !reflect.DeepEqual(o.GetLabels(), n.GetLabels()) {
				c.relatedChanged(inf, oldObj, false) // it may have left a selection
			}
			c.relatedChanged(inf, obj, false)
		},
		DeleteFunc: func(obj any) { c.relatedChanged(inf, obj, true) },
	}
}

// wakesOnUpdate reports whether an update of an object of related
// informer inf can wake a primary: some input reading it is neither
// passive nor woken by deletions only. The Deployment plugin's pods are
// such an input; without this check each pod update paid sameProjection
// (4 % of the host's CPU in the 100-Deployment rollout) to then wake
// nothing.
func (c *Controller) wakesOnUpdate(inf *informer) bool {
	s := c.spec.Load()
	for i := range s.Related {
		if r := &s.Related[i]; c.related[i] == inf && !r.Passive && r.WakeOn != abi.WakeDelete {
			return true
		}
	}
	return false
}

// sameProjection reports whether an update of an object of related
// informer inf left everything the plugin reads of it unchanged: its kind
// has a projection (Manifest.Fields), old and new project to the same JSON
// once the resourceVersion, which projections always keep, is set aside,
// and their labels and owner references, which decide which primaries'
// requests hold the object, are the same. Without a projection every
// update counts. Cost: the two
// projections (memoised, the request reuses the new one) and decoding them.
func (c *Controller) sameProjection(inf *informer, oldObj, obj any) bool {
	p := c.spec.Load().Projections[inf.GVK]
	o, n := asObject(oldObj), asObject(obj)
	if p == nil || o == nil || n == nil {
		return false
	}
	if o.GetResourceVersion() == n.GetResourceVersion() {
		return true // a resync: nothing changed at all
	}
	if !reflect.DeepEqual(o.GetLabels(), n.GetLabels()) || !reflect.DeepEqual(o.GetOwnerReferences(), n.GetOwnerReferences()) {
		return false
	}
	a, err1 := c.cache.JSON(o, p)
	b, err2 := c.cache.JSON(n, p)
	if err1 != nil || err2 != nil {
		return false
	}
	x, y := withoutResourceVersion(a), withoutResourceVersion(b)
	return x != nil && y != nil && reflect.DeepEqual(x, y)
}

// withoutResourceVersion decodes an object's JSON and drops
// metadata.resourceVersion (nil when data does not decode).
func withoutResourceVersion(data []byte) map[string]any {
	var m map[string]any
	if json.Unmarshal(data, &m) != nil {
		return nil
	}
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "resourceVersion")
	}
	return m
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

// grandparentKey returns the key of the primary whose child controls obj
// (an object of related informer from): obj's controller among the objects
// of the owns informers (by kind and group, namespace/name and UID), in
// obj's namespace when from is namespaced, and that child's controller as
// ownerKey resolves it. relatedObjects' grandchildren are the other side.
// A grandchild whose controller is no longer cached resolves to nothing.
func (c *Controller) grandparentKey(from *informer, obj apply.Object) (string, bool) {
	ref := controllerOf(obj)
	if ref == nil {
		return "", false
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return "", false
	}
	for _, inf := range c.owns {
		if inf.GVK.Kind != ref.Kind || inf.GVK.Group != gv.Group {
			continue
		}
		ns := ""
		if inf.Namespaced {
			ns = obj.GetNamespace()
		}
		o, ok, _ := inf.Informer.GetIndexer().GetByKey(cache.NewObjectName(ns, ref.Name).String())
		if !ok {
			continue
		}
		child := o.(apply.Object)
		if child.GetUID() != ref.UID || (from.Namespaced && child.GetNamespace() != obj.GetNamespace()) {
			continue
		}
		return c.ownerKey(child)
	}
	return "", false
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
// of informer from, for each non-passive related input read from it
// (relatedObjects is the other side of each case); deleted says the event
// is obj's deletion, the only one a wakeOn: delete input acts on:
//   - siblingChildren: the siblings of obj's controller (primaries with the
//     same controller owner, obj's controller itself excluded);
//   - siblingSelected: every primary with a controller owner one of whose
//     primaries selects obj;
//   - grandchildren: the controller of obj's controller (grandparentKey);
//   - namespace: every primary in obj's namespace; all: every primary.
//
// A primary for which the input's when condition does not hold is not
// enqueued: its request holds none of the input's objects.
func (c *Controller) relatedChanged(from *informer, obj any, deleted bool) {
	u := asObject(obj)
	if u == nil {
		return
	}
	s := c.spec.Load()
	idx := c.primary.Informer.GetIndexer()
	for i := range s.Related {
		r := &s.Related[i]
		if r.Passive || c.related[i] != from || (r.WakeOn == abi.WakeDelete && !deleted) {
			continue
		}
		if r.Selector != nil && !r.Selector.Matches(labels.Set(u.GetLabels())) {
			continue
		}
		enqueue := func(o any) {
			if p := o.(apply.Object); whenHolds(r, p) {
				c.enqueue(p)
			}
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
				c.enqueueControlledBy(grand.UID, ownerKey, enqueue)
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
					c.enqueueControlledBy(ref.UID, "", enqueue)
				}
			}
		case abi.SelectGrandchildren:
			if key, ok := c.grandparentKey(from, u); ok {
				if p, exists, _ := idx.GetByKey(key); exists {
					enqueue(p)
				}
			}
		case abi.SelectNamespace:
			objs, _ := idx.ByIndex(cache.NamespaceIndex, u.GetNamespace())
			for _, o := range objs {
				enqueue(o)
			}
		case abi.SelectAll:
			for _, o := range idx.List() {
				enqueue(o)
			}
		}
	}
}

// enqueueControlledBy passes the primaries controlled by owner, except the
// one with key skip, to enqueue.
func (c *Controller) enqueueControlledBy(owner types.UID, skip string, enqueue func(any)) {
	objs, _ := c.primary.Informer.GetIndexer().ByIndex(indexControllerUID, string(owner))
	for _, o := range objs {
		if p := o.(apply.Object); objectKey(p) != skip {
			enqueue(p)
		}
	}
}

// enqueueAll enqueues the primaries among objs.
func (c *Controller) enqueueAll(objs []any) {
	for _, o := range objs {
		c.enqueue(o)
	}
}
