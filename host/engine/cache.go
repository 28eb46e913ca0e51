package engine

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/cache"

	"wasmctl.dev/wasmctl/host/apply"
	"wasmctl.dev/wasmctl/host/spec"
	"wasmctl.dev/wasmctl/internal/projection"
)

// Index names on every informer.
const (
	// indexControllerUID indexes objects by the UID of their controller
	// ownerReference.
	indexControllerUID = "controllerUID"
	// indexOrphanNamespace indexes objects with no controller
	// ownerReference by namespace: finding a primary's adoptable orphans
	// must not scan every object of its namespace on every reconcile.
	indexOrphanNamespace = "orphanNamespace"
	// indexLabel indexes objects by namespace and label pair
	// (labelIndexValue), on the informers that a SelectSiblingSelected
	// input reads (informer.indexLabels): finding the objects a selector
	// matches then looks up one of its equality requirements instead of
	// matching every object of the namespace. Measured in the 100-Deployment
	// rollout, that scan was a tenth of the host's CPU (docs/BENCHMARKS.md);
	// the index costs one entry per label of each cached object.
	indexLabel = "label"
)

// labelIndexValue is the indexLabel value of label key=value in namespace
// ns: a namespace holds no "/" and a label key no "=", so it is unique.
func labelIndexValue(ns, key, value string) string { return ns + "/" + key + "=" + value }

func labelIndex(obj any) ([]string, error) {
	o := asObject(obj)
	if o == nil {
		return nil, nil
	}
	ls := o.GetLabels()
	out := make([]string, 0, len(ls))
	for k, v := range ls {
		out = append(out, labelIndexValue(o.GetNamespace(), k, v))
	}
	return out, nil
}

// informerCache is the shared informer cache: one informer per resource, shared by
// every controller that watches it, each with a transform that drops
// metadata.managedFields (often half of an object's size, never needed by a
// controller) and indexes by namespace and controller UID.
//
// Kinds compiled into client-go (Pods, Jobs, ConfigMaps, ...) are listed and
// watched as protobuf into typed structs, as kube-controller-manager does;
// other kinds (custom resources) as JSON into *unstructured.Unstructured.
// Measured on 500 ReplicaSets × 10 pods: decoding watch events as JSON into
// maps was the largest host cost after the plugin calls, and typed objects
// take a fraction of a map's memory (docs/BENCHMARKS.md). A typed object of
// a kind cut to what its readers read (keep) is held as a cutObject: its
// metadata and its JSON. Either way the cache holds apply.Object values
// with apiVersion and kind set.
type informerCache struct {
	mapper  meta.RESTMapper
	typed   informers.SharedInformerFactory
	dynamic dynamicinformer.DynamicSharedInformerFactory

	mu        sync.Mutex
	informers map[schema.GroupVersionResource]*informer

	// keep cuts the cached objects of a kind to the fields some controller
	// reads (cacheFields); a kind without an entry is cached whole.
	keep map[schema.GroupKind]*projection.Projection

	// json memoises each object's JSON by UID and resourceVersion: a primary
	// with 100 children is serialised once per change, not once per call.
	// Entries unread for a memoTTL are dropped (sweepJSON).
	json sync.Map // types.UID -> *objectJSON
	// onIdle runs after a sweep that dropped the last memoised JSON
	// (Options.OnIdle).
	onIdle func()
}

// memoTTL is how long memoised JSON outlives its last read (between one
// and two periods of it). In a settled cluster nothing reads it until the
// next resync, and keeping it meant ~13 MiB of heap for 5750 pods (twice
// that in resident memory at the default GOGC); a resync that finds it
// gone marshals each object once more (~20 us a pod).
const memoTTL = time.Minute

// informer is one shared informer and what it watches.
type informer struct {
	GVK        schema.GroupVersionKind
	GVR        schema.GroupVersionResource
	Namespaced bool
	Informer   cache.SharedIndexInformer

	labelsOnce sync.Once
	labelsErr  error
}

