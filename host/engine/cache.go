package engine

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
)

// Index names on every informer.
const (
	// IndexControllerUID indexes objects by the UID of their controller
	// ownerReference.
	IndexControllerUID = "controllerUID"
	// IndexOrphanNamespace indexes objects with no controller
	// ownerReference by namespace: finding a primary's adoptable orphans
	// must not scan every object of its namespace on every reconcile.
	IndexOrphanNamespace = "orphanNamespace"
)

// Cache is the shared informer cache: one informer per resource, shared by
// every controller that watches it, each with a transform that drops
// metadata.managedFields (often half of an object's size, never needed by a
// controller) and indexes by namespace and controller UID.
type Cache struct {
	mapper  meta.RESTMapper
	factory dynamicinformer.DynamicSharedInformerFactory

	mu        sync.Mutex
	informers map[schema.GroupVersionResource]*Informer

	// json memoises each object's JSON by UID and resourceVersion: a primary
	// with 100 children is serialised once per change, not once per call.
	json sync.Map // types.UID -> *objectJSON
}

// Informer is one shared informer and what it watches.
type Informer struct {
	GVK        schema.GroupVersionKind
	GVR        schema.GroupVersionResource
	Namespaced bool
	Informer   cache.SharedIndexInformer
}

// NewCache returns an empty cache; informers are created by For and started
// by Start. resync is the shortest resync period any controller asks for: an
// informer can only resync its handlers at multiples of the period it was
// created with (0: never).
func NewCache(client dynamic.Interface, mapper meta.RESTMapper, resync time.Duration) *Cache {
	return &Cache{
		mapper:    mapper,
		factory:   dynamicinformer.NewDynamicSharedInformerFactory(client, resync),
		informers: map[schema.GroupVersionResource]*Informer{},
	}
}

// Mapper is the cache's RESTMapper.
func (c *Cache) Mapper() meta.RESTMapper { return c.mapper }

// For returns the shared informer of gvk, creating it on first use. It must
// be called before Start.
func (c *Cache) For(gvk schema.GroupVersionKind) (*Informer, error) {
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, fmt.Errorf("kind %s: %w", gvk, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if inf, ok := c.informers[m.Resource]; ok {
		return inf, nil
	}
	si := c.factory.ForResource(m.Resource).Informer()
	if err := si.SetTransform(stripManagedFields); err != nil {
		return nil, err
	}
	want := cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc, IndexControllerUID: controllerUIDIndex, IndexOrphanNamespace: orphanNamespaceIndex}
	for name := range si.GetIndexer().GetIndexers() {
		delete(want, name) // the dynamic informer comes with the namespace index
	}
	if err := si.AddIndexers(want); err != nil {
		return nil, err
	}
	// Forget memoised JSON of deleted objects.
	if _, err := si.AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: func(obj any) {
		if u := asUnstructured(obj); u != nil {
			c.json.Delete(u.GetUID())
		}
	}}); err != nil {
		return nil, err
	}
	inf := &Informer{GVK: gvk, GVR: m.Resource, Namespaced: m.Scope.Name() == meta.RESTScopeNameNamespace, Informer: si}
	c.informers[m.Resource] = inf
	return inf, nil
}

// Start starts every informer created so far.
func (c *Cache) Start(stop <-chan struct{}) { c.factory.Start(stop) }

// WaitForSync waits until every informer has listed.
func (c *Cache) WaitForSync(stop <-chan struct{}) bool {
	for _, ok := range c.factory.WaitForCacheSync(stop) {
		if !ok {
			return false
		}
	}
	return true
}

// Shutdown stops the informers and waits for them.
func (c *Cache) Shutdown() { c.factory.Shutdown() }

// Resources lists the watched resources.
func (c *Cache) Resources() []schema.GroupVersionResource {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]schema.GroupVersionResource, 0, len(c.informers))
	for gvr := range c.informers {
		out = append(out, gvr)
	}
	return out
}

// Count returns the number of cached objects of a resource, for metrics.
func (c *Cache) Count(gvr schema.GroupVersionResource) int {
	c.mu.Lock()
	inf := c.informers[gvr]
	c.mu.Unlock()
	if inf == nil {
		return 0
	}
	return len(inf.Informer.GetIndexer().ListKeys())
}

// JSON returns obj's JSON, projected by p when p is not nil, memoised by
// UID, resourceVersion and projection.
func (c *Cache) JSON(obj *unstructured.Unstructured, p *Projection) ([]byte, error) {
	marshal := func() ([]byte, error) {
		if p != nil {
			return json.Marshal(p.Apply(obj))
		}
		return json.Marshal(obj.Object)
	}
	uid, rv := obj.GetUID(), obj.GetResourceVersion()
	if uid == "" || rv == "" {
		return marshal()
	}
	pid := ""
	if p != nil {
		pid = p.id
	}
	e, _ := c.json.LoadOrStore(uid, &objectJSON{})
	entry := e.(*objectJSON)
	entry.mu.Lock()
	defer entry.mu.Unlock()
	if entry.rv != rv {
		entry.rv, entry.data = rv, map[string][]byte{}
	}
	if data, ok := entry.data[pid]; ok {
		return data, nil
	}
	data, err := marshal()
	if err != nil {
		return nil, err
	}
	entry.data[pid] = data
	return data, nil
}

// objectJSON is the memoised JSON of one object at one resourceVersion, by
// projection id ("" for the whole object).
type objectJSON struct {
	mu   sync.Mutex
	rv   string
	data map[string][]byte
}

func stripManagedFields(obj any) (any, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		if md, ok := u.Object["metadata"].(map[string]any); ok {
			delete(md, "managedFields")
		}
	}
	return obj, nil
}

func controllerUIDIndex(obj any) ([]string, error) {
	u := asUnstructured(obj)
	if u == nil {
		return nil, nil
	}
	if ref := controllerOf(u); ref != nil {
		return []string{string(ref.UID)}, nil
	}
	return nil, nil
}

func orphanNamespaceIndex(obj any) ([]string, error) {
	u := asUnstructured(obj)
	if u == nil || controllerOf(u) != nil {
		return nil, nil
	}
	return []string{u.GetNamespace()}, nil
}

// controllerOf returns the controller ownerReference of u, or nil. It reads
// the cached object in place (no deep copy: this runs for every object on
// every index update).
func controllerOf(u *unstructured.Unstructured) *metav1.OwnerReference {
	md, _ := u.Object["metadata"].(map[string]any)
	refs, _ := md["ownerReferences"].([]any)
	for _, r := range refs {
		m, ok := r.(map[string]any)
		if !ok {
			continue
		}
		isController, _ := m["controller"].(bool)
		if !isController {
			continue
		}
		ref := &metav1.OwnerReference{Controller: &isController}
		ref.APIVersion, _ = m["apiVersion"].(string)
		ref.Kind, _ = m["kind"].(string)
		ref.Name, _ = m["name"].(string)
		uid, _ := m["uid"].(string)
		ref.UID = types.UID(uid)
		return ref
	}
	return nil
}

// asUnstructured unwraps tombstones.
func asUnstructured(obj any) *unstructured.Unstructured {
	switch o := obj.(type) {
	case *unstructured.Unstructured:
		return o
	case cache.DeletedFinalStateUnknown:
		u, _ := o.Obj.(*unstructured.Unstructured)
		return u
	}
	return nil
}

// resyncOr returns d, or a day when d is zero (no periodic resync).
func resyncOr(d time.Duration) time.Duration {
	if d <= 0 {
		return 24 * time.Hour
	}
	return d
}
