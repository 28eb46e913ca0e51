// Command benchsteady runs the six workload controllers in one process
// against a cluster-sized workload, side by side, for issue 19's goal
// "steady state with kwok … host RSS ≤ KCM's, idle CPU ≤ KCM's; a rollout
// of 100 Deployments: time ≤ KCM's, CPU ≤ 1.2×".
//
// Two sides, one after the other, each on a fresh control plane (etcd,
// kube-apiserver, kube-scheduler, kwok playing -nodes nodes with
// -node-pods pods each, and a kube-controller-manager with every controller
// but the six — garbage collector, node lifecycle, taint eviction, pod GC,
// … — that is not measured):
//
//   - kcm: the measured process is a second kube-controller-manager with
//     --controllers=replicaset,deployment,statefulset,daemonset,job,cronjob
//     and its default workers (5 each, DaemonSet 2);
//   - wasmctl-host: the measured process is the host running the
//     repository's config.yaml (its workers, timeouts and resync periods)
//     with freshly built plugins.
//
// Both measured clients get -qps / burst = -qps; the unmeasured
// kube-controller-manager keeps its defaults (20/30) on both sides. There
// is no bench kubelet: the scheduler binds the pods and kwok's stages
// (internal/testenv/kwok-stages.yaml) make them Running and Ready and
// remove deleted ones, as on a cluster.
//
// The workload (all in one namespace, created -writers at a time):
// -deployments Deployments × -replicas (the other benches' pod template),
// -statefulsets StatefulSets × -sts-replicas with podManagementPolicy
// Parallel (OrderedReady would make start-up 10 sequential steps per set,
// bound by round trips rather than by the controller), -daemonsets
// DaemonSets on every node, and -cronjobs CronJobs scheduled "0 0 1 1 *",
// which does not fire during a run: they cost only their syncs and
// requeues. Phases, each measured on the controller process from /proc:
//
//  1. settle: from just before the first create until every Deployment,
//     StatefulSet and DaemonSet reports complete status (observedGeneration
//     current, ready = available = updated = desired) as the bench's
//     informers show it: time, CPU seconds, peak RSS;
//  2. idle: -idle-delay (2 min: the host closes plugin instances unused for a
//     minute, and returns their memory) later, a window of -idle: CPU seconds, VmRSS at its
//     end, peak RSS in it, and the workload objects' updates in it (a
//     controller that keeps writing status is not idle);
//  3. rollout: the image of the first -rollout Deployments changed at once,
//     until all of them are complete at the new image (observedGeneration,
//     updated = replicas = available = spec) and no pod of the old image
//     is left, terminating ones included: time, CPU seconds, peak RSS.
//
// Peak RSS per phase: VmHWM is reset to VmRSS at the phase's start
// (/proc/PID/clear_refs) and read at its end, so a phase's peak is its
// own, not the start's (the host compiles or loads six plugins when it
// starts; that peak is reported apart). The run ends with a check: every
// Deployment, StatefulSet and DaemonSet complete, exactly the expected
// pods, all ready, and no Job (no CronJob fired). A phase not done after
// -timeout fails the run. It prints the table, the ratios host/KCM and
// issue 19's four goals, and writes them as Markdown with the command to
// -out for hack/benchdoc. -profile takes a CPU profile of the host over the
// idle window.
//
// The idle window is shorter than both sides' periodic work: the host
// re-enqueues every primary every resyncPeriod (10 min in config.yaml),
// kube-controller-manager's informers resync every 12–24 h; a window
// shorter than 10 min holds no host resync (-idle 11m would hold one).
//
//	go run ./hack/benchsteady -out .cache/steadybench.md
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersappsv1 "k8s.io/client-go/listers/apps/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"wasmctl.dev/wasmctl/hack/internal/benchkit"
	"wasmctl.dev/wasmctl/internal/testenv"
)

var (
	deployments  = flag.Int("deployments", 500, "Deployments")
	replicas     = flag.Int("replicas", 10, "spec.replicas of each Deployment")
	statefulsets = flag.Int("statefulsets", 50, "StatefulSets (podManagementPolicy Parallel)")
	stsReplicas  = flag.Int("sts-replicas", 10, "spec.replicas of each StatefulSet")
	daemonsets   = flag.Int("daemonsets", 5, "DaemonSets (on every node)")
	cronjobs     = flag.Int("cronjobs", 100, "CronJobs (a schedule that does not fire during the run)")
	nodes        = flag.Int("nodes", 50, "kwok nodes")
	nodePods     = flag.Int("node-pods", 200, "pods capacity of each node")
	rollout      = flag.Int("rollout", 100, "Deployments whose image the rollout changes (the first ones)")
	idle         = flag.Duration("idle", 60*time.Second, "length of the idle window")
	idleDelay    = flag.Duration("idle-delay", 2*time.Minute, "wait after settling before the idle window (default past the host's 1 min instance idle timeout and the cleanup after it, so the window sees a host that has been idle, as in a steady cluster)")
	qps          = flag.Int("qps", 1000, "client QPS of both measured controllers (burst = qps)")
	writers      = flag.Int("writers", 16, "concurrent creates and patches of the bench")
	sides        = flag.String("sides", "kcm,wasmctl-host", "which sides to run, in order")
	timeout      = flag.Duration("timeout", 5*time.Minute, "fail a phase (settle, rollout) not done after this long")
	out          = flag.String("out", "", "also write the Markdown (command, table, goals) here")
	profile      = flag.String("profile", "", "write a CPU profile of the host over the idle window here")
)

