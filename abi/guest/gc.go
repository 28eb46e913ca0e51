//go:build wasip1

package guest

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// Go's garbage collector does not work for a reactor module on its own: its
// mark workers are goroutines, and goroutines other than the export's only
// run while an export blocks. A cycle started inside a call never finishes,
// every allocation pays assist work for it, and the heap grows until the
// instance runs out of memory (measured: ~15x slower allocation, and an
// out-of-memory trap after a few hundred 100 KiB requests).
//
// So the collector is off during calls, and between calls, once the live
// heap passes collectAbove, the export runs a full collection itself
// (runtime.GC parks the export's goroutine, which lets the workers run).
const collectAbove = 8 << 20

func init() { debug.SetGCPercent(-1) }

var heapSample = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}

// collectIfNeeded runs at the end of every export.
func collectIfNeeded() {
	metrics.Read(heapSample)
	if heapSample[0].Value.Kind() == metrics.KindUint64 && heapSample[0].Value.Uint64() > collectAbove {
		runtime.GC()
	}
}
