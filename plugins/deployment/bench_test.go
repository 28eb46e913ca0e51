package deployment_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/host/apply"
	"wasmctl.dev/wasmctl/host/plugintest"
	"wasmctl.dev/wasmctl/plugins/deployment"
)

// realisticTemplate gives the template's container what a production
// Deployment's has, as the API server stores it: requests and limits, two
// named ports, env with literal values and downward-API references, a
// readiness probe, and pod annotations.
func realisticTemplate(t *corev1.PodTemplateSpec) {
	t.Annotations = map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": "9090"}
	c := &t.Spec.Containers[0]
	c.Ports = []corev1.ContainerPort{
		{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP},
		{Name: "metrics", ContainerPort: 9090, Protocol: corev1.ProtocolTCP},
	}
	field := func(path string) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: path}}
	}
	c.Env = []corev1.EnvVar{
		{Name: "LOG_LEVEL", Value: "info"},
		{Name: "LISTEN_ADDR", Value: ":8080"},
		{Name: "UPSTREAM_URL", Value: "http://api.backend.svc.cluster.local:8080"},
		{Name: "POD_NAME", ValueFrom: field("metadata.name")},
		{Name: "POD_NAMESPACE", ValueFrom: field("metadata.namespace")},
		{Name: "POD_IP", ValueFrom: field("status.podIP")},
		{Name: "GOMAXPROCS", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{
			ContainerName: "web", Resource: "limits.cpu", Divisor: resource.MustParse("1")}}},
	}
	c.Resources = corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
	}
	c.ReadinessProbe = &corev1.Probe{
		ProbeHandler:   corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http"), Scheme: corev1.URISchemeHTTP}},
		TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3,
	}
}

func realistic(d *appsv1.Deployment) { realisticTemplate(&d.Spec.Template) }

// realisticRS is rsOf with the realistic template.
func realisticRS(d *appsv1.Deployment, img, rev string, replicas, available int32, age time.Duration) *appsv1.ReplicaSet {
	rs := rsOf(d, img, rev, replicas, available, age)
	realisticTemplate(&rs.Spec.Template)
	// What the controller wrote when it last scaled it: desired replicas
	// and replicas + maxSurge (25 % of 10, rounded up).
	rs.Annotations[deployment.MaxReplicasAnnotation] = fmt.Sprint(*d.Spec.Replicas + 3)
	return rs
}

func conditions(progressing, progressingReason, progressingMessage string, at time.Time) []appsv1.DeploymentCondition {
	t := metav1.NewTime(at)
	return []appsv1.DeploymentCondition{
		{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable", Message: "Deployment has minimum availability.", LastUpdateTime: t, LastTransitionTime: t},
		{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionStatus(progressing), Reason: progressingReason, Message: progressingMessage, LastUpdateTime: t, LastTransitionTime: t},
	}
}

// steadyWorld is a Deployment of 10 replicas at revision 10, its nine
// earlier revisions' ReplicaSets at 0 (within revisionHistoryLimit 10) and
// the current one at 10, all available, the status as the last sync wrote
// it: a sync finds nothing to do.
func steadyWorld() world {
	d := newDeployment(10, image("nginx:1.27"), realistic, observed)
	d.Annotations = map[string]string{deployment.RevisionAnnotation: "10"}
	var rss []*appsv1.ReplicaSet
	for i := range 9 {
		rss = append(rss, realisticRS(d, fmt.Sprintf("nginx:1.%d", 18+i), fmt.Sprint(i+1), 0, 0, time.Duration(20-i)*time.Hour))
	}
	rss = append(rss, realisticRS(d, "nginx:1.27", "10", 10, 10, 10*time.Hour))
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 10, UpdatedReplicas: 10, ReadyReplicas: 10, AvailableReplicas: 10,
		TerminatingReplicas: ptr.To[int32](0),
		Conditions:          conditions("True", "NewReplicaSetAvailable", `ReplicaSet "web-nginx127" has successfully progressed.`, now.Add(-9*time.Hour))}
	return world{d: d, rss: rss}
}

// rolloutWorld is a Deployment of 10 replicas mid-rollout from nginx:1.27
// to 1.28: old 8 available, new 5 of which 3 available, 13 pods (the most
// maxSurge allows). The sync scales the old ReplicaSet down by the 3 that
// maxUnavailable leaves (8 → 5) and writes the status.
func rolloutWorld() world {
	d := newDeployment(10, image("nginx:1.28"), realistic, func(d *appsv1.Deployment) { d.Generation = 2 }, observed)
	d.Annotations = map[string]string{deployment.RevisionAnnotation: "2"}
	rss := []*appsv1.ReplicaSet{
		realisticRS(d, "nginx:1.27", "1", 8, 8, time.Hour),
		realisticRS(d, "nginx:1.28", "2", 5, 3, time.Minute),
	}
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 13, UpdatedReplicas: 5, ReadyReplicas: 10, AvailableReplicas: 10,
		TerminatingReplicas: ptr.To[int32](0),
		Conditions:          conditions("True", "ReplicaSetUpdated", `ReplicaSet "web-nginx128" is progressing.`, now.Add(-10*time.Second))}
	return world{d: d, rss: rss}
}

// BenchmarkReconcile is the whole plugin path the host runs per key: the
// request decoded, one sync, the response encoded and decoded strictly as
// the host does; natively and under wazero.
func BenchmarkReconcile(b *testing.B) {
	native := func(in []byte) ([]byte, error) {
		resp, err := deployment.Reconcile(in)
		if err != nil {
			return nil, err
		}
		return json.Marshal(resp)
	}
	wasm := plugintest.Shared(b, "./cmd")
	impls := []struct {
		name string
		call func([]byte) ([]byte, error)
	}{
		{"native", native},
		{"wasm", func(in []byte) ([]byte, error) { return wasm.Call(b.Context(), abi.ExportReconcile, in) }},
	}
	for _, c := range []struct {
		name  string
		world func() world
		ops   []string
	}{
		{"replicasets=10/steady", steadyWorld, nil},
		{"replicasets=2/rollout", rolloutWorld, []string{"patch web-nginx127", "updateStatus"}},
	} {
		req := c.world().request(b)
		for _, impl := range impls {
			b.Run(c.name+"/"+impl.name, func(b *testing.B) {
				// The case does what it says: the first call's actions, and
				// the old ReplicaSet's new size mid-rollout.
				out, err := impl.call(req)
				if err != nil {
					b.Fatal(err)
				}
				resp, err := apply.Decode(out)
				if err != nil {
					b.Fatal(err)
				}
				r := parse(b, resp)
				if !slices.Equal(r.ops, c.ops) {
					b.Fatalf("actions %q, want %q", r.ops, c.ops)
				}
				if c.ops != nil {
					if n := r.replicas(b, "web-nginx127"); n != 5.0 {
						b.Fatalf("old ReplicaSet scaled to %v, want 5", n)
					}
					if st := r.status.Status; st.Replicas != 13 || st.UpdatedReplicas != 5 || st.AvailableReplicas != 11 {
						b.Fatalf("status %+v", st)
					}
				}
				b.SetBytes(int64(len(req)))
				for b.Loop() {
					out, err := impl.call(req)
					if err != nil {
						b.Fatal(err)
					}
					resp, err := apply.Decode(out)
					if err != nil || len(resp.Actions) != len(c.ops) {
						b.Fatalf("%v %d actions, want %d", err, len(resp.Actions), len(c.ops))
					}
				}
			})
		}
	}
}
