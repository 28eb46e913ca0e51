package interrupt_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"wasmctl.dev/wasmctl/host/runtime/internal/interrupt"
)

// module assembles a binary module from sections (id, payload).
func module(sections ...[]byte) []byte {
	m := []byte("\x00asm\x01\x00\x00\x00")
	for _, s := range sections {
		m = append(m, s[0])
		m = binary.AppendUvarint(m, uint64(len(s)-1))
		m = append(m, s[1:]...)
	}
	return m
}

func section(id byte, payload ...byte) []byte { return append([]byte{id}, payload...) }

func export(name string, kind byte, index byte) []byte {
	return append(append([]byte{byte(len(name))}, name...), kind, index)
}

func name(s string) []byte { return append([]byte{byte(len(s))}, s...) }

// spin is `func spin(n i32) i32`: counts n down in a loop and returns 7; with
// n < 0 it never ends. It imports WASI sched_yield (function 0), as Go's
// wasip1 runtime does; spin is function 1. withGlobal adds an imported and a
// defined global, so the fuel global gets index 2.
func spin(withGlobals bool) []byte {
	typ := section(1, 2, 0x60, 1, 0x7f, 1, 0x7f, 0x60, 0, 1, 0x7f)
	imps := []byte{1}
	imps = append(append(append(imps, name("wasi_snapshot_preview1")...), name("sched_yield")...), 0x00, 1)
	if withGlobals {
		imps[0] = 2
		imps = append(append(append(imps, name("env")...), name("g")...), 0x03, 0x7f, 0x00)
	}
	imports := section(2, imps...)
	funcs := section(3, 1, 0)
	body := []byte{
		0,          // no locals
		0x03, 0x40, // loop
		0x20, 0x00, 0x41, 0x01, 0x6b, 0x21, 0x00, // n = n - 1
		0x20, 0x00, 0x0d, 0x00, // br_if 0 (n != 0)
		0x0b,       // end loop
		0x41, 0x07, // i32.const 7
		0x0b, // end
	}
	code := section(10, append(append([]byte{1}, byte(len(body))), body...)...)
	exports := section(7, append([]byte{1}, export("spin", 0, 1)...)...)
	if !withGlobals {
		return module(typ, imports, funcs, exports, code)
	}
	globals := section(6, 1, 0x7e, 0x01, 0x42, 0x05, 0x0b)
	return module(typ, imports, funcs, globals, exports, code)
}

func TestInstrument(t *testing.T) {
	for _, tc := range []struct {
		name        string
		withGlobals bool
		wantGlobal  byte // index of the fuel global
	}{
		{"no globals", false, 0},
		{"after an imported and a defined global", true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			out, loops, err := interrupt.Instrument(spin(tc.withGlobals))
			if err != nil {
				t.Fatal(err)
			}
			if loops != 1 {
				t.Fatalf("%d loops instrumented, want 1", loops)
			}
			if !bytes.Contains(out, []byte{0x03, 0x40, 0x23, tc.wantGlobal, 0x45, 0x04, 0x40, 0x10, 0x00}) {
				t.Fatalf("no fuel check calling function 0 after the loop: % x", out)
			}
			rt := wazero.NewRuntime(ctx)
			defer rt.Close(ctx)
			// Compiling validates the module: every index and type.
			compiled, err := rt.CompileModule(ctx, out)
			if err != nil {
				t.Fatalf("instrumented module does not compile: %v", err)
			}
			if m, n, _ := compiled.ImportedFunctions()[0].Import(); m != interrupt.HostModule || n != interrupt.HostFunction {
				t.Fatalf("sched_yield imported from %s.%s", m, n)
			}
			if tc.withGlobals {
				// wazero cannot provide the imported global (host modules
				// export functions only); validation is what this case checks.
				return
			}
			yields := yieldHost(t, ctx, rt)
			mod, err := rt.InstantiateModule(ctx, compiled, wazero.NewModuleConfig())
			if err != nil {
				t.Fatal(err)
			}
			// Unchanged behaviour; the host is called every Fuel iterations.
			res, err := mod.ExportedFunction("spin").Call(ctx, 10*interrupt.Fuel+5)
			if err != nil || res[0] != 7 {
				t.Fatalf("spin = %v, %v", res, err)
			}
			if n := yields.Load(); n != 10 {
				t.Fatalf("host called %d times in 10×Fuel+5 iterations, want 10", n)
			}
			// The host stops an endless loop once the context is done.
			requireStopped(t, ctx, mod)
		})
	}
}

func TestInstrumentRefuses(t *testing.T) {
	simd := spin(false)
	// Replace `i32.const 7` with a SIMD opcode prefix: not understood.
	i := bytes.Index(simd, []byte{0x41, 0x07, 0x0b})
	simd = append(append(append([]byte(nil), simd[:i]...), 0xfd, 0x0c), simd[i+2:]...)
	for _, tc := range []struct {
		name   string
		module []byte
		want   string
	}{
		{"not wasm", []byte("hello world!"), "not a WebAssembly"},
		{"truncated", spin(false)[:len(spin(false))-3], "unexpected end"},
		{"SIMD", simd, "not supported"},
		{"no code", module(section(1, 0)), "no code"},
		{"tail call", module(section(1, 1, 0x60, 0, 0), section(3, 1, 0), section(10, 1, 4, 0, 0x12, 0x00, 0x0b)), "0x12"},
		{"GC types", module(section(1, 1, 0x4e, 0), section(10, 0)), "type form"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := interrupt.Instrument(tc.module)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// requireStopped calls mod's spin export with -1 (loop for ever) under a
// 50 ms deadline and fails unless the host ends it with the deadline's exit
// code.
func requireStopped(t *testing.T, ctx context.Context, mod api.Module) {
	t.Helper()
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := mod.ExportedFunction("spin").Call(cctx, api.EncodeI32(-1))
		done <- err
	}()
	select {
	case err := <-done:
		var exit *sys.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != sys.ExitCodeDeadlineExceeded {
			t.Fatalf("interrupted call: %v, want exit code deadline exceeded", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the loop did not stop")
	}
}

// yieldHost instantiates the host side of the loop checks in rt: it counts
// its calls and ends the call once ctx is done, as the runtime's does.
func yieldHost(t *testing.T, ctx context.Context, rt wazero.Runtime) *atomic.Int64 {
	t.Helper()
	var yields atomic.Int64
	_, err := rt.NewHostModuleBuilder(interrupt.HostModule).NewFunctionBuilder().
		WithGoFunction(api.GoFunc(func(ctx context.Context, stack []uint64) {
			yields.Add(1)
			if ctx.Err() != nil {
				panic(sys.NewExitError(sys.ExitCodeDeadlineExceeded))
			}
			stack[0] = 0
		}), nil, []api.ValueType{api.ValueTypeI32}).Export(interrupt.HostFunction).Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return &yields
}
