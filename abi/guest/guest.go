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

// RawReconcileFunc gets the request JSON undecoded, for plugins that parse
// it with a faster decoder than encoding/json.
type RawReconcileFunc func(request []byte) (*abi.ReconcileResponse, error)

var (
	manifest  *abi.Manifest
	reconcile RawReconcileFunc
)

// Register sets the plugin's manifest (returned by "describe"; nil for none)
// and its reconcile function. Call it from init.
func Register(m *abi.Manifest, fn ReconcileFunc) {
	RegisterRaw(m, func(input []byte) (*abi.ReconcileResponse, error) {
		var req abi.ReconcileRequest
		if err := json.Unmarshal(input, &req); err != nil {
			return nil, fmt.Errorf("decode request: %w", err)
		}
		if req.APIVersion != abi.Version {
			return nil, fmt.Errorf("request apiVersion %q, this plugin speaks %q", req.APIVersion, abi.Version)
		}
		return fn(&req)
	})
}

// RegisterRaw is Register for a function that decodes the request itself.
func RegisterRaw(m *abi.Manifest, fn RawReconcileFunc) {
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
	defer collectIfNeeded()
	if reconcile == nil {
		return fail(fmt.Errorf("no reconcile function registered (call guest.Register from init)"))
	}
	resp, err := reconcile(readInput())
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
	defer collectIfNeeded()
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
