package statefulset_test

import (
	"fmt"
	"testing"

	"wasmctl.dev/wasmctl/host/plugintest"
	"wasmctl.dev/wasmctl/plugins/statefulset"
)

// BenchmarkReconcile measures one call for a set of n ready pods with
// nothing to do (the steady state) and for the first step of a rolling
// update, natively and through the .wasm.
//
// The module is built and compiled before the first timed call: inside the
// loop, its compile (~2 s) was part of every "wasm" result, divided by the
// iterations.
func BenchmarkReconcile(b *testing.B) {
	wasm := plugintest.Shared(b, "./cmd")
	for _, n := range []int{10, 100} {
		stable := func(edits ...func(obj)) world {
			w := world{set: newSet(n, append([]func(obj){withStatus(obj{
				"currentRevision": webRevision, "updateRevision": webRevision, "observedGeneration": 1.0, "collisionCount": 0.0,
				"replicas": float64(n), "readyReplicas": float64(n), "availableReplicas": float64(n), "currentReplicas": float64(n), "updatedReplicas": float64(n),
			})}, edits...)...)}
			w.children = append(w.children, revision(webRevision, 1, template()))
			for i := range n {
				w.children = append(w.children, pod(i, webRevision))
			}
			return w
		}
		for name, w := range map[string]world{"steady": stable(), "rollout": stable(image("nginx:1.28"))} {
			req := request(w)
			for how, reconcile := range map[string]func([]byte) error{
				"native": func(r []byte) error { _, err := statefulset.Reconcile(r); return err },
				"wasm":   func(r []byte) error { _, err := wasm.Reconcile(r); return err },
			} {
				b.Run(fmt.Sprintf("%s/%s/pods=%d", how, name, n), func(b *testing.B) {
					b.SetBytes(int64(len(req)))
					for b.Loop() {
						if err := reconcile(req); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}
