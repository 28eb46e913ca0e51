package benchkit

import (
	"errors"
	"sync"
	"testing"
)

func TestCommand(t *testing.T) {
	if got, want := Command("go run ./hack/bench", []string{"-sizes", "500x10,50x100", "-sides", "kcm floor", "-out", "it's"}),
		`go run ./hack/bench -sizes 500x10,50x100 -sides 'kcm floor' -out 'it'\''s'`; got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

func TestHostConfig(t *testing.T) {
	got := hostConfig("/tmp/b", 1000, 2, []string{"daemonset", "job"}, []string{"/x/daemonset.wasm", "/x/job.wasm"})
	want := "qps: 1000\nburst: 1000\ncompilationCacheDir: /tmp/b/cache\ncontrollers:\n" +
		"  - {name: daemonset, plugin: /x/daemonset.wasm, workers: 2, timeout: 10s}\n" +
		"  - {name: job, plugin: /x/job.wasm, workers: 2, timeout: 10s}\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
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

func TestParseCalls(t *testing.T) {
	got := parseCalls(`# HELP wasmctl_plugin_call_duration_seconds Wall time of plugin calls.
# TYPE wasmctl_plugin_call_duration_seconds histogram
wasmctl_plugin_call_duration_seconds_bucket{controller="statefulset",le="0.001"} 3
wasmctl_plugin_call_duration_seconds_sum{controller="statefulset"} 1.25
wasmctl_plugin_call_duration_seconds_count{controller="statefulset"} 50
wasmctl_plugin_call_duration_seconds_sum{controller="job"} 0.5
wasmctl_plugin_call_duration_seconds_count{controller="job"} 10
`)
	if len(got) != 2 || got["statefulset"] != (Calls{N: 50, Seconds: 1.25}) || got["job"] != (Calls{N: 10, Seconds: 0.5}) {
		t.Fatalf("parseCalls = %v", got)
	}
	since := CallsSince(got, map[string]Calls{"statefulset": {N: 20, Seconds: 0.25}})
	if since["statefulset"] != (Calls{N: 30, Seconds: 1}) || since["job"] != got["job"] {
		t.Fatalf("CallsSince = %v", since)
	}
	if line := CallLine(since, "statefulset", "none"); line != "statefulset 30 calls, 1.00 s in the plugin (33.3 ms each); none 0 calls, 0.00 s in the plugin (0.0 ms each)" {
		t.Fatalf("CallLine = %s", line)
	}
}

func TestParallel(t *testing.T) {
	var mu sync.Mutex
	seen := map[int]int{}
	err := Parallel(100, 7, func(i int) error {
		mu.Lock()
		seen[i]++
		mu.Unlock()
		if i == 42 {
			return errors.New("boom")
		}
		return nil
	})
	if err == nil || err.Error() != "boom" {
		t.Errorf("err = %v", err)
	}
	for i := range 100 {
		if seen[i] != 1 {
			t.Fatalf("f(%d) ran %d times", i, seen[i])
		}
	}
}

// TestNoProcess: hack/bench's floor side has no controller process; its CPU
// and memory read as 0 rather than crashing the run (as they did after the
// move here lost the nil check).
func TestNoProcess(t *testing.T) {
	if got := CPUSeconds(nil); got != 0 {
		t.Errorf("CPUSeconds(nil) = %v", got)
	}
	if got := PeakRSS(nil); got != 0 {
		t.Errorf("PeakRSS(nil) = %v", got)
	}
}
