package runtime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"wasmctl.dev/wasmctl/host/runtime/internal/interrupt"
	"wasmctl.dev/wasmctl/host/runtime/internal/mmapmem"
)

// Defaults for Limits.
const (
	DefaultMemoryLimit    = 64 << 20
	DefaultTimeout        = time.Second
	DefaultMaxOutputBytes = 16 << 20
	DefaultIdleTimeout    = time.Minute
	wasmPageSize          = 64 << 10
)

// Options configure a Runtime.
type Options struct {
	// CacheDir keeps compiled machine code across processes, so the second
	// start of a host skips compilation (a Go plugin of a few MB compiles in
	// about a second). Empty: $XDG_CACHE_HOME/wasmctl/wazero (os.UserCacheDir).
	// "none": compile in memory only.
	CacheDir string
}

// Limits bound what one plugin may use.
type Limits struct {
	// MemoryBytes caps each instance's linear memory (rounded down to 64 KiB
	// pages). Default 64 MiB.
	MemoryBytes uint64
	// Timeout bounds one call; a call past it is interrupted, even in a loop
	// that never calls the host, and its instance discarded. Default 1s;
	// negative disables it. Interruptible code counts down a fuel global at
	// every loop head and calls the host every 16384 iterations (wazero's
	// per-iteration exit for modules the rewriter cannot handle): see
	// docs/BENCHMARKS.md.
	Timeout time.Duration
	// MaxOutputBytes caps the output (and the Extism memory a call may
	// allocate on the host beyond its input). Default 16 MiB.
	MaxOutputBytes int
	// IdleTimeout closes an instance that no call has used for this long:
	// idle instances keep their linear memory (a Go guest's heap at its
	// largest), so a controller that is mostly idle keeps none, and the
	// next call instantiates one (~10 ms for the workloads module: Go's
	// runtime and package init). Default (0): DefaultIdleTimeout; negative:
	// never.
	IdleTimeout time.Duration
}

func (l Limits) withDefaults() Limits {
	if l.MemoryBytes == 0 {
		l.MemoryBytes = DefaultMemoryLimit
	}
	if l.Timeout == 0 {
		l.Timeout = DefaultTimeout
	}
	if l.MaxOutputBytes == 0 {
		l.MaxOutputBytes = DefaultMaxOutputBytes
	}
	if l.IdleTimeout == 0 {
		l.IdleTimeout = DefaultIdleTimeout
	}
	return l
}

// Runtime compiles and runs plugins. It is safe for concurrent use.
//
// Plugins loaded from the same bytes with the same memory limit and
// interruption share one compiled module (and its wazero runtime): several
// controllers built into one .wasm (plugins/workloads) cost the compiled
// code and wazero's decoded module once — for the six workload
// controllers ~60 MiB instead of ~200 MiB (docs/BENCHMARKS.md). Each Plugin
// keeps its own instances, configuration and limits.
type Runtime struct {
	cache wazero.CompilationCache
	// dir is the compilation cache directory ("" when in memory); it also
	// keeps rewritten modules (see instrument).
	dir string

	mu      sync.Mutex
	modules map[moduleKey]*module
}

// moduleKey tells which loads may share a compiled module.
type moduleKey struct {
	sum       [sha256.Size]byte
	pages     uint32
	interrupt string // the mode asked for: InterruptWazero, or "" for the best available
	timeout   bool
}

// module is a compiled module and what Load learnt about it, shared by the
// Plugins loaded from it (refs); closed with the last of them.
type module struct {
	key   moduleKey
	ready chan struct{} // closed once compiled (or failed: err)
	err   error
	refs  int

	rt       wazero.Runtime
	compiled wazero.CompiledModule
	exports  map[string]bool
	// uncallable holds the exports the host cannot call (parameters, or a
	// result other than one i32), with their signature.
	uncallable map[string]string
	lang       string
	// interrupt is how a call past its timeout is stopped; interruptNote
	// why the loop checks are not used (InterruptWazero).
	interrupt, interruptNote string
}

// New returns a Runtime with the compilation cache of opts.
func New(opts Options) (*Runtime, error) {
	dir := opts.CacheDir
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		dir = filepath.Join(base, "wasmctl", "wazero")
	}
	if dir == "none" {
		return &Runtime{cache: wazero.NewCompilationCache(), modules: map[moduleKey]*module{}}, nil
	}
	cache, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		return nil, fmt.Errorf("runtime: compilation cache %s: %w", dir, err)
	}
	return &Runtime{cache: cache, dir: dir, modules: map[moduleKey]*module{}}, nil
}

