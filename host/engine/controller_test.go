package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/host/config"
	"wasmctl.dev/wasmctl/host/metrics"
	"wasmctl.dev/wasmctl/host/spec"
)

// These tests build a controller over client-go's fake clients and drive
// its handlers and reconcile directly: milliseconds each, no API server.

var (
	rsGVK  = appsv1.SchemeGroupVersion.WithKind("ReplicaSet")
	podGVK = corev1.SchemeGroupVersion.WithKind("Pod")
	cmGVK  = corev1.SchemeGroupVersion.WithKind("ConfigMap")
	depGVK = appsv1.SchemeGroupVersion.WithKind("Deployment")
)

// fakePlugin answers every call with respond and keeps the requests.
type fakePlugin struct {
	mu       sync.Mutex
	requests []abi.ReconcileRequest
	respond  func(req *abi.ReconcileRequest) *abi.ReconcileResponse
}

func (p *fakePlugin) Call(_ context.Context, _ string, input []byte) ([]byte, error) {
	var req abi.ReconcileRequest
	if err := json.Unmarshal(input, &req); err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.requests = append(p.requests, req)
	p.mu.Unlock()
	resp := abi.NewResponse()
	if p.respond != nil {
		resp = p.respond(&req)
	}
	return json.Marshal(resp)
}

func (p *fakePlugin) calls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.requests)
}

func (p *fakePlugin) last(t *testing.T) abi.ReconcileRequest {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.requests) == 0 {
		t.Fatal("the plugin was not called")
	}
	return p.requests[len(p.requests)-1]
}

type harness struct {
	c      *Controller
	plugin *fakePlugin
	rec    *record.FakeRecorder
	typed  *kubefake.Clientset
	clock  time.Time
}

// newHarness builds a ReplicaSet-like controller (for ReplicaSet, owns
// Pod) with the manifest edited by edit.
func newHarness(t *testing.T, edit func(m *abi.Manifest)) *harness {
	t.Helper()
	m := abi.Manifest{
		Name: "rs", For: abi.TypeRef{APIVersion: "apps/v1", Kind: "ReplicaSet"},
		Owns: []abi.TypeRef{{APIVersion: "v1", Kind: "Pod"}},
	}
	if edit != nil {
		edit(&m)
	}
	cc := config.Controller{Plugin: "rs.wasm", Config: map[string]any{"answer": 42}}
	cc.SetDefaults()
	s, err := spec.Build(&config.Config{Controllers: []config.Controller{cc}}, 0, &m)
	if err != nil {
		t.Fatal(err)
	}
	mapper := meta.NewDefaultRESTMapper(nil)
	for _, gvk := range []schema.GroupVersionKind{rsGVK, podGVK, cmGVK, depGVK} {
		mapper.Add(gvk, meta.RESTScopeNamespace)
	}
	mapper.Add(corev1.SchemeGroupVersion.WithKind("Namespace"), meta.RESTScopeRoot)
	typed := kubefake.NewClientset()
	dyn := dynamicfake.NewSimpleDynamicClient(scheme.Scheme)
	h := &harness{plugin: &fakePlugin{}, rec: record.NewFakeRecorder(100), typed: typed, clock: time.Unix(1_700_000_000, 0)}
	h.c, err = newController(s, h.plugin, nil, controllerEnv{
		cache:    newInformerCache(typed, dyn, mapper, nil),
		clients:  &Clients{Typed: typed, Dynamic: dyn, Writes: dyn, Mapper: mapper},
		recorder: h.rec, metrics: metrics.New(), now: func() time.Time { return h.clock },
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// add puts objects in the informers' caches, as a watch would (without
// calling the handlers: tests call them to say which event happened).
func (h *harness) add(t *testing.T, objs ...any) {
	t.Helper()
	for _, o := range objs {
		var inf *informer
		switch o.(type) {
		case *appsv1.ReplicaSet:
			inf = h.c.primary
		case *corev1.Pod:
			inf = h.c.owns[0]
		default:
			for _, r := range h.c.related {
				inf = r
			}
		}
		if err := inf.Informer.GetIndexer().Add(o); err != nil {
			t.Fatal(err)
		}
	}
}

// queued drains the queue and returns its keys, sorted.
func (h *harness) queued() []string {
	var keys []string
	for h.c.queue.Len() > 0 {
		k, _ := h.c.queue.Get()
		h.c.queue.Done(k)
		h.c.queue.Forget(k)
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (h *harness) events() []string {
	var out []string
	for {
		select {
		case e := <-h.rec.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func rs(name, uid string, owner *appsv1.Deployment, sel map[string]string) *appsv1.ReplicaSet {
	r := &appsv1.ReplicaSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "ReplicaSet"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(uid), ResourceVersion: "1"},
		Spec:       appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: sel}},
	}
	if owner != nil {
		r.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(owner, depGVK)}
	}
	return r
}

func pod(name string, owner *appsv1.ReplicaSet, lbls map[string]string) *corev1.Pod {
	p := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name), ResourceVersion: "1", Labels: lbls},
		Spec:       corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "c", Image: "i"}}},
	}
	if owner != nil {
		p.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(owner, rsGVK)}
	}
	return p
}

