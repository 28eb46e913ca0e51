package checksum_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/examples/plugins/checksum"
	"wasmctl.dev/wasmctl/host/apply"
	"wasmctl.dev/wasmctl/host/plugintest"
	"wasmctl.dev/wasmctl/host/runtime"
)

// asWasm is the AssemblyScript build's path (build.sh; make examples). A
// -short run without it skips; any other run needs it, and up to date.
func asWasm(t testing.TB) string {
	t.Helper()
	const path = "checksum.wasm"
	info, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		if testing.Short() {
			t.Skip("examples/plugins/checksum/checksum.wasm is not built (needs Node.js and npm): run `make examples` or ./build.sh")
		}
		t.Fatal("examples/plugins/checksum/checksum.wasm is not built: run `make examples` or ./build.sh (make test does)")
	}
	if err != nil {
		t.Fatal(err)
	}
	srcs, _ := filepath.Glob("assembly/*.ts")
	for _, src := range append(srcs, "package-lock.json") {
		if s, err := os.Stat(src); err == nil && s.ModTime().After(info.ModTime()) {
			t.Fatalf("checksum.wasm is older than %s: run ./build.sh", src)
		}
	}
	return path
}

func loadAS(t testing.TB, opts runtime.LoadOptions) *plugintest.Plugin {
	t.Helper()
	if opts.Name == "" {
		opts.Name = "checksum-as"
	}
	return plugintest.Load(t, asWasm(t), opts)
}

func loadGo(t testing.TB, opts runtime.LoadOptions) *plugintest.Plugin {
	t.Helper()
	if opts.Name == "" {
		opts.Name = "checksum-go"
	}
	return plugintest.BuildWith(t, "./cmd", opts)
}

// configMap is a ConfigMap as the host sends it: more fields than the
// plugin reads, of every JSON type, which the AssemblyScript decoder skips.
func configMap(name string, annotations, data map[string]string) map[string]any {
	meta := map[string]any{
		"name": name, "namespace": "default", "uid": "2b0c5a1e-0000-4000-8000-000000000001",
		"resourceVersion": "12345", "generation": 1, "creationTimestamp": "2026-01-01T00:00:00Z",
		"labels": map[string]string{"checksum.wasmctl.dev/enabled": "true", "app": "web"},
		"ownerReferences": []map[string]any{{
			"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "u", "controller": false, "blockOwnerDeletion": nil,
		}},
		"finalizers": []string{},
	}
	if annotations != nil {
		meta["annotations"] = annotations
	}
	cm := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "immutable": false,
		"binaryData": map[string]string{"blob": "AAEC"}}
	if data != nil {
		cm["data"] = data
	}
	return cm
}

