package abi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Version is the ABI version: the apiVersion of every document in this
// package.
const Version = "wasmctl.dev/v1alpha1"

// Document kinds.
const (
	KindReconcileRequest  = "ReconcileRequest"
	KindReconcileResponse = "ReconcileResponse"
	KindManifest          = "Manifest"
)

// Export names a plugin provides.
const (
	ExportReconcile = "reconcile"
	ExportDescribe  = "describe"
)

// TypeRef names a Kubernetes kind by apiVersion ("apps/v1", "v1") and kind.
type TypeRef struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

func (t TypeRef) String() string { return t.APIVersion + ", Kind=" + t.Kind }

// Group returns the API group of t ("" for the core group).
func (t TypeRef) Group() string {
	if i := strings.IndexByte(t.APIVersion, '/'); i >= 0 {
		return t.APIVersion[:i]
	}
	return ""
}

// ReconcileRequest is the input of the "reconcile" export.
type ReconcileRequest struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Now is the host's clock at the time of the call, RFC 3339 with
	// nanoseconds. Plugins use it instead of reading a clock.
	Now string `json:"now"`
	// Object is the primary object from the host's cache, without
	// metadata.managedFields.
	Object json.RawMessage `json:"object"`
	// Children are the objects of the manifest's owns kinds whose controller
	// ownerReference points at Object (by UID).
	Children []json.RawMessage `json:"children,omitempty"`
	// Orphans are the objects of the owns kinds in Object's namespace with no
	// controller ownerReference whose labels match Object's spec.selector. Empty
	// when Object has no selector.
	Orphans []json.RawMessage `json:"orphans,omitempty"`
	// Related holds the extra inputs the manifest asks for, by the name of the
	// Related entry. Objects already in Children or Orphans are not repeated
	// there.
	Related map[string][]json.RawMessage `json:"related,omitempty"`
	// Config is the controller's config: block from the host configuration, as
	// JSON ({} when absent).
	Config json.RawMessage `json:"config,omitempty"`
	// LastError is set when the API server refused an action of the previous
	// response for this key (which the host then stopped applying); it is
	// cleared by the next response applied in full. Upstream controllers
	// surface such errors in status (ReplicaSet's ReplicaFailure condition).
	LastError *ApplyError `json:"lastError,omitempty"`
	// Memo is the memo of the last response for this key that set one
	// (ReconcileResponse.Memo); absent when there is none.
	Memo json.RawMessage `json:"memo,omitempty"`
}

// ApplyError describes an action the API server refused.
type ApplyError struct {
	Op         Op     `json:"op"`
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name,omitempty"`
	// Reason is the API status reason (Forbidden, Conflict, Invalid, ...).
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message"`
}

// NowTime parses Now.
func (r *ReconcileRequest) NowTime() (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, r.Now)
	if err != nil {
		return time.Time{}, fmt.Errorf("abi: request now %q: %w", r.Now, err)
	}
	return t, nil
}

// Op is the kind of change an Action makes.
type Op string

// The operations a plugin may ask for.
const (
	// OpCreate creates Object. A create of an owns kind without a controller
	// ownerReference gets one pointing at the primary.
	OpCreate Op = "create"
	// OpUpdate replaces Object; metadata.resourceVersion, when set, makes it
	// optimistic (a conflict fails the action and retries the key).
	OpUpdate Op = "update"
	// OpUpdateStatus replaces Object's status subresource.
	OpUpdateStatus Op = "updateStatus"
	// OpPatch patches the object Object names with Patch of PatchType.
	OpPatch Op = "patch"
	// OpDelete deletes the object Object names; metadata.uid, when set, is a
	// precondition.
	OpDelete Op = "delete"
)

// Ops lists every Op.
var Ops = []Op{OpCreate, OpUpdate, OpUpdateStatus, OpPatch, OpDelete}

// PatchType is the format of an OpPatch action's Patch.
type PatchType string

