package workloads_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/host/runtime"
	"wasmctl.dev/wasmctl/internal/wasmbuild"
	"wasmctl.dev/wasmctl/plugins/cronjob"
	"wasmctl.dev/wasmctl/plugins/daemonset"
	"wasmctl.dev/wasmctl/plugins/deployment"
	"wasmctl.dev/wasmctl/plugins/job"
	"wasmctl.dev/wasmctl/plugins/replicaset"
	"wasmctl.dev/wasmctl/plugins/statefulset"
	"wasmctl.dev/wasmctl/plugins/workloads"
)

// TestDescribe loads the module once per controller with its
// pluginConfig, as config.yaml does, and checks each answers describe
// with that controller's own manifest; without the key, or with a name it
// does not hold, describe fails naming the choices.
func TestDescribe(t *testing.T) {
	manifests := map[string]*abi.Manifest{
		"replicaset": replicaset.Manifest(), "deployment": deployment.Manifest(), "statefulset": statefulset.Manifest(),
		"daemonset": daemonset.Manifest(), "job": job.Manifest(), "cronjob": cronjob.Manifest(),
	}
	if len(manifests) != len(workloads.Controllers) {
		t.Fatalf("the test knows %d controllers, the module %d", len(manifests), len(workloads.Controllers))
	}
	ctx := context.Background()
	// One runtime: the eight loads below share one compiled module, as the
	// host's six entries do.
	path, err := wasmbuild.Build("", "wasmctl.dev/wasmctl/plugins/workloads/cmd")
	if err != nil {
		t.Fatal(err)
	}
	wasm, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := runtime.New(runtime.Options{CacheDir: "none"})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	load := func(t *testing.T, config map[string]string) *runtime.Plugin {
		p, err := rt.Load(ctx, wasm, runtime.LoadOptions{Name: "workloads", Config: config})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close(ctx) })
		return p
	}
	for name, want := range manifests {
		t.Run(name, func(t *testing.T) {
			out, err := load(t, map[string]string{workloads.ConfigKey: name}).Call(ctx, "describe", nil)
			if err != nil {
				t.Fatal(err)
			}
			var got abi.Manifest
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			want.APIVersion, want.Kind, want.ABIVersion = abi.Version, abi.KindManifest, abi.Version
			if !reflect.DeepEqual(&got, want) {
				g, _ := json.Marshal(&got)
				w, _ := json.Marshal(want)
				t.Fatalf("describe:\n%s\nwant\n%s", g, w)
			}
		})
	}
	for _, tc := range []struct {
		name   string
		config map[string]string
		want   string
	}{
		{"no pluginConfig", nil, "set pluginConfig.controller to one of cronjob, daemonset, deployment, job, replicaset, statefulset"},
		{"unknown controller", map[string]string{workloads.ConfigKey: "hpa"}, `pluginConfig.controller is "hpa"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := load(t, tc.config)
			for _, export := range []string{"describe", "reconcile"} {
				_, err := p.Call(ctx, export, []byte(`{}`))
				var ce *runtime.CallError
				if !errors.As(err, &ce) || ce.Kind != runtime.FailurePluginError || !strings.Contains(ce.Msg, tc.want) {
					t.Fatalf("%s: got %v, want a plugin error containing %q", export, err, tc.want)
				}
			}
		})
	}
}
