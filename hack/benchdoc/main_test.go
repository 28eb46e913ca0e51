package main

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func TestReplaceSection(t *testing.T) {
	const (
		b = "<!-- generated:x -->"
		e = "<!-- /generated:x -->"
	)
	for _, tc := range []struct {
		name, doc, body, want, err string
	}{
		{
			name: "replaces between the markers, keeps the rest",
			doc:  "# T\n\nprose\n\n" + b + "\nold\ntable\n" + e + "\n\nmore prose\n",
			body: "new\n",
			want: "# T\n\nprose\n\n" + b + "\n\nnew\n\n" + e + "\n\nmore prose\n",
		},
		{
			name: "empty section",
			doc:  b + e,
			body: "| a |\n|---|\n",
			want: b + "\n\n| a |\n|---|\n\n" + e,
		},
		{
			name: "other sections untouched",
			doc:  "<!-- generated:y -->\nkeep\n<!-- /generated:y -->\n" + b + "\nold\n" + e + "\n",
			body: "new",
			want: "<!-- generated:y -->\nkeep\n<!-- /generated:y -->\n" + b + "\n\nnew\n\n" + e + "\n",
		},
		{name: "no markers", doc: "# T\n", body: "new", err: "want one"},
		{name: "no end marker", doc: b + "\nold\n", body: "new", err: "want one"},
		{name: "twice", doc: b + e + b + e, body: "new", err: "found 2 and 2"},
		{name: "end first", doc: e + "\nold\n" + b, body: "new", err: "comes before"},
		{name: "a longer name is another section", doc: "<!-- generated:xy -->old<!-- /generated:xy -->", body: "new", err: "want one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := replaceSection(tc.doc, "x", tc.body)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q (doc %q)", err, tc.err, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got\n%q\nwant\n%q", got, tc.want)
			}
			// Replacing again with the same body changes nothing.
			again, err := replaceSection(got, "x", tc.body)
			if err != nil || again != got {
				t.Fatalf("second replacement: err %v, got\n%q\nwant\n%q", err, again, got)
			}
		})
	}
}

// A shortened `make bench` output: log lines between a name and its result,
// a result after log text without a newline, custom metrics, a failure.
const benchOutput = `PASS
ok  	wasmctl.dev/wasmctl/host/apply	0.019s
goos: linux
goarch: amd64
pkg: wasmctl.dev/wasmctl/host/runtime
cpu: AMD EPYC
BenchmarkCall/empty-2     	  408189	      2859 ns/op	    2137 B/op	      14 allocs/op
BenchmarkCall/100KiB-in-10KiB-out/wasmctl-fast-path-2         	   29503	     42467 ns/op	2411.28 MB/s	  117704 B/op	      15 allocs/op
BenchmarkTimeoutCheck/interruptible-2                         	       2	 524037338 ns/op	 3297904 B/op	   17012 allocs/op
PASS
ok  	wasmctl.dev/wasmctl/host/runtime	11.277s
schedule lag kube-controller-manager  500 CronJobs: p50  10.05s  p99  21.81s  max  22.01s
I1125 19:07:29.139799   13584 manager.go:274] "Waiting for informer caches to sync"
goos: linux
goarch: amd64
pkg: wasmctl.dev/wasmctl/plugins/cronjob
cpu: AMD EPYC
BenchmarkCronJobScheduleLag-2   	I1125 19:07:29.240553   13584 controller.go:106] "Starting workers" controller="cronjob" count=5
schedule lag wasmctl-host             500 CronJobs: p50   8.12s  p99  17.92s  max  18.12s
       1	131667323532 ns/op	        10.05 kube-controller-manager-p50-s	         8.116 wasmctl-host-p50-s	336990640 B/op	 2261895 allocs/op
BenchmarkPluginStart/cold-2 	some log without a newline       1	3310000000 ns/op	 1234 B/op	 5 allocs/op
Benchmark results follow
BenchmarkBroken-2 	--- FAIL: BenchmarkBroken-2
    x_test.go:9: boom
FAIL
exit status 1
FAIL	wasmctl.dev/wasmctl/plugins/cronjob	131.713s
`

