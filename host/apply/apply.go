package apply

import (
	"context"
	"fmt"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/record"

	"wasmctl.dev/wasmctl/abi"
)

// Applier applies validated actions with a dynamic client.
type Applier struct {
	Client dynamic.Interface
	Mapper meta.RESTMapper
	// FieldManager is used for every write (and server-side apply).
	FieldManager string
	// Recorder, when set, records upstream's events for owned objects on the
	// primary: SuccessfulCreate / FailedCreate, SuccessfulDelete /
	// FailedDelete.
	Recorder record.EventRecorder
	// OnResult, when set, is called once per attempted action.
	OnResult func(a *Action, err error)
}

// ActionError is the first action the API server refused.
type ActionError struct {
	Action *Action
	Err    error
}

func (e *ActionError) Error() string {
	return fmt.Sprintf("%s %s: %v", e.Action.Op, describe(*e.Action), e.Err)
}
func (e *ActionError) Unwrap() error { return e.Err }

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
	Applied          int
	CreatesNotDone   int
	DeletesNotDone   []string // namespace/name keys
	CreatesSucceeded int
	// PrimaryRV is the resourceVersion the last write of the primary
	// returned ("" when the primary was not written).
	PrimaryRV string
}

// Apply runs actions in order. Consecutive creates of owned objects go in
// slow-start batches of 1, 2, 4, ... in parallel, so a create that fails for
// a systematic reason (quota, admission) fails once, not N times;
// consecutive deletes of owned objects run in parallel. The first failure
// stops the rest; the returned error wraps it. A delete of an object already
// gone counts as done.
func (ap *Applier) Apply(ctx context.Context, primary *unstructured.Unstructured, actions []Action) (Outcome, error) {
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
		if actions[i].Op == abi.OpDelete && actions[i].Owned {
			j := i
			for j < len(actions) && actions[j].Op == abi.OpDelete && actions[j].Owned {
				j++
			}
			failed, err := ap.parallelDeletes(ctx, primary, actions[i:j])
			out.Applied += (j - i) - len(failed)
			if err != nil {
				out.DeletesNotDone = append(out.DeletesNotDone, failed...)
				ap.notDone(&out, actions[j:])
				return out, err
			}
			i = j
			continue
		}
		if err := ap.applyOne(ctx, primary, &actions[i]); err != nil {
			ap.notDone(&out, actions[i:])
			return out, err
		}
		if actions[i].Primary && actions[i].resultRV != "" {
			out.PrimaryRV = actions[i].resultRV
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
func (ap *Applier) slowStartCreates(ctx context.Context, primary *unstructured.Unstructured, creates []Action) (int, error) {
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

// parallelDeletes deletes owned objects concurrently, as upstream
// controllers do (the client's rate limit is the bound), and returns the keys
// that failed with the first error.
func (ap *Applier) parallelDeletes(ctx context.Context, primary *unstructured.Unstructured, deletes []Action) ([]string, error) {
	const maxParallel = 64
	errs := make([]error, len(deletes))
	sem := make(chan struct{}, maxParallel)
	var wg sync.WaitGroup
	for k := range deletes {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[k] = ap.applyOne(ctx, primary, &deletes[k])
		})
	}
	wg.Wait()
	var failed []string
	var first error
	for k, err := range errs {
		if err != nil {
			failed = append(failed, deletes[k].Key)
			if first == nil {
				first = err
			}
		}
	}
	return failed, first
}

func (ap *Applier) resource(a *Action) (dynamic.ResourceInterface, error) {
	m, err := ap.Mapper.RESTMapping(a.GVK.GroupKind(), a.GVK.Version)
	if err != nil {
		return nil, err
	}
	r := ap.Client.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return r.Namespace(a.Object.GetNamespace()), nil
	}
	return r, nil
}