// instrument returns wasm with interruptible loops (interrupt.Instrument).
// With a cache directory the result is kept there by the input's SHA-256:
// the rewrite costs ~0.08 s per 4 MB module, half of a warm start.
// Writing it is best effort: a failure only costs the next load the rewrite.
func (r *Runtime) instrument(wasm []byte) ([]byte, error) {
	if r.dir == "" {
		out, _, err := interrupt.Instrument(wasm)
		return out, err
	}
	sum := sha256.Sum256(wasm)
	path := filepath.Join(r.dir, "wasmctl-interrupt-"+interrupt.Version, hex.EncodeToString(sum[:])+".wasm")
	if out, err := os.ReadFile(path); err == nil {
		return out, nil
	}
	out, _, err := interrupt.Instrument(wasm)
	if err != nil {
		return nil, err
	}
	if os.MkdirAll(filepath.Dir(path), 0o755) == nil {
		if tmp, err := os.CreateTemp(filepath.Dir(path), "tmp-*"); err == nil {
			_, werr := tmp.Write(out)
			cerr := tmp.Close()
			if werr != nil || cerr != nil || os.Rename(tmp.Name(), path) != nil {
				_ = os.Remove(tmp.Name())
			}
		}
	}
	return out, nil
}

// Close releases the compilation cache's memory (the directory stays).
func (r *Runtime) Close(ctx context.Context) error { return r.cache.Close(ctx) }

// LoadOptions configure one plugin.
type LoadOptions struct {
	// Name labels the plugin in errors and logs, and is its argv[0].
	Name   string
	Limits Limits
	// Config is what the Extism config_get function returns (go-pdk GetConfig).
	Config map[string]string
	// MaxInstances bounds the plugin's instances, hence its concurrent
	// calls; further calls wait for a free instance. Default (0):
	// GOMAXPROCS. A call runs guest code or host functions that do not
	// block, so more instances than processors add memory (each keeps its
	// linear memory, ~10 MiB for a Go guest) and no throughput.
	MaxInstances int
	// Interrupt, when InterruptWazero, uses wazero's mechanism even for a
	// module the loop-check rewriter understands (for comparison). Default
	// "": loop checks when possible.
	Interrupt string
}

// Plugin is a compiled module with a pool of instances. It is safe for
// concurrent use; each concurrent call uses its own instance.
type Plugin struct {
	name   string
	limits Limits
	config map[string]string
	r      *Runtime
	*module

	// slots holds one token per instance that may exist (MaxInstances).
	slots chan struct{}

	reaper *time.Timer // armed while instances are idle (Limits.IdleTimeout)

	mu     sync.Mutex
	idle   []*instance        // most recently used last
	busy   map[*instance]bool // instances in a call, closed with the plugin
	live   int
	closed bool
}

type instance struct {
	mod  api.Module
	mem  api.Memory
	vars map[string][]byte
	// funcs caches ExportedFunction lookups.
	funcs map[string]api.Function
	// stderr keeps the start of what the guest wrote to stderr during the
	// current call (Go's panic and fatal error messages), for CallError.
	stderr headBuffer
	// idleSince is when the instance last went back to the pool.
	idleSince time.Time
}

// headBuffer is an io.Writer keeping the first headBufferSize bytes written:
// a panic's message comes first, the goroutine dump after it.
type headBuffer struct{ b []byte }

const headBufferSize = 1024

