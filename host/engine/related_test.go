package engine

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/host/apply"
	"wasmctl.dev/wasmctl/host/config"
	"wasmctl.dev/wasmctl/host/spec"
)

// Tests of the grandchildren selection and of related inputs' wakeOn and
// when, over a Deployment-like controller: for Deployment, owns
// ReplicaSet, the pods of its ReplicaSets as a related input.

func deployment(name, uid string, strategy appsv1.DeploymentStrategyType) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(uid), ResourceVersion: "1", Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Strategy: appsv1.DeploymentStrategy{Type: strategy},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "web", Image: "nginx:1.27", Ports: []corev1.ContainerPort{{ContainerPort: 80}},
					Env: []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}},
				}}},
			},
		},
	}
}

// newDeploymentHarness builds a controller for Deployment, owns
// ReplicaSet, with one related input "pods" of Pods selecting
// grandchildren, edited by edit.
func newDeploymentHarness(t *testing.T, edit func(r *abi.RelatedInput)) *harness {
	t.Helper()
	return newHarness(t, func(m *abi.Manifest) {
		m.For = abi.TypeRef{APIVersion: "apps/v1", Kind: "Deployment"}
		m.Owns = []abi.TypeRef{{APIVersion: "apps/v1", Kind: "ReplicaSet"}}
		r := abi.RelatedInput{Name: "pods", Type: abi.TypeRef{APIVersion: "v1", Kind: "Pod"}, Select: abi.SelectGrandchildren}
		if edit != nil {
			edit(&r)
		}
		m.Related = []abi.RelatedInput{r}
	})
}

// put adds objects to an informer's cache without calling handlers.
func put(t *testing.T, inf *informer, objs ...any) {
	t.Helper()
	for _, o := range objs {
		if err := inf.Informer.GetIndexer().Add(o); err != nil {
			t.Fatal(err)
		}
	}
}

// deploymentFixture: d1 (Recreate) controls ReplicaSet a with pods a1, a2;
// d2 (RollingUpdate) controls b with pod b1; stray has no controller and
// pod s1; o is an uncontrolled pod; far is controlled by a's UID but in
// another namespace.
type deploymentFixture struct {
	d1, d2                 *appsv1.Deployment
	a, b, stray            *appsv1.ReplicaSet
	a1, a2, b1, s1, o, far *corev1.Pod
}

func newDeploymentFixture(t *testing.T, h *harness) *deploymentFixture {
	t.Helper()
	f := &deploymentFixture{d1: deployment("d1", "uid-d1", appsv1.RecreateDeploymentStrategyType), d2: deployment("d2", "uid-d2", appsv1.RollingUpdateDeploymentStrategyType)}
	f.a, f.b, f.stray = rs("a", "uid-a", f.d1, nil), rs("b", "uid-b", f.d2, nil), rs("stray", "uid-stray", nil, nil)
	f.a1, f.a2, f.b1, f.s1, f.o = pod("a1", f.a, nil), pod("a2", f.a, nil), pod("b1", f.b, nil), pod("s1", f.stray, nil), pod("o", nil, nil)
	f.far = pod("far", f.a, nil)
	f.far.Namespace = "other"
	put(t, h.c.primary, f.d1, f.d2)
	put(t, h.c.owns[0], f.a, f.b, f.stray)
	put(t, h.c.related[0], f.a1, f.a2, f.b1, f.s1, f.o, f.far)
	return f
}

func names(raws []json.RawMessage) []string {
	var out []string
	for _, r := range raws {
		var o metav1.PartialObjectMetadata
		_ = json.Unmarshal(r, &o)
		out = append(out, o.Name)
	}
	return out
}

func request(t *testing.T, h *harness, primary *appsv1.Deployment) (abi.ReconcileRequest, string) {
	t.Helper()
	data, _, _, err := h.c.buildRequest(h.c.spec.Load(), objectKey(primary), primary)
	if err != nil {
		t.Fatal(err)
	}
	var req abi.ReconcileRequest
	if err := abi.DecodeStrict(data, &req); err != nil {
		t.Fatalf("not a valid ReconcileRequest: %v\n%s", err, data)
	}
	return req, string(data)
}

