package guest

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"wasmctl.dev/wasmctl/abi"
)

// This file builds on every platform, so the API is documented (go doc) and
// type-checked natively; only the exports (exports.go) and the guest's I/O
// and garbage-collector handling are wasip1-only. On other platforms
// Register and RegisterRaw only record the function: nothing calls it.

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
//
// The request is decoded with encoding/json and refused unless its
// apiVersion is abi.Version; m's apiVersion, kind and abiVersion default to
// this ABI's. A nil response is an empty one.
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

// RegisterRaw is Register for a function that decodes the request itself
// (and checks its apiVersion).
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
	manifest, reconcile, registerErr = m, fn, nil
}

// Config returns the value of key in the plugin's Extism configuration
// (the host's controllers[].pluginConfig), available from the module's
// init on. Natively (tests) there is none: ok is false.
func Config(key string) (value string, ok bool) { return config(key) }

// RegisterError makes describe and reconcile fail with err: for a module
// that cannot tell from its configuration what to run (see
// plugins/workloads), so the host reports why at load.
func RegisterError(err error) {
	manifest, reconcile, registerErr = nil, nil, err
}

var registerErr error

var errNotRegistered = errors.New("no reconcile function registered (call guest.Register from init)")

// reconcileJSON is the work of the reconcile export: the response JSON, or
// the error it reports.
func reconcileJSON(input []byte) ([]byte, error) {
	if registerErr != nil {
		return nil, registerErr
	}
	if reconcile == nil {
		return nil, errNotRegistered
	}
	resp, err := reconcile(input)
	if err != nil {
		return nil, err
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
	if math.IsNaN(resp.RequeueAfterSeconds) || math.IsInf(resp.RequeueAfterSeconds, 0) {
		return encode(resp) // json.Marshal's error names the value
	}
	return appendResponse(nil, resp), nil
}

// describeJSON is the work of the describe export.
func describeJSON() ([]byte, error) {
	if registerErr != nil {
		return nil, registerErr
	}
	if manifest == nil {
		return nil, errors.New("this plugin has no manifest")
	}
	return encode(manifest)
}

func encode(v any) ([]byte, error) {
	out, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return out, nil
}
