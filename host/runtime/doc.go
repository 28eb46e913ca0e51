// Package runtime runs wasmctl plugins: Extism-compatible WebAssembly modules,
// on wazero.
//
// A Plugin is one compiled .wasm with its limits. Compilation happens once
// (and is cached on disk across processes, see Options.CacheDir); calls borrow
// an instance from the Plugin's pool, since a wazero module instance must not
// be used by two goroutines at once. An instance that traps, runs past its
// timeout, exceeds its memory or output limit, or exits is closed and never
// reused; the next call instantiates a fresh one.
//
// The host side of the Extism ABI (module "extism:host/env": input, output,
// error, config, vars, logs and the kernel memory functions) is implemented
// here on a per-call Go byte arena instead of the Extism kernel module, and a
// small extension, "wasmctl:host/env", lets the abi/guest helper copy the
// whole input into, and the output out of, guest memory in one host call:
// go-pdk's own Input reads 8 bytes per host call, which costs about 1 ms for
// 100 KB. Plugins that only use go-pdk (or another Extism PDK) keep working
// on the standard functions.
//
// Sandbox: no filesystem, no environment, no arguments, no network (the
// Extism HTTP functions fail the call), a fake wall clock and monotonic clock
// and a deterministic random source (wazero's defaults). Plugins get time
// only through the request.
package runtime
