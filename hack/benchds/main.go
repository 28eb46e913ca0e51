// Command benchds runs the side-by-side DaemonSet benchmark on a local
// control plane: -nodes Node objects, then -sets DaemonSets created at
// once and brought up on every node by (a) kube-controller-manager
// --controllers=daemonset (--concurrent-daemonset-syncs=2, its default)
// and (b) wasmctl-host with the daemonset plugin (2 workers, as in
// config.yaml). The nodes are plain API objects the bench creates before
// the controller starts, reports Ready and frees of the not-ready taint
// the API server's admission puts on a new node (there is no kubelet and
// no node lifecycle controller to do it), and there is no kubelet for the
// pods either: the bench plays it, marking each new pod Running and Ready
// through the status subresource as soon as its informer sees it
// (-kubelets at a time). Runs
// alternate (a b a b ...) on a fresh control plane each; it prints the
// time from the first DaemonSet create until every DaemonSet has
// desired = current = ready = available = updated = nodes, none
// misscheduled and observedGeneration current, the controller's CPU in
// that time and its peak RSS, their medians and the ratios host/KCM, and
// writes them as Markdown (with the command) for hack/benchdoc to put into
// docs/BENCHMARKS.md. Each run ends with a check that every DaemonSet has
// one ControllerRevision and exactly one pod per node: pinned to it by
// node affinity, controlled by the set, ready, labelled with the
// revision's hash and the template generation, with the daemon
// tolerations.
//
//	go run ./hack/benchds -rounds 1 -out .cache/dsbench.md
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersappsv1 "k8s.io/client-go/listers/apps/v1"
	"k8s.io/client-go/tools/cache"

	"wasmctl.dev/wasmctl/hack/internal/benchkit"
	"wasmctl.dev/wasmctl/internal/testenv"
)

var (
	nodes       = flag.Int("nodes", 200, "Node objects")
	sets        = flag.Int("sets", 20, "DaemonSets")
	workers     = flag.Int("workers", 2, "DaemonSet workers of both controllers (kube-controller-manager's default: 2)")
	rounds      = flag.Int("rounds", 1, "alternating rounds")
	qps         = flag.Int("qps", 1000, "client QPS of both controllers (burst = qps)")
	kubelets    = flag.Int("kubelets", 32, "concurrent pod status updates of the bench's kubelet")
	writers     = flag.Int("writers", 16, "concurrent Node and DaemonSet creates of the bench")
	sides       = flag.String("sides", "kcm,wasmctl-host", "which sides to run")
	timeout     = flag.Duration("timeout", 5*time.Minute, "give up on a run whose DaemonSets are not all ready after this long")
	out         = flag.String("out", "", "also write the Markdown (command, table, ratios) here")
	profile     = flag.String("profile", "", "write a CPU profile of the host's first timed run here (its first -profile-seconds)")
	profileSecs = flag.Int("profile-seconds", 30, "length of the -profile")
)

const (
	ns       = "bench"
	image    = "registry.k8s.io/pause:3.9"
	appLabel = "app"
	// What the controller puts on each pod (upstream's names).
	revisionLabel   = appsv1.DefaultDaemonSetUniqueLabelKey // "controller-revision-hash"
	generationLabel = "pod-template-generation"
	// Where the API server keeps a DaemonSet's template generation.
	generationAnnotation = appsv1.DeprecatedTemplateGeneration
)

// daemonTolerations are the keys of the tolerations upstream's controller
// adds to every daemon pod (not hostNetwork: network-unavailable is not
// among them), each with its effect.
var daemonTolerations = map[string]corev1.TaintEffect{
	corev1.TaintNodeNotReady:       corev1.TaintEffectNoExecute,
	corev1.TaintNodeUnreachable:    corev1.TaintEffectNoExecute,
	corev1.TaintNodeDiskPressure:   corev1.TaintEffectNoSchedule,
	corev1.TaintNodeMemoryPressure: corev1.TaintEffectNoSchedule,
	corev1.TaintNodePIDPressure:    corev1.TaintEffectNoSchedule,
	corev1.TaintNodeUnschedulable:  corev1.TaintEffectNoSchedule,
}

