package job_test

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
	"wasmctl.dev/wasmctl/plugins/job"
)

// realisticPod is a Job's pod as the API server returns it (managedFields
// stripped, as the host's cache does), running or finished.
func realisticPod(i int, phase string) obj {
	name := fmt.Sprintf("pi-%05d", i)
	st := obj{
		"phase": phase, "podIP": "10.0.0.1", "hostIP": "192.0.2.1", "startTime": ts(-time.Hour), "qosClass": "BestEffort",
		"conditions": []any{
			obj{"type": "Initialized", "status": "True", "lastTransitionTime": ts(-time.Hour)},
			obj{"type": "Ready", "status": "True", "lastTransitionTime": ts(-time.Duration(i) * time.Second)},
			obj{"type": "PodScheduled", "status": "True", "lastTransitionTime": ts(-time.Hour)},
		},
		"containerStatuses": []any{obj{
			"name": "main", "ready": true, "restartCount": 0.0, "image": "busybox", "imageID": "docker.io/library/busybox@sha256:0123456789abcdef",
			"containerID": "containerd://0123456789abcdef0123456789abcdef", "state": obj{"running": obj{"startedAt": ts(-time.Hour)}},
		}},
	}
	if phase == "Succeeded" {
		st["containerStatuses"].([]any)[0].(obj)["state"] = obj{"terminated": obj{"exitCode": 0.0, "finishedAt": ts(-time.Second), "reason": "Completed"}}
	}
	return obj{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": obj{
			"name": name, "generateName": "pi-", "namespace": "ns", "uid": fmt.Sprintf("8c1f6f0e-0000-4000-8000-%012d", i), "resourceVersion": "123456",
			"creationTimestamp": ts(-time.Hour),
			"labels":            obj{"batch.kubernetes.io/controller-uid": "job-uid", "batch.kubernetes.io/job-name": "pi", "controller-uid": "job-uid", "job-name": "pi"},
			"finalizers":        []any{job.TrackingFinalizer},
			"ownerReferences": []any{obj{
				"apiVersion": "batch/v1", "kind": "Job", "name": "pi", "uid": "job-uid", "controller": true, "blockOwnerDeletion": true,
			}},
		},
		"spec": obj{
			"nodeName": fmt.Sprintf("node-%d", i%7), "restartPolicy": "Never", "serviceAccountName": "default",
			"containers": []any{obj{"name": "main", "image": "busybox", "command": []any{"sh", "-c", "echo 3.14159"},
				"resources": obj{"requests": obj{"cpu": "100m"}}}},
		},
		"status": st,
	}
}

// benchRequest is a Job of parallelism n with n pods, the first finished
// ones Succeeded: the call records them, removes their finalizers, counts
// them and creates their replacements. finished 0 is the steady state with
// nothing to do.
func benchRequest(b testing.TB, n, finished int) []byte {
	proj, err := projection.New("bench", job.Manifest().Fields[0].Paths)
	if err != nil {
		b.Fatal(err)
	}
	var pods []obj
	for i := range n {
		ph := "Running"
		if i < finished {
			ph = "Succeeded"
		}
		pods = append(pods, proj.Apply(&unstructured.Unstructured{Object: realisticPod(i, ph)}))
	}
	j := newJob(parallelism(n), completions(1000), started(time.Hour), withStatus(obj{
		"active": float64(n), "ready": float64(n), "terminating": 0.0, "succeeded": 10.0, "uncountedTerminatedPods": obj{},
	}))
	return request{job: j, children: pods}.JSON(b)
}

// BenchmarkReconcile is the whole plugin path the host runs per key: call
// and the host's strict decode, natively and under wazero.
func BenchmarkReconcile(b *testing.B) {
	native := func(in []byte) ([]byte, error) {
		resp, err := job.Reconcile(in)
		if err != nil {
			return nil, err
		}
		return json.Marshal(resp)
	}
	wasm := plugintest.Build(b, "./cmd", runtime.Limits{Timeout: 10 * time.Second})
	impls := []struct {
		name string
		call func([]byte) ([]byte, error)
	}{
		{"native", native},
		{"wasm", func(in []byte) ([]byte, error) { return wasm.Call(b.Context(), "reconcile", in) }},
	}
	for _, c := range []struct {
		pods, finished, actions int
	}{
		{100, 0, 0},   // nothing to do
		{100, 10, 22}, // write 1, 10 finalizers, write 2, 10 creates
	} {
		req := benchRequest(b, c.pods, c.finished)
		for _, impl := range impls {
			b.Run(fmt.Sprintf("pods=%d/finished=%d/%s", c.pods, c.finished, impl.name), func(b *testing.B) {
				b.SetBytes(int64(len(req)))
				for b.Loop() {
					out, err := impl.call(req)
					if err != nil {
						b.Fatal(err)
					}
					resp, err := apply.Decode(out)
					if err != nil || len(resp.Actions) != c.actions {
						b.Fatalf("%v %d actions, want %d", err, len(resp.Actions), c.actions)
					}
				}
			})
		}
	}
}
