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
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"wasmctl.dev/wasmctl/hack/internal/benchkit"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersappsv1 "k8s.io/client-go/listers/apps/v1"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
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
	pods     int64            // pods the controller created in the timed rollout
	updates  int64            // pod status updates the bench made in it (retries included)
	calls    map[string]calls // the host's plugin calls in it, by controller
}

// calls is what the host's wasmctl_plugin_call_duration_seconds counted.
type calls struct {
	n       float64
	seconds float64
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
				fmt.Printf("%-13s round %d: plugin calls in the rollout: %s\n", side, round, callLine(res.calls))
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
		fmt.Fprintf(&b, "\nThe host's plugin calls in the timed rollout (its last run; wasmctl_plugin_call_duration_seconds): %s.\n", callLine(rs[len(rs)-1].calls))
	}
	b.WriteString("\nRatios of the medians (< 1: faster or smaller than kube-controller-manager):\n\n")
	b.WriteString("| host/KCM time | CPU | peak RSS | RSS at the end | first rollout time | its CPU |\n|---|---|---|---|---|---|\n")
	host := func(f func(result) float64) string { return benchkit.Ratio(med("wasmctl-host", f), med("kcm", f)) }
	fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", host(secs), host(cpu), host(rss), host(end), host(first), host(firstCPU))
	return b.String()
}