const (
	ns           = "bench"
	image1       = "registry.k8s.io/pause:3.9"
	image2       = "registry.k8s.io/pause:3.10"
	appLabel     = "app"
	rolloutLabel = "rollout" // "yes" on the template of the Deployments the rollout changes
	// The schedule of the CronJobs: midnight on January 1st.
	cronSchedule = "0 0 1 1 *"
	// The rest of kube-controller-manager, on both sides and not measured.
	restControllers = "*,-replicaset,-deployment,-statefulset,-daemonset,-job,-cronjob"
)

// sixControllers are the controllers the measured process runs.
var sixControllers = []string{"replicaset", "deployment", "statefulset", "daemonset", "job", "cronjob"}

// phase is what one phase measured on the controller process.
type phase struct {
	seconds float64
	cpu     float64                   // CPU seconds in it
	peakMiB float64                   // VmHWM, reset at its start
	endMiB  float64                   // VmRSS at its end
	updates int64                     // workload object updates the bench's informers saw in it
	busy    float64                   // the machine's busy CPU seconds in it, every process (all cores)
	calls   map[string]benchkit.Calls // the host's plugin calls in it
}

type result struct {
	side                  string
	readySeconds          float64 // controller start until it runs with synced caches
	startMiB              float64 // VmHWM then
	settle, idle, rollout phase
	kinds                 map[string]float64 // settle: seconds until each kind was first all complete
	took                  time.Duration      // the side in all, with the control plane's start
}

// peakMiB is the peak RSS of the whole run: the largest of the start's and
// the phases'.
func (r result) peakMiB() float64 {
	return max(r.startMiB, r.settle.peakMiB, r.idle.peakMiB, r.rollout.peakMiB)
}

func main() {
	flag.Parse()
	started := time.Now()
	if root, err := testenv.RepoRoot(); err != nil {
		fatal(err)
	} else if data, err := os.ReadFile(filepath.Join(root, "config.yaml")); err != nil {
		fatal(err)
	} else if hostConfig, err = describeConfig(data); err != nil {
		fatal(fmt.Errorf("config.yaml: %w", err))
	}
	sideList := strings.Split(*sides, ",")
	for _, s := range sideList {
		if s != "kcm" && s != "wasmctl-host" {
			fatal(fmt.Errorf("unknown side %q", s))
		}
	}
	if *rollout > *deployments {
		fatal(fmt.Errorf("-rollout %d > -deployments %d", *rollout, *deployments))
	}
	var bin, cfg string
	if slices.Contains(sideList, "wasmctl-host") {
		var err error
		if bin, cfg, err = benchkit.PrepareRepoConfig("wasmctl-benchsteady-", *qps); err != nil {
			fatal(err)
		}
		tmpDir = filepath.Dir(bin)
		defer os.RemoveAll(tmpDir)
	}
	results := map[string]result{}
	for _, side := range sideList {
		res, err := runSide(side, bin, cfg)
		if err != nil {
			fatal(fmt.Errorf("%s: %w", side, err))
		}
		results[side] = res
	}
	md := fmt.Sprintf("Command: `%s`. %s\n\n%s", benchkit.Command("go run ./hack/benchsteady", os.Args[1:]), settings(sideList), report(results, sideList))
	fmt.Print("\n" + md)
	fmt.Printf("\nbenchsteady: %s in all\n", time.Since(started).Round(time.Second))
	if *out != "" {
		if err := os.WriteFile(*out, []byte(md), 0o644); err != nil {
			fatal(err)
		}
	}
}

// tmpDir holds the host binary and its config, removed at the end.
var tmpDir string

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "benchsteady:", err)
	if tmpDir != "" {
		os.RemoveAll(tmpDir)
	}
	os.Exit(1)
}

func logf(side, format string, args ...any) {
	fmt.Printf("%s %-13s "+format+"\n", append([]any{time.Now().Format("15:04:05"), side}, args...)...)
}

// pods is every pod of the workload.
func pods() int { return *deployments**replicas + *statefulsets**stsReplicas + *daemonsets**nodes }

