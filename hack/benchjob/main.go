// Command benchjob runs the side-by-side Job benchmark on a local control
// plane: one Job of -completions completions and -parallelism parallelism,
// run to Complete by (a) kube-controller-manager --controllers=job and (b)
// wasmctl-host with the job plugin. There is no kubelet: the bench plays
// it, marking each new Pending pod of the Job Succeeded through the status
// subresource as soon as its informer sees it (-completers at a time). Runs
// alternate (a b a b ...) on a fresh control plane each; it prints the time
// from the Job's create until its Complete condition, the controller's CPU
// and peak RSS, their medians and the ratios host/KCM, and writes them as
// Markdown (with the command) for hack/benchdoc to put into
// docs/BENCHMARKS.md. Each run ends with a check that the Job counted every
// completion and no pod keeps the tracking finalizer.
//
//	go run ./hack/benchjob -rounds 1 -out .cache/jobbench.md
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"wasmctl.dev/wasmctl/hack/internal/benchkit"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"

	"wasmctl.dev/wasmctl/internal/testenv"
)

var (
	completions = flag.Int("completions", 1000, "the Job's spec.completions")
	parallelism = flag.Int("parallelism", 100, "the Job's spec.parallelism")
	rounds      = flag.Int("rounds", 1, "alternating rounds")
	qps         = flag.Int("qps", 1000, "client QPS of both controllers (burst = qps)")
	completers  = flag.Int("completers", 32, "concurrent pod status updates of the bench's kubelet")
	sides       = flag.String("sides", "kcm,wasmctl-host", "which sides to run")
	timeout     = flag.Duration("timeout", 5*time.Minute, "give up on a run when the Job is not Complete after this long")
	out         = flag.String("out", "", "also write the Markdown (command, table, ratios) here")
)

const (
	ns                = "bench"
	jobName           = "pi"
	trackingFinalizer = "batch.kubernetes.io/job-tracking"
)

type result struct {
	side    string
	seconds float64 // Job create until Complete=True
	cpu     float64 // controller process CPU seconds in that time
	rssMiB  float64 // its VmHWM at the end of the run
	pods    int     // pods the controller created
	updates int64   // pod status updates the bench made (retries included)
}

func main() {
	flag.Parse()
	sideList := strings.Split(*sides, ",")
	var bin, cfg string
	if slices.Contains(sideList, "wasmctl-host") {
		var err error
		if bin, cfg, err = benchkit.Prepare("wasmctl-benchjob-", *qps, "job"); err != nil {
			fatal(err)
		}
	}
	runs := map[string][]result{}
	for round := range *rounds {
		for _, side := range sideList {
			res, err := runOnce(side, bin, cfg)
			if err != nil {
				fatal(fmt.Errorf("%s round %d: %w", side, round, err))
			}
			fmt.Printf("%-13s round %d: %6.2f s to Complete (%4.0f completions/s)  cpu %6.2f s  rss %6.1f MiB  pods %d  status updates %d\n",
				side, round, res.seconds, float64(*completions)/res.seconds, res.cpu, res.rssMiB, res.pods, res.updates)
			runs[side] = append(runs[side], res)
		}
	}
	md := fmt.Sprintf("Command: `%s`. %s\n\n%s", benchkit.Command("go run ./hack/benchjob", os.Args[1:]), settings(), report(runs, sideList))
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
		"One Job, completions %d, parallelism %d, one container, restartPolicy Never. "+
		"Controllers: 5 workers, client %d qps / %d burst. "+
		"No kubelet: the bench marks each new Pending pod Succeeded (exit code 0) through the status subresource, "+
		"from a pod informer, %d updates at a time, no client rate limit.",
		runs, *sides, *completions, *parallelism, *qps, *qps, *completers)
}

// report renders the medians per side, then the ratios host/KCM.
func report(runs map[string][]result, sideList []string) string {
	med := func(side string, f func(result) float64) float64 { return benchkit.Median(runs[side], f) }
	secs := func(r result) float64 { return r.seconds }
	cpu := func(r result) float64 { return r.cpu }
	rss := func(r result) float64 { return r.rssMiB }
	var b strings.Builder
	b.WriteString("| side | time to Complete s | completions/s | CPU s | peak RSS MiB |\n|---|---|---|---|---|\n")
	for _, side := range sideList {
		t := med(side, secs)
		fmt.Fprintf(&b, "| %s | %.2f | %.0f | %.2f | %.0f |\n", side, t, float64(*completions)/t, med(side, cpu), med(side, rss))
	}
	b.WriteString("\nRatios of the medians (< 1: faster or smaller than kube-controller-manager):\n\n")
	b.WriteString("| host/KCM time | CPU | peak RSS |\n|---|---|---|\n")
	host := func(f func(result) float64) string { return benchkit.Ratio(med("wasmctl-host", f), med("kcm", f)) }
	fmt.Fprintf(&b, "| %s | %s | %s |\n", host(secs), host(cpu), host(rss))
	return b.String()
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "benchjob:", err)
	os.Exit(1)
}

