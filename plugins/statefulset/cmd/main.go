//go:build wasip1

// Command statefulset is the StatefulSet controller plugin:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o statefulset.wasm ./plugins/statefulset/cmd
package main

import (
	"wasmctl.dev/wasmctl/abi/guest"
	"wasmctl.dev/wasmctl/plugins/statefulset"
)

func init() { guest.RegisterRaw(statefulset.Manifest(), statefulset.Reconcile) }

func main() {}
