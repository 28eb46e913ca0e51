package main

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// parse reads objects written as YAML documents separated by "---".
func parse(t *testing.T, docs string) []object {
	t.Helper()
	var out []object
	for _, d := range strings.Split(docs, "\n---\n") {
		if strings.TrimSpace(d) == "" {
			continue
		}
		var o object
		b, err := yaml.YAMLToJSON([]byte(d))
		if err != nil {
			t.Fatalf("%v in\n%s", err, d)
		}
		if err := json.Unmarshal(b, &o); err != nil {
			t.Fatal(err)
		}
		out = append(out, o)
	}
	return out
}

const (
	uidA1 = "11111111-1111-1111-1111-111111111111"
	uidA2 = "22222222-2222-2222-2222-222222222222"
	uidB1 = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"
	uidB2 = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb"
	uidA3 = "44444444-4444-4444-4444-444444444444"
	uidB3 = "eeeeeeee-eeee-eeee-eeee-eeeeeeeeeeee"
)

func rsPod(name, uid, rsUID, node, ip, image string) string {
	return `
apiVersion: v1
kind: Pod
metadata: {name: ` + name + `, generateName: web-5d4f8c7b9-, namespace: conformance, uid: ` + uid + `, resourceVersion: "` + uid[:3] + `",
  creationTimestamp: "2026-01-02T03:04:05Z", labels: {app: web, pod-template-hash: 5d4f8c7b9},
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d4f8c7b9, uid: ` + rsUID + `, controller: true, blockOwnerDeletion: true}]}
spec: {nodeName: ` + node + `, containers: [{name: main, image: "` + image + `"}]}
status: {phase: Running, podIP: ` + ip + `, podIPs: [{ip: ` + ip + `}], hostIP: 10.0.0.1, startTime: "2026-01-02T03:04:06Z",
  conditions: [{type: Ready, status: "True", lastTransitionTime: "2026-01-02T03:04:07Z"}]}`
}

