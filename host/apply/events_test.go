package apply

import (
	"errors"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"

	"wasmctl.dev/wasmctl/abi"
)

// TestOwnedEvents: the Events of owned creates and deletes are worded as
// the manifest declares for the kind (defaults: upstream's pod control), and
// none is recorded where upstream records none.
func TestOwnedEvents(t *testing.T) {
	pod := schema.GroupVersionKind{Version: "v1", Kind: "Pod"}
	job := schema.GroupVersionKind{Group: "batch", Version: "v1", Kind: "Job"}
	rs := schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"}
	// As the CronJob plugin declares its Jobs, a StatefulSet its pods (with
	// the default failure wording), a Deployment its ReplicaSets.
	wording := map[schema.GroupVersionKind]abi.OwnedEvents{
		job: {Created: "Created job {name}", CreateFailed: "Error creating job: {error}", Deleted: "Deleted job {name}", DeleteFailed: "Deleted job: {error}", QuietReasons: []string{"AlreadyExists"}},
		pod: {Created: "create {kind} {name} in {primaryKind} {primary} successful"},
		rs:  {Created: abi.NoEvent, Deleted: abi.NoEvent, CreateFailed: abi.NoEvent, DeleteFailed: abi.NoEvent},
	}
	exists := apierrors.NewAlreadyExists(schema.GroupResource{Group: "batch", Resource: "jobs"}, "cj-1")
	terminating := &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Reason: metav1.StatusReasonForbidden, Message: "namespace ns is being terminated",
		Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: corev1.NamespaceTerminatingCause}}},
	}}
	for _, tc := range []struct {
		name     string
		gvk      schema.GroupVersionKind
		manifest bool // use the manifest wording above, else the defaults
		op       abi.Op
		created  string
		gone     bool
		err      error
		want     string // "" for no event
	}{
		{"pod created", pod, false, abi.OpCreate, "web-abc", false, nil, "Normal SuccessfulCreate Created pod: web-abc"},
		{"pod create failed", pod, false, abi.OpCreate, "", false, errors.New("quota"), "Warning FailedCreate Error creating: quota"},
		{"pod create in terminating namespace", pod, false, abi.OpCreate, "", false, terminating, ""},
		{"pod deleted", pod, false, abi.OpDelete, "", false, nil, "Normal SuccessfulDelete Deleted pod: web-abc"},
		{"pod already gone", pod, false, abi.OpDelete, "", true, nil, ""},
		{"pod delete failed", pod, false, abi.OpDelete, "", false, errors.New("boom"), "Warning FailedDelete Error deleting: boom"},
		{"default job: pod control wording", job, false, abi.OpCreate, "cj-1", false, nil, "Normal SuccessfulCreate Created job: cj-1"},
		{"default job already exists: reported", job, false, abi.OpCreate, "", false, exists, "Warning FailedCreate Error creating: " + exists.Error()},
		{"job created", job, true, abi.OpCreate, "cj-1", false, nil, "Normal SuccessfulCreate Created job cj-1"},
		{"job create failed", job, true, abi.OpCreate, "", false, errors.New("quota"), "Warning FailedCreate Error creating job: quota"},
		{"job already exists: quiet", job, true, abi.OpCreate, "", false, exists, ""},
		{"job deleted", job, true, abi.OpDelete, "", false, nil, "Normal SuccessfulDelete Deleted job web-abc"},
		{"job delete failed", job, true, abi.OpDelete, "", false, errors.New("boom"), "Warning FailedDelete Deleted job: boom"},
		{"statefulset pod created", pod, true, abi.OpCreate, "web-0", false, nil, "Normal SuccessfulCreate create Pod web-0 in ReplicaSet web successful"},
		{"statefulset pod create failed: default", pod, true, abi.OpCreate, "", false, errors.New("quota"), "Warning FailedCreate Error creating: quota"},
		{"replicaset created: none", rs, true, abi.OpCreate, "web-1", false, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := record.NewFakeRecorder(1)
			ap := &Applier{Recorder: rec}
			if tc.manifest {
				ap.OwnedEvents = func(gvk schema.GroupVersionKind) abi.OwnedEvents { return WithDefaults(wording[gvk]) }
			}
			obj := &unstructured.Unstructured{}
			obj.SetName("web-abc")
			primary := &unstructured.Unstructured{}
			primary.SetAPIVersion("apps/v1")
			primary.SetKind("ReplicaSet")
			primary.SetName("web")
			ap.record(primary, &Action{Action: abi.Action{Op: tc.op}, GVK: tc.gvk, Object: obj, Owned: true}, tc.created, tc.gone, tc.err)
			got := ""
			select {
			case got = <-rec.Events:
			default:
			}
			if got != tc.want {
				t.Fatalf("event %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCheckOwnedEvents(t *testing.T) {
	if err := CheckOwnedEvents(abi.OwnedEvents{Created: "create {kind} {name} in {primaryKind} {primary} successful", DeleteFailed: "{error}"}); err != nil {
		t.Fatal(err)
	}
	if err := CheckOwnedEvents(abi.OwnedEvents{Deleted: "Deleted {podName}"}); err == nil {
		t.Fatal("unknown placeholder accepted")
	}
}

// TestActionEvents: an action's own onSuccess / onFailure are recorded for
// any kind and op in place of the owned wording, as the StatefulSet
// controller words its claim and pod events.
func TestActionEvents(t *testing.T) {
	pod := schema.GroupVersionKind{Version: "v1", Kind: "Pod"}
	pvc := schema.GroupVersionKind{Version: "v1", Kind: "PersistentVolumeClaim"}
	terminating := &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Reason: metav1.StatusReasonForbidden, Message: "namespace ns is being terminated",
		Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: corev1.NamespaceTerminatingCause}}},
	}}
	claimOK := []abi.Event{{Type: abi.EventNormal, Reason: "SuccessfulCreate", Message: "Create Claim data-web-0 Pod web-0 in StatefulSet web success"}}
	claimFailed := []abi.Event{
		{Type: abi.EventWarning, Reason: "FailedCreate", Message: "Create Claim data-web-0 for Pod web-0 in StatefulSet web failed error: {error}"},
		{Type: abi.EventWarning, Reason: "FailedCreate", Message: "Create Pod web-0 in StatefulSet web failed error: {error}"},
	}
	updated := []abi.Event{{Type: abi.EventNormal, Reason: "SuccessfulUpdate", Message: "update Pod web-0 in StatefulSet web successful"}}
	updateFailed := []abi.Event{{Type: abi.EventWarning, Reason: "FailedUpdate", Message: "update Pod web-0 in StatefulSet web failed error: {error}"}}
	deleted := []abi.Event{{Type: abi.EventNormal, Reason: "SuccessfulDelete", Message: "delete Pod web-0 in StatefulSet web successful"}}
	for _, tc := range []struct {
		name      string
		gvk       schema.GroupVersionKind
		owned     bool
		op        abi.Op
		onSuccess []abi.Event
		onFailure []abi.Event
		gone      bool
		err       error
		want      []string
	}{
		{"claim created (not owned)", pvc, false, abi.OpCreate, claimOK, claimFailed, false, nil,
			[]string{"Normal SuccessfulCreate Create Claim data-web-0 Pod web-0 in StatefulSet web success"}},
		{"claim create failed: both events, {error} filled", pvc, false, abi.OpCreate, claimOK, claimFailed, false, errors.New("quota"), []string{
			"Warning FailedCreate Create Claim data-web-0 for Pod web-0 in StatefulSet web failed error: quota",
			"Warning FailedCreate Create Pod web-0 in StatefulSet web failed error: quota",
		}},
		{"claim create in terminating namespace", pvc, false, abi.OpCreate, claimOK, claimFailed, false, terminating, nil},
		{"owned create in terminating namespace", pod, true, abi.OpCreate, claimOK, claimFailed, false, terminating, nil},
		{"owned pod created: owned wording replaced", pod, true, abi.OpCreate, claimOK, nil, false, nil,
			[]string{"Normal SuccessfulCreate Create Claim data-web-0 Pod web-0 in StatefulSet web success"}},
		{"owned pod create failed, only onSuccess: no owned wording", pod, true, abi.OpCreate, claimOK, nil, false, errors.New("quota"), nil},
		{"owned pod deleted, only onFailure: no owned wording", pod, true, abi.OpDelete, nil, updateFailed, false, nil, nil},
		{"pod updated", pod, true, abi.OpUpdate, updated, updateFailed, false, nil,
			[]string{"Normal SuccessfulUpdate update Pod web-0 in StatefulSet web successful"}},
		{"pod update failed", pod, true, abi.OpUpdate, updated, updateFailed, false, errors.New("conflict"),
			[]string{"Warning FailedUpdate update Pod web-0 in StatefulSet web failed error: conflict"}},
		{"status updated", pod, false, abi.OpUpdateStatus, updated, nil, false, nil,
			[]string{"Normal SuccessfulUpdate update Pod web-0 in StatefulSet web successful"}},
		{"pod patched", pod, true, abi.OpPatch, updated, nil, false, nil,
			[]string{"Normal SuccessfulUpdate update Pod web-0 in StatefulSet web successful"}},
		{"patched pod gone: applied", pod, true, abi.OpPatch, updated, updateFailed, true, nil,
			[]string{"Normal SuccessfulUpdate update Pod web-0 in StatefulSet web successful"}},
		{"pod deleted", pod, true, abi.OpDelete, deleted, nil, false, nil,
			[]string{"Normal SuccessfulDelete delete Pod web-0 in StatefulSet web successful"}},
		{"deleted pod already gone: applied", pod, true, abi.OpDelete, deleted, nil, true, nil,
			[]string{"Normal SuccessfulDelete delete Pod web-0 in StatefulSet web successful"}},
		{"{error} only in onFailure", pod, false, abi.OpUpdate, []abi.Event{{Type: abi.EventNormal, Reason: "R", Message: "kept {error}"}}, nil, false, nil,
			[]string{"Normal R kept {error}"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := record.NewFakeRecorder(10)
			ap := &Applier{Recorder: rec}
			obj := &unstructured.Unstructured{}
			obj.SetName("web-0")
			a := &Action{Action: abi.Action{Op: tc.op, OnSuccess: tc.onSuccess, OnFailure: tc.onFailure}, GVK: tc.gvk, Object: obj, Owned: tc.owned}
			ap.record(statefulSet(), a, "web-0", tc.gone, tc.err)
			if got := drain(rec); !slices.Equal(got, tc.want) {
				t.Fatalf("events %q, want %q", got, tc.want)
			}
		})
	}
}