var dep = &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "dep-uid"}}

func TestHandlerRouting(t *testing.T) {
	web := map[string]string{"app": "web"}
	a := rs("a", "uid-a", dep, web)
	b := rs("b", "uid-b", dep, map[string]string{"app": "web", "v": "2"})
	lone := rs("lone", "uid-lone", nil, map[string]string{"app": "db"})
	impostor := rs("a", "other-uid", nil, web) // same name as a, another UID

	for _, tc := range []struct {
		name  string
		event func(h *harness)
		want  []string
	}{
		{"child added enqueues its controller", func(h *harness) { h.c.childAdded(pod("p", a, web)) }, []string{"ns/a"}},
		{"child of a stale UID enqueues nothing", func(h *harness) { h.c.childAdded(pod("p", impostor, web)) }, nil},
		{"child deleted enqueues its controller", func(h *harness) { h.c.childDeleted(pod("p", a, web)) }, []string{"ns/a"}},
		{"orphan enqueues every primary selecting it", func(h *harness) { h.c.childAdded(pod("o", nil, map[string]string{"app": "web", "v": "2"})) }, []string{"ns/a", "ns/b"}},
		{"orphan selected by none", func(h *harness) { h.c.childAdded(pod("o", nil, map[string]string{"app": "cache"})) }, nil},
		{"released child enqueues its old controller and its selectors", func(h *harness) {
			h.c.childUpdated(pod("p", a, web), withRV(pod("p", nil, web), "2"))
		}, []string{"ns/a"}},
		{"relabelled orphan enqueues new selectors", func(h *harness) {
			h.c.childUpdated(pod("o", nil, nil), withRV(pod("o", nil, map[string]string{"app": "db"}), "2"))
		}, []string{"ns/lone"}},
		{"relist without change enqueues nothing", func(h *harness) { h.c.childUpdated(pod("p", a, web), pod("p", a, web)) }, nil},
		{"primary deleted is enqueued", func(h *harness) { h.c.primaryDeleted(a) }, []string{"ns/a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.add(t, a, b, lone)
			tc.event(h)
			if got := h.queued(); !slices.Equal(got, tc.want) {
				t.Fatalf("enqueued %v, want %v", got, tc.want)
			}
		})
	}
}

func withRV[T metav1.Object](o T, rv string) T {
	o.SetResourceVersion(rv)
	return o
}

