// Package interrupt makes a WebAssembly module's loops interruptible at the
// cost of a counter per loop iteration.
//
// A plugin call needs a timeout that also stops a guest spinning in a loop
// that never calls the host. wazero's WithCloseOnContextDone does it by
// leaving the compiled code for Go at the head of every loop iteration. Go's
// wasm output turns every jump inside a function into a branch back to one
// loop header (its goroutine-resumption dispatch), so that exit runs at
// almost every basic block: the ReplicaSet plugin ran 3–4.6× slower with it
// than without. Other languages pay less but still several times per call
// (the AssemblyScript example's 100 KiB reconcile: 48 ms with it, 13 ms with
// the checks below).
//
// Instrument rewrites the module instead. It adds a mutable i32 global, the
// fuel, and at the head of every loop
//
//	global.get $fuel
//	i32.eqz
//	if
//	  call $yield   ;; the host: stops the call when its context is done
//	  drop
//	  i32.const Fuel
//	  global.set $fuel
//	end
//	global.get $fuel
//	i32.const 1
//	i32.sub
//	global.set $fuel
//
// so the guest calls the host every Fuel loop iterations (tens of
// microseconds). The host must be reached from time to time, not only told
// through memory: a goroutine running compiled Wasm cannot be preempted, so a
// Go garbage collection waiting for it would wait for ever while the timer
// that should stop it cannot run.
//
// $yield is HostModule.HostFunction, () -> i32, reached one of two ways:
//
//   - A module that imports WASI sched_yield (Go's wasip1 runtime always
//     does) has that import redirected to HostModule: a yield is a no-op for
//     a single-threaded guest, so the guest's own calls keep their meaning,
//     and no function index moves.
//   - Any other module (C, Rust, AssemblyScript, one with no imports at all)
//     gets a new function import, after its other function imports. That
//     shifts the index of every function the module defines by one, so
//     every place that holds a function index is renumbered: call and
//     ref.func instructions, exports, the start function, element segments,
//     global and table initializers, and the function and local names of the
//     "name" custom section (the new import is named there too). A function
//     type () -> i32 is added when the module has none.
//
// Calls and returns need no check: without a loop, a guest ends or exhausts
// its stack. Nothing else in the module changes, so the rewritten module
// behaves as the original — except that custom sections describing code by
// byte offset or function index that the rewrite does not renumber (DWARF
// .debug_* sections, metadata.code.* hints, relocation and linking
// sections) are dropped: they would point at the wrong instructions.
//
// Instrument only rewrites modules it fully understands: instructions of
// WebAssembly 2.0 without SIMD (what Go, clang and AssemblyScript emit by
// default) and function types of that version. For anything else it returns
// an error and the caller falls back to wazero's mechanism.
package interrupt

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"wasmctl.dev/wasmctl/host/runtime/internal/wasmbin"
)

const (
	// Version changes whenever Instrument's output changes (it keys caches
	// of rewritten modules).
	Version = "2"
	// HostModule is the module $yield is imported from; its HostFunction
	// (no parameters, an i32 errno result) must stop the call when the
	// call's context is done, and return 0 otherwise.
	HostModule = "wasmctl:host/interrupt"
	// HostFunction is the function's name in HostModule.
	HostFunction = "sched_yield"
	// Fuel is how many loop iterations run between two calls of the host.
	Fuel = 1 << 14
	// importLabel names an added import in the name section (stack traces).
	importLabel = HostModule + "." + HostFunction
)

