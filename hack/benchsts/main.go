// Command benchsts runs the side-by-side StatefulSet benchmark on a local
// control plane: -sets StatefulSets of -replicas replicas each
// (podManagementPolicy Parallel, no volumeClaimTemplates), created at once
// and brought up by (a) kube-controller-manager --controllers=statefulset
// (--concurrent-statefulset-syncs=5) and (b) wasmctl-host with the
// statefulset plugin (5 workers). There is no kubelet: the bench plays it,
// marking each new pod Running and Ready through the status subresource
// as soon as its informer sees it (-kubelets at a time). Runs alternate
// (a b a b ...) on a fresh control plane each; it prints the time from the
// first create until every StatefulSet has readyReplicas =
// availableReplicas = replicas = spec and observedGeneration current, the
// controller's CPU in that time and its peak RSS, their medians and the
// ratios host/KCM, and writes them as Markdown (with the command) for
// hack/benchdoc to put into docs/BENCHMARKS.md. Each run ends with a check
// that every set has exactly its pods <set>-0 … <set>-(replicas-1), ready,
// labelled with the set's updateRevision, and one ControllerRevision.
//
// No volumeClaimTemplates: without a volume provisioner and a kubelet the
// claims would stay Pending and add nothing but 500 more creates to both
// sides; the claim path has its own end-to-end test (plugins/statefulset).
//
//	go run ./hack/benchsts -rounds 1 -out .cache/stsbench.md
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersappsv1 "k8s.io/client-go/listers/apps/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"wasmctl.dev/wasmctl/hack/internal/benchkit"
	"wasmctl.dev/wasmctl/internal/testenv"
)

var (
	sets        = flag.Int("sets", 50, "StatefulSets")
	replicas    = flag.Int("replicas", 10, "spec.replicas of each")
	rounds      = flag.Int("rounds", 1, "alternating rounds")
	qps         = flag.Int("qps", 1000, "client QPS of both controllers (burst = qps)")
	kubelets    = flag.Int("kubelets", 32, "concurrent pod status updates of the bench's kubelet")
	writers     = flag.Int("writers", 16, "concurrent StatefulSet creates of the bench")
	sides       = flag.String("sides", "kcm,wasmctl-host", "which sides to run")
	timeout     = flag.Duration("timeout", 5*time.Minute, "give up on a run whose StatefulSets are not all ready after this long")
	out         = flag.String("out", "", "also write the Markdown (command, table, ratios) here")
	profile     = flag.String("profile", "", "write a CPU profile of the host's first timed run here (its first -profile-seconds)")
	profileSecs = flag.Int("profile-seconds", 30, "length of the -profile")
)

const (
	ns       = "bench"
	image    = "registry.k8s.io/pause:3.9"
	appLabel = "app"
	// Labels the controller puts on each pod (upstream's names).
	revisionLabel = appsv1.ControllerRevisionHashLabelKey // "controller-revision-hash"
	podNameLabel  = appsv1.StatefulSetPodNameLabel        // "statefulset.kubernetes.io/pod-name"
	podIndexLabel = appsv1.PodIndexLabel                  // "apps.kubernetes.io/pod-index"
)

type result struct {
	side    string
	seconds float64 // first create until every StatefulSet ready
	cpu     float64 // controller process CPU seconds in that time
	rssMiB  float64 // its VmHWM at the end of the run
	endMiB  float64 // its VmRSS then
	pods    int64   // pods the controller created
	updates int64   // pod status updates the bench made (retries included)
	calls   map[string]benchkit.Calls
}

func main() {
	flag.Parse()
	sideList := strings.Split(*sides, ",")
	var bin, cfg string
	if slices.Contains(sideList, "wasmctl-host") {
		var err error
		if bin, cfg, err = benchkit.Prepare("wasmctl-benchsts-", *qps, "statefulset"); err != nil {
			fatal(err)
		}
		tmpDir = filepath.Dir(bin)
		defer os.RemoveAll(tmpDir)
	}
	runs := map[string][]result{}
	for round := range *rounds {
		for _, side := range sideList {
			res, err := runOnce(side, bin, cfg)
			if err != nil {
				fatal(fmt.Errorf("%s round %d: %w", side, round, err))
			}
			fmt.Printf("%-13s round %d: %6.2f s to ready (%4.0f pods/s)  cpu %6.2f s  rss %6.1f MiB (%6.1f at the end)  pods %d  status updates %d\n",
				side, round, res.seconds, float64(total())/res.seconds, res.cpu, res.rssMiB, res.endMiB, res.pods, res.updates)
			if len(res.calls) > 0 {
				fmt.Printf("%-13s round %d: plugin calls: %s\n", side, round, benchkit.CallLine(res.calls, "statefulset"))
			}
			runs[side] = append(runs[side], res)
		}
	}
	md := fmt.Sprintf("Command: `%s`. %s\n\n%s", benchkit.Command("go run ./hack/benchsts", os.Args[1:]), settings(), report(runs, sideList))
	fmt.Print("\n" + md)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(md), 0o644); err != nil {
			fatal(err)
		}
	}
}

