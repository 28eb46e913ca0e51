package statefulset_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/host/plugintest"
	"wasmctl.dev/wasmctl/plugins/statefulset"
)

var now = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

type obj = map[string]any

// webTemplate is the template of a set "web" as the API server stores it;
// kube-controller-manager names its revision web-58766555d5.
const webTemplate = `{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"nginx:1.27","resources":{},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent"}],"restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","securityContext":{},"schedulerName":"default-scheduler"}}`

const webRevision = "web-58766555d5"

func template() obj {
	var t obj
	if err := json.Unmarshal([]byte(webTemplate), &t); err != nil {
		panic(err)
	}
	return t
}

func newSet(replicas int, edits ...func(obj)) obj {
	s := obj{
		"apiVersion": "apps/v1", "kind": "StatefulSet",
		"metadata": obj{"name": "web", "namespace": "ns", "uid": "set-uid", "generation": 1.0, "resourceVersion": "10"},
		"spec": obj{
			"replicas": float64(replicas), "serviceName": "web", "podManagementPolicy": "OrderedReady",
			"selector":                             obj{"matchLabels": obj{"app": "web"}},
			"template":                             template(),
			"updateStrategy":                       obj{"type": "RollingUpdate", "rollingUpdate": obj{"partition": 0.0, "maxUnavailable": 1.0}},
			"revisionHistoryLimit":                 10.0,
			"persistentVolumeClaimRetentionPolicy": obj{"whenDeleted": "Retain", "whenScaled": "Retain"},
		},
		"status": obj{"replicas": 0.0, "availableReplicas": 0.0},
	}
	for _, e := range edits {
		e(s)
	}
	return s
}

func spec(o obj) obj { return o["spec"].(obj) }

func parallel(s obj) { spec(s)["podManagementPolicy"] = "Parallel" }
func image(img string) func(obj) {
	return func(s obj) {
		spec(s)["template"].(obj)["spec"].(obj)["containers"].([]any)[0].(obj)["image"] = img
	}
}
func withStatus(kv obj) func(obj) {
	return func(s obj) {
		for k, v := range kv {
			s["status"].(obj)[k] = v
		}
	}
}

// revision is the ControllerRevision upstream wrote for the set's
// template: name and data computed from the template by the same rules.
func revision(name string, number int, tmpl obj) obj {
	t := map[string]any{"$patch": "replace"}
	for k, v := range tmpl {
		t[k] = v
	}
	data, _ := json.Marshal(obj{"spec": obj{"template": t}})
	return obj{
		"apiVersion": "apps/v1", "kind": "ControllerRevision",
		"metadata": obj{"name": name, "namespace": "ns", "uid": name + "-uid", "labels": obj{"app": "web"},
			"ownerReferences": []any{obj{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "uid": "set-uid", "controller": true}}},
		"data": json.RawMessage(data), "revision": float64(number),
	}
}

type podOpt func(obj)

func pod(ord int, rev string, opts ...podOpt) obj {
	name := "web-" + itoa(ord)
	p := obj{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": obj{"name": name, "namespace": "ns", "uid": name + "-uid", "resourceVersion": "5",
			"labels":          obj{"app": "web", statefulset.PodNameLabel: name, statefulset.PodIndexLabel: itoa(ord), statefulset.RevisionLabel: rev},
			"ownerReferences": []any{obj{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "uid": "set-uid", "controller": true}}},
		"status": obj{"phase": "Running", "conditions": []any{obj{"type": "Ready", "status": "True", "lastTransitionTime": now.Add(-time.Minute).Format(time.RFC3339)}}},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func pending(p obj) { p["status"] = obj{"phase": "Pending"} }
func failed(p obj)  { p["status"] = obj{"phase": "Failed"} }
func notReady(p obj) {
	p["status"] = obj{"phase": "Running", "conditions": []any{obj{"type": "Ready", "status": "False"}}}
}

type world struct {
	set      obj
	children []obj
	orphans  []obj
	claims   []obj
}

func request(w world) []byte {
	raws := func(os []obj) []json.RawMessage {
		var out []json.RawMessage
		for _, o := range os {
			b, _ := json.Marshal(o)
			out = append(out, b)
		}
		return out
	}
	set, _ := json.Marshal(w.set)
	req := abi.ReconcileRequest{APIVersion: abi.Version, Kind: abi.KindReconcileRequest, Now: now.Format(time.RFC3339Nano),
		Object: set, Children: raws(w.children), Orphans: raws(w.orphans),
		Related: map[string][]json.RawMessage{statefulset.RelatedClaims: raws(w.claims)}}
	b, _ := json.Marshal(req)
	return b
}

// reconcilers runs every case natively and through the built .wasm.
func reconcilers(t *testing.T) map[string]func([]byte) (*abi.ReconcileResponse, error) {
	return map[string]func([]byte) (*abi.ReconcileResponse, error){
		"native": statefulset.Reconcile,
		"wasm":   plugintest.Shared(t, "./cmd").Reconcile,
	}
}

// summary lists a response's actions as "op kind name" lines.
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
		out = append(out, string(a.Op)+" "+o.Kind+" "+o.Metadata.Name)
	}
	return out
}