// check is inserted after every loop's block type.
func check(global, yield uint32) []byte {
	g := wasmbin.AppendU32(nil, global)
	b := append([]byte{0x23}, g...)       // global.get $fuel
	b = append(b, 0x45, 0x04, 0x40, 0x10) // i32.eqz; if; call
	b = wasmbin.AppendU32(b, yield)       // $yield
	b = append(b, 0x1a, 0x41)             // drop; i32.const
	b = wasmbin.AppendSLEB(b, Fuel)       // Fuel
	b = append(append(b, 0x24), g...)     // global.set $fuel
	b = append(b, 0x0b)                   // end
	b = append(append(b, 0x23), g...)     // global.get $fuel
	b = append(b, 0x41, 0x01, 0x6b)       // i32.const 1; i32.sub
	return append(append(b, 0x24), g...)  // global.set $fuel
}

// shift renumbers function indices when an import is added at index at:
// every index from at on moves up by one.
type shift struct {
	at uint32
	on bool
}

func (s shift) fn(i uint32) uint32 {
	if s.on && i >= s.at {
		return i + 1
	}
	return i
}

var yieldType = funcType{results: []byte{0x7f}} // () -> i32

// Instrument returns module with interruptible loops (see the package doc)
// and the number of loops instrumented, or an error when the module uses
// something it cannot rewrite.
func Instrument(module []byte) ([]byte, int, error) {
	sections, err := wasmbin.Sections(module)
	if err != nil {
		return nil, 0, err
	}
	var types []funcType
	var imports []wasmbin.Import
	var importPayload []byte
	var definedGlobals uint32
	hasType, hasImport, hasGlobal, hasCode := false, false, false, false
	for _, s := range sections {
		var err error
		switch s.ID {
		case wasmbin.SecType:
			hasType = true
			types, err = parseTypes(s.Payload)
		case wasmbin.SecImport:
			hasImport, importPayload = true, s.Payload
			imports, err = wasmbin.Imports(s.Payload)
		case wasmbin.SecGlobal:
			hasGlobal = true
			sr := &wasmbin.Reader{B: s.Payload}
			definedGlobals, err = sr.U32(), sr.Err
		case wasmbin.SecCode:
			hasCode = true
		}
		if err != nil {
			return nil, 0, fmt.Errorf("section %d: %w", s.ID, err)
		}
	}
	if !hasCode {
		return nil, 0, errors.New("the module has no code section")
	}

	// Which function the checks call: the module's own WASI sched_yield,
	// redirected, or a new import.
	var importedFuncs, importedGlobals, yield uint32
	redirect := -1
	for i, imp := range imports {
		switch imp.Kind {
		case wasmbin.ImportFunc:
			if redirect < 0 && imp.Module == "wasi_snapshot_preview1" && imp.Name == "sched_yield" &&
				int(imp.Type) < len(types) && types[imp.Type].is(yieldType) {
				redirect, yield = i, importedFuncs
			}
			importedFuncs++
		case wasmbin.ImportGlobal:
			importedGlobals++
		}
	}
	var sh shift
	newImports := wasmbin.AppendU32(nil, uint32(len(imports)))
	if redirect >= 0 {
		for i, imp := range imports {
			if i == redirect {
				newImports = wasmbin.AppendName(newImports, HostModule)
				newImports = wasmbin.AppendName(newImports, HostFunction)
				newImports = append(newImports, wasmbin.ImportFunc)
				newImports = wasmbin.AppendU32(newImports, imp.Type)
				continue
			}
			newImports = append(newImports, importPayload[imp.Start:imp.End]...)
		}
	} else {
		yield, sh = importedFuncs, shift{at: importedFuncs, on: true}
		typeIndex := -1
		for i, t := range types {
			if t.is(yieldType) {
				typeIndex = i
				break
			}
		}
		if typeIndex < 0 {
			typeIndex = len(types)
			types = append(types, yieldType)
		}
		newImports = wasmbin.AppendU32(nil, uint32(len(imports)+1))
		if len(imports) > 0 {
			newImports = append(newImports, importPayload[imports[0].Start:imports[len(imports)-1].End]...)
		}
		newImports = wasmbin.AppendName(newImports, HostModule)
		newImports = wasmbin.AppendName(newImports, HostFunction)
		newImports = append(newImports, wasmbin.ImportFunc)
		newImports = wasmbin.AppendU32(newImports, uint32(typeIndex))
	}
	global := importedGlobals + definedGlobals
	newGlobal := wasmbin.AppendSLEB([]byte{0x7f, 0x01, 0x41}, Fuel) // mut i32 = i32.const Fuel
	newGlobal = append(newGlobal, 0x0b)
	chk := check(global, yield)

	out := append(make([]byte, 0, len(module)+len(module)/8), module[:8]...)
	// Sections the module lacks are emitted where they belong: before the
	// first section that comes after them.
	type pending struct {
		id      byte
		payload func() []byte
		need    bool
	}
	missing := []*pending{
		{wasmbin.SecType, func() []byte { return appendTypes(nil, types) }, !hasType},
		{wasmbin.SecImport, func() []byte { return newImports }, !hasImport && sh.on},
		{wasmbin.SecGlobal, func() []byte { return append([]byte{1}, newGlobal...) }, !hasGlobal},
	}
	flush := func(before float64) {
		for _, p := range missing {
			if p.need && float64(p.id) < before {
				out = wasmbin.AppendSection(out, p.id, p.payload())
				p.need = false
			}
		}
	}
	loops := 0
	for _, s := range sections {
		if s.ID != wasmbin.SecCustom {
			flush(wasmbin.Order(s.ID))
		}
		payload, err := s.Payload, error(nil)
		switch s.ID {
		case wasmbin.SecType:
			payload = appendTypes(nil, types)
		case wasmbin.SecImport:
			payload = newImports
		case wasmbin.SecTable:
			payload, err = remapTables(s.Payload, sh)
		case wasmbin.SecGlobal:
			payload, err = remapGlobals(s.Payload, sh, newGlobal)
		case wasmbin.SecExport:
			payload, err = remapExports(s.Payload, sh)
		case wasmbin.SecStart:
			r := &wasmbin.Reader{B: s.Payload}
			payload, err = wasmbin.AppendU32(nil, sh.fn(r.U32())), r.Err
		case wasmbin.SecElement:
			payload, err = remapElements(s.Payload, sh)
		case wasmbin.SecCode:
			var n int
			payload, n, err = instrumentCode(s.Payload, chk, sh)
			loops += n
		case wasmbin.SecCustom:
			var name string
			var data []byte
			if name, data, err = wasmbin.Custom(s.Payload); err != nil {
				break
			}
			if stale(name) {
				continue
			}
			if name == "name" && sh.on {
				var names []byte
				if names, err = remapNames(data, sh, yield); err == nil {
					payload = append(wasmbin.AppendName(nil, name), names...)
				}
			}
		}
		if err != nil {
			return nil, 0, fmt.Errorf("section %d: %w", s.ID, err)
		}
		out = wasmbin.AppendSection(out, s.ID, payload)
	}
	flush(wasmbin.SecCode + 1)
	return out, loops, nil
}