func (h *headBuffer) Write(p []byte) (int, error) {
	if room := headBufferSize - len(h.b); room > 0 {
		h.b = append(h.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (h *headBuffer) Reset()         { h.b = h.b[:0] }
func (h *headBuffer) String() string { return string(h.b) }

// Load compiles wasm (or takes it from the cache) and checks it is a plugin
// the host can run: it imports only what the host provides (WASI preview 1,
// the Extism kernel functions, wasmctl's), exports "memory", is a reactor
// (exports _initialize, or no start function at all), not a WASI command
// whose _start would run main and exit, and the exports the host calls have
// the signatures it calls them with (reconcile and describe () -> i32,
// _initialize () -> ()). Each refusal names the fix, per source language.
func (r *Runtime) Load(ctx context.Context, wasm []byte, opts LoadOptions) (*Plugin, error) {
	lim := opts.Limits.withDefaults()
	pages := uint32(lim.MemoryBytes / wasmPageSize)
	if pages == 0 {
		return nil, fmt.Errorf("plugin %s: memory limit %d is below one 64 KiB page", opts.Name, lim.MemoryBytes)
	}
	key := moduleKey{sum: sha256.Sum256(wasm), pages: pages, timeout: lim.Timeout > 0}
	if opts.Interrupt == InterruptWazero {
		key.interrupt = InterruptWazero
	}
	m, err := r.acquire(ctx, key, wasm, opts.Name)
	if err != nil {
		return nil, err
	}
	maxInstances := opts.MaxInstances
	if maxInstances <= 0 {
		maxInstances = goruntime.GOMAXPROCS(0)
	}
	return &Plugin{name: opts.Name, limits: lim, config: opts.Config, r: r, module: m,
		slots: make(chan struct{}, maxInstances), busy: map[*instance]bool{}}, nil
}

// acquire returns the compiled module of key, compiling it on first use;
// the caller holds a reference (release).
func (r *Runtime) acquire(ctx context.Context, key moduleKey, wasm []byte, name string) (*module, error) {
	r.mu.Lock()
	m := r.modules[key]
	if m != nil {
		m.refs++
		r.mu.Unlock()
		<-m.ready
		if m.err != nil {
			r.release(m)
			return nil, fmt.Errorf("plugin %s: %w", name, m.err)
		}
		return m, nil
	}
	m = &module{key: key, ready: make(chan struct{}), refs: 1}
	r.modules[key] = m
	r.mu.Unlock()
	m.err = r.compile(ctx, m, wasm)
	close(m.ready)
	if m.err != nil {
		r.release(m)
		return nil, fmt.Errorf("plugin %s: %w", name, m.err)
	}
	return m, nil
}

// release drops a reference to m, closing it with the last one.
func (r *Runtime) release(m *module) error {
	r.mu.Lock()
	m.refs--
	last := m.refs == 0
	if last && r.modules[m.key] == m {
		delete(r.modules, m.key)
	}
	r.mu.Unlock()
	if last && m.rt != nil {
		return m.rt.Close(context.Background())
	}
	return nil
}

// compile fills m: rewrites wasm for interruption, compiles it in a new
// wazero runtime with the host's modules, and checks imports and exports.
func (r *Runtime) compile(ctx context.Context, m *module, wasm []byte) error {
	key := m.key
	// A timeout must stop a guest spinning in a loop. The checks inserted at
	// loop heads (host/runtime/internal/interrupt) cost a counter update per
	// iteration and a host call every interrupt.Fuel iterations; wazero's
	// WithCloseOnContextDone, the fallback for modules the rewriter does not
	// understand, leaves compiled code for Go at every iteration.
	orig := wasm
	mode, note := InterruptNone, ""
	if key.timeout {
		mode, note = InterruptWazero, "asked for (LoadOptions.Interrupt)"
		if key.interrupt != InterruptWazero {
			if instrumented, err := r.instrument(wasm); err == nil {
				wasm, mode, note = instrumented, InterruptLoopChecks, ""
			} else {
				note = "the module could not be rewritten: " + err.Error()
			}
		}
	}
	cfg := wazero.NewRuntimeConfig().
		WithCompilationCache(r.cache).
		WithMemoryLimitPages(key.pages).
		WithCloseOnContextDone(mode == InterruptWazero)
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	m.exports, m.uncallable = map[string]bool{}, map[string]string{}
	m.lang, m.interrupt, m.interruptNote = language(orig), mode, note
	ok := false
	defer func() {
		if !ok {
			rt.Close(ctx)
		}
	}()
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		return err
	}
	if err := instantiateHostModules(ctx, rt); err != nil {
		return err
	}
	compiled, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		return fmt.Errorf("not a valid WebAssembly module: %w", err)
	}
	m.compiled = compiled
	for name, def := range compiled.ExportedFunctions() {
		m.exports[name] = true
		if !callable(def) {
			m.uncallable[name] = sigOf(def).String()
		}
	}
	if err := checkImports(rt, compiled, orig, m.lang); err != nil {
		return err
	}
	if err := checkExports(compiled, m.lang); err != nil {
		return err
	}
	if mem := compiled.ExportedMemories()["memory"]; mem != nil && mem.Min() > key.pages {
		return fmt.Errorf("needs %d KiB of memory at start, above its limit of %d KiB", mem.Min()*64, key.pages*64)
	}
	ok = true
	m.rt = rt
	return nil
}

// Name is the plugin's name.
func (p *Plugin) Name() string { return p.name }

// How a call past its timeout is stopped (Plugin.Interrupt).
const (
	// InterruptLoopChecks: the module was rewritten to call the host every
	// interrupt.Fuel loop iterations; the host stops it there once the
	// call's context is done.
	InterruptLoopChecks = "loop-checks"
	// InterruptWazero: wazero's WithCloseOnContextDone, for modules the
	// rewriter does not understand (e.g. SIMD); slower code.
	InterruptWazero = "wazero"
	// InterruptNone: no timeout (Limits.Timeout < 0).
	InterruptNone = "none"
)

// Interrupt tells how a call past its timeout is stopped.
func (p *Plugin) Interrupt() string { return p.interrupt }

// InterruptNote tells why a plugin interrupted by InterruptWazero does not
// have the loop checks (the rewriter's reason); "" otherwise.
func (p *Plugin) InterruptNote() string { return p.interruptNote }

// Limits are the plugin's effective limits.
func (p *Plugin) Limits() Limits { return p.limits }

// HasExport reports whether the module exports a function name.
func (p *Plugin) HasExport(name string) bool { return p.exports[name] }

// Exports lists the module's exported functions.
func (p *Plugin) Exports() []string {
	out := make([]string, 0, len(p.exports))
	for n := range p.exports {
		out = append(out, n)
	}
	return out
}

// Instances reports how many instances exist (idle or in use).
func (p *Plugin) Instances() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.live
}

