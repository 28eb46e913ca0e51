//go:build wasip1

// Command cronjob is the CronJob controller plugin:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o cronjob.wasm ./plugins/cronjob/cmd
package main

import (
	"wasmctl.dev/wasmctl/abi/guest"
	"wasmctl.dev/wasmctl/plugins/cronjob"
)

func init() { guest.Register(cronjob.Manifest(), cronjob.Reconcile) }

func main() {}
