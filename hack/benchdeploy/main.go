// Command benchdeploy runs the side-by-side Deployment benchmark on a local
// control plane: -deployments Deployments of -replicas replicas each
// (RollingUpdate, 25 % surge and unavailable), first rolled out, then all
// rolled to a new template (an image change), by (a)
// kube-controller-manager --controllers=deployment,replicaset and (b)
// wasmctl-host with the deployment and replicaset plugins. There is no
// kubelet: the bench plays it, marking each new pod Running and Ready
// through the status subresource as soon as its informer sees it
// (-kubelets at a time). Runs alternate (a b a b ...) on a fresh control
// plane each; it prints the time from the template change until every
// Deployment is complete (observedGeneration current,
// updated = available = replicas = spec, every old ReplicaSet at 0), the
// controller's CPU in that time and its peak RSS, the first rollout's time,
// their medians and the ratios host/KCM, and writes them as Markdown (with
// the command) for hack/benchdoc to put into docs/BENCHMARKS.md. Each run
// ends with a check that every Deployment has its two ReplicaSets, the new
// template's pods only, revision 2 and upstream's conditions of a complete
// rollout.
//
//	go run ./hack/benchdeploy -rounds 1 -out .cache/deploybench.md
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
	"wasmctl.dev/wasmctl/hack/internal/benchkit"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersappsv1 "k8s.io/client-go/listers/apps/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"wasmctl.dev/wasmctl/internal/testenv"
)

var (
	deployments = flag.Int("deployments", 100, "Deployments")
	replicas    = flag.Int("replicas", 10, "spec.replicas of each")
	rounds      = flag.Int("rounds", 1, "alternating rounds")
	qps         = flag.Int("qps", 1000, "client QPS of both controllers (burst = qps)")
	kubelets    = flag.Int("kubelets", 32, "concurrent pod status updates of the bench's kubelet")
	writers     = flag.Int("writers", 16, "concurrent Deployment creates and template patches of the bench")
	sides       = flag.String("sides", "kcm,wasmctl-host", "which sides to run")
	timeout     = flag.Duration("timeout", 5*time.Minute, "give up on a rollout not complete after this long")
	out         = flag.String("out", "", "also write the Markdown (command, table, ratios) here")
	profile     = flag.String("profile", "", "write a CPU profile of the host's first timed rollout here (its first -profile-seconds)")
	profileSecs = flag.Int("profile-seconds", 30, "length of the -profile")
)

const (
	ns       = "bench"
	image1   = "registry.k8s.io/pause:3.9"
	image2   = "registry.k8s.io/pause:3.10"
	appLabel = "app"
)

type result struct {
	side     string
	seconds  float64 // template change until every Deployment complete
	cpu      float64 // controller process CPU seconds in that time
	rssMiB   float64 // its VmHWM at the end of the run
	endMiB   float64 // its VmRSS then
	first    float64 // the first rollout: creates until every Deployment complete
	firstCPU float64
	pods     int64                     // pods the controller created in the timed rollout
	updates  int64                     // pod status updates the bench made in it (retries included)
	calls    map[string]benchkit.Calls // the host's plugin calls in it, by controller
}

func main() {
	flag.Parse()
	sideList := strings.Split(*sides, ",")
	var bin, cfg string
	if slices.Contains(sideList, "wasmctl-host") {
		var err error
		if bin, cfg, err = benchkit.Prepare("wasmctl-benchdeploy-", *qps, "deployment", "replicaset"); err != nil {
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
			fmt.Printf("%-13s round %d: rollout %6.2f s (%4.0f pods/s)  cpu %6.2f s  rss %6.1f MiB (%6.1f at the end)  first rollout %6.2f s (cpu %5.2f s)  pods %d  status updates %d\n",
				side, round, res.seconds, float64(total())/res.seconds, res.cpu, res.rssMiB, res.endMiB, res.first, res.firstCPU, res.pods, res.updates)
			if len(res.calls) > 0 {
				fmt.Printf("%-13s round %d: plugin calls in the rollout: %s\n", side, round, benchkit.CallLine(res.calls, "deployment", "replicaset"))
			}
			runs[side] = append(runs[side], res)
		}
	}
	md := fmt.Sprintf("Command: `%s`. %s\n\n%s", benchkit.Command("go run ./hack/benchdeploy", os.Args[1:]), settings(), report(runs, sideList))
	fmt.Print("\n" + md)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(md), 0o644); err != nil {
			fatal(err)
		}
	}
}

// total is the pods of one rollout.
func total() int { return *deployments * *replicas }

