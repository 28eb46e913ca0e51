// Command conformance runs one scripted workload on two fresh control
// planes, one after the other, and compares what the controllers made of
// it: side "kcm" runs kube-controller-manager with all its controllers,
// side "wasm" runs kube-controller-manager without the six workload
// controllers plus wasmctl-host with config.yaml's plugins. Both sides have
// kube-scheduler and kwok simulating the nodes. At each checkpoint the run
// waits until every workload has settled, snapshots the namespace's
// Deployments, ReplicaSets, StatefulSets, DaemonSets, ControllerRevisions,
// Jobs, CronJobs, Pods, PersistentVolumeClaims and the Events of workload
// objects, and normalises what must differ (normalise.go). Differences are
// printed as unified diffs of the normalised YAML on stderr; any that the
// allow-list (allow.go) does not explain makes the run exit 1. The table of
// kind × checkpoint goes between the markers of docs/CONFORMANCE.md, the
// raw and normalised snapshots under .cache/conformance/.
//
//	go run ./hack/conformance [-sides kcm,wasm] [-timeout 2m] [-doc docs/CONFORMANCE.md]
//
// -sides kcm,kcm runs kube-controller-manager twice, which shows what
// differs between two runs of the same controllers (timing), not between
// implementations; the doc is only written for kcm,wasm.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"wasmctl.dev/wasmctl/internal/testenv"
)

const (
	ns = "conformance"
	// kube-controller-manager's controllers on the wasm side: everything but
	// the six the host runs (the garbage collector, namespaces, node
	// lifecycle, taint eviction, pod GC, ... stay).
	wasmSideControllers = "*,-replicaset,-deployment,-statefulset,-daemonset,-job,-cronjob"
)

type options struct {
	out, doc, config, host string
	sides                  []string
	timeout, quiet         time.Duration
}

