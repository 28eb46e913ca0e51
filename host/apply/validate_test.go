package apply_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/host/apply"
)

func input() apply.Input {
	primary := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "ReplicaSet",
		"metadata": map[string]any{"name": "web", "namespace": "ns", "uid": "rs-uid"},
	}}
	pod := schema.GroupVersionKind{Version: "v1", Kind: "Pod"}
	return apply.Input{
		Primary:    primary,
		Controlled: map[schema.GroupVersionKind]map[string]bool{pod: {"ns/mine": true, "ns/stray": true}},
		Orphans:    map[schema.GroupVersionKind]map[string]bool{pod: {"ns/stray": true}},
		Perms: apply.Permissions{
			For:   abi.TypeRef{APIVersion: "apps/v1", Kind: "ReplicaSet"},
			Owns:  []abi.TypeRef{{APIVersion: "v1", Kind: "Pod"}},
			Extra: []abi.Permission{{APIVersion: "v1", Kind: "ConfigMap", Verbs: []abi.Op{abi.OpCreate}, Namespaces: []string{"shared"}}},
		},
		Scope: func(gvk schema.GroupVersionKind) (bool, error) {
			return gvk.Kind != "Namespace" && gvk.Kind != "Node", nil
		},
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		action string // JSON of one abi.Action
		refuse string // "" = allowed; else a substring of the refusal
	}{
		{"create an owned pod", `{"op":"create","object":{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"web-"}}}`, ""},
		{"status of the primary", `{"op":"updateStatus","object":{"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"web"}}}`, ""},
		{"delete a child", `{"op":"delete","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"mine"}}}`, ""},
		{"adopt an orphan", `{"op":"patch","patchType":"strategic","patch":{},"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"stray"}}}`, ""},
		{"explicit permission in another namespace", `{"op":"create","object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"shared"}}}`, ""},
		{"delete a pod it does not control", `{"op":"delete","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"other"}}}`, "not controlled"},
		{"update a pod it does not control", `{"op":"update","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"other"}}}`, "not controlled"},
		{"a pod in another namespace", `{"op":"create","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x","namespace":"kube-system"}}}`, "not permitted"},
		{"a kind not owned", `{"op":"create","object":{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"}}}`, "not permitted"},
		{"a cluster-scoped kind", `{"op":"delete","object":{"apiVersion":"v1","kind":"Node","metadata":{"name":"n1"}}}`, "not permitted"},
		{"another ReplicaSet's status", `{"op":"updateStatus","object":{"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"other"}}}`, "not permitted"},
		{"delete the primary", `{"op":"delete","object":{"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"web"}}}`, "not allowed"},
		{"primary with a foreign uid", `{"op":"update","object":{"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"web","uid":"x"}}}`, "not the primary's"},
		{"create controlled by someone else", `{"op":"create","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","ownerReferences":[{"apiVersion":"v1","kind":"X","name":"x","uid":"u","controller":true}]}}}`, "controller reference"},
		{"explicit permission, wrong verb", `{"op":"delete","object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"shared"}}}`, "not permitted"},
		{"unknown op", `{"op":"steal","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"mine"}}}`, "unknown op"},
		{"no kind", `{"op":"create","object":{"metadata":{"name":"x"}}}`, "apiVersion and kind"},
		{"no name", `{"op":"update","object":{"apiVersion":"v1","kind":"Pod","metadata":{}}}`, "metadata.name"},
		{"bad patch type", `{"op":"patch","patchType":"yaml","patch":{},"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"mine"}}}`, "patchType"},
		{"patch fields on a delete", `{"op":"delete","patchType":"merge","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"mine"}}}`, "patch only"},
		{"bad propagation", `{"op":"delete","propagationPolicy":"Eventually","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"mine"}}}`, "propagationPolicy"},
		{"action events", `{"op":"delete","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"mine"}},"onSuccess":[{"type":"Normal","reason":"SuccessfulDelete","message":"m"}],"onFailure":[{"type":"Warning","reason":"FailedDelete","message":"{error}"}]}`, ""},
		{"action event of a bad type", `{"op":"delete","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"mine"}},"onSuccess":[{"type":"Info","reason":"R","message":"m"}]}`, `action 1: delete: onSuccess[0]: type "Info", want Normal or Warning`},
		{"action event without a reason", `{"op":"create","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"}},"onFailure":[{"type":"Warning","reason":"R","message":"m"},{"type":"Warning","message":"m"}]}`, "action 1: create: onFailure[1]: reason is required"},
		{"action event after apply", `{"op":"update","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"mine"}},"onSuccess":[{"type":"Normal","reason":"R","message":"m","afterApply":true}]}`, "action 1: update: onSuccess[0]: afterApply is for the response's events only"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// A permitted action first: a refusal must refuse it too.
			body := `{"actions":[{"op":"create","object":{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"ok-"}}},` + tc.action + `]}`
			resp, err := apply.Decode([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			actions, err := apply.Validate(resp, input())
			switch {
			case tc.refuse == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.refuse != "" && (err == nil || !strings.Contains(err.Error(), tc.refuse)):
				t.Fatalf("got %v, want a refusal mentioning %q", err, tc.refuse)
			case tc.refuse != "" && actions != nil:
				t.Fatal("a refused response returned actions to apply")
			}
		})
	}
}

