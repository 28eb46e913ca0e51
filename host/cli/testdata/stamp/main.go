// Command stamp is a test plugin whose version is visible on the cluster:
// it annotates every ConfigMap labelled stamp.wasmctl.dev/enabled with
// stamp.wasmctl.dev/by: <its version>. Built with the tag stamp_v2 it is
// version 2.0.0, else 1.0.0: two plugin versions for the hot-reload tests.
package main

import (
	"encoding/json"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/abi/guest"
)

const annotation = "stamp.wasmctl.dev/by"

type object struct {
	Metadata struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace"`
		Annotations map[string]string `json:"annotations"`
		DeletionTS  *string           `json:"deletionTimestamp"`
	} `json:"metadata"`
}

func reconcile(req *abi.ReconcileRequest) (*abi.ReconcileResponse, error) {
	resp := abi.NewResponse()
	var o object
	if err := json.Unmarshal(req.Object, &o); err != nil {
		return nil, err
	}
	if o.Metadata.DeletionTS != nil || o.Metadata.Annotations[annotation] == version {
		return resp, nil
	}
	patch := map[string]any{"metadata": map[string]any{"annotations": map[string]string{annotation: version}}}
	ref := abi.ObjectRef{APIVersion: "v1", Kind: "ConfigMap", Namespace: o.Metadata.Namespace, Name: o.Metadata.Name}
	if err := resp.AddPatch(ref, abi.PatchMerge, patch); err != nil {
		return nil, err
	}
	return resp, nil
}

func init() {
	guest.Register(&abi.Manifest{
		Name:     "stamp",
		Version:  version,
		For:      abi.TypeRef{APIVersion: "v1", Kind: "ConfigMap"},
		Selector: "stamp.wasmctl.dev/enabled",
	}, reconcile)
}

func main() {}
