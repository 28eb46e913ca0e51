package runtime

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
	"k8s.io/klog/v2"

	"wasmctl.dev/wasmctl/host/runtime/internal/interrupt"
)

// Limits of the per-instance state a plugin keeps on the host.
const (
	maxVarBytes     = 1 << 20 // Extism vars, all keys together
	maxLogLines     = 100     // per call; further lines are dropped
	maxLogLineBytes = 4 << 10
)

type stateKey struct{}

// fault is a host-side failure raised inside a host function; it explains the
// trap that follows better than wazero's error does.
type fault struct {
	kind, msg string
}

// callState is everything one call sees on the host side.
type callState struct {
	input     []byte
	output    []byte
	errMsg    []byte
	rc        int32
	maxOutput int
	config    map[string]string
	inst      *instance
	arena     arena
	logLines  int
	fault     *fault
}

// fail records a fault and aborts the call by panicking; wazero turns a
// host-function panic into a trap of the calling module.
func (st *callState) fail(kind, format string, args ...any) {
	st.fault = &fault{kind: kind, msg: fmt.Sprintf(format, args...)}
	panic(st.fault.msg)
}

func stateOf(ctx context.Context) *callState {
	st, _ := ctx.Value(stateKey{}).(*callState)
	if st == nil {
		panic("wasmctl: host function called outside a plugin call")
	}
	return st
}

// arena is the Extism "kernel memory" of one call: blocks addressed by
// offsets the guest treats as opaque pointers. Offset 0 is null, so the
// arena starts with 8 bytes of padding; the input is the first block, so
// input_offset works for PDKs that read input through load_u64.
type arena struct {
	buf         []byte
	lengths     map[uint64]uint64
	inputOffset uint64
}

func (a *arena) init(input []byte) {
	a.buf = make([]byte, 8, 8+len(input)+1024)
	a.lengths = map[uint64]uint64{}
	a.inputOffset = a.alloc(uint64(len(input)))
	copy(a.buf[a.inputOffset:], input)
}

func (a *arena) alloc(n uint64) uint64 {
	off := uint64(len(a.buf))
	a.buf = append(a.buf, make([]byte, n)...)
	a.lengths[off] = n
	return off
}

// block returns the bytes of the block at off, or false.
func (a *arena) block(off uint64) ([]byte, bool) {
	n, ok := a.lengths[off]
	if !ok {
		return nil, false
	}
	return a.buf[off : off+n], true
}

func (st *callState) span(off, n uint64) []byte {
	if off == 0 || off+n > uint64(len(st.arena.buf)) || off+n < off {
		st.fail(FailureTrap, "extism memory access out of bounds: offset %d length %d", off, n)
	}
	return st.arena.buf[off : off+n]
}

func (st *callState) blockOrFail(off uint64, what string) []byte {
	b, ok := st.arena.block(off)
	if !ok {
		st.fail(FailureTrap, "%s: %d is not an allocated extism block", what, off)
	}
	return b
}

func (st *callState) allocBytes(b []byte) uint64 {
	st.checkAlloc(uint64(len(b)))
	off := st.arena.alloc(uint64(len(b)))
	copy(st.arena.buf[off:], b)
	return off
}

func (st *callState) checkAlloc(n uint64) {
	if uint64(len(st.arena.buf))+n > uint64(len(st.input))+uint64(st.maxOutput)+(1<<20) {
		st.fail(FailureOutputLimit, "extism memory above the output limit of %d bytes", st.maxOutput)
	}
}

func (st *callState) setOutput(b []byte) {
	if len(b) > st.maxOutput {
		st.fail(FailureOutputLimit, "output of %d bytes exceeds the limit of %d bytes", len(b), st.maxOutput)
	}
	st.output = append(st.output[:0], b...)
}

// guestBytes reads n bytes at ptr of the guest's linear memory.
func (st *callState) guestBytes(mod api.Module, ptr, n uint32) []byte {
	b, ok := mod.Memory().Read(ptr, n)
	if !ok {
		st.fail(FailureTrap, "guest memory access out of bounds: pointer %d length %d", ptr, n)
	}
	return b
}

type hostFunc struct {
	name    string
	params  []api.ValueType
	results []api.ValueType
	fn      func(ctx context.Context, mod api.Module, stack []uint64)
}

