// Package wasmbin decodes the parts of the WebAssembly binary format the
// runtime reads itself: the section list, LEB128 numbers, names, imports and
// custom sections. wazero decodes and validates everything else.
package wasmbin

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// Section ids of the binary format.
const (
	SecCustom   = 0
	SecType     = 1
	SecImport   = 2
	SecFunction = 3
	SecTable    = 4
	SecMemory   = 5
	SecGlobal   = 6
	SecExport   = 7
	SecStart    = 8
	SecElement  = 9
	SecCode     = 10
	SecData     = 11
	SecDataCnt  = 12
	SecTag      = 13
)

// Order is a section's place in a module: ids are not in order (the data
// count section, 12, comes before code; the tag section, 13, before globals).
func Order(id byte) float64 {
	switch id {
	case SecDataCnt:
		return 9.5
	case SecTag:
		return 5.5
	}
	return float64(id)
}

// Section is one section of a module.
type Section struct {
	ID      byte
	Payload []byte
}

// Sections splits a binary module into its sections.
func Sections(module []byte) ([]Section, error) {
	if len(module) < 8 || !bytes.Equal(module[:4], []byte("\x00asm")) || binary.LittleEndian.Uint32(module[4:8]) != 1 {
		return nil, errors.New("not a WebAssembly 1.0 binary module")
	}
	var sections []Section
	r := &Reader{B: module, Pos: 8}
	for r.Pos < len(r.B) {
		id := r.Byte()
		payload := r.Bytes(int(r.U32()))
		if r.Err != nil {
			return nil, fmt.Errorf("section %d: %w", id, r.Err)
		}
		sections = append(sections, Section{id, payload})
	}
	return sections, nil
}

// Custom splits a custom section's payload into its name and contents.
func Custom(payload []byte) (name string, data []byte, err error) {
	r := &Reader{B: payload}
	n := r.Bytes(int(r.U32()))
	if r.Err != nil {
		return "", nil, fmt.Errorf("custom section name: %w", r.Err)
	}
	return string(n), payload[r.Pos:], nil
}

// Import kinds.
const (
	ImportFunc   = 0x00
	ImportTable  = 0x01
	ImportMemory = 0x02
	ImportGlobal = 0x03
	ImportTag    = 0x04
)

// Import is one entry of the import section.
type Import struct {
	Module, Name string
	Kind         byte
	// Type is a function import's type index.
	Type uint32
	// Start and End delimit the entry in the section's payload.
	Start, End int
}

// Imports decodes an import section's payload.
func Imports(payload []byte) ([]Import, error) {
	r := &Reader{B: payload}
	n := r.U32()
	var out []Import
	for range n {
		start := r.Pos
		imp := Import{Module: string(r.Name()), Name: string(r.Name()), Start: start}
		switch imp.Kind = r.Byte(); imp.Kind {
		case ImportFunc:
			imp.Type = r.U32()
		case ImportTable: // reftype, limits
			r.Byte()
			r.Limits()
		case ImportMemory:
			r.Limits()
		case ImportGlobal: // valtype, mutability
			r.Byte()
			r.Byte()
		case ImportTag: // attribute, type
			r.Byte()
			r.U32()
		default:
			if r.Err == nil {
				return nil, fmt.Errorf("import kind 0x%02x not supported", imp.Kind)
			}
		}
		if r.Err != nil {
			return nil, fmt.Errorf("import %d: %w", len(out), r.Err)
		}
		imp.End = r.Pos
		out = append(out, imp)
	}
	return out, nil
}

// Reader decodes the binary format; the first error sticks.
type Reader struct {
	B   []byte
	Pos int
	Err error
}

// ErrShort is the error of a read past the end.
var ErrShort = errors.New("unexpected end")

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if r.Err != nil {
		return 0
	}
	if r.Pos >= len(r.B) {
		r.Err = ErrShort
		return 0
	}
	c := r.B[r.Pos]
	r.Pos++
	return c
}

// Bytes reads n bytes (a subslice, not a copy).
func (r *Reader) Bytes(n int) []byte {
	if r.Err != nil {
		return nil
	}
	if n < 0 || r.Pos+n > len(r.B) {
		r.Err = ErrShort
		return nil
	}
	b := r.B[r.Pos : r.Pos+n]
	r.Pos += n
	return b
}

// Name reads a name: a u32 length and that many bytes.
func (r *Reader) Name() []byte { return r.Bytes(int(r.U32())) }

// U32 reads an unsigned LEB128 of at most 32 bits.
func (r *Reader) U32() uint32 {
	var v uint64
	for shift := 0; ; shift += 7 {
		c := r.Byte()
		if r.Err != nil {
			return 0
		}
		if shift > 28 {
			r.Err = errors.New("u32 too long")
			return 0
		}
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			break
		}
	}
	if v > 1<<32-1 {
		r.Err = errors.New("u32 out of range")
		return 0
	}
	return uint32(v)
}

// SLEB skips a signed LEB128 of up to 64 bits (s33 block types, consts).
func (r *Reader) SLEB() {
	for i := 0; ; i++ {
		c := r.Byte()
		if r.Err != nil {
			return
		}
		if i >= 10 {
			r.Err = errors.New("LEB128 too long")
			return
		}
		if c&0x80 == 0 {
			return
		}
	}
}

// Limits skips the limits of a memory or table.
func (r *Reader) Limits() {
	flags := r.Byte()
	r.U32()
	if flags&1 != 0 {
		r.U32()
	}
	if flags > 3 && r.Err == nil {
		r.Err = fmt.Errorf("limits flags 0x%02x not supported", flags)
	}
}

// Memarg skips the alignment and offset of a load or store.
func (r *Reader) Memarg() {
	align := r.U32()
	if align&0x40 != 0 { // multi-memory: a memory index follows
		r.U32()
	}
	r.SLEB() // offset (u32; u64 with memory64)
}

// AppendSLEB appends v as a signed LEB128 (not Go's zigzag varint).
func AppendSLEB(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// AppendU32 appends v as an unsigned LEB128.
func AppendU32(b []byte, v uint32) []byte { return binary.AppendUvarint(b, uint64(v)) }

// AppendName appends a name: its length and bytes.
func AppendName(b []byte, name string) []byte {
	return append(AppendU32(b, uint32(len(name))), name...)
}

// AppendSection appends a section: id, size, payload.
func AppendSection(b []byte, id byte, payload []byte) []byte {
	b = append(b, id)
	b = AppendU32(b, uint32(len(payload)))
	return append(b, payload...)
}
