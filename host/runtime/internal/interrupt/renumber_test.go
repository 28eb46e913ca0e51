package interrupt_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"wasmctl.dev/wasmctl/host/runtime/internal/interrupt"
	"wasmctl.dev/wasmctl/host/runtime/internal/wasmbin"
	"wasmctl.dev/wasmctl/host/runtime/internal/wasmtest"
)

// The modules are assembled by hand (wasmtest).

const (
	tI32     = wasmtest.I32
	tFuncref = wasmtest.Funcref
)

var (
	u            = wasmtest.U
	i32          = wasmtest.I32Const
	str          = wasmtest.Str
	cat          = wasmtest.Cat
	vec          = wasmtest.Vec
	sec          = wasmtest.Sec
	assemble     = wasmtest.Module
	functype     = wasmtest.FuncType
	body         = wasmtest.Body
	custom       = wasmtest.Custom
	namemap      = wasmtest.NameMap
	call         = wasmtest.Call
	refFunc      = wasmtest.RefFunc
	callIndirect = wasmtest.CallIndirect
	opEnd        = wasmtest.End
	localGet0    = wasmtest.LocalGet0
)

// everything is a module with a function index in every place one can be:
// call, call_indirect through element segments of all eight encodings,
// ref.func in code, in a global and in element expressions, exports, the
// start function, function and local names. Its one import is env.add1, so
// an added import moves every defined function.
//
//	0 add1(x) (imported)   1 spin(n)        2 double(x)   3 plus100(x)
//	4 callSlot(i): table 0 slot i applied to 5             5 start: started = 42
//	6 started()            7 viaRef(x): ref.func 3 into slot 9, called with x
//	8 viaGlobal(x): the funcref global (double) into slot 10, called with x
//	9 initPassive(): passive segments into slots 11 and 12, both called with 1
//	10 callSlot2(i): table 1 slot i applied to 5
func everything() []byte {
	types := sec(wasmbin.SecType, vec(
		functype([]byte{tI32}, []byte{tI32}), // 0
		functype(nil, []byte{tI32}),          // 1
		functype(nil, nil),                   // 2
	))
	imports := sec(wasmbin.SecImport, vec(cat(str("env"), str("add1"), []byte{0x00}, u(0))))
	funcs := sec(wasmbin.SecFunction, vec(u(0), u(0), u(0), u(0), u(2), u(1), u(0), u(0), u(1), u(0)))
	tables := sec(wasmbin.SecTable, vec(
		[]byte{tFuncref, 0x00, 16},
		[]byte{tFuncref, 0x00, 4},
	))
	memory := sec(wasmbin.SecMemory, vec([]byte{0x00, 1}))
	globals := sec(wasmbin.SecGlobal, vec(
		cat([]byte{tI32, 0x01}, i32(0), opEnd),         // $started
		cat([]byte{tFuncref, 0x00}, refFunc(2), opEnd), // $gref = double
	))
	exp := func(name string, f uint32) []byte { return cat(str(name), []byte{0x00}, u(f)) }
	exports := sec(wasmbin.SecExport, vec(
		exp("spin", 1), exp("double", 2), exp("plus100", 3), exp("callSlot", 4), exp("started", 6),
		exp("viaRef", 7), exp("viaGlobal", 8), exp("initPassive", 9), exp("callSlot2", 10),
		cat(str("memory"), []byte{0x02}, u(0)),
	))
	start := sec(wasmbin.SecStart, u(5))
	elems := sec(wasmbin.SecElement, vec(
		cat(u(0), i32(0), opEnd, vec(u(2), u(3))),                                           // slots 0, 1: double, plus100
		cat(u(1), []byte{0x00}, vec(u(3))),                                                  // passive: plus100
		cat(u(2), u(1), i32(0), opEnd, []byte{0x00}, vec(u(3))),                             // table 1 slot 0: plus100
		cat(u(3), []byte{0x00}, vec(u(3))),                                                  // declarative
		cat(u(4), i32(2), opEnd, vec(cat(refFunc(2), opEnd), []byte{0xd0, tFuncref, 0x0b})), // slots 2, 3: double, null
		cat(u(5), []byte{tFuncref}, vec(cat(refFunc(2), opEnd))),                            // passive: double
		cat(u(6), u(1), i32(1), opEnd, []byte{tFuncref}, vec(cat(refFunc(2), opEnd))),       // table 1 slot 1: double
		cat(u(7), []byte{tFuncref}, vec(cat(refFunc(3), opEnd))),                            // declarative
	))
	spinBody := body(nil,
		[]byte{0x03, 0x40}, localGet0, i32(1), []byte{0x6b, 0x22, 0x00, 0x0d, 0x00, 0x0b}, // loop n-- br_if end
		i32(6), call(0)) // add1(6)
	slot := func(table byte, slot int64, fn []byte) []byte {
		return cat(i32(slot), fn, []byte{0x26, table}) // table.set
	}
	tableInit := func(seg, dest uint32) []byte {
		return cat(i32(int64(dest)), i32(0), i32(1), []byte{0xfc}, u(12), u(seg), u(0))
	}
	code := sec(wasmbin.SecCode, vec(
		spinBody,
		body(nil, localGet0, i32(2), []byte{0x6c}),                                   // double
		body(nil, localGet0, i32(100), []byte{0x6a}),                                 // plus100
		body(nil, i32(5), localGet0, callIndirect(0)),                                // callSlot
		body(nil, i32(42), []byte{0x24, 0}),                                          // start
		body(nil, []byte{0x23, 0}),                                                   // started
		body(nil, slot(0, 9, refFunc(3)), localGet0, i32(9), callIndirect(0)),        // viaRef
		body(nil, slot(0, 10, []byte{0x23, 1}), localGet0, i32(10), callIndirect(0)), // viaGlobal
		body(nil, tableInit(1, 11), tableInit(5, 12),
			i32(1), i32(11), callIndirect(0), i32(1), i32(12), callIndirect(0), []byte{0x6a}), // initPassive
		body(nil, i32(5), localGet0, callIndirect(1)), // callSlot2
	))
	names := custom("name", cat(
		sec(0, str("everything")),
		sec(1, namemap(0, "add1", 1, "spin", 2, "double", 3, "plus100", 4, "callSlot", 5, "start",
			6, "started", 7, "viaRef", 8, "viaGlobal", 9, "initPassive", 10, "callSlot2")),
		sec(2, vec(cat(u(1), namemap(0, "n")), cat(u(2), namemap(0, "x")), cat(u(10), namemap(0, "slot")))),
		sec(3, vec(cat(u(1), namemap(0, "spinning")))), // label names
	))
	return assemble(types, imports, funcs, tables, memory, globals, exports, start, elems, code,
		custom(".debug_info", []byte("offsets that the rewrite invalidates")),
		custom("producers", []byte{1, 8, 'l', 'a', 'n', 'g', 'u', 'a', 'g', 'e', 0}),
		names)
}

