// Package apply checks a plugin's response against the controller's
// permissions and applies it to the API server.
//
// Validate looks at the whole response before anything is applied: one
// forbidden or malformed action refuses all of it, so a plugin never
// half-applies a response. Apply then runs the actions in order, creates in
// slow-start batches (1, 2, 4, ...) as upstream controllers do, and stops at
// the first failure: the key is retried with backoff and the plugin sees the
// world as it then is.
package apply

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"

	"wasmctl.dev/wasmctl/abi"
)

// Permissions is what one controller may do.
type Permissions struct {
	For  abi.TypeRef
	Owns []abi.TypeRef
	// Extra are the explicit permissions of the configuration.
	Extra []abi.Permission
}

// Scope tells whether a kind is namespaced; the engine answers it from the
// RESTMapper.
type Scope func(gvk schema.GroupVersionKind) (namespaced bool, err error)

// Action is a validated action, ready to apply.
type Action struct {
	abi.Action
	GVK    schema.GroupVersionKind
	Object *unstructured.Unstructured
	// Owned is set when the object is of an owns kind: creates get the
	// controller reference and count towards expectations.
	Owned bool
	// Orphan is set when the action targets an orphan handed to the plugin
	// (an adoption): the applier rechecks the primary first.
	Orphan bool
	// Primary is set when the action writes the primary itself.
	Primary bool

	resultRV string // the resourceVersion a successful write returned
	gone     bool   // a delete found the object already gone
	// raw is the plugin's JSON of Object while the host has not changed it:
	// sent as it is, it saves re-encoding the map.
	raw []byte
	// Key is namespace/name of the target ("" for a generateName create).
	Key string
}

// RefusedError says why a response was refused. Nothing of it was applied.
type RefusedError struct {
	Index  int // action index, -1 for the response as a whole
	Reason string
}

func (e *RefusedError) Error() string {
	if e.Index < 0 {
		return "response refused: " + e.Reason
	}
	return fmt.Sprintf("response refused: action %d: %s", e.Index, e.Reason)
}

// Input is what Validate checks a response against.
type Input struct {
	Primary Object
	// Controlled holds the namespace/name keys, per GVK, of the children
	// (controlled by Primary) and orphans handed to the plugin: update,
	// patch and delete of an owns kind may only target these.
	Controlled map[schema.GroupVersionKind]map[string]bool
	// Orphans is the subset of Controlled that were orphans.
	Orphans map[schema.GroupVersionKind]map[string]bool
	Perms   Permissions
	Scope   Scope
}

// Decode parses a response strictly (unknown fields are errors).
func Decode(data []byte) (*abi.ReconcileResponse, error) {
	if !utf8.Valid(data) {
		// encoding/json would silently turn bad bytes into U+FFFD.
		return nil, &RefusedError{Index: -1, Reason: "response is not valid UTF-8"}
	}
	var resp abi.ReconcileResponse
	if err := abi.DecodeStrict(data, &resp); err != nil {
		return nil, &RefusedError{Index: -1, Reason: "invalid JSON: " + err.Error()}
	}
	if resp.APIVersion != "" && resp.APIVersion != abi.Version {
		return nil, &RefusedError{Index: -1, Reason: fmt.Sprintf("apiVersion %q, want %q", resp.APIVersion, abi.Version)}
	}
	if resp.Kind != "" && resp.Kind != abi.KindReconcileResponse {
		return nil, &RefusedError{Index: -1, Reason: fmt.Sprintf("kind %q, want %q", resp.Kind, abi.KindReconcileResponse)}
	}
	return &resp, nil
}

// Validate checks every action and returns them ready to apply, or a
// *RefusedError for the first one that is not allowed.
func Validate(resp *abi.ReconcileResponse, in Input) ([]Action, error) {
	if resp.RequeueAfterSeconds < 0 || resp.RequeueAfterSeconds > 366*24*3600 {
		return nil, &RefusedError{Index: -1, Reason: fmt.Sprintf("requeueAfterSeconds %v out of range", resp.RequeueAfterSeconds)}
	}
	if len(resp.Memo) > abi.MaxMemoBytes {
		return nil, &RefusedError{Index: -1, Reason: fmt.Sprintf("memo of %d bytes, at most %d", len(resp.Memo), abi.MaxMemoBytes)}
	}
	for i, ev := range resp.Events {
		if err := checkEvent(ev); err != nil {
			return nil, &RefusedError{Index: -1, Reason: fmt.Sprintf("event %d: %v", i, err)}
		}
	}
	out := make([]Action, 0, len(resp.Actions))
	// A ReplicaSet's creates are one pod's JSON repeated: decoded once and
	// deep-copied for the repeats (each action's object is its own, the
	// applier sets fields on it), a quarter of the cost of decoding again.
	var repeat struct {
		raw []byte
		obj map[string]any // as decoded, before validateAction changed it
	}
	decode := func(i int) (map[string]any, error) {
		raw := resp.Actions[i].Object
		if repeat.obj != nil && bytes.Equal(raw, repeat.raw) {
			return runtime.DeepCopyJSON(repeat.obj), nil
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, err
		}
		repeat.raw, repeat.obj = nil, nil
		if m != nil && i+1 < len(resp.Actions) && bytes.Equal(resp.Actions[i+1].Object, raw) {
			repeat.raw, repeat.obj = raw, runtime.DeepCopyJSON(m)
		}
		return m, nil
	}
	for i, a := range resp.Actions {
		act, err := validateAction(a, in, func() (map[string]any, error) { return decode(i) })
		if err != nil {
			return nil, &RefusedError{Index: i, Reason: err.Error()}
		}
		out = append(out, act)
	}
	return out, nil
}

