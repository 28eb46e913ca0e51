package runtime_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"wasmctl.dev/wasmctl/host/runtime"
)

// BenchmarkCall measures one plugin call from the host's side: the input
// crossing into the guest, the export, the output crossing back.
func BenchmarkCall(b *testing.B) {
	p := load(b, "./testdata/bench", runtime.LoadOptions{})
	in100k := bytes.Repeat([]byte("0123456789abcdef"), 100<<10/16)
	cases := []struct {
		name, export string
		input        []byte
	}{
		{"empty", "empty", nil},
		{"100KiB-in-10KiB-out/wasmctl-fast-path", "head", in100k},
		{"100KiB-in-10KiB-out/go-pdk-standard", "pdkhead", in100k},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			b.SetBytes(int64(len(tc.input)))
			for b.Loop() {
				if _, err := p.Call(ctx, tc.export, tc.input); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTimeoutCheck measures what an interruptible guest costs: the same
// 10M-iteration loop with the host's loop checks (the default), with
// wazero's WithCloseOnContextDone, and not interruptible at all.
func BenchmarkTimeoutCheck(b *testing.B) {
	for _, tc := range []struct {
		name      string
		timeout   time.Duration
		interrupt string
	}{
		{"loop-checks", 10 * time.Second, ""},
		{"wazero", 10 * time.Second, runtime.InterruptWazero},
		{"not-interruptible", -1, ""},
	} {
		b.Run(tc.name, func(b *testing.B) {
			p := load(b, "./testdata/bench", runtime.LoadOptions{Limits: runtime.Limits{Timeout: tc.timeout}, Interrupt: tc.interrupt})
			for b.Loop() {
				if _, err := p.Call(context.Background(), "spin", []byte("10000000")); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