// total is the pods of one run.
func total() int { return *sets * *replicas }

// settings states the flags that shape the numbers, defaults included.
func settings() string {
	runs := fmt.Sprintf("Medians of %d rounds", *rounds)
	if *rounds == 1 {
		runs = "One round"
	}
	return fmt.Sprintf("%s, sides alternating (%s), a fresh control plane per run. "+
		"%d StatefulSets × %d replicas (podManagementPolicy Parallel, RollingUpdate, no volumeClaimTemplates; "+
		"one container with requests, limits, two ports, env), created %d at a time (the clock starts before the first create). "+
		"Controller: statefulset, 5 workers, client %d qps / %d burst. "+
		"No kubelet: the bench marks each new pod Running and Ready through the status subresource, "+
		"from a pod informer, %d updates at a time, no client rate limit. "+
		"Ready: observedGeneration current, readyReplicas = availableReplicas = replicas = spec. "+
		"CPU is the controller's in that time; peak RSS (VmHWM) is of the whole run, the host's including its start (compiling the plugin, "+
		"on a compilation cache shared by the runs of one invocation: cold in the first host run), RSS at the end is VmRSS after the check.",
		runs, *sides, *sets, *replicas, *writers, *qps, *qps, *kubelets)
}

// report renders the medians per side, then the ratios host/KCM.
func report(runs map[string][]result, sideList []string) string {
	med := func(side string, f func(result) float64) float64 { return benchkit.Median(runs[side], f) }
	secs := func(r result) float64 { return r.seconds }
	cpu := func(r result) float64 { return r.cpu }
	rss := func(r result) float64 { return r.rssMiB }
	end := func(r result) float64 { return r.endMiB }
	var b strings.Builder
	b.WriteString("| side | create to ready s | pods/s | CPU s | peak RSS MiB | RSS at the end MiB |\n|---|---|---|---|---|---|\n")
	for _, side := range sideList {
		t := med(side, secs)
		fmt.Fprintf(&b, "| %s | %.2f | %.0f | %.2f | %.0f | %.0f |\n", side, t, float64(total())/t, med(side, cpu), med(side, rss), med(side, end))
	}
	if rs := runs["wasmctl-host"]; len(rs) > 0 && len(rs[len(rs)-1].calls) > 0 {
		fmt.Fprintf(&b, "\nThe host's plugin calls in that time (its last run; wasmctl_plugin_call_duration_seconds): %s.\n", benchkit.CallLine(rs[len(rs)-1].calls, "statefulset"))
	}
	b.WriteString("\nRatios of the medians (< 1: faster or smaller than kube-controller-manager):\n\n")
	b.WriteString("| host/KCM time | CPU | peak RSS | RSS at the end |\n|---|---|---|---|\n")
	host := func(f func(result) float64) string { return benchkit.Ratio(med("wasmctl-host", f), med("kcm", f)) }
	fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", host(secs), host(cpu), host(rss), host(end))
	return b.String()
}

// tmpDir holds the host binary, its config and compilation cache, removed
// at the end.
var tmpDir string

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "benchsts:", err)
	if tmpDir != "" {
		os.RemoveAll(tmpDir)
	}
	os.Exit(1)
}