func TestRelatedRouting(t *testing.T) {
	web := map[string]string{"app": "web"}
	a := rs("a", "uid-a", dep, web)
	b := rs("b", "uid-b", dep, map[string]string{"app": "web", "v": "2"})
	lone := rs("lone", "uid-lone", nil, map[string]string{"app": "db"})
	other := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "other"}}
	_ = other
	cm := func(name, ns string, lbls map[string]string) *corev1.ConfigMap {
		return &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID("uid-" + name), Labels: lbls}}
	}
	for _, tc := range []struct {
		name   string
		input  abi.RelatedInput
		object any
		want   []string
	}{
		{"siblingChildren: the other siblings of the pod's controller", abi.RelatedInput{Type: abi.TypeRef{APIVersion: "v1", Kind: "Pod"}, Select: abi.SelectSiblingChildren},
			pod("p", a, web), []string{"ns/b"}},
		{"siblingChildren: a pod of an RS without owner feeds nobody", abi.RelatedInput{Type: abi.TypeRef{APIVersion: "v1", Kind: "Pod"}, Select: abi.SelectSiblingChildren},
			pod("p", lone, map[string]string{"app": "db"}), nil},
		{"siblingSelected: every RS of a Deployment one of whose RSs selects the pod", abi.RelatedInput{Type: abi.TypeRef{APIVersion: "v1", Kind: "Pod"}, Select: abi.SelectSiblingSelected},
			pod("x", nil, web), []string{"ns/a", "ns/b"}},
		{"siblingSelected: selected only by an RS without owner", abi.RelatedInput{Type: abi.TypeRef{APIVersion: "v1", Kind: "Pod"}, Select: abi.SelectSiblingSelected},
			pod("x", nil, map[string]string{"app": "db"}), nil},
		{"siblingSelected, passive: nothing", abi.RelatedInput{Type: abi.TypeRef{APIVersion: "v1", Kind: "Pod"}, Select: abi.SelectSiblingSelected, Passive: true},
			pod("x", nil, web), nil},
		{"namespace: every primary of the namespace", abi.RelatedInput{Type: abi.TypeRef{APIVersion: "v1", Kind: "ConfigMap"}, Select: abi.SelectNamespace},
			cm("c", "ns", nil), []string{"ns/a", "ns/b", "ns/lone"}},
		{"namespace: another namespace feeds nobody", abi.RelatedInput{Type: abi.TypeRef{APIVersion: "v1", Kind: "ConfigMap"}, Select: abi.SelectNamespace},
			cm("c", "elsewhere", nil), nil},
		{"all: every primary", abi.RelatedInput{Type: abi.TypeRef{APIVersion: "v1", Kind: "ConfigMap"}, Select: abi.SelectAll},
			cm("c", "elsewhere", nil), []string{"ns/a", "ns/b", "ns/lone"}},
		{"labelSelector filters", abi.RelatedInput{Type: abi.TypeRef{APIVersion: "v1", Kind: "ConfigMap"}, Select: abi.SelectAll, LabelSelector: "feed"},
			cm("c", "ns", map[string]string{"other": "x"}), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(m *abi.Manifest) {
				tc.input.Name = "in"
				m.Related = []abi.RelatedInput{tc.input}
			})
			h.add(t, a, b, lone)
			h.c.relatedChanged(h.c.related[0], tc.object, false)
			if got := h.queued(); !slices.Equal(got, tc.want) {
				t.Fatalf("enqueued %v, want %v", got, tc.want)
			}
		})
	}
}

func TestManifestSelectorLimitsPrimaries(t *testing.T) {
	h := newHarness(t, func(m *abi.Manifest) { m.Selector = "tier=front" })
	in := rs("in", "uid-in", nil, nil)
	in.Labels = map[string]string{"tier": "front"}
	out := rs("out", "uid-out", nil, nil)
	h.add(t, in, out)
	h.c.enqueue(in)
	h.c.enqueue(out)
	if got := h.queued(); !slices.Equal(got, []string{"ns/in"}) {
		t.Fatalf("enqueued %v", got)
	}
	if _, err := h.c.reconcile(t.Context(), "ns/out"); err != nil || h.plugin.calls() != 0 {
		t.Fatalf("a primary outside the selector was reconciled (%v, %d calls)", err, h.plugin.calls())
	}
}

