// Package sidebyside holds the harness of the side-by-side tests that run
// the same steps against kube-controller-manager and against the host with
// a plugin, each on its own control plane, and compare what a user sees
// once both have settled: Settle waits for that, Diff shows where two
// views differ.
package sidebyside

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// Options tune Settle; a zero field takes its default.
type Options struct {
	// Quiet is how long every side's view must stay unchanged, once the
	// step's condition holds, to count as settled (a settled state, not a
	// passing one). Default 1.5 s.
	Quiet time.Duration
	// Max bounds the wait for every side to settle. Default 60 s.
	Max time.Duration
	// EqualWait bounds the wait, once all sides settled, for their views to
	// be equal. Default 20 s.
	EqualWait time.Duration
	// Poll is the time between two observations. Default 250 ms.
	Poll time.Duration
}

func (o Options) withDefaults() Options {
	if o.Quiet == 0 {
		o.Quiet = 1500 * time.Millisecond
	}
	if o.Max == 0 {
		o.Max = 60 * time.Second
	}
	if o.EqualWait == 0 {
		o.EqualWait = 20 * time.Second
	}
	if o.Poll == 0 {
		o.Poll = 250 * time.Millisecond
	}
	return o
}

// Settle observes every side (observe(i) returns side i's view as lines,
// and nil once the step's condition holds on it, else why not) until the
// condition holds on each and no side's view has changed for Quiet, then
// until all views are equal, for at most EqualWait more. It returns the
// last view of each side and whether they are all equal; it fails t if
// the sides do not settle within Max, showing every view.
func Settle(t testing.TB, step string, sides []string, opts Options, observe func(side int) ([]string, error)) ([][]string, bool) {
	t.Helper()
	opts = opts.withDefaults()
	start := time.Now()
	views := make([][]string, len(sides))
	since := make([]time.Time, len(sides))
	var settledAt time.Time
	for {
		now := time.Now()
		settled := true
		var why []string
		for i, name := range sides {
			lines, err := observe(i)
			if !slices.Equal(lines, views[i]) || since[i].IsZero() {
				since[i] = now
			}
			views[i] = lines
			if err != nil {
				settled = false
				why = append(why, name+": "+err.Error())
			} else if now.Sub(since[i]) < opts.Quiet {
				settled = false
			}
		}
		switch {
		case settled:
			equal := true
			for _, v := range views[1:] {
				equal = equal && slices.Equal(views[0], v)
			}
			if equal {
				return views, true
			}
			if settledAt.IsZero() {
				settledAt = now
			}
			if now.Sub(settledAt) > opts.EqualWait {
				return views, false
			}
		case !settledAt.IsZero():
			// Settled once, unequal, and moving again: give it the rest
			// of EqualWait.
			if now.Sub(settledAt) > opts.EqualWait {
				return views, false
			}
		case now.Sub(start) > opts.Max:
			var b strings.Builder
			for i, name := range sides {
				fmt.Fprintf(&b, "\n%s:\n%s", name, strings.Join(views[i], "\n"))
			}
			t.Fatalf("step %q: did not settle in %s: %s%s", step, opts.Max, strings.Join(why, "; "), b.String())
		}
		time.Sleep(opts.Poll)
	}
}

// Diff is a line diff of a and b (longest common subsequence): common
// lines with two spaces, a's own with "- ", b's own with "+ ".
func Diff(a, b []string) string {
	n, m := len(a), len(b)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			fmt.Fprintf(&out, "  %s\n", a[i])
			i++
			j++
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			fmt.Fprintf(&out, "- %s\n", a[i])
			i++
		default:
			fmt.Fprintf(&out, "+ %s\n", b[j])
			j++
		}
	}
	return out.String()
}