// stale reports whether a custom section describes code by byte offset or
// function index in a way the rewrite does not renumber.
func stale(name string) bool {
	return strings.HasPrefix(name, ".debug_") || strings.HasPrefix(name, "metadata.code.") ||
		strings.HasPrefix(name, "reloc.") || name == "linking"
}

type funcType struct{ params, results []byte }

func (t funcType) is(o funcType) bool {
	return bytes.Equal(t.params, o.params) && bytes.Equal(t.results, o.results)
}

func parseTypes(payload []byte) ([]funcType, error) {
	r := &wasmbin.Reader{B: payload}
	n := r.U32()
	types := make([]funcType, 0, min(n, 1<<16))
	for range n {
		if form := r.Byte(); form != 0x60 && r.Err == nil {
			return nil, fmt.Errorf("type form 0x%02x not supported", form)
		}
		var t funcType
		t.params = r.Bytes(int(r.U32()))
		t.results = r.Bytes(int(r.U32()))
		if r.Err != nil {
			return nil, r.Err
		}
		if len(t.params) == 0 {
			t.params = nil
		}
		if len(t.results) == 0 {
			t.results = nil
		}
		types = append(types, t)
	}
	return types, nil
}

func appendTypes(out []byte, types []funcType) []byte {
	out = wasmbin.AppendU32(out, uint32(len(types)))
	for _, t := range types {
		out = append(out, 0x60)
		out = append(wasmbin.AppendU32(out, uint32(len(t.params))), t.params...)
		out = append(wasmbin.AppendU32(out, uint32(len(t.results))), t.results...)
	}
	return out
}

