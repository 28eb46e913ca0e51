// Package replicaset is the ReplicaSet controller of kube-controller-manager
// (v1.37) as a wasmctl plugin's logic: plain Go, tested natively, wrapped for
// Wasm by plugins/replicaset/cmd.
//
// One call is one upstream syncReplicaSet: claim pods (adopt matching
// orphans, release owned pods that no longer match), create or delete pods
// towards spec.replicas (at most 500 per call, deletions ranked as upstream
// ranks them), and write status. The host supplies what upstream keeps in
// its own state: expectations (the plugin is only called once earlier creates
// and deletes are observed), the uncached recheck before adoption, slow-start
// batching of creates, and the previous call's apply error (ReplicaFailure).
// docs/controllers/replicaset.md states each upstream rule the plugin and
// the host follow, with upstream file:line and the tests that cover it, and
// lists where they differ from upstream.
package replicaset

import (
	"fmt"
	"time"

	"github.com/valyala/fastjson"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/abi/sdk/controller"
	"wasmctl.dev/wasmctl/abi/sdk/labels"
	"wasmctl.dev/wasmctl/abi/sdk/meta"
)

// BurstReplicas caps the creates or deletes of one call (upstream
// burstReplicas).
const BurstReplicas = 500

// RelatedPods is the name of the related input carrying the pods selected
// by this ReplicaSet and its siblings (same controller owner), for the
// colocation rank.
const RelatedPods = "pods"

// Manifest describes the plugin.
func Manifest() *abi.Manifest {
	return &abi.Manifest{
		Name:    "replicaset",
		Version: "0.1.0",
		For:     abi.TypeRef{APIVersion: "apps/v1", Kind: "ReplicaSet"},
		Owns:    []abi.TypeRef{{APIVersion: "v1", Kind: "Pod"}},
		// The sibling pods only rank deletions: upstream is not woken by
		// their changes, so neither is the plugin (passive).
		Related: []abi.RelatedInput{{Name: RelatedPods, Type: abi.TypeRef{APIVersion: "v1", Kind: "Pod"}, Select: abi.SelectSiblingSelected, Passive: true}},
		// The echo of its own status write changes nothing it computes
		// (upstream syncs on it and finds nothing to do).
		IgnoreOwnWrites: true,
		// Only what decodePod reads crosses into the plugin: a pod shrinks
		// from ~2 KiB to ~0.5 KiB of JSON.
		Fields: []abi.FieldSelection{{Type: abi.TypeRef{APIVersion: "v1", Kind: "Pod"}, Paths: []string{
			"metadata.labels",
			"metadata.annotations[" + deletionCostAnnotation + "]",
			"metadata.ownerReferences",
			"metadata.deletionTimestamp",
			"metadata.creationTimestamp",
			"spec.nodeName",
			"spec.initContainers.name",
			"spec.initContainers.restartPolicy",
			"status.phase",
			"status.conditions.type",
			"status.conditions.status",
			"status.conditions.lastTransitionTime",
			"status.containerStatuses.restartCount",
			"status.initContainerStatuses.name",
			"status.initContainerStatuses.restartCount",
		}}},
	}
}

// parser is reused across calls: a plugin instance serves one call at a time.
var parser fastjson.Parser

// Reconcile is one sync of one ReplicaSet.
func Reconcile(input []byte) (*abi.ReconcileResponse, error) {
	req, err := parser.ParseBytes(input)
	if err != nil {
		return nil, fmt.Errorf("decode request: %w", err)
	}
	if v := str(req, "apiVersion"); v != abi.Version {
		return nil, fmt.Errorf("request apiVersion %q, want %q", v, abi.Version)
	}
	now, err := time.Parse(time.RFC3339Nano, str(req, "now"))
	if err != nil {
		return nil, fmt.Errorf("request now: %w", err)
	}
	obj := req.Get("object")
	if obj == nil {
		return nil, fmt.Errorf("request has no object")
	}
	rs, err := decodeReplicaSet(obj)
	if err != nil {
		return nil, err
	}
	in := syncInput{rs: rs, now: now}
	for _, c := range req.GetArray("children") {
		in.children = append(in.children, decodePod(c))
	}
	for _, c := range req.GetArray("orphans") {
		in.orphans = append(in.orphans, decodePod(c))
	}
	for _, c := range req.GetArray("related", RelatedPods) {
		in.related = append(in.related, decodeRelatedPod(c))
	}
	if le := req.Get("lastError"); le != nil && le.Type() == fastjson.TypeObject {
		in.lastError = &abi.ApplyError{Op: abi.Op(str(le, "op")), Kind: str(le, "kind"), Message: str(le, "message")}
	}
	return syncReplicaSet(in, obj)
}

