//go:build wasip1 && !wasmctl_portable

package guest

import "unsafe"

//go:wasmimport extism:host/env input_length
func inputLength() uint64

//go:wasmimport wasmctl:host/env input_read
func inputRead(ptr unsafe.Pointer, n uint32)

//go:wasmimport wasmctl:host/env output_write
func outputWrite(ptr unsafe.Pointer, n uint32)

func readInput() []byte {
	n := uint32(inputLength())
	buf := make([]byte, n)
	if n > 0 {
		inputRead(unsafe.Pointer(&buf[0]), n)
	}
	return buf
}

func writeOutput(b []byte) {
	if len(b) == 0 {
		outputWrite(nil, 0)
		return
	}
	outputWrite(unsafe.Pointer(&b[0]), uint32(len(b)))
}
