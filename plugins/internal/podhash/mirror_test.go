package podhash

import (
	"encoding/binary"
	"encoding/json"
	"hash/fnv"
	"math/rand"
	"strconv"
	"testing"
	"time"

	realcorev1 "k8s.io/api/core/v1"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/dump"

	corev1 "wasmctl.dev/wasmctl/plugins/internal/kube/core/v1"
	"wasmctl.dev/wasmctl/plugins/internal/kube/equality"
	"wasmctl.dev/wasmctl/plugins/internal/kube/kubetest"
)

// upstreamHash is kube-controller-manager's ComputeHash over the real
// k8s.io/api type (controller_utils.go), for comparison.
func upstreamHash(template *realcorev1.PodTemplateSpec, collisionCount *int32) string {
	h := fnv.New32a()
	h.Write([]byte(dump.ForHash(*template)))
	if collisionCount != nil {
		b := make([]byte, 8)
		binary.LittleEndian.PutUint32(b, uint32(*collisionCount))
		h.Write(b)
	}
	return utilrand.SafeEncodeString(strconv.FormatUint(uint64(h.Sum32()), 10))
}

// TestMirrorMatchesUpstream fills random pod templates of the real type
// (every field reachable, quantities and int-or-strings of each form,
// times, managed fields), sends them through JSON as the API server and the
// host do, and decodes them into the real and the mirrored type: the hash,
// the re-encoded JSON and the deep copy's hash must agree, and the two
// decodings must be semantically equal to themselves after a round trip.
// This is what keeps the mirror's field layout upstream's.
func TestMirrorMatchesUpstream(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewSource(seed))
	f := kubetest.Filler(r)
	n := 300
	if testing.Short() {
		n = 50
	}
	for i := range n {
		var orig realcorev1.PodTemplateSpec
		f.Fill(&orig)
		data, err := json.Marshal(&orig)
		if err != nil {
			t.Fatal(err)
		}
		var real realcorev1.PodTemplateSpec
		if err := json.Unmarshal(data, &real); err != nil {
			t.Fatalf("template %d: real decode: %v", i, err)
		}
		var mirror corev1.PodTemplateSpec
		if err := json.Unmarshal(data, &mirror); err != nil {
			t.Fatalf("template %d: mirror decode: %v\n%s", i, err, data)
		}
		for _, cc := range []*int32{nil, new(int32)} {
			want := upstreamHash(&real, cc)
			if got := Compute(&mirror, cc); got != want {
				t.Fatalf("template %d (collision %v): mirror hash %s, upstream %s\nupstream dump %s\nmirror dump   %s",
					i, cc, got, want, dump.ForHash(real), dump.ForHash(mirror))
			}
			if got := Compute(mirror.DeepCopy(), cc); got != want {
				t.Fatalf("template %d: hash of the deep copy %s, upstream %s", i, got, want)
			}
		}
		realJSON, _ := json.Marshal(&real)
		mirrorJSON, err := json.Marshal(&mirror)
		if err != nil {
			t.Fatal(err)
		}
		if string(realJSON) != string(mirrorJSON) {
			t.Fatalf("template %d: JSON differs\nupstream %s\nmirror   %s", i, realJSON, mirrorJSON)
		}
		cp := mirror.DeepCopy()
		if !equality.Semantic.DeepEqual(&mirror, cp) {
			t.Fatalf("template %d: deep copy not semantically equal", i)
		}
	}
}

// TestDeepCopyShares checks the deep copy shares nothing: changing the copy
// leaves the original's hash alone.
func TestDeepCopyShares(t *testing.T) {
	var tmpl corev1.PodTemplateSpec
	if err := json.Unmarshal([]byte(webTemplate), &tmpl); err != nil {
		t.Fatal(err)
	}
	before := Compute(&tmpl, nil)
	cp := tmpl.DeepCopy()
	cp.Labels["app"] = "other"
	cp.Spec.Containers[0].Image = "other"
	*cp.Spec.TerminationGracePeriodSeconds = 1
	if after := Compute(&tmpl, nil); after != before {
		t.Fatalf("changing the copy changed the original's hash: %s -> %s", before, after)
	}
}