// settings states the flags that shape the numbers, defaults included.
func settings() string {
	runs := fmt.Sprintf("Medians of %d rounds", *rounds)
	if *rounds == 1 {
		runs = "One round"
	}
	return fmt.Sprintf("%s, sides alternating (%s), a fresh control plane per run. "+
		"%d Deployments × %d replicas (RollingUpdate, maxSurge and maxUnavailable 25 %%; one container with requests, limits, two ports, env), "+
		"created and rolled out, then all patched to a new image (the clock starts before the first patch), %d creates or patches at a time. "+
		"Controllers: deployment and replicaset, 5 workers each, client %d qps / %d burst. "+
		"No kubelet: the bench marks each new pod Running and Ready through the status subresource, "+
		"from a pod informer, %d updates at a time, no client rate limit. "+
		"Complete: observedGeneration current, updated = available = replicas = spec, every old ReplicaSet at 0 (spec and status). "+
		"CPU is the controller's in the timed rollout; peak RSS (VmHWM) is of the whole run, the host's including its start (compiling both plugins, "+
		"on a compilation cache shared by the runs of one invocation: cold in the first host run), RSS at the end is VmRSS after the check.",
		runs, *sides, *deployments, *replicas, *writers, *qps, *qps, *kubelets)
}

// report renders the medians per side, then the ratios host/KCM.
func report(runs map[string][]result, sideList []string) string {
	med := func(side string, f func(result) float64) float64 { return benchkit.Median(runs[side], f) }
	secs := func(r result) float64 { return r.seconds }
	cpu := func(r result) float64 { return r.cpu }
	rss := func(r result) float64 { return r.rssMiB }
	end := func(r result) float64 { return r.endMiB }
	first := func(r result) float64 { return r.first }
	firstCPU := func(r result) float64 { return r.firstCPU }
	var b strings.Builder
	b.WriteString("| side | rollout to complete s | pods/s | CPU s | peak RSS MiB | RSS at the end MiB | first rollout s | its CPU s |\n|---|---|---|---|---|---|---|---|\n")
	for _, side := range sideList {
		t := med(side, secs)
		fmt.Fprintf(&b, "| %s | %.2f | %.0f | %.2f | %.0f | %.0f | %.2f | %.2f |\n", side, t, float64(total())/t, med(side, cpu), med(side, rss),
			med(side, end), med(side, first), med(side, firstCPU))
	}
	if rs := runs["wasmctl-host"]; len(rs) > 0 && len(rs[len(rs)-1].calls) > 0 {
		fmt.Fprintf(&b, "\nThe host's plugin calls in the timed rollout (its last run; wasmctl_plugin_call_duration_seconds): %s.\n", benchkit.CallLine(rs[len(rs)-1].calls, "deployment", "replicaset"))
	}
	b.WriteString("\nRatios of the medians (< 1: faster or smaller than kube-controller-manager):\n\n")
	b.WriteString("| host/KCM time | CPU | peak RSS | RSS at the end | first rollout time | its CPU |\n|---|---|---|---|---|---|\n")
	host := func(f func(result) float64) string { return benchkit.Ratio(med("wasmctl-host", f), med("kcm", f)) }
	fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", host(secs), host(cpu), host(rss), host(end), host(first), host(firstCPU))
	return b.String()
}