// checkEvent checks an Event of the response or of an action.
func checkEvent(ev abi.Event) error {
	if ev.Type != abi.EventNormal && ev.Type != abi.EventWarning {
		return fmt.Errorf("type %q, want Normal or Warning", ev.Type)
	}
	if ev.Reason == "" {
		return fmt.Errorf("reason is required")
	}
	return nil
}

// checkActionEvents checks an action's onSuccess and onFailure Events:
// valid Events, recorded when the action is applied (never afterApply).
func checkActionEvents(a abi.Action) error {
	for _, l := range []struct {
		field  string
		events []abi.Event
	}{{"onSuccess", a.OnSuccess}, {"onFailure", a.OnFailure}} {
		for i, ev := range l.events {
			if err := checkEvent(ev); err != nil {
				return fmt.Errorf("%s: %s[%d]: %v", a.Op, l.field, i, err)
			}
			if ev.AfterApply {
				return fmt.Errorf("%s: %s[%d]: afterApply is for the response's events only", a.Op, l.field, i)
			}
		}
	}
	return nil
}

func validateAction(a abi.Action, in Input, decode func() (map[string]any, error)) (Action, error) {
	act := Action{Action: a}
	switch a.Op {
	case abi.OpCreate, abi.OpUpdate, abi.OpUpdateStatus, abi.OpPatch, abi.OpDelete:
	default:
		return act, fmt.Errorf("unknown op %q", a.Op)
	}
	if len(a.Object) == 0 {
		return act, fmt.Errorf("%s: object is required", a.Op)
	}
	obj := &unstructured.Unstructured{}
	var err error
	if obj.Object, err = decode(); err != nil {
		return act, fmt.Errorf("%s: object: %v", a.Op, err)
	}
	act.raw = a.Object
	if obj.Object == nil {
		return act, fmt.Errorf("%s: object must be a JSON object", a.Op)
	}
	gv, err := schema.ParseGroupVersion(obj.GetAPIVersion())
	if err != nil || obj.GetAPIVersion() == "" || obj.GetKind() == "" {
		return act, fmt.Errorf("%s: object needs apiVersion and kind", a.Op)
	}
	act.GVK = gv.WithKind(obj.GetKind())
	act.Object = obj

	if a.Op != abi.OpPatch && (a.PatchType != "" || len(a.Patch) > 0 || a.Subresource != "") {
		return act, fmt.Errorf("%s: patchType, patch and subresource are for patch only", a.Op)
	}
	if a.Op != abi.OpDelete && a.PropagationPolicy != "" {
		return act, fmt.Errorf("%s: propagationPolicy is for delete only", a.Op)
	}
	if err := checkActionEvents(a); err != nil {
		return act, err
	}
	switch a.Op {
	case abi.OpPatch:
		switch a.PatchType {
		case abi.PatchMerge, abi.PatchJSON, abi.PatchStrategic, abi.PatchApply:
		default:
			return act, fmt.Errorf("patch: patchType %q, want merge, json, strategic or apply", a.PatchType)
		}
		if len(a.Patch) == 0 || !json.Valid(a.Patch) {
			return act, fmt.Errorf("patch: patch must be a JSON document")
		}
		if a.Subresource != "" && a.Subresource != "status" {
			return act, fmt.Errorf("patch: subresource %q, only status is supported", a.Subresource)
		}
	case abi.OpDelete:
		switch metav1.DeletionPropagation(a.PropagationPolicy) {
		case "", metav1.DeletePropagationOrphan, metav1.DeletePropagationBackground, metav1.DeletePropagationForeground:
		default:
			return act, fmt.Errorf("delete: propagationPolicy %q, want Orphan, Background or Foreground", a.PropagationPolicy)
		}
	}

	namespaced, err := in.Scope(act.GVK)
	if err != nil {
		return act, fmt.Errorf("%s %s: %v", a.Op, act.GVK.Kind, err)
	}
	primaryNS := in.Primary.GetNamespace()
	if namespaced && obj.GetNamespace() == "" {
		obj.SetNamespace(primaryNS)
	}
	if !namespaced && obj.GetNamespace() != "" {
		return act, fmt.Errorf("%s %s: kind is cluster-scoped but the object names namespace %q", a.Op, act.GVK.Kind, obj.GetNamespace())
	}
	if obj.GetName() == "" && !(a.Op == abi.OpCreate && obj.GetGenerateName() != "") {
		return act, fmt.Errorf("%s %s: metadata.name is required", a.Op, act.GVK.Kind)
	}
	if obj.GetName() != "" {
		act.Key = cache.MetaObjectToName(obj).String()
	}

	target := describe(act)
	inPrimaryNS := namespaced && obj.GetNamespace() == primaryNS
	forGVK := gvkOf(in.Perms.For)
	switch {
	case act.GVK == forGVK && inPrimaryNS && obj.GetName() == in.Primary.GetName():
		// The primary itself: update, status and patch; never create or delete.
		if a.Op == abi.OpCreate || a.Op == abi.OpDelete {
			if extraAllows(in.Perms.Extra, act, inPrimaryNS, !namespaced) {
				return act, nil
			}
			return act, fmt.Errorf("%s of the primary %s is not allowed", a.Op, target)
		}
		if uid := obj.GetUID(); uid != "" && uid != in.Primary.GetUID() {
			return act, fmt.Errorf("%s %s: uid %s is not the primary's", a.Op, target, uid)
		}
		act.Primary = true
		return act, nil
	case isOwned(in.Perms.Owns, act.GVK) && inPrimaryNS:
		act.Owned = true
		if a.Op == abi.OpCreate {
			if ref := metav1.GetControllerOfNoCopy(obj); ref != nil && ref.UID != in.Primary.GetUID() {
				return act, fmt.Errorf("create %s: its controller reference points at %s %s, not the primary", target, ref.Kind, ref.Name)
			}
			return act, nil
		}
		if in.Controlled[act.GVK][act.Key] || extraAllows(in.Perms.Extra, act, inPrimaryNS, !namespaced) {
			act.Orphan = in.Orphans[act.GVK][act.Key]
			return act, nil
		}
		return act, fmt.Errorf("%s %s: not controlled by the primary nor an adoptable orphan", a.Op, target)
	}
	if extraAllows(in.Perms.Extra, act, inPrimaryNS, !namespaced) {
		return act, nil
	}
	return act, fmt.Errorf("%s %s: not permitted (for: %s, owns: %s, permissions: %d)", a.Op, target, in.Perms.For, typeList(in.Perms.Owns), len(in.Perms.Extra))
}

