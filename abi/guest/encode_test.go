package guest

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"sigs.k8s.io/randfill"

	"wasmctl.dev/wasmctl/abi"
)

// TestAppendResponseMatchesEncodingJSON: for random responses whose raw
// parts are json.Marshal output (as abi's helpers make them), the encoder
// writes the bytes json.Marshal writes: field order, omitted empties,
// null objects, escapes (HTML, control, U+2028, invalid UTF-8), floats.
// The responses are filled by reflection, every field of every type: a
// field added to abi's types and not to the encoder fails here.
func TestAppendResponseMatchesEncodingJSON(t *testing.T) {
	src := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "Z", "0", " ", "\"", "\\", "/", "<", ">", "&", "\n", "\t", "\x00", "\x1f", "\x7f", "é", "\u2028", "\u2029", "日", "\xff", "\xc3", "😀"}
	str := func() string {
		var sb strings.Builder
		for range src.IntN(12) {
			sb.WriteString(alphabet[src.IntN(len(alphabet))])
		}
		return sb.String()
	}
	floats := []float64{0, 1, 0.5, 1e-7, 1e-6, 123456789, 1e20, 1e21, 3.25e22, -2, 1.0 / 3}
	f := randfill.NewWithSeed(3).NilChance(0.3).NumElements(0, 3).Funcs(
		func(s *string, c randfill.Continue) { *s = str() },
		func(x *float64, c randfill.Continue) { *x = floats[src.IntN(len(floats))] },
		func(raw *json.RawMessage, c randfill.Continue) {
			switch src.IntN(4) {
			case 0:
				*raw = nil
			case 1:
				*raw = json.RawMessage("null")
			default:
				*raw, _ = json.Marshal(map[string]any{"metadata": map[string]any{"name": str()}, "n": src.Float64() * 1e3, "l": []string{str(), str()}})
			}
		},
	)
	for i := range 3000 {
		var resp abi.ReconcileResponse
		f.Fill(&resp)
		want, err := json.Marshal(&resp)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendResponse(nil, &resp); string(got) != string(want) {
			t.Fatalf("response %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

// TestReconcileJSONRefusesNonFiniteRequeue: NaN is not JSON; the response
// fails in the guest as json.Marshal would have it.
func TestReconcileJSONRefusesNonFiniteRequeue(t *testing.T) {
	defer func(r RawReconcileFunc) { reconcile = r }(reconcile)
	reconcile = func([]byte) (*abi.ReconcileResponse, error) {
		return &abi.ReconcileResponse{RequeueAfterSeconds: math.NaN()}, nil
	}
	if _, err := reconcileJSON(nil); err == nil {
		t.Fatal("a NaN requeue encoded")
	}
}
