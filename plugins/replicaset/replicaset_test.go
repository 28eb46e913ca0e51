package replicaset_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/host/plugintest"
	"wasmctl.dev/wasmctl/plugins/replicaset"
)

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// rs builds a ReplicaSet object; mutate tweaks it.
func rs(replicas int, mutate ...func(map[string]any)) map[string]any {
	o := map[string]any{
		"apiVersion": "apps/v1", "kind": "ReplicaSet",
		"metadata": map[string]any{"name": "web", "namespace": "ns", "uid": "rs-uid", "generation": 1.0, "resourceVersion": "10"},
		"spec": map[string]any{
			"replicas": float64(replicas),
			"selector": map[string]any{"matchLabels": map[string]any{"app": "web"}},
			"template": map[string]any{
				"metadata": map[string]any{
					"labels":      map[string]any{"app": "web", "tier": "front"},
					"annotations": map[string]any{"note": "x"},
					"finalizers":  []any{"example.com/keep"},
					"name":        "ignored",
				},
				"spec": map[string]any{"containers": []any{map[string]any{"name": "c", "image": "pause"}}},
			},
		},
	}
	for _, m := range mutate {
		m(o)
	}
	return o
}

type podOpt func(map[string]any)

// pod builds a Pod owned by the ReplicaSet "web" unless orphaned.
func pod(name string, opts ...podOpt) map[string]any {
	p := map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{
			"name": name, "namespace": "ns", "uid": "uid-" + name,
			"labels":            map[string]any{"app": "web", "tier": "front"},
			"creationTimestamp": now.Add(-time.Hour).Format(time.RFC3339),
			"ownerReferences": []any{map[string]any{
				"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": "rs-uid", "controller": true,
			}},
		},
		"spec":   map[string]any{"nodeName": "node-1"},
		"status": map[string]any{"phase": "Running"},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func meta(p map[string]any) map[string]any { return p["metadata"].(map[string]any) }

func orphan(p map[string]any) { delete(meta(p), "ownerReferences") }
func labels(l map[string]any) podOpt {
	return func(p map[string]any) { meta(p)["labels"] = l }
}
func node(n string) podOpt {
	return func(p map[string]any) { p["spec"].(map[string]any)["nodeName"] = n }
}
func phase(ph string) podOpt {
	return func(p map[string]any) { p["status"].(map[string]any)["phase"] = ph }
}
func deleting(p map[string]any) { meta(p)["deletionTimestamp"] = now.Format(time.RFC3339) }
func created(ago time.Duration) podOpt {
	return func(p map[string]any) { meta(p)["creationTimestamp"] = now.Add(-ago).Format(time.RFC3339) }
}
func ready(ago time.Duration) podOpt {
	return func(p map[string]any) {
		p["status"].(map[string]any)["conditions"] = []any{map[string]any{
			"type": "Ready", "status": "True", "lastTransitionTime": now.Add(-ago).Format(time.RFC3339),
		}}
	}
}
func cost(c string) podOpt {
	return func(p map[string]any) {
		meta(p)["annotations"] = map[string]any{"controller.kubernetes.io/pod-deletion-cost": c}
	}
}
func restarts(n int) podOpt {
	return func(p map[string]any) {
		p["status"].(map[string]any)["containerStatuses"] = []any{map[string]any{"name": "c", "restartCount": float64(n)}}
	}
}

type request struct {
	object                     map[string]any
	children, orphans, related []map[string]any
	lastError                  *abi.ApplyError
}

func (r request) JSON(t testing.TB) []byte {
	t.Helper()
	raw := func(objs []map[string]any) []json.RawMessage {
		var out []json.RawMessage
		for _, o := range objs {
			b, _ := json.Marshal(o)
			out = append(out, b)
		}
		return out
	}
	obj, _ := json.Marshal(r.object)
	req := abi.ReconcileRequest{
		APIVersion: abi.Version, Kind: abi.KindReconcileRequest, Now: now.Format(time.RFC3339Nano),
		Object: obj, Children: raw(r.children), Orphans: raw(r.orphans), LastError: r.lastError,
		Config: json.RawMessage("{}"),
	}
	if r.related != nil {
		req.Related = map[string][]json.RawMessage{replicaset.RelatedPods: raw(r.related)}
	}
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// result summarises a response for assertions.
type result struct {
	creates  int
	deletes  []string
	adopted  []string
	released []string
	status   map[string]any // nil: no status write
	requeue  float64
	order    []abi.Op
	create   map[string]any // the first created pod
	patches  map[string]string
}

func summarise(t *testing.T, resp *abi.ReconcileResponse) result {
	t.Helper()
	r := result{requeue: resp.RequeueAfterSeconds, patches: map[string]string{}}
	for _, a := range resp.Actions {
		r.order = append(r.order, a.Op)
		var obj map[string]any
		if err := json.Unmarshal(a.Object, &obj); err != nil {
			t.Fatal(err)
		}
		name, _ := meta(obj)["name"].(string)
		switch a.Op {
		case abi.OpCreate:
			r.creates++
			if r.create == nil {
				r.create = obj
			}
		case abi.OpDelete:
			r.deletes = append(r.deletes, name)
		case abi.OpPatch:
			r.patches[name] = string(a.Patch)
			if strings.Contains(string(a.Patch), `"$patch":"delete"`) {
				r.released = append(r.released, name)
			} else {
				r.adopted = append(r.adopted, name)
			}
		case abi.OpUpdateStatus:
			r.status = obj["status"].(map[string]any)
		}
	}
	return r
}

// reconcilers runs every test natively and through the built .wasm.
func reconcilers(t *testing.T) map[string]func([]byte) (*abi.ReconcileResponse, error) {
	return map[string]func([]byte) (*abi.ReconcileResponse, error){
		"native": replicaset.Reconcile,
		"wasm":   wasmPlugin(t).Reconcile,
	}
}

func wasmPlugin(t *testing.T) *plugintest.Plugin { return plugintest.Shared(t, "./cmd") }

func TestReconcile(t *testing.T) {
	cases := []struct {
		name  string
		req   request
		check func(t *testing.T, r result)
	}{
		{
			name: "scale up from zero creates from the template, status first",
			req:  request{object: rs(3)},
			check: func(t *testing.T, r result) {
				if r.creates != 3 {
					t.Fatalf("creates %d", r.creates)
				}
				if r.order[0] != abi.OpUpdateStatus {
					t.Fatalf("order %v: status must come before the creates", r.order)
				}
				m := meta(r.create)
				if m["generateName"] != "web-" || m["name"] != nil || m["namespace"] != "ns" {
					t.Fatalf("metadata %v", m)
				}
				if !reflect.DeepEqual(m["labels"], map[string]any{"app": "web", "tier": "front"}) ||
					!reflect.DeepEqual(m["annotations"], map[string]any{"note": "x"}) ||
					!reflect.DeepEqual(m["finalizers"], []any{"example.com/keep"}) {
					t.Fatalf("template metadata not copied: %v", m)
				}
				ref := m["ownerReferences"].([]any)[0].(map[string]any)
				want := map[string]any{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": "rs-uid", "controller": true, "blockOwnerDeletion": true}
				if !reflect.DeepEqual(ref, want) {
					t.Fatalf("ownerReference %v", ref)
				}
				if r.create["spec"].(map[string]any)["containers"] == nil {
					t.Fatal("spec not copied")
				}
				if r.status["replicas"] != 0.0 || r.status["observedGeneration"] != 1.0 || r.status["terminatingReplicas"] != 0.0 {
					t.Fatalf("status %v", r.status)
				}
			},
		},
		{
			name:  "burst caps creates at 500",
			req:   request{object: rs(700)},
			check: func(t *testing.T, r result) { expect(t, r.creates, 500) },
		},
		{
			name: "scale down deletes the least valuable pods by name without uid",
			req: request{object: rs(2), children: []map[string]any{
				pod("running-ready", ready(time.Hour)),
				pod("pending", phase("Pending")),
				pod("unassigned", node("")),
				pod("running-notready"),
			}},
			check: func(t *testing.T, r result) {
				expect(t, fmt.Sprint(r.deletes), "[unassigned pending]")
			},
		},
		{
			name: "delete all when diff covers every pod",
			req:  request{object: rs(0), children: []map[string]any{pod("a"), pod("b")}},
			check: func(t *testing.T, r result) {
				expect(t, len(r.deletes), 2)
				expect(t, r.status["replicas"], 2.0) // pre-action snapshot
			},
		},
		{
			name: "adopts matching orphans with upstream's patch",
			req:  request{object: rs(2), children: []map[string]any{pod("a")}, orphans: []map[string]any{pod("o", orphan)}},
			check: func(t *testing.T, r result) {
				expect(t, fmt.Sprint(r.adopted), "[o]")
				expect(t, r.creates, 0)
				// Upstream's bytes: ownerRefControllerPatch marshals structs.
				want := `{"metadata":{"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web","uid":"rs-uid","controller":true,"blockOwnerDeletion":true}],"uid":"uid-o"}}`
				expect(t, r.patches["o"], want)
				expect(t, r.order[0], abi.OpPatch)
				expect(t, r.status["replicas"], 2.0)
			},
		},
		{
			name: "terminating and terminal orphans are neither adopted nor counted",
			req: request{object: rs(1), orphans: []map[string]any{
				pod("gone", orphan, deleting), pod("done", orphan, phase("Succeeded")),
			}},
			check: func(t *testing.T, r result) {
				expect(t, len(r.adopted), 0)
				expect(t, r.creates, 1)
				expect(t, r.status["terminatingReplicas"], 0.0) // orphans do not count
			},
		},
		{
			name: "releases owned pods that no longer match",
			req: request{object: rs(1), children: []map[string]any{
				pod("keep"), pod("moved", labels(map[string]any{"app": "other"})),
			}},
			check: func(t *testing.T, r result) {
				expect(t, fmt.Sprint(r.released), "[moved]")
				// Upstream's bytes (GenerateDeleteOwnerRefStrategicMergeBytes).
				expect(t, r.patches["moved"], `{"metadata":{"uid":"uid-moved","ownerReferences":[{"$patch":"delete","uid":"rs-uid"}]}}`)
				expect(t, r.status["replicas"], 1.0)
				expect(t, r.creates+len(r.deletes), 0)
			},
		},
		{
			name: "a ReplicaSet being deleted neither adopts, releases, creates nor deletes, but writes status",
			req: request{
				object:   rs(5, func(o map[string]any) { meta(o)["deletionTimestamp"] = now.Format(time.RFC3339) }),
				children: []map[string]any{pod("a"), pod("moved", labels(map[string]any{"app": "other"}))},
				orphans:  []map[string]any{pod("o", orphan)},
			},
			check: func(t *testing.T, r result) {
				expect(t, fmt.Sprint(r.order), "[updateStatus]")
				expect(t, r.status["replicas"], 1.0)
			},
		},
		{
			name: "terminating owned pods count in terminatingReplicas only",
			req:  request{object: rs(1), children: []map[string]any{pod("a"), pod("b", deleting)}},
			check: func(t *testing.T, r result) {
				expect(t, r.status["replicas"], 1.0)
				expect(t, r.status["terminatingReplicas"], 1.0)
				expect(t, r.creates+len(r.deletes), 0)
			},
		},
		{
			name: "status counts labels, readiness and availability; requeue at the next availability",
			req: request{
				object: rs(3, func(o map[string]any) { o["spec"].(map[string]any)["minReadySeconds"] = 10.0 }),
				children: []map[string]any{
					pod("avail", ready(time.Minute)),
					pod("soon", ready(4*time.Second)),
					pod("partial", labels(map[string]any{"app": "web"})),
				},
			},
			check: func(t *testing.T, r result) {
				expect(t, r.status["fullyLabeledReplicas"], 2.0)
				expect(t, r.status["readyReplicas"], 2.0)
				expect(t, r.status["availableReplicas"], 1.0)
				expect(t, r.requeue, 6.0)
			},
		},
		{
			name: "no status write when nothing changed",
			req: request{object: rs(1, func(o map[string]any) {
				o["status"] = map[string]any{"replicas": 1.0, "fullyLabeledReplicas": 1.0, "observedGeneration": 1.0, "terminatingReplicas": 0.0}
			}), children: []map[string]any{pod("a")}},
			check: func(t *testing.T, r result) { expect(t, len(r.order), 0) },
		},
		{
			name: "nil terminatingReplicas is a change (first sync writes)",
			req: request{object: rs(1, func(o map[string]any) {
				o["status"] = map[string]any{"replicas": 1.0, "fullyLabeledReplicas": 1.0, "observedGeneration": 1.0}
			}), children: []map[string]any{pod("a")}},
			check: func(t *testing.T, r result) { expect(t, fmt.Sprint(r.order), "[updateStatus]") },
		},
		{
			name: "a failed create surfaces as ReplicaFailure FailedCreate",
			req: request{object: rs(3), children: []map[string]any{pod("a")},
				lastError: &abi.ApplyError{Op: abi.OpCreate, Kind: "Pod", Message: `pods "web-x" is forbidden: exceeded quota`}},
			check: func(t *testing.T, r result) {
				conds := r.status["conditions"].([]any)
				c := conds[0].(map[string]any)
				expect(t, c["type"], "ReplicaFailure")
				expect(t, c["reason"], "FailedCreate")
				expect(t, c["message"], `pods "web-x" is forbidden: exceeded quota`)
				expect(t, r.creates, 2)
				expect(t, r.requeue, 0.0)
			},
		},
		{
			name: "ReplicaFailure is removed once there is nothing to do",
			req: request{object: rs(1, func(o map[string]any) {
				o["status"] = map[string]any{"replicas": 1.0, "observedGeneration": 1.0, "conditions": []any{
					map[string]any{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": "quota"},
				}}
			}), children: []map[string]any{pod("a")},
				lastError: &abi.ApplyError{Op: abi.OpCreate, Kind: "Pod", Message: "quota"}},
			check: func(t *testing.T, r result) {
				if _, ok := r.status["conditions"]; ok {
					t.Fatalf("conditions %v", r.status["conditions"])
				}
			},
		},
		{
			name: "an invalid selector stops the sync",
			req: request{object: rs(3, func(o map[string]any) {
				o["spec"].(map[string]any)["selector"] = map[string]any{"matchExpressions": []any{map[string]any{"key": "a", "operator": "Bogus"}}}
			})},
			check: func(t *testing.T, r result) { expect(t, len(r.order), 0) },
		},
		{
			// LabelSelectorAsSelector validates keys and values too; the
			// API server refuses such a selector, so this is belt and braces.
			name: "a selector with an invalid label key stops the sync",
			req: request{object: rs(3, func(o map[string]any) {
				o["spec"].(map[string]any)["selector"] = map[string]any{"matchLabels": map[string]any{"app web": "x"}}
			})},
			check: func(t *testing.T, r result) { expect(t, len(r.order), 0) },
		},
		{
			name: "matchExpressions select pods as upstream",
			req: request{
				object: rs(2, func(o map[string]any) {
					o["spec"].(map[string]any)["selector"] = map[string]any{
						"matchLabels":      map[string]any{"app": "web"},
						"matchExpressions": []any{map[string]any{"key": "tier", "operator": "In", "values": []any{"front", "back"}}, map[string]any{"key": "canary", "operator": "DoesNotExist"}},
					}
				}),
				orphans: []map[string]any{
					pod("front", orphan), pod("canary", orphan, labels(map[string]any{"app": "web", "tier": "front", "canary": ""})),
					pod("db", orphan, labels(map[string]any{"app": "web", "tier": "db"})),
				},
			},
			check: func(t *testing.T, r result) {
				expect(t, fmt.Sprint(r.adopted), "[front]")
				expect(t, r.creates, 1)
			},
		},
	}
	for impl, reconcile := range reconcilers(t) {
		for _, tc := range cases {
			t.Run(impl+"/"+tc.name, func(t *testing.T) {
				resp, err := reconcile(tc.req.JSON(t))
				if err != nil {
					t.Fatal(err)
				}
				tc.check(t, summarise(t, resp))
			})
		}
	}
}

func expect[T comparable](t *testing.T, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// TestDeletionOrder checks each rule of upstream's ranking by scaling two
// pods down to one: the first listed pod must be the one deleted.
func TestDeletionOrder(t *testing.T) {
	cases := []struct {
		name          string
		first, second []podOpt
		related       bool // send both pods as related (rank input)
	}{
		{"unassigned before assigned", []podOpt{node("")}, nil, false},
		{"pending before running", []podOpt{phase("Pending")}, nil, false},
		{"unknown before running", []podOpt{phase("Unknown")}, nil, false},
		{"empty phase ranks as pending", []podOpt{phase("")}, []podOpt{phase("Unknown")}, false},
		{"not ready before ready", nil, []podOpt{ready(time.Hour)}, false},
		{"lower deletion cost first", []podOpt{cost("-5")}, []podOpt{cost("3")}, false},
		{"invalid cost counts as zero", []podOpt{cost("+9")}, []podOpt{cost("1")}, false},
		{"leading zeros are invalid", []podOpt{cost("007")}, []podOpt{cost("1")}, false},
		{"more recently ready first", []podOpt{ready(time.Minute)}, []podOpt{ready(time.Hour)}, false},
		{"more restarts first", []podOpt{restarts(5)}, []podOpt{restarts(1)}, false},
		{"newer first", []podOpt{created(time.Minute)}, []podOpt{created(time.Hour)}, false},
		{"zero creation time first", []podOpt{func(p map[string]any) { delete(meta(p), "creationTimestamp") }}, nil, false},
	}
	for impl, reconcile := range reconcilers(t) {
		for _, tc := range cases {
			t.Run(impl+"/"+tc.name, func(t *testing.T) {
				a, b := pod("aaa", tc.first...), pod("bbb", tc.second...)
				// Each order: the expected victim must win either way.
				for _, kids := range [][]map[string]any{{a, b}, {b, a}} {
					resp, err := reconcile(request{object: rs(1), children: kids}.JSON(t))
					if err != nil {
						t.Fatal(err)
					}
					expect(t, fmt.Sprint(summarise(t, resp).deletes), "[aaa]")
				}
			})
		}
	}
}

// TestColocationRank: with a controller owner, the pod sharing its node with
// more related active pods goes first.
func TestColocationRank(t *testing.T) {
	owned := func(o map[string]any) {
		meta(o)["ownerReferences"] = []any{map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": "d", "uid": "d-uid", "controller": true}}
	}
	crowded, lonely := pod("crowded", node("n1")), pod("lonely", node("n2"))
	sibling := pod("sib", node("n1"), func(p map[string]any) { meta(p)["ownerReferences"] = nil })
	for impl, reconcile := range reconcilers(t) {
		t.Run(impl, func(t *testing.T) {
			// As the host sends it: related leaves out the children.
			req := request{object: rs(1, owned), children: []map[string]any{lonely, crowded}, related: []map[string]any{sibling}}
			resp, err := reconcile(req.JSON(t))
			if err != nil {
				t.Fatal(err)
			}
			expect(t, fmt.Sprint(summarise(t, resp).deletes), "[crowded]")
		})
	}
}

// TestLogBucketUIDTieBreak: ready times in the same log2 bucket fall back to
// the UID, and restart counts are never consulted.
func TestLogBucketUIDTieBreak(t *testing.T) {
	// 100 s and 110 s ago share floor(log2(ns)) = 36.
	a := pod("zzz", ready(100*time.Second), restarts(0), func(p map[string]any) { meta(p)["uid"] = "a" })
	b := pod("yyy", ready(110*time.Second), restarts(9), func(p map[string]any) { meta(p)["uid"] = "b" })
	for impl, reconcile := range reconcilers(t) {
		t.Run(impl, func(t *testing.T) {
			resp, err := reconcile(request{object: rs(1), children: []map[string]any{b, a}}.JSON(t))
			if err != nil {
				t.Fatal(err)
			}
			expect(t, fmt.Sprint(summarise(t, resp).deletes), "[zzz]")
		})
	}
}