func main() {
	var o options
	sides := flag.String("sides", "kcm,wasm", "the two sides to run, in order: kcm (kube-controller-manager, all controllers) or wasm (the host with config.yaml)")
	flag.StringVar(&o.out, "out", ".cache/conformance", "directory for the control planes' logs and the snapshots")
	flag.StringVar(&o.doc, "doc", "docs/CONFORMANCE.md", "document whose generated section gets the table (empty: none; only written for -sides kcm,wasm)")
	flag.StringVar(&o.config, "config", "config.yaml", "the host's configuration")
	flag.StringVar(&o.host, "host", "bin/wasmctl-host", "the host binary")
	flag.DurationVar(&o.timeout, "timeout", 2*time.Minute, "how long a checkpoint may take to settle (the first gets 70 s more for the CronJob's tick)")
	flag.DurationVar(&o.quiet, "quiet", 2*time.Second, "how long nothing may change for a checkpoint to count as settled")
	flag.Parse()
	o.sides = strings.Split(*sides, ",")
	if len(o.sides) != 2 || !slices.Contains([]string{"kcm", "wasm"}, o.sides[0]) || !slices.Contains([]string{"kcm", "wasm"}, o.sides[1]) {
		fmt.Fprintln(os.Stderr, "conformance: -sides takes two of kcm, wasm")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	code, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

// sideResult is what one side's run left: a snapshot per checkpoint.
type sideResult struct {
	name      string
	snapshots []snapshot
	took      time.Duration
}

type snapshot struct {
	checkpoint string
	normalised map[string]object
}

func run(ctx context.Context, o options) (int, error) {
	started := time.Now()
	if err := os.RemoveAll(o.out); err != nil {
		return 0, err
	}
	var results []sideResult
	for i, kind := range o.sides {
		name := kind
		if o.sides[0] == o.sides[1] {
			name = fmt.Sprintf("%s%d", kind, i+1)
		}
		r, err := runSide(ctx, o, kind, name)
		if err != nil {
			return 0, fmt.Errorf("side %s: %w", name, err)
		}
		results = append(results, r)
	}
	rep := compare(results[0], results[1])
	rep.took = time.Since(started)
	rep.sideTook = [2]time.Duration{results[0].took, results[1].took}
	rep.print(os.Stderr)
	if o.doc != "" && o.sides[0] == "kcm" && o.sides[1] == "wasm" {
		if err := rep.writeDoc(o.doc); err != nil {
			return 0, err
		}
		fmt.Fprintf(os.Stderr, "conformance: table written to %s\n", o.doc)
	}
	fmt.Fprintf(os.Stderr, "conformance: %s in %s (%s %s, %s %s)\n", rep.verdict(), rep.took.Round(time.Second),
		results[0].name, results[0].took.Round(time.Second), results[1].name, results[1].took.Round(time.Second))
	if rep.failed() {
		return 1, nil
	}
	return 0, nil
}

// side is one running control plane.
type side struct {
	name string
	env  *testenv.Environment
	c    kubernetes.Interface
	dir  string // snapshots
	norm *normaliser
	o    options
}

func runSide(ctx context.Context, o options, kind, name string) (sideResult, error) {
	started := time.Now()
	dir, err := filepath.Abs(filepath.Join(o.out, name))
	if err != nil {
		return sideResult{}, err
	}
	fmt.Fprintf(os.Stderr, "conformance: side %s: starting a control plane in %s\n", name, dir)
	env, err := testenv.Start(ctx, testenv.Options{Dir: filepath.Join(dir, "controlplane")})
	if err != nil {
		return sideResult{}, err
	}
	defer env.Stop()
	controllers := "*"
	if kind == "wasm" {
		controllers = wasmSideControllers
	}
	if _, err := env.StartControllerManager(testenv.ControllerManagerOptions{Controllers: strings.Split(controllers, ",")}); err != nil {
		return sideResult{}, err
	}
	if _, err := env.StartScheduler(); err != nil {
		return sideResult{}, err
	}
	if _, err := env.StartKwok(); err != nil {
		return sideResult{}, err
	}
	s := &side{name: name, env: env, c: env.Clientset(), dir: dir, norm: newNormaliser(), o: o}
	// Node lifecycle (in kube-controller-manager on both sides) lifts the
	// not-ready taint.
	if err := testenv.CreateKwokNodes(ctx, s.c, false, "kwok-node-1", "kwok-node-2", "kwok-node-3"); err != nil {
		return sideResult{}, err
	}
	if _, err := s.c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return sideResult{}, err
	}
	if kind == "wasm" {
		if err := s.startHost(ctx); err != nil {
			return sideResult{}, err
		}
	}
	if err := s.waitReady(ctx); err != nil {
		return sideResult{}, err
	}
	fmt.Fprintf(os.Stderr, "conformance: side %s: cluster ready after %s\n", name, time.Since(started).Round(time.Millisecond))
	res := sideResult{name: name}
	for i, st := range script {
		stepStart := time.Now()
		if err := st.do(ctx, s); err != nil {
			return res, fmt.Errorf("step %s: %w", st.checkpoint, err)
		}
		timeout := o.timeout
		if i == 0 {
			timeout += 70 * time.Second
		}
		w, err := s.settle(ctx, st, timeout)
		file := filepath.Join(dir, fmt.Sprintf("%02d-%s", i+1, st.checkpoint))
		if werr := writeJSON(file+".json", w.objects()); werr != nil && err == nil {
			err = werr
		}
		if err != nil {
			return res, fmt.Errorf("checkpoint %s: %w (snapshot in %s.json, logs in %s)", st.checkpoint, err, file, env.Dir)
		}
		norm := s.norm.normalise(w.objects())
		if err := writeYAML(file+".yaml", norm); err != nil {
			return res, err
		}
		res.snapshots = append(res.snapshots, snapshot{checkpoint: st.checkpoint, normalised: norm})
		fmt.Fprintf(os.Stderr, "conformance: side %s: checkpoint %s settled in %s (%d objects)\n", name, st.checkpoint, time.Since(stepStart).Round(time.Millisecond), len(norm))
	}
	res.took = time.Since(started)
	return res, nil
}

// startHost runs the host binary with the repository's config.yaml (its
// compilation cache is the default one, so a second run starts warm),
// logging to the control plane's directory, and waits for /readyz.
func (s *side) startHost(ctx context.Context) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := l.Addr().String()
	l.Close()
	host, err := filepath.Abs(s.o.host)
	if err != nil {
		return err
	}
	p, err := s.env.StartProcess("wasmctl-host", host, []string{
		"run", "--config", s.o.config, "--kubeconfig", s.env.KubeconfigPath,
		"--metrics-bind-address", "0", "--health-probe-bind-address", addr,
	}, nil)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if p.Exited() {
			return fmt.Errorf("wasmctl-host exited; see %s", p.LogFile)
		}
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("wasmctl-host not ready after 90 s; see %s", p.LogFile)
}

