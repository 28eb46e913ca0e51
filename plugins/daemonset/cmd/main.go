//go:build wasip1

// Command daemonset is the DaemonSet controller plugin:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o daemonset.wasm ./plugins/daemonset/cmd
package main

import (
	"wasmctl.dev/wasmctl/abi/guest"
	"wasmctl.dev/wasmctl/plugins/daemonset"
)

func init() { guest.RegisterRaw(daemonset.Manifest(), daemonset.Reconcile) }

func main() {}
