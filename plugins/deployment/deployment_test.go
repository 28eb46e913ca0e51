package deployment_test

import (
	"encoding/json"
	"fmt"
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
	"wasmctl.dev/wasmctl/plugins/deployment"
)

var now = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

// storedTemplate is what the API server stores for a container "web"
// running image with label app=web: kube-controller-manager names its
// first ReplicaSet web-5c8597c5fb for nginx:1.27.
func storedTemplate(image string) corev1.PodTemplateSpec {
	var t corev1.PodTemplateSpec
	data := strings.ReplaceAll(`{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"IMAGE","resources":{},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent"}],"restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","securityContext":{},"schedulerName":"default-scheduler"}}`, "IMAGE", image)
	if err := json.Unmarshal([]byte(data), &t); err != nil {
		panic(err)
	}
	return t
}

// newDeployment is a Deployment as the API server stores it (defaults
// applied).
func newDeployment(replicas int32, edits ...func(*appsv1.Deployment)) *appsv1.Deployment {
	d := &appsv1.Deployment{
		TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "d-uid", Generation: 1, ResourceVersion: "10",
			CreationTimestamp: metav1.NewTime(now.Add(-time.Hour))},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: storedTemplate("nginx:1.27"),
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
				MaxSurge: ptr.To(intstr.FromString("25%")), MaxUnavailable: ptr.To(intstr.FromString("25%")),
			}},
			RevisionHistoryLimit:    ptr.To[int32](10),
			ProgressDeadlineSeconds: ptr.To[int32](600),
		},
	}
	for _, e := range edits {
		e(d)
	}
	return d
}

func image(img string) func(*appsv1.Deployment) {
	return func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = img }
}

func recreate(d *appsv1.Deployment) {
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
}

func observed(d *appsv1.Deployment) { d.Status.ObservedGeneration = d.Generation }

// rsOf is a ReplicaSet of the Deployment as the controller made it for
// template image, with spec replicas, all available, at revision rev,
// created age ago.
func rsOf(d *appsv1.Deployment, img string, rev string, replicas, available int32, age time.Duration) *appsv1.ReplicaSet {
	tmpl := storedTemplate(img)
	hash := strings.NewReplacer(":", "", ".", "").Replace(img)
	tmpl.Labels["pod-template-hash"] = hash
	return &appsv1.ReplicaSet{
		TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "ReplicaSet"},
		ObjectMeta: metav1.ObjectMeta{
			Name: "web-" + hash, Namespace: "ns", UID: types.UID("uid-" + hash), ResourceVersion: "7", Generation: 1,
			CreationTimestamp: metav1.NewTime(now.Add(-age)),
			Labels:            map[string]string{"app": "web", "pod-template-hash": hash},
			Annotations: map[string]string{deployment.RevisionAnnotation: rev,
				deployment.DesiredReplicasAnnotation: fmt.Sprint(*d.Spec.Replicas), deployment.MaxReplicasAnnotation: fmt.Sprint(*d.Spec.Replicas + 1)},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(d, appsv1.SchemeGroupVersion.WithKind("Deployment"))},
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", "pod-template-hash": hash}},
			Template: tmpl,
		},
		Status: appsv1.ReplicaSetStatus{Replicas: replicas, ReadyReplicas: available, AvailableReplicas: available, ObservedGeneration: 1, TerminatingReplicas: ptr.To[int32](0)},
	}
}

type world struct {
	d         *appsv1.Deployment
	rss       []*appsv1.ReplicaSet
	orphans   []*appsv1.ReplicaSet
	pods      []*corev1.Pod
	lastError *abi.ApplyError
}