func request(t testing.TB, object any, config string) []byte {
	t.Helper()
	obj, err := json.Marshal(object)
	if err != nil {
		t.Fatal(err)
	}
	req := abi.ReconcileRequest{APIVersion: abi.Version, Kind: abi.KindReconcileRequest, Now: "2026-01-01T00:00:00.5Z", Object: obj}
	if config != "" {
		req.Config = json.RawMessage(config)
	}
	out, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func annotated(data map[string]string, prefix string) map[string]string {
	return map[string]string{prefix + "/checksum": checksum.Checksum(data), prefix + "/keys": fmt.Sprint(len(data)), "other": "x"}
}

// requests covers the controller's cases and the encodings where
// AssemblyScript (UTF-16 strings) and Go (UTF-8) differ.
func requests(t testing.TB) []struct {
	name string
	req  []byte
} {
	data := map[string]string{"a": "1", "b": "2", "config.yaml": "x: 1\ny: [2, 3]\n"}
	unicode := map[string]string{
		"é": "accent", "z": "last ASCII", "B": "upper", "a": "lower",
		"\uff61": "halfwidth (UTF-16 sorts it after the emoji, UTF-8 before)", "😀": "emoji",
		"quotes": `"\<&>` + "\u2028\x01\t", "ключ": "значение",
	}
	big := map[string]string{}
	for i := range 1000 {
		big[fmt.Sprintf("key-%04d", i)] = strings.Repeat("v", i%50)
	}
	weird := `x<&>"\` + "\u2028\x7f"
	stale := annotated(data, checksum.DefaultPrefix)
	stale[checksum.DefaultPrefix+"/keys"] = "2"
	deleted := configMap("gone", nil, data)
	deleted["metadata"].(map[string]any)["deletionTimestamp"] = "2026-01-01T00:00:00Z"
	cluster := configMap("cluster-scoped-for-the-test", nil, data)
	delete(cluster["metadata"].(map[string]any), "namespace")
	return []struct {
		name string
		req  []byte
	}{
		{"new", request(t, configMap("app", nil, data), "")},
		{"up to date", request(t, configMap("app", annotated(data, checksum.DefaultPrefix), data), "{}")},
		{"stale key count", request(t, configMap("app", stale, data), "")},
		{"data changed", request(t, configMap("app", annotated(data, checksum.DefaultPrefix), map[string]string{"a": "changed"}), "")},
		{"no data", request(t, configMap("empty", map[string]string{}, nil), "")},
		{"deleting", request(t, deleted, "")},
		{"no namespace", request(t, cluster, "")},
		{"prefix from config", request(t, configMap("app", annotated(data, checksum.DefaultPrefix), data), `{"prefix":"example.com/x"}`)},
		{"prefix that needs escaping", request(t, configMap("app", nil, data), func() string {
			b, _ := json.Marshal(map[string]string{"prefix": weird})
			return string(b)
		}())},
		{"unicode keys sorted by bytes", request(t, configMap("unicode", nil, unicode), "")},
		{"1000 keys", request(t, configMap("big", nil, big), "")},
		{"children and related are skipped", func() []byte {
			var req map[string]any
			_ = json.Unmarshal(request(t, configMap("app", nil, data), ""), &req)
			req["children"] = []any{configMap("child", nil, data)}
			req["related"] = map[string]any{"namespaces": []any{map[string]any{"metadata": map[string]any{"name": "default"}}}}
			req["lastError"] = map[string]any{"op": "patch", "apiVersion": "v1", "kind": "ConfigMap", "message": "conflict"}
			b, _ := json.Marshal(req)
			return b
		}()},
	}
}

// TestSameResponsesAsGo: for every request the AssemblyScript build answers
// with exactly the bytes of the Go build, and the host accepts the answer.
func TestSameResponsesAsGo(t *testing.T) {
	as, gp := loadAS(t, runtime.LoadOptions{}), loadGo(t, runtime.LoadOptions{})
	ctx := context.Background()
	for _, tc := range requests(t) {
		t.Run(tc.name, func(t *testing.T) {
			want, err := gp.Call(ctx, abi.ExportReconcile, tc.req)
			if err != nil {
				t.Fatalf("Go: %v", err)
			}
			got, err := as.Call(ctx, abi.ExportReconcile, tc.req)
			if err != nil {
				t.Fatalf("AssemblyScript: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("AssemblyScript answered\n%s\nGo answered\n%s", got, want)
			}
			if _, err := apply.Decode(got); err != nil {
				t.Fatalf("the host refuses the response: %v\n%s", err, got)
			}
		})
	}
	t.Run("describe", func(t *testing.T) {
		var manifests [2]abi.Manifest
		for i, p := range []*plugintest.Plugin{as, gp} {
			out, err := p.Call(ctx, abi.ExportDescribe, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := abi.DecodeStrict(out, &manifests[i]); err != nil {
				t.Fatalf("%s: %v", p.Name(), err)
			}
		}
		if !reflect.DeepEqual(manifests[0], manifests[1]) {
			t.Fatalf("AssemblyScript describes %+v, Go %+v", manifests[0], manifests[1])
		}
	})
	t.Run("error", func(t *testing.T) {
		req := request(t, map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{}}, "")
		var msgs []string
		for _, p := range []*plugintest.Plugin{as, gp} {
			_, err := p.Call(ctx, abi.ExportReconcile, req)
			var ce *runtime.CallError
			if !errors.As(err, &ce) || ce.Kind != runtime.FailurePluginError {
				t.Fatalf("%s: %v, want a plugin error", p.Name(), err)
			}
			msgs = append(msgs, ce.Msg)
		}
		if msgs[0] != msgs[1] {
			t.Fatalf("messages differ: %q, %q", msgs[0], msgs[1])
		}
	})
}

// TestAbortMessage: input json-as cannot decode aborts the module; the
// message its abort handler set through Extism's error_set is in the error.
func TestAbortMessage(t *testing.T) {
	as := loadAS(t, runtime.LoadOptions{})
	_, err := as.Call(context.Background(), abi.ExportReconcile, []byte(`{"object":{"metadata":{"name":7}}}`))
	var ce *runtime.CallError
	if !errors.As(err, &ce) || ce.Kind != runtime.FailureTrap || !strings.Contains(ce.Msg, "error set by the plugin before it failed") ||
		!strings.Contains(ce.Msg, " at ") {
		t.Fatalf("got %v, want a trap with the abort message and its location", err)
	}
	t.Log(err)
	if out, err := as.Call(context.Background(), abi.ExportReconcile, requests(t)[0].req); err != nil || len(out) == 0 {
		t.Fatalf("next call: %v", err)
	}
}

// TestLoopChecks: the AssemblyScript module imports no WASI sched_yield, yet
// it gets the host's loop checks (an added import), not wazero's fallback.
func TestLoopChecks(t *testing.T) {
	wasm, err := os.ReadFile(asWasm(t))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(wasm, []byte("sched_yield")) {
		t.Fatal("the module imports sched_yield: this test is meant for one that does not")
	}
	as := loadAS(t, runtime.LoadOptions{})
	if as.Interrupt() != runtime.InterruptLoopChecks {
		t.Fatalf("interrupted by %q (%s), want %q", as.Interrupt(), as.InterruptNote(), runtime.InterruptLoopChecks)
	}
}

// bigRequest is a ConfigMap with n keys of 64-byte values.
func bigRequest(t testing.TB, n int) []byte {
	data := make(map[string]string, n)
	for i := range n {
		data[fmt.Sprintf("key-%06d", i)] = strings.Repeat(string(rune('a'+i%26)), 64)
	}
	return request(t, configMap("big", nil, data), "")
}

// TestTimeout: a call that needs longer than the timeout is stopped at the
// timeout, in either interrupt mode, and the next call gets a fresh
// instance.
func TestTimeout(t *testing.T) {
	req := bigRequest(t, 50000) // ~4 MiB
	full := loadAS(t, runtime.LoadOptions{Limits: runtime.Limits{Timeout: time.Minute, MemoryBytes: 1 << 30, MaxOutputBytes: 64 << 20}})
	start := time.Now()
	if _, err := full.Call(context.Background(), abi.ExportReconcile, req); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	timeout := took / 10
	t.Logf("the whole call takes %s; timeout %s", took.Round(time.Millisecond), timeout.Round(time.Millisecond))
	for _, mode := range []string{runtime.InterruptLoopChecks, runtime.InterruptWazero} {
		t.Run(mode, func(t *testing.T) {
			opt := ""
			if mode == runtime.InterruptWazero {
				opt = mode
			}
			p := loadAS(t, runtime.LoadOptions{Interrupt: opt, Limits: runtime.Limits{Timeout: timeout, MemoryBytes: 1 << 30, MaxOutputBytes: 64 << 20}})
			if p.Interrupt() != mode {
				t.Fatalf("mode %s", p.Interrupt())
			}
			// A first small call, so the instance exists before the clock runs.
			if _, err := p.Call(context.Background(), abi.ExportReconcile, requests(t)[0].req); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err := p.Call(context.Background(), abi.ExportReconcile, req)
			stopped := time.Since(start)
			var ce *runtime.CallError
			if !errors.As(err, &ce) || ce.Kind != runtime.FailureTimeout {
				t.Fatalf("got %v, want a timeout", err)
			}
			if stopped > took/2 {
				t.Fatalf("stopped after %s; the whole call takes %s", stopped, took)
			}
			t.Logf("stopped after %s", stopped.Round(time.Millisecond))
			if _, err := p.Call(context.Background(), abi.ExportReconcile, requests(t)[0].req); err != nil {
				t.Fatalf("next call: %v", err)
			}
		})
	}
}
