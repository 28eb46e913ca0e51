package plugintest_test

import (
	"context"
	"fmt"
	"strings"

	"wasmctl.dev/wasmctl/host/plugintest"
	"wasmctl.dev/wasmctl/host/runtime"
)

// In a test, plugintest.Shared(t, pkg) and p.Run(t, req) fail the test
// themselves; an Example has no t, so it uses Open and Result and prints
// what goes wrong: the Output comparison then fails with the message.

// A ReplicaSet of 3 with one pod: the plugin writes status, then creates two
// pods from the template.
func Example() {
	p, err := plugintest.Open("wasmctl.dev/wasmctl/plugins/replicaset/cmd", runtime.LoadOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close(context.Background())
	res, err := p.Result(plugintest.Request{
		Object: `
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web, namespace: default, uid: rs-1, generation: 1}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: pause}]}
`,
		Children: []any{`
apiVersion: v1
kind: Pod
metadata:
  name: web-a
  namespace: default
  uid: pod-1
  labels: {app: web}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web, uid: rs-1, controller: true}]
status: {phase: Pending}
`},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	var ops []string
	for _, a := range res.Response.Actions {
		ops = append(ops, string(a.Op))
	}
	fmt.Println(strings.Join(ops, " "))
	for _, pod := range res.Created("Pod") {
		fmt.Println("created:", pod.GetGenerateName(), pod.GetOwnerReferences()[0].Name)
	}
	fmt.Println("status.replicas:", res.StatusField("replicas"))
	// Output:
	// updateStatus create create
	// created: web- web
	// created: web- web
	// status.replicas: 1
}

// Related inputs: the propagator copies a ConfigMap into the namespaces its
// annotation selects, and first adds its finalizer to the source.
func Example_related() {
	p, err := plugintest.Open("wasmctl.dev/wasmctl/plugins/propagator/cmd", runtime.LoadOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close(context.Background())
	namespace := func(name, team string) string {
		return fmt.Sprintf("{apiVersion: v1, kind: Namespace, metadata: {name: %s, labels: {team: %s}}, status: {phase: Active}}", name, team)
	}
	res, err := p.Result(plugintest.Request{
		Object: `
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: platform
  uid: src-1
  labels: {propagate.wasmctl.dev/enabled: "true"}
  annotations: {propagate.wasmctl.dev/namespace-selector: "team in (a,b)"}
data: {level: debug}
`,
		Related: map[string][]any{"namespaces": {
			namespace("platform", "a"), namespace("a1", "a"), namespace("b1", "b"), namespace("c1", "c"),
		}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("patched:", res.Patched("ConfigMap"))
	for _, cm := range res.Created("ConfigMap") {
		fmt.Println("created:", cm.GetNamespace()+"/"+cm.GetName())
	}
	// Output:
	// patched: [settings]
	// created: a1/settings
	// created: b1/settings
}
