package cronjob_test

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/host/plugintest"
	"wasmctl.dev/wasmctl/plugins/cronjob"
)

// base is the creation time of every test CronJob.
var base = time.Date(2026, 11, 25, 10, 0, 30, 0, time.UTC)

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func cronJobObj(schedule string, mutate ...func(cj, spec, status map[string]any)) map[string]any {
	spec := map[string]any{
		"schedule": schedule, "concurrencyPolicy": "Allow",
		"jobTemplate": map[string]any{
			"metadata": map[string]any{"labels": map[string]any{"l": "v"}, "annotations": map[string]any{"a": "b"}},
			"spec":     map[string]any{"template": map[string]any{"spec": map[string]any{"restartPolicy": "Never"}}},
		},
	}
	status := map[string]any{}
	cj := map[string]any{
		"apiVersion": "batch/v1", "kind": "CronJob",
		"metadata": map[string]any{"name": "cj", "namespace": "ns", "uid": "cj-uid", "resourceVersion": "5", "creationTimestamp": ts(base)},
		"spec":     spec, "status": status,
	}
	for _, m := range mutate {
		m(cj, spec, status)
	}
	return cj
}

type jobOpt func(map[string]any)

func job(name string, opts ...jobOpt) map[string]any {
	j := map[string]any{
		"apiVersion": "batch/v1", "kind": "Job",
		"metadata": map[string]any{"name": name, "namespace": "ns", "uid": "uid-" + name, "resourceVersion": "7",
			"ownerReferences": []any{map[string]any{"apiVersion": "batch/v1", "kind": "CronJob", "name": "cj", "uid": "cj-uid", "controller": true}}},
		"status": map[string]any{},
	}
	for _, o := range opts {
		o(j)
	}
	return j
}

func cond(typ string) jobOpt {
	return func(j map[string]any) {
		st := j["status"].(map[string]any)
		conds, _ := st["conditions"].([]any)
		st["conditions"] = append(conds, map[string]any{"type": typ, "status": "True"})
	}
}
func started(t time.Time) jobOpt {
	return func(j map[string]any) { j["status"].(map[string]any)["startTime"] = ts(t) }
}
func completed(t time.Time) jobOpt {
	return func(j map[string]any) { j["status"].(map[string]any)["completionTime"] = ts(t) }
}

func active(names ...string) func(cj, spec, status map[string]any) {
	return func(_, _, status map[string]any) {
		var refs []any
		for _, n := range names {
			refs = append(refs, map[string]any{"kind": "Job", "apiVersion": "batch/v1", "name": n, "namespace": "ns", "uid": "uid-" + n})
		}
		status["active"] = refs
	}
}
func lastScheduled(t time.Time) func(cj, spec, status map[string]any) {
	return func(_, _, status map[string]any) { status["lastScheduleTime"] = ts(t) }
}
func set(key string, v any) func(cj, spec, status map[string]any) {
	return func(_, spec, _ map[string]any) { spec[key] = v }
}

func jobNameAt(t time.Time) string { return fmt.Sprintf("cj-%d", t.Unix()/60) }

type request struct {
	cj        map[string]any
	jobs      []map[string]any
	now       time.Time
	lastError *abi.ApplyError
}