// callLine says a run's plugin calls per controller.
func callLine(cs map[string]calls) string {
	var parts []string
	for _, name := range []string{"deployment", "replicaset"} {
		c := cs[name]
		mean := 0.0
		if c.n > 0 {
			mean = c.seconds / c.n * 1000
		}
		parts = append(parts, fmt.Sprintf("%s %.0f calls, %.2f s in the plugin (%.1f ms each)", name, c.n, c.seconds, mean))
	}
	return strings.Join(parts, "; ")
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
		var ports []int
		if ports, err = freePorts(2); err != nil {
			return result{}, err
		}
		metricsAddr, pprofAddr = fmt.Sprintf("127.0.0.1:%d", ports[0]), "0"
		if *profile != "" {
			pprofAddr = fmt.Sprintf("127.0.0.1:%d", ports[1])
		}
		proc, err = e.StartProcess("host", bin, []string{"run", "--config", cfg, "--kubeconfig", e.KubeconfigPath,
			"--metrics-bind-address", metricsAddr, "--health-probe-bind-address", "0", "--pprof-bind-address", pprofAddr}, nil)
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
	// host compiles the plugins first: seconds on a cold compilation cache).
	if err := waitReady(e, side, proc); err != nil {
		return result{}, fmt.Errorf("%w%s", err, benchkit.LogTail(e, side))
	}
	time.Sleep(time.Second)
	var res result
	res.side = side

	// The first rollout: every Deployment created, until all are complete.
	cpu0 := benchkit.CPUSeconds(proc)
	start := time.Now()
	at, err := k.rollout(proc, image1, func() error {
		return parallel(*deployments, func(i int) error {
			_, err := k.c.AppsV1().Deployments(ns).Create(ctx, newDeployment(i), metav1.CreateOptions{})
			return err
		})
	})
	if err != nil {
		return result{}, fmt.Errorf("first rollout: %w; %s%s", err, k.progress(image1), benchkit.LogTail(e, side))
	}
	res.first, res.firstCPU = at.Sub(start).Seconds(), benchkit.CPUSeconds(proc)-cpu0

	// The timed rollout: every template patched to the new image.
	time.Sleep(time.Second)
	created0, updates0 := k.created.Load(), k.updates.Load()
	patch := fmt.Appendf(nil, `{"spec":{"template":{"spec":{"containers":[{"name":"web","image":%q}]}}}}`, image2)
	var calls0 map[string]calls
	var profiled chan error
	if metricsAddr != "" {
		if calls0, err = scrapeCalls(metricsAddr); err != nil {
			return result{}, err
		}
		if *profile != "" {
			profiled = make(chan error, 1)
			path := *profile
			*profile = "" // the first host run only
			go func() { profiled <- fetchProfile(pprofAddr, path) }()
		}
	}
	cpu0 = benchkit.CPUSeconds(proc)
	start = time.Now()
	at, err = k.rollout(proc, image2, func() error {
		return parallel(*deployments, func(i int) error {
			_, err := k.c.AppsV1().Deployments(ns).Patch(ctx, name(i), types.StrategicMergePatchType, patch, metav1.PatchOptions{})
			return err
		})
	})
	if err != nil {
		return result{}, fmt.Errorf("rollout: %w; %s%s", err, k.progress(image2), benchkit.LogTail(e, side))
	}
	res.seconds, res.cpu = at.Sub(start).Seconds(), benchkit.CPUSeconds(proc)-cpu0
	res.pods, res.updates = k.created.Load()-created0, k.updates.Load()-updates0
	if metricsAddr != "" {
		after, err := scrapeCalls(metricsAddr)
		if err != nil {
			return result{}, err
		}
		res.calls = map[string]calls{}
		for name, c := range after {
			res.calls[name] = calls{n: c.n - calls0[name].n, seconds: c.seconds - calls0[name].seconds}
		}
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

// scrapeCalls reads the host's plugin call counts and seconds per
// controller from its /metrics.
func scrapeCalls(addr string) (map[string]calls, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	out := map[string]calls{}
	for line := range strings.Lines(string(body)) {
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
			c.seconds = v
		case "count":
			c.n = v
		default:
			continue
		}
		out[name] = c
	}
	return out, nil
}

// fetchProfile writes a CPU profile of the host's next -profile-seconds.
func fetchProfile(addr, path string) error {
	resp, err := http.Get("http://" + addr + "/debug/pprof/profile?seconds=" + strconv.Itoa(*profileSecs))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
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

// freePorts asks the kernel for n distinct free loopback ports.
func freePorts(n int) ([]int, error) {
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

// parallel runs f(0) … f(n-1), -writers at a time, and returns the first
// error.
func parallel(n int, f func(int) error) error {
	var (
		wg    sync.WaitGroup
		next  atomic.Int64
		mu    sync.Mutex
		first error
	)
	for range min(*writers, n) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				if err := f(i); err != nil {
					mu.Lock()
					first = cmpOr(first, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return first
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func name(i int) string { return fmt.Sprintf("web-%03d", i) }

// newDeployment is Deployment i as a user writes it: the API server
// defaults the rest (RollingUpdate 25 %/25 %, revisionHistoryLimit 10,
// progressDeadlineSeconds 600).
func newDeployment(i int) *appsv1.Deployment {
	lbl := map[string]string{appLabel: name(i)}
	field := func(path string) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}
	}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name(i), Namespace: ns, Labels: lbl},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(*replicas)),
			Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbl},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "web", Image: image1,
					Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}, {Name: "metrics", ContainerPort: 9090}},
					Env: []corev1.EnvVar{{Name: "LOG_LEVEL", Value: "info"}, {Name: "LISTEN_ADDR", Value: ":8080"},
						{Name: "POD_NAME", ValueFrom: field("metadata.name")}, {Name: "POD_IP", ValueFrom: field("status.podIP")}},
					Resources: corev1.ResourceRequirements{
						Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
						Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
					},
					ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}}},
				}}},
			},
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
		if p.Spec.Containers[0].Image != image2 || p.DeletionTimestamp != nil || !ready(&p) {
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

// ready is whether the bench's kubelet is done with p.
func ready(p *corev1.Pod) bool {
	if p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// kubelet is the bench's stand-in for one: a pod informer queues every
// pod not yet Running and Ready and not being deleted, and -kubelets
// workers mark them so. Deployment and ReplicaSet informers tell when a
// rollout is complete.
type kubelet struct {
	c       kubernetes.Interface
	pods    listersv1.PodLister
	ds      listersappsv1.DeploymentLister
	rss     listersappsv1.ReplicaSetLister
	queue   workqueue.TypedDelayingInterface[string]
	stopCh  chan struct{}
	factory informers.SharedInformerFactory
	wg      sync.WaitGroup
	updates atomic.Int64
	created atomic.Int64
	changed chan struct{} // a Deployment or ReplicaSet changed
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
	k := &kubelet{c: c, queue: workqueue.NewTypedDelayingQueue[string](), stopCh: make(chan struct{}), changed: make(chan struct{}, 1)}
	k.factory = informers.NewSharedInformerFactoryWithOptions(c, 0, informers.WithNamespace(ns))
	podInformer := k.factory.Core().V1().Pods()
	k.pods = podInformer.Lister()
	enqueue := func(obj any) {
		if p, ok := obj.(*corev1.Pod); ok && pending(p) {
			k.queue.Add(p.Name)
		}
	}
	if _, err := podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { k.created.Add(1); enqueue(obj) },
		UpdateFunc: func(_, obj any) { enqueue(obj) },
	}); err != nil {
		return nil, err
	}
	notify := func(any) {
		select {
		case k.changed <- struct{}{}:
		default:
		}
	}
	handler := cache.ResourceEventHandlerFuncs{AddFunc: notify, UpdateFunc: func(_, obj any) { notify(obj) }, DeleteFunc: notify}
	dInformer, rsInformer := k.factory.Apps().V1().Deployments(), k.factory.Apps().V1().ReplicaSets()
	k.ds, k.rss = dInformer.Lister(), rsInformer.Lister()
	for _, inf := range []cache.SharedIndexInformer{dInformer.Informer(), rsInformer.Informer()} {
		if _, err := inf.AddEventHandler(handler); err != nil {
			return nil, err
		}
	}
	k.factory.Start(k.stopCh)
	for typ, ok := range k.factory.WaitForCacheSync(k.stopCh) {
		if !ok {
			k.stop()
			return nil, fmt.Errorf("kubelet: %v informer did not sync", typ)
		}
	}
	for range *kubelets {
		k.wg.Go(func() {
			for k.work() {
			}
		})
	}
	return k, nil
}

