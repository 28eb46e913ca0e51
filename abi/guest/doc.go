// Package guest turns a Go function into a wasmctl plugin: it provides the
// "reconcile" and "describe" exports, decodes the request, encodes the
// response and reports errors through the Extism error channel.
//
// A plugin's main package is then a few lines:
//
//	package main
//
//	import (
//		"wasmctl.dev/wasmctl/abi/guest"
//		"example.com/myplugin/logic"
//	)
//
//	func init() { guest.Register(logic.Manifest(), logic.Reconcile) }
//
//	func main() {} // a reactor: _initialize runs init, main never runs
//
// built with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o myplugin.wasm .
//
// Register must be called from init: a c-shared (reactor) module runs package
// initialisation in _initialize and never calls main.
//
// The package builds on every platform, so its API shows in go doc and
// type-checks in native builds and tests; elsewhere than GOOS=wasip1,
// Register and RegisterRaw only record the function and there are no
// exports.
//
// The response is written as encoding/json would write it, except that the
// raw JSON of each action's object and patch and of the memo is copied as
// it is rather than compacted again (abi's Add helpers make it with
// json.Marshal; the second pass cost as much as the first under wasm). Raw
// JSON a plugin puts there itself must be valid: the host refuses a whole
// response that is not.
//
// By default the input and output cross in one host call each through the
// wasmctl extension "wasmctl:host/env"; such a module only runs on a wasmctl
// host. Build with -tags wasmctl_portable to use go-pdk's standard Extism
// functions only, so the module also runs on other Extism hosts (input costs
// one host call per 8 bytes then).
package guest
