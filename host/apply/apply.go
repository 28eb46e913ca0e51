package apply

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"wasmctl.dev/wasmctl/abi"
)

// Applier applies validated actions: built-in kinds through Native's REST
// clients (the plugin's JSON sent as it is, answers read as protobuf), other
// kinds through the dynamic Client.
type Applier struct {
	Client dynamic.Interface
	Mapper meta.RESTMapper
	// Native, when set, writes the built-in kinds (see NativeClients).
	Native *NativeClients
	// FieldManager is used for every write (and server-side apply).
	FieldManager string
	// Recorder, when set, records the Events of the actions on the primary:
	// an action's own OnSuccess / OnFailure, else for owned creates and
	// deletes SuccessfulCreate / FailedCreate, SuccessfulDelete /
	// FailedDelete, worded by OwnedEvents.
	Recorder record.EventRecorder
	// OwnedEvents words them per owned kind (the manifest's ownedEvents,
	// defaults filled); nil: abi.DefaultOwnedEvents for every kind.
	OwnedEvents OwnedEventsFunc
	// OnResult, when set, is called once per attempted action.
	OnResult func(a *Action, err error)
}

// ActionError is the first action the API server refused.
type ActionError struct {
	Action *Action
	Err    error

	attempted bool // applyOne sent it (not refused before, as by recheck)
}

func (e *ActionError) Error() string {
	return fmt.Sprintf("%s %s: %v", e.Action.Op, describe(*e.Action), e.Err)
}
func (e *ActionError) Unwrap() error { return e.Err }

// Reported tells whether the failure had Events of its own, so the caller
// need not record another: the action's OnFailure, once it was attempted,
// or, for an owned create or delete without Events of its own, the
// manifest's ownedEvents wording (even when that says none).
func (e *ActionError) Reported() bool {
	if hasOwnEvents(e.Action) {
		return e.attempted && len(e.Action.OnFailure) > 0
	}
	return e.Action.Owned && (e.Action.Op == abi.OpCreate || e.Action.Op == abi.OpDelete)
}

// AsABI describes the error for the plugin's next request.
func (e *ActionError) AsABI() *abi.ApplyError {
	o := e.Action.Object
	name := o.GetName()
	if name == "" {
		name = o.GetGenerateName()
	}
	return &abi.ApplyError{
		Op: e.Action.Op, APIVersion: o.GetAPIVersion(), Kind: o.GetKind(), Namespace: o.GetNamespace(), Name: name,
		Reason: string(apierrors.ReasonForError(e.Err)), Message: e.Err.Error(),
	}
}

// Outcome tells the caller which owned creates and deletes did not happen,
// so it can lower its expectations for them.
type Outcome struct {
	Applied        int
	CreatesNotDone int
	DeletesNotDone []string // namespace/name keys
	// DeletesGone are owned deletes that found the object already gone: no
	// watch event may come for them, so their expectations settle now
	// (upstream's DeletionObserved on NotFound). No Event is recorded but
	// the action's OnSuccess.
	DeletesGone      []string
	CreatesSucceeded int
	// PrimaryRVs are the resourceVersions the writes of the primary
	// returned, in order (none when the primary was not written).
	PrimaryRVs []string
	// Written are the owned objects (children and orphans) an update or
	// patch changed, with the resourceVersion the write returned: the
	// caller waits for its cache to show them.
	Written []Written
}

// Written is an owned object the applier wrote.
type Written struct {
	GVK             schema.GroupVersionKind
	Key             string // namespace/name
	ResourceVersion string
}

