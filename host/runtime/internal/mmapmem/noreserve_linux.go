package mmapmem

import "syscall"

// mapNoReserve: reserve address space, not swap, for the maximum.
const mapNoReserve = syscall.MAP_NORESERVE