// constExpr copies a constant expression (through its end) with ref.func
// renumbered.
func constExpr(out []byte, r *wasmbin.Reader, sh shift) []byte {
	for r.Err == nil {
		start := r.Pos
		switch op := r.Byte(); op {
		case 0x0b: // end
			return append(out, op)
		case 0x41, 0x42: // i32.const, i64.const
			r.SLEB()
		case 0x43:
			r.Bytes(4)
		case 0x44:
			r.Bytes(8)
		case 0x23: // global.get
			r.U32()
		case 0xd0: // ref.null t
			r.Byte()
		case 0xd2: // ref.func
			idx := r.U32()
			out = wasmbin.AppendU32(append(out, op), sh.fn(idx))
			continue
		default:
			if r.Err == nil {
				r.Err = fmt.Errorf("opcode 0x%02x in a constant expression not supported", op)
			}
		}
		out = append(out, r.B[start:r.Pos]...)
	}
	return out
}

// remapTables renumbers the initializers of tables (0x40 0x00 form).
func remapTables(payload []byte, sh shift) ([]byte, error) {
	if !sh.on {
		return payload, nil
	}
	r := &wasmbin.Reader{B: payload}
	n := r.U32()
	out := wasmbin.AppendU32(nil, n)
	for range n {
		start := r.Pos
		withInit := r.Pos < len(r.B) && r.B[r.Pos] == 0x40
		if withInit {
			r.Bytes(2)
		}
		r.Byte() // reftype
		r.Limits()
		out = append(out, r.B[start:r.Pos]...)
		if withInit {
			out = constExpr(out, r, sh)
		}
	}
	return out, r.Err
}

// remapGlobals renumbers ref.func in the globals' initializers and appends
// the fuel global.
func remapGlobals(payload []byte, sh shift, fuel []byte) ([]byte, error) {
	r := &wasmbin.Reader{B: payload}
	n := r.U32()
	out := wasmbin.AppendU32(nil, n+1)
	if !sh.on {
		out = append(out, payload[r.Pos:]...)
		return append(out, fuel...), r.Err
	}
	for range n {
		start := r.Pos
		if t := r.Byte(); t == 0x63 || t == 0x64 { // (ref null? ht): GC types
			return nil, fmt.Errorf("global type 0x%02x not supported", t)
		}
		r.Byte() // mutability
		out = append(out, r.B[start:r.Pos]...)
		out = constExpr(out, r, sh)
	}
	return append(out, fuel...), r.Err
}

func remapExports(payload []byte, sh shift) ([]byte, error) {
	if !sh.on {
		return payload, nil
	}
	r := &wasmbin.Reader{B: payload}
	n := r.U32()
	out := wasmbin.AppendU32(nil, n)
	for range n {
		name := r.Name()
		kind := r.Byte()
		idx := r.U32()
		if kind == wasmbin.ImportFunc {
			idx = sh.fn(idx)
		}
		out = append(wasmbin.AppendU32(out, uint32(len(name))), name...)
		out = wasmbin.AppendU32(append(out, kind), idx)
	}
	return out, r.Err
}

