package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"wasmctl.dev/wasmctl/host/runtime"
	"wasmctl.dev/wasmctl/host/runtime/internal/wasmbin"
	w "wasmctl.dev/wasmctl/host/runtime/internal/wasmtest"
)

// mod is a hand-assembled module: types, imports, one type index per
// defined function with its body, exports, an optional start function,
// custom sections. It defines and exports one page of "memory" unless
// noMemory.
type mod struct {
	types, imports, exports, customs [][]byte
	funcs                            []uint32
	bodies                           [][]byte
	start                            *uint32
	noMemory                         bool
}

func (m mod) wasm() []byte {
	var funcs [][]byte
	for _, f := range m.funcs {
		funcs = append(funcs, w.U(f))
	}
	secs := [][]byte{w.Sec(wasmbin.SecType, w.Vec(m.types...))}
	if len(m.imports) > 0 {
		secs = append(secs, w.Sec(wasmbin.SecImport, w.Vec(m.imports...)))
	}
	secs = append(secs, w.Sec(wasmbin.SecFunction, w.Vec(funcs...)))
	exports := m.exports
	if !m.noMemory {
		secs = append(secs, w.Memory(1))
		exports = append(exports, w.ExportMemory("memory"))
	}
	secs = append(secs, w.Sec(wasmbin.SecExport, w.Vec(exports...)))
	if m.start != nil {
		secs = append(secs, w.Sec(wasmbin.SecStart, w.U(*m.start)))
	}
	secs = append(secs, w.Sec(wasmbin.SecCode, w.Vec(m.bodies...)))
	return w.Module(append(secs, m.customs...)...)
}

var (
	tNullaryI32 = w.FuncType(nil, []byte{w.I32}) // () -> i32, the Extism export
	tNullary    = w.FuncType(nil, nil)
	tI32I32     = w.FuncType([]byte{w.I32}, []byte{w.I32})
)

func loadWasm(t *testing.T, wasm []byte, opts runtime.LoadOptions) (*runtime.Plugin, error) {
	t.Helper()
	rt, err := runtime.New(runtime.Options{CacheDir: "none"})
	if err != nil {
		t.Fatal(err)
	}
	if opts.Name == "" {
		opts.Name = "hand"
	}
	p, err := rt.Load(context.Background(), wasm, opts)
	if p != nil {
		t.Cleanup(func() { p.Close(context.Background()) })
	}
	return p, err
}

// TestNoImportsInterrupted: a module importing nothing (no WASI, no Extism)
// gets the loop checks, and a call spinning in a loop is stopped at its
// timeout; the next call gets a fresh instance.
func TestNoImportsInterrupted(t *testing.T) {
	for _, noMemory := range []bool{false, true} {
		t.Run(fmt.Sprintf("noMemory=%v", noMemory), func(t *testing.T) { testNoImportsInterrupted(t, noMemory) })
	}
}

