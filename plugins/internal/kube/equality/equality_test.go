package equality_test

import (
	"encoding/json"
	"math/rand"
	"testing"
	"time"

	realcorev1 "k8s.io/api/core/v1"
	realequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	realmetav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/randfill"

	corev1 "wasmctl.dev/wasmctl/plugins/internal/kube/core/v1"
	"wasmctl.dev/wasmctl/plugins/internal/kube/equality"
	metav1 "wasmctl.dev/wasmctl/plugins/internal/kube/meta/v1"
)

// TestMatchesUpstream compares Semantic.DeepEqual with apimachinery's on
// pairs of random pod templates drawn from few values (so that about half
// the pairs are equal), decoded from the same JSON into both Go types: nil
// against empty slices and maps, quantities of one value written two ways,
// times in two zones.
func TestMatchesUpstream(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewSource(seed))
	// Both templates of a pair are filled from the same seed, so they have
	// the same shape; b writes quantities and times another way (same
	// value, same instant) and, in every other pair, flips int32s.
	fill := func(seed int64, alt, flip bool) *randfill.Filler {
		return randfill.New().RandSource(rand.New(rand.NewSource(seed))).NilChance(0.7).NumElements(0, 2).MaxDepth(8).Funcs(
			func(q *resource.Quantity, c randfill.Continue) {
				v := []string{"1", "2"}[c.Intn(2)]
				if alt {
					v = map[string]string{"1": "1000m", "2": "2000m"}[v]
				}
				*q = resource.MustParse(v)
			},
			func(tm *realmetav1.Time, c randfill.Continue) {
				zone := time.UTC
				if alt {
					zone = time.FixedZone("x", 3600)
				}
				*tm = realmetav1.NewTime(time.Unix(int64(c.Intn(2)), 0).In(zone))
			},
			func(fv *realmetav1.FieldsV1, c randfill.Continue) { fv.Raw = []byte(`{"f:a":{}}`) },
			func(p *int32, c randfill.Continue) {
				*p = int32(c.Intn(2))
				if flip {
					*p = 1 - *p
				}
			},
		)
	}
	equal := 0
	n := 2000
	if testing.Short() {
		n = 300
	}
	for i := range n {
		var a, b realcorev1.PodTemplateSpec
		seed := r.Int63()
		fill(seed, false, false).Fill(&a)
		fill(seed, true, i%2 == 1).Fill(&b)
		// Decoded from JSON, as the plugins see them (and as both types
		// can be compared); an empty list survives JSON only without
		// omitempty, so add the empty-vs-nil case by hand too.
		ma, ra := decode(t, &a)
		mb, rb := decode(t, &b)
		if i%3 == 0 {
			ra.Spec.Containers, ma.Spec.Containers = []realcorev1.Container{}, []corev1.Container{}
		}
		want := realequality.Semantic.DeepEqual(ra, rb)
		if got := equality.Semantic.DeepEqual(ma, mb); got != want {
			ja, _ := json.Marshal(ra)
			jb, _ := json.Marshal(rb)
			t.Fatalf("pair %d: DeepEqual = %v, upstream %v\n%s\n%s", i, got, want, ja, jb)
		}
		if want {
			equal++
		}
	}
	t.Logf("%d of %d pairs equal", equal, n)
	if equal == 0 || equal == n {
		t.Fatalf("%d of %d pairs equal: the test compares nothing", equal, n)
	}
}

func decode(t *testing.T, in *realcorev1.PodTemplateSpec) (*corev1.PodTemplateSpec, *realcorev1.PodTemplateSpec) {
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var m corev1.PodTemplateSpec
	var r realcorev1.PodTemplateSpec
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	return &m, &r
}

// TestSemanticCases: the cases JSON cannot produce (it writes quantities
// and times one canonical way), each against apimachinery's answer on the
// same values.
func TestSemanticCases(t *testing.T) {
	q := func(s string) corev1.ResourceList { return corev1.ResourceList{"cpu": resource.MustParse(s)} }
	rq := func(s string) realcorev1.ResourceList { return realcorev1.ResourceList{"cpu": resource.MustParse(s)} }
	instant := time.Unix(1700000000, 0)
	for _, tc := range []struct {
		name       string
		a, b       any
		realA, rlB any
	}{
		{"quantity written two ways", q("1"), q("1000m"), rq("1"), rq("1000m")},
		{"quantities of two values", q("1"), q("1001m"), rq("1"), rq("1001m")},
		{"nil and empty map", corev1.ResourceRequirements{}, corev1.ResourceRequirements{Limits: corev1.ResourceList{}},
			realcorev1.ResourceRequirements{}, realcorev1.ResourceRequirements{Limits: realcorev1.ResourceList{}}},
		{"nil and empty slice", corev1.PodSpec{}, corev1.PodSpec{Containers: []corev1.Container{}},
			realcorev1.PodSpec{}, realcorev1.PodSpec{Containers: []realcorev1.Container{}}},
		{"empty and non-empty slice", corev1.PodSpec{}, corev1.PodSpec{Containers: []corev1.Container{{}}},
			realcorev1.PodSpec{}, realcorev1.PodSpec{Containers: []realcorev1.Container{{}}}},
		{"one instant in two zones",
			corev1.ContainerStateRunning{StartedAt: metav1.NewTime(instant)}, corev1.ContainerStateRunning{StartedAt: metav1.NewTime(instant.In(time.FixedZone("x", 3600)))},
			realcorev1.ContainerStateRunning{StartedAt: realmetav1.NewTime(instant)}, realcorev1.ContainerStateRunning{StartedAt: realmetav1.NewTime(instant.In(time.FixedZone("x", 3600)))}},
		{"two instants",
			corev1.ContainerStateRunning{StartedAt: metav1.NewTime(instant)}, corev1.ContainerStateRunning{StartedAt: metav1.NewTime(instant.Add(time.Second))},
			realcorev1.ContainerStateRunning{StartedAt: realmetav1.NewTime(instant)}, realcorev1.ContainerStateRunning{StartedAt: realmetav1.NewTime(instant.Add(time.Second))}},
		{"nil and zero pointer", corev1.PodSpec{}, corev1.PodSpec{Priority: new(int32)},
			realcorev1.PodSpec{}, realcorev1.PodSpec{Priority: new(int32)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := realequality.Semantic.DeepEqual(tc.realA, tc.rlB)
			if got := equality.Semantic.DeepEqual(tc.a, tc.b); got != want {
				t.Errorf("DeepEqual = %v, apimachinery's %v", got, want)
			}
		})
	}
}
