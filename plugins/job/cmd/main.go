//go:build wasip1

// Command job is the Job controller plugin:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o job.wasm ./plugins/job/cmd
package main

import (
	"wasmctl.dev/wasmctl/abi/guest"
	"wasmctl.dev/wasmctl/plugins/job"
)

func init() { guest.RegisterRaw(job.Manifest(), job.Reconcile) }

func main() {}
