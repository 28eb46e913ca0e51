package controller_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/abi/sdk/controller"
	"wasmctl.dev/wasmctl/abi/sdk/meta"
)

var (
	now   = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	owner = abi.ObjectRef{APIVersion: "apps/v1", Kind: "ReplicaSet", Namespace: "ns", Name: "web", UID: "rs-1"}
	pod   = abi.ObjectRef{APIVersion: "v1", Kind: "Pod", Namespace: "ns", Name: "web-a", UID: "pod-1"}
)

// The expected bytes are json.Marshal of upstream's structs
// (pkg/controller/controller_ref_manager.go, v1.37): objectForAddOwnerRefPatch
// and objectForDeleteOwnerRefStrategicMergePatch.
func TestPatches(t *testing.T) {
	cases := []struct {
		name string
		got  []byte
		want string
	}{
		{"adopt", controller.AdoptPatch(owner, "pod-1"),
			`{"metadata":{"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web","uid":"rs-1","controller":true,"blockOwnerDeletion":true}],"uid":"pod-1"}}`},
		{"adopt with a finalizer (Job)", controller.AdoptPatch(abi.ObjectRef{APIVersion: "batch/v1", Kind: "Job", Name: "j", UID: "j-1"}, "pod-1", "batch.kubernetes.io/job-tracking"),
			`{"metadata":{"ownerReferences":[{"apiVersion":"batch/v1","kind":"Job","name":"j","uid":"j-1","controller":true,"blockOwnerDeletion":true}],"uid":"pod-1","finalizers":["batch.kubernetes.io/job-tracking"]}}`},
		{"release", controller.ReleasePatch("rs-1", "pod-1"),
			`{"metadata":{"uid":"pod-1","ownerReferences":[{"$patch":"delete","uid":"rs-1"}]}}`},
		{"release with a finalizer (Job)", controller.ReleasePatch("j-1", "pod-1", "batch.kubernetes.io/job-tracking"),
			`{"metadata":{"uid":"pod-1","ownerReferences":[{"$patch":"delete","uid":"j-1"}],"$deleteFromPrimitiveList/finalizers":["batch.kubernetes.io/job-tracking"]}}`},
		{"escaping as encoding/json", controller.ReleasePatch("<&>", `"`),
			`{"metadata":{"uid":"\"","ownerReferences":[{"$patch":"delete","uid":"\u003c\u0026\u003e"}]}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if string(c.got) != c.want {
				t.Fatalf("got  %s\nwant %s", c.got, c.want)
			}
		})
	}
}

func TestAddAdoptRelease(t *testing.T) {
	resp := abi.NewResponse()
	if err := controller.AddAdopt(resp, owner, pod); err != nil {
		t.Fatal(err)
	}
	if err := controller.AddRelease(resp, owner, pod); err != nil {
		t.Fatal(err)
	}
	wantObject := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-a","namespace":"ns"}}`
	for i, want := range []string{string(controller.AdoptPatch(owner, "pod-1")), string(controller.ReleasePatch("rs-1", "pod-1"))} {
		a := resp.Actions[i]
		if a.Op != abi.OpPatch || a.PatchType != abi.PatchStrategic || string(a.Patch) != want || string(a.Object) != wantObject {
			t.Fatalf("action %d: %+v (object %s, patch %s)", i, a, a.Object, a.Patch)
		}
	}
}

func TestPodPredicates(t *testing.T) {
	cases := []struct {
		phase                         string
		deleting                      bool
		active, terminal, terminating bool
	}{
		{"", false, true, false, false},
		{controller.PodPending, false, true, false, false},
		{controller.PodRunning, false, true, false, false},
		{controller.PodUnknown, false, true, false, false},
		{controller.PodRunning, true, false, false, true},
		{controller.PodSucceeded, false, false, true, false},
		{controller.PodSucceeded, true, false, true, false},
		{controller.PodFailed, false, false, true, false},
		{controller.PodFailed, true, false, true, false},
	}
	for _, c := range cases {
		name := c.phase
		if c.deleting {
			name += " deleting"
		}
		t.Run(name, func(t *testing.T) {
			p := controller.Pod{Status: controller.PodStatus{Phase: c.phase}}
			if c.deleting {
				p.Metadata.DeletionTimestamp = &meta.Time{Time: now}
			}
			if p.IsActive() != c.active || controller.IsPodActive(c.phase, c.deleting) != c.active {
				t.Errorf("active: want %v", c.active)
			}
			if p.IsTerminal() != c.terminal || controller.IsPodTerminal(c.phase) != c.terminal {
				t.Errorf("terminal: want %v", c.terminal)
			}
			if p.IsTerminating() != c.terminating || controller.IsPodTerminating(c.phase, c.deleting) != c.terminating {
				t.Errorf("terminating: want %v", c.terminating)
			}
		})
	}
}

func TestPodAvailability(t *testing.T) {
	readyAt := func(status string, ago time.Duration) []controller.PodCondition {
		return []controller.PodCondition{
			{Type: "PodScheduled", Status: "True"},
			{Type: controller.PodReady, Status: status, LastTransitionTime: meta.NewTime(now.Add(-ago))},
			{Type: controller.PodReady, Status: "True"}, // only the first counts
		}
	}
	cases := []struct {
		name       string
		conditions []controller.PodCondition
		minReady   int32
		ready      bool
		available  bool
		next       time.Duration // 0: none
	}{
		{"no conditions", nil, 0, false, false, 0},
		{"not ready", readyAt("False", time.Hour), 0, false, false, 0},
		{"ready, minReadySeconds 0", readyAt("True", 0), 0, true, true, 0},
		{"ready long enough", readyAt("True", 10*time.Second), 10, true, true, 0},
		{"ready not long enough", readyAt("True", 4*time.Second), 10, true, false, 6 * time.Second},
		{"ready without a time", []controller.PodCondition{{Type: controller.PodReady, Status: "True"}}, 10, true, false, 0},
		{"ready without a time, minReadySeconds 0", []controller.PodCondition{{Type: controller.PodReady, Status: "True"}}, 0, true, true, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := controller.Pod{Status: controller.PodStatus{Conditions: c.conditions}}
			if p.IsReady() != c.ready {
				t.Fatalf("ready %v", !c.ready)
			}
			if got := p.IsAvailable(c.minReady, now); got != c.available {
				t.Fatalf("available %v", got)
			}
			if got := controller.IsPodAvailable(p.IsReady(), p.ReadySince(), c.minReady, now); got != c.available {
				t.Fatalf("IsPodAvailable %v", got)
			}
			d, ok := controller.NextAvailabilityCheck(p.IsReady(), p.ReadySince(), c.minReady, now)
			if d != c.next || ok != (c.next != 0) {
				t.Fatalf("NextAvailabilityCheck %v %v", d, ok)
			}
		})
	}
	var p controller.Pod
	if err := json.Unmarshal([]byte(`{"metadata":{"name":"a","deletionTimestamp":"2026-11-25T12:00:00Z"},"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True","lastTransitionTime":"2026-11-25T11:00:00Z"}]}}`), &p); err != nil {
		t.Fatal(err)
	}
	if p.IsActive() || !p.IsTerminating() || !p.IsAvailable(3600, now) || p.IsAvailable(3601, now) {
		t.Fatalf("decoded pod: %+v", p)
	}
}

func TestSetCondition(t *testing.T) {
	t0, t1 := meta.NewTime(now.Add(-time.Hour)), meta.NewTime(now)
	failure := controller.WorkloadCondition{Type: "ReplicaFailure", Status: "True", Reason: "FailedCreate", Message: "quota", LastTransitionTime: t0}
	progressing := controller.WorkloadCondition{Type: "Progressing", Status: "True", Reason: "NewReplicaSetCreated", LastUpdateTime: t0, LastTransitionTime: t0}
	cases := []struct {
		name  string
		start []controller.WorkloadCondition
		set   controller.WorkloadCondition
		want  []controller.WorkloadCondition
	}{
		{"append", nil, failure, []controller.WorkloadCondition{failure}},
		{"same status and reason: unchanged, message and all",
			[]controller.WorkloadCondition{failure},
			controller.WorkloadCondition{Type: "ReplicaFailure", Status: "True", Reason: "FailedCreate", Message: "other", LastTransitionTime: t1},
			[]controller.WorkloadCondition{failure}},
		{"same status, new reason: moved to the end, transition time kept",
			[]controller.WorkloadCondition{progressing, failure},
			controller.WorkloadCondition{Type: "Progressing", Status: "True", Reason: "ReplicaSetUpdated", LastUpdateTime: t1, LastTransitionTime: t1},
			[]controller.WorkloadCondition{failure, {Type: "Progressing", Status: "True", Reason: "ReplicaSetUpdated", LastUpdateTime: t1, LastTransitionTime: t0}}},
		{"new status: replaced",
			[]controller.WorkloadCondition{progressing},
			controller.WorkloadCondition{Type: "Progressing", Status: "False", Reason: "ProgressDeadlineExceeded", LastUpdateTime: t1, LastTransitionTime: t1},
			[]controller.WorkloadCondition{{Type: "Progressing", Status: "False", Reason: "ProgressDeadlineExceeded", LastUpdateTime: t1, LastTransitionTime: t1}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := append([]controller.WorkloadCondition(nil), c.start...)
			got := controller.SetCondition(start, c.set)
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got  %+v\nwant %+v", got, c.want)
			}
			if !reflect.DeepEqual(start, c.start) {
				t.Fatal("the given slice was written to")
			}
		})
	}
	if got := controller.RemoveCondition([]controller.WorkloadCondition{failure, progressing, failure}, "ReplicaFailure"); !reflect.DeepEqual(got, []controller.WorkloadCondition{progressing}) {
		t.Fatalf("RemoveCondition %+v", got)
	}
	if got := controller.RemoveCondition([]controller.WorkloadCondition{failure}, "ReplicaFailure"); got != nil {
		t.Fatalf("RemoveCondition of the last: %+v", got)
	}
	if c := controller.GetCondition([]controller.WorkloadCondition{progressing, failure}, "ReplicaFailure"); c == nil || c.Reason != "FailedCreate" {
		t.Fatalf("GetCondition %+v", c)
	}
}

