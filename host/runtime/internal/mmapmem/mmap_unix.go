//go:build linux || darwin || freebsd || netbsd || openbsd

package mmapmem

import "syscall"

const supported = true

type mappedMemory struct {
	buf []byte // the whole map, max bytes
}

func mapMemory(max uint64) *mappedMemory {
	if max == 0 || max > 1<<40 {
		return nil
	}
	buf, err := syscall.Mmap(-1, 0, int(max), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON|mapNoReserve)
	if err != nil {
		return nil
	}
	return &mappedMemory{buf: buf}
}

// Reallocate returns the first size bytes; pages beyond what the guest has
// touched cost nothing.
func (m *mappedMemory) Reallocate(size uint64) []byte {
	if size > uint64(len(m.buf)) {
		return nil
	}
	return m.buf[:size:size]
}

func (m *mappedMemory) Free() {
	if m.buf != nil {
		_ = syscall.Munmap(m.buf)
		m.buf = nil
	}
}
