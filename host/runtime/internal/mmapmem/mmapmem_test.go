package mmapmem

import (
	"testing"
	"unsafe"

	"github.com/tetratelabs/wazero/experimental"
)

func TestLinearMemory(t *testing.T) {
	const page, max = 64 << 10, 16 * 64 << 10
	for _, tc := range []struct {
		name   string
		alloc  func() experimental.LinearMemory
		stable bool // the address never changes
	}{
		{"mapped", func() experimental.LinearMemory { return Allocator().Allocate(page, max) }, supported},
		{"heap fallback", func() experimental.LinearMemory { return &heapMemory{buf: make([]byte, 0, page), max: max} }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.alloc()
			defer m.Free()
			b := m.Reallocate(page)
			if len(b) != page {
				t.Fatalf("len %d", len(b))
			}
			b[0], b[page-1] = 1, 2
			grown := m.Reallocate(4 * page)
			if len(grown) != 4*page || grown[0] != 1 || grown[page-1] != 2 || grown[page] != 0 {
				t.Fatal("growing lost or invented content")
			}
			if tc.stable && unsafe.SliceData(grown) != unsafe.SliceData(b) {
				t.Fatal("a mapped memory moved")
			}
			grown[4*page-1] = 3
			if m.Reallocate(max+page) != nil {
				t.Fatal("grew past the maximum")
			}
			if full := m.Reallocate(max); len(full) != max || full[4*page-1] != 3 {
				t.Fatal("growing to the maximum failed")
			}
		})
	}
}