// Apply runs actions in order. Consecutive creates of owned objects go in
// slow-start batches of 1, 2, 4, ... in parallel, so a create that fails for
// a systematic reason (quota, admission) fails once, not N times;
// consecutive deletes of owned objects run in parallel, and so do
// consecutive patches of owned objects. The first failure stops the rest;
// the returned error wraps it. A delete or patch of an owned object already
// gone counts as done (Outcome.DeletesGone for deletes): there is nothing
// left to change, as upstream controllers treat NotFound.
//
// Writes of the primary chain: a write whose metadata.resourceVersion is the
// primary's (the cached one the plugin was given) follows an earlier write of
// the primary in the same response with the resourceVersion that write
// returned, as upstream's second status write of a sync uses the object its
// first returned. Without it a response could not write the primary twice.
func (ap *Applier) Apply(ctx context.Context, primary Object, actions []Action) (Outcome, error) {
	out, err := ap.apply(ctx, primary, actions)
	for i := range actions {
		if a := &actions[i]; a.Owned && !a.Primary && !a.gone && a.resultRV != "" && (a.Op == abi.OpPatch || a.Op == abi.OpUpdate) {
			out.Written = append(out.Written, Written{GVK: a.GVK, Key: a.Key, ResourceVersion: a.resultRV})
		}
	}
	return out, err
}

func (ap *Applier) apply(ctx context.Context, primary Object, actions []Action) (Outcome, error) {
	var out Outcome
	for i := range actions {
		if actions[i].Orphan {
			if err := ap.recheck(ctx, primary); err != nil {
				ap.notDone(&out, actions)
				return out, &ActionError{Action: &actions[i], Err: err}
			}
			break
		}
	}
	for i := 0; i < len(actions); {
		if actions[i].Op == abi.OpCreate && actions[i].Owned {
			j := i
			for j < len(actions) && actions[j].Op == abi.OpCreate && actions[j].Owned {
				j++
			}
			done, err := ap.slowStartCreates(ctx, primary, actions[i:j])
			out.Applied += done
			out.CreatesSucceeded += done
			if err != nil {
				out.CreatesNotDone += (j - i) - done
				ap.notDone(&out, actions[j:])
				return out, err
			}
			i = j
			continue
		}
		if op := actions[i].Op; (op == abi.OpDelete || op == abi.OpPatch) && actions[i].Owned && !actions[i].Primary {
			// The run ends where an object comes again: two writes of one
			// object keep their order.
			j, seen := i, map[string]bool{}
			for j < len(actions) && actions[j].Op == op && actions[j].Owned && !actions[j].Primary && !seen[actions[j].Key] {
				seen[actions[j].Key] = true
				j++
			}
			failed, err := ap.parallel(ctx, primary, actions[i:j])
			out.Applied += (j - i) - len(failed)
			for k := i; k < j; k++ {
				if actions[k].gone && op == abi.OpDelete {
					out.DeletesGone = append(out.DeletesGone, actions[k].Key)
				}
			}
			if err != nil {
				if op == abi.OpDelete {
					out.DeletesNotDone = append(out.DeletesNotDone, failed...)
				}
				ap.notDone(&out, actions[j:])
				return out, err
			}
			i = j
			continue
		}
		if n := len(out.PrimaryRVs); actions[i].Primary && n > 0 && actions[i].Object.GetResourceVersion() == primary.GetResourceVersion() {
			actions[i].Object.SetResourceVersion(out.PrimaryRVs[n-1])
			actions[i].raw = nil
		}
		if err := ap.applyOne(ctx, primary, &actions[i]); err != nil {
			ap.notDone(&out, actions[i:])
			return out, err
		}
		if actions[i].Primary && actions[i].resultRV != "" {
			out.PrimaryRVs = append(out.PrimaryRVs, actions[i].resultRV)
		}
		out.Applied++
		i++
	}
	return out, nil
}

func (ap *Applier) notDone(out *Outcome, rest []Action) {
	for _, a := range rest {
		if !a.Owned {
			continue
		}
		switch a.Op {
		case abi.OpCreate:
			out.CreatesNotDone++
		case abi.OpDelete:
			out.DeletesNotDone = append(out.DeletesNotDone, a.Key)
		}
	}
}

