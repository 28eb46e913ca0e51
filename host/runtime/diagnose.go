package runtime

// Load-time checks of a module against what the host provides and calls,
// with messages that name the fix in the language the module was written in.

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/host/runtime/internal/wasmbin"
)

// Source languages told apart by language.
const (
	langGo             = "Go"
	langC              = "C"
	langRust           = "Rust"
	langAssemblyScript = "AssemblyScript"
)

// language guesses what a module was written in: from the "producers"
// custom section (Go, clang and rustc write one), or AssemblyScript's
// runtime imports (env.abort, env.trace, env.seed). "" when unknown.
func language(wasm []byte) string {
	sections, err := wasmbin.Sections(wasm)
	if err != nil {
		return ""
	}
	for _, s := range sections {
		switch s.ID {
		case wasmbin.SecCustom:
			name, data, err := wasmbin.Custom(s.Payload)
			if err != nil || name != "producers" {
				continue
			}
			for _, v := range producers(data)["language"] {
				switch {
				case v == "Go":
					return langGo
				case v == "Rust":
					return langRust
				case strings.HasPrefix(v, "C"): // C11, C99, C_plus_plus_14
					return langC
				}
			}
		case wasmbin.SecImport:
			imports, _ := wasmbin.Imports(s.Payload)
			for _, imp := range imports {
				if imp.Module == "env" && (imp.Name == "abort" || imp.Name == "trace" || imp.Name == "seed") {
					return langAssemblyScript
				}
			}
		}
	}
	return ""
}

// producers decodes a producers section: field name → value names.
func producers(data []byte) map[string][]string {
	out := map[string][]string{}
	r := &wasmbin.Reader{B: data}
	for range r.U32() {
		field := string(r.Name())
		for range r.U32() {
			value := string(r.Name())
			r.Name() // version
			if r.Err != nil {
				return out
			}
			out[field] = append(out[field], value)
		}
	}
	return out
}

// fix words one fix per language, the module's own language first.
func fix(lang string, fixes map[string]string) string {
	var parts []string
	if f, ok := fixes[lang]; ok {
		parts = append(parts, "this module looks like "+lang+": "+f)
	}
	for _, l := range []string{langGo, langC, langRust, langAssemblyScript} {
		if f, ok := fixes[l]; ok && l != lang {
			parts = append(parts, l+": "+f)
		}
	}
	return strings.Join(parts, "; ")
}

var reactorFixes = map[string]string{
	langGo:             "GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared",
	langC:              "clang --target=wasm32-wasi -mexec-model=reactor (wasi-libc)",
	langRust:           `crate-type = ["cdylib"] in Cargo.toml`,
	langAssemblyScript: "asc --exportStart _initialize (not _start, e.g. with @assemblyscript/wasi-shim)",
}

var signatureFixes = map[string]string{
	langGo:             "//go:wasmexport NAME on a func() int32, or abi/guest.Register",
	langC:              "int32_t NAME(void) with __attribute__((export_name(\"NAME\")))",
	langRust:           "#[plugin_fn] pub fn NAME(input: ...) -> FnResult<...>",
	langAssemblyScript: "export function NAME(): i32",
}

// Signatures of the exports the host calls.
var (
	extismExport = signature{results: []api.ValueType{api.ValueTypeI32}} // () -> i32
	initExport   = signature{}                                           // () -> ()
)

type signature struct{ params, results []api.ValueType }

func sigOf(def api.FunctionDefinition) signature {
	return signature{def.ParamTypes(), def.ResultTypes()}
}

func (s signature) equal(o signature) bool {
	return slices.Equal(s.params, o.params) && slices.Equal(s.results, o.results)
}

func (s signature) String() string {
	names := func(ts []api.ValueType) string {
		var out []string
		for _, t := range ts {
			out = append(out, api.ValueTypeName(t))
		}
		return strings.Join(out, ", ")
	}
	res := names(s.results)
	if len(s.results) != 1 {
		res = "(" + res + ")"
	}
	return "(" + names(s.params) + ") -> " + res
}