type result struct {
	side    string
	seconds float64 // first DaemonSet create until every DaemonSet ready
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
		if bin, cfg, err = benchkit.PrepareWorkers("wasmctl-benchds-", *qps, *workers, "daemonset"); err != nil {
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
				fmt.Printf("%-13s round %d: plugin calls: %s\n", side, round, benchkit.CallLine(res.calls, "daemonset"))
			}
			runs[side] = append(runs[side], res)
		}
	}
	md := fmt.Sprintf("Command: `%s`. %s\n\n%s", benchkit.Command("go run ./hack/benchds", os.Args[1:]), settings(), report(runs, sideList))
	fmt.Print("\n" + md)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(md), 0o644); err != nil {
			fatal(err)
		}
	}
}

// total is the pods of one run.
func total() int { return *sets * *nodes }

// settings states the flags that shape the numbers, defaults included.
func settings() string {
	runs := fmt.Sprintf("Medians of %d rounds", *rounds)
	if *rounds == 1 {
		runs = "One round"
	}
	return fmt.Sprintf("%s, sides alternating (%s), a fresh control plane per run. "+
		"%d Nodes (plain API objects created before the controller starts, reported Ready, the not-ready taint of admission removed), then %d DaemonSets "+
		"(RollingUpdate, the API server's defaults; one container with requests, limits, two ports, env), "+
		"created %d at a time (the clock starts before the first create): %d pods. "+
		"Controller: daemonset, %d workers, client %d qps / %d burst. "+
		"No kubelet: the bench marks each new pod Running and Ready through the status subresource, "+
		"from a pod informer, %d updates at a time, no client rate limit. "+
		"Ready: observedGeneration current, desired = current = ready = available = updated = nodes, none misscheduled. "+
		"CPU is the controller's in that time; peak RSS (VmHWM) is of the whole run, the host's including its start (compiling the plugin, "+
		"on a compilation cache shared by the runs of one invocation: cold in the first host run), RSS at the end is VmRSS after the check.",
		runs, *sides, *nodes, *sets, *writers, total(), *workers, *qps, *qps, *kubelets)
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
		fmt.Fprintf(&b, "\nThe host's plugin calls in that time (its last run; wasmctl_plugin_call_duration_seconds): %s.\n", benchkit.CallLine(rs[len(rs)-1].calls, "daemonset"))
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
	fmt.Fprintln(os.Stderr, "benchds:", err)
	if tmpDir != "" {
		os.RemoveAll(tmpDir)
	}
	os.Exit(1)
}

// readyLines are the log lines after which a side's controller runs with
// synced caches.
var readyLines = map[string]benchkit.ReadyLines{
	"kcm":          {Lines: []string{`"Starting daemon sets controller"`}, Synced: 1},
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
	// The nodes are there before the controller: its first list has them.
	if err := benchkit.Parallel(*nodes, *writers, func(i int) error { return createNode(ctx, c, i) }); err != nil {
		return result{}, fmt.Errorf("nodes: %w", err)
	}
	var proc *testenv.Process
	var metricsAddr, pprofAddr string
	switch side {
	case "kcm":
		proc, err = e.StartControllerManager(testenv.ControllerManagerOptions{Controllers: []string{"daemonset"},
			QPS: float32(*qps), Burst: *qps, ExtraArgs: []string{fmt.Sprintf("--concurrent-daemonset-syncs=%d", *workers)}})
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
			_, err := k.C.AppsV1().DaemonSets(ns).Create(ctx, newDaemonSet(i), metav1.CreateOptions{})
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
			fmt.Fprintln(os.Stderr, "benchds: profile:", err)
		}
	}
	if err := checkEnd(ctx, c); err != nil {
		return result{}, fmt.Errorf("%w%s", err, benchkit.LogTail(e, side))
	}
	res.rssMiB, res.endMiB = benchkit.Memory(proc, "VmHWM:"), benchkit.Memory(proc, "VmRSS:")
	return res, nil
}

func nodeName(i int) string { return fmt.Sprintf("node-%03d", i) }

// createNode creates node i as a kubelet registers one (its well-known
// labels), reports it Ready with its capacity through the status
// subresource, and removes the taints the API server's admission put on
// it (TaintNodesByCondition: node.kubernetes.io/not-ready:NoSchedule, which
// daemon pods do not tolerate), as the node lifecycle controller does once
// a node is Ready.
func createNode(ctx context.Context, c kubernetes.Interface, i int) error {
	name := nodeName(i)
	n, err := c.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
		corev1.LabelHostname: name, corev1.LabelOSStable: "linux", corev1.LabelArchStable: "amd64",
	}}}, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	if len(n.Spec.Taints) > 0 {
		n.Spec.Taints = nil
		if n, err = c.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
			return err
		}
	}
	now := metav1.Now()
	capacity := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("16Gi"),
		corev1.ResourcePods: resource.MustParse("110")}
	n.Status = corev1.NodeStatus{
		Capacity: capacity, Allocatable: capacity,
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
			Message: "kubelet is posting ready status", LastHeartbeatTime: now, LastTransitionTime: now}},
		Addresses: []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: name}},
	}
	_, err = c.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
	return err
}

