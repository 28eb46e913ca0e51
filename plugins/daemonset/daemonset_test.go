package daemonset_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/host/plugintest"
	"wasmctl.dev/wasmctl/plugins/daemonset"
)

var now = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

type obj = map[string]any

// webTemplate is a template as the API server stores it; upstream names
// the revision of a DaemonSet "web" with it web-5c8597c5fb (collision
// count nil), web-7b64dff55b (0) and web-df69f8697 (1).
const webTemplate = `{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"nginx:1.27","resources":{},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent"}],"restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","securityContext":{},"schedulerName":"default-scheduler"}}`

const (
	hashV1 = "5c8597c5fb"
	revV1  = "web-" + hashV1
)

func newDS(edits ...func(*appsv1.DaemonSet)) *appsv1.DaemonSet {
	ds := &appsv1.DaemonSet{
		TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "DaemonSet"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "ds-uid", Generation: 1, ResourceVersion: "10",
			Annotations: map[string]string{daemonset.TemplateGenerationAnnotation: "1"}},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType, RollingUpdate: &appsv1.RollingUpdateDaemonSet{
				MaxUnavailable: ptr.To(intstr.FromInt32(1)), MaxSurge: ptr.To(intstr.FromInt32(0))}},
			RevisionHistoryLimit: ptr.To[int32](10),
		},
	}
	if err := json.Unmarshal([]byte(webTemplate), &ds.Spec.Template); err != nil {
		panic(err)
	}
	for _, e := range edits {
		e(ds)
	}
	return ds
}

func image(img string) func(*appsv1.DaemonSet) {
	return func(ds *appsv1.DaemonSet) {
		ds.Spec.Template.Spec.Containers[0].Image = img
		ds.Annotations[daemonset.TemplateGenerationAnnotation] = "2"
		ds.Generation = 2
	}
}

func observed(ds *appsv1.DaemonSet) { ds.Status.ObservedGeneration = ds.Generation }

// settled gives ds the status of n nodes each running a ready, available,
// up-to-date pod.
func settled(n int32) func(*appsv1.DaemonSet) {
	return func(ds *appsv1.DaemonSet) {
		ds.Status = appsv1.DaemonSetStatus{ObservedGeneration: ds.Generation, DesiredNumberScheduled: n, CurrentNumberScheduled: n,
			NumberReady: n, UpdatedNumberScheduled: n, NumberAvailable: n}
	}
}

func maxSurge(v intstr.IntOrString) func(*appsv1.DaemonSet) {
	return func(ds *appsv1.DaemonSet) {
		ds.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxUnavailable: ptr.To(intstr.FromInt32(0)), MaxSurge: &v}
	}
}

func maxUnavailable(v intstr.IntOrString) func(*appsv1.DaemonSet) {
	return func(ds *appsv1.DaemonSet) {
		ds.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxUnavailable: &v, MaxSurge: ptr.To(intstr.FromInt32(0))}
	}
}

func node(name string, edits ...func(*corev1.Node)) *corev1.Node {
	n := &corev1.Node{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Node"},
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name), Labels: map[string]string{"kubernetes.io/hostname": name}}}
	for _, e := range edits {
		e(n)
	}
	return n
}

func taint(key string, effect corev1.TaintEffect) func(*corev1.Node) {
	return func(n *corev1.Node) { n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: key, Effect: effect}) }
}

func nodes(names ...string) []*corev1.Node {
	var out []*corev1.Node
	for _, n := range names {
		out = append(out, node(n))
	}
	return out
}

