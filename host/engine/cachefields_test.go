package engine

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/host/config"
	"wasmctl.dev/wasmctl/host/spec"
	"wasmctl.dev/wasmctl/internal/projection"
)

// TestCacheFields: a kind is cached cut only when no controller reconciles
// it or reads it without listing fields, and the cut holds every reader's
// fields and the host's own.
func TestCacheFields(t *testing.T) {
	pod := abi.TypeRef{APIVersion: "v1", Kind: "Pod"}
	rsT := abi.TypeRef{APIVersion: "apps/v1", Kind: "ReplicaSet"}
	cm := abi.TypeRef{APIVersion: "v1", Kind: "ConfigMap"}
	rsReader := abi.Manifest{Name: "rs", For: rsT, Owns: []abi.TypeRef{pod},
		Fields: []abi.FieldSelection{{Type: pod, Paths: []string{"status.phase", "metadata.annotations[a]"}}}}
	depReader := abi.Manifest{Name: "dep", For: abi.TypeRef{APIVersion: "apps/v1", Kind: "Deployment"}, Owns: []abi.TypeRef{rsT},
		Related: []abi.RelatedInput{{Name: "pods", Type: pod, Select: abi.SelectGrandchildren}},
		Fields:  []abi.FieldSelection{{Type: pod, Paths: []string{"spec.nodeName"}}, {Type: rsT, Paths: []string{"spec"}}}}
	wholePods := abi.Manifest{Name: "whole", For: cm, Owns: []abi.TypeRef{pod}}
	cmReader := abi.Manifest{Name: "cms", For: rsT, Related: []abi.RelatedInput{{Name: "cms", Type: cm, Select: abi.SelectAll}},
		Fields: []abi.FieldSelection{{Type: cm, Paths: []string{"data.x"}}}}
	build := func(ms ...abi.Manifest) []*spec.Controller {
		var out []*spec.Controller
		for i := range ms {
			cc := config.Controller{Plugin: ms[i].Name + ".wasm"}
			cc.SetDefaults()
			s, err := spec.Build(&config.Config{Controllers: []config.Controller{cc}}, 0, &ms[i])
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return out
	}
	podGK, rsGK, cmGK := schema.GroupKind{Kind: "Pod"}, schema.GroupKind{Group: "apps", Kind: "ReplicaSet"}, schema.GroupKind{Kind: "ConfigMap"}
	for _, tc := range []struct {
		name string
		ms   []abi.Manifest
		cut  []schema.GroupKind
		// keeps: paths the pod cut must keep; drops: paths it must not.
		keeps, drops []string
	}{
		{"one reader", []abi.Manifest{rsReader}, []schema.GroupKind{podGK},
			[]string{"status.phase", "metadata.annotations[a]", "metadata.labels", "metadata.ownerReferences", "metadata.finalizers", "metadata.deletionTimestamp"},
			[]string{"spec.nodeName", "metadata.annotations", "spec"}},
		{"two readers: the union; a reconciled kind whole", []abi.Manifest{rsReader, depReader}, []schema.GroupKind{podGK},
			[]string{"status.phase", "spec.nodeName"}, []string{"spec.containers"}},
		{"a reader without fields: whole", []abi.Manifest{rsReader, wholePods}, nil, nil, nil},
		{"related with fields", []abi.Manifest{cmReader}, []schema.GroupKind{cmGK}, nil, nil},
		{"related kind reconciled by another", []abi.Manifest{cmReader, wholePods}, nil, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keep, err := cacheFields(build(tc.ms...))
			if err != nil {
				t.Fatal(err)
			}
			for _, gk := range tc.cut {
				if keep[gk] == nil {
					t.Fatalf("%s cached whole, want it cut (cut: %v)", gk, keep)
				}
			}
			if len(keep) != len(tc.cut) {
				t.Fatalf("cut %v, want only %v", keep, tc.cut)
			}
			if keep[rsGK] != nil {
				t.Fatal("ReplicaSets cut: a controller reconciles them")
			}
			for _, path := range tc.keeps {
				if p, _ := projection.New("t", []string{path}); !keep[podGK].Covers(p) {
					t.Errorf("pods cut without %s", path)
				}
			}
			for _, path := range tc.drops {
				if p, _ := projection.New("t", []string{path}); keep[podGK].Covers(p) {
					t.Errorf("pods keep all of %s", path)
				}
			}
		})
	}
}

// TestSweepJSON: memoised JSON survives a sweep when it was read since
// the one before, and is dropped otherwise; the sweep that drops the last
// of it calls onIdle, once.
func TestSweepJSON(t *testing.T) {
	c := newInformerCache(nil, nil, nil, nil)
	idle := 0
	c.onIdle = func() { idle++ }
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", UID: "uid-p", ResourceVersion: "1"}}
	memoised := func() bool {
		_, ok := c.json.Load(pod.UID)
		return ok
	}
	if _, err := c.JSON(pod, nil); err != nil {
		t.Fatal(err)
	}
	c.sweepJSON()
	if !memoised() || idle != 0 {
		t.Fatalf("dropped by the first sweep after a read (or idle: %d)", idle)
	}
	c.sweepJSON()
	if memoised() || idle != 1 {
		t.Fatalf("kept through a sweep with no read since the last (or idle %d times, want 1)", idle)
	}
	c.sweepJSON()
	if idle != 1 {
		t.Fatalf("idle %d times: once per idle spell", idle)
	}
	if data, err := c.JSON(pod, nil); err != nil || !strings.Contains(string(data), `"uid-p"`) || !memoised() {
		t.Fatalf("after the sweep: %s, %v", data, err)
	}
}

