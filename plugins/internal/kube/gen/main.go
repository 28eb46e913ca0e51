// Command gen writes the Go types of plugins/internal/kube: the object
// types of k8s.io/api (apps/v1, core/v1) and the metadata types of
// apimachinery's meta/v1 that the Deployment and DaemonSet plugins read,
// field for field (same names, order, Go types and json tags), without the
// protobuf code, the scheme registration and the string methods that come
// with the real packages. Importing k8s.io/api/core/v1 links every method
// of its 240 registered types into a module (16.8 MB of Wasm for the two
// plugins, ~95 MiB of host memory each once compiled); the mirror links
// only what a plugin calls.
//
// Why a mirror rather than hand-written types: the pod-template-hash of a
// ReplicaSet or a DaemonSet revision is an FNV hash of a go-spew dump of
// the template's Go value, type and field names included
// (plugins/internal/podhash), so only structs of the same shape decoded
// from the same JSON give upstream's names. The generator reads that shape
// from the real types with reflect, so it is exact by construction, and
// podhash's tests compare hashes of both over randomly filled templates.
//
// It also emits DeepCopy/DeepCopyInto and DecodeJSON for every struct, and
// the constants declared next to the types (read from the package sources
// with go/ast). DecodeJSON walks a fastjson value into the struct with
// encoding/json's rules (plugins/internal/kube/decode): one pass over each
// object's keys, a switch on the key, the field decoded in place.
// The types whose JSON form is custom are written by hand next to the
// generated files (meta/v1 Time, MicroTime, FieldsV1, Duration; runtime
// RawExtension) or are used from packages that cost little
// (apimachinery's resource and types, abi/sdk/intstr, whose IntOrString
// has the same shape as apimachinery's).
//
//	go run ./plugins/internal/kube/gen            # rewrite the files
//	go run ./plugins/internal/kube/gen -check     # exit 1 if they are stale
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

const module = "wasmctl.dev/wasmctl"

// target is one mirrored package.
type target struct {
	src   string // import path of the real package
	dir   string // directory under the repository root
	path  string // import path of the mirror
	alias string // how other mirror packages import it
	name  string // package name (what go-spew prints)
}

var targets = []*target{
	{src: "k8s.io/api/core/v1", dir: "plugins/internal/kube/core/v1", alias: "corev1", name: "v1"},
	{src: "k8s.io/api/apps/v1", dir: "plugins/internal/kube/apps/v1", alias: "appsv1", name: "v1"},
	{src: "k8s.io/apimachinery/pkg/apis/meta/v1", dir: "plugins/internal/kube/meta/v1", alias: "metav1", name: "v1"},
	{src: "k8s.io/apimachinery/pkg/runtime", dir: "plugins/internal/kube/runtime", alias: "runtime", name: "runtime"},
}

// external are packages whose types are used as they are (import path,
// alias): small, or with an equivalent of the same shape.
var external = map[string][2]string{
	"k8s.io/apimachinery/pkg/api/resource": {"k8s.io/apimachinery/pkg/api/resource", "resource"},
	"k8s.io/apimachinery/pkg/types":        {"k8s.io/apimachinery/pkg/types", "types"},
	"k8s.io/apimachinery/pkg/util/intstr":  {module + "/abi/sdk/intstr", "intstr"},
	"time":                                 {"time", "time"},
}

// handWritten are the mirrored types the generator does not emit (custom
// JSON or unexported state); each has DeepCopyInto written by hand.
var handWritten = map[string]bool{
	"k8s.io/apimachinery/pkg/apis/meta/v1.Time":      true,
	"k8s.io/apimachinery/pkg/apis/meta/v1.MicroTime": true,
	"k8s.io/apimachinery/pkg/apis/meta/v1.FieldsV1":  true,
	"k8s.io/apimachinery/pkg/apis/meta/v1.Duration":  true,
	"k8s.io/apimachinery/pkg/runtime.RawExtension":   true,
}

// roots are the types the plugins decode, encode or build.
var roots = []any{
	appsv1.Deployment{}, appsv1.ReplicaSet{}, appsv1.DaemonSet{}, appsv1.ControllerRevision{},
	corev1.Pod{}, corev1.Node{}, corev1.PodTemplateSpec{},
}

