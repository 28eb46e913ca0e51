// Command bench runs the side-by-side convergence benchmark on a local
// control plane: N ReplicaSets × R replicas created at once, converged by
// (a) kube-controller-manager --controllers=replicaset, (b) wasmctl-host
// with the replicaset plugin, (c) the floor — a client creating the same
// pods itself, with enough concurrency (-floor-workers) that the apiserver,
// not the client, limits it. Runs alternate (a b c a b c ...) on a fresh
// control plane each; it prints a table of medians and the ratios to
// kube-controller-manager, and writes them as Markdown (with the command)
// for hack/benchdoc to put into docs/BENCHMARKS.md.
//
//	go run ./hack/bench -sizes 500x10,50x100 -rounds 2 -out .cache/convergence.md
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"wasmctl.dev/wasmctl/hack/internal/benchkit"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"wasmctl.dev/wasmctl/internal/testenv"
)

var (
	sizesFlag    = flag.String("sizes", "500x10,50x100", "N×R pairs")
	rounds       = flag.Int("rounds", 2, "alternating rounds per size")
	qps          = flag.Int("qps", 1000, "client QPS of every side, the floor's too (burst = qps)")
	floorWorkers = flag.Int("floor-workers", 128, "concurrent pod creates of the floor")
	out          = flag.String("out", "", "also write the Markdown (command, table, ratios) here")
	profile      = flag.String("profile", "", "write a 15 s CPU profile of the host's first run here")
	sides        = flag.String("sides", "kcm,wasmctl-host,floor", "which sides to run")
	timeout      = flag.Duration("timeout", 3*time.Minute, "give up on a phase (converge, churn, scale to 0) after this long")
)

type result struct {
	side    string
	seconds float64
	cpu     float64 // controller process CPU seconds (0 for the floor)
	rssMiB  float64
	churn   float64                   // seconds to replace 10% of the pods deleted at random
	down    float64                   // seconds to scale everything to 0
	calls   map[string]benchkit.Calls // the host's plugin calls at convergence
}

// sizeRuns are the results of one size, by side.
type sizeRuns struct {
	name string // "500x10"
	pods int    // N×R
	runs map[string][]result
}

func main() {
	flag.Parse()
	bin, cfg, err := benchkit.Prepare("wasmctl-bench-", *qps, "replicaset")
	if err != nil {
		fatal(err)
	}
	sideList := strings.Split(*sides, ",")
	var all []sizeRuns
	for _, size := range strings.Split(*sizesFlag, ",") {
		var n, r int
		if _, err := fmt.Sscanf(size, "%dx%d", &n, &r); err != nil {
			fatal(fmt.Errorf("size %q: %w", size, err))
		}
		sr := sizeRuns{name: size, pods: n * r, runs: map[string][]result{}}
		for round := range *rounds {
			for _, side := range sideList {
				res, err := runOnce(side, n, r, bin, cfg)
				if err != nil {
					fatal(fmt.Errorf("%s %s round %d: %w", size, side, round, err))
				}
				fmt.Printf("%-8s %-13s round %d: %6.2f s (%5.0f pods/s)  cpu %6.2f s  rss %6.1f MiB  churn %5.2f s  down %5.2f s\n",
					size, side, round, res.seconds, float64(n*r)/res.seconds, res.cpu, res.rssMiB, res.churn, res.down)
				if res.calls != nil {
					fmt.Printf("%-8s %-13s round %d: plugin calls to converge: %s\n", size, side, round, benchkit.CallLine(res.calls, "replicaset"))
				}
				sr.runs[side] = append(sr.runs[side], res)
			}
		}
		all = append(all, sr)
	}
	md := fmt.Sprintf("Command: `%s`. %s\n\n%s", benchkit.Command("go run ./hack/bench", os.Args[1:]), settings(), report(all, sideList))
	fmt.Print("\n" + md)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(md), 0o644); err != nil {
			fatal(err)
		}
	}
}

// settings states the flags that shape the numbers, defaults included.
func settings() string {
	runs := fmt.Sprintf("Medians of %d rounds", *rounds)
	if *rounds == 1 {
		runs = "One round"
	}
	return fmt.Sprintf("%s, sides alternating (%s), a fresh control plane per run. "+
		"Controllers: 5 workers, client %d qps / %d burst; the bench creates the ReplicaSets with 16 concurrent requests. "+
		"Floor: %d concurrent pod creates, protobuf, %d qps / %d burst.",
		runs, *sides, *qps, *qps, *floorWorkers, *qps, *qps)
}