// TestApplyActionEvents: through Apply, a refused claim create records its
// onFailure and the pod create after it, never attempted, records nothing;
// a delete that finds the object gone records its onSuccess. The refusal is
// reported by the action's Events, so the caller records no other.
func TestApplyActionEvents(t *testing.T) {
	pvc := schema.GroupVersionKind{Version: "v1", Kind: "PersistentVolumeClaim"}
	pod := schema.GroupVersionKind{Version: "v1", Kind: "Pod"}
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(pvc, meta.RESTScopeNamespace)
	mapper.Add(pod, meta.RESTScopeNamespace)
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		{Version: "v1", Resource: "persistentvolumeclaims"}: "PersistentVolumeClaimList",
		{Version: "v1", Resource: "pods"}:                   "PodList",
	})
	client.PrependReactor("create", "persistentvolumeclaims", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("quota")
	})
	action := func(gvk schema.GroupVersionKind, op abi.Op, name string, owned bool) Action {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(gvk)
		u.SetNamespace("ns")
		u.SetName(name)
		return Action{Action: abi.Action{
			Op:        op,
			OnSuccess: []abi.Event{{Type: abi.EventNormal, Reason: "Successful", Message: string(op) + " " + name}},
			OnFailure: []abi.Event{{Type: abi.EventWarning, Reason: "Failed", Message: string(op) + " " + name + ": {error}"}},
		}, GVK: gvk, Object: u, Owned: owned, Key: "ns/" + name}
	}

	rec := record.NewFakeRecorder(10)
	ap := &Applier{Client: client, Mapper: mapper, Recorder: rec}
	_, err := ap.Apply(t.Context(), statefulSet(), []Action{action(pvc, abi.OpCreate, "data-web-0", false), action(pod, abi.OpCreate, "web-0", true)})
	var ae *ActionError
	if !errors.As(err, &ae) || ae.Action.GVK != pvc {
		t.Fatalf("error %v, want the claim's", err)
	}
	if !ae.Reported() {
		t.Fatal("a failure with onFailure events not marked reported")
	}
	if got, want := drain(rec), []string{"Warning Failed create data-web-0: quota"}; !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}

	if _, err := ap.Apply(t.Context(), statefulSet(), []Action{action(pod, abi.OpDelete, "web-0", true)}); err != nil {
		t.Fatal(err)
	}
	if got, want := drain(rec), []string{"Normal Successful delete web-0"}; !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
}

