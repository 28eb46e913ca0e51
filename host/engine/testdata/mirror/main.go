// Command mirror is the engine's test plugin. For each Mirror
// (test.wasmctl.dev/v1) it keeps spec.copies ConfigMaps holding spec.data,
// adopting matching orphans first, and writes status.copies. Its config
// makes it misbehave for the containment tests:
//
//	namespace: only reconcile objects in namespaces with this prefix
//	mode: "trap" | "loop" | "forbidden" (create a Secret: not permitted)
package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/abi/guest"
)

type meta struct {
	Name            string            `json:"name"`
	GenerateName    string            `json:"generateName,omitempty"`
	Namespace       string            `json:"namespace,omitempty"`
	UID             string            `json:"uid,omitempty"`
	ResourceVersion string            `json:"resourceVersion,omitempty"`
	Generation      int64             `json:"generation,omitempty"`
	Labels          map[string]string `json:"labels,omitempty"`
	DeletionTS      *string           `json:"deletionTimestamp,omitempty"`
}

type mirror struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   meta   `json:"metadata"`
	Spec       struct {
		Copies       *int              `json:"copies"`
		Data         map[string]string `json:"data"`
		RequeueAfter float64           `json:"requeueAfter"`
		Selector     struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
	} `json:"spec"`
	Status map[string]any `json:"status,omitempty"`
}

type configMap struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   meta              `json:"metadata"`
	Data       map[string]string `json:"data,omitempty"`
}

type config struct {
	Namespace string `json:"namespace"`
	Mode      string `json:"mode"`
}

func reconcile(req *abi.ReconcileRequest) (*abi.ReconcileResponse, error) {
	var cfg config
	if len(req.Config) > 0 {
		if err := json.Unmarshal(req.Config, &cfg); err != nil {
			return nil, err
		}
	}
	var m mirror
	if err := json.Unmarshal(req.Object, &m); err != nil {
		return nil, err
	}
	resp := abi.NewResponse()
	if !strings.HasPrefix(m.Metadata.Namespace, cfg.Namespace) {
		return resp, nil
	}
	switch cfg.Mode {
	case "trap":
		panic("mirror: trap mode") // a Go panic aborts the module
	case "loop":
		for i := 0; ; i++ {
			if i < 0 {
				break
			}
		}
	case "forbidden":
		secret := map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": m.Metadata.Name}}
		if err := resp.Add(abi.OpCreate, secret); err != nil {
			return nil, err
		}
		// A permitted action too: it must not be applied either.
		if err := resp.Add(abi.OpCreate, newChild(&m)); err != nil {
			return nil, err
		}
		return resp, nil
	}
	if m.Metadata.DeletionTS != nil {
		return resp, nil
	}
	want := 1
	if m.Spec.Copies != nil {
		want = *m.Spec.Copies
	}
	var children []configMap
	for _, raw := range req.Children {
		var c configMap
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, err
		}
		if c.Metadata.DeletionTS == nil {
			children = append(children, c)
		}
	}
	// Adopt orphans while short of copies.
	for _, raw := range req.Orphans {
		if len(children) >= want {
			break
		}
		var o configMap
		if err := json.Unmarshal(raw, &o); err != nil {
			return nil, err
		}
		patch := map[string]any{"metadata": map[string]any{
			"uid": o.Metadata.UID,
			"ownerReferences": []map[string]any{{
				"apiVersion": m.APIVersion, "kind": m.Kind, "name": m.Metadata.Name, "uid": m.Metadata.UID,
				"controller": true, "blockOwnerDeletion": true,
			}},
		}}
		if err := resp.AddPatch(abi.ObjectRef{APIVersion: "v1", Kind: "ConfigMap", Namespace: o.Metadata.Namespace, Name: o.Metadata.Name}, abi.PatchMerge, patch); err != nil {
			return nil, err
		}
		resp.Event(abi.EventNormal, "Adopted", "Adopted ConfigMap %s", o.Metadata.Name)
		children = append(children, o)
	}
	sort.Slice(children, func(i, j int) bool { return children[i].Metadata.Name < children[j].Metadata.Name })
	for i := len(children); i < want; i++ {
		if err := resp.Add(abi.OpCreate, newChild(&m)); err != nil {
			return nil, err
		}
	}
	for i, c := range children {
		if i >= want {
			resp.AddDelete(abi.ObjectRef{APIVersion: "v1", Kind: "ConfigMap", Namespace: c.Metadata.Namespace, Name: c.Metadata.Name, UID: c.Metadata.UID}, "")
			continue
		}
		if !equal(c.Data, m.Spec.Data) {
			c.Data = m.Spec.Data
			if err := resp.Add(abi.OpUpdate, c); err != nil {
				return nil, err
			}
		}
	}
	status := map[string]any{"copies": float64(min(len(children), want)), "observedGeneration": float64(m.Metadata.Generation)}
	if m.Spec.RequeueAfter > 0 {
		now, err := req.NowTime()
		if err != nil {
			return nil, err
		}
		status["lastSeen"] = now.Truncate(time.Second).Format(time.RFC3339)
		resp.RequeueAfter(time.Duration(m.Spec.RequeueAfter * float64(time.Second)))
	}
	if fmt.Sprint(status) != fmt.Sprint(m.Status) {
		m.Status = status
		if err := resp.Add(abi.OpUpdateStatus, m); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

func newChild(m *mirror) configMap {
	labels := map[string]string{}
	for k, v := range m.Spec.Selector.MatchLabels {
		labels[k] = v
	}
	return configMap{
		APIVersion: "v1", Kind: "ConfigMap",
		Metadata: meta{GenerateName: strings.ToLower(m.Metadata.Name) + "-", Labels: labels},
		Data:     m.Spec.Data,
	}
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

func init() {
	m := &abi.Manifest{
		Name:    "mirror",
		Version: "0.1.0",
		For:     abi.TypeRef{APIVersion: "test.wasmctl.dev/v1", Kind: "Mirror"},
		Owns:    []abi.TypeRef{{APIVersion: "v1", Kind: "ConfigMap"}},
	}
	// pluginConfig fields: the ConfigMap fields it reads, comma-separated
	// (the cache tests); without it, whole ConfigMaps.
	if f, ok := guest.Config("fields"); ok {
		m.Fields = []abi.FieldSelection{{Type: m.Owns[0], Paths: strings.Split(f, ",")}}
	}
	guest.Register(m, reconcile)
}

func main() {}
