package controller

import (
	"encoding/json"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/abi/sdk/meta"
)

// The adoption and release patches are kube-controller-manager's
// (pkg/controller/controller_ref_manager.go), byte for byte: the same
// structs, marshalled by encoding/json in the same field order.

type adoptPatch struct {
	Metadata adoptMeta `json:"metadata"`
}

type adoptMeta struct {
	OwnerReferences []meta.OwnerReference `json:"ownerReferences"`
	UID             string                `json:"uid"`
	Finalizers      []string              `json:"finalizers,omitempty"`
}

type releasePatch struct {
	Metadata releaseMeta `json:"metadata"`
}

type releaseMeta struct {
	UID              string              `json:"uid"`
	OwnerReferences  []map[string]string `json:"ownerReferences"`
	DeleteFinalizers []string            `json:"$deleteFromPrimitiveList/finalizers,omitempty"`
}

// AdoptPatch returns the strategic merge patch upstream sends to adopt an
// orphan (ownerRefControllerPatch): it adds owner's controller reference
// (NewControllerRef) and the finalizers, and names the dependent's UID so
// that the API server refuses it for a different object of the same name:
//
//	{"metadata":{"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web","uid":"rs-1","controller":true,"blockOwnerDeletion":true}],"uid":"pod-1"}}
//
// The API server also refuses it when the dependent already has a
// controller.
func AdoptPatch(owner abi.ObjectRef, dependentUID string, finalizers ...string) []byte {
	b, _ := json.Marshal(adoptPatch{adoptMeta{ // strings and bools: cannot fail
		OwnerReferences: []meta.OwnerReference{meta.NewControllerRef(owner)},
		UID:             dependentUID,
		Finalizers:      finalizers,
	}})
	return b
}

// ReleasePatch returns the strategic merge patch upstream sends to release
// a dependent that no longer matches (GenerateDeleteOwnerRefStrategicMergeBytes
// for one owner): it deletes the reference to ownerUID and the finalizers,
// guarded by the dependent's UID:
//
//	{"metadata":{"uid":"pod-1","ownerReferences":[{"$patch":"delete","uid":"rs-1"}]}}
func ReleasePatch(ownerUID, dependentUID string, finalizers ...string) []byte {
	b, _ := json.Marshal(releasePatch{releaseMeta{
		UID:              dependentUID,
		OwnerReferences:  []map[string]string{{"$patch": "delete", "uid": ownerUID}},
		DeleteFinalizers: finalizers,
	}})
	return b
}

// AddAdopt appends to resp the patch of dependent that adopts it for owner
// (AdoptPatch with dependent.UID), as a strategic merge patch: built-in
// kinds only (a custom resource takes merge patches, where $patch
// directives mean nothing). The action names the dependent without its
// UID; the UID is in the patch. The host rechecks the primary uncached
// before it applies an adoption, as upstream does.
func AddAdopt(resp *abi.ReconcileResponse, owner, dependent abi.ObjectRef, finalizers ...string) error {
	uid := dependent.UID
	dependent.UID = ""
	return resp.AddPatch(dependent, abi.PatchStrategic, json.RawMessage(AdoptPatch(owner, uid, finalizers...)))
}

// AddRelease appends to resp the patch of dependent that removes owner's
// reference (ReleasePatch with owner.UID and dependent.UID), as a
// strategic merge patch (built-in kinds only). The action names the
// dependent without its UID; the UID is in the patch.
func AddRelease(resp *abi.ReconcileResponse, owner, dependent abi.ObjectRef, finalizers ...string) error {
	uid := dependent.UID
	dependent.UID = ""
	return resp.AddPatch(dependent, abi.PatchStrategic, json.RawMessage(ReleasePatch(owner.UID, uid, finalizers...)))
}