// TestCutObject: a typed object of a cut kind enters the cache as a
// cutObject whose metadata is the object's and whose JSON gives every
// reader what the whole object would have: the host reads its metadata,
// the plugins its JSON.
func TestCutObject(t *testing.T) {
	s, keep := podReader(t, "status.phase", "status.conditions.type", "spec.nodeName", "metadata.annotations[a]")
	gvk := corev1.SchemeGroupVersion.WithKind("Pod")
	isController := true
	deleted := metav1.NewTime(time.Date(2026, 12, 8, 1, 2, 3, 0, time.UTC))
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "ns", UID: "uid-1", ResourceVersion: "42", GenerateName: "web-",
			Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"a": "1", "b": "2"}, Finalizers: []string{"f"},
			DeletionTimestamp: &deleted, OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web", UID: "rs-uid", Controller: &isController}},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kube-controller-manager"}}},
		Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "web", Image: "web:1",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1",
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, Reason: "r"}}},
	}
	whole := pod.DeepCopy()
	whole.ManagedFields = nil
	whole.SetGroupVersionKind(gvk)
	wholeJSON, err := json.Marshal(whole)
	if err != nil {
		t.Fatal(err)
	}

	out, err := transformFor(gvk, keep[gvk.GroupKind()])(pod)
	if err != nil {
		t.Fatal(err)
	}
	cut, ok := out.(*cutObject)
	if !ok {
		t.Fatalf("cached as %T, want *cutObject", out)
	}
	if cut.GroupVersionKind() != gvk || objectKey(cut) != "ns/web-1" || cut.GetUID() != "uid-1" || cut.GetResourceVersion() != "42" ||
		cut.GetLabels()["app"] != "web" || controllerOf(cut).UID != "rs-uid" || len(cut.GetFinalizers()) != 1 ||
		cut.GetDeletionTimestamp() == nil || cut.GetGenerateName() != "web-" {
		t.Fatalf("metadata of the cut object: %+v", cut.ObjectMeta)
	}
	if len(cut.Annotations) != 1 || cut.Annotations["a"] != "1" {
		t.Fatalf("the cut object's metadata keeps annotations %v, want only the read one", cut.Annotations)
	}
	if cut.GetManagedFields() != nil || strings.Contains(string(cut.data), "managedFields") {
		t.Fatal("managedFields kept")
	}
	for _, gone := range []string{"containers", "podIP", `"b"`, `"reason"`} {
		if strings.Contains(string(cut.data), gone) {
			t.Errorf("the cut object's JSON has %s: %s", gone, cut.data)
		}
	}

	c := newInformerCache(nil, nil, nil, keep)
	p := s.Projections[gvk]
	want, err := p.ApplyJSON(wholeJSON)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.JSON(cut, p)
	if err != nil || string(got) != string(want) {
		t.Fatalf("the reader's JSON from the cut object:\n got %s (%v)\nwant %s", got, err, want)
	}
	if data, err := json.Marshal(cut); err != nil || string(data) != string(cut.data) {
		t.Fatalf("json.Marshal of a cut object: %s, %v", data, err)
	}

	cp := cut.DeepCopyObject().(*cutObject)
	cp.Labels["app"] = "changed"
	if cut.Labels["app"] != "web" || string(cp.data) != string(cut.data) {
		t.Fatal("DeepCopyObject shares the metadata")
	}
}

// BenchmarkTransformCut: a running pod (four conditions, a container with
// requests) entering the cache of a kind cut to a ReplicaSet plugin's
// fields, from a deep copy of it as the decoder would hand it over.
func BenchmarkTransformCut(b *testing.B) {
	_, keep := podReader(b, "metadata.labels", "metadata.ownerReferences", "status.phase", "status.conditions.type",
		"status.conditions.status", "status.conditions.lastTransitionTime", "spec.nodeName", "status.containerStatuses.restartCount")
	gvk := corev1.SchemeGroupVersion.WithKind("Pod")
	now, yes := metav1.Now(), true
	cond := func(t corev1.PodConditionType) corev1.PodCondition {
		return corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: now}
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "ns", UID: "uid-1", ResourceVersion: "42", GenerateName: "web-", CreationTimestamp: now,
			Labels:          map[string]string{"app": "web", "pod-template-hash": "abc"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web", UID: "rs-uid", Controller: &yes}}},
		Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "web", Image: "web:1",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1",
			Conditions:        []corev1.PodCondition{cond(corev1.PodReady), cond(corev1.PodScheduled), cond(corev1.PodInitialized), cond(corev1.ContainersReady)},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "web", Ready: true, RestartCount: 1}}},
	}
	transform := transformFor(gvk, keep[gvk.GroupKind()])
	for b.Loop() {
		if _, err := transform(pod.DeepCopy()); err != nil {
			b.Fatal(err)
		}
	}
}

// podReader builds the spec of a ReplicaSet controller reading these
// fields of its pods, and the cache cut that follows from it.
func podReader(tb testing.TB, paths ...string) (*spec.Controller, map[schema.GroupKind]*projection.Projection) {
	tb.Helper()
	podT := abi.TypeRef{APIVersion: "v1", Kind: "Pod"}
	m := abi.Manifest{Name: "rs", For: abi.TypeRef{APIVersion: "apps/v1", Kind: "ReplicaSet"}, Owns: []abi.TypeRef{podT},
		Fields: []abi.FieldSelection{{Type: podT, Paths: paths}}}
	cc := config.Controller{Plugin: "rs.wasm"}
	cc.SetDefaults()
	s, err := spec.Build(&config.Config{Controllers: []config.Controller{cc}}, 0, &m)
	if err != nil {
		tb.Fatal(err)
	}
	keep, err := cacheFields([]*spec.Controller{s})
	if err != nil {
		tb.Fatal(err)
	}
	return s, keep
}
