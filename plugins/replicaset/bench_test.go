package replicaset_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"wasmctl.dev/wasmctl/host/apply"
	"wasmctl.dev/wasmctl/host/plugintest"
	"wasmctl.dev/wasmctl/host/runtime"
	"wasmctl.dev/wasmctl/internal/projection"
	"wasmctl.dev/wasmctl/plugins/replicaset"
)

// realisticPod is a pod as the API server returns it (managedFields
// stripped, as the host's cache does): ~1 KiB of JSON.
func realisticPod(i int) map[string]any {
	name := fmt.Sprintf("web-%05d", i)
	return map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{
			"name": name, "namespace": "ns", "uid": fmt.Sprintf("8c1f6f0e-0000-4000-8000-%012d", i), "resourceVersion": "123456",
			"generateName": "web-", "creationTimestamp": now.Add(-time.Duration(i) * time.Minute).Format(time.RFC3339),
			"labels":      map[string]any{"app": "web", "tier": "front", "pod-template-hash": "5d8f7c9b6"},
			"annotations": map[string]any{"kubectl.kubernetes.io/restartedAt": "2026-11-01T00:00:00Z"},
			"ownerReferences": []any{map[string]any{
				"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": "rs-uid", "controller": true, "blockOwnerDeletion": true,
			}},
		},
		"spec": map[string]any{
			"nodeName": fmt.Sprintf("node-%d", i%7), "restartPolicy": "Always", "serviceAccountName": "default",
			"containers": []any{map[string]any{
				"name": "web", "image": "registry.example.com/web:1.2.3", "ports": []any{map[string]any{"containerPort": 8080.0, "protocol": "TCP"}},
				"resources": map[string]any{"requests": map[string]any{"cpu": "100m", "memory": "128Mi"}, "limits": map[string]any{"memory": "256Mi"}},
				"env":       []any{map[string]any{"name": "MODE", "value": "production"}},
			}},
		},
		"status": map[string]any{
			"phase": "Running", "podIP": "10.0.0.1", "hostIP": "192.0.2.1", "startTime": now.Add(-time.Hour).Format(time.RFC3339), "qosClass": "Burstable",
			"conditions": []any{
				map[string]any{"type": "Initialized", "status": "True", "lastTransitionTime": now.Add(-time.Hour).Format(time.RFC3339)},
				map[string]any{"type": "Ready", "status": "True", "lastTransitionTime": now.Add(-time.Duration(i) * time.Second).Format(time.RFC3339)},
				map[string]any{"type": "ContainersReady", "status": "True", "lastTransitionTime": now.Add(-time.Hour).Format(time.RFC3339)},
				map[string]any{"type": "PodScheduled", "status": "True", "lastTransitionTime": now.Add(-time.Hour).Format(time.RFC3339)},
			},
			"containerStatuses": []any{map[string]any{
				"name": "web", "ready": true, "restartCount": float64(i % 3), "image": "registry.example.com/web:1.2.3",
				"imageID":     "registry.example.com/web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
				"containerID": "containerd://0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
				"state":       map[string]any{"running": map[string]any{"startedAt": now.Add(-time.Hour).Format(time.RFC3339)}},
			}},
		},
	}
}

// benchRequest is a ReplicaSet of n ready pods scaled to n-1: the call ranks
// every pod and deletes one, the heaviest path. Pods are projected to the
// manifest's fields, as the host sends them.
func benchRequest(b testing.TB, n int) []byte {
	proj, err := projection.New("bench", replicaset.Manifest().Fields[0].Paths)
	if err != nil {
		b.Fatal(err)
	}
	var pods []map[string]any
	for i := range n {
		pods = append(pods, proj.Apply(&unstructured.Unstructured{Object: realisticPod(i)}))
	}
	return request{object: rs(n - 1), children: pods}.JSON(b)
}

// BenchmarkReconcile is the whole plugin path the host runs per key: call
// (request in, response out) and the host's strict decode and validation,
// natively and under wazero: with the host's loop checks (the default),
// with wazero's own interruption (WithCloseOnContextDone), and with none.
func BenchmarkReconcile(b *testing.B) {
	native := func(in []byte) ([]byte, error) {
		resp, err := replicaset.Reconcile(in)
		if err != nil {
			return nil, err
		}
		return json.Marshal(resp)
	}
	interruptible := plugintest.Build(b, "./cmd", runtime.Limits{Timeout: 10 * time.Second})
	wazeroChecks := plugintest.BuildWith(b, "./cmd", runtime.LoadOptions{Limits: runtime.Limits{Timeout: 10 * time.Second}, Interrupt: runtime.InterruptWazero})
	plain := plugintest.Build(b, "./cmd", runtime.Limits{Timeout: -1})
	impls := []struct {
		name string
		call func([]byte) ([]byte, error)
	}{
		{"native", native},
		{"wasm", func(in []byte) ([]byte, error) { return interruptible.Call(b.Context(), "reconcile", in) }},
		{"wasm-wazero-interrupt", func(in []byte) ([]byte, error) { return wazeroChecks.Call(b.Context(), "reconcile", in) }},
		{"wasm-no-timeout", func(in []byte) ([]byte, error) { return plain.Call(b.Context(), "reconcile", in) }},
	}
	for _, n := range []int{10, 100, 1000} {
		req := benchRequest(b, n)
		for _, impl := range impls {
			b.Run(fmt.Sprintf("pods=%d/%s", n, impl.name), func(b *testing.B) {
				b.SetBytes(int64(len(req)))
				for b.Loop() {
					out, err := impl.call(req)
					if err != nil {
						b.Fatal(err)
					}
					resp, err := apply.Decode(out)
					if err != nil || len(resp.Actions) != 2 {
						b.Fatalf("%v %d actions", err, len(resp.Actions))
					}
				}
			})
		}
	}
}

// TestManyCallsStayWithinMemory: a reactor module's Go garbage collector
// only completes when the guest helper runs it between calls; without that
// the heap grows with every request until the instance runs out of memory.
func TestManyCallsStayWithinMemory(t *testing.T) {
	p := plugintest.Build(t, "./cmd", runtime.Limits{MemoryBytes: 32 << 20, Timeout: 10 * time.Second})
	req := benchRequest(t, 100)
	for i := range 250 {
		if _, err := p.Call(t.Context(), "reconcile", req); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if n := p.Instances(); n != 1 {
		t.Fatalf("%d instances: one was replaced after a failure", n)
	}
}
