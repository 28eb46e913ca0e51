package job_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/host/plugintest"
	"wasmctl.dev/wasmctl/plugins/job"
)

var now = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

func ts(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }

type obj = map[string]any

func md(o obj) obj   { return o["metadata"].(obj) }
func spec(o obj) obj { return o["spec"].(obj) }
func status(o obj) obj {
	if o["status"] == nil {
		o["status"] = obj{}
	}
	return o["status"].(obj)
}

// newJob builds a Job as the API server stores it (defaults applied,
// selector and labels generated); edits tweak it.
func newJob(edits ...func(obj)) obj {
	j := obj{
		"apiVersion": "batch/v1", "kind": "Job",
		"metadata": obj{"name": "pi", "namespace": "ns", "uid": "job-uid", "generation": 1.0, "resourceVersion": "10"},
		"spec": obj{
			"parallelism": 1.0, "completions": 1.0, "backoffLimit": 6.0, "completionMode": "NonIndexed",
			"suspend": false, "podReplacementPolicy": "TerminatingOrFailed", "manualSelector": false,
			"selector": obj{"matchLabels": obj{"batch.kubernetes.io/controller-uid": "job-uid"}},
			"template": obj{
				"metadata": obj{"labels": obj{
					"batch.kubernetes.io/controller-uid": "job-uid", "batch.kubernetes.io/job-name": "pi",
					"controller-uid": "job-uid", "job-name": "pi",
				}},
				"spec": obj{"restartPolicy": "Never", "containers": []any{obj{"name": "main", "image": "busybox"}}},
			},
		},
	}
	for _, e := range edits {
		e(j)
	}
	return j
}

func parallelism(n int) func(obj) { return func(j obj) { spec(j)["parallelism"] = float64(n) } }
func completions(n int) func(obj) { return func(j obj) { spec(j)["completions"] = float64(n) } }
func indexed(j obj)               { spec(j)["completionMode"] = "Indexed" }
func suspended(j obj)             { spec(j)["suspend"] = true }
func started(ago time.Duration) func(obj) {
	return func(j obj) { status(j)["startTime"] = ts(-ago) }
}
func withStatus(kv obj) func(obj) {
	return func(j obj) {
		for k, v := range kv {
			status(j)[k] = v
		}
	}
}
func withSpec(kv obj) func(obj) {
	return func(j obj) {
		for k, v := range kv {
			spec(j)[k] = v
		}
	}
}

type podOpt func(obj)