// extraAllows checks the explicit permission list.
func extraAllows(perms []abi.Permission, act Action, inPrimaryNS, clusterScoped bool) bool {
	for _, p := range perms {
		if gvkOf(abi.TypeRef{APIVersion: p.APIVersion, Kind: p.Kind}) != act.GVK {
			continue
		}
		verbOK := false
		for _, v := range p.Verbs {
			if v == act.Op {
				verbOK = true
			}
		}
		if !verbOK {
			continue
		}
		if len(p.Namespaces) == 0 {
			if inPrimaryNS {
				return true
			}
			continue
		}
		for _, ns := range p.Namespaces {
			if ns == "*" || (!clusterScoped && ns == act.Object.GetNamespace()) {
				return true
			}
		}
	}
	return false
}

func isOwned(owns []abi.TypeRef, gvk schema.GroupVersionKind) bool {
	for _, o := range owns {
		if gvkOf(o) == gvk {
			return true
		}
	}
	return false
}

func gvkOf(t abi.TypeRef) schema.GroupVersionKind {
	gv, _ := schema.ParseGroupVersion(t.APIVersion)
	return gv.WithKind(t.Kind)
}

func describe(a Action) string {
	name := a.Key
	if name == "" {
		name = a.Object.GetNamespace() + "/" + a.Object.GetGenerateName() + "*"
	}
	return a.GVK.Kind + " " + name
}

func typeList(ts []abi.TypeRef) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = t.Kind
	}
	return "[" + strings.Join(s, ",") + "]"
}

// ControllerRef returns the controller ownerReference for primary.
func ControllerRef(primary Object) metav1.OwnerReference {
	return *metav1.NewControllerRef(primary, primary.GetObjectKind().GroupVersionKind())
}