// revision is the ControllerRevision upstream keeps for ds's template.
func revision(t *testing.T, ds *appsv1.DaemonSet, name string, number int64) obj {
	t.Helper()
	b, _ := json.Marshal(ds.Spec.Template)
	var tmpl obj
	json.Unmarshal(b, &tmpl)
	tmpl["$patch"] = "replace"
	data, _ := json.Marshal(obj{"spec": obj{"template": tmpl}})
	hash := strings.TrimPrefix(name, ds.Name+"-")
	return obj{
		"apiVersion": "apps/v1", "kind": "ControllerRevision",
		"metadata": obj{"name": name, "namespace": "ns", "uid": name + "-uid", "resourceVersion": "3",
			"labels":          obj{"app": "web", daemonset.RevisionLabel: hash},
			"ownerReferences": []any{obj{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "web", "uid": "ds-uid", "controller": true}}},
		"data": json.RawMessage(data), "revision": float64(number),
	}
}

type podOpt func(obj)

// pod is a daemon pod on nodeName as the host sends it (the manifest's
// fields), Running and Ready for a minute, created age ago.
func pod(name, nodeName, hash string, opts ...podOpt) obj {
	p := obj{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": obj{"name": name, "namespace": "ns", "uid": name + "-uid", "resourceVersion": "5",
			"creationTimestamp": now.Add(-time.Hour).Format(time.RFC3339),
			"labels":            obj{"app": "web", daemonset.RevisionLabel: hash},
			"ownerReferences":   []any{obj{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "web", "uid": "ds-uid", "controller": true}}},
		"spec": obj{"affinity": obj{"nodeAffinity": obj{"requiredDuringSchedulingIgnoredDuringExecution": obj{
			"nodeSelectorTerms": []any{obj{"matchFields": []any{obj{"key": "metadata.name", "operator": "In", "values": []any{nodeName}}}}}}}}},
		"status": obj{"phase": "Running", "conditions": []any{obj{"type": "Ready", "status": "True", "lastTransitionTime": now.Add(-time.Minute).Format(time.RFC3339)}}},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func phase(ph string) podOpt { return func(p obj) { p["status"] = obj{"phase": ph} } }
func notReady(p obj) {
	p["status"] = obj{"phase": "Running", "conditions": []any{obj{"type": "Ready", "status": "False"}}}
}
func created(d time.Duration) podOpt {
	return func(p obj) { p["metadata"].(obj)["creationTimestamp"] = now.Add(-d).Format(time.RFC3339) }
}
func orphaned(p obj) { delete(p["metadata"].(obj), "ownerReferences") }

type world struct {
	ds       *appsv1.DaemonSet
	nodes    []*corev1.Node
	children []obj
	orphans  []obj
	memo     string
	at       time.Time
	// lastError: a create of this ControllerRevision refused AlreadyExists.
	lastError string
}

func request(t *testing.T, w world) []byte {
	t.Helper()
	raws := func(os []obj) []json.RawMessage {
		var out []json.RawMessage
		for _, o := range os {
			b, _ := json.Marshal(o)
			out = append(out, b)
		}
		return out
	}
	var ns []json.RawMessage
	for _, n := range w.nodes {
		b, _ := json.Marshal(n)
		ns = append(ns, b)
	}
	ds, _ := json.Marshal(w.ds)
	at := w.at
	if at.IsZero() {
		at = now
	}
	req := abi.ReconcileRequest{APIVersion: abi.Version, Kind: abi.KindReconcileRequest, Now: at.Format(time.RFC3339Nano),
		Object: ds, Children: raws(w.children), Orphans: raws(w.orphans),
		Related: map[string][]json.RawMessage{daemonset.RelatedNodes: ns}}
	if w.memo != "" {
		req.Memo = json.RawMessage(w.memo)
	}
	if w.lastError != "" {
		req.LastError = &abi.ApplyError{Op: abi.OpCreate, APIVersion: "apps/v1", Kind: "ControllerRevision", Namespace: "ns", Name: w.lastError, Reason: "AlreadyExists"}
	}
	b, _ := json.Marshal(req)
	return b
}

// reconcilers runs every case natively and through the built .wasm.
func reconcilers(t *testing.T) map[string]func([]byte) (*abi.ReconcileResponse, error) {
	return map[string]func([]byte) (*abi.ReconcileResponse, error){
		"native": daemonset.Reconcile,
		"wasm":   plugintest.Shared(t, "./cmd").Reconcile,
	}
}

// summary lists a response's actions as "op kind name" lines; a create of
// a pod names the node it is pinned to ("create Pod @n1").
func summary(t *testing.T, resp *abi.ReconcileResponse) []string {
	var out []string
	for _, a := range resp.Actions {
		var o struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(a.Object, &o); err != nil {
			t.Fatal(err)
		}
		name := o.Metadata.Name
		if a.Op == abi.OpCreate && o.Kind == "Pod" {
			name = "@" + pinnedNode(t, a.Object)
		}
		out = append(out, string(a.Op)+" "+o.Kind+" "+name)
	}
	return out
}

func pinnedNode(t *testing.T, raw []byte) string {
	var p corev1.Pod
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	terms := p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	return terms[0].MatchFields[0].Values[0]
}

func statusOf(t *testing.T, resp *abi.ReconcileResponse) *appsv1.DaemonSetStatus {
	for _, a := range resp.Actions {
		if a.Op == abi.OpUpdateStatus {
			var ds appsv1.DaemonSet
			if err := json.Unmarshal(a.Object, &ds); err != nil {
				t.Fatal(err)
			}
			return &ds.Status
		}
	}
	return nil
}

func events(resp *abi.ReconcileResponse) []string {
	var out []string
	for _, e := range resp.Events {
		out = append(out, string(e.Type)+" "+e.Reason+": "+e.Message)
	}
	return out
}

func TestReconcile(t *testing.T) {
	v1 := newDS()
	rev1 := revision(t, v1, revV1, 1)
	v2 := newDS(image("nginx:1.28"))
	for _, tc := range []struct {
		name    string
		world   world
		want    []string // actions, in order
		status  *appsv1.DaemonSetStatus
		events  []string
		requeue time.Duration
		check   func(t *testing.T, resp *abi.ReconcileResponse)
	}{
		{
			name: "a new DaemonSet creates its revision and a pod on every node that should run one",
			world: world{ds: newDS(), nodes: []*corev1.Node{node("n1"), node("n2", taint("dedicated", corev1.TaintEffectNoSchedule)),
				node("n3", taint(corev1.TaintNodeUnschedulable, corev1.TaintEffectNoSchedule))}},
			want:   []string{"create ControllerRevision " + revV1, "updateStatus DaemonSet web", "create Pod @n1", "create Pod @n3"},
			status: &appsv1.DaemonSetStatus{ObservedGeneration: 1, DesiredNumberScheduled: 2, NumberUnavailable: 2},
			check: func(t *testing.T, resp *abi.ReconcileResponse) {
				var cr appsv1.ControllerRevision
				json.Unmarshal(resp.Actions[0].Object, &cr)
				if cr.Revision != 1 || cr.Labels[daemonset.RevisionLabel] != hashV1 || cr.Labels["app"] != "web" ||
					cr.Annotations[daemonset.TemplateGenerationAnnotation] != "1" || len(cr.OwnerReferences) != 1 {
					t.Errorf("revision %+v", cr.ObjectMeta)
				}
				var p corev1.Pod
				json.Unmarshal(resp.Actions[2].Object, &p)
				if p.GenerateName != "web-" || p.Spec.NodeName != "" || p.Labels[daemonset.RevisionLabel] != hashV1 ||
					p.Labels[daemonset.TemplateGenerationLabel] != "1" || p.Labels["app"] != "web" {
					t.Errorf("pod %+v", p.ObjectMeta)
				}
				if ref := p.OwnerReferences; len(ref) != 1 || ref[0].Kind != "DaemonSet" || !*ref[0].Controller || !*ref[0].BlockOwnerDeletion {
					t.Errorf("owner %+v", ref)
				}
				var keys []string
				for _, tol := range p.Spec.Tolerations {
					keys = append(keys, tol.Key+":"+string(tol.Effect))
				}
				want := []string{"node.kubernetes.io/not-ready:NoExecute", "node.kubernetes.io/unreachable:NoExecute", "node.kubernetes.io/disk-pressure:NoSchedule",
					"node.kubernetes.io/memory-pressure:NoSchedule", "node.kubernetes.io/pid-pressure:NoSchedule", "node.kubernetes.io/unschedulable:NoSchedule"}
				if !slices.Equal(keys, want) {
					t.Errorf("tolerations %v, want %v", keys, want)
				}
			},
		},
		{
			name:  "steady: nothing to do",
			world: world{ds: newDS(settled(2)), nodes: nodes("n1", "n2"), children: []obj{rev1, pod("web-a", "n1", hashV1), pod("web-b", "n2", hashV1)}},
		},
		{
			name: "nodeSelector and required node affinity choose the nodes; a pod on a node that no longer matches goes",
			world: world{ds: newDS(observed, func(ds *appsv1.DaemonSet) {
				ds.Spec.Template.Spec.NodeSelector = map[string]string{"zone": "a"}
				ds.Spec.Template.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
					NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "disk", Operator: corev1.NodeSelectorOpNotIn, Values: []string{"hdd"}}}}}}}}
			}), nodes: []*corev1.Node{
				node("a1", func(n *corev1.Node) { n.Labels["zone"] = "a" }),
				node("a2", func(n *corev1.Node) { n.Labels["zone"] = "a"; n.Labels["disk"] = "hdd" }),
				node("b1", func(n *corev1.Node) { n.Labels["zone"] = "b" }),
			}},
			want: []string{"create ControllerRevision", "updateStatus DaemonSet web", "create Pod @a1"},
			check: func(t *testing.T, resp *abi.ReconcileResponse) {
				var p corev1.Pod
				json.Unmarshal(resp.Actions[2].Object, &p)
				if terms := p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms; len(terms) != 1 || len(terms[0].MatchExpressions) != 0 {
					t.Errorf("the template's required terms stayed on the pod: %+v", terms)
				}
			},
		},
		{
			name: "an untolerated NoExecute taint evicts; an untolerated NoSchedule one leaves the pod (misscheduled)",
			world: world{ds: newDS(settled(2)), nodes: []*corev1.Node{node("n1", taint("evict", corev1.TaintEffectNoExecute)), node("n2", taint("keep", corev1.TaintEffectNoSchedule)), node("n3")},
				children: []obj{rev1, pod("web-a", "n1", hashV1), pod("web-b", "n2", hashV1), pod("web-c", "n3", hashV1)}},
			want:   []string{"updateStatus DaemonSet web", "delete Pod web-a"},
			status: &appsv1.DaemonSetStatus{ObservedGeneration: 1, DesiredNumberScheduled: 1, CurrentNumberScheduled: 1, NumberMisscheduled: 2, NumberReady: 1, UpdatedNumberScheduled: 1, NumberAvailable: 1},
		},
		{
			name:   "a failed pod is deleted at once the first time, with upstream's event, and the backoff remembered",
			world:  world{ds: newDS(settled(1)), nodes: nodes("n1"), children: []obj{rev1, pod("web-a", "n1", hashV1, phase("Failed"))}},
			want:   []string{"updateStatus DaemonSet web", "delete Pod web-a"},
			events: []string{"Warning FailedDaemonPod: Found failed daemon pod ns/web-a on node n1, will try to kill it"},
			check: func(t *testing.T, resp *abi.ReconcileResponse) {
				if !strings.Contains(string(resp.Memo), `"1/n1":{"delay":1,`) {
					t.Errorf("memo %s", resp.Memo)
				}
			},
		},
		{
			name: "the next failed pod within the backoff is kept and the call requeued for the delay",
			world: world{ds: newDS(settled(1)), nodes: nodes("n1"), children: []obj{rev1, pod("web-b", "n1", hashV1, phase("Failed"))},
				memo: `{"backoff":{"1/n1":{"delay":1,"at":"` + now.Add(-500*time.Millisecond).Format(time.RFC3339Nano) + `"}}}`},
			want:    []string{"updateStatus DaemonSet web"},
			requeue: time.Second,
		},
		{
			name: "after the backoff the failed pod goes and the delay doubles",
			world: world{ds: newDS(settled(1)), nodes: nodes("n1"), children: []obj{rev1, pod("web-b", "n1", hashV1, phase("Failed"))},
				memo: `{"backoff":{"1/n1":{"delay":1,"at":"` + now.Add(-1500*time.Millisecond).Format(time.RFC3339Nano) + `"}}}`},
			want:   []string{"updateStatus DaemonSet web", "delete Pod web-b"},
			events: []string{"Warning FailedDaemonPod: Found failed daemon pod ns/web-b on node n1, will try to kill it"},
			check: func(t *testing.T, resp *abi.ReconcileResponse) {
				if !strings.Contains(string(resp.Memo), `"1/n1":{"delay":2,`) {
					t.Errorf("memo %s", resp.Memo)
				}
			},
		},
		{
			name:   "a succeeded pod is deleted without backoff",
			world:  world{ds: newDS(settled(1)), nodes: nodes("n1"), children: []obj{rev1, pod("web-a", "n1", hashV1, phase("Succeeded"))}},
			want:   []string{"updateStatus DaemonSet web", "delete Pod web-a"},
			events: []string{"Normal SucceededDaemonPod: Found succeeded daemon pod ns/web-a on node n1, will try to delete it"},
		},
		{
			name: "two pods on a node without surge: the younger goes, whatever its readiness",
			world: world{ds: newDS(settled(1)), nodes: nodes("n1"), children: []obj{rev1,
				pod("web-old", "n1", hashV1, notReady), pod("web-new", "n1", hashV1, created(time.Minute))}},
			want: []string{"updateStatus DaemonSet web", "delete Pod web-new"},
		},
		{
			name: "an unbound pod aimed at a node that is gone is deleted",
			world: world{ds: newDS(settled(1)), nodes: nodes("n1"), children: []obj{rev1,
				pod("web-a", "n1", hashV1), pod("web-z", "gone", hashV1)}},
			want: []string{"delete Pod web-z"},
		},
		{
			name: "rolling update without surge deletes maxUnavailable old pods, creates nothing yet",
			world: world{ds: newDS(image("nginx:1.28"), maxUnavailable(intstr.FromInt32(2)), settled(4)), nodes: nodes("n1", "n2", "n3", "n4"),
				children: []obj{rev1, pod("web-a", "n1", hashV1), pod("web-b", "n2", hashV1), pod("web-c", "n3", hashV1), pod("web-d", "n4", hashV1)}},
			want: []string{"create ControllerRevision", "updateStatus DaemonSet web", "delete Pod web-a", "delete Pod web-b"},
			check: func(t *testing.T, resp *abi.ReconcileResponse) {
				var cr appsv1.ControllerRevision
				json.Unmarshal(resp.Actions[0].Object, &cr)
				if cr.Revision != 2 {
					t.Errorf("new revision numbered %d, want 2", cr.Revision)
				}
				if st := statusOf(t, resp); st.UpdatedNumberScheduled != 0 || st.ObservedGeneration != 2 {
					t.Errorf("status %+v", st)
				}
			},
		},
		{
			name: "rolling update: an old pod that is not available is replaced beyond maxUnavailable",
			world: world{ds: newDS(image("nginx:1.28"), settled(3)), nodes: nodes("n1", "n2", "n3"),
				children: []obj{rev1, pod("web-a", "n1", hashV1), pod("web-b", "n2", hashV1, notReady), pod("web-c", "n3", hashV1, notReady)}},
			want: []string{"create ControllerRevision", "updateStatus DaemonSet web", "delete Pod web-b", "delete Pod web-c"},
		},
		{
			name: "rolling update with surge creates maxSurge new pods beside the old ones",
			world: world{ds: newDS(image("nginx:1.28"), maxSurge(intstr.FromString("50%")), settled(3)), nodes: nodes("n1", "n2", "n3"),
				children: []obj{rev1, pod("web-a", "n1", hashV1), pod("web-b", "n2", hashV1), pod("web-c", "n3", hashV1)}},
			want: []string{"create ControllerRevision", "updateStatus DaemonSet web", "create Pod @n1", "create Pod @n2"},
		},
		{
			name: "surge: the old pod goes once the new one on its node is available",
			world: world{ds: newDS(image("nginx:1.28"), maxSurge(intstr.FromInt32(1)), settled(2)), nodes: nodes("n1", "n2"),
				children: []obj{rev1, revision(t, v2, "web-new", 2), pod("web-a", "n1", hashV1), pod("web-b", "n2", hashV1),
					pod("web-x", "n1", "new", created(time.Minute), func(p obj) { p["metadata"].(obj)["labels"].(obj)[daemonset.TemplateGenerationLabel] = "2" })}},
			want: []string{"updateStatus DaemonSet web", "delete Pod web-a"},
		},
		{
			// Upstream's pod handler syncs the DaemonSet minReadySeconds
			// (+1 s) after any of its pods turns Ready; status looks at
			// the oldest pod of a node only, the old one here.
			name: "surge with minReadySeconds: requeued for when the new pod beside the old one is available",
			world: world{ds: newDS(image("nginx:1.28"), maxSurge(intstr.FromInt32(1)), func(ds *appsv1.DaemonSet) {
				ds.Spec.MinReadySeconds = 10
				ds.Status = appsv1.DaemonSetStatus{ObservedGeneration: 2, DesiredNumberScheduled: 1, CurrentNumberScheduled: 1, NumberReady: 1, NumberAvailable: 1}
			}), nodes: nodes("n1"),
				children: []obj{rev1, revision(t, v2, "web-new", 2), pod("web-a", "n1", hashV1),
					pod("web-x", "n1", "new", created(time.Minute), func(p obj) {
						p["metadata"].(obj)["labels"].(obj)[daemonset.TemplateGenerationLabel] = "2"
						p["status"] = obj{"phase": "Running", "conditions": []any{obj{"type": "Ready", "status": "True", "lastTransitionTime": now.Add(-4 * time.Second).Format(time.RFC3339)}}}
					})}},
			requeue: 6 * time.Second,
		},
		{
			name: "OnDelete: a new template changes no pod",
			world: world{ds: newDS(image("nginx:1.28"), settled(1), func(ds *appsv1.DaemonSet) {
				ds.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType}
			}), nodes: nodes("n1"), children: []obj{rev1, pod("web-a", "n1", hashV1)}},
			want: []string{"create ControllerRevision", "updateStatus DaemonSet web"},
		},
		{
			name:  "a revision name taken by other data raises the collision count",
			world: world{ds: newDS(observed), nodes: nodes("n1"), children: []obj{revision(t, v2, revV1, 1)}},
			want:  []string{"create ControllerRevision web-df69f8697", "updateStatus DaemonSet web", "create Pod @n1"},
			check: func(t *testing.T, resp *abi.ReconcileResponse) {
				if st := statusOf(t, resp); st.CollisionCount == nil || *st.CollisionCount != 1 {
					t.Errorf("collisionCount %v, want 1", st.CollisionCount)
				}
			},
		},
		{
			name:  "a create refused AlreadyExists raises the collision count",
			world: world{ds: newDS(observed), nodes: nodes("n1"), lastError: revV1},
			want:  []string{"create ControllerRevision web-df69f8697", "updateStatus DaemonSet web", "create Pod @n1"},
		},
		{
			name: "rollback renumbers the matching old revision",
			world: world{ds: newDS(settled(1)), nodes: nodes("n1"), children: []obj{rev1, revision(t, v2, "web-v2", 2),
				pod("web-a", "n1", hashV1)}},
			want: []string{"update ControllerRevision " + revV1},
			check: func(t *testing.T, resp *abi.ReconcileResponse) {
				var cr appsv1.ControllerRevision
				json.Unmarshal(resp.Actions[0].Object, &cr)
				if cr.Revision != 3 || cr.ResourceVersion != "3" {
					t.Errorf("renumbered to %d (resourceVersion %q), want 3 and the revision's", cr.Revision, cr.ResourceVersion)
				}
			},
		},
		{
			name: "history beyond the limit: the oldest revisions no pod uses are deleted (r1 is kept for its pod)",
			world: world{ds: newDS(settled(1), func(ds *appsv1.DaemonSet) { ds.Spec.RevisionHistoryLimit = ptr.To[int32](1) }), nodes: nodes("n1"),
				children: []obj{revision(t, v2, "web-r1", 1), revision(t, newDS(image("x")), "web-r2", 2), revision(t, newDS(image("y")), "web-r3", 3),
					revision(t, v1, revV1, 4), pod("web-a", "n1", "r1", func(p obj) { p["metadata"].(obj)["labels"].(obj)[daemonset.TemplateGenerationLabel] = "1" })}},
			want: []string{"delete ControllerRevision web-r2", "delete ControllerRevision web-r3"},
		},
		{
			name: "orphans the selector matches are adopted and count",
			world: world{ds: newDS(settled(1)), nodes: nodes("n1"), children: []obj{rev1},
				orphans: []obj{pod("web-a", "n1", hashV1, orphaned)}},
			want: []string{"patch Pod web-a"},
		},
		{
			name:   "an empty selector is refused with upstream's warning",
			world:  world{ds: newDS(func(ds *appsv1.DaemonSet) { ds.Spec.Selector = &metav1.LabelSelector{} }), nodes: nodes("n1")},
			events: []string{"Warning SelectingAll: This daemon set is selecting all pods. A non-empty selector is required."},
		},
		{
			name:  "a DaemonSet being deleted gets nothing",
			world: world{ds: newDS(func(ds *appsv1.DaemonSet) { ds.DeletionTimestamp = &metav1.Time{Time: now} }), nodes: nodes("n1")},
		},
		{
			name: "minReadySeconds: requeued for the time until the ready pod is available",
			world: world{ds: newDS(settled(1), func(ds *appsv1.DaemonSet) {
				ds.Spec.MinReadySeconds = 90
				ds.Status.NumberAvailable, ds.Status.NumberUnavailable = 0, 1
			}), nodes: nodes("n1"),
				children: []obj{rev1, pod("web-a", "n1", hashV1)}},
			requeue: 30 * time.Second,
		},
	} {
		for mode, reconcile := range reconcilers(t) {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				resp, err := reconcile(request(t, tc.world))
				if err != nil {
					t.Fatal(err)
				}
				got := summary(t, resp)
				if len(got) != len(tc.want) {
					t.Fatalf("actions\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
				}
				for i := range got {
					if !strings.HasPrefix(got[i], tc.want[i]) {
						t.Fatalf("actions\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
					}
				}
				if tc.status != nil {
					if st := statusOf(t, resp); st == nil || !reflect.DeepEqual(*st, *tc.status) {
						t.Errorf("status %+v\nwant   %+v", st, tc.status)
					}
				}
				if ev := events(resp); !slices.Equal(ev, tc.events) {
					t.Errorf("events %q, want %q", ev, tc.events)
				}
				if got := time.Duration(resp.RequeueAfterSeconds * float64(time.Second)); got != tc.requeue {
					t.Errorf("requeue after %v, want %v", got, tc.requeue)
				}
				if tc.check != nil {
					tc.check(t, resp)
				}
			})
		}
	}
}
