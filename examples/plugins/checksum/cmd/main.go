//go:build wasip1

// Command checksum is the Go build of the checksum example controller (the
// AssemblyScript one is ../assembly/checksum.ts):
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o checksum-go.wasm ./examples/plugins/checksum/cmd
package main

import (
	"wasmctl.dev/wasmctl/abi/guest"
	"wasmctl.dev/wasmctl/examples/plugins/checksum"
)

func init() { guest.Register(checksum.Manifest(), checksum.Reconcile) }

func main() {}
