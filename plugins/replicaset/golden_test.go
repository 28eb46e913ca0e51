package replicaset_test

import (
	"testing"

	"wasmctl.dev/wasmctl/host/plugintest"
)

// TestGolden replays request fixtures (the format the host records) through
// the built plugin and compares the responses with golden files; run with
// -update after an intended change.
func TestGolden(t *testing.T) {
	p := plugintest.Shared(t, "./cmd")
	for _, name := range []string{"scale-down"} {
		t.Run(name, func(t *testing.T) {
			res := p.Run(t, plugintest.LoadRequest(t, "testdata/"+name+".request.yaml"))
			if got := res.Deleted("Pod"); len(got) != 2 || got[0] != "unscheduled" || got[1] != "starting" {
				t.Fatalf("deleted %v", got)
			}
			res.Golden(t, "testdata/"+name+".golden.yaml")
		})
	}
}