func TestBuildRequest(t *testing.T) {
	web := map[string]string{"app": "web"}
	a := rs("a", "uid-a", dep, web)
	b := rs("b", "uid-b", dep, map[string]string{"app": "web", "v": "2"})
	h := newHarness(t, func(m *abi.Manifest) {
		m.Related = []abi.RelatedInput{{Name: "pods", Type: abi.TypeRef{APIVersion: "v1", Kind: "Pod"}, Select: abi.SelectSiblingSelected}}
		m.Fields = []abi.FieldSelection{{Type: abi.TypeRef{APIVersion: "v1", Kind: "Pod"}, Paths: []string{"metadata.labels"}}}
	})
	own, orphan, sibling := pod("own", a, web), pod("orphan", nil, web), pod("sib", b, map[string]string{"app": "web", "v": "2"})
	h.add(t, a, b, own, orphan, sibling)
	h.c.keys.setLastError("ns/a", &abi.ApplyError{Op: abi.OpCreate, Kind: "Pod", Message: "quota"})
	data, controlled, orphans, err := h.c.buildRequest(h.c.spec.Load(), "ns/a", a)
	if err != nil {
		t.Fatal(err)
	}
	var req abi.ReconcileRequest
	if err := abi.DecodeStrict(data, &req); err != nil {
		t.Fatalf("request is not a valid ReconcileRequest: %v\n%s", err, data)
	}
	names := func(raws []json.RawMessage) []string {
		var out []string
		for _, r := range raws {
			var o metav1.PartialObjectMetadata
			_ = json.Unmarshal(r, &o)
			out = append(out, o.Name)
		}
		return out
	}
	if got := names(req.Children); !slices.Equal(got, []string{"own"}) {
		t.Errorf("children %v", got)
	}
	if got := names(req.Orphans); !slices.Equal(got, []string{"orphan"}) {
		t.Errorf("orphans %v", got)
	}
	// The sibling's pod, not again those already sent as children/orphans.
	if got := names(req.Related["pods"]); !slices.Equal(got, []string{"sib"}) {
		t.Errorf("related %v", got)
	}
	if strings.Contains(string(req.Children[0]), "nodeName") || !strings.Contains(string(req.Children[0]), `"labels"`) {
		t.Errorf("child not projected to the declared fields: %s", req.Children[0])
	}
	if !strings.Contains(string(req.Object), "matchLabels") {
		t.Errorf("primary not whole: %s", req.Object)
	}
	if string(req.Config) != `{"answer":42}` {
		t.Errorf("config %s", req.Config)
	}
	if req.LastError == nil || req.LastError.Message != "quota" {
		t.Errorf("lastError %+v", req.LastError)
	}
	if req.Now != h.clock.UTC().Format(time.RFC3339Nano) {
		t.Errorf("now %q", req.Now)
	}
	if !controlled[podGVK]["ns/own"] || !controlled[podGVK]["ns/orphan"] || controlled[podGVK]["ns/sib"] || !orphans[podGVK]["ns/orphan"] || orphans[podGVK]["ns/own"] {
		t.Errorf("controlled %v orphans %v", controlled, orphans)
	}
}

