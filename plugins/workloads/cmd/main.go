//go:build wasip1

// Command workloads is the module of the six workload controllers
// (package workloads); pluginConfig.controller picks one per host entry:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o workloads.wasm ./plugins/workloads/cmd
package main

import "wasmctl.dev/wasmctl/plugins/workloads"

func init() { workloads.Register() }

func main() {}
