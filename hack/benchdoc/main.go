// Command benchdoc writes the generated parts of docs/BENCHMARKS.md from the
// outputs of `make bench`: the Go benchmark results (the `go test -bench`
// output, parsed into a table), the convergence runs of hack/bench, the Job
// runs of hack/benchjob, the Deployment runs of hack/benchdeploy, the
// StatefulSet runs of hack/benchsts, the DaemonSet runs of hack/benchds and
// the six-controller steady-state run of hack/benchsteady (their Markdown
// as it is). Each part goes between its marker comments,
//
//	<!-- generated:gotest -->  …  <!-- /generated:gotest -->
//	<!-- generated:convergence -->  …  <!-- /generated:convergence -->
//	<!-- generated:job -->  …  <!-- /generated:job -->
//	<!-- generated:deploy -->  …  <!-- /generated:deploy -->
//	<!-- generated:sts -->  …  <!-- /generated:sts -->
//	<!-- generated:ds -->  …  <!-- /generated:ds -->
//	<!-- generated:steady -->  …  <!-- /generated:steady -->
//
// replacing what was there; the rest of the file (the hand-written prose) is
// kept, and so is a part whose flag is empty. Each part states when its input was written, the machine (CPU, memory,
// kernel), the versions (Go, wazero, client-go, the control-plane binaries) and
// the command.
//
//	go run ./hack/benchdoc -doc docs/BENCHMARKS.md -gotest .cache/bench.txt -gotest-cmd "go test ..." -convergence .cache/convergence.md -job .cache/jobbench.md -deploy .cache/deploybench.md -sts .cache/stsbench.md -ds .cache/dsbench.md -steady .cache/steadybench.md
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

var (
	docPath     = flag.String("doc", "docs/BENCHMARKS.md", "the document to update")
	gotest      = flag.String("gotest", "", "output of go test -bench (empty: leave that part alone)")
	gotestCmd   = flag.String("gotest-cmd", "", "the command that wrote -gotest, as stated in the document")
	convergence = flag.String("convergence", "", "Markdown written by hack/bench -out (empty: leave that part alone)")
	job         = flag.String("job", "", "Markdown written by hack/benchjob -out (empty: leave that part alone)")
	deploy      = flag.String("deploy", "", "Markdown written by hack/benchdeploy -out (empty: leave that part alone)")
	sts         = flag.String("sts", "", "Markdown written by hack/benchsts -out (empty: leave that part alone)")
	ds          = flag.String("ds", "", "Markdown written by hack/benchds -out (empty: leave that part alone)")
	steady      = flag.String("steady", "", "Markdown written by hack/benchsteady -out (empty: leave that part alone)")
	toolsDir    = flag.String("tools", os.Getenv("WASMCTL_TOOLS_DIR"), "directory of kube-apiserver, kube-controller-manager and etcd, asked for their versions (empty: hack/tools/go.mod)")
)

func main() {
	flag.Parse()
	data, err := os.ReadFile(*docPath)
	if err != nil {
		fatal(err)
	}
	doc := string(data)
	env := environment(*toolsDir)
	if *gotest != "" {
		f, err := os.Open(*gotest)
		if err != nil {
			fatal(err)
		}
		res, err := parseGoBench(f, runtime.GOMAXPROCS(0))
		f.Close()
		if err != nil {
			fatal(err)
		}
		if len(res.benchmarks) == 0 {
			fatal(fmt.Errorf("%s: no benchmark results", *gotest))
		}
		body := header(*gotest, env, *gotestCmd) + "\n" + goBenchTable(res, modulePath("go.mod"))
		if doc, err = replaceSection(doc, "gotest", body); err != nil {
			fatal(err)
		}
	}
	if doc, err = replaceParts(doc, env, markdownParts()); err != nil {
		fatal(err)
	}
	if doc == string(data) {
		return
	}
	if err := os.WriteFile(*docPath, []byte(doc), 0o644); err != nil {
		fatal(err)
	}
	fmt.Println("benchdoc: wrote", *docPath)
}

// part is a section filled with a bench's Markdown as it is.
type part struct{ input, section string }

// markdownParts are the sections filled from the flags' Markdown files.
func markdownParts() []part {
	return []part{{*convergence, "convergence"}, {*job, "job"}, {*deploy, "deploy"}, {*sts, "sts"}, {*ds, "ds"}, {*steady, "steady"}}
}

// replaceParts puts each part's input, after its header, into its section
// of doc; a part without an input is left as it is (its markers need not
// be there).
func replaceParts(doc, env string, parts []part) (string, error) {
	for _, p := range parts {
		if p.input == "" {
			continue
		}
		md, err := os.ReadFile(p.input)
		if err != nil {
			return "", err
		}
		body := header(p.input, env, "") + "\n" + string(md)
		if doc, err = replaceSection(doc, p.section, body); err != nil {
			return "", err
		}
	}
	return doc, nil
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "benchdoc:", err)
	os.Exit(1)
}