func name(i int) string { return fmt.Sprintf("agent-%02d", i) }

// newDaemonSet is DaemonSet i as a user writes it: the API server defaults
// the rest (RollingUpdate with maxUnavailable 1, revisionHistoryLimit 10,
// template generation 1).
func newDaemonSet(i int) *appsv1.DaemonSet {
	lbl := map[string]string{appLabel: name(i)}
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: name(i), Namespace: ns, Labels: lbl},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: lbl}, Spec: benchkit.WebPodSpec(image)},
		},
	}
}

// checkEnd is what both sides must show once every DaemonSet is ready: per
// set its one ControllerRevision, all status counts at the node count,
// none misscheduled or unavailable; exactly one pod per node, controlled
// by the set, aimed at that node by a required node affinity on
// metadata.name, ready, not being deleted, labelled with the revision's
// hash and the set's template generation and carrying the daemon
// tolerations; no other pods. The last counts may come a status write
// after the ready ones: it waits up to 10 s for them.
func checkEnd(ctx context.Context, c kubernetes.Interface) error {
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if err = endState(ctx, c); err == nil || time.Now().After(deadline) {
			return err
		}
	}
}

func endState(ctx context.Context, c kubernetes.Interface) error {
	dss, err := c.AppsV1().DaemonSets(ns).List(ctx, metav1.ListOptions{})
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
	byOwner := map[string][]*corev1.Pod{}
	stray := 0
	for i := range pods.Items {
		p := &pods.Items[i]
		if ref := metav1.GetControllerOf(p); ref != nil {
			byOwner[string(ref.UID)] = append(byOwner[string(ref.UID)], p)
		} else {
			stray++
		}
	}
	var bad []string
	n := int32(*nodes)
	for i := range dss.Items {
		ds := &dss.Items[i]
		var problems []string
		var hash string
		nrev := 0
		for j := range revs.Items {
			if ref := metav1.GetControllerOf(&revs.Items[j]); ref != nil && ref.UID == ds.UID {
				nrev++
				hash = revs.Items[j].Labels[revisionLabel]
			}
		}
		if nrev != 1 || hash == "" {
			problems = append(problems, fmt.Sprintf("%d ControllerRevisions (hash %q)", nrev, hash))
		}
		st := ds.Status
		if st.ObservedGeneration != ds.Generation || st.DesiredNumberScheduled != n || st.CurrentNumberScheduled != n ||
			st.NumberReady != n || st.NumberAvailable != n || st.UpdatedNumberScheduled != n || st.NumberMisscheduled != 0 || st.NumberUnavailable != 0 {
			problems = append(problems, statusLine(ds))
		}
		gen := ds.Annotations[generationAnnotation]
		onNode := map[string]int{}
		for _, p := range byOwner[string(ds.UID)] {
			node := targetNode(p)
			onNode[node]++
			switch {
			case node == "":
				problems = append(problems, p.Name+" aimed at no node")
			case p.DeletionTimestamp != nil || !benchkit.PodReady(p):
				problems = append(problems, p.Name+" not ready or being deleted")
			case p.Labels[revisionLabel] != hash || gen == "" || p.Labels[generationLabel] != gen:
				problems = append(problems, fmt.Sprintf("%s labelled hash %q generation %q, the set's %q and %q", p.Name, p.Labels[revisionLabel], p.Labels[generationLabel], hash, gen))
			case !strings.HasPrefix(p.Name, ds.Name+"-"):
				problems = append(problems, p.Name+" not named after the set")
			default:
				if missing := missingTolerations(p); len(missing) > 0 {
					problems = append(problems, fmt.Sprintf("%s lacks the tolerations %v", p.Name, missing))
				}
			}
		}
		for j := range *nodes {
			if cnt := onNode[nodeName(j)]; cnt != 1 {
				problems = append(problems, fmt.Sprintf("%d pods on %s", cnt, nodeName(j)))
			}
		}
		if len(onNode) != *nodes {
			problems = append(problems, fmt.Sprintf("pods on %d targets, want the %d nodes", len(onNode), *nodes))
		}
		if len(problems) > 0 {
			bad = append(bad, fmt.Sprintf("%s: %s", ds.Name, strings.Join(problems[:min(3, len(problems))], ", ")))
		}
		delete(byOwner, string(ds.UID))
	}
	for _, ps := range byOwner {
		stray += len(ps)
	}
	if len(dss.Items) != *sets || len(revs.Items) != *sets || len(bad) > 0 || stray > 0 {
		return fmt.Errorf("at the end: %d DaemonSets, %d ControllerRevisions, want %d of each; %d pods of no set; %d sets not as they should be, e.g. %s",
			len(dss.Items), len(revs.Items), *sets, stray, len(bad), strings.Join(bad[:min(3, len(bad))], "; "))
	}
	return nil
}