func runSide(side, bin, cfg string) (result, error) {
	sideStart := time.Now()
	ctx := context.Background()
	e, err := testenv.Start(ctx, testenv.Options{})
	if err != nil {
		return result{}, err
	}
	defer e.Stop()
	c := e.Clientset()
	if _, err := e.StartControllerManager(testenv.ControllerManagerOptions{Controllers: strings.Split(restControllers, ",")}); err != nil {
		return result{}, err
	}
	if _, err := e.StartScheduler(); err != nil {
		return result{}, err
	}
	if _, err := e.StartKwok(); err != nil {
		return result{}, err
	}
	if err := createNodes(ctx, c); err != nil {
		return result{}, err
	}
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return result{}, err
	}
	w, err := startWatcher(e)
	if err != nil {
		return result{}, err
	}
	defer w.stop()
	logf(side, "control plane with %d Ready nodes after %s", *nodes, time.Since(sideStart).Round(time.Millisecond))

	res := result{side: side}
	var proc *testenv.Process
	var metricsAddr, pprofAddr string
	ctlStart := time.Now()
	switch side {
	case "kcm":
		proc, err = e.StartControllerManager(testenv.ControllerManagerOptions{Controllers: sixControllers, QPS: float32(*qps), Burst: *qps})
		if err == nil {
			err = benchkit.WaitProcReady(proc, benchkit.ReadyLines{Synced: len(sixControllers)})
		}
	case "wasmctl-host":
		proc, metricsAddr, pprofAddr, err = benchkit.StartHost(e, bin, cfg, *profile != "")
		if err == nil {
			err = benchkit.WaitProcReady(proc, benchkit.ReadyLines{Lines: []string{"Started controllers"}})
		}
	}
	if err != nil {
		if proc != nil {
			err = fmt.Errorf("%w%s", err, benchkit.ProcLogTail(proc))
		}
		return result{}, err
	}
	res.readySeconds, res.startMiB = time.Since(ctlStart).Seconds(), benchkit.PeakRSS(proc)
	logf(side, "controller ready after %.2f s, peak RSS %.0f MiB", res.readySeconds, res.startMiB)
	time.Sleep(time.Second)

	// measure runs f as a phase: peak RSS reset, CPU, plugin calls and the
	// workload updates counted around it.
	measure := func(p *phase, f func() error) error {
		if err := benchkit.ResetPeakRSS(proc); err != nil {
			return fmt.Errorf("reset peak RSS: %w", err)
		}
		var calls0 map[string]benchkit.Calls
		if metricsAddr != "" {
			if calls0, err = benchkit.ScrapeCalls(metricsAddr); err != nil {
				return err
			}
		}
		cpu0, updates0, busy0 := benchkit.CPUSeconds(proc), w.updates.Load(), machineBusy()
		if err := f(); err != nil {
			return err
		}
		p.cpu, p.updates, p.busy = benchkit.CPUSeconds(proc)-cpu0, w.updates.Load()-updates0, machineBusy()-busy0
		p.peakMiB, p.endMiB = benchkit.PeakRSS(proc), benchkit.Memory(proc, "VmRSS:")
		if metricsAddr != "" {
			after, err := benchkit.ScrapeCalls(metricsAddr)
			if err != nil {
				return err
			}
			p.calls = benchkit.CallsSince(after, calls0)
		}
		return nil
	}
	fail := func(what string, err error) (result, error) {
		return result{}, fmt.Errorf("%s: %w; %s%s", what, err, w.progress(), benchkit.ProcLogTail(proc))
	}

	// 1. settle
	res.kinds = map[string]float64{}
	err = measure(&res.settle, func() error {
		start := time.Now()
		at, err := w.wait(proc, *timeout, func() error { return createWorkload(ctx, w.c) }, func() bool {
			done := true
			for kind, ok := range w.complete() {
				if _, seen := res.kinds[kind]; ok && !seen {
					res.kinds[kind] = time.Since(start).Seconds()
				}
				done = done && ok
			}
			return done
		})
		res.settle.seconds = at.Sub(start).Seconds()
		return err
	})
	if err != nil {
		return fail("settle", err)
	}
	logf(side, "settled in %.2f s (Deployments %.2f, StatefulSets %.2f, DaemonSets %.2f), cpu %.2f s, peak RSS %.0f MiB",
		res.settle.seconds, res.kinds["Deployments"], res.kinds["StatefulSets"], res.kinds["DaemonSets"], res.settle.cpu, res.settle.peakMiB)

	// 2. idle
	time.Sleep(*idleDelay)
	var profiled chan error
	err = measure(&res.idle, func() error {
		if pprofAddr != "0" && pprofAddr != "" {
			profiled = make(chan error, 1)
			go func() { profiled <- benchkit.FetchProfile(pprofAddr, *profile, int(idle.Seconds())) }()
		}
		start := time.Now()
		time.Sleep(*idle)
		res.idle.seconds = time.Since(start).Seconds()
		if proc.Exited() {
			return errors.New("the controller exited")
		}
		return nil
	})
	if err != nil {
		return fail("idle", err)
	}
	if profiled != nil {
		if err := <-profiled; err != nil {
			fmt.Fprintln(os.Stderr, "benchsteady: profile:", err)
		} else {
			logf(side, "CPU profile of the idle window in %s", *profile)
		}
		// Where the idle RSS is: the Go heap (a heap profile) and the rest
		// (anonymous maps: compiled code, instances' linear memory).
		if err := benchkit.FetchHeapProfile(pprofAddr, *profile+".heap"); err != nil {
			fmt.Fprintln(os.Stderr, "benchsteady: heap profile:", err)
		} else {
			logf(side, "heap profile at the end of the idle window in %s.heap", *profile)
		}
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", proc.Pid())); err == nil {
			logf(side, "smaps_rollup at the end of the idle window:\n%s", b)
		}
	}
	logf(side, "idle %.0f s: cpu %.2f s, RSS %.0f MiB at the end, peak %.0f MiB, %d workload updates",
		res.idle.seconds, res.idle.cpu, res.idle.endMiB, res.idle.peakMiB, res.idle.updates)

	// 3. rollout
	patch := fmt.Appendf(nil, `{"spec":{"template":{"spec":{"containers":[{"name":"web","image":%q}]}}}}`, image2)
	err = measure(&res.rollout, func() error {
		start := time.Now()
		at, err := w.wait(proc, *timeout, func() error {
			return benchkit.Parallel(*rollout, *writers, func(i int) error {
				_, err := w.c.AppsV1().Deployments(ns).Patch(ctx, deploymentName(i), types.StrategicMergePatchType, patch, metav1.PatchOptions{})
				return err
			})
		}, func() bool { return w.rolledOut(ctx) })
		res.rollout.seconds = at.Sub(start).Seconds()
		return err
	})
	if err != nil {
		return fail("rollout", err)
	}
	logf(side, "rollout of %d Deployments in %.2f s, cpu %.2f s, peak RSS %.0f MiB", *rollout, res.rollout.seconds, res.rollout.cpu, res.rollout.peakMiB)
	if err := checkEnd(ctx, w); err != nil {
		return fail("at the end", err)
	}
	res.took = time.Since(sideStart)
	logf(side, "done in %s", res.took.Round(time.Second))
	return res, nil
}

