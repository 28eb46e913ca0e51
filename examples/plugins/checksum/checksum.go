// Package checksum is an example controller written twice: in AssemblyScript
// (assembly/checksum.ts, built by build.sh into checksum.wasm) and here in
// Go (cmd/ is its wasm main). For every ConfigMap labelled
// checksum.wasmctl.dev/enabled=true it keeps two annotations:
// <prefix>/checksum, the FNV-1a 64 of the data (each key and value in UTF-8
// followed by a NUL byte, keys in byte order) in 16 hex digits, and
// <prefix>/keys, the number of keys. When either is missing or stale it
// sends one merge patch and a Normal Event. <prefix> is the controller
// config's "prefix" (default checksum.wasmctl.dev).
//
// The tests run both builds under the host's runtime and require the same
// response bytes for the same requests.
package checksum

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"

	"wasmctl.dev/wasmctl/abi"
)

// DefaultPrefix is the annotations' prefix when the config sets none.
const DefaultPrefix = "checksum.wasmctl.dev"

// Manifest is what describe returns.
func Manifest() *abi.Manifest {
	return &abi.Manifest{
		Name:            "checksum",
		Version:         "0.1.0",
		ABIVersion:      abi.Version,
		For:             abi.TypeRef{APIVersion: "v1", Kind: "ConfigMap"},
		Selector:        "checksum.wasmctl.dev/enabled=true",
		IgnoreOwnWrites: true,
	}
}

type configMap struct {
	Metadata struct {
		Name              string            `json:"name"`
		Namespace         string            `json:"namespace"`
		Annotations       map[string]string `json:"annotations"`
		DeletionTimestamp *string           `json:"deletionTimestamp"`
	} `json:"metadata"`
	Data map[string]string `json:"data"`
}

// Reconcile annotates req.Object with the checksum of its data.
func Reconcile(req *abi.ReconcileRequest) (*abi.ReconcileResponse, error) {
	cfg := struct {
		Prefix string `json:"prefix"`
	}{Prefix: DefaultPrefix}
	if len(req.Config) > 0 {
		if err := json.Unmarshal(req.Config, &cfg); err != nil {
			return nil, err
		}
	}
	var cm configMap
	if err := json.Unmarshal(req.Object, &cm); err != nil {
		return nil, err
	}
	if cm.Metadata.Name == "" {
		return nil, errors.New("object has no metadata.name")
	}
	resp := abi.NewResponse()
	if cm.Metadata.DeletionTimestamp != nil {
		return resp, nil
	}
	sum, keys := Checksum(cm.Data), strconv.Itoa(len(cm.Data))
	sumKey, keysKey := cfg.Prefix+"/checksum", cfg.Prefix+"/keys"
	if cm.Metadata.Annotations[sumKey] == sum && cm.Metadata.Annotations[keysKey] == keys {
		return resp, nil
	}
	patch := map[string]any{"metadata": map[string]any{"annotations": map[string]string{sumKey: sum, keysKey: keys}}}
	ref := abi.ObjectRef{APIVersion: "v1", Kind: "ConfigMap", Namespace: cm.Metadata.Namespace, Name: cm.Metadata.Name}
	if err := resp.AddPatch(ref, abi.PatchMerge, patch); err != nil {
		return nil, err
	}
	resp.Event(abi.EventNormal, "Checksummed", "data checksum %s over %s keys", sum, keys)
	return resp, nil
}

// Checksum is the FNV-1a 64 of data, keys in byte order, as 16 hex digits.
func Checksum(data map[string]string) string {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := fnv.New64a()
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write([]byte(data[k]))
		h.Write([]byte{0})
	}
	return fmt.Sprintf("%016x", h.Sum64())
}