// replaceSection replaces what lies between the marker comments of section
// name with body, keeping both markers and everything outside them. Each
// marker must occur exactly once, the opening one first.
func replaceSection(doc, name, body string) (string, error) {
	begin, end := "<!-- generated:"+name+" -->", "<!-- /generated:"+name+" -->"
	if n, m := strings.Count(doc, begin), strings.Count(doc, end); n != 1 || m != 1 {
		return "", fmt.Errorf("section %q: want one %s and one %s, found %d and %d", name, begin, end, n, m)
	}
	b, e := strings.Index(doc, begin), strings.Index(doc, end)
	if e < b {
		return "", fmt.Errorf("section %q: %s comes before %s", name, end, begin)
	}
	return doc[:b+len(begin)] + "\n\n" + strings.Trim(body, "\n") + "\n\n" + doc[e:], nil
}

// header is the first lines of a generated part: when its input was last
// written (the end of the run), the machine and versions, and the command if given.
func header(input, env, cmd string) string {
	when := "date unknown"
	if st, err := os.Stat(input); err == nil {
		when = st.ModTime().UTC().Format("2006-01-02 15:04 MST")
	}
	s := fmt.Sprintf("Run ending %s. %s\n", when, env)
	if cmd != "" {
		s += fmt.Sprintf("Command: `%s`.\n", cmd)
	}
	return s
}

// environment describes the machine and the versions in two sentences.
func environment(tools string) string {
	return fmt.Sprintf("Machine: %s.\nVersions: %s, wazero %s, client-go %s; %s.", machine(), runtime.Version(),
		moduleVersion("go.mod", "github.com/tetratelabs/wazero"), moduleVersion("go.mod", "k8s.io/client-go"), controlPlane(tools))
}

// machine is CPU model and count, memory and kernel, from /proc.
func machine() string {
	model, cpus := "unknown CPU", 0
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(data)) {
			k, v, ok := strings.Cut(line, ":")
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			switch {
			case !ok:
			case k == "processor":
				cpus++
			case k == "model name" && cpus <= 1:
				model = v
			}
		}
	}
	if cpus == 0 {
		cpus = runtime.NumCPU()
	}
	mem := "memory unknown"
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.Lines(string(data)) {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
				kb, _ := strconv.ParseFloat(f[1], 64)
				mem = fmt.Sprintf("%.1f GiB", kb/(1<<20))
			}
		}
	}
	kernel := "unknown"
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = strings.TrimSpace(string(data))
	}
	return fmt.Sprintf("%s × %d, %s, %s %s %s", model, cpus, mem, strings.ToUpper(runtime.GOOS[:1])+runtime.GOOS[1:], kernel, runtime.GOARCH)
}

// controlPlane is the versions of the control-plane binaries from their
// --version, or else the versions pinned in hack/tools/go.mod.
func controlPlane(tools string) string {
	version := func(bin string) string {
		if tools == "" {
			return ""
		}
		out, err := exec.Command(filepath.Join(tools, bin), "--version").Output()
		if err != nil {
			return ""
		}
		// "Kubernetes v1.37.2"; etcd: "etcd Version: 3.7.0\nGit SHA: …".
		first, _, _ := strings.Cut(string(out), "\n")
		f := strings.Fields(first)
		if len(f) == 0 {
			return ""
		}
		v := f[len(f)-1]
		if !strings.HasPrefix(v, "v") {
			v = "v" + v
		}
		return v
	}
	api, kcm, etcd := version("kube-apiserver"), version("kube-controller-manager"), version("etcd")
	if api != "" && kcm != "" && etcd != "" {
		if api == kcm {
			return fmt.Sprintf("kube-apiserver and kube-controller-manager %s, etcd %s (their --version)", api, etcd)
		}
		return fmt.Sprintf("kube-apiserver %s, kube-controller-manager %s, etcd %s (their --version)", api, kcm, etcd)
	}
	return fmt.Sprintf("kube-apiserver and kube-controller-manager from k8s.io/kubernetes %s, etcd %s (hack/tools/go.mod)",
		moduleVersion("hack/tools/go.mod", "k8s.io/kubernetes"), moduleVersion("hack/tools/go.mod", "go.etcd.io/etcd/server/v3"))
}

// moduleVersion is the version go.mod at path requires of module, or "?".
func moduleVersion(path, module string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "?"
	}
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == "require" {
			f = f[1:]
		}
		if len(f) >= 2 && f[0] == module {
			return f[1]
		}
	}
	return "?"
}

// modulePath is the module line of go.mod at path, or "".
func modulePath(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(data)) {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "module" {
			return f[1]
		}
	}
	return ""
}

// benchResults is what parseGoBench finds in go test output.
type benchResults struct {
	benchmarks []benchmark
	failed     []string // packages or benchmarks reported as FAIL
}