// Patch types for OpPatch.
const (
	// PatchMerge is a JSON merge patch (RFC 7386).
	PatchMerge PatchType = "merge"
	// PatchJSON is a JSON patch (RFC 6902).
	PatchJSON PatchType = "json"
	// PatchStrategic is a Kubernetes strategic merge patch (built-in kinds
	// only).
	PatchStrategic PatchType = "strategic"
	// PatchApply is a server-side apply configuration; the host applies it
	// with force under the controller's field manager.
	PatchApply PatchType = "apply"
)

// Action is one change the plugin asks the host to make.
type Action struct {
	Op Op `json:"op"`
	// Object is the object to create, update or updateStatus; for patch and
	// delete it only needs apiVersion, kind, metadata.namespace and
	// metadata.name (and metadata.uid for a delete precondition).
	Object json.RawMessage `json:"object"`
	// PatchType is merge, json, strategic or apply (OpPatch only).
	PatchType PatchType `json:"patchType,omitempty"`
	// Patch is the patch document (OpPatch only).
	Patch json.RawMessage `json:"patch,omitempty"`
	// Subresource patches a subresource, e.g. "status" (OpPatch only).
	Subresource string `json:"subresource,omitempty"`
	// PropagationPolicy is Orphan, Background or Foreground (OpDelete only).
	PropagationPolicy string `json:"propagationPolicy,omitempty"`
	// OnSuccess are Events recorded on the primary when this action
	// applied (a delete or patch that found the object gone counts as
	// applied). OnFailure are recorded when the API server refused it; in
	// their messages "{error}" is replaced by the API server's error. When
	// either is set, the manifest's ownedEvents wording is not used for
	// this action. An action never attempted (an earlier one failed)
	// records nothing; a create refused because the namespace is
	// terminating records nothing, as upstream. AfterApply must be false.
	OnSuccess []Event `json:"onSuccess,omitempty"`
	OnFailure []Event `json:"onFailure,omitempty"`
}

// EventType is the type of a Kubernetes Event: Normal or Warning.
type EventType string

// Event types.
const (
	EventNormal  EventType = "Normal"
	EventWarning EventType = "Warning"
)

// Event is a Kubernetes Event the host records on the primary object.
type Event struct {
	Type    EventType `json:"type"`
	Reason  string    `json:"reason"`
	Message string    `json:"message"`
	// AfterApply records the Event only once every action of the response
	// applied (upstream's "Job completed" follows the status write that
	// completes it); by default Events are recorded before the actions run.
	AfterApply bool `json:"afterApply,omitempty"`
}

// ReconcileResponse is the output of the "reconcile" export.
type ReconcileResponse struct {
	APIVersion string   `json:"apiVersion,omitempty"`
	Kind       string   `json:"kind,omitempty"`
	Actions    []Action `json:"actions,omitempty"`
	// RequeueAfterSeconds > 0 asks for another call for this key after that
	// many seconds, even when nothing changes.
	RequeueAfterSeconds float64 `json:"requeueAfterSeconds,omitempty"`
	Events              []Event `json:"events,omitempty"`
	// Memo, when set, replaces what the host remembers for this key and
	// sends back in ReconcileRequest.Memo on every later call; JSON null
	// forgets it, absent keeps it. It is for the in-memory bookkeeping
	// upstream controllers keep beside their informers and cannot read back
	// from the API (the DaemonSet controller's per-node backoff of failed
	// pods): the host keeps it in memory only, so it is lost when the host
	// restarts, when the primary is deleted or recreated under the same
	// name, and when leadership moves, as upstream's is. It is kept across a
	// plugin reload: a plugin must treat a memo it cannot read as none. It
	// is recorded even when applying the actions fails (they were
	// attempted). At most MaxMemoBytes; a larger memo refuses the response.
	Memo json.RawMessage `json:"memo,omitempty"`
}

// MaxMemoBytes bounds ReconcileResponse.Memo: the host keeps one per key
// in memory and sends it in every request for the key.
const MaxMemoBytes = 64 << 10

// NewResponse returns an empty response with apiVersion and kind set.
func NewResponse() *ReconcileResponse {
	return &ReconcileResponse{APIVersion: Version, Kind: KindReconcileResponse}
}