// readyLines are the log lines after which a side's controller runs with
// synced caches.
var readyLines = map[string]benchkit.ReadyLines{
	"kcm":          {Lines: []string{`"Starting stateful set controller"`}, Synced: 1},
	"wasmctl-host": {Lines: []string{"Started controllers"}},
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
	var metricsAddr, pprofAddr string
	switch side {
	case "kcm":
		proc, err = e.StartControllerManager(testenv.ControllerManagerOptions{Controllers: []string{"statefulset"},
			QPS: float32(*qps), Burst: *qps, ExtraArgs: []string{"--concurrent-statefulset-syncs=5"}})
	case "wasmctl-host":
		proc, metricsAddr, pprofAddr, err = benchkit.StartHost(e, bin, cfg, *profile != "")
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
	defer k.Stop()
	// The clock starts once the controller is up with synced caches (the
	// host compiles the plugin first: seconds on a cold compilation cache).
	if err := benchkit.WaitReady(e, side, proc, readyLines[side]); err != nil {
		return result{}, fmt.Errorf("%w%s", err, benchkit.LogTail(e, side))
	}
	time.Sleep(time.Second)
	res := result{side: side}

	var calls0 map[string]benchkit.Calls
	var profiled chan error
	if metricsAddr != "" {
		if calls0, err = benchkit.ScrapeCalls(metricsAddr); err != nil {
			return result{}, err
		}
		if *profile != "" {
			profiled = make(chan error, 1)
			path := *profile
			*profile = "" // the first host run only
			go func() { profiled <- benchkit.FetchProfile(pprofAddr, path, *profileSecs) }()
		}
	}
	cpu0 := benchkit.CPUSeconds(proc)
	start := time.Now()
	at, err := k.Wait(proc, *timeout, func() error {
		return benchkit.Parallel(*sets, *writers, func(i int) error {
			_, err := k.C.AppsV1().StatefulSets(ns).Create(ctx, newStatefulSet(i), metav1.CreateOptions{})
			return err
		})
	}, func() bool {
		n, _ := k.ready()
		return n == *sets
	})
	if err != nil {
		return result{}, fmt.Errorf("%w; %s%s", err, k.progress(), benchkit.LogTail(e, side))
	}
	res.seconds, res.cpu = at.Sub(start).Seconds(), benchkit.CPUSeconds(proc)-cpu0
	res.pods, res.updates = k.Created.Load(), k.Updates.Load()
	if metricsAddr != "" {
		after, err := benchkit.ScrapeCalls(metricsAddr)
		if err != nil {
			return result{}, err
		}
		res.calls = benchkit.CallsSince(after, calls0)
	}
	if profiled != nil {
		if err := <-profiled; err != nil {
			fmt.Fprintln(os.Stderr, "benchsts: profile:", err)
		}
	}
	if err := checkEnd(ctx, c); err != nil {
		return result{}, fmt.Errorf("%w%s", err, benchkit.LogTail(e, side))
	}
	res.rssMiB, res.endMiB = benchkit.Memory(proc, "VmHWM:"), benchkit.Memory(proc, "VmRSS:")
	return res, nil
}

func name(i int) string { return fmt.Sprintf("web-%02d", i) }

// newStatefulSet is StatefulSet i as a user writes it: the API server
// defaults the rest (RollingUpdate, revisionHistoryLimit 10, claim
// retention Retain).
func newStatefulSet(i int) *appsv1.StatefulSet {
	lbl := map[string]string{appLabel: name(i)}
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name(i), Namespace: ns, Labels: lbl},
		Spec: appsv1.StatefulSetSpec{
			Replicas:            ptr.To(int32(*replicas)),
			Selector:            &metav1.LabelSelector{MatchLabels: lbl},
			ServiceName:         name(i),
			PodManagementPolicy: appsv1.ParallelPodManagement,
			Template:            corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: lbl}, Spec: benchkit.WebPodSpec(image)},
		},
	}
}

// checkEnd is what both sides must show once every set is ready: per set
// current and update revision the same, its one ControllerRevision of that
// name, replicas = ready = available = current = updated = spec; exactly
// its pods <set>-0 … <set>-(replicas-1), controlled by it, ready, none
// being deleted, each with the set's updateRevision, pod-name and
// pod-index labels; no other pods. The last counts may come a status
// write after the ready ones: it waits up to 10 s for them.
func checkEnd(ctx context.Context, c kubernetes.Interface) error {
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if err = endState(ctx, c); err == nil || time.Now().After(deadline) {
			return err
		}
	}
}

