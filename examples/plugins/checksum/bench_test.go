package checksum_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/host/plugintest"
	"wasmctl.dev/wasmctl/host/runtime"
)

// BenchmarkCall is one reconcile of the example under the host's runtime:
// the AssemblyScript and Go builds, interrupted by the host's loop checks
// (the default) or wazero's WithCloseOnContextDone, on a small ConfigMap
// and on one of 100 KiB. Every call answers with a patch.
func BenchmarkCall(b *testing.B) {
	data := map[string]string{}
	for i := 0; len(data)*80 < 100<<10; i++ {
		data[fmt.Sprintf("key-%05d", i)] = strings.Repeat("v", 64)
	}
	inputs := []struct {
		name string
		req  []byte
	}{
		{"small", request(b, configMap("app", nil, map[string]string{"a": "1", "b": "2", "config.yaml": "x: 1\n"}), "")},
		{"100KiB", request(b, configMap("big", nil, data), "")},
	}
	for _, lang := range []string{"AssemblyScript", "Go"} {
		for _, mode := range []string{runtime.InterruptLoopChecks, runtime.InterruptWazero} {
			opts := runtime.LoadOptions{}
			if mode == runtime.InterruptWazero {
				opts.Interrupt = mode
			}
			var p *plugintest.Plugin
			if lang == "Go" {
				p = loadGo(b, opts)
			} else {
				p = loadAS(b, opts)
			}
			for _, in := range inputs {
				b.Run(lang+"/"+in.name+"/"+mode, func(b *testing.B) {
					if p.Interrupt() != mode {
						b.Fatalf("interrupted by %s", p.Interrupt())
					}
					b.SetBytes(int64(len(in.req)))
					for b.Loop() {
						if _, err := p.Call(context.Background(), abi.ExportReconcile, in.req); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}
