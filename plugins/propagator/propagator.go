// Package propagator copies a ConfigMap into every namespace whose labels
// match a selector, keeps the copies in sync, removes copies from namespaces
// that stop matching, and cleans every copy up when the source is deleted
// (through a finalizer). It is the example written from docs/PLUGINS.md
// alone: cluster-wide and cross-namespace, unlike the two samples, so it uses
// explicit permissions, related inputs and a primary selector.
//
// A source is a ConfigMap labelled propagate.wasmctl.dev/enabled: "true"
// with the annotation propagate.wasmctl.dev/namespace-selector, a label
// selector over namespaces ("team=a", "env in (dev,prod)"; the Kubernetes
// label selector syntax, read by abi/sdk/labels as the API server reads
// it). Setting the label to any other value removes the copies and the
// finalizer; deleting the label outright leaves both (the host no longer
// shows the source to the plugin).
package propagator

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/abi/sdk/labels"
)

// Names of labels, annotations and the finalizer.
const (
	EnabledLabel       = "propagate.wasmctl.dev/enabled"
	SelectorAnnotation = "propagate.wasmctl.dev/namespace-selector"
	SourceLabel        = "propagate.wasmctl.dev/source" // on copies: <namespace>.<name>
	Finalizer          = "propagate.wasmctl.dev/cleanup"
)

// Related input names.
const (
	RelatedNamespaces = "namespaces"
	RelatedCopies     = "copies"
)

// Manifest describes the plugin.
func Manifest() *abi.Manifest {
	return &abi.Manifest{
		Name:     "propagator",
		Version:  "0.1.0",
		For:      abi.TypeRef{APIVersion: "v1", Kind: "ConfigMap"},
		Selector: EnabledLabel,
		Related: []abi.RelatedInput{
			{Name: RelatedNamespaces, Type: abi.TypeRef{APIVersion: "v1", Kind: "Namespace"}, Select: abi.SelectAll},
			{Name: RelatedCopies, Type: abi.TypeRef{APIVersion: "v1", Kind: "ConfigMap"}, Select: abi.SelectAll, LabelSelector: SourceLabel},
		},
		Fields: []abi.FieldSelection{
			{Type: abi.TypeRef{APIVersion: "v1", Kind: "Namespace"}, Paths: []string{"metadata.labels", "metadata.deletionTimestamp", "status.phase"}},
		},
		Permissions: []abi.Permission{{
			APIVersion: "v1", Kind: "ConfigMap", Namespaces: []string{"*"},
			Verbs: []abi.Op{abi.OpCreate, abi.OpUpdate, abi.OpDelete},
		}},
	}
}

type meta struct {
	Name              string            `json:"name"`
	Namespace         string            `json:"namespace,omitempty"`
	UID               string            `json:"uid,omitempty"`
	ResourceVersion   string            `json:"resourceVersion,omitempty"`
	Labels            map[string]string `json:"labels,omitempty"`
	Annotations       map[string]string `json:"annotations,omitempty"`
	Finalizers        []string          `json:"finalizers,omitempty"`
	DeletionTimestamp *string           `json:"deletionTimestamp,omitempty"`
}

type configMap struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   meta              `json:"metadata"`
	Data       map[string]string `json:"data,omitempty"`
	BinaryData map[string]string `json:"binaryData,omitempty"`
	Immutable  *bool             `json:"immutable,omitempty"`
}

type namespace struct {
	Metadata meta `json:"metadata"`
	Status   struct {
		Phase string `json:"phase"`
	} `json:"status"`
}