// createNodes creates the kwok nodes, -node-pods pods each, takes the
// admission's not-ready taint off (the node lifecycle controller would,
// once it sees them Ready) and waits until kwok reports each Ready.
func createNodes(ctx context.Context, c kubernetes.Interface) error {
	err := benchkit.Parallel(*nodes, *writers, func(i int) error {
		n := testenv.KwokNode(nodeName(i), nil)
		n.Annotations[testenv.KwokPodsAnnotation] = fmt.Sprint(*nodePods)
		if _, err := c.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
			return err
		}
		return testenv.RemoveNotReadyTaint(ctx, c, n.Name)
	})
	if err != nil {
		return err
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		list, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		ready := 0
		for i := range list.Items {
			if nodeReady(&list.Items[i], int64(*nodePods)) {
				ready++
			}
		}
		if ready == *nodes {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d nodes Ready with %d pods after a minute", ready, *nodes, *nodePods)
		}
	}
}

// nodeReady is whether n reports Ready with pods allocatable.
func nodeReady(n *corev1.Node, pods int64) bool {
	if n.Status.Allocatable.Pods().Value() != pods {
		return false
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func nodeName(i int) string       { return fmt.Sprintf("kwok-%02d", i) }
func deploymentName(i int) string { return fmt.Sprintf("web-%03d", i) }
func setName(i int) string        { return fmt.Sprintf("db-%02d", i) }
func daemonName(i int) string     { return fmt.Sprintf("agent-%d", i) }
func cronName(i int) string       { return fmt.Sprintf("tick-%03d", i) }

// createWorkload creates every object of the workload, -writers at a
// time, the kinds interleaved (DaemonSets, StatefulSets and CronJobs are
// spread over the Deployments).
func createWorkload(ctx context.Context, c kubernetes.Interface) error {
	creates := interleave(
		repeat(*deployments, func(i int) func() error {
			return func() error {
				_, err := c.AppsV1().Deployments(ns).Create(ctx, newDeployment(i), metav1.CreateOptions{})
				return err
			}
		}),
		repeat(*statefulsets, func(i int) func() error {
			return func() error {
				_, err := c.AppsV1().StatefulSets(ns).Create(ctx, newStatefulSet(i), metav1.CreateOptions{})
				return err
			}
		}),
		repeat(*daemonsets, func(i int) func() error {
			return func() error {
				_, err := c.AppsV1().DaemonSets(ns).Create(ctx, newDaemonSet(i), metav1.CreateOptions{})
				return err
			}
		}),
		repeat(*cronjobs, func(i int) func() error {
			return func() error {
				_, err := c.BatchV1().CronJobs(ns).Create(ctx, newCronJob(i), metav1.CreateOptions{})
				return err
			}
		}),
	)
	return benchkit.Parallel(len(creates), *writers, func(i int) error { return creates[i]() })
}

func repeat[T any](n int, f func(int) T) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

// interleave merges the lists so that each is spread evenly over the
// result, in its own order: element j of a list of n lands at about
// j/n of the way.
func interleave[T any](lists ...[]T) []T {
	type item struct {
		at   float64
		list int
		v    T
	}
	var items []item
	for l, list := range lists {
		for j, v := range list {
			items = append(items, item{(float64(j) + 0.5) / float64(len(list)), l, v})
		}
	}
	slices.SortStableFunc(items, func(a, b item) int {
		if a.at != b.at {
			if a.at < b.at {
				return -1
			}
			return 1
		}
		return a.list - b.list
	})
	out := make([]T, len(items))
	for i, it := range items {
		out[i] = it.v
	}
	return out
}

// newDeployment is Deployment i as a user writes it (the API server
// defaults RollingUpdate 25 %/25 %, revisionHistoryLimit 10); those the
// rollout changes carry rolloutLabel on their pods.
func newDeployment(i int) *appsv1.Deployment {
	lbl := map[string]string{appLabel: deploymentName(i)}
	podLbl := map[string]string{appLabel: deploymentName(i)}
	if i < *rollout {
		podLbl[rolloutLabel] = "yes"
	}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: deploymentName(i), Namespace: ns, Labels: lbl},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(*replicas)),
			Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: podLbl}, Spec: benchkit.WebPodSpec(image1)},
		},
	}
}

