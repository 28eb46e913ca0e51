package sidebyside_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"wasmctl.dev/wasmctl/internal/sidebyside"
)

func TestDiff(t *testing.T) {
	got := sidebyside.Diff([]string{"a", "b", "c"}, []string{"a", "x", "c", "d"})
	want := "  a\n- b\n+ x\n  c\n+ d\n"
	if got != want {
		t.Errorf("Diff:\n%s\nwant:\n%s", got, want)
	}
}

func TestSettle(t *testing.T) {
	fast := sidebyside.Options{Quiet: 30 * time.Millisecond, Max: time.Second, EqualWait: 100 * time.Millisecond, Poll: 5 * time.Millisecond}
	// Side 1 reaches side 0's view after a few observations: equal.
	n := 0
	views, equal := sidebyside.Settle(t, "converge", []string{"a", "b"}, fast, func(i int) ([]string, error) {
		if i == 1 {
			n++
			if n < 5 {
				return []string{"x"}, errors.New("not yet")
			}
		}
		return []string{"y"}, nil
	})
	if !equal || strings.Join(views[1], "") != "y" {
		t.Errorf("converge: %v %v", views, equal)
	}
	// Both settled, never equal: false after EqualWait.
	if _, equal := sidebyside.Settle(t, "differ", []string{"a", "b"}, fast, func(i int) ([]string, error) {
		return []string{string(rune('a' + i))}, nil
	}); equal {
		t.Error("differ: equal")
	}
}