func statusOf(t *testing.T, resp *abi.ReconcileResponse) obj {
	for _, a := range resp.Actions {
		if a.Op == abi.OpUpdateStatus {
			var o obj
			if err := json.Unmarshal(a.Object, &o); err != nil {
				t.Fatal(err)
			}
			return o["status"].(obj)
		}
	}
	return nil
}

func TestReconcile(t *testing.T) {
	web := revision(webRevision, 1, template())
	v2tmpl := template()
	v2tmpl["spec"].(obj)["containers"].([]any)[0].(obj)["image"] = "nginx:1.28"
	atRev := withStatus(obj{"currentRevision": webRevision, "updateRevision": webRevision, "observedGeneration": 1.0, "collisionCount": 0.0})
	for _, tc := range []struct {
		name    string
		world   world
		want    []string // actions, in order
		status  obj      // fields of the written status (nil: no write)
		check   func(t *testing.T, resp *abi.ReconcileResponse)
		requeue bool
	}{
		{
			name:  "new OrderedReady set creates its revision and web-0 only",
			world: world{set: newSet(3)},
			want:  []string{"create ControllerRevision " + webRevision, "updateStatus StatefulSet web", "create Pod web-0"},
			status: obj{"replicas": 0.0, "availableReplicas": 0.0, "currentRevision": webRevision, "updateRevision": webRevision,
				"observedGeneration": 1.0, "collisionCount": 0.0},
			check: func(t *testing.T, resp *abi.ReconcileResponse) {
				var p struct {
					Metadata struct {
						Labels          map[string]string `json:"labels"`
						GenerateName    string            `json:"generateName"`
						OwnerReferences []map[string]any  `json:"ownerReferences"`
					} `json:"metadata"`
					Spec map[string]any `json:"spec"`
				}
				json.Unmarshal(resp.Actions[2].Object, &p)
				want := map[string]string{"app": "web", statefulset.PodNameLabel: "web-0", statefulset.PodIndexLabel: "0", statefulset.RevisionLabel: webRevision}
				for k, v := range want {
					if p.Metadata.Labels[k] != v {
						t.Errorf("label %s = %q, want %q", k, p.Metadata.Labels[k], v)
					}
				}
				if p.Spec["hostname"] != "web-0" || p.Spec["subdomain"] != "web" || p.Metadata.GenerateName != "web-" || len(p.Metadata.OwnerReferences) != 1 {
					t.Errorf("pod %+v", p)
				}
				if ev := hostEvents(t, statefulset.Manifest(), resp.Actions[2], "", ""); !slices.Equal(ev, []string{"Normal SuccessfulCreate: Create Pod web-0 in StatefulSet web successful"}) {
					t.Errorf("create events %q", ev)
				}
				var r struct {
					Metadata struct {
						Labels map[string]string `json:"labels"`
					} `json:"metadata"`
					Revision int `json:"revision"`
				}
				json.Unmarshal(resp.Actions[0].Object, &r)
				if r.Revision != 1 || r.Metadata.Labels["controller.kubernetes.io/hash"] != "58766555d5" || r.Metadata.Labels["app"] != "web" {
					t.Errorf("revision %+v", r)
				}
			},
		},
		{
			// Found by hack/conformance: a foreground-deleted set whose
			// revision the garbage collector removed recreated it on every
			// delete, and the deletion took from seconds to minutes.
			name: "a set being deleted creates no revision",
			world: world{set: newSet(2, atRev, func(s obj) {
				s["metadata"].(obj)["deletionTimestamp"] = now.Format(time.RFC3339)
				s["metadata"].(obj)["finalizers"] = []any{"foregroundDeletion"}
			})},
			want: nil,
		},
		{
			name:  "Parallel creates every pod at once",
			world: world{set: newSet(3, parallel, atRev), children: []obj{web}},
			want:  []string{"create Pod web-0", "create Pod web-1", "create Pod web-2"},
		},
		{
			name:  "OrderedReady waits for a pending pod",
			world: world{set: newSet(3, atRev, withStatus(obj{"replicas": 2.0, "readyReplicas": 1.0, "availableReplicas": 1.0, "currentReplicas": 2.0, "updatedReplicas": 2.0})), children: []obj{web, pod(0, webRevision), pod(1, webRevision, pending)}},
			want:  nil,
		},
		{
			name:   "a failed pod is deleted and the sync stops there",
			world:  world{set: newSet(3, atRev), children: []obj{web, pod(0, webRevision, failed), pod(1, webRevision)}},
			want:   []string{"updateStatus StatefulSet web", "delete Pod web-0"},
			status: obj{"replicas": 2.0, "readyReplicas": 1.0, "currentReplicas": 2.0, "updatedReplicas": 2.0},
		},
		{
			name:  "scale down deletes the highest ordinal only",
			world: world{set: newSet(1, atRev, withStatus(obj{"replicas": 3.0, "readyReplicas": 3.0, "availableReplicas": 3.0, "currentReplicas": 3.0, "updatedReplicas": 3.0})), children: []obj{web, pod(0, webRevision), pod(1, webRevision), pod(2, webRevision)}},
			want:  []string{"delete Pod web-2"},
		},
		{
			name:  "two unhealthy condemned pods stall the scale-down",
			world: world{set: newSet(1, atRev), children: []obj{web, pod(0, webRevision), pod(1, webRevision, notReady), pod(2, webRevision, notReady)}},
			want:  []string{"updateStatus StatefulSet web"},
		},
		{
			name:  "a template change creates revision 2 and replaces the highest pod",
			world: world{set: newSet(3, image("nginx:1.28"), atRev, withStatus(obj{"replicas": 3.0, "readyReplicas": 3.0, "availableReplicas": 3.0, "currentReplicas": 3.0, "updatedReplicas": 3.0})), children: []obj{web, pod(0, webRevision), pod(1, webRevision), pod(2, webRevision)}},
			check: func(t *testing.T, resp *abi.ReconcileResponse) {
				got := summary(t, resp)
				if len(got) != 3 || !strings.HasPrefix(got[0], "create ControllerRevision web-") || got[0] == "create ControllerRevision "+webRevision || got[2] != "delete Pod web-2" {
					t.Errorf("actions %q", got)
				}
				st := statusOf(t, resp)
				if st["currentRevision"] != webRevision || st["updateRevision"] == webRevision || st["currentReplicas"] != 2.0 {
					t.Errorf("status %v", st)
				}
			},
		},
		{
			name: "rollback renumbers the old revision",
			world: world{set: newSet(3, atRev, withStatus(obj{"updateRevision": "web-v2"})), children: []obj{
				web, revision("web-v2", 2, v2tmpl), pod(0, webRevision), pod(1, webRevision), pod(2, "web-v2")}},
			check: func(t *testing.T, resp *abi.ReconcileResponse) {
				got := summary(t, resp)
				if len(got) < 2 || got[0] != "update ControllerRevision "+webRevision || got[len(got)-1] != "delete Pod web-2" {
					t.Errorf("actions %q", got)
				}
				var r struct{ Revision int }
				json.Unmarshal(resp.Actions[0].Object, &r)
				if r.Revision != 3 {
					t.Errorf("revision %d, want 3", r.Revision)
				}
			},
		},
		{
			name: "claims are created before their pod",
			world: world{set: newSet(1, atRev, func(s obj) {
				spec(s)["volumeClaimTemplates"] = []any{obj{"metadata": obj{"name": "data", "labels": obj{"tier": "db"}}, "spec": obj{"accessModes": []any{"ReadWriteOnce"}}}}
			}), children: []obj{web}},
			check: func(t *testing.T, resp *abi.ReconcileResponse) {
				got := summary(t, resp)
				if !slices.Equal(got, []string{"create PersistentVolumeClaim data-web-0", "create Pod web-0"}) {
					t.Fatalf("actions %q", got)
				}
				var c struct {
					Metadata struct {
						Labels          map[string]string `json:"labels"`
						OwnerReferences []any             `json:"ownerReferences"`
					} `json:"metadata"`
				}
				json.Unmarshal(resp.Actions[0].Object, &c)
				if c.Metadata.Labels["app"] != "web" || c.Metadata.Labels["tier"] != "db" || c.Metadata.OwnerReferences != nil {
					t.Errorf("claim %+v", c)
				}
				if !strings.Contains(string(resp.Actions[1].Object), `"claimName":"data-web-0"`) {
					t.Errorf("pod %s", resp.Actions[1].Object)
				}
				if ev := resp.Actions[0].OnSuccess; len(ev) != 1 || ev[0].Message != "Create Claim data-web-0 Pod web-0 in StatefulSet web success" {
					t.Errorf("claim event %+v", ev)
				}
			},
		},
		{
			name: "whenDeleted=Delete puts the set's controller reference on a ready pod's claim",
			world: world{set: newSet(1, atRev, func(s obj) {
				spec(s)["volumeClaimTemplates"] = []any{obj{"metadata": obj{"name": "data"}}}
				spec(s)["persistentVolumeClaimRetentionPolicy"] = obj{"whenDeleted": "Delete", "whenScaled": "Retain"}
			}, withStatus(obj{"replicas": 1.0, "readyReplicas": 1.0, "availableReplicas": 1.0, "currentReplicas": 1.0, "updatedReplicas": 1.0})),
				children: []obj{web, pod(0, webRevision, func(p obj) {
					p["spec"] = obj{"volumes": []any{obj{"name": "data", "persistentVolumeClaim": obj{"claimName": "data-web-0"}}}}
				})},
				claims: []obj{{"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": obj{"name": "data-web-0", "namespace": "ns", "uid": "c-uid", "resourceVersion": "7"}}}},
			check: func(t *testing.T, resp *abi.ReconcileResponse) {
				got := summary(t, resp)
				if !slices.Equal(got, []string{"patch PersistentVolumeClaim data-web-0", "patch Pod web-0"}) {
					t.Fatalf("actions %q", got)
				}
				if p := string(resp.Actions[0].Patch); !strings.Contains(p, `"uid":"set-uid"`) || !strings.Contains(p, `"resourceVersion":"7"`) {
					t.Errorf("claim patch %s", p)
				}
			},
		},
		{
			name: "history beyond the limit is deleted oldest first",
			world: world{set: newSet(1, atRev, func(s obj) { spec(s)["revisionHistoryLimit"] = 1.0 }, withStatus(obj{"replicas": 1.0, "readyReplicas": 1.0, "availableReplicas": 1.0, "currentReplicas": 1.0, "updatedReplicas": 1.0})),
				children: []obj{revision("web-a", 1, v2tmpl), revision("web-b", 2, v2tmpl), revision("web-c", 3, v2tmpl), revision(webRevision, 4, template()), pod(0, webRevision)}},
			want: []string{"delete ControllerRevision web-a", "delete ControllerRevision web-b"},
		},
		{
			name:  "an orphan pod with a matching name is adopted",
			world: world{set: newSet(1, atRev), children: []obj{web}, orphans: []obj{func() obj { p := pod(0, webRevision); delete(p["metadata"].(obj), "ownerReferences"); return p }()}},
			want:  []string{"patch Pod web-0", "updateStatus StatefulSet web"},
		},
		{
			name:    "minReadySeconds requeues until the pod is available",
			world:   world{set: newSet(1, atRev, func(s obj) { spec(s)["minReadySeconds"] = 120.0 }), children: []obj{web, pod(0, webRevision)}},
			want:    []string{"updateStatus StatefulSet web"},
			status:  obj{"readyReplicas": 1.0, "availableReplicas": 0.0},
			requeue: true,
		},
	} {
		for how, reconcile := range reconcilers(t) {
			t.Run(how+"/"+tc.name, func(t *testing.T) {
				resp, err := reconcile(request(tc.world))
				if err != nil {
					t.Fatal(err)
				}
				if tc.check != nil {
					tc.check(t, resp)
				} else if got := summary(t, resp); !slices.Equal(got, tc.want) {
					t.Errorf("actions\n got %q\nwant %q", got, tc.want)
				}
				if tc.status != nil {
					st := statusOf(t, resp)
					for k, v := range tc.status {
						if st[k] != v {
							t.Errorf("status.%s = %v, want %v (status %v)", k, st[k], v, st)
						}
					}
				}
				if got := resp.RequeueAfterSeconds > 0; got != tc.requeue {
					t.Errorf("requeue %v, want %v", resp.RequeueAfterSeconds, tc.requeue)
				}
				if tc.requeue && resp.RequeueAfterSeconds != 60 {
					t.Errorf("requeue after %vs, want 60s (ready 1 min ago, minReadySeconds 120)", resp.RequeueAfterSeconds)
				}
			})
		}
	}
}

