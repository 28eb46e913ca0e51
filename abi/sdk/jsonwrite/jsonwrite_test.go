package jsonwrite_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"wasmctl.dev/wasmctl/abi/sdk/jsonwrite"
)

// TestAppendStringMatchesEncodingJSON: every string, including control
// characters, HTML characters, U+2028/U+2029 and invalid UTF-8, comes out
// as json.Marshal writes it.
func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	cases := []string{"", "plain", `quote " and \ backslash`, "\b\f\n\r\t\x00\x1f\x7f", "<a href=\"x\">&amp;</a>",
		"\u2028\u2029", "日本語 ✓ 🚀", "\xff\xfe bad", "\xe2\x82", "tail\xc3"}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "\"", "\\", "\n", "\x01", "<", "&", "é", "\u2028", "🚀", "\xff", "\xe2\x82"}
	for range 2000 {
		s := ""
		for range rng.IntN(12) {
			s += alphabet[rng.IntN(len(alphabet))]
		}
		cases = append(cases, s)
	}
	for _, s := range cases {
		want, _ := json.Marshal(s)
		if got := jsonwrite.AppendString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Fatalf("AppendString(%q) = %s, want %s", s, got[1:], want)
		}
	}
}

func TestAppendFloatMatchesEncodingJSON(t *testing.T) {
	cases := []float64{0, 1, -1, 0.5, 1e-6, 1e-7, 9.999e-7, 1e20, 1e21, 123456789.125, -2.5e-9, math.MaxFloat64, math.SmallestNonzeroFloat64}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		cases = append(cases, math.Float64frombits(rng.Uint64()))
	}
	for _, f := range cases {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		want, _ := json.Marshal(f)
		if got := jsonwrite.AppendFloat(nil, f); string(got) != string(want) {
			t.Fatalf("AppendFloat(%v) = %s, want %s", f, got, want)
		}
	}
}

func ExampleAppendString() {
	b := []byte(`{"name":`)
	b = jsonwrite.AppendString(b, `web-<1> "a"`)
	b = append(b, `,"weight":`...)
	b = jsonwrite.AppendFloat(b, 0.25)
	fmt.Println(string(append(b, '}')))
	// Output: {"name":"web-\u003c1\u003e \"a\"","weight":0.25}
}
