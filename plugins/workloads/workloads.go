// Package workloads puts the six workload controllers in one module: the
// host's controllers[].pluginConfig.controller says which one an entry
// runs. Every Go module carries its own Go runtime, reflection and JSON
// code (about 3 MB of Wasm); six modules carry it six times. One module of
// all six is 8 MB where the six are 28.7 MB together, and the host
// compiles and keeps it once for all the entries loading it (identical
// bytes share one compiled module): about 100 MiB less resident memory for
// the six controllers (docs/BENCHMARKS.md). Each entry still has its own
// instances, limits, workers and permissions; the per-controller modules
// (plugins/NAME/NAME.wasm) stay, for running one controller alone.
package workloads

import (
	"fmt"
	"slices"
	"strings"

	"wasmctl.dev/wasmctl/abi/guest"
	"wasmctl.dev/wasmctl/plugins/cronjob"
	"wasmctl.dev/wasmctl/plugins/daemonset"
	"wasmctl.dev/wasmctl/plugins/deployment"
	"wasmctl.dev/wasmctl/plugins/job"
	"wasmctl.dev/wasmctl/plugins/replicaset"
	"wasmctl.dev/wasmctl/plugins/statefulset"
)

// ConfigKey is the pluginConfig key naming the controller.
const ConfigKey = "controller"

// Controllers register each controller with abi/guest, by pluginConfig
// name.
var Controllers = map[string]func(){
	"replicaset":  func() { guest.RegisterRaw(replicaset.Manifest(), replicaset.Reconcile) },
	"deployment":  func() { guest.RegisterRaw(deployment.Manifest(), deployment.Reconcile) },
	"statefulset": func() { guest.RegisterRaw(statefulset.Manifest(), statefulset.Reconcile) },
	"daemonset":   func() { guest.RegisterRaw(daemonset.Manifest(), daemonset.Reconcile) },
	"job":         func() { guest.RegisterRaw(job.Manifest(), job.Reconcile) },
	"cronjob":     func() { guest.Register(cronjob.Manifest(), cronjob.Reconcile) },
}

// Register registers the controller the plugin configuration names, or an
// error describe and reconcile report (so the host says why at load).
func Register() {
	name, ok := guest.Config(ConfigKey)
	register, err := Select(name, ok)
	if err != nil {
		guest.RegisterError(err)
		return
	}
	register()
}

// Select returns the controller called name, or an error listing the
// names (what a host entry without a valid pluginConfig.controller sees).
func Select(name string, ok bool) (func(), error) {
	if c, found := Controllers[name]; found {
		return c, nil
	}
	names := make([]string, 0, len(Controllers))
	for n := range Controllers {
		names = append(names, n)
	}
	slices.Sort(names)
	if !ok {
		return nil, fmt.Errorf("this module holds several controllers: set pluginConfig.%s to one of %s", ConfigKey, strings.Join(names, ", "))
	}
	return nil, fmt.Errorf("pluginConfig.%s is %q; this module holds %s", ConfigKey, name, strings.Join(names, ", "))
}