// Add appends an action whose object is obj marshalled to JSON (obj may be a
// json.RawMessage already).
func (r *ReconcileResponse) Add(op Op, obj any) error {
	raw, err := marshal(obj)
	if err != nil {
		return err
	}
	r.Actions = append(r.Actions, Action{Op: op, Object: raw})
	return nil
}

// AddPatch appends a patch of the object ref names.
func (r *ReconcileResponse) AddPatch(ref ObjectRef, patchType PatchType, patch any) error {
	obj, err := json.Marshal(ref.object())
	if err != nil {
		return err
	}
	raw, err := marshal(patch)
	if err != nil {
		return err
	}
	r.Actions = append(r.Actions, Action{Op: OpPatch, Object: obj, PatchType: patchType, Patch: raw})
	return nil
}

// AddDelete appends a delete of the object ref names (with ref.UID as a
// precondition when set) and the given propagation policy ("" for the
// server's default).
func (r *ReconcileResponse) AddDelete(ref ObjectRef, propagationPolicy string) {
	obj, _ := json.Marshal(ref.object()) // plain strings: cannot fail
	r.Actions = append(r.Actions, Action{Op: OpDelete, Object: obj, PropagationPolicy: propagationPolicy})
}

// Event appends an Event to record on the primary.
func (r *ReconcileResponse) Event(eventType EventType, reason, messageFmt string, args ...any) {
	r.Events = append(r.Events, Event{Type: eventType, Reason: reason, Message: fmt.Sprintf(messageFmt, args...)})
}

// RequeueAfter asks for a call after d; the shortest request of a response
// wins.
func (r *ReconcileResponse) RequeueAfter(d time.Duration) {
	s := d.Seconds()
	if s <= 0 {
		return
	}
	if r.RequeueAfterSeconds == 0 || s < r.RequeueAfterSeconds {
		r.RequeueAfterSeconds = s
	}
}

// ObjectRef names an object for patch and delete actions.
type ObjectRef struct {
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
	UID        string
}

func (o ObjectRef) object() map[string]any {
	meta := map[string]any{"name": o.Name}
	if o.Namespace != "" {
		meta["namespace"] = o.Namespace
	}
	if o.UID != "" {
		meta["uid"] = o.UID
	}
	return map[string]any{"apiVersion": o.APIVersion, "kind": o.Kind, "metadata": meta}
}

func marshal(v any) (json.RawMessage, error) {
	switch v := v.(type) {
	case json.RawMessage:
		return v, nil
	case []byte:
		return v, nil
	}
	return json.Marshal(v)
}

// Manifest describes a plugin: what it reconciles and what it needs. The
// "describe" export returns it; the host configuration may override any field.
type Manifest struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
	// Name is the default controller name.
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	// ABIVersion is the ABI the plugin speaks; the host refuses others.
	ABIVersion string `json:"abiVersion"`
	// For is the primary kind: one call per object of this kind.
	For TypeRef `json:"for"`
	// Selector, when set, limits the primaries to objects of the for kind
	// whose labels match this label selector: others never reach the plugin.
	Selector string `json:"selector,omitempty"`
	// Owns are the kinds the plugin creates and controls.
	Owns []TypeRef `json:"owns,omitempty"`
	// Related are further inputs, see RelatedInput.
	Related []RelatedInput `json:"related,omitempty"`
	// Permissions are further actions the plugin may take beyond the for kind
	// (update, updateStatus, patch) and the owns kinds (every op) in the
	// primary's namespace.
	Permissions []Permission `json:"permissions,omitempty"`
	// Fields limits the objects of a kind that the plugin receives as
	// children, orphans or related objects to the fields it reads: less to
	// copy and far less to decode in the guest. The primary is always sent
	// whole. A kind that no controller of the host reconciles, and that
	// every controller reading it lists fields for, is also cached cut to
	// the union of those fields (and the metadata the host reads): listing
	// fields saves the host memory too. A hot reload that reads more of
	// such a kind takes a restart.
	Fields []FieldSelection `json:"fields,omitempty"`
	// IgnoreOwnWrites: the host does not call the plugin again only because
	// its cache caught up with the plugin's own last write of the primary
	// (the echo of its status update). For a plugin whose response depends
	// on the state alone, as upstream's controllers, that call is a no-op;
	// a plugin that advances a state machine by writing the primary and
	// expecting to be called again must leave it false (the default, and
	// controller-runtime's behaviour). Any other change of the primary, its
	// children or related objects, resyncs and requeues still call it.
	IgnoreOwnWrites bool `json:"ignoreOwnWrites,omitempty"`
	// OwnedEvents words the Events the host records on the primary when it
	// creates or deletes an object of an owns kind for the plugin, per kind.
	// An owns kind without an entry gets DefaultOwnedEvents.
	OwnedEvents []OwnedEvents `json:"ownedEvents,omitempty"`
	// OwnedFinalizers are finalizers the plugin puts on objects of its owns
	// kinds (the Job plugin's batch.kubernetes.io/job-tracking). No call of
	// the plugin sees an object whose controller is gone, so the host
	// removes these finalizers from an owned object that has no controller
	// reference, or whose controller reference names a primary (kind, name,
	// UID) that is not in the cache — as upstream's orphan-pod cleanup does.
	// Objects whose controller is present are the plugin's to finalize.
	OwnedFinalizers []string `json:"ownedFinalizers,omitempty"`
}

