package podhash

import (
	"encoding/json"
	"testing"

	corev1 "wasmctl.dev/wasmctl/plugins/internal/kube/core/v1"
)

// What the API server stores for a container "web" running nginx:1.27 with
// label app=web, and for `kubectl create deployment coll --image=nginx:1.27`:
// the RS names were observed on kube-controller-manager v1.37.2.
const (
	webTemplate  = `{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"nginx:1.27","resources":{},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent"}],"restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","securityContext":{},"schedulerName":"default-scheduler"}}`
	collTemplate = `{"metadata":{"labels":{"app":"coll"}},"spec":{"containers":[{"name":"nginx","image":"nginx:1.27","resources":{},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent"}],"restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","securityContext":{},"schedulerName":"default-scheduler"}}`
)

func ptr(i int32) *int32 { return &i }

func TestCompute(t *testing.T) {
	for _, tc := range []struct {
		name, template string
		collision      *int32
		want           string
	}{
		{"web", webTemplate, nil, "5c8597c5fb"},
		{"web collision 0", webTemplate, ptr(0), "7b64dff55b"},
		{"web collision 1", webTemplate, ptr(1), "df69f8697"},
		{"coll", collTemplate, nil, "78c68b555d"},
		{"coll collision 0", collTemplate, ptr(0), "585498984b"},
		{"coll collision 1", collTemplate, ptr(1), "6fcc64cd7f"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tmpl corev1.PodTemplateSpec
			if err := json.Unmarshal([]byte(tc.template), &tmpl); err != nil {
				t.Fatal(err)
			}
			if got := Compute(&tmpl, tc.collision); got != tc.want {
				t.Errorf("Compute = %s, want %s", got, tc.want)
			}
		})
	}
}
