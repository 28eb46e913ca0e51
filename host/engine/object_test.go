package engine

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"wasmctl.dev/wasmctl/host/apply"
	"wasmctl.dev/wasmctl/internal/projection"
)

// typedPod is a Pod as the cache holds it for a built-in kind: a typed
// struct with apiVersion and kind set by the informer transform.
func typedPod() *corev1.Pod {
	t := true
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name: "p", Namespace: "ns", UID: "u1", ResourceVersion: "7",
			CreationTimestamp: metav1.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC),
			Labels:            map[string]string{"app": "a"},
			Annotations:       map[string]string{"controller.kubernetes.io/pod-deletion-cost": "-7"},
			OwnerReferences:   []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "rs", UID: "rs-uid", Controller: &t}},
		},
		Spec: corev1.PodSpec{NodeName: "n", Containers: []corev1.Container{{Name: "c", Image: "i",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{
			Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Date(2026, 11, 25, 10, 0, 5, 0, time.UTC),
		}}},
	}
}

func toUnstructured(t *testing.T, obj runtime.Object) *unstructured.Unstructured {
	t.Helper()
	data, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := json.Unmarshal(data, &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

// A plugin must not be able to tell whether the host decoded an object from
// protobuf into a typed struct or from JSON into a map.
func TestTypedAndUnstructuredLookAlike(t *testing.T) {
	pod := typedPod()
	u := toUnstructured(t, pod)
	proj, err := projection.New("t", []string{"metadata.labels", "metadata.ownerReferences", "metadata.annotations", "metadata.creationTimestamp", "spec.nodeName", "status.phase", "status.conditions"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		p    *projection.Projection
	}{{"whole object", nil}, {"projected", proj}} {
		t.Run(tc.name, func(t *testing.T) {
			c := &informerCache{}
			typed, err := c.JSON(pod, tc.p)
			if err != nil {
				t.Fatal(err)
			}
			c = &informerCache{}
			untyped, err := c.JSON(u, tc.p)
			if err != nil {
				t.Fatal(err)
			}
			var a, b any
			if err := json.Unmarshal(typed, &a); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(untyped, &b); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a, b) { // key order may differ
				t.Fatalf("typed:\n%s\nunstructured:\n%s", typed, untyped)
			}
		})
	}

	for _, o := range []apply.Object{pod, u} {
		ref := controllerOf(o)
		if ref == nil || ref.UID != "rs-uid" || ref.Kind != "ReplicaSet" || ref.Name != "rs" {
			t.Errorf("%T: controllerOf = %+v", o, ref)
		}
		if !sameKind(o, schema.GroupVersionKind{Version: "v1", Kind: "Pod"}) || sameKind(o, schema.GroupVersionKind{Version: "v1", Kind: "Service"}) {
			t.Errorf("%T: sameKind wrong", o)
		}
		if objectKey(o) != "ns/p" {
			t.Errorf("%T: objectKey = %q", o, objectKey(o))
		}
	}
}

func TestSelectorOf(t *testing.T) {
	rs := &appsv1.ReplicaSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "ReplicaSet"},
		ObjectMeta: metav1.ObjectMeta{Name: "rs", Namespace: "ns", UID: types.UID("x")},
		Spec: appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{
			MatchLabels:      map[string]string{"app": "a"},
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"web"}}},
		}},
	}
	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns"},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "a"}},
	}
	emptyRS := rs.DeepCopy()
	emptyRS.Spec.Selector = &metav1.LabelSelector{}
	cm := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}}
	for _, tc := range []struct {
		name  string
		obj   runtime.Object
		match map[string]string // labels that must match; nil: no selector
		miss  map[string]string
	}{
		{"label selector", rs, map[string]string{"app": "a", "tier": "web"}, map[string]string{"app": "a", "tier": "db"}},
		{"label map", svc, map[string]string{"app": "a", "x": "y"}, map[string]string{"app": "b"}},
		{"empty selector adopts nothing", emptyRS, nil, nil},
		{"no spec.selector", cm, nil, nil},
	} {
		for _, o := range []apply.Object{tc.obj.(apply.Object), toUnstructured(t, tc.obj)} {
			t.Run(tc.name+"/"+typeName(o), func(t *testing.T) {
				sel := selectorOf(o)
				if tc.match == nil {
					if sel != nil {
						t.Fatalf("selector %v, want none", sel)
					}
					return
				}
				if sel == nil {
					t.Fatal("no selector")
				}
				if !sel.Matches(labels.Set(tc.match)) || sel.Matches(labels.Set(tc.miss)) {
					t.Fatalf("selector %v matches wrongly", sel)
				}
			})
		}
	}
}

func typeName(o apply.Object) string {
	if _, ok := o.(*unstructured.Unstructured); ok {
		return "unstructured"
	}
	return "typed"
}
