// Package kubetest fills the real k8s.io/api types with random values
// that survive a JSON round trip, for the tests that hold the mirror
// (plugins/internal/kube) to upstream: its shape (podhash), its decoders
// (kube/decode). Test code only: it links k8s.io/api.
package kubetest

import (
	"math/rand"
	"strconv"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/randfill"
)

// Quantities are the quantity forms the filler picks from: integers,
// milli, binary and decimal suffixes, exponents, fractions, huge values.
var Quantities = []string{"0", "1", "100m", "1500m", "1.5", "2Gi", "512Mi", "1e3", "10k", "0.1", "123456789012345678901234567890", "5e-3", "1Ei"}

// Filler reaches every field (nil 40 % of the time, 0–2 elements per
// slice or map, 12 levels deep), with quantities of each form,
// int-or-strings of both kinds, second-precision times (a third zero) and
// managed fields and raw extensions that are JSON.
func Filler(r *rand.Rand) *randfill.Filler {
	return randfill.New().RandSource(r).NilChance(0.4).NumElements(0, 2).MaxDepth(12).Funcs(
		func(q *resource.Quantity, c randfill.Continue) {
			*q = resource.MustParse(Quantities[c.Intn(len(Quantities))])
		},
		func(v *intstr.IntOrString, c randfill.Continue) {
			if c.Intn(2) == 0 {
				*v = intstr.FromInt32(c.Int31() - c.Int31())
			} else {
				*v = intstr.FromString(strconv.Itoa(c.Intn(100)) + "%")
			}
		},
		func(tm *metav1.Time, c randfill.Continue) {
			if c.Intn(3) == 0 {
				*tm = metav1.Time{}
				return
			}
			*tm = metav1.Unix(c.Int63n(4e9), 0)
		},
		func(fv *metav1.FieldsV1, c randfill.Continue) {
			fv.Raw = []byte(`{"f:metadata":{"f:labels":{".":{},"f:app":{}}}}`)
		},
		func(re *runtime.RawExtension, c randfill.Continue) {
			re.Raw = []byte(`{"spec":{"template":{"$patch":"replace","metadata":{"labels":{"app":"a\u003cb"}}}}}`)
		},
	)
}