// calls are the calls compared before and after rewriting.
var calls = []struct {
	export string
	args   []uint64
}{
	{"spin", []uint64{3}}, {"spin", []uint64{3*interrupt.Fuel + 1}}, {"double", []uint64{21}}, {"plus100", []uint64{1}},
	{"callSlot", []uint64{0}}, {"callSlot", []uint64{1}}, {"callSlot", []uint64{2}},
	{"callSlot", []uint64{3}}, // a null slot: traps, before and after
	{"started", nil}, {"viaRef", []uint64{1}}, {"viaGlobal", []uint64{4}}, {"initPassive", nil},
	{"callSlot2", []uint64{0}}, {"callSlot2", []uint64{1}},
}

// instantiate compiles and instantiates wasm with env.add1 and the
// interrupt host module (counting its calls; stopping the call once the
// context is done).
func instantiate(t *testing.T, wasm []byte) (api.Module, wazero.CompiledModule, *atomic.Int64) {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	t.Cleanup(func() { rt.Close(ctx) })
	_, err := rt.NewHostModuleBuilder("env").NewFunctionBuilder().
		WithGoFunction(api.GoFunc(func(_ context.Context, s []uint64) { s[0]++ }), []api.ValueType{api.ValueTypeI32}, []api.ValueType{api.ValueTypeI32}).
		Export("add1").Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	yields := yieldHost(t, ctx, rt)
	compiled, err := rt.CompileModule(ctx, wasm) // validates every index and type
	if err != nil {
		t.Fatalf("does not compile: %v", err)
	}
	mod, err := rt.InstantiateModule(ctx, compiled, wazero.NewModuleConfig())
	if err != nil {
		t.Fatalf("does not instantiate: %v", err)
	}
	return mod, compiled, yields
}