// waitReady waits until the nodes are Ready without taints (node lifecycle
// has run) and the namespace's default ServiceAccount exists
// (kube-controller-manager's controllers have started).
func (s *side) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(90 * time.Second)
	var why string
	for time.Now().Before(deadline) {
		why = ""
		nodes, err := s.c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, n := range nodes.Items {
			if !nodeReady(&n) || len(n.Spec.Taints) > 0 {
				why = fmt.Sprintf("node %s not Ready or tainted (%v)", n.Name, n.Spec.Taints)
			}
		}
		if why == "" {
			if _, err := s.c.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{}); err != nil {
				why = "no default ServiceAccount yet: " + err.Error()
			}
		}
		if why == "" {
			return nil
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
	return errors.New("cluster not ready after 90 s: " + why)
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// settle lists the namespace until st's condition and the generic ones
// hold and nothing has changed for o.quiet, running st's hook on every
// observation. It returns the last observation, also on timeout.
func (s *side) settle(ctx context.Context, st step, timeout time.Duration) (*world, error) {
	start := time.Now()
	var last string
	var since time.Time
	var w *world
	for {
		var err error
		if w, err = observe(ctx, s.c); err != nil {
			return w, err
		}
		if st.hook != nil {
			if err := st.hook(ctx, s, w); err != nil {
				return w, err
			}
		}
		why := w.unsettled()
		if st.until != nil {
			if err := st.until(w); err != nil {
				why = append(why, err.Error())
			}
		}
		fp := w.fingerprint()
		now := time.Now()
		if fp != last {
			last, since = fp, now
		}
		if len(why) == 0 && now.Sub(since) >= s.o.quiet {
			return w, nil
		}
		if now.Sub(start) > timeout {
			if len(why) == 0 {
				why = []string{"objects kept changing"}
			}
			return w, fmt.Errorf("not settled after %s:\n  %s", timeout, strings.Join(why, "\n  "))
		}
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return w, err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// world is one observation of the namespace.
type world struct {
	deployments []appsv1.Deployment
	replicaSets []appsv1.ReplicaSet
	statefuls   []appsv1.StatefulSet
	daemons     []appsv1.DaemonSet
	revisions   []appsv1.ControllerRevision
	jobs        []batchv1.Job
	cronJobs    []batchv1.CronJob
	pods        []corev1.Pod
	claims      []corev1.PersistentVolumeClaim
	events      []corev1.Event
	nodes       []corev1.Node // not compared; normalisation rule 8 reads their taints
}

func observe(ctx context.Context, c kubernetes.Interface) (*world, error) {
	w := &world{}
	lo := metav1.ListOptions{}
	if l, err := c.AppsV1().Deployments(ns).List(ctx, lo); err != nil {
		return w, err
	} else {
		w.deployments = l.Items
	}
	if l, err := c.AppsV1().ReplicaSets(ns).List(ctx, lo); err != nil {
		return w, err
	} else {
		w.replicaSets = l.Items
	}
	if l, err := c.AppsV1().StatefulSets(ns).List(ctx, lo); err != nil {
		return w, err
	} else {
		w.statefuls = l.Items
	}
	if l, err := c.AppsV1().DaemonSets(ns).List(ctx, lo); err != nil {
		return w, err
	} else {
		w.daemons = l.Items
	}
	if l, err := c.AppsV1().ControllerRevisions(ns).List(ctx, lo); err != nil {
		return w, err
	} else {
		w.revisions = l.Items
	}
	if l, err := c.BatchV1().Jobs(ns).List(ctx, lo); err != nil {
		return w, err
	} else {
		w.jobs = l.Items
	}
	if l, err := c.BatchV1().CronJobs(ns).List(ctx, lo); err != nil {
		return w, err
	} else {
		w.cronJobs = l.Items
	}
	if l, err := c.CoreV1().Pods(ns).List(ctx, lo); err != nil {
		return w, err
	} else {
		w.pods = l.Items
	}
	if l, err := c.CoreV1().PersistentVolumeClaims(ns).List(ctx, lo); err != nil {
		return w, err
	} else {
		w.claims = l.Items
	}
	if l, err := c.CoreV1().Nodes().List(ctx, lo); err != nil {
		return w, err
	} else {
		w.nodes = l.Items
	}
	if l, err := c.CoreV1().Events(ns).List(ctx, lo); err != nil {
		return w, err
	} else {
		for _, e := range l.Items {
			if slices.Contains(workloadKinds, e.InvolvedObject.Kind) {
				w.events = append(w.events, e)
			}
		}
	}
	return w, nil
}

// objects is the observation as JSON objects with apiVersion and kind.
func (w *world) objects() []object {
	var out []object
	add := func(apiVersion, kind string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		var o object
		if err := json.Unmarshal(b, &o); err != nil {
			panic(err)
		}
		o["apiVersion"], o["kind"] = apiVersion, kind
		out = append(out, o)
	}
	for i := range w.deployments {
		add("apps/v1", "Deployment", &w.deployments[i])
	}
	for i := range w.replicaSets {
		add("apps/v1", "ReplicaSet", &w.replicaSets[i])
	}
	for i := range w.statefuls {
		add("apps/v1", "StatefulSet", &w.statefuls[i])
	}
	for i := range w.daemons {
		add("apps/v1", "DaemonSet", &w.daemons[i])
	}
	for i := range w.revisions {
		add("apps/v1", "ControllerRevision", &w.revisions[i])
	}
	for i := range w.jobs {
		add("batch/v1", "Job", &w.jobs[i])
	}
	for i := range w.cronJobs {
		add("batch/v1", "CronJob", &w.cronJobs[i])
	}
	for i := range w.pods {
		add("v1", "Pod", &w.pods[i])
	}
	for i := range w.claims {
		add("v1", "PersistentVolumeClaim", &w.claims[i])
	}
	for i := range w.events {
		add("v1", "Event", &w.events[i])
	}
	for i := range w.nodes {
		add("v1", "Node", &w.nodes[i])
	}
	return out
}

// fingerprint changes whenever any observed object does.
func (w *world) fingerprint() string {
	var b strings.Builder
	for _, o := range w.objects() {
		if o["kind"] == "Node" {
			continue // kwok's heartbeats; a step's node change shows in its workloads
		}
		fmt.Fprintf(&b, "%s/%s/%s;", o["kind"], str(o, "metadata", "name"), str(o, "metadata", "resourceVersion"))
	}
	return b.String()
}

// unsettled lists why the observation is not a settled state: a controller
// that has not observed its object's generation, a rollout or a scale not
// done, a Job not finished, a pod not Running and Ready (or finished) or
// being deleted, an object whose controller is gone (the garbage collector
// not done).
func (w *world) unsettled() []string {
	var why []string
	add := func(f string, a ...any) { why = append(why, fmt.Sprintf(f, a...)) }
	uids := map[types.UID]bool{}
	for _, o := range w.objects() {
		uids[types.UID(str(o, "metadata", "uid"))] = true
	}
	checkOwner := func(kind string, m metav1.ObjectMeta) {
		if m.DeletionTimestamp != nil {
			add("%s %s is being deleted", kind, m.Name)
		}
		if c := metav1.GetControllerOf(&m); c != nil && !uids[c.UID] {
			add("%s %s: its controller %s %s is gone", kind, m.Name, c.Kind, c.Name)
		}
	}
	for _, d := range w.deployments {
		checkOwner("Deployment", d.ObjectMeta)
		want := ptrOr(d.Spec.Replicas, 1)
		st := d.Status
		switch {
		case st.ObservedGeneration != d.Generation:
			add("Deployment %s: observedGeneration %d, generation %d", d.Name, st.ObservedGeneration, d.Generation)
		case d.Spec.Paused:
		case st.Replicas != want || st.UpdatedReplicas != want || st.ReadyReplicas != want || st.AvailableReplicas != want:
			add("Deployment %s: replicas %d updated %d ready %d available %d, want %d", d.Name, st.Replicas, st.UpdatedReplicas, st.ReadyReplicas, st.AvailableReplicas, want)
		case !hasDeploymentCondition(d, appsv1.DeploymentProgressing, "NewReplicaSetAvailable"):
			add("Deployment %s: not Progressing NewReplicaSetAvailable", d.Name)
		}
	}
	for _, r := range w.replicaSets {
		checkOwner("ReplicaSet", r.ObjectMeta)
		want := ptrOr(r.Spec.Replicas, 1)
		st := r.Status
		if st.ObservedGeneration != r.Generation || st.Replicas != want || st.ReadyReplicas != want || st.AvailableReplicas != want {
			add("ReplicaSet %s: observedGeneration %d/%d replicas %d ready %d available %d, want %d", r.Name, st.ObservedGeneration, r.Generation, st.Replicas, st.ReadyReplicas, st.AvailableReplicas, want)
		}
	}
	for _, s := range w.statefuls {
		checkOwner("StatefulSet", s.ObjectMeta)
		want := ptrOr(s.Spec.Replicas, 1)
		st := s.Status
		if st.ObservedGeneration != s.Generation || st.Replicas != want || st.ReadyReplicas != want || st.AvailableReplicas != want {
			add("StatefulSet %s: observedGeneration %d/%d replicas %d ready %d available %d, want %d", s.Name, st.ObservedGeneration, s.Generation, st.Replicas, st.ReadyReplicas, st.AvailableReplicas, want)
		} else if s.Spec.UpdateStrategy.Type != appsv1.OnDeleteStatefulSetStrategyType && (st.UpdatedReplicas != want || st.CurrentRevision != st.UpdateRevision) {
			add("StatefulSet %s: updated %d of %d, revision %s → %s", s.Name, st.UpdatedReplicas, want, st.CurrentRevision, st.UpdateRevision)
		}
	}
	for _, d := range w.daemons {
		checkOwner("DaemonSet", d.ObjectMeta)
		st := d.Status
		if st.ObservedGeneration != d.Generation || st.CurrentNumberScheduled != st.DesiredNumberScheduled || st.NumberReady != st.DesiredNumberScheduled || st.NumberAvailable != st.DesiredNumberScheduled || st.NumberUnavailable != 0 {
			add("DaemonSet %s: observedGeneration %d/%d desired %d current %d ready %d available %d unavailable %d", d.Name, st.ObservedGeneration, d.Generation, st.DesiredNumberScheduled, st.CurrentNumberScheduled, st.NumberReady, st.NumberAvailable, st.NumberUnavailable)
		} else if d.Spec.UpdateStrategy.Type != appsv1.OnDeleteDaemonSetStrategyType && st.UpdatedNumberScheduled != st.DesiredNumberScheduled {
			add("DaemonSet %s: updated %d of %d", d.Name, st.UpdatedNumberScheduled, st.DesiredNumberScheduled)
		}
	}
	for _, r := range w.revisions {
		checkOwner("ControllerRevision", r.ObjectMeta)
	}
	for _, j := range w.jobs {
		checkOwner("Job", j.ObjectMeta)
		st := j.Status
		finished := false
		for _, c := range st.Conditions {
			if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
				finished = true
			}
		}
		uncounted := st.UncountedTerminatedPods != nil && len(st.UncountedTerminatedPods.Succeeded)+len(st.UncountedTerminatedPods.Failed) > 0
		if !finished || st.Active != 0 || ptrOr(st.Terminating, 0) != 0 || uncounted {
			add("Job %s: finished %v, active %d, terminating %d, uncounted pods %v", j.Name, finished, st.Active, ptrOr(st.Terminating, 0), uncounted)
		}
	}
	for _, c := range w.cronJobs {
		checkOwner("CronJob", c.ObjectMeta)
		if len(c.Status.Active) > 0 {
			add("CronJob %s: %d active", c.Name, len(c.Status.Active))
		}
	}
	for _, p := range w.pods {
		checkOwner("Pod", p.ObjectMeta)
		if slices.Contains(p.Finalizers, batchv1.JobTrackingFinalizer) && (p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed) {
			add("Pod %s: finished, still has the Job tracking finalizer", p.Name)
		}
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		if p.Status.Phase != corev1.PodRunning || !podReady(&p) {
			add("Pod %s: %s, not Ready", p.Name, p.Status.Phase)
		}
	}
	sort.Strings(why)
	return why
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func hasDeploymentCondition(d appsv1.Deployment, t appsv1.DeploymentConditionType, reason string) bool {
	for _, c := range d.Status.Conditions {
		if c.Type == t && c.Reason == reason {
			return true
		}
	}
	return false
}

func ptrOr[T any](p *T, d T) T {
	if p == nil {
		return d
	}
	return *p
}

func writeJSON(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// writeYAML writes normalised objects in key order, one document each.
func writeYAML(path string, objs map[string]object) error {
	var b strings.Builder
	for _, k := range sortedKeys(objs) {
		y, err := yaml.Marshal(objs[k])
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "--- # %s\n%s", k, y)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