func rs(uid, hash string, generation int) string {
	return `
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web-` + hash + `, namespace: conformance, uid: ` + uid + `, resourceVersion: "7", generation: ` + itoa(generation) + `,
  managedFields: [{manager: x}], labels: {app: web, pod-template-hash: ` + hash + `}}
spec: {replicas: 2}
status: {replicas: 2, observedGeneration: ` + itoa(generation) + `}`
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func dsPod(name, node string) string {
	return `
apiVersion: v1
kind: Pod
metadata: {name: ` + name + `, generateName: agent-, uid: ` + uidA2 + `,
  ownerReferences: [{apiVersion: apps/v1, kind: DaemonSet, name: agent, uid: ` + uidA1 + `, controller: true}]}
spec:
  nodeName: ` + node + `
  affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchFields: [{key: metadata.name, operator: In, values: [` + node + `]}]}]}}}`
}

func event(name, uid, kind, involved, reason, message string, count int, source string) string {
	return `
apiVersion: v1
kind: Event
metadata: {name: ` + name + `, uid: ` + uid + `}
involvedObject: {kind: ` + kind + `, name: ` + involved + `, uid: ` + uidA1 + `}
type: Normal
reason: ` + reason + `
message: "` + message + `"
count: ` + itoa(count) + `
source: {component: ` + source + `}
firstTimestamp: "2026-01-02T03:04:05Z"
lastTimestamp: "2026-01-02T03:04:09Z"`
}

func cronJobJob(name, uid, cjUID string) string {
	return `
apiVersion: batch/v1
kind: Job
metadata: {name: ` + name + `, uid: ` + uid + `, annotations: {batch.kubernetes.io/cronjob-scheduled-timestamp: "2026-01-02T03:04:00Z"},
  labels: {batch.kubernetes.io/controller-uid: ` + uid + `, batch.kubernetes.io/job-name: ` + name + `, controller-uid: ` + uid + `, job-name: ` + name + `},
  ownerReferences: [{apiVersion: batch/v1, kind: CronJob, name: tick, uid: ` + cjUID + `, controller: true}]}
spec: {selector: {matchLabels: {batch.kubernetes.io/controller-uid: ` + uid + `}}}
status: {startTime: "2026-01-02T03:04:01Z", completionTime: "2026-01-02T03:04:03Z", succeeded: 1}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: tick, uid: ` + cjUID + `}
status: {lastScheduleTime: "2026-01-02T03:04:00Z", active: [{kind: Job, name: ` + name + `, uid: ` + uid + `, resourceVersion: "99"}]}`
}

// deploymentDoc is Deployment web with the conditions given (type/reason/RS
// named in the message) and its ReplicaSets web-old (revision 1) and
// web-new (revision 2).
func deploymentDoc(conds ...[3]string) string {
	var cs []string
	for _, c := range conds {
		msg := "Deployment has minimum availability."
		if c[0] == "Progressing" {
			msg = `ReplicaSet \"` + c[2] + `\" has successfully progressed.`
		}
		cs = append(cs, `{type: `+c[0]+`, status: "True", reason: `+c[1]+`, message: "`+msg+`", lastUpdateTime: "2026-01-02T03:04:05Z"}`)
	}
	d := `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, uid: ` + uidA1 + `}
status: {conditions: [` + strings.Join(cs, ", ") + `]}`
	for i, rs := range []string{"web-old", "web-new"} {
		d += `
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: ` + rs + `, annotations: {deployment.kubernetes.io/revision: "` + itoa(i+1) + `"},
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: ` + uidA1 + `, controller: true}]}`
	}
	return d
}

func TestNormalise(t *testing.T) {
	available := [3]string{"Available", "MinimumReplicasAvailable"}
	for _, tc := range []struct {
		name  string
		a, b  string
		equal bool
	}{
		{"server-generated metadata and times", rs(uidA1, "5d4f8c7b9", 2), rs(uidB1, "5d4f8c7b9", 2), true},
		{"generation is kept", rs(uidA1, "5d4f8c7b9", 2), rs(uidB1, "5d4f8c7b9", 3), false},
		{"pod-template-hash is kept", rs(uidA1, "5d4f8c7b9", 2), rs(uidB1, "6b7c8d9f2", 2), false},
		{
			"generated pod names, nodes, IPs and order",
			rs(uidA1, "5d4f8c7b9", 1) + "\n---" + rsPod("web-5d4f8c7b9-x2k4p", uidA2, uidA1, "kwok-node-1", "10.0.1.2", "w:1") + "\n---" + rsPod("web-5d4f8c7b9-b7zzq", "33333333-3333-3333-3333-333333333333", uidA1, "kwok-node-2", "10.0.1.3", "w:2"),
			rs(uidB1, "5d4f8c7b9", 1) + "\n---" + rsPod("web-5d4f8c7b9-qq9rt", uidB2, uidB1, "kwok-node-3", "10.0.1.7", "w:2") + "\n---" + rsPod("web-5d4f8c7b9-c5d6f", "cccccccc-cccc-cccc-cccc-cccccccccccc", uidB1, "kwok-node-3", "10.0.1.9", "w:1"),
			true,
		},
		{
			"a pod's content is kept",
			rs(uidA1, "5d4f8c7b9", 1) + "\n---" + rsPod("web-5d4f8c7b9-x2k4p", uidA2, uidA1, "kwok-node-1", "10.0.1.2", "w:1"),
			rs(uidB1, "5d4f8c7b9", 1) + "\n---" + rsPod("web-5d4f8c7b9-qq9rt", uidB2, uidB1, "kwok-node-1", "10.0.1.2", "w:2"),
			false,
		},
		{
			"an owner reference must point at the same object",
			rs(uidA1, "5d4f8c7b9", 1) + "\n---" + rs(uidA3, "6b7c8d9f2", 1) + "\n---" + rsPod("web-5d4f8c7b9-x2k4p", uidA2, uidA1, "n", "i", "w:1"),
			rs(uidB1, "5d4f8c7b9", 1) + "\n---" + rs(uidB3, "6b7c8d9f2", 1) + "\n---" + rsPod("web-5d4f8c7b9-qq9rt", uidB2, uidB3, "n", "i", "w:1"),
			false,
		},
		{
			"an owner reference to an object never seen",
			rs(uidA1, "5d4f8c7b9", 1) + "\n---" + rsPod("web-5d4f8c7b9-x2k4p", uidA2, uidA1, "n", "i", "w:1"),
			rs(uidB1, "5d4f8c7b9", 1) + "\n---" + rsPod("web-5d4f8c7b9-qq9rt", uidB2, "dddddddd-dddd-dddd-dddd-dddddddddddd", "n", "i", "w:1"),
			false,
		},
		{"daemon pods: the node names them", dsPod("agent-x2k4p", "kwok-node-1"), dsPod("agent-zz5q7", "kwok-node-1"), true},
		{"daemon pods: the node is kept", dsPod("agent-x2k4p", "kwok-node-1"), dsPod("agent-x2k4p", "kwok-node-2"), false},
		{
			"CronJob Jobs: scheduled-minute names, controller-uid labels, active references",
			cronJobJob("tick-29450000", uidA1, uidA2) + "\n---" + event("e1", uidA2, "CronJob", "tick", "SuccessfulCreate", "Created job tick-29450000", 1, "cronjob-controller"),
			cronJobJob("tick-29450007", uidB1, uidB2) + "\n---" + event("e9", uidB2, "CronJob", "tick", "SuccessfulCreate", "Created job tick-29450007", 1, "wasmctl-cronjob"),
			true,
		},
		{
			"a Job selector naming another Job's UID",
			cronJobJob("tick-29450000", uidA1, uidA2),
			strings.Replace(cronJobJob("tick-29450007", uidB1, uidB2), "matchLabels: {batch.kubernetes.io/controller-uid: "+uidB1, "matchLabels: {batch.kubernetes.io/controller-uid: "+uidB2, 1),
			false,
		},
		{
			"Events: pod names, count, times, source component",
			rs(uidA1, "5d4f8c7b9", 1) + "\n---" + event("e1", uidA2, "ReplicaSet", "web-5d4f8c7b9", "SuccessfulCreate", "Created pod: web-5d4f8c7b9-x2k4p", 1, "replicaset-controller") +
				"\n---" + event("e2", "33333333-3333-3333-3333-333333333333", "ReplicaSet", "web-5d4f8c7b9", "SuccessfulCreate", "Created pod: web-5d4f8c7b9-b7zzq", 1, "replicaset-controller"),
			rs(uidB1, "5d4f8c7b9", 1) + "\n---" + event("f1", uidB2, "ReplicaSet", "web-5d4f8c7b9", "SuccessfulCreate", "Created pod: web-5d4f8c7b9-qq9rt", 3, "wasmctl-replicaset") +
				"\n---" + event("f2", "cccccccc-cccc-cccc-cccc-cccccccccccc", "ReplicaSet", "web-5d4f8c7b9", "SuccessfulCreate", "Created pod: web-5d4f8c7b9-c5d6f", 1, "wasmctl-replicaset"),
			true,
		},
		{
			"Events: how many pods were created is kept",
			rs(uidA1, "5d4f8c7b9", 1) + "\n---" + event("e1", uidA2, "ReplicaSet", "web-5d4f8c7b9", "SuccessfulCreate", "Created pod: web-5d4f8c7b9-x2k4p", 1, "replicaset-controller") +
				"\n---" + event("e2", "33333333-3333-3333-3333-333333333333", "ReplicaSet", "web-5d4f8c7b9", "SuccessfulCreate", "Created pod: web-5d4f8c7b9-b7zzq", 1, "replicaset-controller"),
			rs(uidB1, "5d4f8c7b9", 1) + "\n---" + event("f1", uidB2, "ReplicaSet", "web-5d4f8c7b9", "SuccessfulCreate", "Created pod: web-5d4f8c7b9-qq9rt", 2, "wasmctl-replicaset"),
			false,
		},
		{
			"Events: the reason is kept",
			event("e1", uidA2, "Deployment", "web", "ScalingReplicaSet", "Scaled up replica set web-5d4f8c7b9 from 0 to 2", 1, "deployment-controller"),
			event("e1", uidA2, "Deployment", "web", "Scaling", "Scaled up replica set web-5d4f8c7b9 from 0 to 2", 1, "wasmctl-deployment"),
			false,
		},
		{
			"a Deployment whose rollout no sync saw half-done keeps the old message and order",
			deploymentDoc([3]string{"Progressing", "NewReplicaSetAvailable", "web-old"}, available),
			deploymentDoc(available, [3]string{"Progressing", "NewReplicaSetAvailable", "web-new"}),
			true,
		},
		{
			"a Progressing message naming another Deployment's ReplicaSet",
			deploymentDoc(available, [3]string{"Progressing", "NewReplicaSetAvailable", "api-old"}),
			deploymentDoc(available, [3]string{"Progressing", "NewReplicaSetAvailable", "web-new"}),
			false,
		},
		{
			"a Progressing reason is kept",
			deploymentDoc(available, [3]string{"Progressing", "ReplicaSetUpdated", "web-new"}),
			deploymentDoc(available, [3]string{"Progressing", "NewReplicaSetAvailable", "web-new"}),
			false,
		},
		{
			"Events of non-workload objects are left out",
			event("e1", uidA2, "Pod", "web-5d4f8c7b9-x2k4p", "Scheduled", "Successfully assigned conformance/web-5d4f8c7b9-x2k4p to kwok-node-1", 1, "default-scheduler"),
			"",
			true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			na := newNormaliser().normalise(parse(t, tc.a))
			// The other control plane ran at another time.
			nb := newNormaliser().normalise(parse(t, strings.ReplaceAll(tc.b, "2026-01-02T03:04:0", "2027-06-07T08:09:1")))
			if got := reflect.DeepEqual(na, nb); got != tc.equal {
				ya, _ := yaml.Marshal(na)
				yb, _ := yaml.Marshal(nb)
				t.Errorf("equal = %v, want %v\n%s", got, tc.equal, unifiedDiff("a", "b", strings.Split(string(ya), "\n"), strings.Split(string(yb), "\n"), 3))
			}
		})
	}
}