func results(t *testing.T, mod api.Module) []string {
	t.Helper()
	var out []string
	for _, c := range calls {
		res, err := mod.ExportedFunction(c.export).Call(context.Background(), c.args...)
		if err != nil {
			out = append(out, fmt.Sprintf("%s%v: error", c.export, c.args))
			continue
		}
		out = append(out, fmt.Sprintf("%s%v = %v", c.export, c.args, res))
	}
	return out
}

// TestAddedImportRenumbers: a module without a sched_yield import gets one
// added, every function index in it moves, and every call gives the same
// result as before.
func TestAddedImportRenumbers(t *testing.T) {
	orig := everything()
	before, _, _ := instantiate(t, orig)
	want := results(t, before)
	t.Logf("before: %v", want)
	if !slices.Contains(want, "callSlot[3]: error") || !slices.Contains(want, "initPassive[] = [103]") {
		t.Fatalf("the hand-assembled module does not do what it should: %v", want)
	}

	out, loops, err := interrupt.Instrument(orig)
	if err != nil {
		t.Fatal(err)
	}
	if loops != 1 {
		t.Fatalf("%d loops, want 1", loops)
	}
	after, compiled, yields := instantiate(t, out)
	if got := results(t, after); !slices.Equal(got, want) {
		t.Fatalf("results changed:\nbefore %v\nafter  %v", want, got)
	}
	if n := yields.Load(); n != 3 { // spin(3×Fuel+1) once
		t.Fatalf("host called %d times, want 3", n)
	}

	imps := compiled.ImportedFunctions()
	if len(imps) != 2 {
		t.Fatalf("%d imported functions, want 2", len(imps))
	}
	if m, n, _ := imps[1].Import(); m != interrupt.HostModule || n != interrupt.HostFunction || imps[1].Index() != 1 {
		t.Fatalf("added import is %s.%s at %d", m, n, imps[1].Index())
	}
	// The name section follows the functions: every export is named as it
	// was, local names stay with their function.
	for name, def := range compiled.ExportedFunctions() {
		if def.Name() != name {
			t.Errorf("export %s is function %d named %q", name, def.Index(), def.Name())
		}
	}
	if got := compiled.ExportedFunctions()["spin"].ParamNames(); !slices.Equal(got, []string{"n"}) {
		t.Errorf("spin's parameter names %v, want [n]", got)
	}
	if got := compiled.ExportedFunctions()["callSlot2"].ParamNames(); !slices.Equal(got, []string{"slot"}) {
		t.Errorf("callSlot2's parameter names %v, want [slot]", got)
	}
	if got := imps[1].Name(); got != interrupt.HostModule+"."+interrupt.HostFunction {
		t.Errorf("added import named %q", got)
	}
	if got := compiled.Name(); got != "everything" {
		t.Errorf("module name %q", got)
	}

	// DWARF describes code offsets the rewrite moved: dropped. Other custom
	// sections stay.
	sections, _ := wasmbin.Sections(out)
	var customs []string
	for _, s := range sections {
		if s.ID == wasmbin.SecCustom {
			name, _, _ := wasmbin.Custom(s.Payload)
			customs = append(customs, name)
		}
	}
	if !slices.Equal(customs, []string{"producers", "name"}) {
		t.Errorf("custom sections %v, want [producers name]", customs)
	}

	// Rewriting is deterministic (it keys a cache).
	again, _, _ := interrupt.Instrument(orig)
	if !bytes.Equal(again, out) {
		t.Error("two rewrites differ")
	}
}

