package main

import (
	"fmt"
	"os"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"wasmctl.dev/wasmctl/hack/internal/benchkit"
)

func TestVerdict(t *testing.T) {
	for _, tc := range []struct {
		host, kcm, bound float64
		want             string
	}{
		{100, 200, 1, "met"},
		{200, 200, 1, "met"},
		{201, 200, 1, "not met"},
		{11.9, 10, 1.2, "met"},
		{12.1, 10, 1.2, "not met"},
		{0, 0.01, 1, "met"},
		{0, 0, 1, "met"},
		{0.01, 0, 1, "not met"},
	} {
		if got := verdict(tc.host, tc.kcm, tc.bound); got != tc.want {
			t.Errorf("verdict(%v, %v, %v) = %q, want %q", tc.host, tc.kcm, tc.bound, got, tc.want)
		}
	}
}

func TestParseBusy(t *testing.T) {
	for _, tc := range []struct {
		stat string
		want float64
	}{
		{"cpu  100 5 50 1000 20 3 2 0 0 0\ncpu0 50 2 25 500 10 1 1 0 0 0\n", 1.60},
		{"cpu  100 5 50 1000 20 3 2 7\n", 1.67}, // steal counts
		{"cpu  100 5 50 1000\n", 1.55},
		{"cpu0 100 5 50 1000 20\n", 0},
		{"", 0},
	} {
		if got := parseBusy(tc.stat); fmt.Sprintf("%.2f", got) != fmt.Sprintf("%.2f", tc.want) {
			t.Errorf("parseBusy(%q) = %v, want %v", tc.stat, got, tc.want)
		}
	}
}

func TestDescribeConfig(t *testing.T) {
	for _, tc := range []struct {
		name, cfg, want, err string
	}{
		{
			name: "one bundle",
			cfg: `kubeconfig: ""
controllers:
  - {name: replicaset, plugin: plugins/workloads/workloads.wasm, pluginConfig: {controller: replicaset}, workers: 4, resyncPeriod: 10m}
  - {name: daemonset, plugin: plugins/workloads/workloads.wasm, workers: 2, resyncPeriod: 10m, timeout: 5s}
`,
			want: "plugin plugins/workloads/workloads.wasm; workers: replicaset 4, daemonset 2; resyncPeriod 10m",
		},
		{
			name: "modules and periods apart",
			cfg: `controllers:
  - {name: job, plugin: a.wasm, workers: 5}
  - {name: cronjob, plugin: b.wasm, workers: 4, resyncPeriod: 1m}
`,
			want: "plugin a.wasm, b.wasm; workers: job 5, cronjob 4; resyncPeriod default, 1m",
		},
		{name: "no controllers", cfg: "qps: 5\n", err: "no controllers"},
		{name: "not YAML", cfg: "controllers: [", err: "yaml"},
	} {
		got, err := describeConfig([]byte(tc.cfg))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want one with %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: got %q, %v\nwant %q", tc.name, got, err, tc.want)
		}
	}
}

// The repository's config.yaml describes.
func TestDescribeRepoConfig(t *testing.T) {
	data, err := os.ReadFile("../../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := describeConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range sixControllers {
		if !strings.Contains(got, c+" ") {
			t.Errorf("%q lacks %s", got, c)
		}
	}
}

func TestInterleave(t *testing.T) {
	for _, tc := range []struct {
		lists [][]string
		want  string
	}{
		{nil, ""},
		{[][]string{{"a1", "a2"}}, "a1 a2"},
		{[][]string{{"a1", "a2", "a3", "a4"}, {"b1"}}, "a1 a2 b1 a3 a4"},
		{[][]string{{"a1", "a2"}, {"b1", "b2"}}, "a1 b1 a2 b2"},
		{[][]string{{"a1", "a2", "a3", "a4", "a5", "a6"}, {"b1", "b2"}, {}, {"c1"}}, "a1 a2 b1 a3 c1 a4 a5 b2 a6"},
	} {
		if got := strings.Join(interleave(tc.lists...), " "); got != tc.want {
			t.Errorf("interleave(%v) = %q, want %q", tc.lists, got, tc.want)
		}
	}
}

func TestDeploymentComplete(t *testing.T) {
	d := func(gen, observed int64, image string, replicas, updated, ready, available int32) *appsv1.Deployment {
		return &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Generation: gen},
			Spec: appsv1.DeploymentSpec{Replicas: ptr.To(int32(10)),
				Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Image: image}}}}},
			Status: appsv1.DeploymentStatus{ObservedGeneration: observed, Replicas: replicas, UpdatedReplicas: updated, ReadyReplicas: ready, AvailableReplicas: available},
		}
	}
	for _, tc := range []struct {
		name  string
		d     *appsv1.Deployment
		image string
		want  bool
	}{
		{"complete", d(1, 1, image1, 10, 10, 10, 10), "", true},
		{"complete at the image", d(2, 2, image2, 10, 10, 10, 10), image2, true},
		{"another image", d(2, 2, image1, 10, 10, 10, 10), image2, false},
		{"generation not observed", d(2, 1, image2, 10, 10, 10, 10), image2, false},
		{"old pods still counted", d(2, 2, image2, 12, 10, 12, 12), image2, false},
		{"not all updated", d(2, 2, image2, 10, 8, 10, 10), image2, false},
		{"not all available", d(1, 1, image1, 10, 10, 10, 9), "", false},
		{"not all ready", d(1, 1, image1, 10, 10, 9, 10), "", false},
	} {
		if got := deploymentComplete(tc.d, tc.image); got != tc.want {
			t.Errorf("%s: got %v", tc.name, got)
		}
	}
}