func TestValidateMarksAdoptionsAndDefaultsNamespace(t *testing.T) {
	resp, _ := apply.Decode([]byte(`{"actions":[
	  {"op":"patch","patchType":"merge","patch":{},"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"stray"}}},
	  {"op":"create","object":{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"web-"}}},
	  {"op":"updateStatus","object":{"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"web"}}}]}`))
	actions, err := apply.Validate(resp, input())
	if err != nil {
		t.Fatal(err)
	}
	if !actions[0].Orphan || actions[1].Orphan || !actions[1].Owned || actions[1].Object.GetNamespace() != "ns" || !actions[2].Primary {
		t.Fatalf("flags: %+v %+v %+v", actions[0], actions[1], actions[2])
	}
}

func TestDecodeIsStrict(t *testing.T) {
	for _, body := range []string{
		`{"actions":[],"surprise":1}`,
		`{"actions":[{"op":"create","object":{},"extra":true}]}`,
		`{"actions":[]} trailing`,
		`{"apiVersion":"wasmctl.dev/v2"}`,
		`not json`,
		"{\"actions\":[{\"op\":\"create\",\"object\":{\"a\":\"\xff\"}}]}",
		`{"actions":[`,
	} {
		if _, err := apply.Decode([]byte(body)); err == nil {
			t.Errorf("accepted %q", body)
		}
	}
}

// TestActionEventsRoundTrip: an action's events survive the plugin's
// encoding and the host's strict decoding, and an action without them
// encodes as before (no new keys).
func TestActionEventsRoundTrip(t *testing.T) {
	resp := abi.NewResponse()
	if err := resp.Add(abi.OpCreate, map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "web-0"}}); err != nil {
		t.Fatal(err)
	}
	plain, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(plain), "onSuccess") || strings.Contains(string(plain), "onFailure") {
		t.Fatalf("an action without events encodes them: %s", plain)
	}
	resp.Actions[0].OnSuccess = []abi.Event{{Type: abi.EventNormal, Reason: "SuccessfulCreate", Message: "create Pod web-0 in StatefulSet web successful"}}
	resp.Actions[0].OnFailure = []abi.Event{{Type: abi.EventWarning, Reason: "FailedCreate", Message: "create Pod web-0 in StatefulSet web failed error: {error}"}}
	data, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := apply.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	actions, err := apply.Validate(decoded, input())
	if err != nil {
		t.Fatal(err)
	}
	if a := actions[0]; !reflect.DeepEqual(a.OnSuccess, resp.Actions[0].OnSuccess) || !reflect.DeepEqual(a.OnFailure, resp.Actions[0].OnFailure) {
		t.Fatalf("decoded %+v %+v from %s", a.OnSuccess, a.OnFailure, data)
	}
}

// TestValidateRepeatedObjects: creates of the same JSON (a ReplicaSet's
// pods) are decoded once, and still each get an object of their own, equal
// to what decoding it alone gives, defaulted namespace included.
func TestValidateRepeatedObjects(t *testing.T) {
	pod := `{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"web-","labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"i"}]}}`
	other := `{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"db-"}}`
	create := func(obj string) string { return `{"op":"create","object":` + obj + `}` }
	resp, err := apply.Decode([]byte(`{"actions":[` + strings.Join([]string{create(pod), create(pod), create(pod), create(other), create(pod)}, ",") + `]}`))
	if err != nil {
		t.Fatal(err)
	}
	actions, err := apply.Validate(resp, input())
	if err != nil {
		t.Fatal(err)
	}
	alone := func(obj string) map[string]any {
		r, _ := apply.Decode([]byte(`{"actions":[` + create(obj) + `]}`))
		a, err := apply.Validate(r, input())
		if err != nil {
			t.Fatal(err)
		}
		return a[0].Object.Object
	}
	want, wantOther := alone(pod), alone(other)
	for i, a := range actions {
		w := want
		if i == 3 {
			w = wantOther
		}
		if !reflect.DeepEqual(a.Object.Object, w) {
			t.Fatalf("action %d: %v, want %v", i, a.Object.Object, w)
		}
	}
	actions[1].Object.SetLabels(map[string]string{"changed": "yes"})
	actions[1].Object.SetNamespace("elsewhere")
	for _, i := range []int{0, 2, 4} {
		if !reflect.DeepEqual(actions[i].Object.Object, want) {
			t.Fatalf("changing action 1's object changed action %d's: %v", i, actions[i].Object.Object)
		}
	}

	// A repeated object that is not valid is refused like any other.
	resp, _ = apply.Decode([]byte(`{"actions":[` + create(`{"kind":"Pod"}`) + `,` + create(`{"kind":"Pod"}`) + `]}`))
	if _, err := apply.Validate(resp, input()); err == nil || !strings.Contains(err.Error(), "apiVersion and kind") {
		t.Fatalf("got %v", err)
	}
}

// BenchmarkValidate: a ReplicaSet's response creating 10 pods (one JSON,
// ten times) and writing its status.
func BenchmarkValidate(b *testing.B) {
	pod := `{"op":"create","object":{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"web-","namespace":"ns","labels":{"app":"web"},"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web","uid":"rs-uid","controller":true,"blockOwnerDeletion":true}]},"spec":{"containers":[{"name":"c","image":"registry.k8s.io/pause:3.10","resources":{},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent"}],"restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","securityContext":{},"schedulerName":"default-scheduler"}}}`
	status := `{"op":"updateStatus","object":{"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"web","namespace":"ns","uid":"rs-uid"},"status":{"replicas":0}}}`
	resp, err := apply.Decode([]byte(`{"actions":[` + status + strings.Repeat(","+pod, 10) + `]}`))
	if err != nil {
		b.Fatal(err)
	}
	in := input()
	for b.Loop() {
		if _, err := apply.Validate(resp, in); err != nil {
			b.Fatal(err)
		}
	}
}
