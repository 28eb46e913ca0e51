// Package wasmtest assembles WebAssembly binary modules by hand, byte by
// byte, for tests of the runtime and the loop-check rewriter: no text format,
// no toolchain.
package wasmtest

import (
	"bytes"

	"wasmctl.dev/wasmctl/host/runtime/internal/wasmbin"
)

// Value and reference types.
const (
	I32     = 0x7f
	I64     = 0x7e
	Funcref = 0x70
)

// Opcodes and instruction sequences used by the tests.
var (
	End       = []byte{0x0b}
	LocalGet0 = []byte{0x20, 0}
	// CountDown is a loop decrementing local 0 until it is 0 (for ever
	// when it starts negative).
	CountDown = []byte{0x03, 0x40, 0x20, 0x00, 0x41, 0x01, 0x6b, 0x22, 0x00, 0x0d, 0x00, 0x0b}
	// Forever is a loop that never ends.
	Forever     = []byte{0x03, 0x40, 0x0c, 0x00, 0x0b}
	Unreachable = []byte{0x00}
)

// U is an unsigned LEB128.
func U(v uint32) []byte { return wasmbin.AppendU32(nil, v) }

// I32Const is i32.const v.
func I32Const(v int64) []byte { return append([]byte{0x41}, wasmbin.AppendSLEB(nil, v)...) }

// I64Const is i64.const v.
func I64Const(v int64) []byte { return append([]byte{0x42}, wasmbin.AppendSLEB(nil, v)...) }

// Call is call f.
func Call(f uint32) []byte { return append([]byte{0x10}, U(f)...) }

// RefFunc is ref.func f.
func RefFunc(f uint32) []byte { return append([]byte{0xd2}, U(f)...) }

// CallIndirect is call_indirect of type 0 through table.
func CallIndirect(table byte) []byte { return []byte{0x11, 0, table} }

// Str is a name: length and bytes.
func Str(s string) []byte { return wasmbin.AppendName(nil, s) }

// Cat concatenates.
func Cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// Vec is a vector: its length, then the items.
func Vec(items ...[]byte) []byte { return Cat(append([][]byte{U(uint32(len(items)))}, items...)...) }

// Sec is a section.
func Sec(id byte, payload ...[]byte) []byte { return wasmbin.AppendSection(nil, id, Cat(payload...)) }

// Module is the header followed by the sections.
func Module(sections ...[]byte) []byte {
	return Cat(append([][]byte{[]byte("\x00asm\x01\x00\x00\x00")}, sections...)...)
}

// FuncType is a function type.
func FuncType(params, results []byte) []byte {
	return Cat([]byte{0x60}, U(uint32(len(params))), params, U(uint32(len(results))), results)
}

// Body is a function body: no locals but those in locals (count, type
// pairs), the instructions, end.
func Body(locals [][2]byte, code ...[]byte) []byte {
	var ls [][]byte
	for _, l := range locals {
		ls = append(ls, []byte{l[0], l[1]})
	}
	b := Cat(Vec(ls...), Cat(code...), End)
	return Cat(U(uint32(len(b))), b)
}

// Custom is a custom section.
func Custom(name string, data []byte) []byte { return Sec(wasmbin.SecCustom, Str(name), data) }

// NameMap is a name map from (index, name) pairs.
func NameMap(entries ...any) []byte {
	var items [][]byte
	for i := 0; i < len(entries); i += 2 {
		items = append(items, Cat(U(uint32(entries[i].(int))), Str(entries[i+1].(string))))
	}
	return Vec(items...)
}

// ImportFunc is a function import entry of type typ.
func ImportFunc(module, name string, typ uint32) []byte {
	return Cat(Str(module), Str(name), []byte{wasmbin.ImportFunc}, U(typ))
}

// ExportFunc is a function export entry.
func ExportFunc(name string, f uint32) []byte { return Cat(Str(name), []byte{0x00}, U(f)) }

// ExportMemory exports memory 0 as name.
func ExportMemory(name string) []byte { return Cat(Str(name), []byte{0x02}, U(0)) }

// Memory is a memory section of one memory of pages pages.
func Memory(pages uint32) []byte { return Sec(wasmbin.SecMemory, Vec(Cat([]byte{0x00}, U(pages)))) }

// Producers is a producers custom section naming the source language.
func Producers(language string) []byte {
	return Custom("producers", Vec(Cat(Str("language"), Vec(Cat(Str(language), Str(""))))))
}
