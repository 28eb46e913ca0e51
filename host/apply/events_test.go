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

// TestOwnedEvents: the events for owned creates and deletes use upstream's
// wording of the controller that owns the kind upstream.
func TestOwnedEvents(t *testing.T) {
	pod := schema.GroupVersionKind{Version: "v1", Kind: "Pod"}
	job := schema.GroupVersionKind{Group: "batch", Version: "v1", Kind: "Job"}
	gone := apierrors.NewAlreadyExists(schema.GroupResource{Group: "batch", Resource: "jobs"}, "cj-1")
	terminating := &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Reason: metav1.StatusReasonForbidden, Message: "namespace ns is being terminated",
		Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: corev1.NamespaceTerminatingCause}}},
	}}
	for _, tc := range []struct {
		name    string
		gvk     schema.GroupVersionKind
		op      abi.Op
		created string
		err     error
		want    string // "" for no event
	}{
		{"pod created", pod, abi.OpCreate, "web-abc", nil, "Normal SuccessfulCreate Created pod: web-abc"},
		{"pod create failed", pod, abi.OpCreate, "", errors.New("quota"), "Warning FailedCreate Error creating: quota"},
		{"pod create in terminating namespace", pod, abi.OpCreate, "", terminating, ""},
		{"pod deleted", pod, abi.OpDelete, "", nil, "Normal SuccessfulDelete Deleted pod: web-abc"},
		{"pod delete failed", pod, abi.OpDelete, "", errors.New("boom"), "Warning FailedDelete Error deleting: boom"},
		{"job created", job, abi.OpCreate, "cj-1", nil, "Normal SuccessfulCreate Created job cj-1"},
		{"job create failed", job, abi.OpCreate, "", errors.New("quota"), "Warning FailedCreate Error creating job: quota"},
		{"job already exists", job, abi.OpCreate, "", gone, ""},
		{"job deleted", job, abi.OpDelete, "", nil, "Normal SuccessfulDelete Deleted job web-abc"},
		{"job delete failed", job, abi.OpDelete, "", errors.New("boom"), "Warning FailedDelete Deleted job: boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := record.NewFakeRecorder(1)
			ap := &Applier{Recorder: rec}
			obj := &unstructured.Unstructured{}
			obj.SetName("web-abc")
			primary := &unstructured.Unstructured{}
			primary.SetAPIVersion("apps/v1")
			primary.SetKind("ReplicaSet")
			ap.record(primary, &Action{Action: abi.Action{Op: tc.op}, GVK: tc.gvk, Object: obj, Owned: true}, tc.created, tc.err)
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