// OwnedEvents words the Events recorded on the primary for the creates and
// deletes of one owns kind that the host applies. Their reasons are
// upstream's: SuccessfulCreate, FailedCreate (Warning), SuccessfulDelete,
// FailedDelete (Warning).
//
// Each message is a template in which the host replaces
//
//	{name}        the created or deleted object's name
//	{kind}        its kind ("Pod"), {kindLower} in lower case ("pod")
//	{namespace}   its namespace
//	{primary}     the primary's name, {primaryKind} its kind
//	{error}       the API server's error (FailedCreate, FailedDelete)
//
// An empty message takes DefaultOwnedEvents' wording; "-" records no Event
// of that reason (Deployment records none for its ReplicaSets).
//
// A delete that finds the object already gone records nothing: the plugin
// got what it asked for, and upstream's controllers are silent there too.
type OwnedEvents struct {
	Type         TypeRef `json:"type"`
	Created      string  `json:"created,omitempty"`
	CreateFailed string  `json:"createFailed,omitempty"`
	Deleted      string  `json:"deleted,omitempty"`
	DeleteFailed string  `json:"deleteFailed,omitempty"`
	// QuietReasons are API status reasons ("AlreadyExists") for which no
	// FailedCreate or FailedDelete is recorded: the plugin handles them
	// (it sees the error in the next request's lastError). A create refused
	// because the namespace is terminating is never reported, as upstream.
	QuietReasons []string `json:"quietReasons,omitempty"`
}

// NoEvent, as an OwnedEvents message, records no Event.
const NoEvent = "-"

// DefaultOwnedEvents is the wording of an owns kind whose manifest says
// nothing: kube-controller-manager's pod control (ReplicaSet, Job, DaemonSet
// pods), e.g. "Created pod: web-x7k2p".
var DefaultOwnedEvents = OwnedEvents{
	Created:      "Created {kindLower}: {name}",
	CreateFailed: "Error creating: {error}",
	Deleted:      "Deleted {kindLower}: {name}",
	DeleteFailed: "Error deleting: {error}",
}

// FieldSelection lists the fields of one kind a plugin reads. apiVersion,
// kind, metadata.name, metadata.namespace, metadata.uid and
// metadata.resourceVersion are always kept.
type FieldSelection struct {
	Type TypeRef `json:"type"`
	// Paths are dot-separated field paths ("spec.nodeName"); a path through a
	// list applies to each element ("status.conditions.type"); a key with
	// dots goes in brackets ("metadata.annotations[example.com/key]"). A path
	// keeps everything below it.
	Paths []string `json:"paths"`
}