// IdleMemoryBytes is the linear memory of the idle instances together.
// Linear memory only grows: each instance keeps its largest size (a Go
// guest's heap up to its next collection) for its lifetime.
func (p *Plugin) IdleMemoryBytes() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var n uint64
	for _, inst := range p.idle {
		if inst.mem != nil {
			n += uint64(inst.mem.Size())
		}
	}
	return n
}

// Close closes every instance and releases the compiled module (closed
// with the last plugin using it). Calls in flight fail. Closing twice is a
// no-op.
func (p *Plugin) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	if p.reaper != nil {
		p.reaper.Stop()
		p.reaper = nil
	}
	insts := p.idle
	for inst := range p.busy {
		insts = append(insts, inst)
	}
	p.idle = nil
	p.mu.Unlock()
	for _, inst := range insts {
		_ = inst.mod.Close(ctx)
	}
	return p.r.release(p.module)
}

// Call runs export with input and returns its output. The call has the
// plugin's timeout (and ctx's own deadline). On any failure the error is a
// *CallError.
func (p *Plugin) Call(ctx context.Context, export string, input []byte) ([]byte, error) {
	if !p.exports[export] {
		return nil, &CallError{Plugin: p.name, Export: export, Kind: FailureNoExport, Msg: "the module does not export it"}
	}
	if sig, bad := p.uncallable[export]; bad {
		return nil, &CallError{Plugin: p.name, Export: export, Kind: FailureNoExport,
			Msg: fmt.Sprintf("its signature is %s; the host calls Extism functions as %s", sig, extismExport)}
	}
	inst, err := p.get(ctx)
	if err != nil {
		return nil, err
	}
	inst.stderr.Reset()
	st := &callState{input: input, maxOutput: p.limits.MaxOutputBytes, config: p.config, inst: inst}
	st.arena.init(input)
	out, err := p.invoke(ctx, inst, st, export)
	if err != nil {
		p.discard(inst)
		return nil, err
	}
	p.put(inst)
	if st.rc != 0 {
		msg := string(st.errMsg)
		if msg == "" {
			msg = fmt.Sprintf("returned %d with no error message", st.rc)
		}
		return nil, &CallError{Plugin: p.name, Export: export, Kind: FailurePluginError, Msg: msg}
	}
	return out, nil
}

// invoke calls export on inst. A non-nil error means the instance must not
// be reused.
func (p *Plugin) invoke(ctx context.Context, inst *instance, st *callState, export string) ([]byte, error) {
	fn := inst.funcs[export]
	if fn == nil {
		fn = inst.mod.ExportedFunction(export)
		inst.funcs[export] = fn
	}
	cctx := context.WithValue(ctx, stateKey{}, st)
	if p.limits.Timeout > 0 {
		var cancel context.CancelFunc
		cctx, cancel = context.WithTimeout(cctx, p.limits.Timeout)
		defer cancel()
	}
	res, err := fn.Call(cctx)
	if err != nil {
		return nil, p.classify(ctx, inst, export, st, err)
	}
	if st.fault != nil {
		return nil, &CallError{Plugin: p.name, Export: export, Kind: st.fault.kind, Msg: st.fault.msg}
	}
	if len(res) > 0 {
		st.rc = int32(res[0])
	}
	return st.output, nil
}

