// Command wasmctl-host runs Kubernetes controllers written as WebAssembly
// plugins. See README.md and docs/CONFIG.md.
package main

import (
	"fmt"
	"os"

	"wasmctl.dev/wasmctl/host/cli"
)

func main() {
	if err := cli.NewRootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
