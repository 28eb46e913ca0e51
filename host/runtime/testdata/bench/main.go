// Command bench is the runtime benchmarks' plugin. "head" answers with the
// first 10 KiB of its input through the wasmctl fast path, "pdkhead" does
// the same with go-pdk's standard Extism functions, "spin" loops the number
// of times its input says (timeout-check overhead), "empty" does nothing.
package main

import (
	"strconv"
	"unsafe"

	"github.com/extism/go-pdk"
)

//go:wasmimport extism:host/env input_length
func inputLength() uint64

//go:wasmimport wasmctl:host/env input_read
func inputRead(ptr unsafe.Pointer, n uint32)

//go:wasmimport wasmctl:host/env output_write
func outputWrite(ptr unsafe.Pointer, n uint32)

var buf []byte

func input() []byte {
	n := int(inputLength())
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if n > 0 {
		inputRead(unsafe.Pointer(&buf[0]), uint32(n))
	}
	return buf
}

//go:wasmexport head
func head() int32 {
	in := input()
	out := in[:min(len(in), 10<<10)]
	outputWrite(unsafe.Pointer(&out[0]), uint32(len(out)))
	return 0
}

//go:wasmexport pdkhead
func pdkhead() int32 {
	in := pdk.Input()
	pdk.Output(in[:min(len(in), 10<<10)])
	return 0
}

//go:wasmexport empty
func empty() int32 { return 0 }

var sink int

//go:wasmexport spin
func spin() int32 {
	n, _ := strconv.Atoi(string(input()))
	x := 0
	for i := 0; i < n; i++ {
		x += i ^ (x >> 3)
	}
	sink = x
	return 0
}

func main() {}
