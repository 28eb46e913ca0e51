package main

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"wasmctl.dev/wasmctl/internal/testenv"
)

// step is one action of the script and the checkpoint after it.
type step struct {
	checkpoint string
	// what the step does, for the document.
	what string
	do   func(ctx context.Context, s *side) error
	// until, if set, must hold as well as the generic conditions
	// (world.unsettled): what the step must have caused before the
	// controllers' quiet means they are done.
	until func(w *world) error
	// hook, if set, runs on every observation while settling.
	hook func(ctx context.Context, s *side, w *world) error
}

// Taints the script puts on nodes.
const (
	evictTaint = "conformance.wasmctl.dev/evict"
	holdTaint  = "conformance.wasmctl.dev/hold"
)

var script = []step{
	{
		checkpoint: "created",
		what: "CronJob `tick` (every minute, created first so its tick overlaps the rest; suspended by the script as soon as its first Job exists, so no second one lands in the run), " +
			"Deployments `web` (3, RollingUpdate), `recreate` (2, Recreate), `paused` (2), ReplicaSet `standalone` (2), StatefulSets `ordered` (3, OrderedReady) and `parallel` (3, Parallel), " +
			"DaemonSets `agent` (RollingUpdate maxSurge 1) and `ondelete` (OnDelete, tolerates the evict taint), Jobs `batch` (completions 3, parallelism 2) and `failing` (pods exit 1, backoffLimit 1)",
		do: func(ctx context.Context, s *side) error {
			return s.create(ctx,
				cronJob("tick"),
				deployment("web", 3, nil),
				deployment("recreate", 2, func(d *appsv1.Deployment) {
					d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
				}),
				deployment("paused", 2, nil),
				replicaSet("standalone", 2),
				statefulSet("ordered", 3, appsv1.OrderedReadyPodManagement),
				statefulSet("parallel", 3, appsv1.ParallelPodManagement),
				daemonSet("agent", func(d *appsv1.DaemonSet) {
					d.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType,
						RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxSurge: ptr.To(intstr.FromInt32(1)), MaxUnavailable: ptr.To(intstr.FromInt32(0))}}
				}),
				daemonSet("ondelete", func(d *appsv1.DaemonSet) {
					d.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType}
					d.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: evictTaint, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}}
				}),
				job("batch", 3, 2, nil),
				job("failing", 1, 1, func(j *batchv1.Job) {
					j.Spec.BackoffLimit = ptr.To[int32](1)
					j.Spec.Template.Annotations = map[string]string{testenv.KwokExitCodeAnnotation: "1"}
				}),
			)
		},
		hook: func(ctx context.Context, s *side, w *world) error {
			for _, c := range w.cronJobs {
				if c.Name == "tick" && !ptrOr(c.Spec.Suspend, false) && len(w.jobsOf("tick")) > 0 {
					return s.patch(ctx, "cronjobs", "tick", `{"spec":{"suspend":true}}`)
				}
			}
			return nil
		},
		until: func(w *world) error {
			if len(w.jobsOf("tick")) == 0 {
				return fmt.Errorf("CronJob tick: no Job yet (it ticks every minute)")
			}
			for _, c := range w.cronJobs {
				if c.Name == "tick" && !ptrOr(c.Spec.Suspend, false) {
					return fmt.Errorf("CronJob tick: not suspended yet")
				}
			}
			return nil
		},
	},
	{
		checkpoint: "scaled-up",
		what:       "`web` 3→5, `recreate` 2→3, `paused` 2→3, `standalone` 2→4, `ordered` 3→5, `parallel` 3→5",
		do: func(ctx context.Context, s *side) error {
			return s.scale(ctx, map[string]int{"deployments/web": 5, "deployments/recreate": 3, "deployments/paused": 3,
				"replicasets/standalone": 4, "statefulsets/ordered": 5, "statefulsets/parallel": 5})
		},
	},
	{
		checkpoint: "scaled-down",
		what:       "`web` 5→2, `recreate` 3→1, `paused` 3→2, `standalone` 4→1, `ordered` 5→2, `parallel` 5→2",
		do: func(ctx context.Context, s *side) error {
			return s.scale(ctx, map[string]int{"deployments/web": 2, "deployments/recreate": 1, "deployments/paused": 2,
				"replicasets/standalone": 1, "statefulsets/ordered": 2, "statefulsets/parallel": 2})
		},
	},
	{
		checkpoint: "rolled",
		what: "image `:1`→`:2` of `web`, `recreate`, `standalone` (a ReplicaSet does not roll: its pod stays), `ordered`, `parallel`, `agent`, `ondelete` (OnDelete: nothing happens); " +
			"`paused`: spec.paused=true, then the image (nothing rolls)",
		do: func(ctx context.Context, s *side) error {
			if err := s.patch(ctx, "deployments", "paused", `{"spec":{"paused":true}}`); err != nil {
				return err
			}
			for _, r := range []string{"deployments/web", "deployments/recreate", "deployments/paused", "replicasets/standalone",
				"statefulsets/ordered", "statefulsets/parallel", "daemonsets/agent", "daemonsets/ondelete"} {
				if err := s.setImage(ctx, r, 2); err != nil {
					return err
				}
			}
			return nil
		},
		until: func(w *world) error {
			for _, d := range w.deployments {
				if d.Name == "paused" && !hasDeploymentCondition(d, appsv1.DeploymentProgressing, "DeploymentPaused") {
					return fmt.Errorf("Deployment paused: no Progressing DeploymentPaused condition")
				}
			}
			return nil
		},
	},
	{
		checkpoint: "resumed",
		what:       "`paused`: spec.paused=false (it rolls); the `ondelete` pod on kwok-node-1 and the `standalone` pod deleted (replaced from the current template)",
		do: func(ctx context.Context, s *side) error {
			if err := s.patch(ctx, "deployments", "paused", `{"spec":{"paused":false}}`); err != nil {
				return err
			}
			pods, err := s.c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			n := 0
			for _, p := range pods.Items {
				if p.Labels["app"] == "ondelete" && p.Spec.NodeName == "kwok-node-1" || p.Labels["app"] == "standalone" {
					n++
					if err := s.c.CoreV1().Pods(ns).Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil {
						return err
					}
				}
			}
			if n != 2 {
				return fmt.Errorf("deleted %d pods, want the ondelete pod on kwok-node-1 and the standalone pod", n)
			}
			return nil
		},
		until: func(w *world) error {
			for _, d := range w.daemons {
				if d.Name == "ondelete" && d.Status.UpdatedNumberScheduled != 1 {
					return fmt.Errorf("DaemonSet ondelete: %d updated pods, want 1", d.Status.UpdatedNumberScheduled)
				}
			}
			for _, p := range w.pods {
				if p.Labels["app"] == "standalone" && p.Spec.Containers[0].Image != image("standalone", 2) {
					return fmt.Errorf("ReplicaSet standalone: pod %s still has the old image", p.Name)
				}
			}
			return nil
		},
	},
	{
		checkpoint: "node-added",
		what:       "node kwok-node-4 added (both DaemonSets get a pod there)",
		do: func(ctx context.Context, s *side) error {
			return testenv.CreateKwokNodes(ctx, s.c, false, "kwok-node-4")
		},
		until: func(w *world) error { return w.daemonsDesire(map[string]int32{"agent": 4, "ondelete": 4}) },
	},
	{
		checkpoint: "tainted-noexecute",
		what:       "kwok-node-4 tainted `" + evictTaint + "=true:NoExecute`: `agent`'s pod there goes (no toleration; the daemon tolerations cover only the node conditions), `ondelete`'s stays",
		do: func(ctx context.Context, s *side) error {
			return s.taint(ctx, "kwok-node-4", corev1.Taint{Key: evictTaint, Value: "true", Effect: corev1.TaintEffectNoExecute})
		},
		until: func(w *world) error { return w.daemonsDesire(map[string]int32{"agent": 3, "ondelete": 4}) },
	},
	{
		checkpoint: "tainted-noschedule",
		what: "kwok-node-3 tainted `" + holdTaint + ":NoSchedule` (the daemon pods there may stay: `ondelete`'s does), then `agent` rolled to `:3` " +
			"(its old pod on kwok-node-3 is deleted by the rollout and not replaced: new pods may not go there)",
		do: func(ctx context.Context, s *side) error {
			if err := s.taint(ctx, "kwok-node-3", corev1.Taint{Key: holdTaint, Effect: corev1.TaintEffectNoSchedule}); err != nil {
				return err
			}
			return s.setImage(ctx, "daemonsets/agent", 3)
		},
		// Not ondelete: kube-controller-manager does not sync a DaemonSet
		// whose pod on the node may stay (docs/controllers/daemonset.md,
		// Triggers), so its status keeps the node.
		until: func(w *world) error { return w.daemonsDesire(map[string]int32{"agent": 2}) },
	},
	{
		checkpoint: "deleted-background",
		what:       "deleted with propagationPolicy Background: `web`, `parallel`, `ondelete`, `batch`; `standalone` with Orphan (its pod stays, ownerless)",
		do: func(ctx context.Context, s *side) error {
			bg := metav1.DeletePropagationBackground
			for _, r := range []string{"deployments/web", "statefulsets/parallel", "daemonsets/ondelete", "jobs/batch"} {
				if err := s.delete(ctx, r, bg); err != nil {
					return err
				}
			}
			return s.delete(ctx, "replicasets/standalone", metav1.DeletePropagationOrphan)
		},
		until: func(w *world) error {
			if err := w.gone("Deployment/web", "StatefulSet/parallel", "DaemonSet/ondelete", "Job/batch", "ReplicaSet/standalone"); err != nil {
				return err
			}
			for _, p := range w.pods {
				if p.Labels["app"] == "standalone" && len(p.OwnerReferences) > 0 {
					return fmt.Errorf("pod %s: still has owner references", p.Name)
				}
			}
			return nil
		},
	},
	{
		checkpoint: "deleted-foreground",
		what:       "deleted with propagationPolicy Foreground: `recreate`, `paused`, `ordered`, `agent`, `failing`, `tick`",
		do: func(ctx context.Context, s *side) error {
			for _, r := range []string{"deployments/recreate", "deployments/paused", "statefulsets/ordered", "daemonsets/agent", "jobs/failing", "cronjobs/tick"} {
				if err := s.delete(ctx, r, metav1.DeletePropagationForeground); err != nil {
					return err
				}
			}
			return nil
		},
		until: func(w *world) error {
			return w.gone("Deployment/recreate", "Deployment/paused", "StatefulSet/ordered", "DaemonSet/agent", "Job/failing", "CronJob/tick")
		},
	},
}