// report renders the medians per size and side, then the ratios to
// kube-controller-manager ("kcm") per size.
func report(all []sizeRuns, sideList []string) string {
	var b strings.Builder
	b.WriteString("| size | side | converge s | pods/s | CPU s | peak RSS MiB | converge vs KCM | churn 10% s | scale to 0 s |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, sr := range all {
		kcm := sr.median("kcm", func(r result) float64 { return r.seconds })
		for _, side := range sideList {
			t := sr.median(side, func(r result) float64 { return r.seconds })
			fmt.Fprintf(&b, "| %s | %s | %.2f | %.0f | %s | %s | %s | %s | %s |\n", strings.Replace(sr.name, "x", "×", 1), side, t, float64(sr.pods)/t,
				dash("%.2f", sr.median(side, func(r result) float64 { return r.cpu })),
				dash("%.0f", sr.median(side, func(r result) float64 { return r.rssMiB })),
				benchkit.Ratio(t, kcm),
				dash("%.2f", sr.median(side, func(r result) float64 { return r.churn })),
				dash("%.2f", sr.median(side, func(r result) float64 { return r.down })))
		}
	}
	b.WriteString("\nRatios of the medians (< 1: faster or smaller than kube-controller-manager):\n\n")
	b.WriteString("| size | host/KCM time | CPU | peak RSS | churn | scale to 0 | floor/KCM time |\n|---|---|---|---|---|---|---|\n")
	for _, sr := range all {
		host := func(f func(result) float64) string {
			return benchkit.Ratio(sr.median("wasmctl-host", f), sr.median("kcm", f))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", strings.Replace(sr.name, "x", "×", 1),
			host(func(r result) float64 { return r.seconds }),
			host(func(r result) float64 { return r.cpu }),
			host(func(r result) float64 { return r.rssMiB }),
			host(func(r result) float64 { return r.churn }),
			host(func(r result) float64 { return r.down }),
			benchkit.Ratio(sr.median("floor", func(r result) float64 { return r.seconds }), sr.median("kcm", func(r result) float64 { return r.seconds })))
	}
	return b.String()
}

func (sr sizeRuns) median(side string, f func(result) float64) float64 {
	return benchkit.Median(sr.runs[side], f)
}

// dash formats v, or "–" when it was not measured (0).
func dash(format string, v float64) string {
	if v == 0 {
		return "–"
	}
	return fmt.Sprintf(format, v)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
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
	var metricsAddr, pprofAddr string
	switch side {
	case "kcm":
		proc, err = e.StartControllerManager(testenv.ControllerManagerOptions{Controllers: []string{"replicaset"},
			QPS: float32(*qps), Burst: *qps, ExtraArgs: []string{"--concurrent-replicaset-syncs=5"}})
	case "wasmctl-host":
		proc, metricsAddr, pprofAddr, err = benchkit.StartHost(e, bin, cfg, *profile != "")
		if err == nil && *profile != "" {
			path := *profile
			*profile = "" // the first run only
			go func() {
				time.Sleep(3 * time.Second)
				if err := benchkit.FetchProfile(pprofAddr, path, 15); err != nil {
					fmt.Fprintln(os.Stderr, "profile:", err)
				}
			}()
		}
	}
	if err != nil {
		return result{}, err
	}
	time.Sleep(3 * time.Second) // controllers up and synced before the clock starts
	cpu0 := benchkit.CPUSeconds(proc)
	if side == "floor" {
		return runFloor(ctx, e, n, r)
	}
	start := time.Now()
	if err := createReplicaSets(ctx, c, n, r); err != nil {
		return result{}, err
	}
	if err := waitFor(ctx, c, proc, func(rss []appsv1.ReplicaSet) bool { return converged(rss, n, r) }, nil); err != nil {
		return result{}, fmt.Errorf("converge: %w%s", err, benchkit.LogTail(e, side))
	}
	res := result{side: side, seconds: time.Since(start).Seconds(), cpu: benchkit.CPUSeconds(proc) - cpu0}
	if side == "wasmctl-host" {
		// How many plugin calls the convergence took (printed per round).
		if res.calls, err = benchkit.ScrapeCalls(metricsAddr); err != nil {
			return result{}, fmt.Errorf("metrics: %w", err)
		}
	}

	// Churn: delete 10% of the pods at random; time until all are replaced.
	pods, err := c.CoreV1().Pods("bench").List(ctx, metav1.ListOptions{})
	if err != nil {
		return result{}, err
	}
	var victims []string
	for i, p := range pods.Items {
		if i%10 == 3 {
			victims = append(victims, p.Name)
		}
	}
	start = time.Now()
	// Issued together (32 at a time), so the time measures the controllers,
	// not this client's round trips.
	if err := parallel(len(victims), 32, func(i int) error {
		return c.CoreV1().Pods("bench").Delete(ctx, victims[i], metav1.DeleteOptions{})
	}); err != nil {
		return result{}, err
	}
	if err := waitFor(ctx, c, proc, func(rss []appsv1.ReplicaSet) bool { return converged(rss, n, r) }, func() bool {
		list, err := c.CoreV1().Pods("bench").List(ctx, metav1.ListOptions{ResourceVersion: "0"})
		return err == nil && len(list.Items) == n*r
	}); err != nil {
		return result{}, fmt.Errorf("churn: %w%s", err, benchkit.LogTail(e, side))
	}
	res.churn = time.Since(start).Seconds()

	// Scale down to 0.
	start = time.Now()
	if err := parallel(n, 32, func(i int) error {
		name, _, _ := template(i)
		_, err := c.AppsV1().ReplicaSets("bench").Patch(ctx, name, "application/merge-patch+json", []byte(`{"spec":{"replicas":0}}`), metav1.PatchOptions{})
		return err
	}); err != nil {
		return result{}, err
	}
	if err := waitFor(ctx, c, proc, func(rss []appsv1.ReplicaSet) bool { return converged(rss, n, 0) }, func() bool {
		list, err := c.CoreV1().Pods("bench").List(ctx, metav1.ListOptions{ResourceVersion: "0"})
		return err == nil && len(list.Items) == 0
	}); err != nil {
		return result{}, fmt.Errorf("scale down: %w%s", err, benchkit.LogTail(e, side))
	}
	res.down = time.Since(start).Seconds()
	res.rssMiB = benchkit.PeakRSS(proc)
	return res, nil
}