// hostEvents is what the host records on the set for one applied action
// (host/apply's record): the action's own onSuccess / onFailure when it has
// any, else for a create of an owns kind the manifest's ownedEvents
// wording, nothing for a refusal whose reason is quiet. err is the API
// server's error text, reason its status reason ("" when it applied).
func hostEvents(t *testing.T, m *abi.Manifest, a abi.Action, reason, err string) []string {
	t.Helper()
	var o struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if e := json.Unmarshal(a.Object, &o); e != nil {
		t.Fatal(e)
	}
	var out []string
	if len(a.OnSuccess) > 0 || len(a.OnFailure) > 0 {
		evs := a.OnSuccess
		if reason != "" {
			evs = a.OnFailure
		}
		for _, e := range evs {
			out = append(out, string(e.Type)+" "+e.Reason+": "+strings.ReplaceAll(e.Message, "{error}", err))
		}
		return out
	}
	if a.Op != abi.OpCreate {
		return nil
	}
	for _, ev := range m.OwnedEvents {
		if ev.Type.APIVersion != o.APIVersion || ev.Type.Kind != o.Kind {
			continue
		}
		typ, why, tmpl := "Normal", "SuccessfulCreate", ev.Created
		if reason != "" {
			if slices.Contains(ev.QuietReasons, reason) {
				return nil
			}
			typ, why, tmpl = "Warning", "FailedCreate", ev.CreateFailed
		}
		if tmpl == "" || tmpl == abi.NoEvent {
			return nil
		}
		msg := strings.NewReplacer("{name}", o.Metadata.Name, "{kind}", o.Kind, "{kindLower}", strings.ToLower(o.Kind),
			"{namespace}", "ns", "{primary}", "web", "{primaryKind}", "StatefulSet", "{error}", err).Replace(tmpl)
		return []string{typ + " " + why + ": " + msg}
	}
	t.Fatalf("create of %s %s: no ownedEvents for it and no events of its own (the host's defaults would word it)", o.Kind, o.Metadata.Name)
	return nil
}