// TestReported: which refused actions the caller need not report again.
func TestReported(t *testing.T) {
	own := abi.Action{OnFailure: []abi.Event{{Type: abi.EventWarning, Reason: "FailedUpdate"}}}
	for _, tc := range []struct {
		name string
		e    ActionError
		want bool
	}{
		{"owned create: owned wording", ActionError{Action: &Action{Action: abi.Action{Op: abi.OpCreate}, Owned: true}, attempted: true}, true},
		{"owned update: nothing", ActionError{Action: &Action{Action: abi.Action{Op: abi.OpUpdate}, Owned: true}, attempted: true}, false},
		{"update with onFailure", ActionError{Action: &Action{Action: abi.Action{Op: abi.OpUpdate, OnFailure: own.OnFailure}}, attempted: true}, true},
		{"onFailure, never attempted", ActionError{Action: &Action{Action: abi.Action{Op: abi.OpPatch, OnFailure: own.OnFailure}, Owned: true}}, false},
		{"owned create with only onSuccess", ActionError{Action: &Action{Action: abi.Action{Op: abi.OpCreate, OnSuccess: own.OnFailure}, Owned: true}, attempted: true}, false},
	} {
		if got := tc.e.Reported(); got != tc.want {
			t.Errorf("%s: Reported %v, want %v", tc.name, got, tc.want)
		}
	}
}

func statefulSet() *unstructured.Unstructured {
	primary := &unstructured.Unstructured{}
	primary.SetAPIVersion("apps/v1")
	primary.SetKind("StatefulSet")
	primary.SetNamespace("ns")
	primary.SetName("web")
	return primary
}

// drain returns the events recorded so far.
func drain(rec *record.FakeRecorder) []string {
	var got []string
	for {
		select {
		case e := <-rec.Events:
			got = append(got, e)
		default:
			return got
		}
	}
}
