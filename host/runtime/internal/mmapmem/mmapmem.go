// Package mmapmem backs Wasm linear memories with anonymous memory maps
// instead of the Go heap.
//
// wazero allocates a linear memory as a Go []byte by default. It is live
// for the instance's lifetime, so the Go collector counts it in the live
// heap and lets the heap grow by as much again before it collects
// (GOGC=100): every MiB of guest memory cost the host about two MiB of RSS.
// A map reserved at the memory's maximum (address space only, no swap
// reservation) and touched as the guest grows is outside the Go heap, costs
// only the pages the guest touched, and never moves, so growing does not
// copy.
package mmapmem

import (
	"github.com/tetratelabs/wazero/experimental"
)

// Allocator is an experimental.MemoryAllocator backed by memory maps where
// the platform has them; elsewhere, and when mapping fails, it returns nil
// so that the caller uses wazero's default.
func Allocator() experimental.MemoryAllocator {
	if !supported {
		return nil
	}
	return experimental.MemoryAllocatorFunc(func(capacity, max uint64) experimental.LinearMemory {
		if m := mapMemory(max); m != nil {
			return m
		}
		// Mapping failed (address space exhausted?): a Go-heap slice.
		return &heapMemory{buf: make([]byte, 0, capacity), max: max}
	})
}

// heapMemory is wazero's default behaviour: a growing Go slice.
type heapMemory struct {
	buf []byte
	max uint64
}

func (m *heapMemory) Reallocate(size uint64) []byte {
	if size > m.max {
		return nil
	}
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size]
		return m.buf
	}
	grown := make([]byte, size, min(max(size, 2*uint64(cap(m.buf))), m.max))
	copy(grown, m.buf)
	m.buf = grown
	return m.buf
}

func (m *heapMemory) Free() { m.buf = nil }
