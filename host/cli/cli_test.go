package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/host/cli"
	"wasmctl.dev/wasmctl/internal/hosttest"
	"wasmctl.dev/wasmctl/internal/testenv"
	"wasmctl.dev/wasmctl/internal/wasmbuild"
)

var env *testenv.Environment

func TestMain(m *testing.M) { os.Exit(testenv.Main(m, &env)) }

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := cli.NewRootCommand()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String() + errOut.String(), err
}

func replicasetWasm(t *testing.T) string {
	t.Helper()
	path, err := wasmbuild.Build("", "wasmctl.dev/wasmctl/plugins/replicaset/cmd")
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func write(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const rsYAML = `apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web, namespace: default, uid: rs-1, generation: 1}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: pause}]}
`

func TestInspect(t *testing.T) {
	out, err := run(t, "inspect", replicasetWasm(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"exports:      [_initialize describe reconcile]", "name: replicaset", "kind: ReplicaSet", "compile time:", "timeouts:     loop checks inserted by the host"} {
		if !strings.Contains(out, want) {
			t.Fatalf("inspect output lacks %q:\n%s", want, out)
		}
	}
	if _, err := run(t, "inspect", write(t, t.TempDir(), "x.wasm", "not wasm")); err == nil || !strings.Contains(err.Error(), "not a valid WebAssembly module") {
		t.Fatalf("a non-wasm file: %v", err)
	}
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	good := write(t, dir, "good.yaml", fmt.Sprintf("controllers:\n  - {name: rs, plugin: %s}\n", replicasetWasm(t)))
	out, err := run(t, "validate", "--config", good)
	if err != nil || !strings.Contains(out, "controller rs: ok") {
		t.Fatalf("%s %v", out, err)
	}
	bad := write(t, dir, "bad.yaml", fmt.Sprintf("controllers:\n  - {name: rs, plugin: %s, wrokers: 2}\n", replicasetWasm(t)))
	if _, err := run(t, "validate", "--config", bad); err == nil || !strings.Contains(err.Error(), "wrokers") {
		t.Fatalf("unknown key: %v", err)
	}
	notWasm := write(t, dir, "notwasm.yaml", fmt.Sprintf("controllers:\n  - {name: rs, plugin: %s}\n", bad))
	if _, err := run(t, "validate", "--config", notWasm); err == nil || !strings.Contains(err.Error(), "controllers[0].plugin") {
		t.Fatalf("plugin that does not compile: %v", err)
	}
}

// TestValidateManifest: validate refuses a manifest run would refuse, and
// names each bad field.
func TestValidateManifest(t *testing.T) {
	wasm, err := wasmbuild.Build("", "./testdata/badmanifest")
	if err != nil {
		t.Fatal(err)
	}
	cfg := write(t, t.TempDir(), "config.yaml", fmt.Sprintf("controllers:\n  - {plugin: %s}\n", wasm))
	for _, cmd := range []string{"validate", "rbac"} {
		_, err := run(t, cmd, "--config", cfg)
		if err == nil {
			t.Fatalf("%s accepted the manifest", cmd)
		}
		for _, want := range []string{`manifest selector: "a in ("`, `manifest related[0].select: "everything"`, `manifest fields[0].paths: field path "a..b"`} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %v\nlacks %q", cmd, err, want)
			}
		}
	}
}

// TestDryRunRefuses: the dry run checks a response as run does and fails,
// naming the action, for whatever run would refuse.
func TestDryRunRefuses(t *testing.T) {
	wasm, err := wasmbuild.Build("", "wasmctl.dev/wasmctl/host/engine/testdata/hostile")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := write(t, dir, "config.yaml", fmt.Sprintf(`controllers:
  - name: h
    plugin: %s
    for: {apiVersion: apps/v1, kind: ReplicaSet}
    owns: [{apiVersion: v1, kind: Pod}]
`, wasm))
	object := write(t, dir, "rs.yaml", rsYAML)
	pod := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"}}`
	for _, tc := range []struct{ name, response, want string }{
		{"fine", `{"actions":[{"op":"create","object":` + pod + `}]}`, ""},
		{"unknown op", `{"actions":[{"op":"upsert","object":` + pod + `}]}`, `action 0: unknown op "upsert"`},
		{"deleting the primary", `{"actions":[{"op":"delete","object":{"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"web"}}}]}`, "action 0: delete of the primary ReplicaSet default/web is not allowed"},
		{"a Namespace outside owns", `{"actions":[{"op":"create","object":` + pod + `},{"op":"create","object":{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"x"}}}]}`, "action 1: create Namespace x: not permitted"},
		{"event type in lower case", `{"events":[{"type":"normal","reason":"R","message":"m"}]}`, `type "normal", want Normal or Warning`},
		{"negative requeue", `{"requeueAfterSeconds":-1}`, "requeueAfterSeconds -1 out of range"},
		{"wrong apiVersion of a built-in kind", `{"actions":[{"op":"create","object":{"apiVersion":"apps/v2","kind":"Pod","metadata":{"name":"p"}}}]}`, "action 0: create Pod: no kind Pod is served in apps/v2"},
		{"wrong response apiVersion", `{"apiVersion":"wasmctl.dev/v9","kind":"ReconcileResponse"}`, `apiVersion "wasmctl.dev/v9"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := write(t, dir, "plugin-config.json", fmt.Sprintf(`{"namespace":"default","mode":"respond","response":%s}`, tc.response))
			out, err := run(t, "reconcile", "--plugin", wasm, "--config", cfg, "--object", object, "--plugin-config", conf)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v\n%s", err, out)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q\n%s", err, tc.want, out)
			}
		})
	}
}

// TestDryRunWithoutConfig: a plugin with no manifest, dry-run outside any
// configuration, takes its primary kind from the request and still has its
// response checked: a Namespace outside owns is refused.
func TestDryRunWithoutConfig(t *testing.T) {
	wasm, err := wasmbuild.Build("", "wasmctl.dev/wasmctl/host/engine/testdata/hostile")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	conf := write(t, dir, "plugin-config.json", `{"namespace":"default","mode":"respond","response":{"actions":[{"op":"create","object":{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"x"}}}]}}`)
	out, err := run(t, "reconcile", "--plugin", wasm, "--object", write(t, dir, "rs.yaml", rsYAML), "--plugin-config", conf)
	if err == nil || !strings.Contains(err.Error(), "action 0: create Namespace x: not permitted") {
		t.Fatalf("got %v, want the Namespace refused\n%s", err, out)
	}
}

func TestReconcileFromFiles(t *testing.T) {
	dir := t.TempDir()
	pods := write(t, dir, "pods.yaml", `apiVersion: v1
kind: PodList
items:
- apiVersion: v1
  kind: Pod
  metadata:
    name: web-a
    namespace: default
    uid: p1
    labels: {app: web}
    ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web, uid: rs-1, controller: true}]
`)
	out, err := run(t, "reconcile", "--plugin", replicasetWasm(t), "--object", write(t, dir, "rs.yaml", rsYAML),
		"--children", pods, "--now", "2026-01-01T00:00:00Z", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var resp abi.ReconcileResponse
	if err := yaml.Unmarshal([]byte(out), &resp); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	creates := 0
	for _, a := range resp.Actions {
		if a.Op == abi.OpCreate {
			creates++
		}
	}
	if creates != 2 {
		t.Fatalf("%d creates for 3 replicas and 1 pod:\n%s", creates, out)
	}
}

// TestRecordReplayAndFromCluster: a host with record: writes the requests it
// sends; reconcile --request replays one with the same result; and
// reconcile --from-cluster builds the same request from the live cluster
// without applying anything.
func TestRecordReplayAndFromCluster(t *testing.T) {
	testenv.Require(t, env)
	ctx := context.Background()
	wasm := replicasetWasm(t)
	dir := t.TempDir()
	cfgPath := write(t, dir, "config.yaml", fmt.Sprintf(`
controllers:
  - name: replicaset
    plugin: %s
    record: {dir: %s/rec, maxFiles: 3}
`, wasm, dir))
	cfgBody, _ := os.ReadFile(cfgPath)
	h, err := hosttest.Start(env.RESTConfig(), string(cfgBody))
	if err != nil {
		t.Fatal(err)
	}
	cs := env.Clientset()
	ns := env.Namespace(t, nil, "cli")
	var rs appsv1.ReplicaSet
	if err := yaml.Unmarshal([]byte(rsYAML), &rs); err != nil {
		t.Fatal(err)
	}
	rs.Namespace, rs.UID, rs.Generation = ns, "", 0
	if _, err := cs.AppsV1().ReplicaSets(ns).Create(ctx, &rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		got, _ := cs.AppsV1().ReplicaSets(ns).Get(ctx, "web", metav1.GetOptions{})
		if got.Status.Replicas != 3 {
			return fmt.Errorf("status.replicas %d", got.Status.Replicas)
		}
		return nil
	})
	h.Stop()
	files, _ := filepath.Glob(filepath.Join(dir, "rec", "replicaset", "*.json"))
	if len(files) == 0 || len(files) > 3 {
		t.Fatalf("%d recorded files, want 1..3 (maxFiles)", len(files))
	}
	// The replay answers the recorded request as the host's call did: as
	// many creates as the request's ReplicaSet lacks pods.
	out, err := run(t, "reconcile", "--plugin", wasm, "--request", files[0], "-o", "json")
	if err != nil {
		t.Fatalf("replay: %v\n%s", err, out)
	}
	var recorded abi.ReconcileRequest
	if data, err := os.ReadFile(files[0]); err != nil || json.Unmarshal(data, &recorded) != nil {
		t.Fatalf("recorded request %s: %v", files[0], err)
	}
	var recordedRS appsv1.ReplicaSet
	if err := json.Unmarshal(recorded.Object, &recordedRS); err != nil {
		t.Fatal(err)
	}
	var replayed abi.ReconcileResponse
	if err := json.Unmarshal([]byte(out), &replayed); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	wantCreates := max(0, int(*recordedRS.Spec.Replicas)-len(recorded.Children))
	if got := strings.Count(out, `"op": "create"`); got != wantCreates || replayed.Kind != abi.KindReconcileResponse {
		t.Fatalf("replay of a request with %d of %d pods: %d creates, want %d\n%s", len(recorded.Children), *recordedRS.Spec.Replicas, got, wantCreates, out)
	}

	// Scale up behind the (stopped) host's back: a dry run shows the creates
	// and applies none of them.
	if _, err := cs.AppsV1().ReplicaSets(ns).Patch(ctx, "web", "application/merge-patch+json", []byte(`{"spec":{"replicas":5}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	out, err = run(t, "reconcile", "--from-cluster", ns+"/web", "--config", cfgPath, "--kubeconfig", env.KubeconfigPath)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if n := strings.Count(out, "op: create"); n != 2 {
		t.Fatalf("%d creates in the dry run, want 2:\n%s", n, out)
	}
	time.Sleep(time.Second)
	pods, _ := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if len(pods.Items) != 3 {
		t.Fatalf("%d pods after a dry run, want 3: it applied something", len(pods.Items))
	}
}

// TestWorkloadsModule: a module holding several controllers (plugins/
// workloads) is inspected with --extism-config naming one, says what to set
// without it, and reconcile from files asks which entry when several of a
// configuration load it.
func TestWorkloadsModule(t *testing.T) {
	wasm, err := wasmbuild.Build("", "wasmctl.dev/wasmctl/plugins/workloads/cmd")
	if err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "inspect", wasm, "--extism-config", "controller=deployment")
	if err != nil || !strings.Contains(out, "name: deployment") || !strings.Contains(out, "kind: Deployment") {
		t.Fatalf("inspect --extism-config controller=deployment: %v\n%s", err, out)
	}
	if _, err := run(t, "inspect", wasm); err == nil || !strings.Contains(err.Error(), "set pluginConfig.controller") {
		t.Fatalf("inspect without the controller: %v", err)
	}
	dir := t.TempDir()
	cfg := write(t, dir, "config.yaml", fmt.Sprintf("controllers:\n  - {name: rs, plugin: %s, pluginConfig: {controller: replicaset}}\n  - {name: job, plugin: %s, pluginConfig: {controller: job}}\n", wasm, wasm))
	obj := write(t, dir, "rs.yaml", rsYAML)
	if _, err := run(t, "reconcile", "--config", cfg, "--plugin", wasm, "--object", obj); err == nil || !strings.Contains(err.Error(), "choose one with --controller") {
		t.Fatalf("reconcile with two entries on one module: %v", err)
	}
	out, err = run(t, "reconcile", "--config", cfg, "--plugin", wasm, "--controller", "rs", "--object", obj, "--now", "2026-01-01T00:00:00Z")
	if err != nil || !strings.Contains(out, "create") {
		t.Fatalf("reconcile --controller rs: %v\n%s", err, out)
	}
}