// classify turns a wazero call error into a CallError.
func (p *Plugin) classify(ctx context.Context, inst *instance, export string, st *callState, err error) error {
	ce := &CallError{Plugin: p.name, Export: export, Kind: FailureTrap, Msg: err.Error()}
	var exit *sys.ExitError
	switch {
	case st.fault != nil:
		ce.Kind, ce.Msg = st.fault.kind, st.fault.msg
	case errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeDeadlineExceeded && ctx.Err() == nil:
		ce.Kind, ce.Msg = FailureTimeout, fmt.Sprintf("did not return within %s", p.limits.Timeout)
	case errors.As(err, &exit) && (exit.ExitCode() == sys.ExitCodeDeadlineExceeded || exit.ExitCode() == sys.ExitCodeContextCanceled):
		ce.Kind, ce.Msg = FailureCanceled, ctx.Err().Error()
	case inst.mem != nil && (uint64(inst.mem.Size())+wasmPageSize > p.limits.MemoryBytes ||
		strings.Contains(inst.stderr.String(), "out of memory")):
		// Go's runtime exits (and other languages trap) when memory.grow fails.
		ce.Kind, ce.Msg = FailureMemory, fmt.Sprintf("exceeded its memory limit of %d MiB (%v)", p.limits.MemoryBytes>>20, err)
	case errors.As(err, &exit):
		ce.Kind, ce.Msg = FailureExit, fmt.Sprintf("exited with code %d", exit.ExitCode())
	}
	if msg := strings.TrimSpace(inst.stderr.String()); msg != "" {
		ce.Msg += "; stderr: " + msg
	}
	// An error the plugin set (Extism error_set) before it failed says
	// more than the trap, so it comes first: AssemblyScript's and C's
	// aborts report that way.
	if len(st.errMsg) > 0 {
		msg := st.errMsg
		if len(msg) > maxErrorBytes {
			msg = append(msg[:maxErrorBytes:maxErrorBytes], "..."...)
		}
		ce.Msg = fmt.Sprintf("error set by the plugin before it failed: %q; %s", msg, ce.Msg)
	}
	return ce
}

// maxErrorBytes bounds the plugin's error message quoted in a CallError.
const maxErrorBytes = 4 << 10

func (p *Plugin) get(ctx context.Context) (*instance, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, &CallError{Plugin: p.name, Kind: FailureCanceled, Msg: "waiting for a free instance: " + ctx.Err().Error()}
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.slots
		return nil, &CallError{Plugin: p.name, Kind: FailureClosed, Msg: "plugin is closed"}
	}
	if n := len(p.idle); n > 0 {
		inst := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.busy[inst] = true
		p.mu.Unlock()
		return inst, nil
	}
	p.live++
	p.mu.Unlock()
	inst, err := p.instantiate(ctx)
	p.mu.Lock()
	if err == nil && p.closed { // closed while instantiating
		_ = inst.mod.Close(context.Background())
		err = &CallError{Plugin: p.name, Kind: FailureClosed, Msg: "plugin is closed"}
	}
	if err != nil {
		p.live--
		p.mu.Unlock()
		<-p.slots
		return nil, err
	}
	p.busy[inst] = true
	p.mu.Unlock()
	return inst, nil
}

// put returns an instance to the pool after a call.
func (p *Plugin) put(inst *instance) {
	p.mu.Lock()
	delete(p.busy, inst)
	if p.closed {
		p.live-- // Close closed it
	} else {
		inst.idleSince = time.Now()
		p.idle = append(p.idle, inst)
		if p.limits.IdleTimeout > 0 && p.reaper == nil {
			p.reaper = time.AfterFunc(p.limits.IdleTimeout, p.reap)
		}
	}
	p.mu.Unlock()
	<-p.slots
}

