package apply

import (
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
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