// TestExpectationsHoldTheKey: after asking for creates and deletes, the
// plugin is not called again for the key until the informer has shown
// them (or the TTL passes); a delete that finds the pod already gone
// settles at once and records no event.
func TestExpectationsHoldTheKey(t *testing.T) {
	a := rs("a", "uid-a", nil, map[string]string{"app": "web"})
	gone := pod("gone", a, map[string]string{"app": "web"})
	h := newHarness(t, nil)
	h.add(t, a, gone)
	h.plugin.respond = func(req *abi.ReconcileRequest) *abi.ReconcileResponse {
		resp := abi.NewResponse()
		for i := range 2 {
			_ = resp.Add(abi.OpCreate, map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": fmt.Sprintf("new-%d", i)}})
		}
		resp.AddDelete(abi.ObjectRef{APIVersion: "v1", Kind: "Pod", Namespace: "ns", Name: "gone"}, "")
		return resp
	}
	if _, err := h.c.reconcile(t.Context(), "ns/a"); err != nil {
		t.Fatal(err)
	}
	if got := h.events(); !slices.Equal(got, []string{"Normal SuccessfulCreate Created pod: new-0", "Normal SuccessfulCreate Created pod: new-1"}) {
		t.Errorf("events %q (a delete of a pod already gone records none)", got)
	}
	if _, err := h.c.reconcile(t.Context(), "ns/a"); err != nil || h.plugin.calls() != 1 {
		t.Fatalf("called again before the creates were observed (%d calls, %v)", h.plugin.calls(), err)
	}
	h.c.childAdded(pod("new-0", a, nil))
	if _, _ = h.c.reconcile(t.Context(), "ns/a"); h.plugin.calls() != 1 {
		t.Fatal("called with one create still pending")
	}
	h.c.childAdded(pod("new-1", a, nil))
	h.plugin.respond = nil
	if _, err := h.c.reconcile(t.Context(), "ns/a"); err != nil || h.plugin.calls() != 2 {
		t.Fatalf("not called once everything was observed: the gone pod's delete must not wait (%d calls, %v)", h.plugin.calls(), err)
	}

	// Pending creates never observed: the TTL frees the key.
	h.plugin.respond = func(*abi.ReconcileRequest) *abi.ReconcileResponse {
		resp := abi.NewResponse()
		_ = resp.Add(abi.OpCreate, map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "late"}})
		return resp
	}
	_, _ = h.c.reconcile(t.Context(), "ns/a")
	_, _ = h.c.reconcile(t.Context(), "ns/a")
	if h.plugin.calls() != 3 {
		t.Fatalf("%d calls", h.plugin.calls())
	}
	h.clock = h.clock.Add(expectationsTTL + time.Second)
	_, _ = h.c.reconcile(t.Context(), "ns/a")
	if h.plugin.calls() != 4 {
		t.Fatal("expectations did not expire")
	}
}

// TestRecreatedPrimaryStartsFresh: a primary deleted and created again under
// the same name is a new object: nothing of the old one's state (pending
// expectations, last error) carries over, even if the delete event was
// missed.
func TestRecreatedPrimaryStartsFresh(t *testing.T) {
	h := newHarness(t, nil)
	old := rs("a", "uid-old", nil, map[string]string{"app": "web"})
	h.add(t, old)
	if _, err := h.c.reconcile(t.Context(), "ns/a"); err != nil {
		t.Fatal(err)
	}
	h.c.keys.setLastError("ns/a", &abi.ApplyError{Message: "old trouble"})
	h.c.keys.expect("ns/a", 3, nil)

	recreated := rs("a", "uid-new", nil, map[string]string{"app": "web"})
	if err := h.c.primary.Informer.GetIndexer().Update(recreated); err != nil {
		t.Fatal(err)
	}
	if _, err := h.c.reconcile(t.Context(), "ns/a"); err != nil {
		t.Fatal(err)
	}
	if h.plugin.calls() != 2 {
		t.Fatal("the recreated primary waited for the old one's expectations")
	}
	if le := h.plugin.last(t).LastError; le != nil {
		t.Fatalf("the recreated primary got the old one's lastError %+v", le)
	}

	// Gone: the state goes with it.
	_ = h.c.primary.Informer.GetIndexer().Delete(recreated)
	if _, err := h.c.reconcile(t.Context(), "ns/a"); err != nil {
		t.Fatal(err)
	}
	if n := h.c.keys.len(); n != 0 {
		t.Fatalf("%d keys keep state after their primary is gone", n)
	}
}

// TestOwnWritesIgnored: with ignoreOwnWrites, the echo of the controller's
// own status write does not call the plugin; any other update does.
func TestOwnWritesIgnored(t *testing.T) {
	h := newHarness(t, func(m *abi.Manifest) { m.IgnoreOwnWrites = true })
	a := rs("a", "uid-a", nil, nil)
	h.add(t, a)
	h.c.keys.bind("ns/a", a.UID)
	h.c.keys.primaryWritten("ns/a", "1", []string{"2"}, true)
	h.c.primaryUpdated(a, withRV(a.DeepCopy(), "2"))
	if got := h.queued(); got != nil {
		t.Fatalf("own echo enqueued %v", got)
	}
	h.c.primaryUpdated(withRV(a.DeepCopy(), "2"), withRV(a.DeepCopy(), "3"))
	if got := h.queued(); !slices.Equal(got, []string{"ns/a"}) {
		t.Fatalf("another update enqueued %v", got)
	}
}

