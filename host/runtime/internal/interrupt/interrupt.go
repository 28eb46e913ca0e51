// Package interrupt makes a WebAssembly module's loops interruptible at the
// cost of a counter per loop iteration.
//
// A plugin call needs a timeout that also stops a guest spinning in a loop
// that never calls the host. wazero's WithCloseOnContextDone does it by
// leaving the compiled code for Go at the head of every loop iteration. Go's
// wasm output turns every jump inside a function into a branch back to one
// loop header (its goroutine-resumption dispatch), so that exit runs at
// almost every basic block: the ReplicaSet plugin ran 3–4.6× slower with it
// than without.
//
// Instrument rewrites the module instead. It adds a mutable i32 global, the
// fuel, and at the head of every loop
//
//	global.get $fuel
//	i32.eqz
//	if
//	  call $sched_yield   ;; the host: stops the call when its context is done
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
// microseconds). The host function is the module's own import of WASI
// sched_yield, redirected to HostModule: a yield is a no-op for a
// single-threaded guest, so the guest's own calls keep their meaning, and
// no function index moves. The host must be reached from time to time, not
// only told through memory: a goroutine running compiled Wasm cannot be
// preempted, so a Go garbage collection waiting for it would wait for ever
// while the timer that should stop it cannot run.
//
// Calls and returns need no check: without a loop, a guest ends or exhausts
// its stack. Nothing else in the module changes, so the rewritten module
// behaves as the original.
//
// Instrument only rewrites modules it fully understands: instructions of
// WebAssembly 2.0 without SIMD (what Go's wasm port emits) and an import of
// wasi_snapshot_preview1.sched_yield (which Go's wasip1 runtime always has).
// For anything else it returns an error and the caller falls back to
// wazero's mechanism.
package interrupt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

const (
	// Version changes whenever Instrument's output changes (it keys caches
	// of rewritten modules).
	Version = "1"
	// HostModule is the module the sched_yield import is redirected to; its
	// sched_yield function (no parameters, an i32 errno result) must stop
	// the call when the call's context is done, and return 0 otherwise.
	HostModule = "wasmctl:host/interrupt"
	// HostFunction is the function's name in HostModule.
	HostFunction = "sched_yield"
	// Fuel is how many loop iterations run between two calls of the host.
	Fuel = 1 << 14
)

// Section ids of the binary format.
const (
	secCustom = 0
	secType   = 1
	secImport = 2
	secGlobal = 6
	secCode   = 10
)

// order is a section's place in a module: ids are not in order (the data
// count section, 12, comes before code; the tag section, 13, before globals).
func order(id byte) float64 {
	switch id {
	case 12:
		return 9.5
	case 13:
		return 5.5
	}
	return float64(id)
}

// check is inserted after every loop's block type.
func check(global, yield uint32) []byte {
	g := binary.AppendUvarint(nil, uint64(global))
	b := append([]byte{0x23}, g...)            // global.get $fuel
	b = append(b, 0x45, 0x04, 0x40, 0x10)      // i32.eqz; if; call
	b = binary.AppendUvarint(b, uint64(yield)) // $sched_yield
	b = append(b, 0x1a, 0x41)                  // drop; i32.const
	b = appendSLEB(b, Fuel)                    // Fuel
	b = append(append(b, 0x24), g...)          // global.set $fuel
	b = append(b, 0x0b)                        // end
	b = append(append(b, 0x23), g...)          // global.get $fuel
	b = append(b, 0x41, 0x01, 0x6b)            // i32.const 1; i32.sub
	return append(append(b, 0x24), g...)       // global.set $fuel
}

