package benchkit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"

	"wasmctl.dev/wasmctl/internal/testenv"
)

// Kubelet is the benchmarks' stand-in for one: a pod informer queues every
// pod of its namespace not yet Running and Ready and not being deleted,
// and workers mark them so through the status subresource, as a kubelet
// reports started containers whose readiness probes passed. The informers
// the caller adds (StartKubelet's watch) tell Wait when to look at its
// condition again.
type Kubelet struct {
	C       kubernetes.Interface // the bench's client: protobuf, no client-side rate limit
	Pods    listersv1.PodLister
	Updates atomic.Int64 // pod status updates made (retries included)
	Created atomic.Int64 // pods the informer saw added

	ns      string
	queue   workqueue.TypedDelayingInterface[string]
	stopCh  chan struct{}
	factory informers.SharedInformerFactory
	wg      sync.WaitGroup
	changed chan struct{} // an object of a watched informer changed
}

// StartKubelet starts a Kubelet for namespace ns of e with workers
// concurrent status updates. watch adds the informers (of the factory it
// is given, which it must not start) whose changes wake Wait; it keeps
// their listers.
func StartKubelet(e *testenv.Environment, ns string, workers int, watch func(informers.SharedInformerFactory) []cache.SharedIndexInformer) (*Kubelet, error) {
	cfg := e.RESTConfig()
	cfg.QPS = -1 // no client-side limit: the controllers, not the bench, should bound the run
	cfg.ContentType = runtime.ContentTypeProtobuf
	cfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	k := &Kubelet{C: c, ns: ns, queue: workqueue.NewTypedDelayingQueue[string](), stopCh: make(chan struct{}), changed: make(chan struct{}, 1)}
	k.factory = informers.NewSharedInformerFactoryWithOptions(c, 0, informers.WithNamespace(ns))
	podInformer := k.factory.Core().V1().Pods()
	k.Pods = podInformer.Lister()
	enqueue := func(obj any) {
		if p, ok := obj.(*corev1.Pod); ok && pending(p) {
			k.queue.Add(p.Name)
		}
	}
	if _, err := podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { k.Created.Add(1); enqueue(obj) },
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
	if watch != nil {
		for _, inf := range watch(k.factory) {
			if _, err := inf.AddEventHandler(handler); err != nil {
				return nil, err
			}
		}
	}
	k.factory.Start(k.stopCh)
	for typ, ok := range k.factory.WaitForCacheSync(k.stopCh) {
		if !ok {
			k.Stop()
			return nil, fmt.Errorf("kubelet: %v informer did not sync", typ)
		}
	}
	for range workers {
		k.wg.Go(func() {
			for k.work() {
			}
		})
	}
	return k, nil
}

// PodReady is whether p is Running with Ready true: the Kubelet is done
// with it.
func PodReady(p *corev1.Pod) bool {
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

// pending is whether p is a pod the kubelet has to make Running and Ready.
func pending(p *corev1.Pod) bool {
	return p.DeletionTimestamp == nil && !PodReady(p)
}

// work marks one queued pod Running and Ready, every container running
// and ready; on an error it tries again a little later (a conflict also
// brings the newer pod through the informer).
func (k *Kubelet) work() bool {
	name, shutdown := k.queue.Get()
	if shutdown {
		return false
	}
	defer k.queue.Done(name)
	p, err := k.Pods.Pods(k.ns).Get(name)
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
	p.Status.ContainerStatuses = nil
	for _, c := range p.Spec.Containers {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: c.Name, Image: c.Image, Ready: true,
			Started: ptr.To(true), State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}})
	}
	k.Updates.Add(1)
	if _, err := k.C.CoreV1().Pods(k.ns).UpdateStatus(context.Background(), p, metav1.UpdateOptions{}); err != nil {
		k.queue.AddAfter(name, 50*time.Millisecond)
	}
	return true
}

// Wait runs start (the writes that begin a run) and waits, for at most
// timeout, until done (looked at after each change of a watched
// informer); it returns when the bench's informers first showed that, and
// gives up early when the controller exits or start fails.
func (k *Kubelet) Wait(proc *testenv.Process, timeout time.Duration, start func() error, done func() bool) (time.Time, error) {
	// Drain a stale notification: the state is checked after each change.
	select {
	case <-k.changed:
	default:
	}
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
		case <-k.changed:
			if done() {
				return time.Now(), nil
			}
		case <-tick.C:
			if proc.Exited() {
				return time.Time{}, errors.New("the controller exited")
			}
		case <-deadline:
			return time.Time{}, fmt.Errorf("not complete after %s", timeout)
		}
	}
}

// Stop ends the workers and the informers.
func (k *Kubelet) Stop() {
	k.queue.ShutDown()
	k.wg.Wait()
	close(k.stopCh)
	k.factory.Shutdown()
}

// WebPodSpec is the pod spec of the benchmarks' workloads as a user writes
// it: one container "web" of image with two ports, env (two from the
// downward API), requests, limits and a readiness probe.
func WebPodSpec(image string) corev1.PodSpec {
	field := func(path string) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}
	}
	return corev1.PodSpec{Containers: []corev1.Container{{
		Name: "web", Image: image,
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}, {Name: "metrics", ContainerPort: 9090}},
		Env: []corev1.EnvVar{{Name: "LOG_LEVEL", Value: "info"}, {Name: "LISTEN_ADDR", Value: ":8080"},
			{Name: "POD_NAME", ValueFrom: field("metadata.name")}, {Name: "POD_IP", ValueFrom: field("status.podIP")}},
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
		},
		ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}}},
	}}}
}