func newStatefulSet(i int) *appsv1.StatefulSet {
	lbl := map[string]string{appLabel: setName(i)}
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: setName(i), Namespace: ns, Labels: lbl},
		Spec: appsv1.StatefulSetSpec{
			Replicas:            ptr.To(int32(*stsReplicas)),
			Selector:            &metav1.LabelSelector{MatchLabels: lbl},
			ServiceName:         setName(i),
			PodManagementPolicy: appsv1.ParallelPodManagement,
			Template:            corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: lbl}, Spec: benchkit.WebPodSpec(image1)},
		},
	}
}

func newDaemonSet(i int) *appsv1.DaemonSet {
	lbl := map[string]string{appLabel: daemonName(i)}
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: daemonName(i), Namespace: ns, Labels: lbl},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: lbl}, Spec: benchkit.WebPodSpec(image1)},
		},
	}
}

func newCronJob(i int) *batchv1.CronJob {
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: cronName(i), Namespace: ns},
		Spec: batchv1.CronJobSpec{Schedule: cronSchedule, JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
				Containers: []corev1.Container{{Name: "tick", Image: "busybox", Command: []string{"true"}}}}},
		}}},
	}
}

// watcher is the bench's view of the workload: informers on its
// Deployments, StatefulSets and DaemonSets whose changes wake wait, and
// count updates.
type watcher struct {
	c       kubernetes.Interface // protobuf, no client-side rate limit
	ds      listersappsv1.DeploymentLister
	sts     listersappsv1.StatefulSetLister
	dss     listersappsv1.DaemonSetLister
	updates atomic.Int64
	changed chan struct{}
	stopCh  chan struct{}
	factory informers.SharedInformerFactory
}

func startWatcher(e *testenv.Environment) (*watcher, error) {
	cfg := e.RESTConfig()
	cfg.QPS = -1
	cfg.ContentType = runtime.ContentTypeProtobuf
	cfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	w := &watcher{c: c, changed: make(chan struct{}, 1), stopCh: make(chan struct{})}
	w.factory = informers.NewSharedInformerFactoryWithOptions(c, 0, informers.WithNamespace(ns))
	apps := w.factory.Apps().V1()
	w.ds, w.sts, w.dss = apps.Deployments().Lister(), apps.StatefulSets().Lister(), apps.DaemonSets().Lister()
	notify := func() {
		select {
		case w.changed <- struct{}{}:
		default:
		}
	}
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { notify() },
		UpdateFunc: func(any, any) { w.updates.Add(1); notify() },
		DeleteFunc: func(any) { notify() },
	}
	for _, inf := range []cache.SharedIndexInformer{apps.Deployments().Informer(), apps.StatefulSets().Informer(), apps.DaemonSets().Informer()} {
		if _, err := inf.AddEventHandler(handler); err != nil {
			return nil, err
		}
	}
	w.factory.Start(w.stopCh)
	for typ, ok := range w.factory.WaitForCacheSync(w.stopCh) {
		if !ok {
			w.stop()
			return nil, fmt.Errorf("%v informer did not sync", typ)
		}
	}
	return w, nil
}

func (w *watcher) stop() {
	close(w.stopCh)
	w.factory.Shutdown()
}

// wait runs start and waits, for at most timeout, until done (looked at
// after each change of a watched informer and every 200 ms); it returns
// when it first saw done, and gives up early when the controller exits or
// start fails.
func (w *watcher) wait(proc *testenv.Process, timeout time.Duration, start func() error, done func() bool) (time.Time, error) {
	errc := make(chan error, 1)
	go func() { errc <- start() }()
	deadline := time.After(timeout)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-errc:
			if err != nil {
				return time.Time{}, err
			}
			continue
		case <-w.changed:
		case <-tick.C:
			if proc.Exited() {
				return time.Time{}, errors.New("the controller exited")
			}
		case <-deadline:
			return time.Time{}, fmt.Errorf("not done after %s", timeout)
		}
		if done() {
			return time.Now(), nil
		}
	}
}