type syncInput struct {
	rs                         *ReplicaSet
	children, orphans, related []*Pod
	lastError                  *abi.ApplyError
	now                        time.Time
}

// syncReplicaSet computes the response; obj is the ReplicaSet as received, which the
// status write sends back with the new status.
func syncReplicaSet(in syncInput, obj *fastjson.Value) (*abi.ReconcileResponse, error) {
	rs, resp := in.rs, abi.NewResponse()
	if rs.Selector == nil || rs.SelectorErr != nil {
		// Upstream logs and gives up on a selector it cannot convert.
		return resp, nil
	}

	// Owned pods are listed by controllerRef kind, name and UID (the host
	// matched the UID).
	var listed []*Pod
	for _, p := range in.children {
		if p.Controller != nil && p.Controller.Kind == "ReplicaSet" && p.Controller.Name == rs.Name && p.Controller.UID == rs.UID {
			listed = append(listed, p)
		}
	}
	listed = append(listed, in.orphans...)

	// Claim the active pods; count terminating owned pods that match.
	var claimed []*Pod
	terminating := int32(0)
	for _, p := range listed {
		if !p.active() {
			if controller.IsPodTerminating(p.Phase, p.Deleting) && p.Controller != nil && rs.Selector.MatchesFunc(p.Labels.Get) {
				terminating++
			}
			continue
		}
		matches := rs.Selector.MatchesFunc(p.Labels.Get)
		switch {
		case p.Controller != nil && matches:
			claimed = append(claimed, p)
		case p.Controller != nil:
			if !rs.Deleting {
				if err := controller.AddRelease(resp, rs.ref(), p.ref()); err != nil {
					return nil, err
				}
			}
		case matches && !rs.Deleting:
			if err := controller.AddAdopt(resp, rs.ref(), p.ref()); err != nil {
				return nil, err
			}
			claimed = append(claimed, p)
		}
	}

	diff := len(claimed) - int(rs.Replicas)
	var manage []abi.Action
	if !rs.Deleting && diff != 0 {
		// Related pods (colocation rank): those selected by this ReplicaSet
		// or a sibling under the same owner. The host sends the siblings'
		// and leaves out what children and orphans already carry.
		var related []*Pod
		if rs.Controller != nil {
			related = in.related
			for _, p := range listed {
				if rs.Selector.MatchesFunc(p.Labels.Get) {
					related = append(related, p)
				}
			}
		}
		manage = manageReplicas(rs, claimed, related, diff, in.now)
	}

	// An error of the previous call's creates or deletes stands for this
	// call's manageReplicasErr while there is still work of that kind.
	var manageErr *abi.ApplyError
	if le := in.lastError; le != nil && le.Kind == "Pod" && (le.Op == abi.OpCreate || le.Op == abi.OpDelete) && diff != 0 && !rs.Deleting {
		manageErr = le
	}
	status := calculateStatus(rs, claimed, terminating, manageErr, in.now)
	if statusChanged(rs, status) {
		status.ObservedGeneration = rs.Generation
		// Status goes before creates and deletes: it describes the pods as
		// listed (as upstream's does) and must be written even when the
		// creates fail.
		resp.Actions = append(resp.Actions, abi.Action{Op: abi.OpUpdateStatus, Object: withStatus(obj, &status)})
	}
	resp.Actions = append(resp.Actions, manage...)

	if manageErr == nil && rs.MinReadySeconds > 0 && status.ReadyReplicas != status.AvailableReplicas {
		next := time.Duration(rs.MinReadySeconds) * time.Second
		if d, ok := nextAvailabilityCheck(claimed, rs.MinReadySeconds, in.now); ok {
			next = d
		}
		resp.RequeueAfterSeconds = next.Seconds()
		if resp.RequeueAfterSeconds == 0 {
			resp.RequeueAfterSeconds = 0.001 // "now": zero means no requeue
		}
	}
	return resp, nil
}

