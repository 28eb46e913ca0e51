// Command bench runs the side-by-side convergence benchmark on a local
// control plane: N ReplicaSets × R replicas created at once, converged by
// (a) kube-controller-manager --controllers=replicaset, (b) wasmctl-host
// with the replicaset plugin, (c) the floor — a client creating the same
// pods itself. Runs alternate (a b c a b c ...) on a fresh control plane
// each; it prints a table of medians and writes it as Markdown.
//
//	go run ./hack/bench -sizes 500x10,50x100 -rounds 2 -out .cache/convergence.md
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"wasmctl.dev/wasmctl/internal/testenv"
	"wasmctl.dev/wasmctl/internal/wasmbuild"
)

var (
	sizesFlag = flag.String("sizes", "500x10,50x100", "N×R pairs")
	rounds    = flag.Int("rounds", 2, "alternating rounds per size")
	qps       = flag.Int("qps", 1000, "client QPS of every side (burst = qps)")
	out       = flag.String("out", "", "also write the Markdown table here")
	profile   = flag.String("profile", "", "write a 15 s CPU profile of the host's first run here")
	sides     = flag.String("sides", "kcm,wasmctl-host,floor", "which sides to run")
)

type result struct {
	side    string
	seconds float64
	cpu     float64 // controller process CPU seconds (0 for the floor)
	rssMiB  float64
	churn   float64 // seconds to replace 10% of the pods deleted at random
	down    float64 // seconds to scale everything to 0
}

func main() {
	flag.Parse()
	bin, cfg, err := prepare()
	if err != nil {
		fatal(err)
	}
	var table []string
	table = append(table, "| size | side | converge s (median) | CPU s | peak RSS MiB | converge vs KCM | churn 10% s | scale to 0 s |", "|---|---|---|---|---|---|---|---|")
	for _, size := range strings.Split(*sizesFlag, ",") {
		var n, r int
		if _, err := fmt.Sscanf(size, "%dx%d", &n, &r); err != nil {
			fatal(fmt.Errorf("size %q: %w", size, err))
		}
		runs := map[string][]result{}
		for round := range *rounds {
			for _, side := range strings.Split(*sides, ",") {
				res, err := runOnce(side, n, r, bin, cfg)
				if err != nil {
					fatal(fmt.Errorf("%s %s round %d: %w", size, side, round, err))
				}
				fmt.Printf("%-8s %-13s round %d: %6.2f s  cpu %6.2f s  rss %6.1f MiB  churn %5.2f s  down %5.2f s\n", size, side, round, res.seconds, res.cpu, res.rssMiB, res.churn, res.down)
				runs[side] = append(runs[side], res)
			}
		}
		kcm := median(runs["kcm"], func(r result) float64 { return r.seconds })
		for _, side := range strings.Split(*sides, ",") {
			t := median(runs[side], func(r result) float64 { return r.seconds })
			table = append(table, fmt.Sprintf("| %s | %s | %.2f | %.2f | %.0f | %.2f | %.2f | %.2f |", size, side, t,
				median(runs[side], func(r result) float64 { return r.cpu }),
				median(runs[side], func(r result) float64 { return r.rssMiB }), t/kcm,
				median(runs[side], func(r result) float64 { return r.churn }),
				median(runs[side], func(r result) float64 { return r.down })))
		}
	}
	md := strings.Join(table, "\n") + "\n"
	fmt.Print("\n" + md)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(md), 0o644); err != nil {
			fatal(err)
		}
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

func median(rs []result, f func(result) float64) float64 {
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

// prepare builds the host binary and the plugin, and writes the config.
func prepare() (bin, cfg string, err error) {
	dir, err := os.MkdirTemp("", "wasmctl-bench-")
	if err != nil {
		return "", "", err
	}
	bin = filepath.Join(dir, "wasmctl-host")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/wasmctl-host").CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("build host: %v\n%s", err, out)
	}
	wasm, err := wasmbuild.Build("", "./plugins/replicaset/cmd")
	if err != nil {
		return "", "", err
	}
	cfg = filepath.Join(dir, "config.yaml")
	body := fmt.Sprintf("qps: %d\nburst: %d\ncompilationCacheDir: %s/cache\ncontrollers:\n  - {name: replicaset, plugin: %s, workers: 5, timeout: 10s}\n", *qps, *qps, dir, wasm)
	return bin, cfg, os.WriteFile(cfg, []byte(body), 0o644)
}

