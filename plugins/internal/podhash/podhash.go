// Package podhash computes the pod-template-hash kube-controller-manager
// gives a Deployment's ReplicaSets (and a DaemonSet's revisions): FNV-1a 32
// over a go-spew dump of the k8s.io/api/core/v1 PodTemplateSpec, then the
// collision count, printed with the digits mapped to consonants.
//
// The dump covers every Go field of the struct, unexported ones inside
// resource.Quantity included, so only the same Go types decoded the same way
// reproduce it. The template is plugins/internal/kube's mirror of the
// k8s.io/api type (same package name, type and field names, so the same
// dump) rather than the real one, which would link all of k8s.io/api into
// the plugin; the tests check both give the same hash.
package podhash

import (
	"encoding/binary"
	"encoding/json"
	"hash/fnv"
	"strconv"

	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/dump"

	corev1 "wasmctl.dev/wasmctl/plugins/internal/kube/core/v1"
)

// Compute returns the hash of template with collisionCount (nil and 0 give
// different hashes, as upstream's). Cost: one reflection walk of the
// template, about a microsecond per field natively.
func Compute(template *corev1.PodTemplateSpec, collisionCount *int32) string {
	h := fnv.New32a()
	h.Write([]byte(dump.ForHash(*template)))
	if collisionCount != nil {
		var b [8]byte
		binary.LittleEndian.PutUint32(b[:], uint32(*collisionCount))
		h.Write(b[:])
	}
	// The decimal digits mapped to consonants and digits (0→4 … 9→f), so a
	// hash never spells a word.
	return rand.SafeEncodeString(strconv.FormatUint(uint64(h.Sum32()), 10))
}

// ComputeJSON is Compute of a template given as JSON (as the API server
// returns it), for callers holding another Go type of it.
func ComputeJSON(template []byte, collisionCount *int32) (string, error) {
	var t corev1.PodTemplateSpec
	if err := json.Unmarshal(template, &t); err != nil {
		return "", err
	}
	return Compute(&t, collisionCount), nil
}
