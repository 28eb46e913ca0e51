// Command misbehave is a plugin whose "run" export does what its input says:
// echo, loop forever, trap, exhaust memory, exit, write a huge output, call
// the network. The runtime's tests use it to prove containment.
package main

import (
	"os"
	"strings"
	"unsafe"

	"github.com/extism/go-pdk"
)

//go:wasmimport extism:host/env input_length
func inputLength() uint64

//go:wasmimport wasmctl:host/env input_read
func inputRead(ptr unsafe.Pointer, n uint32)

//go:wasmimport wasmctl:host/env output_write
func outputWrite(ptr unsafe.Pointer, n uint32)

var sink [][]byte

//go:wasmexport run
func run() int32 {
	n := uint32(inputLength())
	in := make([]byte, n)
	if n > 0 {
		inputRead(unsafe.Pointer(&in[0]), n)
	}
	mode, arg, _ := strings.Cut(string(in), ":")
	switch mode {
	case "echo":
		out := []byte(arg)
		if len(out) > 0 {
			outputWrite(unsafe.Pointer(&out[0]), uint32(len(out)))
		}
	case "size": // output n bytes of x, n = len(arg) * 1 MiB
		out := []byte(strings.Repeat("x", len(arg)<<20))
		outputWrite(unsafe.Pointer(&out[0]), uint32(len(out)))
	case "loop":
		for i := 0; ; i++ {
			if i < 0 {
				break
			}
		}
	case "trap":
		var m map[string]int
		m["boom"]++ // nil map write: a Go panic, which aborts the module
	case "oom":
		for {
			sink = append(sink, make([]byte, 8<<20))
		}
	case "exit":
		os.Exit(3)
	case "http":
		pdk.NewHTTPRequest(pdk.MethodGet, "http://127.0.0.1:1/").Send()
	case "alloc": // Extism host memory bomb
		for {
			pdk.Allocate(1 << 20)
		}
	}
	return 0
}

func main() {}