// TestRelatedGrandchildren: the pods of the primary's ReplicaSets, and
// only those, come under the input's name; an event of one enqueues the
// Deployment of its ReplicaSet.
func TestRelatedGrandchildren(t *testing.T) {
	h := newDeploymentHarness(t, nil)
	f := newDeploymentFixture(t, h)
	req, _ := request(t, h, f.d1)
	if got := names(req.Children); !slices.Equal(got, []string{"a"}) {
		t.Errorf("children %v, want [a]", got)
	}
	if got := names(req.Related["pods"]); !slices.Equal(got, []string{"a1", "a2"}) {
		t.Errorf("d1's related pods %v, want [a1 a2]", got)
	}
	if req, _ = request(t, h, f.d2); !slices.Equal(names(req.Related["pods"]), []string{"b1"}) {
		t.Errorf("d2's related pods %v, want [b1]", names(req.Related["pods"]))
	}

	impostor := rs("a", "uid-impostor", f.d1, nil)
	for _, tc := range []struct {
		name string
		obj  any
		want []string
	}{
		{"a pod of d1's ReplicaSet", f.a1, []string{"ns/d1"}},
		{"a pod of d2's ReplicaSet", f.b1, []string{"ns/d2"}},
		{"a pod of a ReplicaSet without controller", f.s1, nil},
		{"an uncontrolled pod", f.o, nil},
		{"a pod in another namespace than the ReplicaSet", f.far, nil},
		{"a pod of a ReplicaSet under the same name with another UID", pod("x", impostor, nil), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.relatedHandler().OnAdd(tc.obj, false)
			if got := h.queued(); !slices.Equal(got, tc.want) {
				t.Fatalf("enqueued %v, want %v", got, tc.want)
			}
		})
	}
}

func (h *harness) relatedHandler() cache.ResourceEventHandlerFuncs {
	return h.c.relatedHandler(h.c.related[0])
}

// TestRelatedWakeOnDelete: with wakeOn: delete, adds and updates of the
// input's objects enqueue nothing; their deletion (or a tombstone) does.
// With the default, every change does.
func TestRelatedWakeOnDelete(t *testing.T) {
	for _, wake := range []abi.Wake{abi.WakeDelete, abi.WakeAny} {
		name := string(wake)
		if wake == abi.WakeAny {
			name = "any"
		}
		t.Run(name, func(t *testing.T) {
			h := newDeploymentHarness(t, func(r *abi.RelatedInput) { r.WakeOn = wake })
			f := newDeploymentFixture(t, h)
			var onChange []string
			if wake == abi.WakeAny {
				onChange = []string{"ns/d1"}
			}
			relabelled := withRV(f.a1.DeepCopy(), "2")
			relabelled.Labels = map[string]string{"phase": "running"}
			steps := []struct {
				name  string
				event func(cache.ResourceEventHandlerFuncs)
				want  []string
			}{
				{"add", func(e cache.ResourceEventHandlerFuncs) { e.OnAdd(f.a1, false) }, onChange},
				{"update", func(e cache.ResourceEventHandlerFuncs) { e.OnUpdate(f.a1, relabelled) }, onChange},
				{"delete", func(e cache.ResourceEventHandlerFuncs) { e.OnDelete(relabelled) }, []string{"ns/d1"}},
				{"tombstone", func(e cache.ResourceEventHandlerFuncs) {
					e.OnDelete(cache.DeletedFinalStateUnknown{Key: "ns/a2", Obj: f.a2})
				}, []string{"ns/d1"}},
			}
			for _, s := range steps {
				s.event(h.relatedHandler())
				if got := h.queued(); !slices.Equal(got, s.want) {
					t.Errorf("%s enqueued %v, want %v", s.name, got, s.want)
				}
			}
		})
	}
}