// TestNormaliseEventsSinceLastCheckpoint: an Event counts at a checkpoint
// when it is new or its count rose since the previous one, once however
// much it rose; a generated name gone from the snapshot still reads the
// same.
func TestNormaliseEventsSinceLastCheckpoint(t *testing.T) {
	n := newNormaliser()
	first := n.normalise(parse(t, rs(uidA1, "5d4f8c7b9", 1)+"\n---"+rsPod("web-5d4f8c7b9-x2k4p", uidA2, uidA1, "n", "i", "w:1")+
		"\n---"+event("e1", uidA2, "ReplicaSet", "web-5d4f8c7b9", "SuccessfulCreate", "Created pod: web-5d4f8c7b9-x2k4p", 1, "c")+
		"\n---"+event("e2", uidB2, "StatefulSet", "db", "SuccessfulCreate", "create Pod db-0 in StatefulSet db successful", 1, "c")))
	want := []any{"Normal SuccessfulCreate: Created pod: web-5d4f8c7b9-{*}"}
	if got := first["Event ReplicaSet/web-5d4f8c7b9"]["new"]; !reflect.DeepEqual(got, want) {
		t.Errorf("first checkpoint: %v, want %v", got, want)
	}
	// The pod is gone; db-0 was created again (twice: the count rose by 2).
	second := n.normalise(parse(t, rs(uidA1, "5d4f8c7b9", 1)+
		"\n---"+event("e1", uidA2, "ReplicaSet", "web-5d4f8c7b9", "SuccessfulCreate", "Created pod: web-5d4f8c7b9-x2k4p", 1, "c")+
		"\n---"+event("e2", uidB2, "StatefulSet", "db", "SuccessfulCreate", "create Pod db-0 in StatefulSet db successful", 3, "c")+
		"\n---"+event("e3", uidB1, "ReplicaSet", "web-5d4f8c7b9", "SuccessfulDelete", "Deleted pod: web-5d4f8c7b9-x2k4p", 1, "c")))
	if _, ok := second["Event ReplicaSet/web-5d4f8c7b9"]; !ok {
		t.Fatalf("second checkpoint: no ReplicaSet Events: %v", second)
	}
	for key, want := range map[string][]any{
		"Event ReplicaSet/web-5d4f8c7b9": {"Normal SuccessfulDelete: Deleted pod: web-5d4f8c7b9-{*}"},
		"Event StatefulSet/db":           {"Normal SuccessfulCreate: create Pod db-0 in StatefulSet db successful"},
	} {
		if got := second[key]["new"]; !reflect.DeepEqual(got, want) {
			t.Errorf("second checkpoint %s: %v, want %v", key, got, want)
		}
	}
}

