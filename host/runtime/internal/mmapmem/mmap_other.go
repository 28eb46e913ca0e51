//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package mmapmem

const supported = false

type mappedMemory struct{ heapMemory }

func mapMemory(uint64) *mappedMemory { return nil }