// complete says per kind whether all its objects the workload has are
// there and complete.
func (w *watcher) complete() map[string]bool {
	ds, _ := w.ds.Deployments(ns).List(labels.Everything())
	sts, _ := w.sts.StatefulSets(ns).List(labels.Everything())
	dss, _ := w.dss.DaemonSets(ns).List(labels.Everything())
	return map[string]bool{
		"Deployments":  len(ds) == *deployments && all(ds, func(d *appsv1.Deployment) bool { return deploymentComplete(d, "") }),
		"StatefulSets": len(sts) == *statefulsets && all(sts, statefulSetReady),
		"DaemonSets":   len(dss) == *daemonsets && all(dss, func(d *appsv1.DaemonSet) bool { return daemonSetReady(d, int32(*nodes)) }),
	}
}

func all[T any](list []T, ok func(T) bool) bool {
	for _, v := range list {
		if !ok(v) {
			return false
		}
	}
	return true
}

// deploymentComplete is whether d's status is complete (at image, unless
// it is ""): observedGeneration current, updated = ready = available =
// replicas = spec.
func deploymentComplete(d *appsv1.Deployment, image string) bool {
	r, st := ptr.Deref(d.Spec.Replicas, 1), d.Status
	return (image == "" || d.Spec.Template.Spec.Containers[0].Image == image) && st.ObservedGeneration >= d.Generation &&
		st.UpdatedReplicas == r && st.ReadyReplicas == r && st.AvailableReplicas == r && st.Replicas == r
}

// statefulSetReady is whether s's status is complete: observedGeneration
// current, replicas = ready = available = updated = spec.
func statefulSetReady(s *appsv1.StatefulSet) bool {
	r, st := ptr.Deref(s.Spec.Replicas, 1), s.Status
	return st.ObservedGeneration >= s.Generation && st.Replicas == r && st.ReadyReplicas == r && st.AvailableReplicas == r && st.UpdatedReplicas == r
}

// daemonSetReady is whether d's status is complete on nodes nodes:
// observedGeneration current, desired = current = ready = available =
// updated = nodes, none misscheduled.
func daemonSetReady(d *appsv1.DaemonSet, nodes int32) bool {
	st := d.Status
	return st.ObservedGeneration >= d.Generation && st.DesiredNumberScheduled == nodes && st.CurrentNumberScheduled == nodes &&
		st.NumberReady == nodes && st.NumberAvailable == nodes && st.UpdatedNumberScheduled == nodes && st.NumberMisscheduled == 0
}

// rolledOut is whether the rollout is done: every Deployment it changed
// complete at the new image, and (asked of the API server only then) no
// pod of theirs left at the old one, terminating ones included.
func (w *watcher) rolledOut(ctx context.Context) bool {
	for i := range *rollout {
		d, err := w.ds.Deployments(ns).Get(deploymentName(i))
		if err != nil || !deploymentComplete(d, image2) {
			return false
		}
	}
	list, err := w.c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: rolloutLabel + "=yes"})
	if err != nil {
		return false
	}
	for _, p := range list.Items {
		if p.Spec.Containers[0].Image != image2 || p.DeletionTimestamp != nil {
			return false
		}
	}
	return len(list.Items) == *rollout**replicas
}

// progress says how far the workload got, for errors.
func (w *watcher) progress() string {
	ds, _ := w.ds.Deployments(ns).List(labels.Everything())
	sts, _ := w.sts.StatefulSets(ns).List(labels.Everything())
	dss, _ := w.dss.DaemonSets(ns).List(labels.Everything())
	var parts []string
	count := func(kind string, n, done int, example string) {
		parts = append(parts, fmt.Sprintf("%s %d of %d complete (e.g. not: %s)", kind, done, n, example))
	}
	done, example := 0, "–"
	for _, d := range ds {
		if deploymentComplete(d, "") {
			done++
		} else if example == "–" {
			st := d.Status
			example = fmt.Sprintf("%s generation %d observed %d replicas %d updated %d ready %d available %d", d.Name, d.Generation, st.ObservedGeneration,
				st.Replicas, st.UpdatedReplicas, st.ReadyReplicas, st.AvailableReplicas)
		}
	}
	count("Deployments", len(ds), done, example)
	done, example = 0, "–"
	for _, s := range sts {
		if statefulSetReady(s) {
			done++
		} else if example == "–" {
			st := s.Status
			example = fmt.Sprintf("%s generation %d observed %d replicas %d ready %d available %d updated %d", s.Name, s.Generation, st.ObservedGeneration,
				st.Replicas, st.ReadyReplicas, st.AvailableReplicas, st.UpdatedReplicas)
		}
	}
	count("StatefulSets", len(sts), done, example)
	done, example = 0, "–"
	for _, d := range dss {
		if daemonSetReady(d, int32(*nodes)) {
			done++
		} else if example == "–" {
			st := d.Status
			example = fmt.Sprintf("%s generation %d observed %d desired %d current %d ready %d available %d updated %d misscheduled %d", d.Name, d.Generation,
				st.ObservedGeneration, st.DesiredNumberScheduled, st.CurrentNumberScheduled, st.NumberReady, st.NumberAvailable, st.UpdatedNumberScheduled, st.NumberMisscheduled)
		}
	}
	count("DaemonSets", len(dss), done, example)
	return strings.Join(parts, "; ")
}