// waitFor polls until the ReplicaSets satisfy ok and extra (if not nil)
// holds, for at most -timeout, and gives up early when proc exits.
func waitFor(ctx context.Context, c kubernetes.Interface, proc *testenv.Process, ok func([]appsv1.ReplicaSet) bool, extra func() bool) error {
	deadline := time.Now().Add(*timeout)
	for time.Now().Before(deadline) {
		list, err := c.AppsV1().ReplicaSets("bench").List(ctx, metav1.ListOptions{ResourceVersion: "0"})
		if err == nil && ok(list.Items) && (extra == nil || extra()) {
			return nil
		}
		if proc != nil && proc.Exited() {
			return fmt.Errorf("the controller exited")
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("not done after %s", *timeout)
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

// template is the pod template of ReplicaSet i, and the floor's pods.
func template(i int) (name string, labels map[string]string, spec corev1.PodSpec) {
	name = fmt.Sprintf("rs-%03d", i)
	return name, map[string]string{"rs": name}, corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}}}
}

// createReplicaSets creates the n ReplicaSets with 16 concurrent requests.
func createReplicaSets(ctx context.Context, c kubernetes.Interface, n, r int) error {
	return parallel(n, 16, func(i int) error {
		name, labels, spec := template(i)
		_, err := c.AppsV1().ReplicaSets("bench").Create(ctx, &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To(int32(r)), Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec}},
		}, metav1.CreateOptions{})
		return err
	})
}

// runFloor times a client creating the n×r pods the ReplicaSets would have,
// from the first create until the last one returned (then checks with a
// List that they exist). It
// speaks protobuf, like kube-controller-manager, with -floor-workers
// concurrent creates and the controllers' client limits.
func runFloor(ctx context.Context, e *testenv.Environment, n, r int) (result, error) {
	cfg := e.RESTConfig()
	cfg.QPS, cfg.Burst = float32(*qps), *qps
	cfg.ContentType = runtime.ContentTypeProtobuf
	cfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return result{}, err
	}
	start := time.Now()
	err = parallel(n*r, *floorWorkers, func(i int) error {
		name, labels, spec := template(i / r)
		_, err := c.CoreV1().Pods("bench").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: name + "-", Labels: labels}, Spec: spec}, metav1.CreateOptions{})
		return err
	})
	seconds := time.Since(start).Seconds()
	if err != nil {
		return result{}, err
	}
	list, err := c.CoreV1().Pods("bench").List(ctx, metav1.ListOptions{}) // a consistent read, after the clock
	if err != nil {
		return result{}, err
	}
	if len(list.Items) != n*r {
		return result{}, fmt.Errorf("floor: %d pods listed, want %d", len(list.Items), n*r)
	}
	return result{side: "floor", seconds: seconds}, nil
}

// parallel calls f(0) … f(total-1) from workers goroutines and returns the
// first error; after an error no new calls start.
func parallel(total, workers int, f func(i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	var failed atomic.Bool
	for range min(workers, total) {
		wg.Go(func() {
			for !failed.Load() {
				i := int(next.Add(1)) - 1
				if i >= total {
					return
				}
				if err := f(i); err != nil {
					once.Do(func() { first = err })
					failed.Store(true)
				}
			}
		})
	}
	wg.Wait()
	return first
}
