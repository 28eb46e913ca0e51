// Package abi is the contract between the wasmctl host and its Wasm controller
// plugins, version wasmctl.dev/v1alpha1. It is the public API of wasmctl.
//
// A plugin is an Extism plugin: a WebAssembly module that exports
//
//   - "reconcile" (required): reads a ReconcileRequest as JSON from the Extism
//     input, writes a ReconcileResponse as JSON to the Extism output and
//     returns 0; on failure it sets the Extism error and returns non-zero.
//   - "describe" (optional): writes its Manifest as JSON to the output, so a
//     .wasm can be configured with only its path.
//
// The host hands the plugin one primary object per call together with the
// objects it controls ("children"), the objects it may adopt ("orphans") and
// whatever else its manifest asks for ("related"), and the current time: a
// plugin never reads a clock, so every call is deterministic and replayable.
// The plugin answers with actions (create, update, updateStatus, patch,
// delete), Events to record on the primary, and an optional timed requeue. The
// host validates the whole response against the plugin's permissions before it
// applies any of it.
//
// This package depends on the standard library only (encoding/json), so it
// builds for GOOS=wasip1 and keeps plugins small. Package abi/guest wires a Go
// plugin's reconcile function to the exports; docs/ABI.md is the reference.
package abi