// checkEnd is what both sides must show after the rollout: every
// Deployment, StatefulSet and DaemonSet complete (the rolled ones at the
// new image, the others at the old), exactly the workload's pods, all
// bound, ready and none being deleted, and no Job (no CronJob fired). It
// waits up to 10 s.
func checkEnd(ctx context.Context, w *watcher) error {
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if err = endState(ctx, w); err == nil || time.Now().After(deadline) {
			return err
		}
	}
}

func endState(ctx context.Context, w *watcher) error {
	for kind, ok := range w.complete() {
		if !ok {
			return fmt.Errorf("%s not all complete", kind)
		}
	}
	for i := range *deployments {
		want := image1
		if i < *rollout {
			want = image2
		}
		if d, err := w.ds.Deployments(ns).Get(deploymentName(i)); err != nil || !deploymentComplete(d, want) {
			return fmt.Errorf("Deployment %s not complete at %s", deploymentName(i), want)
		}
	}
	list, err := w.c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	var stray []string
	for i := range list.Items {
		p := &list.Items[i]
		if p.Spec.NodeName == "" || p.DeletionTimestamp != nil || !benchkit.PodReady(p) {
			stray = append(stray, p.Name)
		}
	}
	if len(list.Items) != pods() || len(stray) > 0 {
		return fmt.Errorf("%d pods, want %d, all bound and ready; %d are not, e.g. %v", len(list.Items), pods(), len(stray), stray[:min(5, len(stray))])
	}
	jobs, err := w.c.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	if len(jobs.Items) > 0 {
		return fmt.Errorf("%d Jobs: a CronJob fired (schedule %q)", len(jobs.Items), cronSchedule)
	}
	return nil
}

// hostConfig describes the repository's config.yaml for settings (set by
// main).
var hostConfig = "?"

// describeConfig says what of a host configuration shapes the numbers:
// the plugin files, each controller's workers and the resync periods.
func describeConfig(data []byte) (string, error) {
	var cfg struct {
		Controllers []struct {
			Name, Plugin, ResyncPeriod string
			Workers                    int
		}
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		return "", err
	}
	var plugins, workers, resync []string
	for _, c := range cfg.Controllers {
		if !slices.Contains(plugins, c.Plugin) {
			plugins = append(plugins, c.Plugin)
		}
		workers = append(workers, fmt.Sprintf("%s %d", c.Name, c.Workers))
		if p := cmp.Or(c.ResyncPeriod, "default"); !slices.Contains(resync, p) {
			resync = append(resync, p)
		}
	}
	if len(cfg.Controllers) == 0 {
		return "", errors.New("no controllers")
	}
	return fmt.Sprintf("plugin %s; workers: %s; resyncPeriod %s", strings.Join(plugins, ", "), strings.Join(workers, ", "), strings.Join(resync, ", ")), nil
}

// settings states what shapes the numbers, defaults included.
func settings(sideList []string) string {
	return fmt.Sprintf("Sides one after the other (%s), each on a fresh control plane: etcd, kube-apiserver, kube-scheduler, "+
		"kwok with %d nodes of %d pods, and kube-controller-manager with `%s` (not measured). "+
		"Measured: kcm = kube-controller-manager `--controllers=%s` (default workers: 5 each, DaemonSet 2); "+
		"wasmctl-host = the host on config.yaml (%s). "+
		"Both clients %d qps / %d burst. "+
		"Workload in one namespace, created %d at a time: %d Deployments × %d, %d StatefulSets × %d (Parallel), %d DaemonSets, "+
		"%d CronJobs (%q: none fires): %d pods. "+
		"Settle: first create until every Deployment, StatefulSet and DaemonSet is complete. "+
		"Idle: %s after settling, a %s window. "+
		"Rollout: the image of %d Deployments changed at once, until they are complete at it with no old pod left. "+
		"Peak RSS is VmHWM reset at each phase's start; CPU is utime+stime of the controller process in the phase.",
		strings.Join(sideList, ", "), *nodes, *nodePods, restControllers, strings.Join(sixControllers, ","), hostConfig, *qps, *qps,
		*writers, *deployments, *replicas, *statefulsets, *stsReplicas, *daemonsets, *cronjobs, cronSchedule, pods(),
		*idleDelay, *idle, *rollout)
}

// goal is one of issue 19's bounds on a ratio host/KCM.
type goal struct {
	name  string
	bound float64
}

// row is a line of the report: a name, a value per side, and the goal on
// the ratio if there is one.
type row struct {
	name   string
	format string
	value  func(result) float64
	goal   *goal
	plain  bool // no ratio: it describes the run, not the controller
}