// slowStartCreates returns how many creates succeeded and the first error.
func (ap *Applier) slowStartCreates(ctx context.Context, primary Object, creates []Action) (int, error) {
	done := 0
	for batch := 1; done < len(creates); batch *= 2 {
		n := min(batch, len(creates)-done)
		var wg sync.WaitGroup
		errs := make([]error, n)
		for k := range n {
			wg.Go(func() { errs[k] = ap.applyOne(ctx, primary, &creates[done+k]) })
		}
		wg.Wait()
		var first error
		for _, err := range errs {
			if err == nil {
				done++
			} else if first == nil {
				first = err
			}
		}
		if first != nil {
			return done, first
		}
	}
	return done, nil
}

// parallel applies deletes or patches of owned objects concurrently, as
// upstream controllers do (the client's rate limit is the bound), and
// returns the keys that failed with the first error.
func (ap *Applier) parallel(ctx context.Context, primary Object, actions []Action) ([]string, error) {
	const maxParallel = 64
	errs := make([]error, len(actions))
	sem := make(chan struct{}, maxParallel)
	var wg sync.WaitGroup
	for k := range actions {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[k] = ap.applyOne(ctx, primary, &actions[k])
		})
	}
	wg.Wait()
	var failed []string
	var first error
	for k, err := range errs {
		if err != nil {
			failed = append(failed, actions[k].Key)
			if first == nil {
				first = err
			}
		}
	}
	return failed, first
}

func (ap *Applier) resource(a *Action) (dynamic.ResourceInterface, *meta.RESTMapping, error) {
	m, err := ap.Mapper.RESTMapping(a.GVK.GroupKind(), a.GVK.Version)
	if err != nil {
		return nil, nil, err
	}
	r := ap.Client.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return r.Namespace(a.Object.GetNamespace()), m, nil
	}
	return r, m, nil
}

// recheck is upstream's CanAdopt: before adopting, re-read the primary
// from the API server (not the cache) and refuse if it is gone, replaced or
// being deleted.
func (ap *Applier) recheck(ctx context.Context, primary Object) error {
	gvk := primary.GetObjectKind().GroupVersionKind()
	u := &unstructured.Unstructured{}
	u.SetNamespace(primary.GetNamespace())
	r, _, err := ap.resource(&Action{GVK: gvk, Object: u})
	if err != nil {
		return err
	}
	fresh, err := r.Get(ctx, primary.GetName(), metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("can't recheck DeletionTimestamp: %w", err)
	}
	if fresh.GetUID() != primary.GetUID() {
		return fmt.Errorf("original %s %s/%s is gone: got uid %s, wanted %s", gvk.Kind, primary.GetNamespace(), primary.GetName(), fresh.GetUID(), primary.GetUID())
	}
	if fresh.GetDeletionTimestamp() != nil {
		return fmt.Errorf("%s %s/%s has just been deleted at %v", gvk.Kind, primary.GetNamespace(), primary.GetName(), fresh.GetDeletionTimestamp())
	}
	return nil
}