// tmpDir holds the host binary, its config and compilation cache, removed
// at the end.
var tmpDir string

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "benchdeploy:", err)
	if tmpDir != "" {
		os.RemoveAll(tmpDir)
	}
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
	var metricsAddr, pprofAddr string
	switch side {
	case "kcm":
		proc, err = e.StartControllerManager(testenv.ControllerManagerOptions{Controllers: []string{"deployment", "replicaset"},
			QPS: float32(*qps), Burst: *qps, ExtraArgs: []string{"--concurrent-deployment-syncs=5", "--concurrent-replicaset-syncs=5"}})
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
	// host compiles the plugins first: seconds on a cold compilation cache).
	if err := benchkit.WaitReady(e, side, proc, readyLines[side]); err != nil {
		return result{}, fmt.Errorf("%w%s", err, benchkit.LogTail(e, side))
	}
	time.Sleep(time.Second)
	var res result
	res.side = side

	// The first rollout: every Deployment created, until all are complete.
	cpu0 := benchkit.CPUSeconds(proc)
	start := time.Now()
	at, err := k.rollout(proc, image1, func() error {
		return benchkit.Parallel(*deployments, *writers, func(i int) error {
			_, err := k.C.AppsV1().Deployments(ns).Create(ctx, newDeployment(i), metav1.CreateOptions{})
			return err
		})
	})
	if err != nil {
		return result{}, fmt.Errorf("first rollout: %w; %s%s", err, k.progress(image1), benchkit.LogTail(e, side))
	}
	res.first, res.firstCPU = at.Sub(start).Seconds(), benchkit.CPUSeconds(proc)-cpu0

	// The timed rollout: every template patched to the new image.
	time.Sleep(time.Second)
	created0, updates0 := k.Created.Load(), k.Updates.Load()
	patch := fmt.Appendf(nil, `{"spec":{"template":{"spec":{"containers":[{"name":"web","image":%q}]}}}}`, image2)
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
	cpu0 = benchkit.CPUSeconds(proc)
	start = time.Now()
	at, err = k.rollout(proc, image2, func() error {
		return benchkit.Parallel(*deployments, *writers, func(i int) error {
			_, err := k.C.AppsV1().Deployments(ns).Patch(ctx, name(i), types.StrategicMergePatchType, patch, metav1.PatchOptions{})
			return err
		})
	})
	if err != nil {
		return result{}, fmt.Errorf("rollout: %w; %s%s", err, k.progress(image2), benchkit.LogTail(e, side))
	}
	res.seconds, res.cpu = at.Sub(start).Seconds(), benchkit.CPUSeconds(proc)-cpu0
	res.pods, res.updates = k.Created.Load()-created0, k.Updates.Load()-updates0
	if metricsAddr != "" {
		after, err := benchkit.ScrapeCalls(metricsAddr)
		if err != nil {
			return result{}, err
		}
		res.calls = benchkit.CallsSince(after, calls0)
	}
	if profiled != nil {
		if err := <-profiled; err != nil {
			fmt.Fprintln(os.Stderr, "benchdeploy: profile:", err)
		}
	}
	if err := checkEnd(ctx, c); err != nil {
		return result{}, fmt.Errorf("%w%s", err, benchkit.LogTail(e, side))
	}
	res.rssMiB, res.endMiB = benchkit.Memory(proc, "VmHWM:"), benchkit.Memory(proc, "VmRSS:")
	return res, nil
}

func name(i int) string { return fmt.Sprintf("web-%03d", i) }

// newDeployment is Deployment i as a user writes it: the API server
// defaults the rest (RollingUpdate 25 %/25 %, revisionHistoryLimit 10,
// progressDeadlineSeconds 600).
func newDeployment(i int) *appsv1.Deployment {
	lbl := map[string]string{appLabel: name(i)}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name(i), Namespace: ns, Labels: lbl},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(*replicas)),
			Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: lbl}, Spec: benchkit.WebPodSpec(image1)},
		},
	}
}

// checkEnd is what both sides must show once the rollout is complete:
// per Deployment its two ReplicaSets (the new at replicas, the old at 0),
// revision 2, Available and Progressing (NewReplicaSetAvailable) true; and
// only the new template's pods, none being deleted. The conditions may
// come a status write after the counts: it waits up to 10 s for them.
func checkEnd(ctx context.Context, c kubernetes.Interface) error {
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if err = endState(ctx, c); err == nil || time.Now().After(deadline) {
			return err
		}
	}
}

func endState(ctx context.Context, c kubernetes.Interface) error {
	ds, err := c.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	rss, err := c.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	var bad []string
	for i := range ds.Items {
		d := &ds.Items[i]
		var newRS, oldRS int
		for j := range rss.Items {
			rs := &rss.Items[j]
			if ref := metav1.GetControllerOf(rs); ref == nil || ref.UID != d.UID {
				continue
			}
			switch rs.Spec.Template.Spec.Containers[0].Image {
			case image2:
				if *rs.Spec.Replicas == int32(*replicas) && rs.Status.AvailableReplicas == int32(*replicas) {
					newRS++
				}
			case image1:
				if *rs.Spec.Replicas == 0 && rs.Status.Replicas == 0 {
					oldRS++
				}
			}
		}
		av, pr := condition(d, appsv1.DeploymentAvailable), condition(d, appsv1.DeploymentProgressing)
		if newRS != 1 || oldRS != 1 || d.Annotations["deployment.kubernetes.io/revision"] != "2" ||
			av == nil || av.Status != corev1.ConditionTrue || pr == nil || pr.Status != corev1.ConditionTrue || pr.Reason != "NewReplicaSetAvailable" {
			bad = append(bad, fmt.Sprintf("%s (new %d, old %d, revision %q, %s)", d.Name, newRS, oldRS, d.Annotations["deployment.kubernetes.io/revision"], statusLine(d)))
		}
	}
	if len(ds.Items) != *deployments || len(rss.Items) != 2**deployments || len(bad) > 0 {
		return fmt.Errorf("at the end: %d Deployments, %d ReplicaSets, want %d and %d; %d not as they should be, e.g. %s",
			len(ds.Items), len(rss.Items), *deployments, 2**deployments, len(bad), strings.Join(bad[:min(3, len(bad))], "; "))
	}
	var stray []string
	for _, p := range pods.Items {
		if p.Spec.Containers[0].Image != image2 || p.DeletionTimestamp != nil || !benchkit.PodReady(&p) {
			stray = append(stray, p.Name)
		}
	}
	if len(pods.Items) != total() || len(stray) > 0 {
		return fmt.Errorf("at the end: %d pods, want %d, all ready with %s; %d are not, e.g. %v", len(pods.Items), total(), image2, len(stray), stray[:min(5, len(stray))])
	}
	return nil
}

