package benchkit

import "testing"

func TestCommand(t *testing.T) {
	if got, want := Command("go run ./hack/bench", []string{"-sizes", "500x10,50x100", "-sides", "kcm floor", "-out", "it's"}),
		`go run ./hack/bench -sizes 500x10,50x100 -sides 'kcm floor' -out 'it'\''s'`; got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

func TestMedianAndRatio(t *testing.T) {
	id := func(v float64) float64 { return v }
	for _, tc := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := Median(tc.in, id); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if got := Ratio(3, 2); got != "1.50×" {
		t.Errorf("Ratio(3, 2) = %s", got)
	}
	if got := Ratio(0, 2); got != "–" {
		t.Errorf("Ratio(0, 2) = %s", got)
	}
}