var (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

func vt(types ...api.ValueType) []api.ValueType { return types }

// extismFuncs implements "extism:host/env" as the Extism kernel does.
var extismFuncs = []hostFunc{
	{"alloc", vt(i64), vt(i64), func(ctx context.Context, _ api.Module, s []uint64) {
		st := stateOf(ctx)
		st.checkAlloc(s[0])
		s[0] = st.arena.alloc(s[0])
	}},
	{"free", vt(i64), nil, func(context.Context, api.Module, []uint64) {}}, // the arena dies with the call
	{"length", vt(i64), vt(i64), func(ctx context.Context, _ api.Module, s []uint64) {
		s[0] = stateOf(ctx).arena.lengths[s[0]]
	}},
	{"length_unsafe", vt(i64), vt(i64), func(ctx context.Context, _ api.Module, s []uint64) {
		s[0] = stateOf(ctx).arena.lengths[s[0]]
	}},
	{"load_u8", vt(i64), vt(i32), func(ctx context.Context, _ api.Module, s []uint64) {
		s[0] = uint64(stateOf(ctx).span(s[0], 1)[0])
	}},
	{"load_u64", vt(i64), vt(i64), func(ctx context.Context, _ api.Module, s []uint64) {
		s[0] = binary.LittleEndian.Uint64(stateOf(ctx).span(s[0], 8))
	}},
	{"store_u8", vt(i64, i32), nil, func(ctx context.Context, _ api.Module, s []uint64) {
		stateOf(ctx).span(s[0], 1)[0] = byte(s[1])
	}},
	{"store_u64", vt(i64, i64), nil, func(ctx context.Context, _ api.Module, s []uint64) {
		binary.LittleEndian.PutUint64(stateOf(ctx).span(s[0], 8), s[1])
	}},
	{"input_length", nil, vt(i64), func(ctx context.Context, _ api.Module, s []uint64) {
		s[0] = uint64(len(stateOf(ctx).input))
	}},
	{"input_offset", nil, vt(i64), func(ctx context.Context, _ api.Module, s []uint64) {
		s[0] = stateOf(ctx).arena.inputOffset
	}},
	{"input_load_u8", vt(i64), vt(i32), func(ctx context.Context, _ api.Module, s []uint64) {
		st := stateOf(ctx)
		s[0] = uint64(st.span(st.arena.inputOffset+s[0], 1)[0])
	}},
	{"input_load_u64", vt(i64), vt(i64), func(ctx context.Context, _ api.Module, s []uint64) {
		st := stateOf(ctx)
		s[0] = binary.LittleEndian.Uint64(st.span(st.arena.inputOffset+s[0], 8))
	}},
	{"output_set", vt(i64, i64), nil, func(ctx context.Context, _ api.Module, s []uint64) {
		st := stateOf(ctx)
		st.setOutput(st.span(s[0], s[1]))
	}},
	{"error_set", vt(i64), nil, func(ctx context.Context, _ api.Module, s []uint64) {
		st := stateOf(ctx)
		st.errMsg = append(st.errMsg[:0], st.blockOrFail(s[0], "error_set")...)
	}},
	{"error_get", nil, vt(i64), func(ctx context.Context, _ api.Module, s []uint64) {
		st := stateOf(ctx)
		s[0] = 0
		if len(st.errMsg) > 0 {
			s[0] = st.allocBytes(st.errMsg)
		}
	}},
	{"config_get", vt(i64), vt(i64), func(ctx context.Context, _ api.Module, s []uint64) {
		st := stateOf(ctx)
		v, ok := st.config[string(st.blockOrFail(s[0], "config_get"))]
		s[0] = 0
		if ok {
			s[0] = st.allocBytes([]byte(v))
		}
	}},
	{"var_get", vt(i64), vt(i64), func(ctx context.Context, _ api.Module, s []uint64) {
		st := stateOf(ctx)
		v, ok := st.inst.vars[string(st.blockOrFail(s[0], "var_get"))]
		s[0] = 0
		if ok {
			s[0] = st.allocBytes(v)
		}
	}},
	{"var_set", vt(i64, i64), nil, func(ctx context.Context, _ api.Module, s []uint64) {
		st := stateOf(ctx)
		key := string(st.blockOrFail(s[0], "var_set"))
		if s[1] == 0 {
			delete(st.inst.vars, key)
			return
		}
		val := st.blockOrFail(s[1], "var_set")
		total := len(key) + len(val)
		for k, v := range st.inst.vars {
			if k != key {
				total += len(k) + len(v)
			}
		}
		if total > maxVarBytes {
			st.fail(FailureOutputLimit, "extism vars exceed %d bytes", maxVarBytes)
		}
		st.inst.vars[key] = append([]byte(nil), val...)
	}},
	{"http_request", vt(i64, i64), vt(i64), func(ctx context.Context, _ api.Module, _ []uint64) {
		stateOf(ctx).fail(FailureForbidden, "network access is not allowed (extism http_request)")
	}},
	{"http_status_code", nil, vt(i32), func(_ context.Context, _ api.Module, s []uint64) { s[0] = 0 }},
	{"http_headers", nil, vt(i64), func(_ context.Context, _ api.Module, s []uint64) { s[0] = 0 }},
	{"get_log_level", nil, vt(i32), func(ctx context.Context, _ api.Module, s []uint64) {
		s[0] = 2 // info; debug and trace when the host logs at -v=4
		if klog.FromContext(ctx).V(4).Enabled() {
			s[0] = 0
		}
	}},
	{"reset", nil, nil, func(ctx context.Context, _ api.Module, _ []uint64) {
		st := stateOf(ctx)
		st.arena.init(st.input)
	}},
	logFunc("log_trace", 4), logFunc("log_debug", 4), logFunc("log_info", 0),
	logFunc("log_warn", 0), logFunc("log_error", 0),
}

func logFunc(name string, verbosity int) hostFunc {
	level := name[len("log_"):]
	return hostFunc{name, vt(i64), nil, func(ctx context.Context, _ api.Module, s []uint64) {
		st := stateOf(ctx)
		msg := st.blockOrFail(s[0], name)
		st.logLines++
		if st.logLines > maxLogLines {
			return
		}
		if len(msg) > maxLogLineBytes {
			msg = msg[:maxLogLineBytes]
		}
		logger := klog.FromContext(ctx).WithName("plugin")
		if level == "error" || level == "warn" {
			logger.Info(string(msg), "level", level)
			return
		}
		logger.V(verbosity).Info(string(msg), "level", level)
	}}
}

// wasmctlFuncs are the fast path of abi/guest: one copy each way instead of
// one host call per 8 bytes.
var wasmctlFuncs = []hostFunc{
	// input_read(ptr, len) copies the first len bytes of the input to guest
	// memory at ptr.
	{"input_read", vt(i32, i32), nil, func(ctx context.Context, mod api.Module, s []uint64) {
		st := stateOf(ctx)
		ptr, n := uint32(s[0]), uint32(s[1])
		if uint64(n) > uint64(len(st.input)) {
			st.fail(FailureTrap, "input_read of %d bytes beyond the input's %d", n, len(st.input))
		}
		if !mod.Memory().Write(ptr, st.input[:n]) {
			st.fail(FailureTrap, "input_read: guest memory out of bounds: pointer %d length %d", ptr, n)
		}
	}},
	// output_write(ptr, len) sets the output to len bytes at ptr.
	{"output_write", vt(i32, i32), nil, func(ctx context.Context, mod api.Module, s []uint64) {
		st := stateOf(ctx)
		if uint64(uint32(s[1])) > uint64(st.maxOutput) {
			st.fail(FailureOutputLimit, "output of %d bytes exceeds the limit of %d bytes", uint32(s[1]), st.maxOutput)
		}
		st.setOutput(st.guestBytes(mod, uint32(s[0]), uint32(s[1])))
	}},
	// error_write(ptr, len) sets the error message.
	{"error_write", vt(i32, i32), nil, func(ctx context.Context, mod api.Module, s []uint64) {
		st := stateOf(ctx)
		n := min(uint32(s[1]), maxLogLineBytes*4)
		st.errMsg = append(st.errMsg[:0], st.guestBytes(mod, uint32(s[0]), n)...)
	}},
}

// interruptFuncs is what modules rewritten by interrupt.Instrument call
// every interrupt.Fuel loop iterations (in place of WASI sched_yield, a
// no-op for a single-threaded guest): it ends the call once its context is
// done, as wazero's WithCloseOnContextDone would, with the same exit codes.
var interruptFuncs = []hostFunc{{
	name: interrupt.HostFunction, results: []api.ValueType{api.ValueTypeI32},
	fn: func(ctx context.Context, _ api.Module, stack []uint64) {
		switch ctx.Err() {
		case nil:
			stack[0] = 0 // ESUCCESS
			return
		case context.DeadlineExceeded:
			panic(sys.NewExitError(sys.ExitCodeDeadlineExceeded))
		default:
			panic(sys.NewExitError(sys.ExitCodeContextCanceled))
		}
	},
}}

func instantiateHostModules(ctx context.Context, rt wazero.Runtime) error {
	for _, m := range []struct {
		name  string
		funcs []hostFunc
	}{{"extism:host/env", extismFuncs}, {"wasmctl:host/env", wasmctlFuncs}, {interrupt.HostModule, interruptFuncs}} {
		b := rt.NewHostModuleBuilder(m.name)
		for _, f := range m.funcs {
			b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(f.fn), f.params, f.results).Export(f.name)
		}
		if _, err := b.Instantiate(ctx); err != nil {
			return fmt.Errorf("host module %s: %w", m.name, err)
		}
	}
	return nil
}