func runOnce(side, bin, cfg string) (result, error) {
	ctx := context.Background()
	e, err := testenv.Start(ctx, testenv.Options{})
	if err != nil {
		return result{}, err
	}
	defer e.Stop()
	c := e.Clientset()
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return result{}, err
	}
	var proc *testenv.Process
	switch side {
	case "kcm":
		proc, err = e.StartControllerManager(testenv.ControllerManagerOptions{Controllers: []string{"job"},
			QPS: float32(*qps), Burst: *qps, ExtraArgs: []string{"--concurrent-job-syncs=5"}})
	case "wasmctl-host":
		proc, err = e.StartProcess("host", bin, []string{"run", "--config", cfg, "--kubeconfig", e.KubeconfigPath,
			"--metrics-bind-address", "0", "--health-probe-bind-address", "0", "--pprof-bind-address", "0"}, nil)
	default:
		err = fmt.Errorf("unknown side %q", side)
	}
	if err != nil {
		return result{}, err
	}

	k, err := startKubelet(e)
	if err != nil {
		return result{}, err
	}
	defer k.stop()
	// The clock starts once the controller is up with synced caches (the
	// host compiles the plugin first: seconds on a cold compilation cache).
	if err := waitReady(e, side, proc); err != nil {
		return result{}, fmt.Errorf("%w%s", err, benchkit.LogTail(e, side))
	}
	time.Sleep(time.Second)
	cpu0 := benchkit.CPUSeconds(proc)

	start := time.Now()
	if _, err := c.BatchV1().Jobs(ns).Create(ctx, newJob(), metav1.CreateOptions{}); err != nil {
		return result{}, err
	}
	if err := k.waitFinished(proc); err != nil {
		j, _ := c.BatchV1().Jobs(ns).Get(ctx, jobName, metav1.GetOptions{})
		return result{}, fmt.Errorf("%w; Job status %s%s", err, statusLine(j), benchkit.LogTail(e, side))
	}
	res := result{side: side, seconds: k.finishedAt.Sub(start).Seconds(), cpu: benchkit.CPUSeconds(proc) - cpu0}
	if err := checkEnd(ctx, c); err != nil {
		return result{}, fmt.Errorf("%w%s", err, benchkit.LogTail(e, side))
	}
	pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return result{}, err
	}
	res.pods = len(pods.Items)
	res.updates = k.updates.Load()
	res.rssMiB = benchkit.PeakRSS(proc)
	return res, nil
}

func newJob() *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: jobName, Namespace: ns},
		Spec: batchv1.JobSpec{
			Completions: ptr.To(int32(*completions)), Parallelism: ptr.To(int32(*parallelism)),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{{Name: "main", Image: "registry.k8s.io/pause:3.10"}},
			}},
		},
	}
}