func testNoImportsInterrupted(t *testing.T, noMemory bool) {
	wasm := mod{
		types:    [][]byte{tNullaryI32},
		funcs:    []uint32{0, 0},
		bodies:   [][]byte{w.Body(nil, w.Forever, w.I32Const(0)), w.Body(nil, w.I32Const(0))},
		exports:  [][]byte{w.ExportFunc("spin", 0), w.ExportFunc("ok", 1)},
		noMemory: noMemory,
	}.wasm()
	p, err := loadWasm(t, wasm, runtime.LoadOptions{Limits: runtime.Limits{Timeout: 200 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Interrupt() != runtime.InterruptLoopChecks {
		t.Fatalf("interrupted by %q (%s), want the loop checks", p.Interrupt(), p.InterruptNote())
	}
	start := time.Now()
	_, err = p.Call(context.Background(), "spin", nil)
	var ce *runtime.CallError
	if !errors.As(err, &ce) || ce.Kind != runtime.FailureTimeout {
		t.Fatalf("got %v, want a timeout", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("stopped after %s", took)
	}
	if _, err := p.Call(context.Background(), "ok", nil); err != nil {
		t.Fatal(err)
	}
}

// TestLoadRefuses: modules the host could load but never run, refused at
// load with the export or import, what is wrong and the fix.
func TestLoadRefuses(t *testing.T) {
	ret0 := w.Body(nil, w.I32Const(0))
	extism := func(name string, typ uint32) []byte { return w.ImportFunc("extism:host/env", name, typ) }
	for _, tc := range []struct {
		name string
		mod  mod
		want []string
	}{
		{"reconcile takes a parameter", mod{
			types: [][]byte{tI32I32}, funcs: []uint32{0}, bodies: [][]byte{w.Body(nil, w.LocalGet0)},
			exports: [][]byte{w.ExportFunc("reconcile", 0)},
		}, []string{"exports reconcile as (i32) -> i32", "calls it as () -> i32", "export function reconcile(): i32", "int32_t reconcile(void)"}},
		{"describe returns nothing", mod{
			types: [][]byte{tNullary}, funcs: []uint32{0}, bodies: [][]byte{w.Body(nil)},
			exports: [][]byte{w.ExportFunc("describe", 0)},
		}, []string{"exports describe as () -> ()", "() -> i32"}},
		{"_initialize returns a value", mod{
			types: [][]byte{tNullaryI32}, funcs: []uint32{0}, bodies: [][]byte{ret0},
			exports: [][]byte{w.ExportFunc("_initialize", 0)},
		}, []string{"exports _initialize as () -> i32", "() -> ()"}},
		{"AssemblyScript without --use abort", mod{
			types:   [][]byte{tNullaryI32, w.FuncType([]byte{w.I32, w.I32, w.I32, w.I32}, nil)},
			imports: [][]byte{w.ImportFunc("env", "abort", 1)},
			funcs:   []uint32{0}, bodies: [][]byte{ret0}, exports: [][]byte{w.ExportFunc("reconcile", 1)},
		}, []string{"env.abort", "AssemblyScript", "--use abort="}},
		{"AssemblyScript trace", mod{
			types:   [][]byte{tNullaryI32, w.FuncType([]byte{w.I32, w.I32}, nil)},
			imports: [][]byte{w.ImportFunc("env", "trace", 1)},
			funcs:   []uint32{0}, bodies: [][]byte{ret0}, exports: [][]byte{w.ExportFunc("reconcile", 1)},
		}, []string{"env.trace", "--use trace="}},
		{"undefined C symbol", mod{
			types: [][]byte{tNullaryI32}, imports: [][]byte{w.ImportFunc("env", "helper", 0)},
			funcs: []uint32{0}, bodies: [][]byte{ret0}, exports: [][]byte{w.ExportFunc("reconcile", 1)},
			customs: [][]byte{w.Producers("C11")},
		}, []string{"env.helper", "undefined symbol", "--allow-undefined"}},
		{"Extism host function of the application", mod{
			types: [][]byte{tNullaryI32}, imports: [][]byte{w.ImportFunc("extism:host/user", "lookup", 0)},
			funcs: []uint32{0}, bodies: [][]byte{ret0}, exports: [][]byte{w.ExportFunc("reconcile", 1)},
		}, []string{"extism:host/user.lookup", "wasmctl defines none"}},
		{"unknown Extism kernel function", mod{
			types: [][]byte{tNullaryI32}, imports: [][]byte{extism("input_everything", 0)},
			funcs: []uint32{0}, bodies: [][]byte{ret0}, exports: [][]byte{w.ExportFunc("reconcile", 1)},
		}, []string{"extism:host/env.input_everything", "does not provide", "error_set"}},
		{"Extism function of the wrong type", mod{
			types: [][]byte{tNullaryI32, tI32I32}, imports: [][]byte{extism("alloc", 1)},
			funcs: []uint32{0}, bodies: [][]byte{ret0}, exports: [][]byte{w.ExportFunc("reconcile", 1)},
		}, []string{"imports extism:host/env.alloc as (i32) -> i32", "the host's is (i64) -> i64"}},
		{"old WASI", mod{
			types: [][]byte{tNullaryI32}, imports: [][]byte{w.ImportFunc("wasi_unstable", "fd_write", 0)},
			funcs: []uint32{0}, bodies: [][]byte{ret0}, exports: [][]byte{w.ExportFunc("reconcile", 1)},
		}, []string{"wasi_unstable", "wasi_snapshot_preview1"}},
		{"imported memory", mod{
			types:   [][]byte{tNullaryI32},
			imports: [][]byte{w.Cat(w.Str("env"), w.Str("memory"), []byte{wasmbin.ImportMemory, 0x00, 1})},
			funcs:   []uint32{0}, bodies: [][]byte{ret0}, exports: [][]byte{w.ExportFunc("reconcile", 0), w.ExportMemory("memory")},
			noMemory: true,
		}, []string{"imports its memory (env.memory)", "--importMemory", "--import-memory"}},
		{"fast path without memory", mod{
			types: [][]byte{tNullaryI32, {0x60, 2, 0x7f, 0x7f, 0}}, imports: [][]byte{w.ImportFunc("wasmctl:host/env", "output_write", 1)},
			funcs: []uint32{0}, bodies: [][]byte{ret0},
			exports: [][]byte{w.ExportFunc("reconcile", 1)}, noMemory: true,
		}, []string{`imports wasmctl:host/env but exports no memory named "memory"`}},
		{"C command", mod{
			types: [][]byte{tNullary}, funcs: []uint32{0}, bodies: [][]byte{w.Body(nil)},
			exports: [][]byte{w.ExportFunc("_start", 0)}, customs: [][]byte{w.Producers("C11")},
		}, []string{"WASI command", "this module looks like C: clang --target=wasm32-wasi -mexec-model=reactor", "Go: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared", `Rust: crate-type = ["cdylib"]`, "AssemblyScript: asc --exportStart _initialize"}},
		{"Rust command", mod{
			types: [][]byte{tNullary}, funcs: []uint32{0}, bodies: [][]byte{w.Body(nil)},
			exports: [][]byte{w.ExportFunc("_start", 0)}, customs: [][]byte{w.Producers("Rust")},
		}, []string{`this module looks like Rust: crate-type = ["cdylib"]`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadWasm(t, tc.mod.wasm(), runtime.LoadOptions{})
			if err == nil {
				t.Fatal("loaded")
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			t.Log(err)
		})
	}
}

// TestInstantiateFailures: a start function (AssemblyScript top-level code,
// C constructors) or _initialize that traps or exits fails the call as
// instantiate, saying which and how.
func TestInstantiateFailures(t *testing.T) {
	zero := uint32(1)
	procExit := w.ImportFunc("wasi_snapshot_preview1", "proc_exit", 2)
	types := [][]byte{tNullaryI32, tNullary, w.FuncType([]byte{w.I32}, nil)}
	for _, tc := range []struct {
		name string
		mod  mod
		want []string
	}{
		{"start traps", mod{
			types: types, funcs: []uint32{0, 1}, start: &zero,
			bodies:  [][]byte{w.Body(nil, w.I32Const(0)), w.Body(nil, w.Unreachable)},
			exports: [][]byte{w.ExportFunc("reconcile", 0)}, customs: [][]byte{w.Producers("C11")},
		}, []string{"its start function trapped", "unreachable", "constructors"}},
		{"start exits", mod{
			types: types, imports: [][]byte{procExit}, funcs: []uint32{0, 1}, start: func() *uint32 { i := uint32(2); return &i }(),
			bodies:  [][]byte{w.Body(nil, w.I32Const(0)), w.Body(nil, w.I32Const(3), w.Call(0))},
			exports: [][]byte{w.ExportFunc("reconcile", 1)},
		}, []string{"its start function exited with code 3"}},
		{"_initialize exits", mod{
			types: types, imports: [][]byte{procExit}, funcs: []uint32{0, 1},
			bodies:  [][]byte{w.Body(nil, w.I32Const(0)), w.Body(nil, w.I32Const(2), w.Call(0))},
			exports: [][]byte{w.ExportFunc("reconcile", 1), w.ExportFunc("_initialize", 2)}, customs: [][]byte{w.Producers("Go")},
		}, []string{"_initialize exited with code 2", "package init"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := loadWasm(t, tc.mod.wasm(), runtime.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Call(context.Background(), "reconcile", nil)
			var ce *runtime.CallError
			if !errors.As(err, &ce) || ce.Kind != runtime.FailureInstantiate {
				t.Fatalf("got %v, want an instantiate failure", err)
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			t.Log(err)
		})
	}
}

// TestErrorSetBeforeTrap: what the plugin set through Extism's error_set
// just before trapping (AssemblyScript's and C's aborts do that) is in the
// CallError.
func TestErrorSetBeforeTrap(t *testing.T) {
	const msg = "boom at x.ts:1:2" // two u64 stores
	le := func(s string) int64 {
		var v uint64
		for i := 7; i >= 0; i-- {
			v = v<<8 | uint64(s[i])
		}
		return int64(v)
	}
	// local 0 = alloc(16); store_u64(l0, ...); store_u64(l0+8, ...); error_set(l0); unreachable
	getL0 := []byte{0x20, 0}
	body := w.Body([][2]byte{{1, w.I64}},
		w.I64Const(16), w.Call(0), []byte{0x21, 0},
		getL0, w.I64Const(le(msg[:8])), w.Call(1),
		getL0, w.I64Const(8), []byte{0x7c}, w.I64Const(le(msg[8:])), w.Call(1),
		getL0, w.Call(2), w.Unreachable)
	wasm := mod{
		types: [][]byte{
			w.FuncType([]byte{w.I64}, []byte{w.I64}), w.FuncType([]byte{w.I64, w.I64}, nil),
			w.FuncType([]byte{w.I64}, nil), tNullaryI32,
		},
		imports: [][]byte{
			w.ImportFunc("extism:host/env", "alloc", 0), w.ImportFunc("extism:host/env", "store_u64", 1),
			w.ImportFunc("extism:host/env", "error_set", 2),
		},
		funcs: []uint32{3}, bodies: [][]byte{body}, exports: [][]byte{w.ExportFunc("reconcile", 3)},
	}.wasm()
	p, err := loadWasm(t, wasm, runtime.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Call(context.Background(), "reconcile", nil)
	var ce *runtime.CallError
	if !errors.As(err, &ce) || ce.Kind != runtime.FailureTrap || !strings.HasPrefix(ce.Msg, `error set by the plugin before it failed: "`+msg+`"; wasm error: unreachable`) {
		t.Fatalf("got %v, want a trap with the plugin's error", err)
	}
	t.Log(err)
}

// TestUncallableExport: an export the host cannot call (it takes
// parameters) fails the call with its signature, without a trap.
func TestUncallableExport(t *testing.T) {
	wasm := mod{
		types: [][]byte{tI32I32}, funcs: []uint32{0}, bodies: [][]byte{w.Body(nil, w.LocalGet0)},
		exports: [][]byte{w.ExportFunc("helper", 0)},
	}.wasm()
	p, err := loadWasm(t, wasm, runtime.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Call(context.Background(), "helper", nil)
	var ce *runtime.CallError
	if !errors.As(err, &ce) || ce.Kind != runtime.FailureNoExport || !strings.Contains(ce.Msg, "(i32) -> i32") {
		t.Fatalf("got %v, want no_export naming the signature", err)
	}
}