func TestEnsureCondition(t *testing.T) {
	t0, t1 := meta.NewTime(now.Add(-time.Hour)), meta.NewTime(now)
	suspended := controller.WorkloadCondition{Type: "Suspended", Status: "True", Reason: "JobSuspended", Message: "Job suspended", LastProbeTime: t0, LastTransitionTime: t0}
	cases := []struct {
		name                              string
		start                             []controller.WorkloadCondition
		condType, status, reason, message string
		want                              []controller.WorkloadCondition
		changed                           bool
	}{
		{"append", nil, "Suspended", "True", "JobSuspended", "Job suspended",
			[]controller.WorkloadCondition{{Type: "Suspended", Status: "True", Reason: "JobSuspended", Message: "Job suspended", LastProbeTime: t1, LastTransitionTime: t1}}, true},
		{"a missing False condition is not added", nil, "Suspended", "False", "JobResumed", "Job resumed", nil, false},
		{"unchanged", []controller.WorkloadCondition{suspended}, "Suspended", "True", "JobSuspended", "Job suspended", []controller.WorkloadCondition{suspended}, false},
		{"message change: replaced in place, new times", []controller.WorkloadCondition{{Type: "A"}, suspended, {Type: "B"}}, "Suspended", "True", "JobSuspended", "again",
			[]controller.WorkloadCondition{{Type: "A"}, {Type: "Suspended", Status: "True", Reason: "JobSuspended", Message: "again", LastProbeTime: t1, LastTransitionTime: t1}, {Type: "B"}}, true},
		{"resumed", []controller.WorkloadCondition{suspended}, "Suspended", "False", "JobResumed", "Job resumed",
			[]controller.WorkloadCondition{{Type: "Suspended", Status: "False", Reason: "JobResumed", Message: "Job resumed", LastProbeTime: t1, LastTransitionTime: t1}}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := append([]controller.WorkloadCondition(nil), c.start...)
			got, changed := controller.EnsureCondition(start, c.condType, c.status, c.reason, c.message, now)
			if changed != c.changed || !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %v %+v\nwant %v %+v", changed, got, c.changed, c.want)
			}
			if !reflect.DeepEqual(start, c.start) {
				t.Fatal("the given slice was written to")
			}
		})
	}
}