func main() {
	check := flag.Bool("check", false, "report stale files instead of writing them")
	flag.Parse()
	root, err := repoRoot()
	if err != nil {
		fail(err)
	}
	files, err := generate()
	if err != nil {
		fail(err)
	}
	stale := false
	for dir, src := range files {
		path := filepath.Join(root, dir, "zz_generated.go")
		if *check {
			old, _ := os.ReadFile(path)
			if !bytes.Equal(old, src) {
				fmt.Fprintf(os.Stderr, "%s is stale: go run ./plugins/internal/kube/gen\n", path)
				stale = true
			}
			continue
		}
		if err := os.WriteFile(path, src, 0o644); err != nil {
			fail(err)
		}
	}
	if stale {
		os.Exit(1)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gen:", err)
	os.Exit(1)
}

func repoRoot() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return "", fmt.Errorf("go list -m: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// generate returns each mirror package's generated file, by directory.
func generate() (map[string][]byte, error) {
	for _, t := range targets {
		t.path = module + "/" + t.dir
	}
	g := &generator{types: map[string][]reflect.Type{}, seen: map[reflect.Type]bool{}}
	for _, r := range roots {
		if err := g.walk(reflect.TypeOf(r)); err != nil {
			return nil, err
		}
	}
	files := map[string][]byte{}
	for _, t := range targets {
		src, err := g.file(t)
		if err != nil {
			return nil, err
		}
		files[t.dir] = src
	}
	return files, nil
}

type generator struct {
	types map[string][]reflect.Type // named types to emit, by source package
	seen  map[reflect.Type]bool
}

func targetOf(pkg string) *target {
	for _, t := range targets {
		if t.src == pkg {
			return t
		}
	}
	return nil
}

// walk collects the named types reachable from t.
func (g *generator) walk(t reflect.Type) error {
	if g.seen[t] {
		return nil
	}
	g.seen[t] = true
	if t.Name() != "" && t.PkgPath() != "" {
		if _, ok := external[t.PkgPath()]; ok {
			return nil
		}
		if targetOf(t.PkgPath()) == nil {
			return fmt.Errorf("type %s from %s: no mirror package and not external", t, t.PkgPath())
		}
		if handWritten[t.PkgPath()+"."+t.Name()] {
			return nil
		}
		g.types[t.PkgPath()] = append(g.types[t.PkgPath()], t)
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return g.walk(t.Elem())
	case reflect.Map:
		if err := g.walk(t.Key()); err != nil {
			return err
		}
		return g.walk(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				return fmt.Errorf("%s.%s is unexported: write %s by hand", t, f.Name, t)
			}
			if err := g.walk(f.Type); err != nil {
				return err
			}
		}
	case reflect.Interface:
		if t.NumMethod() > 0 {
			return fmt.Errorf("interface type %s: not mirrored", t)
		}
	}
	return nil
}

// file is one mirror package's generated source.
type file struct {
	t       *target
	imports map[string]string // path -> alias
}

// typeExpr is the Go expression for t inside package f.t.
func (f *file) typeExpr(t reflect.Type) string {
	if t.Name() != "" {
		if t.PkgPath() == "" {
			return t.Name() // predeclared
		}
		var path, alias string
		if ext, ok := external[t.PkgPath()]; ok {
			path, alias = ext[0], ext[1]
		} else {
			m := targetOf(t.PkgPath())
			if m == f.t {
				return t.Name()
			}
			path, alias = m.path, m.alias
		}
		f.imports[path] = alias
		return alias + "." + t.Name()
	}
	switch t.Kind() {
	case reflect.Pointer:
		return "*" + f.typeExpr(t.Elem())
	case reflect.Slice:
		return "[]" + f.typeExpr(t.Elem())
	case reflect.Array:
		return fmt.Sprintf("[%d]%s", t.Len(), f.typeExpr(t.Elem()))
	case reflect.Map:
		return "map[" + f.typeExpr(t.Key()) + "]" + f.typeExpr(t.Elem())
	case reflect.Interface:
		return "interface{}"
	}
	panic("unnamed type " + t.String())
}

func isQuantity(t reflect.Type) bool {
	return t.PkgPath() == "k8s.io/apimachinery/pkg/api/resource" && t.Name() == "Quantity"
}

// deep reports whether copying a value of t by assignment shares memory a
// deep copy must not share.
func deep(t reflect.Type) bool {
	if isQuantity(t) {
		return true
	}
	if t.PkgPath() == "time" || handWritten[t.PkgPath()+"."+t.Name()] && t.Name() != "FieldsV1" && t.Name() != "RawExtension" {
		return false // Time, MicroTime, Duration: values
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
		return true
	case reflect.Array:
		return deep(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if deep(t.Field(i).Type) {
				return true
			}
		}
	}
	return false
}

// hasDeepCopyInto: struct types of the mirror (generated or hand-written)
// copy themselves.
func hasDeepCopyInto(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && t.Name() != "" && targetOf(t.PkgPath()) != nil
}

// copyStmts writes statements that make dst (addressable) a deep copy of
// src, where dst already holds a shallow copy of src.
func (f *file) copyStmts(b *strings.Builder, t reflect.Type, src, dst string, depth int) {
	if !deep(t) {
		return
	}
	switch {
	case isQuantity(t):
		fmt.Fprintf(b, "%s = %s.DeepCopy()\n", dst, src)
		return
	case hasDeepCopyInto(t):
		fmt.Fprintf(b, "%s.DeepCopyInto(&%s)\n", src, dst)
		return
	}
	in, out := fmt.Sprintf("in%d", depth), fmt.Sprintf("out%d", depth)
	switch t.Kind() {
	case reflect.Pointer:
		fmt.Fprintf(b, "if %s != nil {\n%s, %s := %s, &%s\n*%s = new(%s)\n**%s = *%s\n", src, in, out, src, dst, out, f.typeExpr(t.Elem()), out, in)
		f.copyStmts(b, t.Elem(), "(*"+in+")", "(**"+out+")", depth+1)
		b.WriteString("}\n")
	case reflect.Slice:
		fmt.Fprintf(b, "if %s != nil {\n%s, %s := %s, &%s\n*%s = make(%s, len(%s))\ncopy(*%s, %s)\n", src, in, out, src, dst, out, f.typeExpr(t), in, out, in)
		if deep(t.Elem()) {
			i := fmt.Sprintf("i%d", depth)
			fmt.Fprintf(b, "for %s := range %s {\n", i, in)
			f.copyStmts(b, t.Elem(), in+"["+i+"]", "(*"+out+")["+i+"]", depth+1)
			b.WriteString("}\n")
		}
		b.WriteString("}\n")
	case reflect.Map:
		k, v := fmt.Sprintf("k%d", depth), fmt.Sprintf("v%d", depth)
		fmt.Fprintf(b, "if %s != nil {\n%s, %s := %s, &%s\n*%s = make(%s, len(%s))\nfor %s, %s := range %s {\n", src, in, out, src, dst, out, f.typeExpr(t), in, k, v, in)
		if deep(t.Elem()) {
			c := fmt.Sprintf("c%d", depth)
			fmt.Fprintf(b, "%s := %s\n", c, v)
			f.copyStmts(b, t.Elem(), v, c, depth+1)
			fmt.Fprintf(b, "(*%s)[%s] = %s\n", out, k, c)
		} else {
			fmt.Fprintf(b, "(*%s)[%s] = %s\n", out, k, v)
		}
		b.WriteString("}\n}\n")
	default:
		panic("cannot deep-copy " + t.String())
	}
}

func (g *generator) file(t *target) ([]byte, error) {
	f := &file{t: t, imports: map[string]string{}}
	types := g.types[t.src]
	sort.Slice(types, func(i, j int) bool { return types[i].Name() < types[j].Name() })
	var body strings.Builder
	names := map[string]bool{}
	for _, typ := range types {
		names[typ.Name()] = true
		fmt.Fprintf(&body, "// %s mirrors %s.%s.\n", typ.Name(), t.src, typ.Name())
		if typ.Kind() != reflect.Struct {
			// Named non-struct types: their underlying type spelled out.
			var under string
			switch typ.Kind() {
			case reflect.Slice:
				under = "[]" + f.typeExpr(typ.Elem())
			case reflect.Map:
				under = "map[" + f.typeExpr(typ.Key()) + "]" + f.typeExpr(typ.Elem())
			case reflect.Pointer, reflect.Array, reflect.Struct, reflect.Interface, reflect.Func, reflect.Chan:
				return nil, fmt.Errorf("named %s type %s: not handled", typ.Kind(), typ)
			default:
				under = typ.Kind().String()
			}
			fmt.Fprintf(&body, "type %s %s\n\n", typ.Name(), under)
			continue
		}
		fmt.Fprintf(&body, "type %s struct {\n", typ.Name())
		for i := range typ.NumField() {
			fd := typ.Field(i)
			tag := ""
			if j, ok := fd.Tag.Lookup("json"); ok {
				tag = fmt.Sprintf(" `json:%q`", j)
			}
			if fd.Anonymous {
				fmt.Fprintf(&body, "\t%s%s\n", f.typeExpr(fd.Type), tag)
			} else {
				fmt.Fprintf(&body, "\t%s %s%s\n", fd.Name, f.typeExpr(fd.Type), tag)
			}
		}
		body.WriteString("}\n\n")
		// Deep copies, as deepcopy-gen's: a shallow copy, then every field
		// that shares memory copied again.
		fmt.Fprintf(&body, "// DeepCopyInto copies in into out; in must be non-nil.\nfunc (in *%s) DeepCopyInto(out *%s) {\n*out = *in\n", typ.Name(), typ.Name())
		for i := range typ.NumField() {
			fd := typ.Field(i)
			f.copyStmts(&body, fd.Type, "in."+fd.Name, "out."+fd.Name, 0)
		}
		body.WriteString("}\n\n")
		fmt.Fprintf(&body, "// DeepCopy returns a deep copy of in (nil for nil).\nfunc (in *%s) DeepCopy() *%s {\nif in == nil {\nreturn nil\n}\nout := new(%s)\nin.DeepCopyInto(out)\nreturn out\n}\n\n", typ.Name(), typ.Name(), typ.Name())
		if err := f.decodeMethod(&body, typ); err != nil {
			return nil, err
		}
	}
	consts, err := constants(t.src, names)
	if err != nil {
		return nil, err
	}
	var src bytes.Buffer
	fmt.Fprintf(&src, "// Code generated by go run ./plugins/internal/kube/gen; DO NOT EDIT.\n// From %s %s.\n\npackage %s\n\n", t.src, moduleVersion(t.src), t.name)
	if len(f.imports) > 0 {
		src.WriteString("import (\n")
		paths := make([]string, 0, len(f.imports))
		for p := range f.imports {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for _, p := range paths {
			fmt.Fprintf(&src, "%s %q\n", f.imports[p], p)
		}
		src.WriteString(")\n\n")
	}
	src.WriteString(consts)
	src.WriteString(body.String())
	out, err := format.Source(src.Bytes())
	if err != nil {
		return nil, fmt.Errorf("%s: %w\n%s", t.dir, err, src.Bytes())
	}
	return out, nil
}

const (
	fastjsonPath = "github.com/valyala/fastjson"
	decodePath   = module + "/plugins/internal/kube/decode"
)

func isIntOrString(t reflect.Type) bool {
	return t.PkgPath() == "k8s.io/apimachinery/pkg/util/intstr" && t.Name() == "IntOrString"
}

// jsonField is one key of a struct's JSON object: the Go selector that
// reaches it (through embedded structs) and its type.
type jsonField struct {
	name, sel string
	typ       reflect.Type
	depth     int
}

// jsonFields lists t's JSON keys with encoding/json's rules: the tag's name
// or the field's, "-" skipped, the fields of untagged embedded structs
// promoted, and of two keys with the same name the shallower one kept.
func jsonFields(t reflect.Type, sel string, depth int) ([]jsonField, error) {
	var out []jsonField
	for i := range t.NumField() {
		fd := t.Field(i)
		tag := fd.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if tag == "-" {
			continue
		}
		if strings.Contains(","+opts+",", ",string,") {
			return nil, fmt.Errorf("%s.%s: the ,string option is not handled", t, fd.Name)
		}
		if fd.Anonymous && name == "" {
			if fd.Type.Kind() != reflect.Struct {
				return nil, fmt.Errorf("%s.%s: embedded %s is not handled", t, fd.Name, fd.Type.Kind())
			}
			inner, err := jsonFields(fd.Type, sel+fd.Name+".", depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, inner...)
			continue
		}
		if name == "" {
			name = fd.Name
		}
		out = append(out, jsonField{name: name, sel: sel + fd.Name, typ: fd.Type, depth: depth})
	}
	if depth > 0 {
		return out, nil
	}
	// Dominance: the shallowest key of a name wins; two at the same depth
	// would cancel each other in encoding/json: refuse to guess.
	best := map[string]jsonField{}
	for _, f := range out {
		if b, ok := best[f.name]; ok {
			if b.depth == f.depth {
				return nil, fmt.Errorf("%s: two fields named %q at the same depth", t, f.name)
			}
			if b.depth < f.depth {
				continue
			}
		}
		best[f.name] = f
	}
	var kept []jsonField
	for _, f := range out {
		if best[f.name] == f {
			kept = append(kept, f)
		}
	}
	return kept, nil
}

// decodeMethod writes typ's DecodeJSON: one pass over the object's keys,
// each field decoded in place by decodeStmts.
func (f *file) decodeMethod(b *strings.Builder, typ reflect.Type) error {
	fields, err := jsonFields(typ, "x.", 0)
	if err != nil {
		return err
	}
	f.imports[fastjsonPath] = "fastjson"
	f.imports[decodePath] = "decode"
	fmt.Fprintf(b, "// DecodeJSON sets x from v, a parsed JSON value, as encoding/json.Unmarshal\n// would (plugins/internal/kube/decode states the rules).\n")
	fmt.Fprintf(b, "func (x *%s) DecodeJSON(v *fastjson.Value) error {\no, err := decode.Object(v)\nif o == nil {\nreturn err\n}\n", typ.Name())
	b.WriteString("o.Visit(func(k []byte, v *fastjson.Value) {\nif err != nil {\nreturn\n}\nswitch string(k) {\n")
	for _, fd := range fields {
		fmt.Fprintf(b, "case %q:\n", fd.name)
		if err := f.decodeStmts(b, fd.typ, fd.sel, "v", 0); err != nil {
			return fmt.Errorf("%s.%s: %w", typ, fd.sel, err)
		}
	}
	b.WriteString("}\nif err != nil {\nerr = decode.At(k, err)\n}\n})\nreturn err\n}\n\n")
	return nil
}

// decodeStmts writes statements that decode the fastjson value v into dst
// (addressable), setting err.
func (f *file) decodeStmts(b *strings.Builder, t reflect.Type, dst, v string, depth int) error {
	switch {
	case isQuantity(t):
		fmt.Fprintf(b, "err = decode.Quantity(%s, &%s)\n", v, dst)
		return nil
	case isIntOrString(t):
		fmt.Fprintf(b, "err = decode.IntOrString(%s, &%s)\n", v, dst)
		return nil
	case t.Kind() == reflect.Struct && t.Name() != "" && targetOf(t.PkgPath()) != nil:
		fmt.Fprintf(b, "err = %s.DecodeJSON(%s)\n", dst, v)
		return nil
	}
	n := strconv.Itoa(depth)
	switch t.Kind() {
	case reflect.String:
		fmt.Fprintf(b, "err = decode.String(%s, &%s)\n", v, dst)
	case reflect.Bool:
		fmt.Fprintf(b, "err = decode.Bool(%s, &%s)\n", v, dst)
	case reflect.Int32:
		fmt.Fprintf(b, "err = decode.Int32(%s, &%s)\n", v, dst)
	case reflect.Int64:
		fmt.Fprintf(b, "err = decode.Int64(%s, &%s)\n", v, dst)
	case reflect.Pointer:
		p := "p" + n
		fmt.Fprintf(b, "if %s.Type() == fastjson.TypeNull {\n%s = nil\n} else {\n%s := new(%s)\n", v, dst, p, f.typeExpr(t.Elem()))
		if err := f.decodeStmts(b, t.Elem(), "(*"+p+")", v, depth+1); err != nil {
			return err
		}
		fmt.Fprintf(b, "%s = %s\n}\n", dst, p)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return fmt.Errorf("[]byte (base64) is not handled")
		}
		a, i, s, ev := "a"+n, "i"+n, "s"+n, "v"+n
		fmt.Fprintf(b, "if %s, ok, e := decode.Array(%s); e != nil {\nerr = e\n} else if !ok {\n%s = nil\n} else {\n%s := make(%s, len(%s))\nfor %s, %s := range %s {\n",
			a, v, dst, s, f.typeExpr(t), a, i, ev, a)
		if err := f.decodeStmts(b, t.Elem(), s+"["+i+"]", ev, depth+1); err != nil {
			return err
		}
		fmt.Fprintf(b, "if err != nil {\nerr = decode.Index(%s, err)\nbreak\n}\n}\n%s = %s\n}\n", i, dst, s)
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return fmt.Errorf("map key %s is not handled", t.Key())
		}
		o, k, m, ev, e := "o"+n, "k"+n, "m"+n, "v"+n, "e"+n
		fmt.Fprintf(b, "if %s, e := decode.Object(%s); e != nil {\nerr = e\n} else if %s == nil {\n%s = nil\n} else {\n%s := make(%s, %s.Len())\n%s.Visit(func(%s []byte, %s *fastjson.Value) {\nif err != nil {\nreturn\n}\nvar %s %s\n",
			o, v, o, dst, m, f.typeExpr(t), o, o, k, ev, e, f.typeExpr(t.Elem()))
		if err := f.decodeStmts(b, t.Elem(), e, ev, depth+1); err != nil {
			return err
		}
		fmt.Fprintf(b, "if err != nil {\nerr = decode.At(%s, err)\nreturn\n}\n%s[%s(%s)] = %s\n})\n%s = %s\n}\n", k, m, f.typeExpr(t.Key()), k, e, dst, m)
	default:
		return fmt.Errorf("%s (%s) is not handled", t, t.Kind())
	}
	return nil
}