func (r request) JSON(t testing.TB) []byte {
	obj, _ := json.Marshal(r.cj)
	var kids []json.RawMessage
	for _, j := range r.jobs {
		b, _ := json.Marshal(j)
		kids = append(kids, b)
	}
	b, err := json.Marshal(abi.ReconcileRequest{
		APIVersion: abi.Version, Kind: abi.KindReconcileRequest, Now: r.now.Format(time.RFC3339Nano),
		Object: obj, Children: kids, LastError: r.lastError, Config: json.RawMessage("{}"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type result struct {
	created  []map[string]any
	deleted  []string
	policies []string
	status   map[string]any // nil: no write
	events   []string       // "Type Reason"
	messages []string
	requeue  float64
}

func summarise(t *testing.T, resp *abi.ReconcileResponse) result {
	t.Helper()
	r := result{requeue: resp.RequeueAfterSeconds}
	for _, a := range resp.Actions {
		var obj map[string]any
		if err := json.Unmarshal(a.Object, &obj); err != nil {
			t.Fatal(err)
		}
		md := obj["metadata"].(map[string]any)
		switch a.Op {
		case abi.OpCreate:
			r.created = append(r.created, obj)
		case abi.OpDelete:
			r.deleted = append(r.deleted, md["name"].(string))
			r.policies = append(r.policies, a.PropagationPolicy)
		case abi.OpUpdateStatus:
			r.status = obj["status"].(map[string]any)
		default:
			t.Fatalf("unexpected op %s", a.Op)
		}
	}
	for _, e := range resp.Events {
		r.events = append(r.events, string(e.Type)+" "+e.Reason)
		r.messages = append(r.messages, e.Message)
	}
	return r
}

func (r result) hasEvent(s string) bool {
	for _, e := range r.events {
		if e == s {
			return true
		}
	}
	return false
}

func names(objs []map[string]any) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o["metadata"].(map[string]any)["name"].(string))
	}
	return out
}

func reconcilers(t *testing.T) map[string]func([]byte) (*abi.ReconcileResponse, error) {
	native := func(in []byte) (*abi.ReconcileResponse, error) {
		var req abi.ReconcileRequest
		if err := json.Unmarshal(in, &req); err != nil {
			return nil, err
		}
		return cronjob.Reconcile(&req)
	}
	return map[string]func([]byte) (*abi.ReconcileResponse, error){
		"native": native,
		"wasm":   plugintest.Shared(t, "./cmd").Reconcile,
	}
}

func near(t *testing.T, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 0.0005 {
		t.Fatalf("requeue %.4fs, want %.4fs", got, want)
	}
}

func TestReconcile(t *testing.T) {
	t1000 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		req   request
		check func(t *testing.T, r result)
	}{
		{"before the first schedule: requeue at the next minute + 100ms",
			request{cj: cronJobObj("*/1 * * * *"), now: base.Add(20 * time.Second)},
			func(t *testing.T, r result) {
				if len(r.created) != 0 || r.status != nil {
					t.Fatalf("acted: %+v", r)
				}
				near(t, r.requeue, 10.1)
			}},
		{"a due schedule creates the job with upstream's name, annotation, labels and owner",
			request{cj: cronJobObj("*/1 * * * *"), now: base.Add(45 * time.Second)},
			func(t *testing.T, r result) {
				sched := t1000.Add(time.Minute)
				if fmt.Sprint(names(r.created)) != "["+jobNameAt(sched)+"]" {
					t.Fatalf("created %v", names(r.created))
				}
				md := r.created[0]["metadata"].(map[string]any)
				ann := md["annotations"].(map[string]any)
				if ann[cronjob.ScheduledTimestampAnnotation] != "2026-11-25T10:01:00Z" || ann["a"] != "b" {
					t.Fatalf("annotations %v", ann)
				}
				if md["labels"].(map[string]any)["l"] != "v" {
					t.Fatalf("labels %v", md["labels"])
				}
				ref := md["ownerReferences"].([]any)[0].(map[string]any)
				if ref["kind"] != "CronJob" || ref["uid"] != "cj-uid" || ref["controller"] != true || ref["blockOwnerDeletion"] != true {
					t.Fatalf("owner %v", ref)
				}
				if r.status["lastScheduleTime"] != "2026-11-25T10:01:00Z" {
					t.Fatalf("status %v", r.status)
				}
				near(t, r.requeue, 45.1) // 10:02:00.1 - 10:01:15
			}},
		{"only the most recent missed time runs",
			request{cj: cronJobObj("*/5 * * * *", lastScheduled(t1000.Add(-time.Hour))), now: t1000.Add(7 * time.Minute)},
			func(t *testing.T, r result) {
				if fmt.Sprint(names(r.created)) != "["+jobNameAt(t1000.Add(5*time.Minute))+"]" {
					t.Fatalf("created %v", names(r.created))
				}
				if r.hasEvent("Warning TooManyMissedTimes") {
					t.Fatal("12 missed times is not too many")
				}
			}},
		{"more than 100 missed warns and still runs the latest",
			request{cj: cronJobObj("*/1 * * * *", lastScheduled(t1000.Add(-3*time.Hour))), now: t1000.Add(30 * time.Second)},
			func(t *testing.T, r result) {
				if !r.hasEvent("Warning TooManyMissedTimes") || fmt.Sprint(names(r.created)) != "["+jobNameAt(t1000)+"]" {
					t.Fatalf("events %v created %v", r.events, names(r.created))
				}
			}},
		{"startingDeadlineSeconds clamps the search: a time missed long ago is skipped",
			request{cj: cronJobObj("0 * * * *", lastScheduled(t1000.Add(-time.Hour)), set("startingDeadlineSeconds", 10)), now: t1000.Add(30 * time.Second)},
			func(t *testing.T, r result) {
				if len(r.created) != 0 {
					t.Fatalf("created %v", names(r.created))
				}
				near(t, r.requeue, 3570.1) // requeue ignores the deadline: next is 11:00
			}},
		{"Forbid with an active job starts nothing",
			request{cj: cronJobObj("*/1 * * * *", set("concurrencyPolicy", "Forbid"), active("old"), lastScheduled(t1000)),
				jobs: []map[string]any{job("old")}, now: t1000.Add(70 * time.Second)},
			func(t *testing.T, r result) {
				if len(r.created) != 0 || !r.hasEvent("Normal JobAlreadyActive") {
					t.Fatalf("created %v events %v", names(r.created), r.events)
				}
			}},
		{"Replace deletes the active job in the background and starts the new one",
			request{cj: cronJobObj("*/1 * * * *", set("concurrencyPolicy", "Replace"), active("old"), lastScheduled(t1000)),
				jobs: []map[string]any{job("old")}, now: t1000.Add(70 * time.Second)},
			func(t *testing.T, r result) {
				if fmt.Sprint(r.deleted, r.policies) != "[old] [Background]" || len(r.created) != 1 {
					t.Fatalf("deleted %v %v created %v", r.deleted, r.policies, names(r.created))
				}
				if _, ok := r.status["active"]; ok {
					t.Fatalf("active %v, want the replaced job removed", r.status["active"])
				}
			}},
		{"Allow starts alongside an active job",
			request{cj: cronJobObj("*/1 * * * *", active("old"), lastScheduled(t1000)), jobs: []map[string]any{job("old")}, now: t1000.Add(70 * time.Second)},
			func(t *testing.T, r result) {
				if len(r.created) != 1 || len(r.deleted) != 0 {
					t.Fatalf("created %v deleted %v", names(r.created), r.deleted)
				}
			}},
		{"suspended: no job, no requeue",
			request{cj: cronJobObj("*/1 * * * *", set("suspend", true)), now: base.Add(time.Hour)},
			func(t *testing.T, r result) {
				if len(r.created) != 0 || r.requeue != 0 {
					t.Fatalf("created %v requeue %v", names(r.created), r.requeue)
				}
			}},
		{"an unknown time zone warns and stops, no requeue",
			request{cj: cronJobObj("*/1 * * * *", set("timeZone", "Mars/Olympus")), now: base.Add(time.Hour)},
			func(t *testing.T, r result) {
				if !r.hasEvent("Warning UnknownTimeZone") || len(r.created) != 0 || r.requeue != 0 {
					t.Fatalf("%+v", r)
				}
			}},
		{"an unparseable schedule warns and stops, no requeue",
			request{cj: cronJobObj("61 * * * *"), now: base.Add(time.Hour)},
			func(t *testing.T, r result) {
				if !r.hasEvent("Warning UnparseableSchedule") || r.requeue != 0 {
					t.Fatalf("%+v", r)
				}
			}},
		{"day of week 7 is rejected",
			request{cj: cronJobObj("0 0 * * 7"), now: base.Add(time.Hour)},
			func(t *testing.T, r result) {
				if !r.hasEvent("Warning UnparseableSchedule") {
					t.Fatalf("%v", r.events)
				}
			}},
		{"a TZ prefix without a space panics in the parser and is recovered",
			request{cj: cronJobObj("TZ=0"), now: base.Add(time.Hour)},
			func(t *testing.T, r result) {
				if !r.hasEvent("Warning UnsupportedSchedule") || !r.hasEvent("Warning UnparseableSchedule") {
					t.Fatalf("%v", r.events)
				}
			}},
		{"a schedule that never fires is an invalid schedule",
			request{cj: cronJobObj("59 23 31 2 *"), now: base.Add(time.Hour)},
			func(t *testing.T, r result) {
				if !r.hasEvent("Warning InvalidSchedule") || r.requeue != 0 {
					t.Fatalf("%+v", r)
				}
			}},
		{"TZ in the schedule wins and warns; the annotation stays UTC",
			request{cj: cronJobObj("TZ=Asia/Tokyo 0 19 * * *", set("timeZone", "Europe/Rome"), lastScheduled(t1000.Add(-24*time.Hour))), now: t1000.Add(30 * time.Second)},
			func(t *testing.T, r result) {
				// 19:00 Tokyo = 10:00 UTC.
				if !r.hasEvent("Warning UnsupportedSchedule") || len(r.created) != 1 {
					t.Fatalf("%+v", r)
				}
				ann := r.created[0]["metadata"].(map[string]any)["annotations"].(map[string]any)
				if ann[cronjob.ScheduledTimestampAnnotation] != "2026-11-25T11:00:00+01:00" {
					t.Fatalf("annotation %v (spec.timeZone decides its zone)", ann[cronjob.ScheduledTimestampAnnotation])
				}
			}},
		{"spec.timeZone schedules in that zone and stamps the annotation with its offset",
			request{cj: cronJobObj("0 11 * * *", set("timeZone", "Europe/Rome"), lastScheduled(t1000.Add(-24*time.Hour))), now: t1000.Add(30 * time.Second)},
			func(t *testing.T, r result) {
				if len(r.created) != 1 || names(r.created)[0] != jobNameAt(t1000) {
					t.Fatalf("created %v", names(r.created))
				}
				ann := r.created[0]["metadata"].(map[string]any)["annotations"].(map[string]any)
				if ann[cronjob.ScheduledTimestampAnnotation] != "2026-11-25T11:00:00+01:00" {
					t.Fatalf("annotation %v", ann[cronjob.ScheduledTimestampAnnotation])
				}
			}},
		{"@every is supported",
			request{cj: cronJobObj("@every 1h"), now: base.Add(61 * time.Minute)},
			func(t *testing.T, r result) {
				if fmt.Sprint(names(r.created)) != "["+jobNameAt(base.Add(time.Hour))+"]" {
					t.Fatalf("created %v", names(r.created))
				}
			}},
		{"history limits delete the oldest finished jobs by start time, nil last, name tie-break",
			request{cj: cronJobObj("*/1 * * * *", set("successfulJobsHistoryLimit", 1), set("failedJobsHistoryLimit", 0), lastScheduled(t1000), set("suspend", true)),
				jobs: []map[string]any{
					job("s-new", cond("Complete"), started(t1000)),
					job("s-nil", cond("Complete")),
					job("s-old", cond("Complete"), started(t1000.Add(-time.Hour))),
					job("s-old2", cond("Complete"), started(t1000.Add(-time.Hour))),
					job("f1", cond("Failed"), started(t1000)),
					job("running"),
				}, now: t1000.Add(10 * time.Second)},
			func(t *testing.T, r result) {
				if fmt.Sprint(r.deleted) != "[s-old s-old2 s-new f1]" {
					t.Fatalf("deleted %v", r.deleted)
				}
			}},
		{"a finished active job leaves active; lastSuccessfulTime is the latest completion",
			request{cj: cronJobObj("*/1 * * * *", active("a", "b"), lastScheduled(t1000), set("suspend", true)),
				jobs: []map[string]any{
					job("a", cond("Complete"), completed(t1000.Add(-time.Minute))),
					job("b", cond("Failed")),
					job("c", cond("Complete"), completed(t1000.Add(-2*time.Minute))),
				}, now: t1000.Add(10 * time.Second)},
			func(t *testing.T, r result) {
				if _, ok := r.status["active"]; ok || r.status["lastSuccessfulTime"] != ts(t1000.Add(-time.Minute)) {
					t.Fatalf("status %v", r.status)
				}
				if strings.Count(strings.Join(r.events, ","), "Normal SawCompletedJob") != 2 {
					t.Fatalf("events %v", r.events)
				}
			}},
		{"an active job that is gone is removed",
			request{cj: cronJobObj("*/1 * * * *", active("gone"), lastScheduled(t1000), set("suspend", true)), now: t1000.Add(10 * time.Second)},
			func(t *testing.T, r result) {
				if !r.hasEvent("Normal MissingJob") || r.status == nil {
					t.Fatalf("%+v", r)
				}
			}},
		{"an unfinished job the controller did not create is reported, not adopted",
			request{cj: cronJobObj("*/1 * * * *", lastScheduled(t1000), set("suspend", true)), jobs: []map[string]any{job("manual")}, now: t1000.Add(10 * time.Second)},
			func(t *testing.T, r result) {
				if !r.hasEvent("Warning UnexpectedJob") || r.status != nil {
					t.Fatalf("%+v", r)
				}
			}},
		{"the job created by the previous call joins active with its uid",
			request{cj: cronJobObj("*/1 * * * *", lastScheduled(t1000)), jobs: []map[string]any{job(jobNameAt(t1000))}, now: t1000.Add(2 * time.Second)},
			func(t *testing.T, r result) {
				refs, _ := r.status["active"].([]any)
				if len(refs) != 1 || refs[0].(map[string]any)["uid"] != "uid-"+jobNameAt(t1000) || r.hasEvent("Warning UnexpectedJob") || len(r.created) != 0 {
					t.Fatalf("%+v", r)
				}
				near(t, r.requeue, 58.1)
			}},
		{"a job already holding the schedule's name is taken into active without a create",
			request{cj: cronJobObj("*/1 * * * *", lastScheduled(t1000.Add(-time.Minute))), jobs: []map[string]any{job(jobNameAt(t1000))}, now: t1000.Add(2 * time.Second)},
			func(t *testing.T, r result) {
				if len(r.created) != 0 || r.status["lastScheduleTime"] != ts(t1000) || len(r.status["active"].([]any)) != 1 {
					t.Fatalf("%+v", r)
				}
			}},
		{"a foreign job holding the name (AlreadyExists) stops without requeue",
			request{cj: cronJobObj("*/1 * * * *", lastScheduled(t1000.Add(-time.Minute))), now: t1000.Add(2 * time.Second),
				lastError: &abi.ApplyError{Op: abi.OpCreate, Kind: "Job", Name: jobNameAt(t1000), Reason: "AlreadyExists"}},
			func(t *testing.T, r result) {
				if len(r.created) != 0 || r.requeue != 0 {
					t.Fatalf("%+v", r)
				}
			}},
		{"a CronJob being deleted only maintains status",
			request{cj: cronJobObj("*/1 * * * *", func(cj, _, _ map[string]any) {
				cj["metadata"].(map[string]any)["deletionTimestamp"] = ts(t1000)
			}), now: t1000.Add(5 * time.Minute)},
			func(t *testing.T, r result) {
				if len(r.created) != 0 || r.requeue != 0 {
					t.Fatalf("%+v", r)
				}
			}},
		{"already processed (lastScheduleTime equals the due time): requeue only",
			request{cj: cronJobObj("*/1 * * * *", lastScheduled(t1000)), now: t1000.Add(30 * time.Second)},
			func(t *testing.T, r result) {
				if len(r.created) != 0 || r.status != nil {
					t.Fatalf("%+v", r)
				}
				near(t, r.requeue, 30.1)
			}},
	}
	for impl, reconcile := range reconcilers(t) {
		for _, tc := range cases {
			t.Run(impl+"/"+tc.name, func(t *testing.T) {
				resp, err := reconcile(tc.req.JSON(t))
				if err != nil {
					t.Fatal(err)
				}
				tc.check(t, summarise(t, resp))
			})
		}
	}
}