func TestStatefulSetReady(t *testing.T) {
	s := func(gen, observed int64, replicas, ready, available, updated int32) *appsv1.StatefulSet {
		return &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Generation: gen}, Spec: appsv1.StatefulSetSpec{Replicas: ptr.To(int32(10))},
			Status: appsv1.StatefulSetStatus{ObservedGeneration: observed, Replicas: replicas, ReadyReplicas: ready, AvailableReplicas: available, UpdatedReplicas: updated}}
	}
	for _, tc := range []struct {
		name string
		s    *appsv1.StatefulSet
		want bool
	}{
		{"ready", s(1, 1, 10, 10, 10, 10), true},
		{"not observed", s(1, 0, 0, 0, 0, 0), false},
		{"starting", s(1, 1, 10, 7, 7, 10), false},
		{"ready, not available", s(1, 1, 10, 10, 9, 10), false},
		{"not updated", s(1, 1, 10, 10, 10, 0), false},
	} {
		if got := statefulSetReady(tc.s); got != tc.want {
			t.Errorf("%s: got %v", tc.name, got)
		}
	}
}

func TestDaemonSetReady(t *testing.T) {
	d := func(observed int64, desired, current, ready, available, updated, mis int32) *appsv1.DaemonSet {
		return &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Generation: 1}, Status: appsv1.DaemonSetStatus{ObservedGeneration: observed,
			DesiredNumberScheduled: desired, CurrentNumberScheduled: current, NumberReady: ready, NumberAvailable: available, UpdatedNumberScheduled: updated, NumberMisscheduled: mis}}
	}
	for _, tc := range []struct {
		name string
		d    *appsv1.DaemonSet
		want bool
	}{
		{"ready", d(1, 50, 50, 50, 50, 50, 0), true},
		{"not observed", d(0, 0, 0, 0, 0, 0, 0), false},
		{"fewer nodes seen", d(1, 40, 40, 40, 40, 40, 0), false},
		{"not all ready", d(1, 50, 50, 49, 49, 50, 0), false},
		{"misscheduled", d(1, 50, 50, 50, 50, 50, 1), false},
		{"not updated", d(1, 50, 50, 50, 50, 0, 0), false},
	} {
		if got := daemonSetReady(tc.d, 50); got != tc.want {
			t.Errorf("%s: got %v", tc.name, got)
		}
	}
}

func TestNodeReady(t *testing.T) {
	n := func(pods string, ready corev1.ConditionStatus) *corev1.Node {
		node := &corev1.Node{}
		if pods != "" {
			node.Status.Allocatable = corev1.ResourceList{corev1.ResourcePods: resource.MustParse(pods)}
		}
		if ready != "" {
			node.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse}, {Type: corev1.NodeReady, Status: ready}}
		}
		return node
	}
	for _, tc := range []struct {
		node *corev1.Node
		want bool
	}{
		{n("200", corev1.ConditionTrue), true},
		{n("110", corev1.ConditionTrue), false},
		{n("200", corev1.ConditionFalse), false},
		{n("200", ""), false},
		{n("", ""), false},
	} {
		if got := nodeReady(tc.node, 200); got != tc.want {
			t.Errorf("nodeReady(%v) = %v", tc.node.Status, got)
		}
	}
}

// The report: a row per number with the ratio, the host's calls, the
// goals with their verdicts; one side alone has no ratios and no goals.
func TestReport(t *testing.T) {
	kcm := result{side: "kcm", readySeconds: 2, startMiB: 80, settle: phase{seconds: 40, cpu: 10, peakMiB: 150},
		idle: phase{seconds: 60, cpu: 1.5, endMiB: 150, peakMiB: 151}, rollout: phase{seconds: 30, cpu: 10, peakMiB: 160}}
	host := result{side: "wasmctl-host", readySeconds: 3, startMiB: 400, settle: phase{seconds: 44, cpu: 20, peakMiB: 450},
		idle: phase{seconds: 60, cpu: 0.75, endMiB: 300, peakMiB: 310, updates: 2}, rollout: phase{seconds: 27, cpu: 13, peakMiB: 420,
			calls: map[string]benchkit.Calls{"deployment": {N: 10, Seconds: 1}, "job": {}}}}
	got := report(map[string]result{"kcm": kcm, "wasmctl-host": host}, []string{"kcm", "wasmctl-host"})
	for _, line := range []string{
		"| | kcm | wasmctl-host | host/KCM |\n|---|---|---|---|\n",
		"| settle: time s | 40.00 | 44.00 | 1.10× |\n",
		"| idle: CPU % of a core | 2.5 | 1.2 | 0.50× |\n",
		"| idle: workload updates | 0 | 2 | – |\n",
		"| settle: machine busy % | 0 | 0 | – |\n",
		"| whole run: peak RSS MiB | 160 | 450 | 2.81× |\n",
		"| idle CPU ≤ KCM's | 0.50× | met |\n",
		"| host RSS ≤ KCM's | 2.00× | not met |\n",
		"| rollout time ≤ KCM's | 0.90× | met |\n",
		"| rollout CPU ≤ 1.2× KCM's | 1.30× | not met |\n",
		"- idle: none.\n",
		"- rollout: deployment 10 calls, 1.00 s in the plugin (100.0 ms each).\n",
	} {
		if !strings.Contains(got, line) {
			t.Errorf("report lacks %q:\n%s", line, got)
		}
	}
	alone := report(map[string]result{"wasmctl-host": host}, []string{"wasmctl-host"})
	if strings.Contains(alone, "goals") || !strings.Contains(alone, "| settle: time s | 44.00 | – |\n") {
		t.Errorf("one side:\n%s", alone)
	}
	if n := strings.Count(got, "\n| ") - strings.Count(got, "\n| goal"); n < len(rows) {
		t.Errorf("%d rows, want at least %d:\n%s", n, len(rows), fmt.Sprint(got))
	}
}