func runOnce(side string, n, r int, bin, cfg string) (result, error) {
	ctx := context.Background()
	e, err := testenv.Start(ctx, testenv.Options{})
	if err != nil {
		return result{}, err
	}
	defer e.Stop()
	c := e.Clientset()
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bench"}}, metav1.CreateOptions{}); err != nil {
		return result{}, err
	}
	var proc *testenv.Process
	switch side {
	case "kcm":
		proc, err = e.StartControllerManager(testenv.ControllerManagerOptions{Controllers: []string{"replicaset"},
			QPS: float32(*qps), Burst: *qps, ExtraArgs: []string{"--concurrent-replicaset-syncs=5"}})
	case "wasmctl-host":
		pprofAddr := "0"
		if *profile != "" {
			pprofAddr = "127.0.0.1:6061"
		}
		proc, err = e.StartProcess("host", bin, []string{"run", "--config", cfg, "--kubeconfig", e.KubeconfigPath,
			"--metrics-bind-address", "0", "--health-probe-bind-address", "0", "--pprof-bind-address", pprofAddr}, nil)
		if err == nil && *profile != "" {
			path := *profile
			*profile = "" // the first run only
			go func() {
				time.Sleep(3 * time.Second)
				resp, err := http.Get("http://127.0.0.1:6061/debug/pprof/profile?seconds=15")
				if err != nil {
					fmt.Fprintln(os.Stderr, "profile:", err)
					return
				}
				defer resp.Body.Close()
				f, _ := os.Create(path)
				defer f.Close()
				io.Copy(f, resp.Body)
			}()
		}
	}
	if err != nil {
		return result{}, err
	}
	time.Sleep(3 * time.Second) // controllers up and synced before the clock starts
	cpu0 := cpuSeconds(proc)
	start := time.Now()
	if err := createAll(ctx, c, n, r, side == "floor"); err != nil {
		return result{}, err
	}
	if side == "floor" {
		return result{side: side, seconds: time.Since(start).Seconds()}, nil
	}
	deadline := start.Add(10 * time.Minute)
	for {
		list, err := c.AppsV1().ReplicaSets("bench").List(ctx, metav1.ListOptions{ResourceVersion: "0"})
		if err == nil && converged(list.Items, n, r) {
			break
		}
		if time.Now().After(deadline) {
			return result{}, fmt.Errorf("not converged after 10 minutes")
		}
		time.Sleep(100 * time.Millisecond)
	}
	res := result{side: side, seconds: time.Since(start).Seconds(), cpu: cpuSeconds(proc) - cpu0}

	// Churn: delete 10% of the pods at random; time until all are replaced.
	pods, err := c.CoreV1().Pods("bench").List(ctx, metav1.ListOptions{})
	if err != nil {
		return result{}, err
	}
	start = time.Now()
	for i, p := range pods.Items {
		if i%10 == 3 {
			if err := c.CoreV1().Pods("bench").Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil {
				return result{}, err
			}
		}
	}
	if err := waitFor(ctx, c, func(rss []appsv1.ReplicaSet) bool { return converged(rss, n, r) }, func() bool {
		list, err := c.CoreV1().Pods("bench").List(ctx, metav1.ListOptions{ResourceVersion: "0"})
		return err == nil && len(list.Items) == n*r
	}); err != nil {
		return result{}, fmt.Errorf("churn: %w", err)
	}
	res.churn = time.Since(start).Seconds()

	// Scale down to 0.
	start = time.Now()
	for i := range n {
		if _, err := c.AppsV1().ReplicaSets("bench").Patch(ctx, fmt.Sprintf("rs-%03d", i), "application/merge-patch+json", []byte(`{"spec":{"replicas":0}}`), metav1.PatchOptions{}); err != nil {
			return result{}, err
		}
	}
	if err := waitFor(ctx, c, func(rss []appsv1.ReplicaSet) bool { return converged(rss, n, 0) }, func() bool {
		list, err := c.CoreV1().Pods("bench").List(ctx, metav1.ListOptions{ResourceVersion: "0"})
		return err == nil && len(list.Items) == 0
	}); err != nil {
		return result{}, fmt.Errorf("scale down: %w", err)
	}
	res.down = time.Since(start).Seconds()
	res.rssMiB = peakRSS(proc)
	return res, nil
}

// waitFor polls until the ReplicaSets satisfy ok and extra holds (5 min).
func waitFor(ctx context.Context, c kubernetes.Interface, ok func([]appsv1.ReplicaSet) bool, extra func() bool) error {
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		list, err := c.AppsV1().ReplicaSets("bench").List(ctx, metav1.ListOptions{ResourceVersion: "0"})
		if err == nil && ok(list.Items) && extra() {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("timed out")
}

func converged(rss []appsv1.ReplicaSet, n, r int) bool {
	if len(rss) != n {
		return false
	}
	for _, rs := range rss {
		if rs.Status.Replicas != int32(r) || rs.Status.ObservedGeneration != rs.Generation {
			return false
		}
	}
	return true
}

// createAll creates the ReplicaSets, or for the floor the pods they would
// have, with 16 concurrent clients.
func createAll(ctx context.Context, c kubernetes.Interface, n, r int, floor bool) error {
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	do := func(f func() error) {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := f(); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	for i := range n {
		name := fmt.Sprintf("rs-%03d", i)
		labels := map[string]string{"rs": name}
		tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}}}}
		if !floor {
			do(func() error {
				_, err := c.AppsV1().ReplicaSets("bench").Create(ctx, &appsv1.ReplicaSet{
					ObjectMeta: metav1.ObjectMeta{Name: name},
					Spec:       appsv1.ReplicaSetSpec{Replicas: ptr.To(int32(r)), Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: tmpl},
				}, metav1.CreateOptions{})
				return err
			})
			continue
		}
		for range r {
			do(func() error {
				_, err := c.CoreV1().Pods("bench").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: name + "-", Labels: labels}, Spec: tmpl.Spec}, metav1.CreateOptions{})
				return err
			})
		}
	}
	wg.Wait()
	return first
}

// cpuSeconds is utime+stime of the process from /proc (clock ticks of 100 Hz).
func cpuSeconds(p *testenv.Process) float64 {
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

// peakRSS is VmHWM of the process, in MiB.
func peakRSS(p *testenv.Process) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid()))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return kb / 1024
		}
	}
	return 0
}