func image(app string, version int) string {
	return fmt.Sprintf("registry.example/%s:%d", app, version)
}

func podTemplate(app string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: image(app, 1)}}},
	}
}

func selector(app string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}
}

func deployment(name string, replicas int32, mutate func(*appsv1.Deployment)) *appsv1.Deployment {
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To(replicas), Selector: selector(name), Template: podTemplate(name)},
	}
	if mutate != nil {
		mutate(d)
	}
	return d
}

func replicaSet(name string, replicas int32) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       appsv1.ReplicaSetSpec{Replicas: ptr.To(replicas), Selector: selector(name), Template: podTemplate(name)},
	}
}

func statefulSet(name string, replicas int32, policy appsv1.PodManagementPolicyType) *appsv1.StatefulSet {
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.StatefulSetSpec{Replicas: ptr.To(replicas), Selector: selector(name), Template: podTemplate(name),
			ServiceName: name, PodManagementPolicy: policy},
	}
}

func daemonSet(name string, mutate func(*appsv1.DaemonSet)) *appsv1.DaemonSet {
	d := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       appsv1.DaemonSetSpec{Selector: selector(name), Template: podTemplate(name)},
	}
	if mutate != nil {
		mutate(d)
	}
	return d
}

func job(name string, completions, parallelism int32, mutate func(*batchv1.Job)) *batchv1.Job {
	t := podTemplate(name)
	t.Spec.RestartPolicy = corev1.RestartPolicyNever
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       batchv1.JobSpec{Completions: ptr.To(completions), Parallelism: ptr.To(parallelism), Template: t},
	}
	if mutate != nil {
		mutate(j)
	}
	return j
}