// pending is whether p is a pod the kubelet has to make Running and Ready.
func pending(p *corev1.Pod) bool {
	return p.DeletionTimestamp == nil && !ready(p)
}

// work marks one queued pod Running and Ready, as a kubelet reports a
// started container whose readiness probe passed; on an error it tries
// again a little later (a conflict also brings the newer pod through the
// informer).
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
	p.Status.Phase = corev1.PodRunning
	p.Status.StartTime = &now
	p.Status.PodIP, p.Status.HostIP = "10.0.0.1", "192.0.2.1"
	p.Status.Conditions = []corev1.PodCondition{
		{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
	}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "web", Image: p.Spec.Containers[0].Image, Ready: true, Started: ptr.To(true),
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}}}
	k.updates.Add(1)
	if _, err := k.c.CoreV1().Pods(ns).UpdateStatus(context.Background(), p, metav1.UpdateOptions{}); err != nil {
		k.queue.AddAfter(name, 50*time.Millisecond)
	}
	return true
}

// rollout runs start (the writes that begin a rollout to image) and waits,
// for at most -timeout, until every Deployment is complete at image; it
// returns when the bench's informers first showed that, and gives up early
// when the controller exits or start fails.
func (k *kubelet) rollout(proc *testenv.Process, image string, start func() error) (time.Time, error) {
	// Drain a stale notification: the state is checked after each change.
	select {
	case <-k.changed:
	default:
	}
	errc := make(chan error, 1)
	go func() { errc <- start() }()
	deadline := time.After(*timeout)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-errc:
			if err != nil {
				return time.Time{}, err
			}
		case <-k.changed:
			if done, _ := k.complete(image); done == *deployments {
				return time.Now(), nil
			}
		case <-tick.C:
			if proc.Exited() {
				return time.Time{}, errors.New("the controller exited")
			}
		case <-deadline:
			return time.Time{}, fmt.Errorf("not complete after %s", *timeout)
		}
	}
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
	pods, _ := k.pods.Pods(ns).List(labels.Everything())
	notReady := 0
	for _, p := range pods {
		if !ready(p) {
			notReady++
		}
	}
	return fmt.Sprintf("%d of %d Deployments complete (e.g. not: %s); %d pods, %d not ready", n, *deployments, example, len(pods), notReady)
}

func (k *kubelet) stop() {
	k.queue.ShutDown()
	k.wg.Wait()
	close(k.stopCh)
	k.factory.Shutdown()
}

// readyLines are the log lines after which a side's controllers run with
// synced caches: each of lines, in any order, and synced times "Caches are
// synced" (kube-controller-manager logs one per controller).
var readyLines = map[string]struct {
	lines  []string
	synced int
}{
	"kcm":          {[]string{`"Starting controller" controller="deployment"`, `"Starting controller" name="replicaset"`}, 2},
	"wasmctl-host": {[]string{"Started controllers"}, 0},
}

// waitReady waits for a side's readyLines in its log, for at most two
// minutes (the host compiles two plugins first).
func waitReady(e *testenv.Environment, side string, proc *testenv.Process) error {
	want := readyLines[side]
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		data, _ := os.ReadFile(benchkit.LogFile(e, side))
		log, ok := string(data), true
		for _, line := range want.lines {
			ok = ok && strings.Contains(log, line)
		}
		if ok && strings.Count(log, `"Caches are synced"`) >= want.synced {
			return nil
		}
		if proc.Exited() {
			return fmt.Errorf("the controller exited")
		}
	}
	return fmt.Errorf("the controller not ready after two minutes")
}
