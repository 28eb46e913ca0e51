// Package benchkit is what the side-by-side benchmarks (hack/bench,
// hack/benchjob, hack/benchdeploy, hack/benchsts, hack/benchds) share:
// building the host and its plugins, starting it with metrics and pprof,
// waiting for a side to run with synced caches, reading a controller
// process's CPU and memory from /proc and the host's plugin call metrics,
// the logs of each side, the bench's kubelet (pods marked Running and
// Ready as soon as they appear), the workloads' pod spec, and the medians
// and ratios of the report.
package benchkit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"wasmctl.dev/wasmctl/internal/testenv"
	"wasmctl.dev/wasmctl/internal/wasmbuild"
)

// Command is the shell command that ran prog ("go run ./hack/bench") with
// args, each quoted where a shell would need it.
func Command(prog string, args []string) string {
	parts := []string{prog}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t'\"$\\*?[]{}()<>|&;#~`") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// Prepare builds wasmctl-host and the plugins (by directory name under
// plugins/) into a new temporary directory named after prefix, and writes
// a config running each with 5 workers, a 10 s timeout and the client
// limits qps/burst = qps. The caller removes filepath.Dir(bin).
func Prepare(prefix string, qps int, plugins ...string) (bin, cfg string, err error) {
	return PrepareWorkers(prefix, qps, 5, plugins...)
}

// PrepareWorkers is Prepare with workers workers per controller (for a
// side-by-side run whose kube-controller-manager default is not 5).
func PrepareWorkers(prefix string, qps, workers int, plugins ...string) (bin, cfg string, err error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", "", err
	}
	bin = filepath.Join(dir, "wasmctl-host")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/wasmctl-host").CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("build host: %v\n%s", err, out)
	}
	wasms := make([]string, len(plugins))
	for i, p := range plugins {
		if wasms[i], err = wasmbuild.Build("", "./plugins/"+p+"/cmd"); err != nil {
			return "", "", err
		}
	}
	cfg = filepath.Join(dir, "config.yaml")
	return bin, cfg, os.WriteFile(cfg, []byte(hostConfig(dir, qps, workers, plugins, wasms)), 0o644)
}

// hostConfig is the host's config for Prepare: the client limits, a
// compilation cache under dir, and controller plugins[i] running wasms[i]
// with workers workers and a 10 s timeout (for and owns from the plugin's
// manifest).
func hostConfig(dir string, qps, workers int, plugins, wasms []string) string {
	body := fmt.Sprintf("qps: %d\nburst: %d\ncompilationCacheDir: %s/cache\ncontrollers:\n", qps, qps, dir)
	for i, p := range plugins {
		body += fmt.Sprintf("  - {name: %s, plugin: %s, workers: %d, timeout: 10s}\n", p, wasms[i], workers)
	}
	return body
}

// Ratio is a/b as "1.23×", "–" when either is 0.
func Ratio(a, b float64) string {
	if a == 0 || b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// Median is the median of f over rs (0 for none).
func Median[T any](rs []T, f func(T) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	sort.Float64s(v)
	if len(v) == 0 {
		return 0
	}
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// LogFile is the path of a side's log ("kcm" or "wasmctl-host") in e's
// directory, "" if there is none.
func LogFile(e *testenv.Environment, side string) string {
	pattern := map[string]string{"kcm": "kube-controller-manager-*.log", "wasmctl-host": "host.log"}[side]
	files, _ := filepath.Glob(filepath.Join(e.Dir, pattern))
	if pattern == "" || len(files) == 0 {
		return ""
	}
	return files[len(files)-1]
}

// LogTail is the end of a side's log, to tell why it failed ("" if none).
func LogTail(e *testenv.Environment, side string) string { return tailFile(LogFile(e, side)) }

// ProcLogTail is LogTail of proc's own log file.
func ProcLogTail(proc *testenv.Process) string { return tailFile(proc.LogFile) }

func tailFile(path string) string {
	data, err := os.ReadFile(path)
	if path == "" || err != nil {
		return ""
	}
	if len(data) > 3000 {
		data = data[len(data)-3000:]
	}
	return fmt.Sprintf("; end of %s:\n%s", filepath.Base(path), data)
}

// CPUSeconds is utime+stime of the process from /proc (clock ticks of 100 Hz);
// 0 for no process (hack/bench's floor side has none).
func CPUSeconds(p *testenv.Process) float64 {
	if p == nil {
		return 0
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.Pid()))
	if err != nil {
		return 0
	}
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100
}

// Memory is the /proc/PID/status line key ("VmHWM:" peak RSS, "VmRSS:"
// now) of the process, in MiB.
func Memory(p *testenv.Process, key string) float64 {
	if p == nil {
		return 0
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid()))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, key) {
			kb, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// PeakRSS is VmHWM of the process, in MiB.
func PeakRSS(p *testenv.Process) float64 { return Memory(p, "VmHWM:") }

// ResetPeakRSS sets the process's VmHWM to its VmRSS now (writing 5 to
// /proc/PID/clear_refs, Linux 4.0 and later), so that PeakRSS after it
// is the peak of what came since.
func ResetPeakRSS(p *testenv.Process) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", p.Pid()), []byte("5"), 0)
}

// PrepareRepoConfig builds wasmctl-host into a new temporary directory
// named after prefix and writes there the repository's config.yaml with
// freshly built plugins (wasmbuild.RepoConfig: its workers, timeouts and
// resync periods as they are) and the client limits qps/burst = qps. The
// compilation cache is the host's default one. The caller removes
// filepath.Dir(bin).
func PrepareRepoConfig(prefix string, qps int) (bin, cfg string, err error) {
	root, err := testenv.RepoRoot()
	if err != nil {
		return "", "", err
	}
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", "", err
	}
	bin = filepath.Join(dir, "wasmctl-host")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/wasmctl-host")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("build host: %v\n%s", err, out)
	}
	body, err := wasmbuild.RepoConfig(filepath.Join(root, "config.yaml"))
	if err != nil {
		return "", "", err
	}
	cfg = filepath.Join(dir, "config.yaml")
	return bin, cfg, os.WriteFile(cfg, []byte(fmt.Sprintf("qps: %d\nburst: %d\n", qps, qps)+body), 0o644)
}