// Reconcile is one pass over one source ConfigMap.
func Reconcile(req *abi.ReconcileRequest) (*abi.ReconcileResponse, error) {
	resp := abi.NewResponse()
	var src configMap
	if err := json.Unmarshal(req.Object, &src); err != nil {
		return nil, err
	}
	var nss []namespace
	for _, raw := range req.Related[RelatedNamespaces] {
		var ns namespace
		if err := json.Unmarshal(raw, &ns); err != nil {
			return nil, err
		}
		nss = append(nss, ns)
	}
	sourceID := src.Metadata.Namespace + "." + src.Metadata.Name
	copies := map[string]configMap{} // by namespace
	for _, raw := range req.Related[RelatedCopies] {
		var c configMap
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, err
		}
		if c.Metadata.Labels[SourceLabel] == sourceID {
			copies[c.Metadata.Namespace] = c
		}
	}

	hasFinalizer := slices.Contains(src.Metadata.Finalizers, Finalizer)
	enabled := src.Metadata.Labels[EnabledLabel] == "true" && src.Metadata.DeletionTimestamp == nil
	if !enabled {
		// Clean up: every copy, then our finalizer.
		for _, ns := range sortedKeys(copies) {
			c := copies[ns]
			resp.AddDelete(abi.ObjectRef{APIVersion: "v1", Kind: "ConfigMap", Namespace: ns, Name: c.Metadata.Name, UID: c.Metadata.UID}, "")
		}
		if hasFinalizer {
			if err := setFinalizers(resp, &src, without(src.Metadata.Finalizers, Finalizer)); err != nil {
				return nil, err
			}
		}
		return resp, nil
	}

	sel, err := parseSelector(src.Metadata.Annotations[SelectorAnnotation])
	if err != nil {
		resp.Event(abi.EventWarning, "InvalidSelector", "annotation %s: %v", SelectorAnnotation, err)
		return resp, nil // nothing to do until the annotation changes
	}
	if !hasFinalizer {
		// First, so no copy can exist without a way to clean it up.
		if err := setFinalizers(resp, &src, append(append([]string(nil), src.Metadata.Finalizers...), Finalizer)); err != nil {
			return nil, err
		}
	}
	want := map[string]bool{}
	for _, ns := range nss {
		name := ns.Metadata.Name
		if name == src.Metadata.Namespace || ns.Metadata.DeletionTimestamp != nil || ns.Status.Phase == "Terminating" {
			continue
		}
		if sel.Matches(ns.Metadata.Labels) {
			want[name] = true
		}
	}
	for _, ns := range sortedKeys(want) {
		desired := copyOf(&src, ns, sourceID)
		existing, ok := copies[ns]
		switch {
		case !ok:
			if err := resp.Add(abi.OpCreate, desired); err != nil {
				return nil, err
			}
		case !sameContent(&existing, &desired):
			desired.Metadata.ResourceVersion = existing.Metadata.ResourceVersion
			desired.Metadata.UID = existing.Metadata.UID
			if err := resp.Add(abi.OpUpdate, desired); err != nil {
				return nil, err
			}
		}
	}
	for _, ns := range sortedKeys(copies) {
		if !want[ns] {
			c := copies[ns]
			resp.AddDelete(abi.ObjectRef{APIVersion: "v1", Kind: "ConfigMap", Namespace: ns, Name: c.Metadata.Name, UID: c.Metadata.UID}, "")
		}
	}
	return resp, nil
}

// setFinalizers patches the source's finalizers, guarded by its
// resourceVersion so a concurrent change is not overwritten.
func setFinalizers(resp *abi.ReconcileResponse, src *configMap, finalizers []string) error {
	if finalizers == nil {
		finalizers = []string{}
	}
	patch := map[string]any{"metadata": map[string]any{"finalizers": finalizers, "resourceVersion": src.Metadata.ResourceVersion}}
	return resp.AddPatch(abi.ObjectRef{APIVersion: "v1", Kind: "ConfigMap", Namespace: src.Metadata.Namespace, Name: src.Metadata.Name}, abi.PatchMerge, patch)
}

func copyOf(src *configMap, ns, sourceID string) configMap {
	labels := map[string]string{SourceLabel: sourceID}
	for k, v := range src.Metadata.Labels {
		if k != EnabledLabel {
			labels[k] = v
		}
	}
	return configMap{
		APIVersion: "v1", Kind: "ConfigMap",
		Metadata: meta{Name: src.Metadata.Name, Namespace: ns, Labels: labels},
		Data:     src.Data, BinaryData: src.BinaryData,
	}
}

func sameContent(a, b *configMap) bool {
	return fmt.Sprint(a.Data, a.BinaryData, a.Metadata.Labels) == fmt.Sprint(b.Data, b.BinaryData, b.Metadata.Labels)
}

func without(list []string, s string) []string {
	var out []string
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// parseSelector reads the namespace selector with the Kubernetes grammar
// (labels.Parse: "team=a", "env in (dev,prod)", "!legacy", "tier>1"). A
// selector that selects everything ("", blanks) is refused: it would copy
// the ConfigMap into every namespace.
func parseSelector(s string) (labels.Selector, error) {
	sel, err := labels.Parse(s)
	if err != nil {
		return labels.Nothing(), err
	}
	if sel.Empty() {
		return labels.Nothing(), errors.New("empty: name the namespaces, e.g. team=a")
	}
	return sel, nil
}