// hostModules are the modules the host provides, for messages.
var hostModules = []string{"wasi_snapshot_preview1", "extism:host/env", "wasmctl:host/env"}

// checkImports refuses a module importing what the host does not provide:
// wazero would fail every instantiation (at the first call) with
// "module[env] not instantiated" or a signature mismatch.
func checkImports(rt wazero.Runtime, compiled wazero.CompiledModule, wasm []byte, lang string) error {
	for _, def := range compiled.ImportedFunctions() {
		module, name, _ := def.Import()
		host := rt.Module(module)
		if host == nil {
			return errors.New(unknownModule(module, name))
		}
		hdef := host.ExportedFunctionDefinitions()[name]
		if hdef == nil {
			return errors.New(unknownFunction(module, name, host))
		}
		if want, got := sigOf(hdef), sigOf(def); !want.equal(got) {
			return fmt.Errorf("imports %s.%s as %s, but the host's is %s", module, name, got, want)
		}
	}
	sections, _ := wasmbin.Sections(wasm)
	for _, s := range sections {
		if s.ID != wasmbin.SecImport {
			continue
		}
		imports, err := wasmbin.Imports(s.Payload)
		if err != nil {
			return err
		}
		for _, imp := range imports {
			what := imp.Module + "." + imp.Name
			switch imp.Kind {
			case wasmbin.ImportMemory:
				return fmt.Errorf("imports its memory (%s); the host provides none: define and export it (%s)", what,
					fix(lang, map[string]string{langC: "link without -Wl,--import-memory", langAssemblyScript: "compile without --importMemory", langRust: "link without --import-memory"}))
			case wasmbin.ImportTable:
				return fmt.Errorf("imports a table (%s); the host provides none (%s)", what,
					fix(lang, map[string]string{langC: "link without -Wl,--import-table", langAssemblyScript: "compile without --importTable"}))
			case wasmbin.ImportGlobal:
				return fmt.Errorf("imports a global (%s); the host provides none: build a self-contained module, not one for dynamic linking (C: no -fPIC/-shared)", what)
			case wasmbin.ImportTag:
				return fmt.Errorf("imports an exception tag (%s); the host provides none", what)
			}
		}
	}
	return nil
}

func unknownModule(module, name string) string {
	what := fmt.Sprintf("imports %s.%s from module %q, which the host does not provide (it provides %s)", module, name, module, strings.Join(hostModules, ", "))
	switch {
	case module == "env" && name == "abort":
		return what + ": env.abort is AssemblyScript's default abort handler; compile with --use abort=FILE/FUNCTION naming an abort function of your own (docs/PLUGINS.md has one that reports the message through Extism's error_set and traps)"
	case module == "env" && name == "trace":
		return what + ": env.trace is AssemblyScript's trace(); remove the calls or compile with --use trace=FILE/FUNCTION (e.g. one logging through the PDK)"
	case module == "env" && name == "seed":
		return what + ": env.seed seeds AssemblyScript's Math.random; compile with --use seed=FILE/FUNCTION returning an f64, or do not use Math.random"
	case module == "env":
		return what + ": an undefined symbol the linker left as an import (C: a function declared but not defined, allowed by -Wl,--allow-undefined; Rust: an extern \"C\" block); define it in the module or drop the call"
	case module == "extism:host/user":
		return what + ": an Extism host function the embedding application defines; wasmctl defines none"
	case module == "wasi_unstable":
		return what + ": the old WASI snapshot 0; rebuild for wasi_snapshot_preview1 (wasip1, wasm32-wasi)"
	case strings.HasPrefix(module, "wasi:"):
		return what + ": a WASI 0.2 component interface; build a core module for wasip1 (Rust: --target wasm32-wasip1, not wasm32-wasip2)"
	case module == "__wbindgen_placeholder__" || module == "wbg":
		return what + ": wasm-bindgen's JavaScript glue; build an Extism plugin (extism-pdk, --target wasm32-wasip1) without wasm-bindgen"
	case module == "go" || module == "gojs":
		return what + ": a GOOS=js module; build with GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared"
	}
	return what
}