// RelatedInput asks the host for more objects in ReconcileRequest.Related
// under Name.
type RelatedInput struct {
	Name string `json:"name"`
	// Type is the kind of objects returned.
	Type TypeRef `json:"type"`
	// Select picks which objects:
	//   - "siblingChildren": objects of Type controlled by any object of the
	//     for kind that has the same controller owner as the primary (the
	//     primary's own children excluded). Empty when the primary has no
	//     controller owner. ReplicaSet uses it for the pods of the other
	//     ReplicaSets of its Deployment.
	//   - "siblingSelected": objects of Type in the primary's namespace whose
	//     labels match the spec.selector of the primary or of any object of
	//     the for kind with the same controller owner, whoever controls them.
	//     Empty when the primary has no controller owner. ReplicaSet uses it
	//     for the colocation rank of pods to delete.
	//   - "grandchildren": objects of Type whose controller ownerReference
	//     (by UID, in the primary's namespace) is one of the primary's
	//     children, i.e. objects of the owns kinds controlled by the primary.
	//     A Deployment reads the pods of its ReplicaSets with it. Refused
	//     when the manifest owns no kinds.
	//   - "namespace": every object of Type in the primary's namespace.
	//   - "all": every object of Type in the cluster.
	Select Select `json:"select"`
	// LabelSelector, when set, keeps only objects whose labels match it
	// (Kubernetes label selector syntax: "a=b,c!=d,e,!f,g in (h,i)").
	LabelSelector string `json:"labelSelector,omitempty"`
	// Passive: a change of these objects enqueues nothing; the plugin reads
	// them whenever it is called for another reason. By default a change
	// enqueues every primary whose request would include the object
	// (upstream ReplicaSet reads its siblings' pods only to rank deletions,
	// and is not woken by them: its plugin sets Passive).
	Passive bool `json:"passive,omitempty"`
	// WakeOn says which changes of these objects enqueue the primaries whose
	// request holds them: WakeAny (the default) adds, updates and deletes;
	// WakeDelete deletions only (upstream's Deployment controller waits for
	// the old pods of a Recreate rollout to be gone and is woken by their
	// deletion, not by their updates). Setting it on a Passive input is an
	// error.
	WakeOn Wake `json:"wakeOn,omitempty"`
	// When, when set, resolves the input only for primaries whose field at
	// When.Path is When.Equals; for any other primary it is an empty list,
	// and changes of its objects never enqueue that primary (upstream's
	// Deployment controller lists the pods of its ReplicaSets only for
	// Recreate Deployments). A change of the primary's field enqueues the
	// primary as any change of it does.
	When *FieldCondition `json:"when,omitempty"`
}

// Wake says which changes of a related input's objects enqueue primaries
// (see RelatedInput.WakeOn).
type Wake string

// Wake values.
const (
	// WakeAny: adds, updates and deletes enqueue.
	WakeAny Wake = ""
	// WakeDelete: only deletions enqueue.
	WakeDelete Wake = "delete"
)

// Wakes lists every valid Wake.
var Wakes = []Wake{WakeAny, WakeDelete}

// FieldCondition holds for an object whose field at Path is the string
// Equals.
type FieldCondition struct {
	// Path is a dot-separated field path ("spec.strategy.type"); a key with
	// dots goes in brackets ("metadata.labels[example.com/tier]"). A missing
	// or null field reads as ""; a value that is not a string (a number, a
	// map, a list) never matches. Required.
	Path   string `json:"path"`
	Equals string `json:"equals"`
}

// Select says which objects a RelatedInput returns (see RelatedInput.Select).
type Select string

// Related selections.
const (
	SelectSiblingChildren Select = "siblingChildren"
	SelectSiblingSelected Select = "siblingSelected"
	SelectGrandchildren   Select = "grandchildren"
	SelectNamespace       Select = "namespace"
	SelectAll             Select = "all"
)

// Selects lists every valid Select, in documentation order.
var Selects = []Select{SelectSiblingChildren, SelectSiblingSelected, SelectGrandchildren, SelectNamespace, SelectAll}

// Permission grants verbs on a kind. Namespaces empty means the primary's
// namespace only; ["*"] means any namespace and cluster-scoped objects.
type Permission struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Verbs      []Op     `json:"verbs"`
	Namespaces []string `json:"namespaces,omitempty"`
}

// DecodeStrict decodes one JSON document into v, refusing unknown fields and
// trailing data.
func DecodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON document")
	}
	if _, err := dec.Token(); err == nil {
		return errors.New("trailing data after the JSON document")
	}
	return nil
}