// TestWorkersResize: a reload changes the number of workers of a running
// controller; a retired worker's next key goes to a remaining worker.
func TestWorkersResize(t *testing.T) {
	h := newHarness(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { h.c.Run(ctx, ctx); close(done) }()
	waitFor := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			h.c.workersMu.Lock()
			got := len(h.c.workers)
			h.c.workersMu.Unlock()
			if got == n {
				return
			}
		}
		t.Fatalf("workers never became %d", n)
	}
	waitFor(config.DefaultWorkers)
	if got := h.c.setWorkers(1); got != 1 {
		t.Fatalf("setWorkers(1) = %d", got)
	}
	a := rs("a", "uid-a", nil, nil)
	h.add(t, a)
	for range 10 { // every retired worker takes and hands back a key
		h.c.queue.Add("ns/a")
		for deadline := time.Now().Add(5 * time.Second); h.c.queue.Len() > 0 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); h.plugin.calls() == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if h.plugin.calls() == 0 {
		t.Fatal("no worker reconciled the key")
	}
	h.c.setWorkers(3)
	waitFor(3)
	cancel()
	<-done
}

func TestKeyStatesHammer(t *testing.T) {
	k := newKeyStates(nil)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			key := fmt.Sprintf("ns/%d", i%3)
			for j := range 2000 {
				k.bind(key, types.UID(fmt.Sprint(j%2)))
				k.expect(key, 2, []string{"ns/x"})
				k.creationObserved(key, 1)
				k.deletionObserved(key, "ns/x")
				k.setLastError(key, &abi.ApplyError{})
				_ = k.satisfied(key, "1")
				k.primaryWritten(key, "1", []string{"2"}, true)
				_ = k.isOwnEcho(key, "2")
				if j%100 == 0 {
					k.forget(key)
				}
			}
		})
	}
	wg.Wait()
}