// remapElements renumbers the functions of element segments, in all eight
// encodings: flag bit 0 passive or declarative, bit 1 an explicit table
// (active) or declarative (passive), bit 2 expressions instead of indices.
func remapElements(payload []byte, sh shift) ([]byte, error) {
	if !sh.on {
		return payload, nil
	}
	r := &wasmbin.Reader{B: payload}
	n := r.U32()
	out := wasmbin.AppendU32(nil, n)
	for range n {
		flags := r.U32()
		if flags > 7 && r.Err == nil {
			return nil, fmt.Errorf("element segment flags %d not supported", flags)
		}
		out = wasmbin.AppendU32(out, flags)
		if flags&1 == 0 { // active: [table] offset
			if flags&2 != 0 {
				out = wasmbin.AppendU32(out, r.U32())
			}
			out = constExpr(out, r, sh)
		}
		if flags&3 != 0 { // elemkind or reftype
			out = append(out, r.Byte())
		}
		count := r.U32()
		out = wasmbin.AppendU32(out, count)
		for range count {
			if flags&4 == 0 {
				out = wasmbin.AppendU32(out, sh.fn(r.U32()))
			} else {
				out = constExpr(out, r, sh)
			}
			if r.Err != nil {
				break
			}
		}
	}
	return out, r.Err
}

// remapNames renumbers the function names (subsection 1, where the added
// import gets a name), local names (2) and label names (3) of a name
// section's contents; the other subsections name no function.
func remapNames(data []byte, sh shift, added uint32) ([]byte, error) {
	r := &wasmbin.Reader{B: data}
	var out []byte
	for r.Pos < len(r.B) && r.Err == nil {
		id := r.Byte()
		sub := &wasmbin.Reader{B: r.Bytes(int(r.U32()))}
		if r.Err != nil {
			break
		}
		var p []byte
		switch id {
		case 1: // namemap: vec(funcidx name), ascending
			n := sub.U32()
			p = wasmbin.AppendU32(nil, n+1)
			inserted := false
			for range n {
				idx, name := sub.U32(), sub.Name()
				if !inserted && idx >= added {
					p = wasmbin.AppendName(wasmbin.AppendU32(p, added), importLabel)
					inserted = true
				}
				p = append(wasmbin.AppendU32(p, sh.fn(idx)), wasmbin.AppendU32(nil, uint32(len(name)))...)
				p = append(p, name...)
			}
			if !inserted {
				p = wasmbin.AppendName(wasmbin.AppendU32(p, added), importLabel)
			}
		case 2, 3: // indirect namemap: vec(funcidx namemap)
			n := sub.U32()
			p = wasmbin.AppendU32(nil, n)
			for range n {
				p = wasmbin.AppendU32(p, sh.fn(sub.U32()))
				start := sub.Pos
				for range sub.U32() {
					sub.U32()
					sub.Name()
				}
				p = append(p, sub.B[start:sub.Pos]...)
			}
		default:
			p = sub.B
			sub.Pos = len(sub.B)
		}
		if sub.Err == nil && sub.Pos != len(sub.B) {
			sub.Err = errors.New("trailing bytes")
		}
		if sub.Err != nil {
			return nil, fmt.Errorf("name subsection %d: %w", id, sub.Err)
		}
		out = wasmbin.AppendSection(out, id, p)
	}
	if r.Err != nil {
		return nil, fmt.Errorf("name section: %w", r.Err)
	}
	return out, nil
}

