//go:build wasip1

// Command replicaset is the ReplicaSet controller plugin:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o replicaset.wasm ./plugins/replicaset/cmd
package main

import (
	"wasmctl.dev/wasmctl/abi/guest"
	"wasmctl.dev/wasmctl/plugins/replicaset"
)

func init() { guest.RegisterRaw(replicaset.Manifest(), replicaset.Reconcile) }

func main() {}
