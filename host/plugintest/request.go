package plugintest

import (
	"testing"

	"wasmctl.dev/wasmctl/host/fixture"
)

// Request is a ReconcileRequest given as Go values (see fixture.Request).
type Request = fixture.Request

// LoadRequest reads a request fixture: a ReconcileRequest document in YAML
// or JSON — the format the host records (see docs/PLUGINS.md) — and returns
// it as JSON.
func LoadRequest(t testing.TB, path string) []byte {
	t.Helper()
	data, err := fixture.ReadRequestFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