func cronJob(name string) *batchv1.CronJob {
	t := podTemplate(name)
	t.Spec.RestartPolicy = corev1.RestartPolicyNever
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.CronJobSpec{Schedule: "* * * * *", JobTemplate: batchv1.JobTemplateSpec{
			Spec: batchv1.JobSpec{Template: t},
		}},
	}
}

func (s *side) create(ctx context.Context, objs ...any) error {
	for _, o := range objs {
		var err error
		switch o := o.(type) {
		case *appsv1.Deployment:
			_, err = s.c.AppsV1().Deployments(ns).Create(ctx, o, metav1.CreateOptions{})
		case *appsv1.ReplicaSet:
			_, err = s.c.AppsV1().ReplicaSets(ns).Create(ctx, o, metav1.CreateOptions{})
		case *appsv1.StatefulSet:
			_, err = s.c.AppsV1().StatefulSets(ns).Create(ctx, o, metav1.CreateOptions{})
		case *appsv1.DaemonSet:
			_, err = s.c.AppsV1().DaemonSets(ns).Create(ctx, o, metav1.CreateOptions{})
		case *batchv1.Job:
			_, err = s.c.BatchV1().Jobs(ns).Create(ctx, o, metav1.CreateOptions{})
		case *batchv1.CronJob:
			_, err = s.c.BatchV1().CronJobs(ns).Create(ctx, o, metav1.CreateOptions{})
		default:
			err = fmt.Errorf("cannot create %T", o)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// patch sends a merge patch to resource ("deployments", ...) name.
func (s *side) patch(ctx context.Context, resource, name, body string) error {
	return s.patchAs(ctx, types.MergePatchType, resource, name, body)
}

func (s *side) patchAs(ctx context.Context, pt types.PatchType, resource, name, body string) error {
	group := map[string]string{"deployments": "apps", "replicasets": "apps", "statefulsets": "apps", "daemonsets": "apps",
		"jobs": "batch", "cronjobs": "batch"}[resource]
	if group == "" {
		return fmt.Errorf("unknown resource %s", resource)
	}
	var err error
	switch group {
	case "apps":
		err = s.c.AppsV1().RESTClient().Patch(pt).Namespace(ns).Resource(resource).Name(name).Body([]byte(body)).Do(ctx).Error()
	case "batch":
		err = s.c.BatchV1().RESTClient().Patch(pt).Namespace(ns).Resource(resource).Name(name).Body([]byte(body)).Do(ctx).Error()
	}
	if err != nil {
		return fmt.Errorf("patch %s/%s: %w", resource, name, err)
	}
	return nil
}

// scale sets spec.replicas of "resource/name" keys, in key order.
func (s *side) scale(ctx context.Context, to map[string]int) error {
	for _, k := range sortedKeys(to) {
		resource, name := split(k)
		if err := s.patch(ctx, resource, name, fmt.Sprintf(`{"spec":{"replicas":%d}}`, to[k])); err != nil {
			return err
		}
	}
	return nil
}

// setImage sets the image of the template's container "main", as kubectl
// set image does (a strategic merge patch of the container).
func (s *side) setImage(ctx context.Context, key string, version int) error {
	resource, name := split(key)
	return s.patchAs(ctx, types.StrategicMergePatchType, resource, name, fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"main","image":%q}]}}}}`, image(name, version)))
}

func (s *side) delete(ctx context.Context, key string, policy metav1.DeletionPropagation) error {
	resource, name := split(key)
	opts := metav1.DeleteOptions{PropagationPolicy: &policy}
	var err error
	switch resource {
	case "deployments":
		err = s.c.AppsV1().Deployments(ns).Delete(ctx, name, opts)
	case "replicasets":
		err = s.c.AppsV1().ReplicaSets(ns).Delete(ctx, name, opts)
	case "statefulsets":
		err = s.c.AppsV1().StatefulSets(ns).Delete(ctx, name, opts)
	case "daemonsets":
		err = s.c.AppsV1().DaemonSets(ns).Delete(ctx, name, opts)
	case "jobs":
		err = s.c.BatchV1().Jobs(ns).Delete(ctx, name, opts)
	case "cronjobs":
		err = s.c.BatchV1().CronJobs(ns).Delete(ctx, name, opts)
	default:
		err = fmt.Errorf("unknown resource %s", resource)
	}
	if err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

func (s *side) taint(ctx context.Context, node string, t corev1.Taint) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := s.c.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return err
		}
		n.Spec.Taints = append(n.Spec.Taints, t)
		_, err = s.c.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
		return err
	})
}

func split(key string) (resource, name string) {
	for i := range key {
		if key[i] == '/' {
			return key[:i], key[i+1:]
		}
	}
	return key, ""
}

// jobsOf are the Jobs controlled by CronJob name.
func (w *world) jobsOf(cronJob string) []string {
	var out []string
	for _, j := range w.jobs {
		if c := metav1.GetControllerOf(&j); c != nil && c.Kind == "CronJob" && c.Name == cronJob {
			out = append(out, j.Name)
		}
	}
	return out
}

func (w *world) daemonsDesire(want map[string]int32) error {
	for _, d := range w.daemons {
		if n, ok := want[d.Name]; ok && d.Status.DesiredNumberScheduled != n {
			return fmt.Errorf("DaemonSet %s: desiredNumberScheduled %d, want %d", d.Name, d.Status.DesiredNumberScheduled, n)
		}
	}
	return nil
}

// gone checks that none of the "Kind/name" objects exists.
func (w *world) gone(keys ...string) error {
	have := map[string]bool{}
	for _, o := range w.objects() {
		have[fmt.Sprintf("%s/%s", o["kind"], str(o, "metadata", "name"))] = true
	}
	for _, k := range keys {
		if have[k] {
			return fmt.Errorf("%s still exists", k)
		}
	}
	return nil
}