func endState(ctx context.Context, c kubernetes.Interface) error {
	ss, err := c.AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	revs, err := c.AppsV1().ControllerRevisions(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	byName := map[string]*corev1.Pod{}
	for i := range pods.Items {
		byName[pods.Items[i].Name] = &pods.Items[i]
	}
	var bad []string
	r := int32(*replicas)
	for i := range ss.Items {
		s := &ss.Items[i]
		st := s.Status
		var problems []string
		nrev := 0
		for j := range revs.Items {
			if ref := metav1.GetControllerOf(&revs.Items[j]); ref != nil && ref.UID == s.UID {
				nrev++
				if revs.Items[j].Name != st.UpdateRevision {
					problems = append(problems, "revision "+revs.Items[j].Name+" not the update revision")
				}
			}
		}
		if nrev != 1 {
			problems = append(problems, fmt.Sprintf("%d ControllerRevisions", nrev))
		}
		if st.UpdateRevision == "" || st.CurrentRevision != st.UpdateRevision || st.ObservedGeneration != s.Generation ||
			st.Replicas != r || st.ReadyReplicas != r || st.AvailableReplicas != r || st.CurrentReplicas != r || st.UpdatedReplicas != r {
			problems = append(problems, statusLine(s))
		}
		for o := range *replicas {
			pn := s.Name + "-" + strconv.Itoa(o)
			p := byName[pn]
			delete(byName, pn)
			switch {
			case p == nil:
				problems = append(problems, pn+" missing")
			case metav1.GetControllerOf(p) == nil || metav1.GetControllerOf(p).UID != s.UID:
				problems = append(problems, pn+" not controlled by the set")
			case p.Labels[revisionLabel] != st.UpdateRevision || st.UpdateRevision == "":
				problems = append(problems, fmt.Sprintf("%s at revision %q, the set's update revision %q", pn, p.Labels[revisionLabel], st.UpdateRevision))
			case p.Labels[podNameLabel] != pn || p.Labels[podIndexLabel] != strconv.Itoa(o):
				problems = append(problems, fmt.Sprintf("%s labelled pod-name %q pod-index %q", pn, p.Labels[podNameLabel], p.Labels[podIndexLabel]))
			case p.DeletionTimestamp != nil || !benchkit.PodReady(p):
				problems = append(problems, pn+" not ready or being deleted")
			}
		}
		if len(problems) > 0 {
			bad = append(bad, fmt.Sprintf("%s: %s", s.Name, strings.Join(problems[:min(3, len(problems))], ", ")))
		}
	}
	if len(ss.Items) != *sets || len(revs.Items) != *sets || len(bad) > 0 {
		return fmt.Errorf("at the end: %d StatefulSets, %d ControllerRevisions, want %d of each; %d sets not as they should be, e.g. %s",
			len(ss.Items), len(revs.Items), *sets, len(bad), strings.Join(bad[:min(3, len(bad))], "; "))
	}
	if len(byName) > 0 {
		var stray []string
		for n := range byName {
			stray = append(stray, n)
		}
		slices.Sort(stray)
		return fmt.Errorf("at the end: %d pods of no set's ordinals, e.g. %v", len(stray), stray[:min(5, len(stray))])
	}
	return nil
}

func statusLine(s *appsv1.StatefulSet) string {
	st := s.Status
	return fmt.Sprintf("generation %d observed %d replicas=%d ready=%d available=%d current=%d updated=%d revisions %q/%q",
		s.Generation, st.ObservedGeneration, st.Replicas, st.ReadyReplicas, st.AvailableReplicas, st.CurrentReplicas, st.UpdatedReplicas,
		st.CurrentRevision, st.UpdateRevision)
}

// kubelet is the bench's benchkit.Kubelet with a StatefulSet informer: it
// tells when every set is ready.
type kubelet struct {
	*benchkit.Kubelet
	ss listersappsv1.StatefulSetLister
}

func startKubelet(e *testenv.Environment) (*kubelet, error) {
	k := &kubelet{}
	var err error
	k.Kubelet, err = benchkit.StartKubelet(e, ns, *kubelets, func(f informers.SharedInformerFactory) []cache.SharedIndexInformer {
		s := f.Apps().V1().StatefulSets()
		k.ss = s.Lister()
		return []cache.SharedIndexInformer{s.Informer()}
	})
	return k, err
}

// ready counts the StatefulSets the informer shows ready: observedGeneration
// current, readyReplicas = availableReplicas = replicas = spec. The
// second result names one that is not, for errors.
func (k *kubelet) ready() (int, string) {
	ss, _ := k.ss.StatefulSets(ns).List(labels.Everything())
	n, example := 0, ""
	for _, s := range ss {
		r, st := ptr.Deref(s.Spec.Replicas, 1), s.Status
		if st.ObservedGeneration >= s.Generation && st.Replicas == r && st.ReadyReplicas == r && st.AvailableReplicas == r {
			n++
		} else if example == "" {
			example = fmt.Sprintf("%s: %s", s.Name, statusLine(s))
		}
	}
	return n, example
}

// progress says how far a run got, for errors.
func (k *kubelet) progress() string {
	n, example := k.ready()
	pods, _ := k.Pods.Pods(ns).List(labels.Everything())
	notReady := 0
	for _, p := range pods {
		if !benchkit.PodReady(p) {
			notReady++
		}
	}
	return fmt.Sprintf("%d of %d StatefulSets ready (e.g. not: %s); %d pods, %d not ready", n, *sets, example, len(pods), notReady)
}
