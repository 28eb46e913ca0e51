//go:build wasip1

// Command deployment is the Deployment controller plugin:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o deployment.wasm ./plugins/deployment/cmd
package main

import (
	"wasmctl.dev/wasmctl/abi/guest"
	"wasmctl.dev/wasmctl/plugins/deployment"
)

func init() { guest.RegisterRaw(deployment.Manifest(), deployment.Reconcile) }

func main() {}
