package plugintest

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"wasmctl.dev/wasmctl/abi"
)

// Request is a ReconcileRequest given as Go values. Objects may be maps,
// structs, *unstructured.Unstructured, JSON bytes or YAML strings.
type Request struct {
	// Now is the request's clock; zero: 2026-01-01T00:00:00Z, so tests stay
	// deterministic.
	Now       time.Time
	Object    any
	Children  []any
	Orphans   []any
	Related   map[string][]any
	Config    any
	LastError *abi.ApplyError
}

// DefaultNow is the clock of a Request whose Now is zero.
var DefaultNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// JSON encodes the request as the host sends it.
func (r Request) JSON() ([]byte, error) {
	now := r.Now
	if now.IsZero() {
		now = DefaultNow
	}
	req := abi.ReconcileRequest{
		APIVersion: abi.Version, Kind: abi.KindReconcileRequest,
		Now: now.UTC().Format(time.RFC3339Nano), LastError: r.LastError,
	}
	var err error
	if req.Object, err = rawObject(r.Object); err != nil {
		return nil, fmt.Errorf("object: %w", err)
	}
	if req.Children, err = rawList(r.Children); err != nil {
		return nil, fmt.Errorf("children: %w", err)
	}
	if req.Orphans, err = rawList(r.Orphans); err != nil {
		return nil, fmt.Errorf("orphans: %w", err)
	}
	for name, objs := range r.Related {
		if req.Related == nil {
			req.Related = map[string][]json.RawMessage{}
		}
		if req.Related[name], err = rawList(objs); err != nil {
			return nil, fmt.Errorf("related %s: %w", name, err)
		}
	}
	cfg := r.Config
	if cfg == nil {
		cfg = map[string]any{}
	}
	if req.Config, err = rawObject(cfg); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return json.Marshal(req)
}

func rawList(objs []any) ([]json.RawMessage, error) {
	var out []json.RawMessage
	for i, o := range objs {
		raw, err := rawObject(o)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
		out = append(out, raw)
	}
	return out, nil
}

type jsonMarshaler interface{ MarshalJSON() ([]byte, error) }

func rawObject(o any) (json.RawMessage, error) {
	switch v := o.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		return v, nil
	case []byte:
		return yaml.YAMLToJSON(v)
	case string:
		return yaml.YAMLToJSON([]byte(v))
	case jsonMarshaler: // *unstructured.Unstructured and friends
		return v.MarshalJSON()
	}
	return json.Marshal(o)
}

// LoadRequest reads a request fixture: a ReconcileRequest document in YAML
// or JSON — the format the host records (see docs/PLUGINS.md) — and returns
// it as JSON. Missing apiVersion, kind and now are filled in.
func LoadRequest(t testing.TB, path string) []byte {
	t.Helper()
	data, err := ReadRequestFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// ReadRequestFile is LoadRequest without a testing.TB (the CLI uses it).
func ReadRequestFile(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	data, err := yaml.YAMLToJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var req abi.ReconcileRequest
	if err := abi.DecodeStrict(data, &req); err != nil {
		return nil, fmt.Errorf("%s: not a ReconcileRequest: %w", path, err)
	}
	if req.APIVersion == "" {
		req.APIVersion = abi.Version
	}
	if req.Kind == "" {
		req.Kind = abi.KindReconcileRequest
	}
	if req.Now == "" {
		req.Now = DefaultNow.Format(time.RFC3339Nano)
	}
	if len(req.Config) == 0 {
		req.Config = json.RawMessage("{}")
	}
	return json.Marshal(req)
}