func TestAllowedBy(t *testing.T) {
	saved := allowList
	defer func() { allowList = saved }()
	allowList = []allowance{{id: "x", kind: "DaemonSet", checkpoint: "c", path: regexp.MustCompile(`^status\.`)}}
	for _, tc := range []struct {
		d    difference
		want bool
	}{
		{difference{checkpoint: "c", kind: "DaemonSet", key: "DaemonSet a", paths: []string{"status.numberReady", "status.numberMisscheduled"}}, true},
		{difference{checkpoint: "c", kind: "DaemonSet", key: "DaemonSet a", paths: []string{"status.numberReady", "spec.template"}}, false},
		{difference{checkpoint: "d", kind: "DaemonSet", key: "DaemonSet a", paths: []string{"status.numberReady"}}, false},
		{difference{checkpoint: "c", kind: "Deployment", key: "Deployment a", paths: []string{"status.replicas"}}, false},
	} {
		if got := allowedBy(&tc.d) != nil; got != tc.want {
			t.Errorf("%+v: allowed %v, want %v", tc.d, got, tc.want)
		}
	}
}

func TestUnifiedDiff(t *testing.T) {
	a := strings.Split("a b c d e f g h i j k l m", " ")
	b := strings.Split("a b c D e f g h i j k l m n", " ")
	want := `--- x
+++ y
@@ -1,7 +1,7 @@
 a
 b
 c
-d
+D
 e
 f
 g
@@ -11,3 +11,4 @@
 k
 l
 m
+n
`
	if got := unifiedDiff("x", "y", a, b, 3); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestNormaliseTaintEvictionRace: the DaemonSet's "Deleted pod" Event for
// a pod its node's NoExecute taint evicts is a race with the
// taint-eviction controller and left out (rule 8); for a pod that
// tolerates the taint it stays.
func TestNormaliseTaintEvictionRace(t *testing.T) {
	node := func(taint string) string {
		return `
apiVersion: v1
kind: Node
metadata: {name: kwok-node-4, uid: ` + uidA3 + `}
spec: {taints: [` + taint + `]}`
	}
	pod := func(tolerations string) string {
		return dsPod("agent-x2k4p", "kwok-node-4") + "\n  tolerations: [" + tolerations + "]"
	}
	deleted := event("e1", uidB3, "DaemonSet", "agent", "SuccessfulDelete", "Deleted pod: agent-x2k4p", 1, "daemonset-controller")
	evict := "{key: evict, value: 'true', effect: NoExecute}"
	for _, tc := range []struct {
		name        string
		tolerations string
		equal       bool
	}{
		{"untolerated: whether the DaemonSet's delete is recorded is a race", "{key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute}", true},
		{"tolerated: the delete must be the same", "{key: evict, operator: Exists, effect: NoExecute}", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var views []map[string]object
			for _, withEvent := range []bool{true, false} {
				n := newNormaliser()
				n.normalise(parse(t, node("")+"\n---"+pod(tc.tolerations)))
				second := node(evict)
				if withEvent {
					second += "\n---" + deleted
				}
				views = append(views, n.normalise(parse(t, second)))
			}
			if got := reflect.DeepEqual(views[0], views[1]); got != tc.equal {
				t.Errorf("equal = %v, want %v: %v / %v", got, tc.equal, views[0], views[1])
			}
		})
	}
}