// checkEnd is what both sides must show once the Job is Complete: every
// completion counted, none failed, and no pod keeping the tracking
// finalizer (upstream removes them before it counts a pod, and counts every
// pod before Complete).
func checkEnd(ctx context.Context, c kubernetes.Interface) error {
	j, err := c.BatchV1().Jobs(ns).Get(ctx, jobName, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if !hasCondition(j, batchv1.JobComplete) || j.Status.Succeeded != int32(*completions) || j.Status.Failed != 0 {
		return fmt.Errorf("at the end: status %s, want Complete=True, succeeded=%d, failed=0", statusLine(j), *completions)
	}
	pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	var kept []string
	for _, p := range pods.Items {
		if slices.Contains(p.Finalizers, trackingFinalizer) {
			kept = append(kept, p.Name+"("+string(p.Status.Phase)+")")
		}
	}
	if len(kept) > 0 {
		return fmt.Errorf("at the end: %d of %d pods keep %s, e.g. %s", len(kept), len(pods.Items), trackingFinalizer, strings.Join(kept[:min(5, len(kept))], ", "))
	}
	return nil
}

func hasCondition(j *batchv1.Job, typ batchv1.JobConditionType) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == typ && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func statusLine(j *batchv1.Job) string {
	if j == nil {
		return "unknown"
	}
	st := j.Status
	var conds []string
	for _, c := range st.Conditions {
		conds = append(conds, fmt.Sprintf("%s=%s(%s)", c.Type, c.Status, c.Reason))
	}
	uncounted := ptr.Deref(st.UncountedTerminatedPods, batchv1.UncountedTerminatedPods{})
	return fmt.Sprintf("active=%d succeeded=%d failed=%d uncounted=%d/%d conditions=%v",
		st.Active, st.Succeeded, st.Failed, len(uncounted.Succeeded), len(uncounted.Failed), conds)
}

// kubelet is the bench's stand-in for one: a pod informer queues every
// Pending pod of the Job that is not being deleted, and -completers workers
// mark them Succeeded. A Job informer notes when the Job is finished.
type kubelet struct {
	c          kubernetes.Interface
	pods       listersv1.PodLister
	queue      workqueue.TypedDelayingInterface[string]
	stopCh     chan struct{}
	factory    informers.SharedInformerFactory
	wg         sync.WaitGroup
	updates    atomic.Int64
	finished   chan struct{} // closed when the Job has Complete=True or Failed=True
	finishedAt time.Time
	once       sync.Once
}

func startKubelet(e *testenv.Environment) (*kubelet, error) {
	cfg := e.RESTConfig()
	cfg.QPS = -1 // no client-side limit: the controllers, not the bench, should bound the run
	cfg.ContentType = runtime.ContentTypeProtobuf
	cfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	k := &kubelet{c: c, queue: workqueue.NewTypedDelayingQueue[string](), stopCh: make(chan struct{}), finished: make(chan struct{})}
	k.factory = informers.NewSharedInformerFactoryWithOptions(c, 0, informers.WithNamespace(ns))
	podInformer := k.factory.Core().V1().Pods()
	k.pods = podInformer.Lister()
	enqueue := func(obj any) {
		if p, ok := obj.(*corev1.Pod); ok && pending(p) {
			k.queue.Add(p.Name)
		}
	}
	if _, err := podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
	}); err != nil {
		return nil, err
	}
	noteJob := func(obj any) {
		if j, ok := obj.(*batchv1.Job); ok && j.Name == jobName && (hasCondition(j, batchv1.JobComplete) || hasCondition(j, batchv1.JobFailed)) {
			k.once.Do(func() { k.finishedAt = time.Now(); close(k.finished) })
		}
	}
	if _, err := k.factory.Batch().V1().Jobs().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    noteJob,
		UpdateFunc: func(_, obj any) { noteJob(obj) },
	}); err != nil {
		return nil, err
	}
	k.factory.Start(k.stopCh)
	for typ, ok := range k.factory.WaitForCacheSync(k.stopCh) {
		if !ok {
			k.stop()
			return nil, fmt.Errorf("kubelet: %v informer did not sync", typ)
		}
	}
	for range *completers {
		k.wg.Go(func() {
			for k.work() {
			}
		})
	}
	return k, nil
}

// pending is whether p is a pod of the Job the kubelet has to finish.
func pending(p *corev1.Pod) bool {
	ref := metav1.GetControllerOf(p)
	return ref != nil && ref.Kind == "Job" && ref.Name == jobName &&
		p.Status.Phase == corev1.PodPending && p.DeletionTimestamp == nil
}

// work marks one queued pod Succeeded, as a kubelet reports a container that
// exited 0; on an error it tries again a little later (a conflict also
// brings the newer pod through the informer).
func (k *kubelet) work() bool {
	name, shutdown := k.queue.Get()
	if shutdown {
		return false
	}
	defer k.queue.Done(name)
	p, err := k.pods.Pods(ns).Get(name)
	if err != nil || !pending(p) {
		return true
	}
	p = p.DeepCopy()
	now := metav1.Now()
	p.Status.Phase = corev1.PodSucceeded
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "main", Image: "registry.k8s.io/pause:3.10", State: corev1.ContainerState{
		Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", StartedAt: now, FinishedAt: now},
	}}}
	k.updates.Add(1)
	if _, err := k.c.CoreV1().Pods(ns).UpdateStatus(context.Background(), p, metav1.UpdateOptions{}); err != nil {
		k.queue.AddAfter(name, 50*time.Millisecond)
	}
	return true
}

// waitFinished waits until the Job is finished, for at most -timeout, and
// gives up early when the controller exits.
func (k *kubelet) waitFinished(proc *testenv.Process) error {
	deadline := time.After(*timeout)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-k.finished:
			return nil
		case <-tick.C:
			if proc.Exited() {
				return fmt.Errorf("the controller exited")
			}
		case <-deadline:
			return fmt.Errorf("not finished after %s", *timeout)
		}
	}
}

func (k *kubelet) stop() {
	k.queue.ShutDown()
	k.wg.Wait()
	close(k.stopCh)
	k.factory.Shutdown()
}

// readyLines are the log lines, in order, after which a side's controller
// runs with synced caches.
var readyLines = map[string][]string{
	"kcm":          {"Starting job controller", "Caches are synced"},
	"wasmctl-host": {"Started controllers"},
}

// waitReady waits for a side's readyLines in its log, for at most a minute.
func waitReady(e *testenv.Environment, side string, proc *testenv.Process) error {
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		data, _ := os.ReadFile(benchkit.LogFile(e, side))
		rest, ok := string(data), true
		for _, line := range readyLines[side] {
			if _, rest, ok = strings.Cut(rest, line); !ok {
				break
			}
		}
		if ok {
			return nil
		}
		if proc.Exited() {
			return fmt.Errorf("the controller exited")
		}
	}
	return fmt.Errorf("the controller not ready after a minute")
}