// pod builds a pod of the Job "pi" with the tracking finalizer.
func pod(name string, opts ...podOpt) obj {
	p := obj{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": obj{
			"name": name, "namespace": "ns", "uid": "uid-" + name, "resourceVersion": "5",
			"labels":            obj{"batch.kubernetes.io/controller-uid": "job-uid"},
			"creationTimestamp": ts(-time.Hour),
			"finalizers":        []any{job.TrackingFinalizer},
			"ownerReferences": []any{obj{
				"apiVersion": "batch/v1", "kind": "Job", "name": "pi", "uid": "job-uid", "controller": true, "blockOwnerDeletion": true,
			}},
		},
		"spec":   obj{"nodeName": "node-1"},
		"status": obj{"phase": "Running"},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func phase(ph string) podOpt { return func(p obj) { status(p)["phase"] = ph } }
func finished(ph string, ago time.Duration, exit int) podOpt {
	return func(p obj) {
		status(p)["phase"] = ph
		status(p)["containerStatuses"] = []any{obj{"name": "main", "restartCount": 0.0, "state": obj{"terminated": obj{
			"exitCode": float64(exit), "finishedAt": ts(-ago),
		}}}}
	}
}
func deleting(p obj)    { md(p)["deletionTimestamp"] = ts(0) }
func noFinalizer(p obj) { delete(md(p), "finalizers") }
func orphan(p obj)      { delete(md(p), "ownerReferences") }
func readyPod(p obj) {
	status(p)["conditions"] = []any{obj{"type": "Ready", "status": "True", "lastTransitionTime": ts(-time.Minute)}}
}
func podLabels(l obj) podOpt { return func(p obj) { md(p)["labels"] = l } }
func index(i int) podOpt {
	return func(p obj) {
		md(p)["annotations"] = obj{job.CompletionIndexAnnotation: fmt.Sprint(i)}
	}
}
func annotate(k, v string) podOpt {
	return func(p obj) {
		a, _ := md(p)["annotations"].(obj)
		if a == nil {
			a = obj{}
			md(p)["annotations"] = a
		}
		a[k] = v
	}
}
func condition(t, s string) podOpt {
	return func(p obj) {
		c, _ := status(p)["conditions"].([]any)
		status(p)["conditions"] = append(c, obj{"type": t, "status": s, "lastTransitionTime": ts(-time.Minute)})
	}
}

type request struct {
	job               obj
	children, orphans []obj
	lastError         *abi.ApplyError
}

func (r request) JSON(t testing.TB) []byte {
	t.Helper()
	raw := func(objs []obj) []json.RawMessage {
		var out []json.RawMessage
		for _, o := range objs {
			b, _ := json.Marshal(o)
			out = append(out, b)
		}
		return out
	}
	o, _ := json.Marshal(r.job)
	b, err := json.Marshal(abi.ReconcileRequest{
		APIVersion: abi.Version, Kind: abi.KindReconcileRequest, Now: now.Format(time.RFC3339Nano),
		Object: o, Children: raw(r.children), Orphans: raw(r.orphans), LastError: r.lastError, Config: json.RawMessage("{}"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// result summarises a response: actions in order as "op name" strings,
// the status writes, created pods and events.
type result struct {
	ops      []string
	writes   []obj // status of each updateStatus, in order
	created  []obj
	patches  map[string][]string
	events   []string // "Type Reason Message" (+ " (after)")
	requeue  float64
	response *abi.ReconcileResponse
}

func summarise(t *testing.T, resp *abi.ReconcileResponse) result {
	t.Helper()
	r := result{patches: map[string][]string{}, requeue: resp.RequeueAfterSeconds, response: resp}
	for _, a := range resp.Actions {
		var o obj
		if err := json.Unmarshal(a.Object, &o); err != nil {
			t.Fatal(err)
		}
		name, _ := md(o)["name"].(string)
		switch a.Op {
		case abi.OpCreate:
			r.created = append(r.created, o)
			name, _ = md(o)["generateName"].(string)
		case abi.OpUpdateStatus:
			r.writes = append(r.writes, status(o))
			name = ""
		case abi.OpPatch:
			r.patches[name] = append(r.patches[name], string(a.Patch))
		}
		r.ops = append(r.ops, strings.TrimSpace(string(a.Op)+" "+name))
	}
	for _, e := range resp.Events {
		s := string(e.Type) + " " + e.Reason + " " + e.Message
		if e.AfterApply {
			s += " (after)"
		}
		r.events = append(r.events, s)
	}
	return r
}

func (r result) last(t *testing.T) obj {
	t.Helper()
	if len(r.writes) == 0 {
		t.Fatalf("no status write; actions %q", r.ops)
	}
	return r.writes[len(r.writes)-1]
}

func (r result) count(prefix string) int {
	n := 0
	for _, op := range r.ops {
		if strings.HasPrefix(op, prefix) {
			n++
		}
	}
	return n
}

func conds(st obj) []string {
	var out []string
	cs, _ := st["conditions"].([]any)
	for _, c := range cs {
		m := c.(obj)
		out = append(out, fmt.Sprintf("%s=%s/%s", m["type"], m["status"], m["reason"]))
	}
	return out
}

func num(st obj, k string) float64 {
	v, _ := st[k].(float64)
	return v
}

func uncounted(st obj) string {
	u, _ := st["uncountedTerminatedPods"].(obj)
	b, _ := json.Marshal(u)
	return string(b)
}

// reconcilers runs every case natively and through the built .wasm.
func reconcilers(t *testing.T) map[string]func([]byte) (*abi.ReconcileResponse, error) {
	return map[string]func([]byte) (*abi.ReconcileResponse, error){
		"native": job.Reconcile,
		"wasm":   plugintest.Shared(t, "./cmd").Reconcile,
	}
}

const finalizerPatch = `{"metadata":{"$deleteFromPrimitiveList/finalizers":["batch.kubernetes.io/job-tracking"]}}`

func TestReconcile(t *testing.T) {
	cases := []struct {
		name  string
		req   request
		check func(t *testing.T, r result)
	}{{
		name: "a new Job creates parallelism pods, then writes status with them active",
		req:  request{job: newJob(parallelism(2), completions(5))},
		check: func(t *testing.T, r result) {
			if want := []string{"create pi-", "create pi-", "updateStatus"}; !slices.Equal(r.ops, want) {
				t.Fatalf("actions %q, want %q", r.ops, want)
			}
			p := md(r.created[0])
			if fmt.Sprint(p["finalizers"]) != "["+job.TrackingFinalizer+"]" || md(r.created[0])["labels"].(obj)["job-name"] != "pi" {
				t.Errorf("pod metadata %v", p)
			}
			ref := p["ownerReferences"].([]any)[0].(obj)
			if ref["kind"] != "Job" || ref["uid"] != "job-uid" || ref["controller"] != true || ref["blockOwnerDeletion"] != true {
				t.Errorf("owner %v", ref)
			}
			st := r.last(t)
			if num(st, "active") != 2 || st["ready"] != 0.0 || st["terminating"] != 0.0 || st["startTime"] != ts(0) || uncounted(st) != "{}" {
				t.Errorf("status %v", st)
			}
		},
	}, {
		name: "upstream's tracking example: record, remove finalizers, count (J19.10)",
		req: request{job: newJob(parallelism(2), completions(10), started(time.Minute)), children: []obj{
			pod("a", finished("Succeeded", time.Minute, 0)), pod("b", finished("Failed", time.Minute, 1)),
			pod("c", finished("Succeeded", time.Minute, 0), deleting), pod("d", finished("Failed", time.Minute, 1), deleting),
			pod("e", phase("Pending"), deleting), pod("f", phase("Pending")), pod("g"),
		}},
		check: func(t *testing.T, r result) {
			if len(r.writes) != 2 {
				t.Fatalf("actions %q, want two status writes", r.ops)
			}
			if got := uncounted(r.writes[0]); got != `{"failed":["uid-b","uid-d","uid-e"],"succeeded":["uid-a","uid-c"]}` {
				t.Errorf("write 1 uncounted %s", got)
			}
			for _, n := range []string{"a", "b", "c", "d", "e"} {
				if !slices.Equal(r.patches[n], []string{finalizerPatch}) {
					t.Errorf("pod %s patches %q", n, r.patches[n])
				}
			}
			if r.patches["f"] != nil || r.patches["g"] != nil {
				t.Error("unfinished pods lost their finalizer")
			}
			st := r.writes[1]
			if num(st, "succeeded") != 2 || num(st, "failed") != 3 || uncounted(st) != "{}" || num(st, "active") != 2 || st["terminating"] != 1.0 {
				t.Errorf("write 2 %v", st)
			}
			if i, j := slices.Index(r.ops, "updateStatus"), slices.Index(r.ops, "patch a"); i > j {
				t.Errorf("finalizers removed before the UIDs were recorded: %q", r.ops)
			}
		},
	}, {
		name: "a UID already recorded is not counted twice: its finalizer goes, then it moves",
		req: request{job: newJob(parallelism(1), completions(3), started(time.Minute), withStatus(obj{
			"active": 1.0, "ready": 0.0, "terminating": 0.0, "uncountedTerminatedPods": obj{"succeeded": []any{"uid-a"}},
		})), children: []obj{pod("a", finished("Succeeded", time.Minute, 0)), pod("b")}},
		check: func(t *testing.T, r result) {
			if want := []string{"patch a", "updateStatus"}; !slices.Equal(r.ops, want) {
				t.Fatalf("actions %q, want %q", r.ops, want)
			}
			if st := r.last(t); num(st, "succeeded") != 1 || uncounted(st) != "{}" {
				t.Errorf("status %v", st)
			}
		},
	}, {
		name: "after a crash between the steps: recorded UIDs whose pods lost the finalizer are counted",
		req: request{job: newJob(parallelism(1), completions(5), started(time.Minute), withStatus(obj{
			"active": 1.0, "ready": 0.0, "terminating": 0.0, "succeeded": 1.0,
			"uncountedTerminatedPods": obj{"succeeded": []any{"uid-a", "uid-gone"}, "failed": []any{"uid-b"}},
		})), children: []obj{pod("a", finished("Succeeded", time.Minute, 0), noFinalizer), pod("b", finished("Failed", 30*time.Minute, 1), noFinalizer), pod("c")}},
		check: func(t *testing.T, r result) {
			if want := []string{"updateStatus"}; !slices.Equal(r.ops, want) {
				t.Fatalf("actions %q, want %q", r.ops, want)
			}
			if st := r.last(t); num(st, "succeeded") != 3 || num(st, "failed") != 1 || uncounted(st) != "{}" {
				t.Errorf("status %v", st)
			}
		},
	}, {
		name: "completion: SuccessCriteriaMet, then Complete with completionTime, Completed after the write",
		req:  request{job: newJob(started(time.Minute)), children: []obj{pod("a", finished("Succeeded", time.Second, 0))}},
		check: func(t *testing.T, r result) {
			if len(r.writes) != 2 {
				t.Fatalf("actions %q", r.ops)
			}
			if got := conds(r.writes[0]); !slices.Equal(got, []string{"SuccessCriteriaMet=True/CompletionsReached"}) {
				t.Errorf("write 1 conditions %q", got)
			}
			st := r.writes[1]
			if got := conds(st); !slices.Equal(got, []string{"SuccessCriteriaMet=True/CompletionsReached", "Complete=True/CompletionsReached"}) {
				t.Errorf("write 2 conditions %q", got)
			}
			if st["completionTime"] != ts(0) || num(st, "succeeded") != 1 {
				t.Errorf("status %v", st)
			}
			if !slices.Equal(r.events, []string{"Normal Completed Job completed (after)"}) {
				t.Errorf("events %q", r.events)
			}
		},
	}, {
		name: "backoffLimit 0: the first failure fails the Job; running pods are deleted and it waits for them",
		req: request{job: newJob(parallelism(2), completions(4), started(time.Minute), withSpec(obj{"backoffLimit": 0.0})), children: []obj{
			pod("a", finished("Failed", time.Second, 1)), pod("b", readyPod),
		}},
		check: func(t *testing.T, r result) {
			// With a failure condition every unfinished pod counts as failed.
			if want := []string{"delete b", "updateStatus", "patch a", "patch b", "updateStatus"}; !slices.Equal(r.ops, want) {
				t.Fatalf("actions %q, want %q", r.ops, want)
			}
			if got := conds(r.writes[0]); !slices.Equal(got, []string{"FailureTarget=True/BackoffLimitExceeded"}) {
				t.Errorf("write 1 conditions %q", got)
			}
			st := r.last(t)
			if got := conds(st); !slices.Equal(got, []string{"FailureTarget=True/BackoffLimitExceeded"}) || num(st, "failed") != 2 || st["terminating"] != 1.0 || num(st, "active") != 0 || st["ready"] != 0.0 {
				t.Errorf("write 2: not Failed while a pod terminates; got %q %v", got, st)
			}
			if len(r.events) != 0 {
				t.Errorf("events %q", r.events)
			}
		},
	}, {
		name: "an existing FailureTarget becomes Failed once nothing terminates; the Warning follows the write",
		req: request{job: newJob(started(time.Minute), withStatus(obj{"failed": 1.0, "terminating": 0.0, "ready": 0.0, "uncountedTerminatedPods": obj{}, "conditions": []any{
			obj{"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit", "lastTransitionTime": ts(-time.Second)},
		}})), children: []obj{pod("a", finished("Failed", time.Second, 1), noFinalizer)}},
		check: func(t *testing.T, r result) {
			st := r.last(t)
			if got := conds(st); !slices.Equal(got, []string{"FailureTarget=True/BackoffLimitExceeded", "Failed=True/BackoffLimitExceeded"}) {
				t.Errorf("conditions %q", got)
			}
			if st["completionTime"] != nil {
				t.Error("a failed Job has no completionTime")
			}
			if !slices.Equal(r.events, []string{"Warning BackoffLimitExceeded Job has reached the specified backoff limit (after)"}) {
				t.Errorf("events %q", r.events)
			}
		},
	}, {
		name: "pod recreation backoff: a failure 4 s ago holds the replacement for 6 s more",
		req: request{job: newJob(started(time.Minute), withStatus(obj{"failed": 1.0, "active": 0.0, "ready": 0.0, "terminating": 0.0, "uncountedTerminatedPods": obj{}})),
			children: []obj{pod("a", finished("Failed", 4*time.Second, 1), noFinalizer)}},
		check: func(t *testing.T, r result) {
			if r.count("create") != 0 || len(r.writes) != 0 {
				t.Fatalf("actions %q", r.ops)
			}
			if r.requeue < 5.9 || r.requeue > 6.1 {
				t.Errorf("requeue after %v s, want 6", r.requeue)
			}
		},
	}, {
		name: "pod recreation backoff doubles: the second failure waits 20 s",
		req: request{job: newJob(started(time.Minute), withStatus(obj{"failed": 2.0, "active": 0.0, "ready": 0.0, "terminating": 0.0, "uncountedTerminatedPods": obj{}})),
			children: []obj{pod("a", finished("Failed", 30*time.Second, 1), noFinalizer), pod("b", finished("Failed", 5*time.Second, 1), noFinalizer)}},
		check: func(t *testing.T, r result) {
			if r.count("create") != 0 || r.requeue < 14.9 || r.requeue > 15.1 {
				t.Fatalf("actions %q requeue %v, want none and 15 s", r.ops, r.requeue)
			}
		},
	}, {
		name: "pods the controller deleted (no finalizer, being deleted) do not hold back creates",
		req: request{job: newJob(parallelism(2), completions(4), started(time.Minute), withStatus(obj{"active": 0.0, "ready": 0.0, "terminating": 2.0, "uncountedTerminatedPods": obj{}})),
			children: []obj{pod("a", finished("Failed", 2*time.Second, 137), deleting, noFinalizer), pod("b", deleting, noFinalizer)}},
		check: func(t *testing.T, r result) {
			if r.count("create") != 2 || r.requeue != 0 {
				t.Fatalf("actions %q requeue %v", r.ops, r.requeue)
			}
		},
	}, {
		name: "backoff elapsed: the replacement is created",
		req: request{job: newJob(started(time.Minute), withStatus(obj{"failed": 1.0, "active": 0.0, "ready": 0.0, "terminating": 0.0, "uncountedTerminatedPods": obj{}})),
			children: []obj{pod("a", finished("Failed", 11*time.Second, 1), noFinalizer)}},
		check: func(t *testing.T, r result) {
			if r.count("create") != 1 {
				t.Fatalf("actions %q", r.ops)
			}
		},
	}, {
		name: "activeDeadlineSeconds passed: DeadlineExceeded, active pods deleted",
		req:  request{job: newJob(started(100*time.Second), withSpec(obj{"activeDeadlineSeconds": 50.0})), children: []obj{pod("a")}},
		check: func(t *testing.T, r result) {
			if r.count("delete a") != 1 {
				t.Fatalf("actions %q", r.ops)
			}
			if got := conds(r.last(t)); !slices.Equal(got, []string{"FailureTarget=True/DeadlineExceeded"}) {
				t.Errorf("conditions %q", got)
			}
		},
	}, {
		name: "activeDeadlineSeconds pending: requeued for the rest",
		req:  request{job: newJob(started(100*time.Second), withSpec(obj{"activeDeadlineSeconds": 300.0})), children: []obj{pod("a")}},
		check: func(t *testing.T, r result) {
			if r.requeue != 200 {
				t.Errorf("requeue %v, want 200", r.requeue)
			}
		},
	}, {
		name: "suspend: finalizers first, then deletes; Suspended, startTime cleared, event",
		req: request{job: newJob(parallelism(2), completions(4), suspended, started(time.Minute), withStatus(obj{"active": 2.0, "ready": 1.0, "terminating": 0.0, "uncountedTerminatedPods": obj{}})),
			children: []obj{pod("a", readyPod), pod("b")}},
		check: func(t *testing.T, r result) {
			if r.count("patch") != 2 || r.count("delete") != 2 || !strings.HasPrefix(r.ops[0], "patch") {
				t.Fatalf("actions %q", r.ops)
			}
			st := r.last(t)
			if got := conds(st); !slices.Equal(got, []string{"Suspended=True/JobSuspended"}) || st["startTime"] != nil || num(st, "active") != 0 || st["terminating"] != 2.0 || st["ready"] != 0.0 {
				t.Errorf("status %v", st)
			}
			if !slices.Equal(r.events, []string{"Normal Suspended Job suspended"}) {
				t.Errorf("events %q", r.events)
			}
			if uncounted(st) != "{}" || num(st, "failed") != 0 {
				t.Error("pods deleted by suspension were counted")
			}
		},
	}, {
		name: "resume: Suspended=False, startTime now, pods created",
		req: request{job: newJob(parallelism(2), completions(4), withStatus(obj{"active": 0.0, "ready": 0.0, "terminating": 0.0, "uncountedTerminatedPods": obj{}, "conditions": []any{
			obj{"type": "Suspended", "status": "True", "reason": "JobSuspended", "message": "Job suspended", "lastTransitionTime": ts(-time.Hour)},
		}}))},
		check: func(t *testing.T, r result) {
			st := r.last(t)
			if r.count("create") != 2 || st["startTime"] != ts(0) {
				t.Fatalf("actions %q status %v", r.ops, st)
			}
			if got := conds(st); !slices.Equal(got, []string{"Suspended=False/JobResumed"}) {
				t.Errorf("conditions %q", got)
			}
			if !slices.Equal(r.events, []string{"Normal Resumed Job resumed"}) {
				t.Errorf("events %q", r.events)
			}
		},
	}, {
		name: "creates that failed last time go after the status write, which does not count them",
		req:  request{job: newJob(parallelism(2), completions(4)), lastError: &abi.ApplyError{Op: abi.OpCreate, Kind: "Pod", Reason: "Forbidden", Message: "exceeded quota"}},
		check: func(t *testing.T, r result) {
			if want := []string{"updateStatus", "create pi-", "create pi-"}; !slices.Equal(r.ops, want) {
				t.Fatalf("actions %q, want %q", r.ops, want)
			}
			if st := r.last(t); num(st, "active") != 0 || st["startTime"] != ts(0) {
				t.Errorf("status %v", st)
			}
		},
	}, {
		name: "podReplacementPolicy Failed: a terminating pod is not replaced and not failed",
		req: request{job: newJob(parallelism(2), completions(4), started(time.Minute), withSpec(obj{"podReplacementPolicy": "Failed"})),
			children: []obj{pod("a"), pod("b", deleting)}},
		check: func(t *testing.T, r result) {
			st := r.last(t)
			if r.count("create") != 0 || num(st, "failed") != 0 || st["terminating"] != 1.0 || num(st, "active") != 1 {
				t.Errorf("actions %q status %v", r.ops, st)
			}
		},
	}, {
		name: "podReplacementPolicy TerminatingOrFailed: a terminating pod is failed and replaced",
		req: request{job: newJob(parallelism(2), completions(4), started(time.Minute)),
			children: []obj{pod("a"), pod("b", deleting)}},
		check: func(t *testing.T, r result) {
			if uncounted(r.writes[0]) != `{"failed":["uid-b"]}` || num(r.last(t), "failed") != 1 {
				t.Errorf("actions %q writes %v", r.ops, r.writes)
			}
		},
	}, {
		name: "restartPolicy OnFailure: restarts reaching backoffLimit fail the Job",
		req: request{job: newJob(started(time.Minute), withSpec(obj{"backoffLimit": 2.0}), func(j obj) {
			spec(j)["template"].(obj)["spec"].(obj)["restartPolicy"] = "OnFailure"
		}), children: []obj{pod("a", func(p obj) {
			status(p)["containerStatuses"] = []any{obj{"name": "main", "restartCount": 2.0}}
		})}},
		check: func(t *testing.T, r result) {
			if got := conds(r.last(t)); len(got) == 0 || got[0] != "FailureTarget=True/BackoffLimitExceeded" {
				t.Errorf("conditions %q", got)
			}
		},
	}, {
		name: "more successes than completions: TooManySucceededPods before Completed",
		req: request{job: newJob(parallelism(2), started(time.Minute)), children: []obj{
			pod("a", finished("Succeeded", time.Second, 0)), pod("b", finished("Succeeded", time.Second, 0)),
		}},
		check: func(t *testing.T, r result) {
			want := []string{"Warning TooManySucceededPods Too many succeeded pods running after completion count reached (after)", "Normal Completed Job completed (after)"}
			if !slices.Equal(r.events, want) || num(r.last(t), "succeeded") != 2 {
				t.Errorf("events %q", r.events)
			}
		},
	}, {
		name: "maxFailedIndexes exceeded fails the Job",
		req: request{job: newJob(indexed, completions(4), parallelism(4), started(time.Minute), withSpec(obj{"backoffLimitPerIndex": 0.0, "maxFailedIndexes": 0.0, "backoffLimit": 2147483647.0})), children: []obj{
			pod("a0", index(0), annotate(job.IndexFailureCountAnnotation, "0"), finished("Failed", time.Second, 1)),
			pod("b1", index(1), annotate(job.IndexFailureCountAnnotation, "0")),
		}},
		check: func(t *testing.T, r result) {
			if got := conds(r.writes[0]); !slices.Equal(got, []string{"FailureTarget=True/MaxFailedIndexesExceeded"}) || r.writes[0]["failedIndexes"] != "0" {
				t.Errorf("write 1 %v", r.writes[0])
			}
			if r.count("delete b1") != 1 {
				t.Errorf("actions %q", r.ops)
			}
		},
	}, {
		name: "at most 500 finished pods are taken per call, and the call asks to be repeated",
		req: func() request {
			var pods []obj
			for i := range 600 {
				pods = append(pods, pod(fmt.Sprintf("p%03d", i), finished("Succeeded", time.Second, 0)))
			}
			return request{job: newJob(parallelism(600), completions(600), started(time.Minute)), children: pods}
		}(),
		check: func(t *testing.T, r result) {
			st := r.last(t)
			if r.count("patch") != 500 || num(st, "succeeded") != 500 || len(conds(st)) != 1 || r.requeue != 1 {
				t.Errorf("%d patches, status succeeded %v conditions %q, requeue %v", r.count("patch"), st["succeeded"], conds(st), r.requeue)
			}
		},
	}, {
		name: "completions 0 completes at once, even suspended",
		req:  request{job: newJob(completions(0), parallelism(0), suspended)},
		check: func(t *testing.T, r result) {
			st := r.last(t)
			if got := conds(st); !slices.Equal(got, []string{"SuccessCriteriaMet=True/CompletionsReached", "Complete=True/CompletionsReached"}) || st["startTime"] != nil {
				t.Errorf("status %v", st)
			}
		},
	}, {
		name: "a Job managed by another controller is left alone",
		req:  request{job: newJob(withSpec(obj{"managedBy": "example.com/other"})), children: []obj{pod("a", finished("Succeeded", time.Second, 0))}},
		check: func(t *testing.T, r result) {
			if len(r.ops)+len(r.events) != 0 {
				t.Errorf("actions %q events %q", r.ops, r.events)
			}
		},
	}, {
		name: "a finished Job only loses the finalizers left on its pods",
		req: request{job: newJob(withStatus(obj{"conditions": []any{obj{"type": "Complete", "status": "True"}}})), children: []obj{
			pod("a", finished("Succeeded", time.Second, 0)), pod("b", finished("Succeeded", time.Second, 0), noFinalizer),
		}},
		check: func(t *testing.T, r result) {
			if want := []string{"patch a"}; !slices.Equal(r.ops, want) {
				t.Errorf("actions %q, want %q", r.ops, want)
			}
		},
	}, {
		name: "unknown completion mode: a Warning and nothing else",
		req:  request{job: newJob(withSpec(obj{"completionMode": "Sideways"}))},
		check: func(t *testing.T, r result) {
			if len(r.ops) != 0 || !slices.Equal(r.events, []string{"Warning UnknownCompletionMode Skipped Job sync because completion mode is unknown"}) {
				t.Errorf("actions %q events %q", r.ops, r.events)
			}
		},
	}, {
		name: "adoption adds the finalizer; an adopted finished orphan is counted in the same call",
		req: request{job: newJob(completions(2), started(time.Minute)), orphans: []obj{pod("o", orphan, finished("Succeeded", time.Second, 0), noFinalizer)},
			children: []obj{pod("a")}},
		check: func(t *testing.T, r result) {
			if want := `{"metadata":{"ownerReferences":[{"apiVersion":"batch/v1","kind":"Job","name":"pi","uid":"job-uid","controller":true,"blockOwnerDeletion":true}],"uid":"uid-o","finalizers":["batch.kubernetes.io/job-tracking"]}}`; r.patches["o"][0] != want {
				t.Errorf("adoption patch %s", r.patches["o"][0])
			}
			if len(r.writes) != 2 || uncounted(r.writes[0]) != `{"succeeded":["uid-o"]}` || num(r.last(t), "succeeded") != 1 {
				t.Errorf("actions %q", r.ops)
			}
		},
	}, {
		name: "release: an owned pod that no longer matches loses the reference and the finalizer",
		req:  request{job: newJob(started(time.Minute)), children: []obj{pod("x", podLabels(obj{"other": "1"})), pod("a")}},
		check: func(t *testing.T, r result) {
			if want := `{"metadata":{"uid":"uid-x","ownerReferences":[{"$patch":"delete","uid":"job-uid"}],"$deleteFromPrimitiveList/finalizers":["batch.kubernetes.io/job-tracking"]}}`; len(r.patches["x"]) != 1 || r.patches["x"][0] != want {
				t.Errorf("release patch %q", r.patches["x"])
			}
		},
	}, {
		name: "Indexed: pods per pending index with hostname, index label, annotation and env",
		req:  request{job: newJob(indexed, completions(3), parallelism(2))},
		check: func(t *testing.T, r result) {
			if want := []string{"create pi-0-", "create pi-1-", "updateStatus"}; !slices.Equal(r.ops, want) {
				t.Fatalf("actions %q, want %q", r.ops, want)
			}
			p := r.created[1]
			if spec(p)["hostname"] != "pi-1" || md(p)["labels"].(obj)[job.CompletionIndexAnnotation] != "1" || md(p)["annotations"].(obj)[job.CompletionIndexAnnotation] != "1" {
				t.Errorf("pod %v", p)
			}
			env := spec(p)["containers"].([]any)[0].(obj)["env"].([]any)[0].(obj)
			if env["name"] != "JOB_COMPLETION_INDEX" || fmt.Sprint(env["valueFrom"]) != "map[fieldRef:map[fieldPath:metadata.labels['batch.kubernetes.io/job-completion-index']]]" {
				t.Errorf("env %v", env)
			}
		},
	}, {
		name: "Indexed: completedIndexes intervals; two in a row are a,b",
		req: request{job: newJob(indexed, completions(8), parallelism(1), started(time.Minute), withStatus(obj{"completedIndexes": "1", "succeeded": 1.0})), children: []obj{
			pod("p2", index(2), finished("Succeeded", time.Second, 0)), pod("p4", index(4), finished("Succeeded", time.Second, 0)),
			pod("p5", index(5), finished("Succeeded", time.Second, 0)), pod("p6", index(6), finished("Succeeded", time.Second, 0)), pod("p7", index(7)),
		}},
		check: func(t *testing.T, r result) {
			st := r.writes[0]
			if st["completedIndexes"] != "1,2,4-6" || num(st, "succeeded") != 5 || uncounted(st) != "{}" {
				t.Errorf("status %v", st)
			}
		},
	}, {
		name: "Indexed: duplicate and out-of-range pods are deleted, and nothing is created in that call",
		req: request{job: newJob(indexed, completions(3), parallelism(3), started(time.Minute)), children: []obj{
			pod("a0", index(0)), pod("b0", index(0), readyPod), pod("c9", index(9)), pod("none"),
		}},
		check: func(t *testing.T, r result) {
			if r.count("create") != 0 {
				t.Errorf("created while deleting: %q", r.ops)
			}
			var del []string
			for _, op := range r.ops {
				if n, ok := strings.CutPrefix(op, "delete "); ok {
					del = append(del, n)
				}
			}
			slices.Sort(del)
			if !slices.Equal(del, []string{"a0", "c9", "none"}) {
				t.Errorf("deleted %q, want the less advanced duplicate, the out-of-range and the index-less pod", del)
			}
		},
	}, {
		name: "podFailurePolicy FailJob on an exit code",
		req: request{job: newJob(started(time.Minute), withSpec(obj{"podReplacementPolicy": "Failed", "podFailurePolicy": obj{"rules": []any{
			obj{"action": "FailJob", "onExitCodes": obj{"operator": "In", "values": []any{42.0}}},
		}}})), children: []obj{pod("a", finished("Failed", time.Second, 42))}},
		check: func(t *testing.T, r result) {
			cs := r.writes[0]["conditions"].([]any)
			c := cs[0].(obj)
			if c["type"] != "FailureTarget" || c["reason"] != "PodFailurePolicy" || c["message"] != "Container main for pod ns/a failed with exit code 42 matching FailJob rule at index 0" {
				t.Errorf("condition %v", c)
			}
			if got := conds(r.last(t)); !slices.Equal(got, []string{"FailureTarget=True/PodFailurePolicy", "Failed=True/PodFailurePolicy"}) {
				t.Errorf("conditions %q", got)
			}
		},
	}, {
		name: "podFailurePolicy Ignore on DisruptionTarget: not counted, finalizer removed, replaced",
		req: request{job: newJob(started(time.Minute), withSpec(obj{"backoffLimit": 0.0, "podReplacementPolicy": "Failed", "podFailurePolicy": obj{"rules": []any{
			obj{"action": "Ignore", "onPodConditions": []any{obj{"type": "DisruptionTarget", "status": "True"}}},
		}}})), children: []obj{pod("a", finished("Failed", time.Minute, 137), condition("DisruptionTarget", "True"))}},
		check: func(t *testing.T, r result) {
			st := r.last(t)
			if num(st, "failed") != 0 || len(conds(st)) != 0 || r.count("patch a") != 1 || r.count("create") != 1 {
				t.Errorf("actions %q status %v", r.ops, st)
			}
		},
	}, {
		name: "backoffLimitPerIndex: the failed pod keeps its finalizer until its replacement carries the count",
		req: request{job: newJob(indexed, completions(2), parallelism(2), started(time.Minute), withSpec(obj{"backoffLimitPerIndex": 1.0, "backoffLimit": 2147483647.0})), children: []obj{
			pod("a0", index(0), annotate(job.IndexFailureCountAnnotation, "0"), finished("Failed", time.Minute, 1)), pod("b1", index(1), annotate(job.IndexFailureCountAnnotation, "0")),
		}},
		check: func(t *testing.T, r result) {
			if r.patches["a0"] != nil {
				t.Errorf("the delayed pod lost its finalizer: %q", r.ops)
			}
			if len(r.created) != 1 || md(r.created[0])["annotations"].(obj)[job.IndexFailureCountAnnotation] != "1" || md(r.created[0])["generateName"] != "pi-0-" {
				t.Fatalf("created %v", r.created)
			}
			if st := r.last(t); st["failedIndexes"] != "" {
				t.Errorf("failedIndexes %v, want \"\"", st["failedIndexes"])
			}
		},
	}, {
		name: "successPolicy: SuccessCriteriaMet, the rest deleted, Complete once they are gone",
		req: request{job: newJob(indexed, completions(3), parallelism(3), started(time.Minute), withSpec(obj{"successPolicy": obj{"rules": []any{obj{"succeededIndexes": "0"}}}})), children: []obj{
			pod("a0", index(0), finished("Succeeded", time.Second, 0)), pod("b1", index(1)), pod("c2", index(2)),
		}},
		check: func(t *testing.T, r result) {
			if r.count("delete") != 2 {
				t.Errorf("actions %q", r.ops)
			}
			c := r.writes[0]["conditions"].([]any)[0].(obj)
			if c["type"] != "SuccessCriteriaMet" || c["reason"] != "SuccessPolicy" || c["message"] != "Matched rules at index 0" {
				t.Errorf("condition %v", c)
			}
			if got := conds(r.last(t)); slices.Contains(got, "Complete=True/SuccessPolicy") {
				t.Error("Complete while pods terminate")
			}
		},
	}}
	for name, reconcile := range reconcilers(t) {
		t.Run(name, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					resp, err := reconcile(tc.req.JSON(t))
					if err != nil {
						t.Fatal(err)
					}
					tc.check(t, summarise(t, resp))
				})
			}
		})
	}
}

// TestInvalidJob: what the plugin cannot evaluate fails the call (the host
// records a Warning and retries with backoff) and writes nothing.
func TestInvalidJob(t *testing.T) {
	for name, reconcile := range reconcilers(t) {
		t.Run(name, func(t *testing.T) {
			for _, j := range []obj{
				newJob(indexed, func(j obj) { delete(spec(j), "completions") }),
				newJob(withSpec(obj{"selector": obj{"matchExpressions": []any{obj{"key": "a", "operator": "Bogus"}}}})),
				newJob(withSpec(obj{"podFailurePolicy": obj{"rules": []any{obj{"action": "FailJob"}}}})),
			} {
				if resp, err := reconcile(request{job: j}.JSON(t)); err == nil || !strings.Contains(err.Error(), "invalid Job ns/pi") {
					t.Errorf("err %v, resp %+v", err, resp)
				}
			}
		})
	}
}