// bare is a module with no imports, no global section and no function type
// () -> i32: spin(n) loops n times (forever when n < 0) and returns 7.
func bare(withExports bool) []byte {
	secs := [][]byte{
		sec(wasmbin.SecType, vec(functype([]byte{tI32}, []byte{tI32}))),
		sec(wasmbin.SecFunction, vec(u(0))),
	}
	if withExports {
		secs = append(secs, sec(wasmbin.SecExport, vec(cat(str("spin"), []byte{0x00}, u(0)))))
	}
	secs = append(secs, sec(wasmbin.SecCode, vec(body(nil,
		[]byte{0x03, 0x40}, localGet0, i32(1), []byte{0x6b, 0x22, 0x00, 0x0d, 0x00, 0x0b}, i32(7)))))
	return assemble(secs...)
}

// TestNoImports: a module importing nothing gets an import section, a type
// and a global, and the checks stop it spinning once the context is done.
func TestNoImports(t *testing.T) {
	out, loops, err := interrupt.Instrument(bare(true))
	if err != nil {
		t.Fatal(err)
	}
	if loops != 1 {
		t.Fatalf("%d loops", loops)
	}
	mod, compiled, yields := instantiate(t, out)
	if imps := compiled.ImportedFunctions(); len(imps) != 1 {
		t.Fatalf("imports %v", imps)
	}
	if def := compiled.ExportedFunctions()["spin"]; def.Index() != 1 {
		t.Fatalf("spin is function %d after the rewrite, want 1", def.Index())
	}
	ctx := context.Background()
	if res, err := mod.ExportedFunction("spin").Call(ctx, 2*interrupt.Fuel+1); err != nil || res[0] != 7 {
		t.Fatalf("spin = %v, %v", res, err)
	}
	if yields.Load() != 2 {
		t.Fatalf("%d host calls, want 2", yields.Load())
	}
	requireStopped(t, ctx, mod)
}

// TestTypeReuse: an existing () -> i32 type is used for the import; only a
// module without one gets a new type.
func TestTypeReuse(t *testing.T) {
	count := func(wasm []byte) int {
		sections, _ := wasmbin.Sections(wasm)
		for _, s := range sections {
			if s.ID == wasmbin.SecType {
				r := &wasmbin.Reader{B: s.Payload}
				return int(r.U32())
			}
		}
		return 0
	}
	out, _, err := interrupt.Instrument(everything()) // has () -> i32 (type 1)
	if err != nil {
		t.Fatal(err)
	}
	if n := count(out); n != 3 {
		t.Fatalf("%d types after the rewrite, want the 3 it had", n)
	}
	out, _, err = interrupt.Instrument(bare(false))
	if err != nil {
		t.Fatal(err)
	}
	if n := count(out); n != 2 {
		t.Fatalf("%d types after the rewrite, want 2 (one added)", n)
	}
	if _, err := wazero.NewRuntime(context.Background()).CompileModule(context.Background(), out); err != nil {
		t.Fatal(err)
	}
}

// TestWrongTypeSchedYield: a sched_yield import of another type is left to
// the guest and a new import added.
func TestWrongTypeSchedYield(t *testing.T) {
	wasm := assemble(
		sec(wasmbin.SecType, vec(functype([]byte{tI32}, []byte{tI32}))),
		sec(wasmbin.SecImport, vec(cat(str("wasi_snapshot_preview1"), str("sched_yield"), []byte{0x00}, u(0)))),
		sec(wasmbin.SecFunction, vec(u(0))),
		sec(wasmbin.SecExport, vec(cat(str("spin"), []byte{0x00}, u(1)))),
		sec(wasmbin.SecCode, vec(body(nil,
			[]byte{0x03, 0x40}, localGet0, i32(1), []byte{0x6b, 0x22, 0x00, 0x0d, 0x00, 0x0b}, i32(7)))),
	)
	out, _, err := interrupt.Instrument(wasm)
	if err != nil {
		t.Fatal(err)
	}
	compiled, err := wazero.NewRuntime(context.Background()).CompileModule(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, def := range compiled.ImportedFunctions() {
		m, n, _ := def.Import()
		got = append(got, m+"."+n)
	}
	if want := []string{"wasi_snapshot_preview1.sched_yield", interrupt.HostModule + "." + interrupt.HostFunction}; !slices.Equal(got, want) {
		t.Fatalf("imports %v, want %v", got, want)
	}
}
