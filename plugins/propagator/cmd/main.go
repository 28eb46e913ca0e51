//go:build wasip1

// Command propagator is the ConfigMap propagation plugin:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o propagator.wasm ./plugins/propagator/cmd
package main

import (
	"wasmctl.dev/wasmctl/abi/guest"
	"wasmctl.dev/wasmctl/plugins/propagator"
)

func init() { guest.Register(propagator.Manifest(), propagator.Reconcile) }

func main() {}