type benchmark struct {
	pkg, name string // import path; name without "Benchmark" and the -GOMAXPROCS suffix
	n         int
	metrics   []metric // in output order: ns/op, custom metrics, MB/s, B/op, allocs/op
}

type metric struct {
	value float64
	text  string // the value as go test printed it
	unit  string
}

// parseGoBench reads `go test -bench` output. The output interleaves the
// tests' own log lines, which may fall between a benchmark's name and its
// result: a name without a result waits for the next line ending in one.
// procs is the -GOMAXPROCS suffix to strip from names.
func parseGoBench(r io.Reader, procs int) (benchResults, error) {
	var res benchResults
	var pkg, pending string
	suffix := "-" + strconv.Itoa(procs)
	add := func(name string, n int, ms []metric) {
		name = strings.TrimPrefix(strings.TrimSuffix(name, suffix), "Benchmark")
		res.benchmarks = append(res.benchmarks, benchmark{pkg: pkg, name: name, n: n, metrics: ms})
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "pkg: "):
			pkg, pending = strings.TrimSpace(line[len("pkg: "):]), ""
			continue
		case strings.Contains(line, "--- FAIL: "): // also right after a benchmark's name
			_, after, _ := strings.Cut(line, "--- FAIL: ")
			res.failed = append(res.failed, strings.Fields(after + " ?")[0])
			pending = ""
			continue
		case strings.HasPrefix(line, "FAIL\t"):
			res.failed = append(res.failed, strings.Fields(line)[1])
			continue
		}
		if strings.HasPrefix(line, "Benchmark") {
			name, rest, _ := strings.Cut(line, "\t")
			name = strings.TrimSpace(name)
			if strings.ContainsAny(name, " ") {
				continue // a log line that happens to start with "Benchmark"
			}
			if n, ms, ok := parseResult(rest); ok {
				add(name, n, ms)
				pending = ""
			} else {
				pending = name
			}
			continue
		}
		if pending != "" {
			if n, ms, ok := parseResult(line); ok {
				add(pending, n, ms)
				pending = ""
			}
		}
	}
	return res, sc.Err()
}

// parseResult parses "  N\t  v unit\t  v unit…" at the end of s (what comes
// before N on its segment is log output that was not ended by a newline).
func parseResult(s string) (int, []metric, bool) {
	segs := strings.Split(s, "\t")
	if len(segs) < 2 {
		return 0, nil, false
	}
	f := strings.Fields(segs[0])
	if len(f) == 0 {
		return 0, nil, false
	}
	n, err := strconv.Atoi(f[len(f)-1])
	if err != nil || n <= 0 {
		return 0, nil, false
	}
	var ms []metric
	for _, seg := range segs[1:] {
		f := strings.Fields(seg)
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return 0, nil, false
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return 0, nil, false
		}
		ms = append(ms, metric{value: v, text: f[0], unit: f[1]})
	}
	return n, ms, len(ms) > 0
}

// goBenchTable renders the results as one Markdown table: package (without
// the module prefix), benchmark, time/op, B/op, allocs/op, the other metrics.
func goBenchTable(res benchResults, module string) string {
	var b strings.Builder
	b.WriteString("| package | benchmark | time/op | B/op | allocs/op | other metrics |\n|---|---|---|---|---|---|\n")
	for _, bm := range res.benchmarks {
		pkg := strings.TrimPrefix(strings.TrimPrefix(bm.pkg, module), "/")
		timeOp, bytesOp, allocsOp := "", "", ""
		var other []string
		for _, m := range bm.metrics {
			switch m.unit {
			case "ns/op":
				timeOp = duration(m.value)
			case "B/op":
				bytesOp = bytes(m.value)
			case "allocs/op":
				allocsOp = m.text
			default:
				other = append(other, m.text+" "+m.unit)
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", pkg, strings.ReplaceAll(bm.name, "|", `\|`), timeOp, bytesOp, allocsOp, strings.Join(other, ", "))
	}
	if len(res.failed) > 0 {
		fmt.Fprintf(&b, "\n**Failed:** %s (see the go test output).\n", strings.Join(res.failed, ", "))
	}
	return b.String()
}

// duration formats nanoseconds with three significant digits.
func duration(ns float64) string {
	d := time.Duration(ns)
	switch {
	case ns < 1e3:
		return sig3(ns) + " ns"
	case d < time.Millisecond:
		return sig3(ns/1e3) + " µs"
	case d < time.Second:
		return sig3(ns/1e6) + " ms"
	}
	return sig3(ns/1e9) + " s"
}

// bytes formats a byte count in B, KiB, MiB or GiB.
func bytes(v float64) string {
	for _, unit := range []string{"B", "KiB", "MiB"} {
		if v < 1024 {
			if unit == "B" {
				return fmt.Sprintf("%.0f B", v)
			}
			return sig3(v) + " " + unit
		}
		v /= 1024
	}
	return sig3(v) + " GiB"
}

func sig3(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}