// instrumentCode rewrites every function body of a code section.
func instrumentCode(payload, chk []byte, sh shift) ([]byte, int, error) {
	r := &wasmbin.Reader{B: payload}
	n := r.U32()
	if r.Err != nil {
		return nil, 0, r.Err
	}
	out := wasmbin.AppendU32(make([]byte, 0, len(payload)+len(payload)/16), n)
	loops := 0
	var body []byte
	for i := range n {
		fn := r.Bytes(int(r.U32()))
		if r.Err != nil {
			return nil, 0, fmt.Errorf("function %d: %w", i, r.Err)
		}
		var k int
		var err error
		body, k, err = instrumentBody(body[:0], fn, chk, sh)
		if err != nil {
			return nil, 0, fmt.Errorf("function %d: %w", i, err)
		}
		loops += k
		out = wasmbin.AppendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	return out, loops, nil
}

// instrumentBody copies one function body (locals, then instructions) to
// out with chk after every loop's block type, and function indices
// renumbered.
func instrumentBody(out, fn, chk []byte, sh shift) ([]byte, int, error) {
	r := &wasmbin.Reader{B: fn}
	groups := r.U32()
	for range groups {
		r.U32()  // count
		r.Byte() // type
	}
	if r.Err != nil {
		return nil, 0, fmt.Errorf("locals: %w", r.Err)
	}
	out = append(out, fn[:r.Pos]...)
	loops := 0
	for r.Pos < len(fn) {
		start := r.Pos
		op := r.Byte()
		isLoop := false
		switch {
		case op == 0x03: // loop: block type (s33)
			r.SLEB()
			isLoop = true
		case op == 0x02 || op == 0x04: // block, if: block type (s33)
			r.SLEB()
		case op <= 0x01, op == 0x05, op == 0x0b, op == 0x0f, op == 0x1a, op == 0x1b, op == 0xd1:
			// unreachable nop else end return drop select ref.is_null
		case op == 0x0c, op == 0x0d: // br, br_if
			r.U32()
		case op == 0x0e: // br_table
			for range r.U32() + 1 {
				r.U32()
				if r.Err != nil {
					break
				}
			}
		case op == 0x10, op == 0xd2: // call, ref.func
			idx := r.U32()
			if sh.on && r.Err == nil {
				out = wasmbin.AppendU32(append(out, op), sh.fn(idx))
				continue
			}
		case op == 0x11: // call_indirect: type, table
			r.U32()
			r.U32()
		case op == 0x1c: // select t*
			for range r.U32() {
				r.Byte()
			}
		case op >= 0x20 && op <= 0x26: // local.*, global.*, table.get/set
			r.U32()
		case op >= 0x28 && op <= 0x3e: // loads and stores: memarg
			r.Memarg()
		case op == 0x3f, op == 0x40: // memory.size, memory.grow
			r.U32()
		case op == 0x41: // i32.const
			r.SLEB()
		case op == 0x42: // i64.const
			r.SLEB()
		case op == 0x43:
			r.Bytes(4)
		case op == 0x44:
			r.Bytes(8)
		case op >= 0x45 && op <= 0xc4: // numeric, sign extension
		case op == 0xd0: // ref.null t
			r.Byte()
		case op == 0xfc:
			prefixed(r)
		default:
			return nil, 0, fmt.Errorf("opcode 0x%02x at %d not supported", op, start)
		}
		if r.Err != nil {
			return nil, 0, fmt.Errorf("opcode 0x%02x at %d: %w", op, start, r.Err)
		}
		out = append(out, fn[start:r.Pos]...)
		if isLoop {
			out = append(out, chk...)
			loops++
		}
	}
	return out, loops, nil
}

// prefixed skips the 0xfc instructions: saturating truncations, bulk memory
// and table operations.
func prefixed(r *wasmbin.Reader) {
	switch sub := r.U32(); {
	case sub <= 7: // trunc_sat
	case sub == 8: // memory.init data, mem
		r.U32()
		r.U32()
	case sub == 9, sub == 13, sub == 15, sub == 16, sub == 17: // data.drop, elem.drop, table.grow/size/fill
		r.U32()
	case sub == 10, sub == 12, sub == 14: // memory.copy, table.init, table.copy
		r.U32()
		r.U32()
	case sub == 11: // memory.fill
		r.U32()
	default:
		if r.Err == nil {
			r.Err = fmt.Errorf("0xfc %d not supported", sub)
		}
	}
}