// TestPodCreateEvents: the Events of a pod create as upstream's
// CreateStatefulPod records them, once the host has applied it. A create
// refused with AlreadyExists (a pod of that name the set does not own, e.g.
// released by a label change) records nothing: upstream sinks that error
// (stateful_pod_control.go:162) and retries. Found side by side with
// kube-controller-manager (sidebyside_test.go), where the plugin recorded a
// FailedCreate at every retry.
func TestPodCreateEvents(t *testing.T) {
	resp, err := statefulset.Reconcile(request(world{set: newSet(1, withStatus(obj{"currentRevision": webRevision, "updateRevision": webRevision, "observedGeneration": 1.0, "collisionCount": 0.0})),
		children: []obj{revision(webRevision, 1, template())}}))
	if err != nil {
		t.Fatal(err)
	}
	if got := summary(t, resp); !slices.Equal(got, []string{"create Pod web-0"}) {
		t.Fatalf("actions %q", got)
	}
	create := resp.Actions[0]
	for _, tc := range []struct {
		name, reason, err string
		want              []string
	}{
		{"created", "", "", []string{"Normal SuccessfulCreate: Create Pod web-0 in StatefulSet web successful"}},
		{"already exists", "AlreadyExists", `pods "web-0" already exists`, nil},
		{"refused", "Invalid", `Pod "web-0" is invalid: spec.containers[0].image: Invalid value: "nginx "`,
			[]string{`Warning FailedCreate: Create Pod web-0 in StatefulSet web failed error: Pod "web-0" is invalid: spec.containers[0].image: Invalid value: "nginx "`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := hostEvents(t, statefulset.Manifest(), create, tc.reason, tc.err); !slices.Equal(got, tc.want) {
				t.Errorf("events\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}