var rows = []row{
	{"controller ready s", "%.2f", func(r result) float64 { return r.readySeconds }, nil, false},
	{"peak RSS until ready MiB", "%.0f", func(r result) float64 { return r.startMiB }, nil, false},
	{"settle: time s", "%.2f", func(r result) float64 { return r.settle.seconds }, nil, false},
	{"settle: CPU s", "%.2f", func(r result) float64 { return r.settle.cpu }, nil, false},
	{"settle: peak RSS MiB", "%.0f", func(r result) float64 { return r.settle.peakMiB }, nil, false},
	{"settle: machine busy %", "%.0f", func(r result) float64 { return busyPercent(r.settle) }, nil, true},
	{"idle: CPU s", "%.2f", func(r result) float64 { return r.idle.cpu }, &goal{"idle CPU ≤ KCM's", 1}, false},
	{"idle: CPU % of a core", "%.1f", func(r result) float64 { return percent(r.idle.cpu, r.idle.seconds) }, nil, false},
	{"idle: RSS at the end MiB", "%.0f", func(r result) float64 { return r.idle.endMiB }, &goal{"host RSS ≤ KCM's", 1}, false},
	{"idle: peak RSS MiB", "%.0f", func(r result) float64 { return r.idle.peakMiB }, nil, false},
	{"idle: workload updates", "%.0f", func(r result) float64 { return float64(r.idle.updates) }, nil, true},
	{"idle: machine busy %", "%.0f", func(r result) float64 { return busyPercent(r.idle) }, nil, true},
	{"rollout: time s", "%.2f", func(r result) float64 { return r.rollout.seconds }, &goal{"rollout time ≤ KCM's", 1}, false},
	{"rollout: CPU s", "%.2f", func(r result) float64 { return r.rollout.cpu }, &goal{"rollout CPU ≤ 1.2× KCM's", 1.2}, false},
	{"rollout: peak RSS MiB", "%.0f", func(r result) float64 { return r.rollout.peakMiB }, nil, false},
	{"rollout: machine busy %", "%.0f", func(r result) float64 { return busyPercent(r.rollout) }, nil, true},
	{"whole run: peak RSS MiB", "%.0f", result.peakMiB, nil, false},
}

// busyPercent is how busy the machine's cores were in p, 100 = all of them.
func busyPercent(p phase) float64 { return percent(p.busy, p.seconds*float64(goruntime.NumCPU())) }

// machineBusy is the machine's busy CPU seconds since boot, all cores
// (/proc/stat), 0 if unknown.
func machineBusy() float64 {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	return parseBusy(string(data))
}

// parseBusy is the busy seconds of /proc/stat's "cpu" line: every field
// but idle and iowait, in clock ticks of 100 Hz (guest time is already in
// user and nice).
func parseBusy(stat string) float64 {
	line, _, _ := strings.Cut(stat, "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0
	}
	var busy float64
	for i, v := range f[1:min(len(f), 9)] { // user nice system idle iowait irq softirq steal
		if i == 3 || i == 4 {
			continue
		}
		n, _ := strconv.ParseFloat(v, 64)
		busy += n
	}
	return busy / 100
}

func percent(cpu, seconds float64) float64 {
	if seconds == 0 {
		return 0
	}
	return cpu / seconds * 100
}

// verdict says whether host ≤ bound × kcm: "met" or "not met".
func verdict(host, kcm, bound float64) string {
	if host <= bound*kcm {
		return "met"
	}
	return "not met"
}

// callLine is benchkit.CallLine of the controllers with calls in cs,
// "none" if there are none.
func callLine(cs map[string]benchkit.Calls) string {
	var names []string
	for _, name := range sixControllers {
		if cs[name].N > 0 {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return benchkit.CallLine(cs, names...)
}

// report renders one table (a row per number, a column per side, the
// ratio host/KCM), the host's plugin calls per phase, and issue 19's goals.
func report(results map[string]result, sideList []string) string {
	var b strings.Builder
	b.WriteString("| |")
	for _, s := range sideList {
		b.WriteString(" " + s + " |")
	}
	b.WriteString(" host/KCM |\n|---|")
	b.WriteString(strings.Repeat("---|", len(sideList)+1) + "\n")
	kcm, kok := results["kcm"]
	host, hok := results["wasmctl-host"]
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s |", r.name)
		for _, s := range sideList {
			fmt.Fprintf(&b, " "+r.format+" |", r.value(results[s]))
		}
		ratio := "–"
		if kok && hok && !r.plain {
			ratio = benchkit.Ratio(r.value(host), r.value(kcm))
		}
		fmt.Fprintf(&b, " %s |\n", ratio)
	}
	if hok {
		b.WriteString("\nThe host's plugin calls (wasmctl_plugin_call_duration_seconds):\n\n")
		for _, p := range []struct {
			name string
			ph   phase
		}{{"settle", host.settle}, {"idle", host.idle}, {"rollout", host.rollout}} {
			fmt.Fprintf(&b, "- %s: %s.\n", p.name, callLine(p.ph.calls))
		}
	}
	if kok && hok {
		b.WriteString("\nIssue 19's goals:\n\n| goal | host/KCM | |\n|---|---|---|\n")
		for _, r := range rows {
			if r.goal != nil {
				fmt.Fprintf(&b, "| %s | %s | %s |\n", r.goal.name, benchkit.Ratio(r.value(host), r.value(kcm)), verdict(r.value(host), r.value(kcm), r.goal.bound))
			}
		}
	}
	return b.String()
}
