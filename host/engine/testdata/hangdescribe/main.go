// Command hangdescribe is a plugin whose describe never returns.
package main

import "github.com/extism/go-pdk"

//go:wasmexport describe
func describe() int32 {
	for i := 0; ; i++ {
		if i < 0 {
			break
		}
	}
	return 0
}

//go:wasmexport reconcile
func reconcile() int32 { pdk.OutputString(`{}`); return 0 }

func main() {}