// recheck is upstream's CanAdopt: before adopting, re-read the primary
// from the API server (not the cache) and refuse if it is gone, replaced or
// being deleted.
func (ap *Applier) recheck(ctx context.Context, primary *unstructured.Unstructured) error {
	gv, _ := schema.ParseGroupVersion(primary.GetAPIVersion())
	r, err := ap.resource(&Action{GVK: gv.WithKind(primary.GetKind()), Object: primary})
	if err != nil {
		return err
	}
	fresh, err := r.Get(ctx, primary.GetName(), metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("can't recheck DeletionTimestamp: %w", err)
	}
	if fresh.GetUID() != primary.GetUID() {
		return fmt.Errorf("original %s %s/%s is gone: got uid %s, wanted %s", primary.GetKind(), primary.GetNamespace(), primary.GetName(), fresh.GetUID(), primary.GetUID())
	}
	if fresh.GetDeletionTimestamp() != nil {
		return fmt.Errorf("%s %s/%s has just been deleted at %v", primary.GetKind(), primary.GetNamespace(), primary.GetName(), fresh.GetDeletionTimestamp())
	}
	return nil
}

func (ap *Applier) applyOne(ctx context.Context, primary *unstructured.Unstructured, a *Action) (err error) {
	var created string
	defer func() {
		if ap.OnResult != nil {
			ap.OnResult(a, err)
		}
		ap.record(primary, a, created, err)
		if err != nil {
			err = &ActionError{Action: a, Err: err}
		}
	}()
	r, err := ap.resource(a)
	if err != nil {
		return err
	}
	obj := a.Object
	switch a.Op {
	case abi.OpCreate:
		if a.Owned && metav1.GetControllerOfNoCopy(obj) == nil {
			obj.SetOwnerReferences(append(obj.GetOwnerReferences(), ControllerRef(primary)))
		}
		var res *unstructured.Unstructured
		res, err = r.Create(ctx, obj, metav1.CreateOptions{FieldManager: ap.FieldManager})
		if err == nil {
			created = res.GetName()
		}
	case abi.OpUpdate:
		var res *unstructured.Unstructured
		if res, err = r.Update(ctx, obj, metav1.UpdateOptions{FieldManager: ap.FieldManager}); err == nil {
			a.resultRV = res.GetResourceVersion()
		}
	case abi.OpUpdateStatus:
		var res *unstructured.Unstructured
		if res, err = r.UpdateStatus(ctx, obj, metav1.UpdateOptions{FieldManager: ap.FieldManager}); err == nil {
			a.resultRV = res.GetResourceVersion()
		}
	case abi.OpPatch:
		var sub []string
		if a.Subresource != "" {
			sub = []string{a.Subresource}
		}
		opts := metav1.PatchOptions{FieldManager: ap.FieldManager}
		pt := map[string]types.PatchType{
			abi.PatchMerge: types.MergePatchType, abi.PatchJSON: types.JSONPatchType,
			abi.PatchStrategic: types.StrategicMergePatchType, abi.PatchApply: types.ApplyPatchType,
		}[a.PatchType]
		if pt == types.ApplyPatchType {
			force := true // a controller owns its fields
			opts.Force = &force
		}
		var res *unstructured.Unstructured
		if res, err = r.Patch(ctx, obj.GetName(), pt, a.Patch, opts, sub...); err == nil {
			a.resultRV = res.GetResourceVersion()
		}
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
			err = nil // already gone: what the plugin wanted
		}
	}
	return err
}

// record emits upstream's events for owned creates and deletes.
func (ap *Applier) record(primary *unstructured.Unstructured, a *Action, created string, err error) {
	if ap.Recorder == nil || !a.Owned {
		return
	}
	kind := strings.ToLower(a.GVK.Kind)
	switch {
	case a.Op == abi.OpCreate && err == nil:
		ap.Recorder.Eventf(primary, corev1.EventTypeNormal, "SuccessfulCreate", "Created %s: %s", kind, created)
	case a.Op == abi.OpCreate:
		ap.Recorder.Eventf(primary, corev1.EventTypeWarning, "FailedCreate", "Error creating: %v", err)
	case a.Op == abi.OpDelete && err == nil:
		ap.Recorder.Eventf(primary, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted %s: %s", kind, a.Object.GetName())
	case a.Op == abi.OpDelete:
		ap.Recorder.Eventf(primary, corev1.EventTypeWarning, "FailedDelete", "Error deleting: %v", err)
	}
}
