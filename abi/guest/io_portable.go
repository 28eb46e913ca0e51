//go:build wasip1 && wasmctl_portable

package guest

import "github.com/extism/go-pdk"

func readInput() []byte { return pdk.Input() }

func writeOutput(b []byte) { pdk.Output(b) }
