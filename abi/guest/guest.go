//go:build wasip1

package guest

import (
	"encoding/json"
	"fmt"

	"github.com/extism/go-pdk"

	"wasmctl.dev/wasmctl/abi"
)

// ReconcileFunc is a plugin's logic: one request in, one response out. An
// error fails the call; the host retries the key with backoff.
type ReconcileFunc func(req *abi.ReconcileRequest) (*abi.ReconcileResponse, error)

var (
	manifest  *abi.Manifest
	reconcile ReconcileFunc
)

// Register sets the plugin's manifest (returned by "describe"; nil for none)
// and its reconcile function. Call it from init.
func Register(m *abi.Manifest, fn ReconcileFunc) {
	if m != nil {
		if m.APIVersion == "" {
			m.APIVersion = abi.Version
		}
		if m.Kind == "" {
			m.Kind = abi.KindManifest
		}
		if m.ABIVersion == "" {
			m.ABIVersion = abi.Version
		}
	}
	manifest, reconcile = m, fn
}

//go:wasmexport reconcile
func reconcileExport() int32 {
	if reconcile == nil {
		return fail(fmt.Errorf("no reconcile function registered (call guest.Register from init)"))
	}
	var req abi.ReconcileRequest
	if err := json.Unmarshal(readInput(), &req); err != nil {
		return fail(fmt.Errorf("decode request: %w", err))
	}
	if req.APIVersion != abi.Version {
		return fail(fmt.Errorf("request apiVersion %q, this plugin speaks %q", req.APIVersion, abi.Version))
	}
	resp, err := reconcile(&req)
	if err != nil {
		return fail(err)
	}
	if resp == nil {
		resp = abi.NewResponse()
	}
	if resp.APIVersion == "" {
		resp.APIVersion = abi.Version
	}
	if resp.Kind == "" {
		resp.Kind = abi.KindReconcileResponse
	}
	return writeJSON(resp)
}

//go:wasmexport describe
func describeExport() int32 {
	if manifest == nil {
		return fail(fmt.Errorf("this plugin has no manifest"))
	}
	return writeJSON(manifest)
}

func writeJSON(v any) int32 {
	out, err := json.Marshal(v)
	if err != nil {
		return fail(fmt.Errorf("encode: %w", err))
	}
	writeOutput(out)
	return 0
}

func fail(err error) int32 {
	pdk.SetError(err)
	return 1
}