func moduleVersion(pkg string) string {
	mod := "k8s.io/api"
	if strings.HasPrefix(pkg, "k8s.io/apimachinery") {
		mod = "k8s.io/apimachinery"
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", mod).Output()
	if err != nil {
		return "(version unknown)"
	}
	return mod + "@" + strings.TrimSpace(string(out))
}

// constants returns the const declarations of package pkg's sources whose
// type is one of the emitted types (or untyped), with values that are
// literals or concatenations of string constants (evaluated here, so
// unexported prefixes need not be mirrored).
func constants(pkg string, types map[string]bool) (string, error) {
	out, err := exec.Command("go", "list", "-f", "{{.Dir}}", pkg).Output()
	if err != nil {
		return "", fmt.Errorf("go list %s: %w", pkg, err)
	}
	dir := strings.TrimSpace(string(out))
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	var files []*ast.File
	for _, e := range entries {
		n := e.Name()
		if strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") && !strings.HasPrefix(n, "zz_generated") && !strings.HasPrefix(n, "generated") {
			af, err := parser.ParseFile(fset, filepath.Join(dir, n), nil, 0)
			if err != nil {
				return "", err
			}
			files = append(files, af)
		}
	}
	sort.Slice(files, func(i, j int) bool { return fset.File(files[i].Pos()).Name() < fset.File(files[j].Pos()).Name() })
	// First every constant's value (exported or not), as Go literal text.
	values := map[string]string{}
	var eval func(e ast.Expr) (string, bool)
	eval = func(e ast.Expr) (string, bool) {
		switch e := e.(type) {
		case *ast.BasicLit:
			return e.Value, true
		case *ast.Ident:
			v, ok := values[e.Name]
			return v, ok
		case *ast.ParenExpr:
			return eval(e.X)
		case *ast.BinaryExpr:
			if e.Op != token.ADD {
				return "", false
			}
			a, ok1 := eval(e.X)
			b, ok2 := eval(e.Y)
			sa, err1 := strconv.Unquote(a)
			sb, err2 := strconv.Unquote(b)
			if !ok1 || !ok2 || err1 != nil || err2 != nil {
				return "", false
			}
			return strconv.Quote(sa + sb), true
		}
		return "", false
	}
	for range 3 { // constants may refer to later ones
		for _, af := range files {
			for _, d := range af.Decls {
				if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.CONST {
					for _, s := range gd.Specs {
						vs := s.(*ast.ValueSpec)
						for i, n := range vs.Names {
							if i < len(vs.Values) {
								if v, ok := eval(vs.Values[i]); ok {
									values[n.Name] = v
								}
							}
						}
					}
				}
			}
		}
	}
	var b strings.Builder
	for _, af := range files {
		for _, d := range af.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			var specs []string
			for _, s := range gd.Specs {
				vs := s.(*ast.ValueSpec)
				if len(vs.Values) != len(vs.Names) {
					continue // iota blocks: not needed
				}
				typ := ""
				if vs.Type != nil {
					id, isIdent := vs.Type.(*ast.Ident)
					if !isIdent || !types[id.Name] && id.Name != "string" {
						continue
					}
					typ = " " + id.Name
				}
				for _, n := range vs.Names {
					if v, ok := values[n.Name]; ok && n.IsExported() {
						specs = append(specs, fmt.Sprintf("%s%s = %s", n.Name, typ, v))
					}
				}
			}
			if len(specs) > 0 {
				b.WriteString("const (\n" + strings.Join(specs, "\n") + "\n)\n\n")
			}
		}
	}
	return b.String(), nil
}