func unknownFunction(module, name string, host api.Module) string {
	what := fmt.Sprintf("imports %s.%s, which the host does not provide", module, name)
	if module == "extism:host/env" {
		var names []string
		for n := range host.ExportedFunctionDefinitions() {
			names = append(names, n)
		}
		slices.Sort(names)
		return what + " (an Extism kernel function of a newer or other PDK? The host implements " + strings.Join(names, ", ") + ")"
	}
	return what
}

// checkExports refuses a module the host could not call: no memory, a WASI
// command, or an export the host calls with the wrong signature (it would
// load, then fail every call).
func checkExports(compiled wazero.CompiledModule, lang string) error {
	funcs := compiled.ExportedFunctions()
	// Extism's kernel functions keep their memory on the host: only the
	// wasmctl fast path (input_read, output_write) reads the guest's.
	usesGuestMemory := false
	for _, f := range compiled.ImportedFunctions() {
		if mod, _, _ := f.Import(); mod == "wasmctl:host/env" {
			usesGuestMemory = true
		}
	}
	if _, ok := compiled.ExportedMemories()["memory"]; !ok && usesGuestMemory {
		msg := `imports wasmctl:host/env but exports no memory named "memory" (the host reads and writes the guest's data there)`
		for name := range compiled.ExportedMemories() {
			msg += fmt.Sprintf("; it exports one as %q", name)
		}
		return errors.New(msg)
	}
	if funcs["_start"] != nil && funcs["_initialize"] == nil {
		return fmt.Errorf("built as a WASI command (exports _start, no _initialize): _start runs main and exits, leaving nothing to call; build it as a reactor (library): %s",
			fix(lang, reactorFixes))
	}
	for _, c := range []struct {
		name string
		want signature
	}{
		{abi.ExportReconcile, extismExport},
		{abi.ExportDescribe, extismExport},
		{"_initialize", initExport},
	} {
		def := funcs[c.name]
		if def == nil {
			continue
		}
		if got := sigOf(def); !got.equal(c.want) {
			msg := fmt.Sprintf("exports %s as %s, but the host calls it as %s", c.name, got, c.want)
			if c.want.equal(extismExport) {
				fixes := map[string]string{}
				for l, f := range signatureFixes {
					fixes[l] = strings.ReplaceAll(f, "NAME", c.name)
				}
				msg += " (an Extism plugin function: no parameters, the input read through the PDK, an i32 result, 0 for success): " + fix(lang, fixes)
			}
			return errors.New(msg)
		}
	}
	return nil
}

// callable reports whether the host can call an export (Extism functions
// take nothing and return an i32, or nothing).
func callable(def api.FunctionDefinition) bool {
	return len(def.ParamTypes()) == 0 && len(def.ResultTypes()) <= 1 &&
		(len(def.ResultTypes()) == 0 || def.ResultTypes()[0] == api.ValueTypeI32)
}

// instantiateMessage explains a failed instantiation or _initialize: the
// module's start function (AssemblyScript top-level code, C and C++ static
// constructors) or its _initialize (Go's runtime and package init) exited
// or trapped.
func instantiateMessage(what string, err error, lang string) string {
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		msg := fmt.Sprintf("%s exited with code %d", what, exit.ExitCode())
		switch lang {
		case langGo:
			msg += " (a panic or os.Exit in a package init: build with -buildmode=c-shared and register in init, never exit)"
		case langAssemblyScript:
			msg += " (top-level code that aborted, e.g. through @assemblyscript/wasi-shim's abort)"
		case langC:
			msg += " (exit() in a constructor, or a command's main: build with -mexec-model=reactor)"
		}
		return msg
	}
	msg := fmt.Sprintf("%s trapped: %v", what, err)
	switch lang {
	case langAssemblyScript:
		msg += " (AssemblyScript runs top-level statements there)"
	case langC:
		msg += " (C and C++ static constructors run there)"
	}
	return msg
}