func TestParseGoBench(t *testing.T) {
	res, err := parseGoBench(strings.NewReader(benchOutput), 2)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		pkg, name string
		n         int
		metrics   string
	}
	want := []row{
		{"wasmctl.dev/wasmctl/host/runtime", "Call/empty", 408189, "2859 ns/op, 2137 B/op, 14 allocs/op"},
		{"wasmctl.dev/wasmctl/host/runtime", "Call/100KiB-in-10KiB-out/wasmctl-fast-path", 29503, "42467 ns/op, 2411.28 MB/s, 117704 B/op, 15 allocs/op"},
		{"wasmctl.dev/wasmctl/host/runtime", "TimeoutCheck/interruptible", 2, "524037338 ns/op, 3297904 B/op, 17012 allocs/op"},
		{"wasmctl.dev/wasmctl/plugins/cronjob", "CronJobScheduleLag", 1, "131667323532 ns/op, 10.05 kube-controller-manager-p50-s, 8.116 wasmctl-host-p50-s, 336990640 B/op, 2261895 allocs/op"},
		{"wasmctl.dev/wasmctl/plugins/cronjob", "PluginStart/cold", 1, "3310000000 ns/op, 1234 B/op, 5 allocs/op"},
	}
	var got []row
	for _, b := range res.benchmarks {
		var ms []string
		for _, m := range b.metrics {
			ms = append(ms, m.text+" "+m.unit)
		}
		got = append(got, row{b.pkg, b.name, b.n, strings.Join(ms, ", ")})
	}
	if len(got) != len(want) {
		t.Fatalf("got %d benchmarks, want %d:\n%v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("benchmark %d:\ngot  %v\nwant %v", i, got[i], want[i])
		}
	}
	if f := strings.Join(res.failed, " "); f != "BenchmarkBroken-2 wasmctl.dev/wasmctl/plugins/cronjob" {
		t.Errorf("failed = %q", f)
	}

	table := goBenchTable(res, "wasmctl.dev/wasmctl")
	for _, line := range []string{
		"| package | benchmark | time/op | B/op | allocs/op | other metrics |",
		"| host/runtime | Call/empty | 2.86 µs | 2.09 KiB | 14 |  |",
		"| host/runtime | Call/100KiB-in-10KiB-out/wasmctl-fast-path | 42.5 µs | 115 KiB | 15 | 2411.28 MB/s |",
		"| host/runtime | TimeoutCheck/interruptible | 524 ms | 3.15 MiB | 17012 |  |",
		"| plugins/cronjob | CronJobScheduleLag | 132 s | 321 MiB | 2261895 | 10.05 kube-controller-manager-p50-s, 8.116 wasmctl-host-p50-s |",
		"**Failed:** BenchmarkBroken-2, wasmctl.dev/wasmctl/plugins/cronjob (see the go test output).",
	} {
		if !strings.Contains(table, line+"\n") {
			t.Errorf("table lacks the line\n%s\ntable:\n%s", line, table)
		}
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{duration(0.25), "0.25 ns"},
		{duration(999), "999 ns"},
		{duration(1500), "1.50 µs"},
		{duration(18.1e6), "18.1 ms"},
		{duration(3.31e9), "3.31 s"},
		{bytes(0), "0 B"},
		{bytes(1023), "1023 B"},
		{bytes(1536), "1.50 KiB"},
		{bytes(61753128), "58.9 MiB"},
		{bytes(3 << 30), "3.00 GiB"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// Every section main can replace has its markers in the document, once.
func TestDocumentHasSections(t *testing.T) {
	data, err := os.ReadFile("../../docs/BENCHMARKS.md")
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"gotest"}
	for _, p := range markdownParts() {
		names = append(names, p.section)
	}
	for _, want := range []string{"sts", "ds", "steady"} {
		if !slices.Contains(names, want) {
			t.Errorf("sections %v lack %s", names, want)
		}
	}
	for _, name := range names {
		if _, err := replaceSection(string(data), name, "x"); err != nil {
			t.Error(err)
		}
	}
}

// Only the parts with an input change; the others (their markers even
// missing) are kept byte for byte.
func TestReplaceParts(t *testing.T) {
	input := t.TempDir() + "/stsbench.md"
	if err := os.WriteFile(input, []byte("| side | s |\n|---|---|\n| kcm | 1.00 |\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	doc := "# B\n\n<!-- generated:deploy -->\nold deploy\n<!-- /generated:deploy -->\n\nprose\n\n" +
		"<!-- generated:sts -->\nold sts\n<!-- /generated:sts -->\n\n<!-- generated:gotest -->\nold go\n<!-- /generated:gotest -->\n"
	got, err := replaceParts(doc, "Machine: M.", []part{{"", "convergence"}, {"", "job"}, {"", "deploy"}, {input, "sts"}})
	if err != nil {
		t.Fatal(err)
	}
	before, after, _ := strings.Cut(doc, "<!-- generated:sts -->")
	_, after, _ = strings.Cut(after, "<!-- /generated:sts -->")
	if !strings.HasPrefix(got, before+"<!-- generated:sts -->\n\nRun ending ") || !strings.HasSuffix(got, "| kcm | 1.00 |\n\n<!-- /generated:sts -->"+after) ||
		!strings.Contains(got, "Machine: M.\n\n| side | s |") || strings.Contains(got, "old sts") {
		t.Errorf("got\n%s", got)
	}
	if _, err := replaceParts(doc, "", []part{{input, "job"}}); err == nil {
		t.Error("a part whose markers are missing: no error")
	}
	if _, err := replaceParts(doc, "", []part{{input + ".missing", "sts"}}); err == nil {
		t.Error("a missing input: no error")
	}
}
