package plugintest_test

import (
	"fmt"
	"testing"

	"wasmctl.dev/wasmctl/host/plugintest"
)

// A ReplicaSet of 3 with one pod: the plugin writes status and creates two.
func Example() {
	t := &testing.T{} // in a real test, the test's own t
	p := plugintest.Shared(t, "wasmctl.dev/wasmctl/plugins/replicaset/cmd")
	res := p.Run(t, plugintest.Request{
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
	fmt.Println("created:", res.Created("Pod")[0].GetGenerateName(), len(res.Created("Pod")))
	fmt.Println("status.replicas:", res.StatusField("replicas"))
	// Output:
	// created: web- 2
	// status.replicas: 1
}