// Instrument returns module with interruptible loops (see the package doc)
// and the number of loops instrumented, or an error when the module uses
// something it cannot rewrite.
func Instrument(module []byte) ([]byte, int, error) {
	if len(module) < 8 || !bytes.Equal(module[:4], []byte("\x00asm")) || binary.LittleEndian.Uint32(module[4:8]) != 1 {
		return nil, 0, errors.New("not a WebAssembly 1.0 binary module")
	}
	type section struct {
		id      byte
		payload []byte
	}
	var sections []section
	r := &reader{b: module, pos: 8}
	for r.pos < len(r.b) {
		id := r.byte()
		size := r.u32()
		payload := r.bytes(int(size))
		if r.err != nil {
			return nil, 0, fmt.Errorf("section %d: %w", id, r.err)
		}
		sections = append(sections, section{id, payload})
	}

	var types []funcType
	var imports *importInfo
	var definedGlobals uint32
	hasGlobal, hasCode := false, false
	for _, s := range sections {
		var err error
		switch s.id {
		case secType:
			types, err = parseTypes(s.payload)
		case secImport:
			imports, err = parseImports(s.payload)
		case secGlobal:
			hasGlobal = true
			sr := &reader{b: s.payload}
			definedGlobals, err = sr.u32(), sr.err
		case secCode:
			hasCode = true
		}
		if err != nil {
			return nil, 0, fmt.Errorf("section %d: %w", s.id, err)
		}
	}
	if !hasCode {
		return nil, 0, errors.New("the module has no code section")
	}
	if imports == nil || imports.yield < 0 {
		return nil, 0, errors.New("the module does not import wasi_snapshot_preview1.sched_yield")
	}
	if t := imports.yieldType; int(t) >= len(types) || !types[t].is(nil, []byte{0x7f}) {
		return nil, 0, errors.New("its sched_yield import is not of type () -> i32")
	}
	global := imports.globals + definedGlobals
	newGlobal := appendSLEB([]byte{0x7f, 0x01, 0x41}, Fuel) // mut i32 = i32.const Fuel
	newGlobal = append(newGlobal, 0x0b)
	chk := check(global, uint32(imports.yield))

	out := append([]byte(nil), module[:8]...)
	emit := func(id byte, payload []byte) {
		out = append(out, id)
		out = binary.AppendUvarint(out, uint64(len(payload)))
		out = append(out, payload...)
	}
	loops := 0
	for _, s := range sections {
		// Sections come in order (custom sections anywhere); a missing
		// global section is emitted where it belongs, at the latest before
		// the code section.
		if s.id != secCustom && order(s.id) > secGlobal && !hasGlobal {
			emit(secGlobal, append([]byte{1}, newGlobal...))
			hasGlobal = true
		}
		switch s.id {
		case secImport:
			emit(secImport, imports.redirected)
		case secGlobal:
			payload := binary.AppendUvarint(nil, uint64(definedGlobals+1))
			payload = append(payload, s.payload[uvarintLen(s.payload):]...)
			emit(secGlobal, append(payload, newGlobal...))
		case secCode:
			payload, n, err := instrumentCode(s.payload, chk)
			if err != nil {
				return nil, 0, fmt.Errorf("code section: %w", err)
			}
			loops += n
			emit(secCode, payload)
		default:
			emit(s.id, s.payload)
		}
	}
	return out, loops, nil
}

type funcType struct{ params, results []byte }

func (t funcType) is(params, results []byte) bool {
	return bytes.Equal(t.params, params) && bytes.Equal(t.results, results)
}

func parseTypes(payload []byte) ([]funcType, error) {
	r := &reader{b: payload}
	n := r.u32()
	types := make([]funcType, 0, n)
	for range n {
		if form := r.byte(); form != 0x60 && r.err == nil {
			return nil, fmt.Errorf("type form 0x%02x not supported", form)
		}
		var t funcType
		t.params = r.bytes(int(r.u32()))
		t.results = r.bytes(int(r.u32()))
		if r.err != nil {
			return nil, r.err
		}
		if len(t.params) == 0 {
			t.params = nil
		}
		types = append(types, t)
	}
	return types, nil
}