func (w world) request(t testing.TB) []byte {
	t.Helper()
	raw := func(v any) json.RawMessage {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	req := abi.ReconcileRequest{APIVersion: abi.Version, Kind: abi.KindReconcileRequest, Now: now.Format(time.RFC3339Nano),
		Object: raw(w.d), Config: json.RawMessage("{}"), LastError: w.lastError}
	for _, rs := range w.rss {
		req.Children = append(req.Children, raw(rs))
	}
	for _, rs := range w.orphans {
		req.Orphans = append(req.Orphans, raw(rs))
	}
	if len(w.pods) > 0 {
		req.Related = map[string][]json.RawMessage{}
		for _, p := range w.pods {
			req.Related[deployment.PodsInput] = append(req.Related[deployment.PodsInput], raw(p))
		}
	}
	return raw(req)
}

// midRollout is a rollout of 3 (deadline 10 s) whose new ReplicaSet has one
// pod not yet available, last seen progressing ago.
func midRollout(ago time.Duration) world {
	d := newDeployment(3, image("nginx:1.28"), observed, func(d *appsv1.Deployment) { d.Spec.ProgressDeadlineSeconds = ptr.To[int32](10) })
	old, cur := rsOf(d, "nginx:1.27", "1", 3, 3, time.Hour), rsOf(d, "nginx:1.28", "2", 1, 0, time.Minute)
	d.Annotations = map[string]string{deployment.RevisionAnnotation: "2"}
	at := metav1.NewTime(now.Add(-ago))
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 4, UpdatedReplicas: 1, ReadyReplicas: 3, AvailableReplicas: 3, UnavailableReplicas: 1,
		TerminatingReplicas: ptr.To[int32](0),
		Conditions: []appsv1.DeploymentCondition{
			{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable", Message: "Deployment has minimum availability.", LastUpdateTime: at, LastTransitionTime: at},
			{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "ReplicaSetUpdated", Message: `ReplicaSet "web-nginx128" is progressing.`, LastUpdateTime: at, LastTransitionTime: at},
		}}
	return world{d: d, rss: []*appsv1.ReplicaSet{old, cur}}
}

// result is a response decoded into what a test checks.
type result struct {
	ops     []string // "create web-x", "patch web-x", "delete web-x", "updateStatus", "update"
	created []*appsv1.ReplicaSet
	patches map[string]map[string]any
	status  *appsv1.Deployment // the updateStatus object
	updated *appsv1.Deployment
	events  []string // "Reason: message"
	requeue time.Duration
}

func parse(t testing.TB, resp *abi.ReconcileResponse) result {
	t.Helper()
	r := result{patches: map[string]map[string]any{}, requeue: time.Duration(resp.RequeueAfterSeconds * float64(time.Second))}
	for _, a := range resp.Actions {
		var m struct {
			Metadata struct{ Name string } `json:"metadata"`
		}
		_ = json.Unmarshal(a.Object, &m)
		switch a.Op {
		case abi.OpCreate:
			var rs appsv1.ReplicaSet
			if err := json.Unmarshal(a.Object, &rs); err != nil {
				t.Fatal(err)
			}
			r.created = append(r.created, &rs)
			r.ops = append(r.ops, "create "+rs.Name)
		case abi.OpPatch:
			var p map[string]any
			if err := json.Unmarshal(a.Patch, &p); err != nil {
				t.Fatal(err)
			}
			r.patches[m.Metadata.Name] = p
			r.ops = append(r.ops, "patch "+m.Metadata.Name)
		case abi.OpDelete:
			r.ops = append(r.ops, "delete "+m.Metadata.Name)
		case abi.OpUpdateStatus, abi.OpUpdate:
			var d appsv1.Deployment
			if err := json.Unmarshal(a.Object, &d); err != nil {
				t.Fatal(err)
			}
			if a.Op == abi.OpUpdate {
				r.updated = &d
			} else {
				r.status = &d
			}
			r.ops = append(r.ops, string(a.Op))
		}
	}
	for _, e := range resp.Events {
		r.events = append(r.events, e.Reason+": "+e.Message)
	}
	return r
}

func (r result) replicas(t testing.TB, name string) any {
	t.Helper()
	p := r.patches[name]
	if p == nil {
		return nil
	}
	spec, _ := p["spec"].(map[string]any)
	return spec["replicas"]
}

func (r result) cond(typ appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	if r.status == nil {
		return nil
	}
	for i := range r.status.Status.Conditions {
		if r.status.Status.Conditions[i].Type == typ {
			return &r.status.Status.Conditions[i]
		}
	}
	return nil
}

// reconcilers runs every case natively and through the built .wasm.
func reconcilers(t *testing.T) map[string]func([]byte) (*abi.ReconcileResponse, error) {
	return map[string]func([]byte) (*abi.ReconcileResponse, error){
		"native": deployment.Reconcile,
		"wasm":   plugintest.Shared(t, "./cmd").Reconcile,
	}
}

func TestReconcile(t *testing.T) {
	cases := []struct {
		name  string
		world func() world
		check func(t *testing.T, r result)
	}{{
		name:  "a new Deployment creates upstream's ReplicaSet, fully sized within maxSurge, and records revision 1",
		world: func() world { return world{d: newDeployment(3)} },
		check: func(t *testing.T, r result) {
			if want := []string{"create web-5c8597c5fb", "updateStatus"}; !slices.Equal(r.ops, want) {
				t.Fatalf("actions %q, want %q", r.ops, want)
			}
			rs := r.created[0]
			if *rs.Spec.Replicas != 3 || rs.Labels["pod-template-hash"] != "5c8597c5fb" || rs.Spec.Template.Labels["pod-template-hash"] != "5c8597c5fb" ||
				rs.Spec.Selector.MatchLabels["pod-template-hash"] != "5c8597c5fb" || rs.Labels["app"] != "web" {
				t.Errorf("created %+v", rs.ObjectMeta)
			}
			if a := rs.Annotations; a[deployment.RevisionAnnotation] != "1" || a[deployment.DesiredReplicasAnnotation] != "3" || a[deployment.MaxReplicasAnnotation] != "4" || len(a) != 3 {
				t.Errorf("annotations %v", a)
			}
			if ref := metav1.GetControllerOf(rs); ref == nil || ref.UID != "d-uid" || ref.Kind != "Deployment" || !*ref.BlockOwnerDeletion {
				t.Errorf("owner %+v", ref)
			}
			if r.status.Annotations[deployment.RevisionAnnotation] != "1" || r.status.Status.ObservedGeneration != 1 {
				t.Errorf("status write %v %+v", r.status.Annotations, r.status.Status)
			}
			if c := r.cond(appsv1.DeploymentProgressing); c == nil || c.Reason != "NewReplicaSetCreated" || c.Message != `Created new replica set "web-5c8597c5fb"` {
				t.Errorf("Progressing %+v", c)
			}
			if c := r.cond(appsv1.DeploymentAvailable); c == nil || c.Status != corev1.ConditionFalse || c.Reason != "MinimumReplicasUnavailable" {
				t.Errorf("Available %+v", c)
			}
			if want := []string{"ScalingReplicaSet: Scaled up replica set web-5c8597c5fb from 0 to 3"}; !slices.Equal(r.events, want) {
				t.Errorf("events %q", r.events)
			}
		},
	}, {
		name: "a template change creates the new ReplicaSet at replicas+surge−old (1 of 3), revision 2",
		world: func() world {
			d := newDeployment(3, image("nginx:1.28"), observed)
			return world{d: d, rss: []*appsv1.ReplicaSet{rsOf(d, "nginx:1.27", "1", 3, 3, time.Hour)}}
		},
		check: func(t *testing.T, r result) {
			if len(r.created) != 1 || *r.created[0].Spec.Replicas != 1 || r.created[0].Annotations[deployment.RevisionAnnotation] != "2" {
				t.Fatalf("actions %q created %+v", r.ops, r.created)
			}
			if r.status.Annotations[deployment.RevisionAnnotation] != "2" {
				t.Errorf("revision %v", r.status.Annotations)
			}
		},
	}, {
		name: "with the new ReplicaSet available, the old one goes down by what maxUnavailable allows",
		world: func() world {
			d := newDeployment(3, image("nginx:1.28"), observed)
			return world{d: d, rss: []*appsv1.ReplicaSet{rsOf(d, "nginx:1.27", "1", 3, 3, time.Hour), rsOf(d, "nginx:1.28", "2", 1, 1, time.Minute)}}
		},
		check: func(t *testing.T, r result) {
			if r.replicas(t, "web-nginx127") != 2.0 || len(r.created) != 0 {
				t.Fatalf("actions %q patches %v", r.ops, r.patches)
			}
			if want := []string{"ScalingReplicaSet: Scaled down replica set web-nginx127 from 3 to 2"}; !slices.Equal(r.events, want) {
				t.Errorf("events %q", r.events)
			}
		},
	}, {
		name: "a finished rollout is marked complete and writes nothing else",
		world: func() world {
			d := newDeployment(3, image("nginx:1.28"), observed)
			return world{d: d, rss: []*appsv1.ReplicaSet{rsOf(d, "nginx:1.27", "1", 0, 0, time.Hour), rsOf(d, "nginx:1.28", "2", 3, 3, time.Minute)}}
		},
		check: func(t *testing.T, r result) {
			if want := []string{"updateStatus"}; !slices.Equal(r.ops, want) {
				t.Fatalf("actions %q", r.ops)
			}
			if c := r.cond(appsv1.DeploymentProgressing); c == nil || c.Reason != "NewReplicaSetAvailable" || c.Message != `ReplicaSet "web-nginx128" has successfully progressed.` {
				t.Errorf("Progressing %+v", c)
			}
			st := r.status.Status
			if st.Replicas != 3 || st.UpdatedReplicas != 3 || st.AvailableReplicas != 3 || st.ReadyReplicas != 3 || st.UnavailableReplicas != 0 || st.TerminatingReplicas == nil {
				t.Errorf("status %+v", st)
			}
		},
	}, {
		name: "scaled while paused mid-rollout: proportional to max-replicas (old 3 / new 1, 3→6 gives 6 / 2)",
		world: func() world {
			d := newDeployment(6, image("nginx:1.28"), observed, func(d *appsv1.Deployment) { d.Spec.Paused = true })
			old, cur := rsOf(d, "nginx:1.27", "1", 3, 3, time.Hour), rsOf(d, "nginx:1.28", "2", 1, 1, time.Minute)
			for _, rs := range []*appsv1.ReplicaSet{old, cur} {
				rs.Annotations[deployment.DesiredReplicasAnnotation], rs.Annotations[deployment.MaxReplicasAnnotation] = "3", "4"
			}
			return world{d: d, rss: []*appsv1.ReplicaSet{old, cur}}
		},
		check: func(t *testing.T, r result) {
			if r.replicas(t, "web-nginx127") != 6.0 || r.replicas(t, "web-nginx128") != 2.0 {
				t.Fatalf("actions %q patches %v", r.ops, r.patches)
			}
			a := r.patches["web-nginx128"]["metadata"].(map[string]any)["annotations"].(map[string]any)
			if a[deployment.DesiredReplicasAnnotation] != "6" || a[deployment.MaxReplicasAnnotation] != "8" {
				t.Errorf("annotations %v", a)
			}
			if c := r.cond(appsv1.DeploymentProgressing); c == nil || c.Reason != "DeploymentPaused" || c.Status != corev1.ConditionUnknown {
				t.Errorf("Progressing %+v", c)
			}
		},
	}, {
		name: "Recreate: the old ReplicaSet is scaled to 0 first, nothing created",
		world: func() world {
			d := newDeployment(2, image("nginx:1.28"), observed, recreate)
			return world{d: d, rss: []*appsv1.ReplicaSet{rsOf(d, "nginx:1.27", "1", 2, 2, time.Hour)}}
		},
		check: func(t *testing.T, r result) {
			if r.replicas(t, "web-nginx127") != 0.0 || len(r.created) != 0 {
				t.Fatalf("actions %q", r.ops)
			}
		},
	}, {
		name: "Recreate: a pod of the old ReplicaSet still running holds the new one back",
		world: func() world {
			d := newDeployment(2, image("nginx:1.28"), observed, recreate)
			old := rsOf(d, "nginx:1.27", "1", 0, 0, time.Hour)
			pod := &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
				ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "p-uid",
					OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(old, appsv1.SchemeGroupVersion.WithKind("ReplicaSet"))}},
				Status: corev1.PodStatus{Phase: corev1.PodRunning}}
			return world{d: d, rss: []*appsv1.ReplicaSet{old}, pods: []*corev1.Pod{pod}}
		},
		check: func(t *testing.T, r result) {
			if len(r.created) != 0 {
				t.Fatalf("actions %q", r.ops)
			}
		},
	}, {
		name: "Recreate: with the old pods gone the new ReplicaSet is created at full size",
		world: func() world {
			d := newDeployment(2, image("nginx:1.28"), observed, recreate)
			return world{d: d, rss: []*appsv1.ReplicaSet{rsOf(d, "nginx:1.27", "1", 0, 0, time.Hour)}}
		},
		check: func(t *testing.T, r result) {
			if len(r.created) != 1 || *r.created[0].Spec.Replicas != 2 || r.created[0].Annotations[deployment.MaxReplicasAnnotation] != "2" {
				t.Fatalf("actions %q created %+v", r.ops, r.created)
			}
		},
	}, {
		name: "the rollback annotation puts the revision's template back and clears itself",
		world: func() world {
			d := newDeployment(3, image("nginx:1.28"), observed, func(d *appsv1.Deployment) {
				d.Annotations = map[string]string{deployment.RollbackToAnnotation: "1", deployment.RevisionAnnotation: "2"}
			})
			return world{d: d, rss: []*appsv1.ReplicaSet{rsOf(d, "nginx:1.27", "1", 0, 0, time.Hour), rsOf(d, "nginx:1.28", "2", 3, 3, time.Minute)}}
		},
		check: func(t *testing.T, r result) {
			if r.updated == nil {
				t.Fatalf("actions %q", r.ops)
			}
			if img := r.updated.Spec.Template.Spec.Containers[0].Image; img != "nginx:1.27" || r.updated.Spec.Template.Labels["pod-template-hash"] != "" {
				t.Errorf("template %s labels %v", img, r.updated.Spec.Template.Labels)
			}
			if _, ok := r.updated.Annotations[deployment.RollbackToAnnotation]; ok {
				t.Errorf("annotations %v", r.updated.Annotations)
			}
			if r.requeue <= 0 {
				t.Errorf("no call asked for to roll the restored template")
			}
			if want := []string{`DeploymentRollback: Rolled back deployment "web" to revision 1`}; !slices.Equal(r.events, want) {
				t.Errorf("events %q", r.events)
			}
		},
	}, {
		name: "history beyond revisionHistoryLimit: the lowest revisions at 0 replicas are deleted",
		world: func() world {
			d := newDeployment(3, image("nginx:1.30"), observed, func(d *appsv1.Deployment) { d.Spec.RevisionHistoryLimit = ptr.To[int32](1) })
			cur := rsOf(d, "nginx:1.30", "4", 3, 3, time.Minute)
			d.Status = appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 3, UpdatedReplicas: 3, AvailableReplicas: 3, ReadyReplicas: 3}
			return world{d: d, rss: []*appsv1.ReplicaSet{
				rsOf(d, "nginx:1.27", "1", 0, 0, 4*time.Hour), rsOf(d, "nginx:1.28", "3", 0, 0, 3*time.Hour),
				rsOf(d, "nginx:1.29", "2", 0, 0, 2*time.Hour), cur,
			}}
		},
		check: func(t *testing.T, r result) {
			var deleted []string
			for _, op := range r.ops {
				if strings.HasPrefix(op, "delete ") {
					deleted = append(deleted, op)
				}
			}
			if want := []string{"delete web-nginx127", "delete web-nginx129"}; !slices.Equal(deleted, want) {
				t.Fatalf("actions %q, want the deletes %q", r.ops, want)
			}
		},
	}, {
		name:  "progress is checked again when the deadline passes (lastUpdateTime + deadline + 1 s)",
		world: func() world { return midRollout(4 * time.Second) },
		check: func(t *testing.T, r result) {
			if len(r.ops) != 0 {
				t.Fatalf("actions %q, want none", r.ops)
			}
			if r.requeue != 7*time.Second {
				t.Errorf("requeue after %v, want 7s", r.requeue)
			}
		},
	}, {
		name:  "past the deadline without progress: Progressing False ProgressDeadlineExceeded",
		world: func() world { return midRollout(11 * time.Second) },
		check: func(t *testing.T, r result) {
			c := r.cond(appsv1.DeploymentProgressing)
			if c == nil || c.Status != corev1.ConditionFalse || c.Reason != "ProgressDeadlineExceeded" || c.Message != `ReplicaSet "web-nginx128" has timed out progressing.` {
				t.Fatalf("actions %q Progressing %+v", r.ops, c)
			}
		},
	}, {
		name: "the name taken by another ReplicaSet (AlreadyExists): collisionCount goes to 1, nothing created",
		world: func() world {
			return world{d: newDeployment(3), lastError: &abi.ApplyError{Op: abi.OpCreate, APIVersion: "apps/v1", Kind: "ReplicaSet", Namespace: "ns",
				Name: "web-5c8597c5fb", Reason: "AlreadyExists", Message: `replicasets.apps "web-5c8597c5fb" already exists`}}
		},
		check: func(t *testing.T, r result) {
			if want := []string{"updateStatus"}; !slices.Equal(r.ops, want) {
				t.Fatalf("actions %q", r.ops)
			}
			if cc := r.status.Status.CollisionCount; cc == nil || *cc != 1 {
				t.Errorf("collisionCount %v", cc)
			}
		},
	}, {
		name: "after a collision the new ReplicaSet hashes with collisionCount (upstream's web-df69f8697 for 1)",
		world: func() world {
			return world{d: newDeployment(3, func(d *appsv1.Deployment) { d.Status.CollisionCount = ptr.To[int32](1) })}
		},
		check: func(t *testing.T, r result) {
			if len(r.created) != 1 || r.created[0].Name != "web-df69f8697" {
				t.Fatalf("actions %q", r.ops)
			}
		},
	}, {
		name: "a refused create is reported (condition and Warning) and tried again",
		world: func() world {
			return world{d: newDeployment(3), lastError: &abi.ApplyError{Op: abi.OpCreate, APIVersion: "apps/v1", Kind: "ReplicaSet", Namespace: "ns",
				Name: "web-5c8597c5fb", Reason: "Forbidden", Message: `replicasets.apps "web-5c8597c5fb" is forbidden: exceeded quota`}}
		},
		check: func(t *testing.T, r result) {
			msg := `Failed to create new replica set "web-5c8597c5fb": replicasets.apps "web-5c8597c5fb" is forbidden: exceeded quota`
			if want := []string{"ReplicaSetCreateError: " + msg}; !slices.Equal(r.events[:1], want) {
				t.Errorf("events %q", r.events)
			}
			if c := r.cond(appsv1.DeploymentProgressing); c == nil || c.Status != corev1.ConditionFalse || c.Reason != "ReplicaSetCreateError" || c.Message != msg {
				t.Errorf("Progressing %+v", c)
			}
			if len(r.created) != 0 || r.requeue <= 0 {
				t.Errorf("actions %q requeue %v: the create is to be retried on the next call", r.ops, r.requeue)
			}
		},
	}, {
		name: "an orphan ReplicaSet whose labels match is adopted; a child that no longer matches is released",
		world: func() world {
			d := newDeployment(3, observed)
			orphan := rsOf(d, "nginx:1.20", "", 1, 1, 2*time.Hour)
			orphan.OwnerReferences = nil
			stray := rsOf(d, "nginx:1.21", "", 1, 1, 2*time.Hour)
			stray.Labels = map[string]string{"app": "other"}
			return world{d: d, rss: []*appsv1.ReplicaSet{stray, rsOf(d, "nginx:1.27", "1", 3, 3, time.Hour)}, orphans: []*appsv1.ReplicaSet{orphan}}
		},
		check: func(t *testing.T, r result) {
			if len(r.ops) < 2 || r.ops[0] != "patch web-nginx121" || r.ops[1] != "patch web-nginx120" {
				t.Fatalf("actions %q", r.ops)
			}
			if refs := fmt.Sprint(r.patches["web-nginx121"]["metadata"]); !strings.Contains(refs, "$patch:delete") {
				t.Errorf("release %v", refs)
			}
		},
	}}
	for name, reconcile := range reconcilers(t) {
		t.Run(name, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					resp, err := reconcile(tc.world().request(t))
					if err != nil {
						t.Fatal(err)
					}
					tc.check(t, parse(t, resp))
				})
			}
		})
	}
}

// TestInvalidDeployment: what the API server would refuse is a plugin
// error (the host reports it and writes nothing).
func TestInvalidDeployment(t *testing.T) {
	for name, d := range map[string]*appsv1.Deployment{
		"selector not matching the template": newDeployment(1, func(d *appsv1.Deployment) { d.Spec.Selector.MatchLabels = map[string]string{"app": "db"} }),
		"unknown strategy":                   newDeployment(1, func(d *appsv1.Deployment) { d.Spec.Strategy.Type = "BlueGreen" }),
		"maxSurge not a percent":             newDeployment(1, func(d *appsv1.Deployment) { d.Spec.Strategy.RollingUpdate.MaxSurge = ptr.To(intstr.FromString("lots")) }),
	} {
		for rname, reconcile := range reconcilers(t) {
			t.Run(name+"/"+rname, func(t *testing.T) {
				if resp, err := reconcile(world{d: d}.request(t)); err == nil {
					t.Errorf("no error; actions %v", parse(t, resp).ops)
				}
			})
		}
	}
}
