package benchkit

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"wasmctl.dev/wasmctl/internal/testenv"
)

// Calls is what the host's wasmctl_plugin_call_duration_seconds counted
// for one controller: calls and their seconds.
type Calls struct {
	N       float64
	Seconds float64
}

// ScrapeCalls reads the host's plugin call counts and seconds per
// controller from its /metrics at addr.
func ScrapeCalls(addr string) (map[string]Calls, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return parseCalls(string(body)), nil
}

func parseCalls(metrics string) map[string]Calls {
	out := map[string]Calls{}
	for line := range strings.Lines(metrics) {
		const prefix = `wasmctl_plugin_call_duration_seconds_`
		rest, ok := strings.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		kind, rest, _ := strings.Cut(rest, `{controller="`)
		name, value, _ := strings.Cut(rest, `"} `)
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			continue
		}
		c := out[name]
		switch kind {
		case "sum":
			c.Seconds = v
		case "count":
			c.N = v
		default:
			continue
		}
		out[name] = c
	}
	return out
}

// CallsSince is after − before, per controller of after.
func CallsSince(after, before map[string]Calls) map[string]Calls {
	out := map[string]Calls{}
	for name, c := range after {
		out[name] = Calls{N: c.N - before[name].N, Seconds: c.Seconds - before[name].Seconds}
	}
	return out
}

// CallLine says a run's plugin calls for each of names.
func CallLine(cs map[string]Calls, names ...string) string {
	var parts []string
	for _, name := range names {
		c := cs[name]
		mean := 0.0
		if c.N > 0 {
			mean = c.Seconds / c.N * 1000
		}
		parts = append(parts, fmt.Sprintf("%s %.0f calls, %.2f s in the plugin (%.1f ms each)", name, c.N, c.Seconds, mean))
	}
	return strings.Join(parts, "; ")
}

// FetchProfile writes a CPU profile of the next seconds of the process
// serving pprof at addr to path.
func FetchProfile(addr, path string, seconds int) error {
	return fetchTo("http://"+addr+"/debug/pprof/profile?seconds="+strconv.Itoa(seconds), path)
}

// FetchHeapProfile writes the heap profile of the process serving pprof at
// addr (after a collection, so in-use is current) to path.
func FetchHeapProfile(addr, path string) error {
	return fetchTo("http://"+addr+"/debug/pprof/heap?gc=1", path)
}

func fetchTo(url, path string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// FreePorts asks the kernel for n distinct free loopback ports.
func FreePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Parallel runs f(0) … f(n-1), workers at a time, and returns the first
// error.
func Parallel(n, workers int, f func(int) error) error {
	var (
		wg    sync.WaitGroup
		next  atomic.Int64
		mu    sync.Mutex
		first error
	)
	for range min(workers, n) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return first
}

// ReadyLines are the log lines after which a side's controllers run with
// synced caches: each of Lines, in any order, and Synced times "Caches are
// synced" (kube-controller-manager logs one per controller).
type ReadyLines struct {
	Lines  []string
	Synced int
}

// WaitReady waits for want in a side's log, for at most two minutes (the
// host compiles its plugins first).
func WaitReady(e *testenv.Environment, side string, proc *testenv.Process, want ReadyLines) error {
	return waitLog(LogFile(e, side), proc, want)
}

// WaitProcReady is WaitReady on proc's own log file, for an environment
// running more than one kube-controller-manager.
func WaitProcReady(proc *testenv.Process, want ReadyLines) error {
	return waitLog(proc.LogFile, proc, want)
}

func waitLog(path string, proc *testenv.Process, want ReadyLines) error {
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		data, _ := os.ReadFile(path)
		log, ok := string(data), true
		for _, line := range want.Lines {
			ok = ok && strings.Contains(log, line)
		}
		if ok && strings.Count(log, `"Caches are synced"`) >= want.Synced {
			return nil
		}
		if proc.Exited() {
			return fmt.Errorf("the controller exited")
		}
	}
	return fmt.Errorf("the controller not ready after two minutes")
}

// StartHost starts wasmctl-host (bin, built by Prepare) on e with its
// config cfg, metrics on a free loopback port (metricsAddr) and, with
// pprof, the pprof endpoint on another (pprofAddr, else "0": off); its
// log is LogFile(e, "wasmctl-host").
func StartHost(e *testenv.Environment, bin, cfg string, pprof bool) (proc *testenv.Process, metricsAddr, pprofAddr string, err error) {
	ports, err := FreePorts(2)
	if err != nil {
		return nil, "", "", err
	}
	metricsAddr, pprofAddr = fmt.Sprintf("127.0.0.1:%d", ports[0]), "0"
	if pprof {
		pprofAddr = fmt.Sprintf("127.0.0.1:%d", ports[1])
	}
	proc, err = e.StartProcess("host", bin, []string{"run", "--config", cfg, "--kubeconfig", e.KubeconfigPath,
		"--metrics-bind-address", metricsAddr, "--health-probe-bind-address", "0", "--pprof-bind-address", pprofAddr}, nil)
	return proc, metricsAddr, pprofAddr, err
}