// importInfo is what Instrument needs from the import section.
type importInfo struct {
	globals    uint32 // imported globals: the new global's index follows
	yield      int    // function index of wasi sched_yield, -1 if none
	yieldType  uint32
	redirected []byte // the section with sched_yield imported from HostModule
}

func parseImports(payload []byte) (*importInfo, error) {
	info := &importInfo{yield: -1}
	r := &reader{b: payload}
	n := r.u32()
	out := binary.AppendUvarint(nil, uint64(n))
	funcs := 0
	for range n {
		start := r.pos
		module := r.bytes(int(r.u32()))
		name := r.bytes(int(r.u32()))
		descStart := r.pos
		switch kind := r.byte(); kind {
		case 0x00: // function: type index
			typ := r.u32()
			if string(module) == "wasi_snapshot_preview1" && string(name) == "sched_yield" && info.yield < 0 {
				info.yield, info.yieldType = funcs, typ
				out = binary.AppendUvarint(out, uint64(len(HostModule)))
				out = append(out, HostModule...)
				out = binary.AppendUvarint(out, uint64(len(HostFunction)))
				out = append(out, HostFunction...)
				out = append(out, r.b[descStart:r.pos]...)
				funcs++
				continue
			}
			funcs++
		case 0x01: // table: reftype, limits
			r.byte()
			r.limits()
		case 0x02: // memory: limits
			r.limits()
		case 0x03: // global: valtype, mutability
			r.byte()
			r.byte()
			info.globals++
		default:
			if r.err == nil {
				return nil, fmt.Errorf("import kind 0x%02x not supported", kind)
			}
		}
		if r.err != nil {
			return nil, r.err
		}
		out = append(out, r.b[start:r.pos]...)
	}
	info.redirected = out
	return info, nil
}

// instrumentCode rewrites every function body of a code section.
func instrumentCode(payload, chk []byte) ([]byte, int, error) {
	r := &reader{b: payload}
	n := r.u32()
	if r.err != nil {
		return nil, 0, r.err
	}
	out := binary.AppendUvarint(make([]byte, 0, len(payload)+len(payload)/16), uint64(n))
	loops := 0
	var body []byte
	for i := range n {
		size := r.u32()
		fn := r.bytes(int(size))
		if r.err != nil {
			return nil, 0, fmt.Errorf("function %d: %w", i, r.err)
		}
		var k int
		var err error
		body, k, err = instrumentBody(body[:0], fn, chk)
		if err != nil {
			return nil, 0, fmt.Errorf("function %d: %w", i, err)
		}
		loops += k
		out = binary.AppendUvarint(out, uint64(len(body)))
		out = append(out, body...)
	}
	return out, loops, nil
}

// instrumentBody copies one function body (locals, then instructions) to
// out with chk after every loop's block type.
func instrumentBody(out, fn, chk []byte) ([]byte, int, error) {
	r := &reader{b: fn}
	groups := r.u32()
	for range groups {
		r.u32()  // count
		r.byte() // type
	}
	if r.err != nil {
		return nil, 0, fmt.Errorf("locals: %w", r.err)
	}
	out = append(out, fn[:r.pos]...)
	loops := 0
	for r.pos < len(fn) {
		start := r.pos
		op := r.byte()
		isLoop := false
		switch {
		case op == 0x03: // loop: block type (s33)
			r.sleb()
			isLoop = true
		case op == 0x02 || op == 0x04: // block, if: block type (s33)
			r.sleb()
		case op <= 0x01, op == 0x05, op == 0x0b, op == 0x0f, op == 0x1a, op == 0x1b, op == 0xd1:
			// unreachable nop else end return drop select ref.is_null
		case op == 0x0c, op == 0x0d: // br, br_if
			r.u32()
		case op == 0x0e: // br_table
			for range r.u32() + 1 {
				r.u32()
			}
		case op == 0x10, op == 0xd2: // call, ref.func
			r.u32()
		case op == 0x11: // call_indirect: type, table
			r.u32()
			r.u32()
		case op == 0x1c: // select t*
			for range r.u32() {
				r.byte()
			}
		case op >= 0x20 && op <= 0x26: // local.*, global.*, table.get/set
			r.u32()
		case op >= 0x28 && op <= 0x3e: // loads and stores: memarg
			r.memarg()
		case op == 0x3f, op == 0x40: // memory.size, memory.grow
			r.u32()
		case op == 0x41: // i32.const
			r.sleb()
		case op == 0x42: // i64.const
			r.sleb()
		case op == 0x43:
			r.bytes(4)
		case op == 0x44:
			r.bytes(8)
		case op >= 0x45 && op <= 0xc4: // numeric, sign extension
		case op == 0xd0: // ref.null t
			r.byte()
		case op == 0xfc:
			r.prefixed()
		default:
			return nil, 0, fmt.Errorf("opcode 0x%02x at %d not supported", op, start)
		}
		if r.err != nil {
			return nil, 0, fmt.Errorf("opcode 0x%02x at %d: %w", op, start, r.err)
		}
		out = append(out, fn[start:r.pos]...)
		if isLoop {
			out = append(out, chk...)
			loops++
		}
	}
	return out, loops, nil
}