func condition(d *appsv1.Deployment, typ appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range d.Status.Conditions {
		if d.Status.Conditions[i].Type == typ {
			return &d.Status.Conditions[i]
		}
	}
	return nil
}

func statusLine(d *appsv1.Deployment) string {
	st := d.Status
	var conds []string
	for _, c := range st.Conditions {
		conds = append(conds, fmt.Sprintf("%s=%s(%s)", c.Type, c.Status, c.Reason))
	}
	return fmt.Sprintf("generation %d observed %d replicas=%d updated=%d ready=%d available=%d conditions=%v",
		d.Generation, st.ObservedGeneration, st.Replicas, st.UpdatedReplicas, st.ReadyReplicas, st.AvailableReplicas, conds)
}

// kubelet is the bench's benchkit.Kubelet with Deployment and ReplicaSet
// informers: they tell when a rollout is complete.
type kubelet struct {
	*benchkit.Kubelet
	ds  listersappsv1.DeploymentLister
	rss listersappsv1.ReplicaSetLister
}

func startKubelet(e *testenv.Environment) (*kubelet, error) {
	k := &kubelet{}
	var err error
	k.Kubelet, err = benchkit.StartKubelet(e, ns, *kubelets, func(f informers.SharedInformerFactory) []cache.SharedIndexInformer {
		d, rs := f.Apps().V1().Deployments(), f.Apps().V1().ReplicaSets()
		k.ds, k.rss = d.Lister(), rs.Lister()
		return []cache.SharedIndexInformer{d.Informer(), rs.Informer()}
	})
	return k, err
}

// rollout runs start (the writes that begin a rollout to image) and waits,
// for at most -timeout, until every Deployment is complete at image; it
// returns when the bench's informers first showed that, and gives up early
// when the controller exits or start fails.
func (k *kubelet) rollout(proc *testenv.Process, image string, start func() error) (time.Time, error) {
	return k.Wait(proc, *timeout, start, func() bool {
		done, _ := k.complete(image)
		return done == *deployments
	})
}

// complete counts the Deployments the informers show complete at image:
// template at image, observedGeneration current, updated = available =
// replicas = spec, every other ReplicaSet of theirs at 0 (spec and
// status). The second result names one that is not, for errors.
func (k *kubelet) complete(image string) (int, string) {
	ds, _ := k.ds.Deployments(ns).List(labels.Everything())
	rss, _ := k.rss.ReplicaSets(ns).List(labels.Everything())
	old := map[types.UID]bool{} // Deployments with an old ReplicaSet not yet at 0
	for _, rs := range rss {
		ref := metav1.GetControllerOf(rs)
		if ref != nil && rs.Spec.Template.Spec.Containers[0].Image != image && (ptr.Deref(rs.Spec.Replicas, 1) != 0 || rs.Status.Replicas != 0) {
			old[ref.UID] = true
		}
	}
	n, example := 0, ""
	for _, d := range ds {
		r, st := ptr.Deref(d.Spec.Replicas, 1), d.Status
		if d.Spec.Template.Spec.Containers[0].Image == image && st.ObservedGeneration >= d.Generation &&
			st.UpdatedReplicas == r && st.AvailableReplicas == r && st.Replicas == r && !old[d.UID] {
			n++
		} else if example == "" {
			example = fmt.Sprintf("%s: image %s, old ReplicaSets not at 0: %v, %s", d.Name, d.Spec.Template.Spec.Containers[0].Image, old[d.UID], statusLine(d))
		}
	}
	return n, example
}

// progress says how far a rollout to image got, for errors.
func (k *kubelet) progress(image string) string {
	n, example := k.complete(image)
	pods, _ := k.Pods.Pods(ns).List(labels.Everything())
	notReady := 0
	for _, p := range pods {
		if !benchkit.PodReady(p) {
			notReady++
		}
	}
	return fmt.Sprintf("%d of %d Deployments complete (e.g. not: %s); %d pods, %d not ready", n, *deployments, example, len(pods), notReady)
}

// readyLines are the log lines after which a side's controllers run with
// synced caches.
var readyLines = map[string]benchkit.ReadyLines{
	"kcm":          {Lines: []string{`"Starting controller" controller="deployment"`, `"Starting controller" name="replicaset"`}, Synced: 2},
	"wasmctl-host": {Lines: []string{"Started controllers"}},
}