func (ap *Applier) applyOne(ctx context.Context, primary Object, a *Action) (err error) {
	var created string
	defer func() {
		if ap.OnResult != nil {
			ap.OnResult(a, err)
		}
		ap.record(primary, a, created, a.gone, err)
		if err != nil {
			err = &ActionError{Action: a, Err: err, attempted: true}
		}
	}()
	r, mapping, err := ap.resource(a)
	if err != nil {
		return err
	}
	obj := a.Object
	if a.Op == abi.OpCreate && a.Owned && metav1.GetControllerOfNoCopy(obj) == nil {
		obj.SetOwnerReferences(append(obj.GetOwnerReferences(), ControllerRef(primary)))
		a.raw = nil
	}
	if a.Op != abi.OpDelete {
		if native, ok := ap.Native.For(a.GVK); ok {
			var name string
			name, a.resultRV, err = nativeWrite(ctx, native, mapping, a, ap.FieldManager)
			if err == nil && a.Op == abi.OpCreate {
				created = name
			}
			return ap.patchedGone(a, err)
		}
	}
	var res *unstructured.Unstructured
	switch a.Op {
	case abi.OpCreate:
		if res, err = r.Create(ctx, obj, metav1.CreateOptions{FieldManager: ap.FieldManager}); err == nil {
			created = res.GetName()
		}
	case abi.OpUpdate:
		res, err = r.Update(ctx, obj, metav1.UpdateOptions{FieldManager: ap.FieldManager})
	case abi.OpUpdateStatus:
		res, err = r.UpdateStatus(ctx, obj, metav1.UpdateOptions{FieldManager: ap.FieldManager})
	case abi.OpPatch:
		var sub []string
		if a.Subresource != "" {
			sub = []string{a.Subresource}
		}
		pt, opts := patchOptions(a, ap.FieldManager)
		res, err = r.Patch(ctx, obj.GetName(), pt, a.Patch, opts, sub...)
	case abi.OpDelete:
		opts := metav1.DeleteOptions{}
		if uid := obj.GetUID(); uid != "" {
			opts.Preconditions = &metav1.Preconditions{UID: &uid}
		}
		if a.PropagationPolicy != "" {
			p := metav1.DeletionPropagation(a.PropagationPolicy)
			opts.PropagationPolicy = &p
		}
		err = r.Delete(ctx, obj.GetName(), opts)
		if apierrors.IsNotFound(err) {
			a.gone, err = true, nil // already gone: what the plugin wanted
		}
	}
	if err == nil && res != nil && a.Op != abi.OpCreate {
		a.resultRV = res.GetResourceVersion()
	}
	return ap.patchedGone(a, err)
}

// patchedGone turns NotFound for a patch of an owned object into success
// (marked gone): the object the plugin wanted changed no longer exists.
func (ap *Applier) patchedGone(a *Action, err error) error {
	if a.Op == abi.OpPatch && a.Owned && !a.Primary && apierrors.IsNotFound(err) {
		a.gone = true
		return nil
	}
	return err
}

// patchOptions maps an action's patch type to the API's, and forces
// server-side apply: a controller owns the fields it applies.
func patchOptions(a *Action, fieldManager string) (types.PatchType, metav1.PatchOptions) {
	opts := metav1.PatchOptions{FieldManager: fieldManager}
	pt := map[abi.PatchType]types.PatchType{
		abi.PatchMerge: types.MergePatchType, abi.PatchJSON: types.JSONPatchType,
		abi.PatchStrategic: types.StrategicMergePatchType, abi.PatchApply: types.ApplyPatchType,
	}[a.PatchType]
	if pt == types.ApplyPatchType {
		force := true
		opts.Force = &force
	}
	return pt, opts
}

// RemoveFinalizers removes finalizers from obj, an object of an owns kind,
// with a merge patch that carries obj's resourceVersion: if the object
// changed since it was read the API server answers Conflict and the caller
// looks again. An object already gone counts as done.
func (ap *Applier) RemoveFinalizers(ctx context.Context, obj Object, finalizers []string) error {
	var keep []string
	for _, f := range obj.GetFinalizers() {
		if !slices.Contains(finalizers, f) {
			keep = append(keep, f)
		}
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"resourceVersion": obj.GetResourceVersion(), "finalizers": keep}})
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(obj.GetObjectKind().GroupVersionKind())
	u.SetNamespace(obj.GetNamespace())
	u.SetName(obj.GetName())
	a := &Action{
		Action: abi.Action{Op: abi.OpPatch, PatchType: abi.PatchMerge, Patch: patch},
		GVK:    u.GroupVersionKind(), Object: u, Owned: true,
		Key: cache.MetaObjectToName(u).String(),
	}
	return ap.applyOne(ctx, obj, a)
}