func (rs *ReplicaSet) ref() abi.ObjectRef {
	return abi.ObjectRef{APIVersion: "apps/v1", Kind: "ReplicaSet", Namespace: rs.Namespace, Name: rs.Name, UID: rs.UID}
}

func (p *Pod) ref() abi.ObjectRef {
	return abi.ObjectRef{APIVersion: "v1", Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID}
}

// manageReplicas returns the creates (diff < 0) or deletes (diff > 0).
func manageReplicas(rs *ReplicaSet, claimed, related []*Pod, diff int, now time.Time) []abi.Action {
	if diff < 0 {
		pod := podFromTemplate(rs)
		actions := make([]abi.Action, min(-diff, BurstReplicas))
		for i := range actions {
			actions[i] = abi.Action{Op: abi.OpCreate, Object: pod}
		}
		return actions
	}
	var actions []abi.Action
	for _, p := range podsToDelete(claimed, related, min(diff, BurstReplicas), now) {
		actions = append(actions, abi.Action{Op: abi.OpDelete, Object: podToDelete(p)})
	}
	return actions
}

// calculateStatus is upstream calculateStatus over the claimed active pods.
func calculateStatus(rs *ReplicaSet, claimed []*Pod, terminating int32, manageErr *abi.ApplyError, now time.Time) Status {
	st := rs.Status // the SDK's condition helpers never write to rs.Status.Conditions
	templateLabels := labels.SelectorFromSet(rs.Template.Labels)
	var fullyLabeled, ready, available int32
	for _, p := range claimed {
		if templateLabels.MatchesFunc(p.Labels.Get) {
			fullyLabeled++
		}
		if p.Ready {
			ready++
			if controller.IsPodAvailable(p.Ready, p.ReadyTime, rs.MinReadySeconds, now) {
				available++
			}
		}
	}
	failure := controller.GetCondition(st.Conditions, "ReplicaFailure")
	switch {
	case manageErr != nil && failure == nil:
		reason := ""
		if diff := len(claimed) - int(rs.Replicas); diff < 0 {
			reason = "FailedCreate"
		} else if diff > 0 {
			reason = "FailedDelete"
		}
		st.Conditions = controller.SetCondition(st.Conditions, controller.WorkloadCondition{
			Type: "ReplicaFailure", Status: meta.ConditionTrue, Reason: reason, Message: manageErr.Message,
			LastTransitionTime: meta.NewTime(now),
		})
	case manageErr == nil && failure != nil:
		st.Conditions = controller.RemoveCondition(st.Conditions, "ReplicaFailure")
	}
	st.Replicas = int32(len(claimed))
	st.FullyLabeledReplicas = fullyLabeled
	st.ReadyReplicas = ready
	st.AvailableReplicas = available
	st.TerminatingReplicas = &terminating
	return st
}

// nextAvailabilityCheck is upstream FindMinNextPodAvailabilityCheck with one
// clock: the soonest time a ready pod becomes available.
func nextAvailabilityCheck(pods []*Pod, minReadySeconds int32, now time.Time) (time.Duration, bool) {
	var best time.Duration
	found := false
	for _, p := range pods {
		if d, ok := controller.NextAvailabilityCheck(p.Ready, p.ReadyTime, minReadySeconds, now); ok && (!found || d < best) {
			best, found = d, true
		}
	}
	return best, found
}

// statusChanged is the negation of upstream's skip condition: counts,
// terminatingReplicas (nil differs from 0), conditions and
// observedGeneration == generation.
func statusChanged(rs *ReplicaSet, st Status) bool {
	old := rs.Status
	if old.Replicas != st.Replicas || old.FullyLabeledReplicas != st.FullyLabeledReplicas ||
		old.ReadyReplicas != st.ReadyReplicas || old.AvailableReplicas != st.AvailableReplicas ||
		rs.Generation != old.ObservedGeneration {
		return true
	}
	if (old.TerminatingReplicas == nil) != (st.TerminatingReplicas == nil) ||
		(old.TerminatingReplicas != nil && *old.TerminatingReplicas != *st.TerminatingReplicas) {
		return true
	}
	if len(old.Conditions) != len(st.Conditions) {
		return true
	}
	for i := range old.Conditions {
		if old.Conditions[i] != st.Conditions[i] {
			return true
		}
	}
	return false
}
