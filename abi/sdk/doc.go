// Package sdk is the home of the helpers every wasmctl controller plugin
// needs, each a port of the Kubernetes v1.37 code it is named after, written
// for plugins: standard library only (and package abi), so it builds for
// GOOS=wasip1 and keeps a plugin small, with no clock (functions that need
// the time take now; a plugin gets it from the request).
//
// It is split as upstream splits the code it mirrors, so a controller
// ported from kube-controller-manager keeps its calls recognisable
// (labels.Parse, meta.SetStatusCondition, intstr.GetScaledValueFromIntOrPercent),
// and so each package stays small enough to read at once:
//
//   - [wasmctl.dev/wasmctl/abi/sdk/labels]: label selectors, parsed from
//     the string grammar (labels.Parse), matched against labels.
//   - [wasmctl.dev/wasmctl/abi/sdk/meta]: metav1 types and helpers: Time on
//     the wire, ObjectMeta, OwnerReference and controller references,
//     LabelSelector and its conversion to a selector, metav1.Condition and
//     SetStatusCondition.
//   - [wasmctl.dev/wasmctl/abi/sdk/intstr]: int-or-string values and
//     percentages of a total.
//   - [wasmctl.dev/wasmctl/abi/sdk/controller]: what pkg/controller shares
//     between workload controllers: the adopt and release patches, pod
//     readiness, availability and activity, workload conditions.
//   - [wasmctl.dev/wasmctl/abi/sdk/jsonwrite]: JSON strings and numbers
//     appended as encoding/json writes them, for plugins that build their
//     actions' objects without reflection (not a port: encoding/json's
//     output, cheaper under wasip1).
//
// The Go linker drops what a plugin does not call, so importing a package
// costs only the functions used; none of these packages has an init that
// does work (no regexp: keys and values are checked by hand).
//
// Behaviour is upstream's, including its corner cases; tests (fuzz tests
// for the selector grammar, timestamps and int-or-string) compare these
// packages with apimachinery on the host. Where a helper departs from
// upstream on purpose, its comment says so: times read into UTC, not the
// local zone; condition setters never write to the slice they were given.
// Error messages are not upstream's word for word.
package sdk
