package guest

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"wasmctl.dev/wasmctl/abi"
)

// TestAppendResponseMatchesEncodingJSON: for random responses whose raw
// parts are json.Marshal output (as abi's helpers make them), the encoder
// writes the bytes json.Marshal writes: field order, omitted empties,
// null objects, escapes (HTML, control, U+2028, invalid UTF-8), floats.
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
	raw := func() json.RawMessage {
		switch src.IntN(4) {
		case 0:
			return nil
		case 1:
			return json.RawMessage("null")
		}
		b, _ := json.Marshal(map[string]any{"metadata": map[string]any{"name": str()}, "n": src.Float64() * 1e3, "l": []string{str(), str()}})
		return b
	}
	events := func() []abi.Event {
		var out []abi.Event
		for range src.IntN(3) {
			out = append(out, abi.Event{Type: abi.EventType(str()), Reason: str(), Message: str()})
		}
		return out
	}
	floats := []float64{0, 1, 0.5, 1e-7, 1e-6, 123456789, 1e20, 1e21, 3.25e22, -2, 1.0 / 3}
	for i := range 2000 {
		resp := &abi.ReconcileResponse{RequeueAfterSeconds: floats[src.IntN(len(floats))], Events: events(), Memo: raw()}
		if src.IntN(4) > 0 {
			resp.APIVersion, resp.Kind = abi.Version, abi.KindReconcileResponse
		}
		for range src.IntN(4) {
			resp.Actions = append(resp.Actions, abi.Action{Op: abi.Op(str()), Object: raw(), PatchType: abi.PatchType(str()), Patch: raw(),
				Subresource: str(), PropagationPolicy: str(), OnSuccess: events(), OnFailure: events()})
		}
		want, err := json.Marshal(resp)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendResponse(nil, resp); string(got) != string(want) {
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