// TestChainedWritesAndChildWrites: a response may write the primary twice
// (the second write goes with the resourceVersion the first returned, as
// upstream's Job controller writes status twice per sync), patches of
// children run and a child already gone counts as patched, an afterApply
// Event waits for the actions, and the key waits until the informer shows
// the patched children (upstream's finalizer expectations).
func TestChainedWritesAndChildWrites(t *testing.T) {
	a := rs("a", "uid-a", nil, map[string]string{"app": "web"})
	p := pod("p", a, map[string]string{"app": "web"})
	h := newHarness(t, nil)
	h.add(t, a, p)
	dyn := h.c.applier.Client.(*dynamicfake.FakeDynamicClient)
	rv := 1
	var statusRVs []string
	dyn.PrependReactor("update", "replicasets", func(action k8stesting.Action) (bool, runtime.Object, error) {
		u := action.(k8stesting.UpdateAction).GetObject().(*unstructured.Unstructured)
		statusRVs = append(statusRVs, u.GetResourceVersion())
		if u.GetResourceVersion() != fmt.Sprint(rv) {
			return true, nil, apierrors.NewConflict(schema.GroupResource{Group: "apps", Resource: "replicasets"}, u.GetName(), fmt.Errorf("stale"))
		}
		rv++
		u = u.DeepCopy()
		u.SetResourceVersion(fmt.Sprint(rv))
		return true, u, nil
	})
	dyn.PrependReactor("patch", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
		if action.(k8stesting.PatchAction).GetName() == "gone" {
			return true, nil, apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, "gone")
		}
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("v1")
		u.SetKind("Pod")
		u.SetName("p")
		u.SetNamespace("ns")
		u.SetResourceVersion("7")
		return true, u, nil
	})
	h.plugin.respond = func(req *abi.ReconcileRequest) *abi.ReconcileResponse {
		resp := abi.NewResponse()
		for _, replicas := range []int{1, 2} {
			obj := map[string]any{}
			_ = json.Unmarshal(req.Object, &obj)
			obj["status"] = map[string]any{"replicas": replicas}
			_ = resp.Add(abi.OpUpdateStatus, obj)
			if replicas == 1 {
				for _, name := range []string{"p", "gone"} {
					resp.Actions = append(resp.Actions, abi.Action{Op: abi.OpPatch, PatchType: abi.PatchMerge,
						Object: json.RawMessage(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"` + name + `"}}`),
						Patch:  json.RawMessage(`{"metadata":{"finalizers":null}}`)})
				}
			}
		}
		resp.Events = []abi.Event{{Type: abi.EventNormal, Reason: "Done", Message: "after", AfterApply: true}}
		return resp
	}
	h.add(t, pod("gone", a, nil))
	if _, err := h.c.reconcile(t.Context(), "ns/a"); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(statusRVs, []string{"1", "2"}) {
		t.Errorf("status writes went with resourceVersions %q, want the cached one and then the first write's", statusRVs)
	}
	if got := h.events(); !slices.Equal(got, []string{"Normal Done after"}) {
		t.Errorf("events %q", got)
	}
	if err := h.c.owns[0].Informer.GetIndexer().Delete(pod("gone", a, nil)); err != nil {
		t.Fatal(err)
	}
	h.plugin.respond = nil
	// The cache shows the first status write only: the second is to come.
	h.add(t, withRV(a.DeepCopy(), "2"))
	h.c.childUpdated(p, withRV(p.DeepCopy(), "7"))
	if _, _ = h.c.reconcile(t.Context(), "ns/a"); h.plugin.calls() != 1 {
		t.Fatal("called again with only the first of two status writes in the cache")
	}
	// The cache catches up with the status writes, not yet with the patch.
	h.add(t, withRV(a.DeepCopy(), "3"), withRV(p.DeepCopy(), "1"))
	h.c.keys.childWritten("ns/a", "ns/p", "7")
	if _, _ = h.c.reconcile(t.Context(), "ns/a"); h.plugin.calls() != 1 {
		t.Fatal("called again before the informer showed the patched pod")
	}
	h.c.childUpdated(p, withRV(p.DeepCopy(), "7"))
	if _, _ = h.c.reconcile(t.Context(), "ns/a"); h.plugin.calls() != 2 {
		t.Fatal("not called once the patched pod was observed")
	}
	// Another controller wrote the child right after this one's patch, and
	// its event came before the patch was recorded: the later version
	// settles the write (the Deployment waited 5 minutes on its ReplicaSet
	// whose status the ReplicaSet controller had just written).
	h.c.keys.childWritten("ns/a", "ns/p", "8")
	h.c.childUpdated(withRV(p.DeepCopy(), "7"), withRV(p.DeepCopy(), "9"))
	if _, _ = h.c.reconcile(t.Context(), "ns/a"); h.plugin.calls() != 3 {
		t.Fatal("a child already past the controller's write held the key")
	}
}

// TestOrphanFinalizerSweep: the host removes the manifest's owned
// finalizers from owned objects whose controller is gone or who have none,
// and leaves the others alone.
func TestOrphanFinalizerSweep(t *testing.T) {
	const fin = "example.com/tracking"
	a := rs("a", "uid-a", nil, map[string]string{"app": "web"})
	gone := rs("gone", "uid-gone", nil, nil)
	withFin := func(p *corev1.Pod) *corev1.Pod { p.Finalizers = []string{"other/keep", fin}; return p }
	live := withFin(pod("live", a, nil))
	orphaned := withFin(pod("orphaned", gone, nil))
	lone := withFin(pod("lone", nil, nil))
	foreign := withFin(pod("foreign", nil, nil))
	foreign.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(dep, depGVK)}
	plain := pod("plain", gone, nil)
	h := newHarness(t, func(m *abi.Manifest) { m.OwnedFinalizers = []string{fin} })
	h.add(t, a, live, orphaned, lone, foreign, plain)
	var patched []string
	dyn := h.c.applier.Client.(*dynamicfake.FakeDynamicClient)
	dyn.PrependReactor("patch", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
		pa := action.(k8stesting.PatchAction)
		patched = append(patched, pa.GetName()+" "+string(pa.GetPatch()))
		return true, &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": pa.GetName()}}}, nil
	})
	for _, p := range []*corev1.Pod{live, orphaned, lone, foreign, plain} {
		h.c.childAdded(p)
	}
	for h.c.sweep.Len() > 0 {
		h.c.sweepOne(t.Context())
	}
	slices.Sort(patched)
	want := []string{
		`lone {"metadata":{"finalizers":["other/keep"],"resourceVersion":"1"}}`,
		`orphaned {"metadata":{"finalizers":["other/keep"],"resourceVersion":"1"}}`,
	}
	if !slices.Equal(patched, want) {
		t.Errorf("patched %q, want %q", patched, want)
	}
	// The live primary is deleted: its child is swept too.
	patched = nil
	if err := h.c.primary.Informer.GetIndexer().Delete(a); err != nil {
		t.Fatal(err)
	}
	h.c.primaryDeleted(a)
	for h.c.sweep.Len() > 0 {
		h.c.sweepOne(t.Context())
	}
	if len(patched) != 1 || !strings.HasPrefix(patched[0], "live ") {
		t.Errorf("after the primary's delete, patched %q", patched)
	}
}

// TestMemoRoundTrips: a response's memo comes back in every later request
// for its key, absent keeps it, null forgets it, another key never sees
// it, and a recreated primary starts without one.
func TestMemoRoundTrips(t *testing.T) {
	h := newHarness(t, nil)
	h.add(t, rs("a", "uid-a", nil, map[string]string{"app": "web"}))
	h.add(t, rs("b", "uid-b", nil, map[string]string{"app": "db"}))
	var answer string // the memo field of the next response, raw
	h.plugin.respond = func(req *abi.ReconcileRequest) *abi.ReconcileResponse {
		resp := abi.NewResponse()
		if answer != "" {
			resp.Memo = json.RawMessage(answer)
		}
		return resp
	}
	call := func(key string) string {
		t.Helper()
		if _, err := h.c.reconcile(t.Context(), key); err != nil {
			t.Fatal(err)
		}
		return string(h.plugin.last(t).Memo)
	}
	answer = `{"backoff":{"node-1":2}}`
	if got := call("ns/a"); got != "" {
		t.Fatalf("first call has memo %s", got)
	}
	answer = ""
	if got := call("ns/a"); got != `{"backoff":{"node-1":2}}` {
		t.Fatalf("memo %q, want the last response's", got)
	}
	if got := call("ns/a"); got != `{"backoff":{"node-1":2}}` {
		t.Fatalf("a response without memo dropped it: %q", got)
	}
	if got := call("ns/b"); got != "" {
		t.Fatalf("another key sees memo %s", got)
	}
	answer = "null"
	call("ns/a")
	answer = ""
	if got := call("ns/a"); got != "" {
		t.Fatalf("null did not forget the memo: %s", got)
	}

	answer = `[1]`
	call("ns/a")
	answer = ""
	if err := h.c.primary.Informer.GetIndexer().Update(rs("a", "uid-a2", nil, map[string]string{"app": "web"})); err != nil {
		t.Fatal(err)
	}
	if got := call("ns/a"); got != "" {
		t.Fatalf("the recreated primary got the old one's memo %s", got)
	}
}

// TestOversizedMemoRefused: a memo over abi.MaxMemoBytes refuses the whole
// response and is not kept.
func TestOversizedMemoRefused(t *testing.T) {
	h := newHarness(t, nil)
	h.add(t, rs("a", "uid-a", nil, map[string]string{"app": "web"}))
	big := `"` + strings.Repeat("x", abi.MaxMemoBytes) + `"`
	h.plugin.respond = func(*abi.ReconcileRequest) *abi.ReconcileResponse {
		resp := abi.NewResponse()
		resp.Memo = json.RawMessage(big)
		return resp
	}
	if _, err := h.c.reconcile(t.Context(), "ns/a"); err == nil || !strings.Contains(err.Error(), "memo") {
		t.Fatalf("err %v, want the memo refused", err)
	}
	h.plugin.respond = nil
	if _, err := h.c.reconcile(t.Context(), "ns/a"); err != nil {
		t.Fatal(err)
	}
	if m := h.plugin.last(t).Memo; m != nil {
		t.Fatalf("the refused memo was kept (%d bytes)", len(m))
	}
}
