package apply

import (
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"wasmctl.dev/wasmctl/abi"
)

// Reasons of the Events recorded for owned creates and deletes: upstream's
// (pkg/controller/controller_utils.go and the CronJob controller).
const (
	ReasonSuccessfulCreate = "SuccessfulCreate"
	ReasonFailedCreate     = "FailedCreate"
	ReasonSuccessfulDelete = "SuccessfulDelete"
	ReasonFailedDelete     = "FailedDelete"
)

var eventToken = regexp.MustCompile(`\{[^{}]*\}`)

// eventTokens are the placeholders of an abi.OwnedEvents message.
var eventTokens = map[string]bool{
	"{name}": true, "{kind}": true, "{kindLower}": true, "{namespace}": true,
	"{primary}": true, "{primaryKind}": true, "{error}": true,
}

// CheckOwnedEvents validates the messages of e: known placeholders only.
func CheckOwnedEvents(e abi.OwnedEvents) error {
	for field, msg := range map[string]string{"created": e.Created, "createFailed": e.CreateFailed, "deleted": e.Deleted, "deleteFailed": e.DeleteFailed} {
		for _, tok := range eventToken.FindAllString(msg, -1) {
			if !eventTokens[tok] {
				return fmt.Errorf("%s: unknown placeholder %s (want {name}, {kind}, {kindLower}, {namespace}, {primary}, {primaryKind} or {error})", field, tok)
			}
		}
	}
	return nil
}

// WithDefaults fills the empty messages of e from abi.DefaultOwnedEvents.
func WithDefaults(e abi.OwnedEvents) abi.OwnedEvents {
	d := abi.DefaultOwnedEvents
	for _, f := range []struct {
		dst *string
		def string
	}{
		{&e.Created, d.Created}, {&e.CreateFailed, d.CreateFailed}, {&e.Deleted, d.Deleted}, {&e.DeleteFailed, d.DeleteFailed},
	} {
		if *f.dst == "" {
			*f.dst = f.def
		}
	}
	return e
}

// renderEvent fills a message template.
func renderEvent(tmpl string, primary Object, a *Action, name string, err error) string {
	errText := ""
	if err != nil {
		errText = err.Error()
	}
	return strings.NewReplacer(
		"{name}", name,
		"{kind}", a.GVK.Kind,
		"{kindLower}", strings.ToLower(a.GVK.Kind),
		"{namespace}", a.Object.GetNamespace(),
		"{primary}", primary.GetName(),
		"{primaryKind}", primary.GetObjectKind().GroupVersionKind().Kind,
		"{error}", errText,
	).Replace(tmpl)
}

// record emits the Events of an applied (or refused) action: the action's
// own OnSuccess / OnFailure when it has any, whatever its kind and op, else
// for an owned create or delete the wording the manifest declares for its
// kind. As upstream: a create refused because the namespace is terminating
// is not reported; without the action's own Events neither is a delete of an
// object already gone (gone), which OnSuccess does report.
func (ap *Applier) record(primary Object, a *Action, created string, gone bool, err error) {
	if ap.Recorder == nil {
		return
	}
	if hasOwnEvents(a) {
		ap.recordOwn(primary, a, err)
		return
	}
	if !a.Owned || gone {
		return
	}
	ev := abi.DefaultOwnedEvents
	if ap.OwnedEvents != nil {
		ev = ap.OwnedEvents(a.GVK)
	}
	quiet := func(err error) bool {
		reason := string(apierrors.ReasonForError(err))
		for _, q := range ev.QuietReasons {
			if q == reason {
				return true
			}
		}
		return false
	}
	emit := func(eventType, reason, tmpl, name string) {
		if tmpl == "" || tmpl == abi.NoEvent {
			return
		}
		ap.Recorder.Event(primary, eventType, reason, renderEvent(tmpl, primary, a, name, err))
	}
	switch {
	case a.Op == abi.OpCreate && err == nil:
		emit(corev1.EventTypeNormal, ReasonSuccessfulCreate, ev.Created, created)
	case a.Op == abi.OpCreate:
		if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) || quiet(err) {
			return
		}
		emit(corev1.EventTypeWarning, ReasonFailedCreate, ev.CreateFailed, nameOrGenerate(a))
	case a.Op == abi.OpDelete && err == nil:
		emit(corev1.EventTypeNormal, ReasonSuccessfulDelete, ev.Deleted, a.Object.GetName())
	case a.Op == abi.OpDelete:
		if quiet(err) {
			return
		}
		emit(corev1.EventTypeWarning, ReasonFailedDelete, ev.DeleteFailed, a.Object.GetName())
	}
}

// hasOwnEvents tells whether the plugin worded the Events of a itself.
func hasOwnEvents(a *Action) bool {
	return len(a.OnSuccess) > 0 || len(a.OnFailure) > 0
}

// recordOwn emits a's OnSuccess, or its OnFailure with "{error}" replaced by
// err.
func (ap *Applier) recordOwn(primary Object, a *Action, err error) {
	events := a.OnSuccess
	if err != nil {
		if a.Op == abi.OpCreate && apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return
		}
		events = a.OnFailure
	}
	for _, ev := range events {
		msg := ev.Message
		if err != nil {
			msg = strings.ReplaceAll(msg, "{error}", err.Error())
		}
		ap.Recorder.Event(primary, string(ev.Type), ev.Reason, msg)
	}
}

func nameOrGenerate(a *Action) string {
	if n := a.Object.GetName(); n != "" {
		return n
	}
	return a.Object.GetGenerateName()
}

// OwnedEventsFunc returns the wording for an owned kind.
type OwnedEventsFunc func(gvk schema.GroupVersionKind) abi.OwnedEvents
