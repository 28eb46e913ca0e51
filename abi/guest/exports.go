//go:build wasip1

package guest

import "github.com/extism/go-pdk"

//go:wasmexport reconcile
func reconcileExport() int32 {
	defer collectIfNeeded()
	if reconcile == nil || registerErr != nil {
		return output(reconcileJSON(nil)) // the registration error, unread input
	}
	return output(reconcileJSON(readInput()))
}

//go:wasmexport describe
func describeExport() int32 {
	defer collectIfNeeded()
	return output(describeJSON())
}

// output writes out and returns 0, or reports err through the Extism error
// channel and returns 1.
func output(out []byte, err error) int32 {
	if err != nil {
		return fail(err)
	}
	writeOutput(out)
	return 0
}

func fail(err error) int32 {
	pdk.SetError(err)
	return 1
}