// reap closes the instances idle for the plugin's IdleTimeout and re-arms
// itself while others remain idle.
func (p *Plugin) reap() {
	p.mu.Lock()
	p.reaper = nil
	if p.closed {
		p.mu.Unlock()
		return
	}
	now := time.Now()
	var stale []*instance
	keep := p.idle[:0]
	for _, inst := range p.idle {
		if now.Sub(inst.idleSince) >= p.limits.IdleTimeout {
			stale = append(stale, inst)
		} else {
			keep = append(keep, inst)
		}
	}
	clear(p.idle[len(keep):])
	p.idle = keep
	p.live -= len(stale)
	if len(keep) > 0 {
		// The oldest idle instance is first: wake when it is due.
		p.reaper = time.AfterFunc(p.limits.IdleTimeout-now.Sub(keep[0].idleSince), p.reap)
	}
	p.mu.Unlock()
	for _, inst := range stale {
		_ = inst.mod.Close(context.Background())
	}
}

// discard closes an instance that must not be reused.
func (p *Plugin) discard(inst *instance) {
	_ = inst.mod.Close(context.Background())
	p.mu.Lock()
	delete(p.busy, inst)
	p.live--
	p.mu.Unlock()
	<-p.slots
}

// instantiate creates a fresh instance and runs its _initialize (Go's
// runtime and package init) under the call timeout.
func (p *Plugin) instantiate(ctx context.Context) (*instance, error) {
	inst := &instance{vars: map[string][]byte{}, funcs: map[string]api.Function{}}
	cfg := wazero.NewModuleConfig().
		WithName(""). // anonymous: many instances of one module may coexist
		WithArgs(p.name).
		WithStderr(&inst.stderr).
		WithStartFunctions() // _initialize is called below, under a timeout
	st := &callState{maxOutput: p.limits.MaxOutputBytes, config: p.config, inst: inst}
	st.arena.init(nil)
	cctx := context.WithValue(ctx, stateKey{}, st)
	if p.limits.Timeout > 0 {
		var cancel context.CancelFunc
		// Runtime init is heavier than a call; allow it a few timeouts.
		cctx, cancel = context.WithTimeout(cctx, 5*p.limits.Timeout)
		defer cancel()
	}
	// Linear memory outside the Go heap (see mmapmem).
	mod, err := p.rt.InstantiateModule(experimental.WithMemoryAllocator(cctx, mmapmem.Allocator()), p.compiled, cfg)
	if err != nil {
		// Imports were checked at load: what fails here is the module's
		// start function, or memory.
		ce := p.classify(ctx, inst, "instantiate", st, err).(*CallError)
		if ce.Kind == FailureTrap || ce.Kind == FailureExit {
			ce.Kind, ce.Msg = FailureInstantiate, instantiateMessage("its start function", err, p.lang)+suffix(ce.Msg, err)
		}
		return nil, ce
	}
	inst.mod, inst.mem = mod, mod.ExportedMemory("memory")
	if init := mod.ExportedFunction("_initialize"); init != nil {
		if _, err := init.Call(cctx); err != nil {
			mod.Close(ctx)
			ce := p.classify(ctx, inst, "_initialize", st, err).(*CallError)
			if ce.Kind == FailureTrap || ce.Kind == FailureExit {
				ce.Kind, ce.Msg = FailureInstantiate, instantiateMessage("_initialize", err, p.lang)+suffix(ce.Msg, err)
			}
			return nil, ce
		}
	}
	return inst, nil
}

// Failure kinds of a CallError, also the "reason" label of metrics.
const (
	FailureTrap        = "trap"
	FailureTimeout     = "timeout"
	FailureMemory      = "memory"
	FailureExit        = "exit"
	FailureOutputLimit = "output_limit"
	FailureForbidden   = "forbidden" // a sandboxed capability, e.g. HTTP
	FailurePluginError = "plugin_error"
	FailureNoExport    = "no_export"
	FailureInstantiate = "instantiate"
	FailureCanceled    = "canceled"
	FailureClosed      = "closed"
)

// CallError is a failed plugin call.
type CallError struct {
	Plugin string
	Export string
	// Kind is one of the Failure constants.
	Kind string
	Msg  string
}

func (e *CallError) Error() string {
	return fmt.Sprintf("plugin %s: %s: %s: %s", e.Plugin, e.Export, e.Kind, e.Msg)
}

// suffix is what classify added to err's message (stderr, the plugin's
// error), to keep when the message is reworded.
func suffix(msg string, err error) string {
	if rest, ok := strings.CutPrefix(msg, err.Error()); ok {
		return rest
	}
	return ""
}