// indexLabels adds the label index (indexLabel) once; the informer may be
// running already (its cached objects are indexed then).
func (inf *informer) indexLabels() error {
	inf.labelsOnce.Do(func() {
		if _, ok := inf.Informer.GetIndexer().GetIndexers()[indexLabel]; !ok {
			inf.labelsErr = inf.Informer.AddIndexers(cache.Indexers{indexLabel: labelIndex})
		}
	})
	return inf.labelsErr
}

// selected returns the objects of namespace ns that sel matches, looking
// up the candidates of sel's equality requirement with the fewest of them
// when the label index is there (else every object of ns is matched).
func (inf *informer) selected(ns string, sel labels.Selector) []any {
	idx := inf.Informer.GetIndexer()
	var candidates []any
	found := false
	if _, ok := idx.GetIndexers()[indexLabel]; ok {
		if reqs, selectable := sel.Requirements(); selectable {
			for _, r := range reqs {
				switch r.Operator() {
				case selection.Equals, selection.DoubleEquals, selection.In:
				default:
					continue
				}
				var objs []any
				for _, v := range r.ValuesUnsorted() {
					o, _ := idx.ByIndex(indexLabel, labelIndexValue(ns, r.Key(), v))
					objs = append(objs, o...)
				}
				if !found || len(objs) < len(candidates) {
					candidates, found = objs, true
				}
			}
		}
	}
	if !found {
		candidates, _ = idx.ByIndex(cache.NamespaceIndex, ns)
	}
	out := candidates[:0:0]
	for _, o := range candidates {
		if u := o.(apply.Object); u.GetNamespace() == ns && sel.Matches(labels.Set(u.GetLabels())) {
			out = append(out, o)
		}
	}
	return out
}

// newInformerCache returns an empty cache; informers are created by For and started
// by Start. typed serves the kinds client-go knows (nil: everything goes
// through dynamic); build it with protobuf as its content type. The
// informers never resync: each controller resyncs its primaries itself, at
// its own period, which a hot reload can change (an informer's period is
// fixed at its creation).
//
// keep (from cacheFields) cuts the objects of a kind as they enter the
// cache; nil keeps every kind whole.
func newInformerCache(typed kubernetes.Interface, dynamic dynamic.Interface, mapper meta.RESTMapper, keep map[schema.GroupKind]*projection.Projection) *informerCache {
	c := &informerCache{
		mapper:    mapper,
		keep:      keep,
		dynamic:   dynamicinformer.NewDynamicSharedInformerFactory(dynamic, 0),
		informers: map[schema.GroupVersionResource]*informer{},
	}
	if typed != nil {
		c.typed = informers.NewSharedInformerFactory(typed, 0)
	}
	return c
}

// Mapper is the cache's RESTMapper.
func (c *informerCache) Mapper() meta.RESTMapper { return c.mapper }

// For returns the shared informer of gvk, creating it on first use. It must
// be called before Start.
func (c *informerCache) For(gvk schema.GroupVersionKind) (*informer, error) {
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, fmt.Errorf("kind %s: %w", gvk, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if inf, ok := c.informers[m.Resource]; ok {
		return inf, nil
	}
	gvk = m.GroupVersionKind
	var si cache.SharedIndexInformer
	if c.typed != nil && scheme.Scheme.Recognizes(gvk) {
		if gi, err := c.typed.ForResource(m.Resource); err == nil {
			si = gi.Informer()
		}
	}
	if si == nil {
		si = c.dynamic.ForResource(m.Resource).Informer()
	}
	if err := si.SetTransform(transformFor(gvk, c.keep[gvk.GroupKind()])); err != nil {
		return nil, err
	}
	want := cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc, indexControllerUID: controllerUIDIndex, indexOrphanNamespace: orphanNamespaceIndex}
	for name := range si.GetIndexer().GetIndexers() {
		delete(want, name) // the dynamic informer comes with the namespace index
	}
	if err := si.AddIndexers(want); err != nil {
		return nil, err
	}
	// Forget memoised JSON of deleted objects.
	if _, err := si.AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: func(obj any) {
		if o := asObject(obj); o != nil {
			c.json.Delete(o.GetUID())
		}
	}}); err != nil {
		return nil, err
	}
	inf := &informer{GVK: gvk, GVR: m.Resource, Namespaced: m.Scope.Name() == meta.RESTScopeNameNamespace, Informer: si}
	c.informers[m.Resource] = inf
	return inf, nil
}