func TestWorkloadConditionJSON(t *testing.T) {
	t0 := meta.NewTime(now)
	cases := []struct {
		name string
		c    controller.WorkloadCondition
		want string
	}{
		{"ReplicaSet", controller.WorkloadCondition{Type: "ReplicaFailure", Status: "True", Reason: "FailedCreate", Message: "m", LastTransitionTime: t0},
			`{"type":"ReplicaFailure","status":"True","lastTransitionTime":"2026-11-25T12:00:00Z","reason":"FailedCreate","message":"m"}`},
		{"Deployment", controller.WorkloadCondition{Type: "Available", Status: "True", LastUpdateTime: t0, LastTransitionTime: t0},
			`{"type":"Available","status":"True","lastUpdateTime":"2026-11-25T12:00:00Z","lastTransitionTime":"2026-11-25T12:00:00Z"}`},
		{"Job", controller.WorkloadCondition{Type: "Complete", Status: "True", LastProbeTime: t0, LastTransitionTime: t0},
			`{"type":"Complete","status":"True","lastProbeTime":"2026-11-25T12:00:00Z","lastTransitionTime":"2026-11-25T12:00:00Z"}`},
		{"no times", controller.WorkloadCondition{Type: "X", Status: "Unknown"}, `{"type":"X","status":"Unknown"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := json.Marshal(c.c)
			if err != nil || string(got) != c.want {
				t.Fatalf("%s %v", got, err)
			}
			var back controller.WorkloadCondition
			if err := json.Unmarshal(got, &back); err != nil || back != c.c {
				t.Fatalf("round trip %+v %v", back, err)
			}
		})
	}
}