// targetNode is the node a daemon pod is aimed at: its nodeName once
// bound, else the one name its required node affinity matches by
// metadata.name (upstream's GetTargetNodeName), "" for neither.
func targetNode(p *corev1.Pod) string {
	if p.Spec.NodeName != "" {
		return p.Spec.NodeName
	}
	a := p.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return ""
	}
	for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		for _, f := range term.MatchFields {
			if f.Key == metav1.ObjectNameField && f.Operator == corev1.NodeSelectorOpIn && len(f.Values) == 1 {
				return f.Values[0]
			}
		}
	}
	return ""
}

// missingTolerations are the daemon tolerations p lacks, sorted.
func missingTolerations(p *corev1.Pod) []string {
	var missing []string
	for key, effect := range daemonTolerations {
		if !slices.ContainsFunc(p.Spec.Tolerations, func(t corev1.Toleration) bool {
			return t.Key == key && t.Effect == effect && t.Operator == corev1.TolerationOpExists
		}) {
			missing = append(missing, key)
		}
	}
	slices.Sort(missing)
	return missing
}

func statusLine(ds *appsv1.DaemonSet) string {
	st := ds.Status
	return fmt.Sprintf("generation %d observed %d desired=%d current=%d ready=%d available=%d updated=%d misscheduled=%d unavailable=%d",
		ds.Generation, st.ObservedGeneration, st.DesiredNumberScheduled, st.CurrentNumberScheduled, st.NumberReady,
		st.NumberAvailable, st.UpdatedNumberScheduled, st.NumberMisscheduled, st.NumberUnavailable)
}

// kubelet is the bench's benchkit.Kubelet with a DaemonSet informer: it
// tells when every DaemonSet is ready.
type kubelet struct {
	*benchkit.Kubelet
	ds listersappsv1.DaemonSetLister
}

func startKubelet(e *testenv.Environment) (*kubelet, error) {
	k := &kubelet{}
	var err error
	k.Kubelet, err = benchkit.StartKubelet(e, ns, *kubelets, func(f informers.SharedInformerFactory) []cache.SharedIndexInformer {
		d := f.Apps().V1().DaemonSets()
		k.ds = d.Lister()
		return []cache.SharedIndexInformer{d.Informer()}
	})
	return k, err
}

// ready counts the DaemonSets the informer shows ready: observedGeneration
// current, desired = current = ready = available = updated = nodes and
// none misscheduled. The second result names one that is not, for errors.
func (k *kubelet) ready() (int, string) {
	dss, _ := k.ds.DaemonSets(ns).List(labels.Everything())
	n, want, example := 0, int32(*nodes), ""
	for _, ds := range dss {
		st := ds.Status
		if st.ObservedGeneration >= ds.Generation && st.DesiredNumberScheduled == want && st.CurrentNumberScheduled == want &&
			st.NumberReady == want && st.NumberAvailable == want && st.UpdatedNumberScheduled == want && st.NumberMisscheduled == 0 {
			n++
		} else if example == "" {
			example = fmt.Sprintf("%s: %s", ds.Name, statusLine(ds))
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
	nodeCount := "?"
	if ns, err := k.C.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{}); err == nil {
		nodeCount = fmt.Sprint(len(ns.Items))
	}
	return fmt.Sprintf("%d of %d DaemonSets ready (e.g. not: %s); %d pods, %d not ready; %s nodes", n, *sets, example, len(pods), notReady, nodeCount)
}