// TestRelatedWhen: an input with a when condition is an empty list for a
// primary whose field differs, and changes of its objects do not enqueue
// that primary; for the others nothing changes.
func TestRelatedWhen(t *testing.T) {
	recreate := func(r *abi.RelatedInput) {
		r.When = &abi.FieldCondition{Path: "spec.strategy.type", Equals: "Recreate"}
	}
	h := newDeploymentHarness(t, recreate)
	f := newDeploymentFixture(t, h)
	req, raw := request(t, h, f.d2)
	if pods, ok := req.Related["pods"]; !ok || len(pods) != 0 || !strings.Contains(raw, `"related":{"pods":[]}`) {
		t.Errorf("RollingUpdate d2's related pods %v (present %v), want an empty list:\n%s", names(pods), ok, raw)
	}
	if got := names(req.Children); !slices.Equal(got, []string{"b"}) {
		t.Errorf("d2's children %v: when limits the related input only", got)
	}
	if req, _ = request(t, h, f.d1); !slices.Equal(names(req.Related["pods"]), []string{"a1", "a2"}) {
		t.Errorf("Recreate d1's related pods %v, want [a1 a2]", names(req.Related["pods"]))
	}
	for _, e := range []func(){
		func() { h.relatedHandler().OnAdd(f.b1, false) },
		func() { h.relatedHandler().OnUpdate(f.b1, withRV(f.b1.DeepCopy(), "2")) },
		func() { h.relatedHandler().OnDelete(f.b1) },
	} {
		if e(); len(h.queued()) != 0 {
			t.Fatal("a pod of RollingUpdate d2 enqueued it")
		}
	}
	h.relatedHandler().OnDelete(f.a1)
	if got := h.queued(); !slices.Equal(got, []string{"ns/d1"}) {
		t.Errorf("a pod of Recreate d1 enqueued %v", got)
	}

	// The other selections honour it too: a ConfigMap of the namespace
	// wakes the Recreate Deployment only.
	h = newHarness(t, func(m *abi.Manifest) {
		m.For = abi.TypeRef{APIVersion: "apps/v1", Kind: "Deployment"}
		m.Related = []abi.RelatedInput{{Name: "cms", Type: abi.TypeRef{APIVersion: "v1", Kind: "ConfigMap"}, Select: abi.SelectNamespace,
			When: &abi.FieldCondition{Path: "spec.strategy.type", Equals: "Recreate"}}}
	})
	put(t, h.c.primary, f.d1, f.d2)
	cm := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "ns", UID: "uid-c", ResourceVersion: "1"}}
	put(t, h.c.related[0], cm)
	h.relatedHandler().OnAdd(cm, false)
	if got := h.queued(); !slices.Equal(got, []string{"ns/d1"}) {
		t.Errorf("a namespace ConfigMap enqueued %v, want [ns/d1]", got)
	}
	if req, _ := request(t, h, f.d2); len(req.Related["cms"]) != 0 {
		t.Errorf("RollingUpdate d2 got cms %v", names(req.Related["cms"]))
	}
}

// TestWhenHolds: the condition on typed and unstructured primaries alike.
func TestWhenHolds(t *testing.T) {
	typed := deployment("d", "uid-d", appsv1.RecreateDeploymentStrategyType)
	typed.Annotations = map[string]string{"example.com/mode": "x"}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "example.com/v1", "kind": "Thing",
		"metadata": map[string]any{"name": "t", "annotations": map[string]any{"example.com/mode": "x"}},
		"spec":     map[string]any{"strategy": map[string]any{"type": "Recreate"}, "replicas": int64(3), "none": nil},
	}}
	for _, tc := range []struct {
		path, equals string
		want         bool
	}{
		{"spec.strategy.type", "Recreate", true},
		{"spec.strategy.type", "RollingUpdate", false},
		{"spec.strategy.type", "", false},
		{"spec.missing", "", true},
		{"spec.missing", "Recreate", false},
		{"spec.strategy.type.deeper", "", true}, // through a string: missing
		{"spec.replicas", "3", false},           // not a string
		{"spec.strategy", "", false},            // a map
		{"metadata.annotations[example.com/mode]", "x", true},
	} {
		r := mustRelated(t, tc.path, tc.equals)
		for name, obj := range map[string]apply.Object{"typed": typed, "unstructured": u} {
			if tc.path == "spec.replicas" && name == "typed" {
				continue // the typed Deployment has no replicas set
			}
			if got := whenHolds(r, obj); got != tc.want {
				t.Errorf("%s: %s == %q: %v, want %v", name, tc.path, tc.equals, got, tc.want)
			}
		}
	}
	u.Object["spec"].(map[string]any)["strategy"] = nil
	if !whenHolds(mustRelated(t, "spec.strategy.type", ""), u) {
		t.Error("a path through null does not read as missing")
	}
	if !whenHolds(&spec.Related{}, u) {
		t.Error("no condition: must hold")
	}
}

func mustRelated(t *testing.T, path, equals string) *spec.Related {
	t.Helper()
	cc := config.Controller{Plugin: "x.wasm"}
	cc.SetDefaults()
	s, err := spec.Build(&config.Config{Controllers: []config.Controller{cc}}, 0, &abi.Manifest{Name: "x", For: abi.TypeRef{APIVersion: "apps/v1", Kind: "Deployment"},
		Related: []abi.RelatedInput{{Name: "in", Type: abi.TypeRef{APIVersion: "v1", Kind: "Pod"}, Select: abi.SelectAll,
			When: &abi.FieldCondition{Path: path, Equals: equals}}}})
	if err != nil {
		t.Fatal(err)
	}
	return &s.Related[0]
}

// BenchmarkWhenHolds: the cost of a when condition on a typed primary (the
// conversion to a map) and on an unstructured one.
func BenchmarkWhenHolds(b *testing.B) {
	r := &spec.Related{RelatedInput: abi.RelatedInput{When: &abi.FieldCondition{Path: "spec.strategy.type", Equals: "Recreate"}}, WhenPath: []string{"spec", "strategy", "type"}}
	d := deployment("d", "uid-d", appsv1.RecreateDeploymentStrategyType)
	b.Run("typed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !whenHolds(r, d) {
				b.Fatal("false")
			}
		}
	})
	b.Run("unstructured", func(b *testing.B) {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(d)
		if err != nil {
			b.Fatal(err)
		}
		u := &unstructured.Unstructured{Object: m}
		b.ReportAllocs()
		for b.Loop() {
			if !whenHolds(r, u) {
				b.Fatal("false")
			}
		}
	})
}