// Start starts every informer created so far.
func (c *informerCache) Start(stop <-chan struct{}) {
	go func() {
		t := time.NewTicker(memoTTL)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				c.sweepJSON()
			}
		}
	}()
	if c.typed != nil {
		c.typed.Start(stop)
	}
	c.dynamic.Start(stop)
}

// WaitForSync waits until every informer has listed.
func (c *informerCache) WaitForSync(stop <-chan struct{}) bool {
	c.mu.Lock()
	synced := make([]cache.InformerSynced, 0, len(c.informers))
	for _, inf := range c.informers {
		synced = append(synced, inf.Informer.HasSynced)
	}
	c.mu.Unlock()
	return cache.WaitForCacheSync(stop, synced...)
}

// Shutdown stops the informers and waits for them.
func (c *informerCache) Shutdown() {
	if c.typed != nil {
		c.typed.Shutdown()
	}
	c.dynamic.Shutdown()
}

// Resources lists the watched resources.
func (c *informerCache) Resources() []schema.GroupVersionResource {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]schema.GroupVersionResource, 0, len(c.informers))
	for gvr := range c.informers {
		out = append(out, gvr)
	}
	return out
}

// Count returns the number of cached objects of a resource, for metrics.
func (c *informerCache) Count(gvr schema.GroupVersionResource) int {
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
func (c *informerCache) JSON(obj apply.Object, p *projection.Projection) ([]byte, error) {
	marshal := func() ([]byte, error) {
		if u, ok := obj.(*unstructured.Unstructured); ok {
			if p != nil {
				return json.Marshal(p.Apply(u))
			}
			return json.Marshal(u.Object)
		}
		if c, ok := obj.(*cutObject); ok {
			if p != nil {
				return p.ApplyJSON(c.data)
			}
			return c.data, nil
		}
		data, err := json.Marshal(obj)
		if err != nil || p == nil {
			return data, err
		}
		return p.ApplyJSON(data)
	}
	uid, rv := obj.GetUID(), obj.GetResourceVersion()
	if uid == "" || rv == "" {
		return marshal()
	}
	pid := ""
	if p != nil {
		pid = p.ID()
	}
	e, _ := c.json.LoadOrStore(uid, &objectJSON{})
	entry := e.(*objectJSON)
	entry.read.Store(true)
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

// sweepJSON drops the memoised JSON not read since its last run. When that
// was all of it (nothing reconciled for a period), the host has gone idle:
// onIdle runs.
func (c *informerCache) sweepJSON() {
	dropped, kept := 0, 0
	c.json.Range(func(uid, e any) bool {
		if e.(*objectJSON).read.Swap(false) {
			kept++
		} else {
			c.json.Delete(uid)
			dropped++
		}
		return true
	})
	if dropped > 0 && kept == 0 && c.onIdle != nil {
		c.onIdle()
	}
}

// objectJSON is the memoised JSON of one object at one resourceVersion, by
// projection id ("" for the whole object).
type objectJSON struct {
	read atomic.Bool // since the last sweep
	mu   sync.Mutex
	rv   string
	data map[string][]byte
}

// transformFor returns the informer transform for gvk: it drops
// managedFields, cuts the object to keep when keep is not nil, and sets
// apiVersion and kind, which typed objects decoded from a list or watch
// lack. It runs on a freshly decoded object, before the cache holds it.
func transformFor(gvk schema.GroupVersionKind, keep *projection.Projection) cache.TransformFunc {
	return func(obj any) (any, error) {
		switch o := obj.(type) {
		case *unstructured.Unstructured:
			if md, ok := o.Object["metadata"].(map[string]any); ok {
				delete(md, "managedFields")
			}
		case apply.Object:
			o.SetManagedFields(nil)
			o.GetObjectKind().SetGroupVersionKind(gvk)
			if keep != nil {
				if c := newCutObject(o, keep); c != nil {
					return c, nil
				}
			}
		default:
			return obj, nil // a tombstone: its object was transformed when it came in
		}
		if keep != nil {
			keep.Prune(obj)
		}
		return obj, nil
	}
}

// hostFields are the fields of a cached object the host reads itself, on
// top of those projection.New always keeps: selectors match labels,
// ownership follows controller references, the finalizer cleanup reads
// finalizers, the handlers deletion timestamps.
var hostFields = []string{
	"metadata.labels", "metadata.ownerReferences", "metadata.finalizers", "metadata.generateName",
	"metadata.creationTimestamp", "metadata.deletionTimestamp", "metadata.deletionGracePeriodSeconds", "metadata.generation",
}

// cacheFields decides what the shared cache keeps of each kind. A kind
// that some controller reconciles (its for kind, sent whole), or that some
// controller owns or relates to without listing its fields, is kept whole.
// Any other kind is cut to the union of the fields the controllers reading
// it list (Manifest.Fields) and hostFields: kube-controller-manager must
// keep whole objects, the host knows every reader. Measured on 5750 pods
// (docs/BENCHMARKS.md), a pod's containers, volumes and their resources
// were most of the cache. The cut is fixed for the informers' lifetime: a
// hot reload that reads more of such a kind needs a restart (covers).
func cacheFields(specs []*spec.Controller) (map[schema.GroupKind]*projection.Projection, error) {
	whole := map[schema.GroupKind]bool{}
	paths := map[schema.GroupKind][]string{}
	for _, s := range specs {
		whole[s.For.GroupKind()] = true
		for _, gvk := range readKinds(s) {
			if p := s.Projections[gvk]; p != nil {
				paths[gvk.GroupKind()] = append(paths[gvk.GroupKind()], p.Paths()...)
			} else {
				whole[gvk.GroupKind()] = true
			}
		}
	}
	keep := map[schema.GroupKind]*projection.Projection{}
	for gk, ps := range paths {
		if whole[gk] {
			continue
		}
		p, err := projection.New("cache/"+gk.String(), append(slices.Clone(hostFields), ps...))
		if err != nil {
			return nil, fmt.Errorf("fields of %s: %w", gk, err)
		}
		keep[gk] = p
	}
	return keep, nil
}

// readKinds are the kinds of s's children, orphans and related objects,
// each once.
func readKinds(s *spec.Controller) []schema.GroupVersionKind {
	out := slices.Clone(s.Owns)
	for _, r := range s.Related {
		if !slices.Contains(out, r.GVK) {
			out = append(out, r.GVK)
		}
	}
	return out
}

// covers reports whether the cache holds every field s reads of the kinds
// it cuts: else s must wait for a restart, which builds the cache anew.
func (c *informerCache) covers(s *spec.Controller) bool {
	for _, gvk := range readKinds(s) {
		keep := c.keep[gvk.GroupKind()]
		if keep == nil {
			continue
		}
		if p := s.Projections[gvk]; p == nil || !keep.Covers(p) {
			return false
		}
	}
	return true
}

func controllerUIDIndex(obj any) ([]string, error) {
	o := asObject(obj)
	if o == nil {
		return nil, nil
	}
	if ref := controllerOf(o); ref != nil {
		return []string{string(ref.UID)}, nil
	}
	return nil, nil
}

func orphanNamespaceIndex(obj any) ([]string, error) {
	o := asObject(obj)
	if o == nil || controllerOf(o) != nil {
		return nil, nil
	}
	return []string{o.GetNamespace()}, nil
}