// reader decodes the binary format; the first error sticks.
type reader struct {
	b   []byte
	pos int
	err error
}

var errShort = errors.New("unexpected end")

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if r.pos >= len(r.b) {
		r.err = errShort
		return 0
	}
	c := r.b[r.pos]
	r.pos++
	return c
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || r.pos+n > len(r.b) {
		r.err = errShort
		return nil
	}
	b := r.b[r.pos : r.pos+n]
	r.pos += n
	return b
}

func (r *reader) u32() uint32 {
	var v uint64
	for shift := 0; ; shift += 7 {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		if shift > 28 {
			r.err = errors.New("u32 too long")
			return 0
		}
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			break
		}
	}
	if v > 1<<32-1 {
		r.err = errors.New("u32 out of range")
		return 0
	}
	return uint32(v)
}

// sleb skips a signed LEB128 of up to 64 bits (s33 block types, consts).
func (r *reader) sleb() {
	for i := 0; ; i++ {
		c := r.byte()
		if r.err != nil {
			return
		}
		if i >= 10 {
			r.err = errors.New("LEB128 too long")
			return
		}
		if c&0x80 == 0 {
			return
		}
	}
}

func (r *reader) limits() {
	flags := r.byte()
	r.u32()
	if flags&1 != 0 {
		r.u32()
	}
	if flags > 3 {
		r.err = fmt.Errorf("limits flags 0x%02x not supported", flags)
	}
}

func (r *reader) memarg() {
	align := r.u32()
	if align&0x40 != 0 { // multi-memory: a memory index follows
		r.u32()
	}
	r.sleb() // offset (u32; u64 with memory64)
}

// prefixed skips the 0xfc instructions: saturating truncations, bulk memory
// and table operations.
func (r *reader) prefixed() {
	switch sub := r.u32(); {
	case sub <= 7: // trunc_sat
	case sub == 8: // memory.init data, mem
		r.u32()
		r.u32()
	case sub == 9, sub == 13, sub == 15, sub == 16, sub == 17: // data.drop, elem.drop, table.grow/size/fill
		r.u32()
	case sub == 10, sub == 12, sub == 14: // memory.copy, table.init, table.copy
		r.u32()
		r.u32()
	case sub == 11: // memory.fill
		r.u32()
	default:
		if r.err == nil {
			r.err = fmt.Errorf("0xfc %d not supported", sub)
		}
	}
}

// appendSLEB appends v as a signed LEB128 (not Go's zigzag varint).
func appendSLEB(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func uvarintLen(b []byte) int {
	for i, c := range b {
		if c&0x80 == 0 {
			return i + 1
		}
	}
	return len(b)
}