// TestRelatedUpdateOutsideFields: with Manifest.Fields for the related
// kind, an update that changes only fields the plugin does not read
// enqueues nothing (a Node's status heartbeat for the DaemonSet plugin);
// one that changes a read field, the labels or the owner references does.
func TestRelatedUpdateOutsideFields(t *testing.T) {
	h := newHarness(t, func(m *abi.Manifest) {
		m.Related = []abi.RelatedInput{{Name: "cms", Type: abi.TypeRef{APIVersion: "v1", Kind: "ConfigMap"}, Select: abi.SelectAll}}
		m.Fields = []abi.FieldSelection{{Type: abi.TypeRef{APIVersion: "v1", Kind: "ConfigMap"}, Paths: []string{"data.watched"}}}
	})
	put(t, h.c.primary, rs("a", "uid-a", nil, map[string]string{"app": "web"}))
	base := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "ns", UID: "uid-c", ResourceVersion: "1"},
		Data:       map[string]string{"watched": "1", "other": "1"},
	}
	for _, tc := range []struct {
		name string
		edit func(cm *corev1.ConfigMap)
		want []string
	}{
		{"unread field", func(cm *corev1.ConfigMap) { cm.Data["other"] = "2" }, nil},
		{"resync", func(cm *corev1.ConfigMap) { cm.ResourceVersion = "1" }, nil},
		{"read field", func(cm *corev1.ConfigMap) { cm.Data["watched"] = "2" }, []string{"ns/a"}},
		{"labels", func(cm *corev1.ConfigMap) { cm.Labels = map[string]string{"x": "y"} }, []string{"ns/a"}},
		{"owner", func(cm *corev1.ConfigMap) {
			cm.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "o", UID: "uid-o"}}
		}, []string{"ns/a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cur := withRV(base.DeepCopy(), "2")
			tc.edit(cur)
			h.relatedHandler().OnUpdate(base, cur)
			if got := h.queued(); !slices.Equal(got, tc.want) {
				t.Errorf("enqueued %v, want %v", got, tc.want)
			}
		})
	}
}

// TestTypedFieldMatchesConverter holds the typed walk to the conversion it
// replaces: for typed objects and paths of every kind (strings, missing,
// omitted empties, numbers, bools, maps, lists, times, quantities, through
// nil pointers and embedded structs), whenHolds reads what the object's
// unstructured form holds.
func TestTypedFieldMatchesConverter(t *testing.T) {
	now := metav1.NewTime(time.Unix(1_700_000_000, 0))
	full := deployment("d", "uid-d", appsv1.RollingUpdateDeploymentStrategyType)
	full.Labels = map[string]string{"app": "web", "empty": ""}
	full.DeletionTimestamp = &now
	full.Spec.Replicas = ptr.To[int32](3)
	full.Spec.Paused = true
	full.Spec.MinReadySeconds = 5
	full.Spec.Template.Spec.Containers = []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{
		Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}}}}
	full.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable}}
	bare := deployment("e", "uid-e", "")
	objs := []apply.Object{full, bare, &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{NodeName: "n1", RestartPolicy: corev1.RestartPolicyAlways}}}
	paths := []string{"kind", "apiVersion", "metadata.name", "metadata.labels.app", "metadata.labels.empty", "metadata.labels.none",
		"metadata.deletionTimestamp", "metadata.creationTimestamp", "metadata.generation", "spec.replicas", "spec.paused",
		"spec.minReadySeconds", "spec.strategy.type", "spec.strategy.rollingUpdate", "spec.strategy.rollingUpdate.maxSurge",
		"spec.selector", "spec.template.spec.containers", "spec.template.spec.containers.name", "spec.nodeName",
		"spec.restartPolicy", "spec.template.spec.containers[0]", "status.conditions", "status.replicas", "status", "spec.none.deeper"}
	for _, obj := range objs {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{Object: m}
		for _, path := range paths {
			for _, equals := range []string{"", "web", "RollingUpdate", "3", "true", "d", "n1", "Always", "apps/v1", "Pod", "Deployment", "v1"} {
				r := mustRelated(t, path, equals)
				if got, want := whenHolds(r, obj), whenHolds(r, u); got != want {
					t.Errorf("%s: %s == %q: typed %v, converted %v", obj.GetName(), path, equals, got, want)
				}
			}
		}
	}
}
