package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
)

// object is one API object as encoding/json decodes it.
type object = map[string]any

// workloadKinds are the kinds whose Events a snapshot keeps: the objects
// the six controllers record Events on.
var workloadKinds = []string{"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob"}

// The normalisation rules. Each is applied the same way to both sides, so
// what two control planes must disagree on (identifiers, clocks, the
// scheduler's ties, the kubelet's addresses) compares equal while everything
// a controller decides stays:
//
//  1. metadata.uid, metadata.managedFields, metadata.creationTimestamp and
//     every resourceVersion (also in object references: a CronJob's
//     status.active) are dropped: the API server generates them.
//  2. Every string that is an RFC 3339 time becomes "<time>": condition
//     times, startTime, completionTime, lastScheduleTime,
//     lastSuccessfulTime, deletionTimestamp, container start times, the
//     cronjob-scheduled-timestamp annotation. Presence is kept.
//  3. Every UID inside a string (owner references, Job selectors and the
//     batch.kubernetes.io/controller-uid and controller-uid labels) becomes
//     uid(Kind/name) of the object on the same side that has it — the
//     reference still has to point at the right object — or uid(?) when no
//     object seen on that side had it.
//  4. A CronJob's Jobs, named <cronjob>-<scheduled minute>, become
//     <cronjob>-{1}, {2}, ... in the order of their names; wherever the name
//     occurs (the Job, its pods' labels, the CronJob's status, Events).
//  5. A generated pod name (<generateName><5 random characters>) in any
//     string, an Event's message say, becomes <generateName>{*}. The pods
//     themselves get a stable name: a DaemonSet's <generateName>{<node>}
//     (the node is the controller's choice), any other
//     <generateName>{0}, {1}, ... in the order of their normalised content,
//     so that two sides' pods pair up whenever they can be paired at all.
//     StatefulSet pods' names are the controller's and stay.
//  6. Pods not owned by a DaemonSet get spec.nodeName "<node>" (the
//     scheduler breaks ties at random); every pod's podIP(s) and hostIP(s)
//     become "<ip>" (kwok allocates them in arrival order).
//  7. Events are reduced to what a controller decides: involved object
//     (kind, normalised name), type, reason, normalised message. Count,
//     times, source component (replicaset-controller vs
//     wasmctl-replicaset), reporting fields and the Event's own name go.
//     What is compared per involved object is the multiset of those lines
//     recorded since the previous checkpoint: each line with the number of
//     Events carrying it that are new or whose count rose since then (the
//     recorder folds a repeat of the same Event into its count: a
//     StatefulSet recreating ordered-0 repeats "create Pod ordered-0 ...",
//     which shows; how often a repeat happened does not, since it depends
//     on timing — kube-controller-manager deletes a terminating pod a
//     second time in some runs). A line from one Event shows bare, from n
//     with "(×n)".
//  8. A DaemonSet pod on a node with a NoExecute taint it does not
//     tolerate is deleted by two controllers at once: the DaemonSet
//     controller and kube-controller-manager's taint-eviction controller
//     (which runs on both sides). The first delete wins; the other finds
//     the pod gone and records nothing (upstream's pod control and the host
//     alike). Whether the DaemonSet's "Deleted pod" Event exists is a race,
//     so for such a pod (as last seen, against its node's taints now) it
//     is left out.
//  9. A Deployment's conditions are compared in type order, and a
//     Progressing NewReplicaSetAvailable condition whose message names an
//     older ReplicaSet of the Deployment is read as naming the newest.
//     Upstream's conditions change only on a transition (the changed one
//     is moved to the end), and its progress check is skipped while the
//     Progressing reason still says NewReplicaSetAvailable and all
//     replicas are updated (progress.go:48, isCompleteDeployment). So a
//     rollout that no sync saw half-done — kwok readies a Recreate
//     Deployment's one pod within milliseconds — keeps the previous
//     rollout's message and the conditions' order; one that a sync saw
//     half-done names the new ReplicaSet and moves the conditions. Two
//     runs of kube-controller-manager differ there.
//
// Nothing else is touched: pod-template-hash and controller-revision-hash
// values, revision names and numbers, generation and observedGeneration,
// annotations, conditions' reasons and messages must match as they are.
type normaliser struct {
	uids       map[string]string   // UID → Kind/name, of every object seen on this side
	prefixes   map[string]bool     // generateName values of pods (and owner names + "-")
	cronJobs   map[string][]string // CronJob name → the raw names of its Jobs, sorted
	prevEvents map[string]int      // Event UID → its count at the previous checkpoint
	lastPods   map[string]object   // pod name → the pod as last seen on this side
	nodes      map[string]object   // node name → the node in the current snapshot
}

func newNormaliser() *normaliser {
	return &normaliser{uids: map[string]string{}, prefixes: map[string]bool{}, cronJobs: map[string][]string{}, prevEvents: map[string]int{},
		lastPods: map[string]object{}}
}

var (
	timeRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$`)
	uidRE  = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
)

// genSuffix is what the API server appends to a generateName: 5 characters
// of apimachinery's rand.String alphabet (no vowels, no 0, 1, 3).
const genSuffix = `[bcdfghjklmnpqrstvwxz2456789]{5}`

// normalise turns one checkpoint's objects of one side into the compared
// form, keyed "Kind name" (Events: "Event Kind/name", one per involved
// object). It learns names and UIDs as it goes, so an Event about an
// object deleted since still reads the same.
func (n *normaliser) normalise(objs []object) map[string]object {
	// Learn: CronJob Jobs, generated-name prefixes, pods, nodes, then every UID.
	n.nodes = map[string]object{}
	for _, o := range objs {
		kind, name := str(o, "kind"), str(o, "metadata", "name")
		switch kind {
		case "Pod":
			n.lastPods[name] = o
		case "Node":
			n.nodes[name] = o
		}
		if kind == "Job" {
			if ck, cn := controllerOf(o); ck == "CronJob" && !slices.Contains(n.cronJobs[cn], name) {
				n.cronJobs[cn] = append(n.cronJobs[cn], name)
				sort.Strings(n.cronJobs[cn])
			}
		}
		switch kind {
		case "ReplicaSet", "DaemonSet", "Job":
			n.prefixes[name+"-"] = true
		case "Pod":
			if g := str(o, "metadata", "generateName"); g != "" {
				n.prefixes[g] = true
			}
		}
	}
	rw := n.rewriter()
	for _, o := range objs {
		kind := str(o, "kind")
		if uid := str(o, "metadata", "uid"); uid != "" && kind != "Event" {
			if kind == "Pod" {
				n.uids[uid] = "Pod" // nothing compared refers to a pod's UID
			} else {
				n.uids[uid] = kind + "/" + rw.names(str(o, "metadata", "name"))
			}
		}
	}

	out := map[string]object{}
	var pods []object
	var events []object
	for _, o := range objs {
		switch str(o, "kind") {
		case "Node":
			continue // read by rule 8, not compared
		case "Event":
			events = append(events, o)
			continue
		case "Pod":
			pods = append(pods, o)
			continue
		}
		c := rw.object(o)
		stripMeta(c)
		if str(c, "kind") == "Deployment" {
			deploymentConditions(c, objs)
		}
		out[str(c, "kind")+" "+str(c, "metadata", "name")] = c
	}
	for k, v := range n.pods(pods, rw) {
		out[k] = v
	}
	for k, v := range n.events(events, rw) {
		out[k] = v
	}
	return out
}

// pods normalises pods and gives the generated names their stable form
// (rule 5).
func (n *normaliser) pods(pods []object, rw *rewriter) map[string]object {
	type entry struct {
		obj    object
		group  string // generateName, or "" for a pod named by its controller
		daemon bool   // owned by a DaemonSet
		node   string // DaemonSet pods: the node
		key    string // JSON without the name, for the order in a group
	}
	groups := map[string][]*entry{}
	out := map[string]object{}
	for _, p := range pods {
		c := rw.object(p)
		stripMeta(c)
		ck, _ := controllerOf(p)
		spec, _ := c["spec"].(object)
		if spec != nil && ck != "DaemonSet" {
			if _, ok := spec["nodeName"]; ok {
				spec["nodeName"] = "<node>"
			}
		}
		if st, _ := c["status"].(object); st != nil {
			for _, f := range []string{"podIP", "hostIP"} {
				if _, ok := st[f]; ok {
					st[f] = "<ip>"
				}
			}
			for _, f := range []string{"podIPs", "hostIPs"} {
				if l, ok := st[f].([]any); ok {
					for i := range l {
						l[i] = object{"ip": "<ip>"}
					}
				}
			}
		}
		meta := c["metadata"].(object)
		g := str(p, "metadata", "generateName")
		if g == "" {
			out["Pod "+str(c, "metadata", "name")] = c
			continue
		}
		e := &entry{obj: c, group: g}
		if ck == "DaemonSet" {
			e.daemon = true
			e.node = str(p, "spec", "nodeName")
			if e.node == "" {
				e.node = daemonNode(p)
			}
		}
		delete(meta, "name")
		b, _ := json.Marshal(c)
		e.key = string(b)
		groups[g] = append(groups[g], e)
	}
	for _, g := range slices.Sorted(maps.Keys(groups)) {
		es := groups[g]
		sort.SliceStable(es, func(i, j int) bool {
			if es[i].node != es[j].node {
				return es[i].node < es[j].node
			}
			return es[i].key < es[j].key
		})
		seen := map[string]int{}
		for i, e := range es {
			var name string
			if e.daemon {
				node := e.node
				if node == "" {
					node = "?"
				}
				seen[node]++
				name = fmt.Sprintf("%s{%s}", rw.names(g), node)
				if seen[node] > 1 {
					name = fmt.Sprintf("%s{%s}#%d", rw.names(g), node, seen[node])
				}
			} else {
				name = fmt.Sprintf("%s{%d}", rw.names(g), i)
			}
			e.obj["metadata"].(object)["name"] = name
			out["Pod "+name] = e.obj
		}
	}
	return out
}

// daemonNode is the node a DaemonSet pod is pinned to by its required
// node affinity (matchFields metadata.name), for a pod not yet bound.
func daemonNode(p object) string {
	terms, _ := dig(p, "spec", "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms").([]any)
	for _, t := range terms {
		fields, _ := dig(t, "matchFields").([]any)
		for _, f := range fields {
			if str(f, "key") == "metadata.name" {
				if vs, _ := dig(f, "values").([]any); len(vs) == 1 {
					if v, ok := vs[0].(string); ok {
						return v
					}
				}
			}
		}
	}
	return ""
}

// events reduces Events to lines per involved object and keeps those
// recorded since the previous checkpoint (rule 7).
func (n *normaliser) events(events []object, rw *rewriter) map[string]object {
	counts := map[string]int{}
	recorded := map[string]int{}
	for _, e := range events {
		kind := str(e, "involvedObject", "kind")
		if !slices.Contains(workloadKinds, kind) {
			continue
		}
		c, _ := e["count"].(float64)
		uid := str(e, "metadata", "uid")
		counts[uid] = max(int(c), 1)
		if prev, ok := n.prevEvents[uid]; ok && prev >= counts[uid] {
			continue // nothing recorded on this Event since
		}
		if kind == "DaemonSet" && str(e, "reason") == "SuccessfulDelete" && n.evicted(strings.TrimPrefix(str(e, "message"), "Deleted pod: ")) {
			continue // rule 8
		}
		involved := kind + "/" + rw.string(str(e, "involvedObject", "name"))
		line := fmt.Sprintf("%s %s: %s", str(e, "type"), str(e, "reason"), rw.string(str(e, "message")))
		recorded[involved+"\x00"+line]++
	}
	n.prevEvents = counts
	byObject := map[string][]string{}
	for k, d := range recorded {
		involved, line, _ := strings.Cut(k, "\x00")
		if d > 1 {
			line = fmt.Sprintf("%s (×%d)", line, d)
		}
		byObject[involved] = append(byObject[involved], line)
	}
	out := map[string]object{}
	for involved, lines := range byObject {
		sort.Strings(lines)
		l := make([]any, len(lines))
		for i, s := range lines {
			l[i] = s
		}
		out["Event "+involved] = object{"kind": "Event", "involvedObject": involved, "new": l}
	}
	return out
}

// deploymentConditions applies rule 9 to a normalised Deployment d: its
// conditions in type order, and a Progressing NewReplicaSetAvailable
// message naming an older ReplicaSet of d (in objs) names the newest.
func deploymentConditions(d object, objs []object) {
	conds, _ := dig(d, "status", "conditions").([]any)
	sort.SliceStable(conds, func(i, j int) bool { return str(conds[i], "type") < str(conds[j], "type") })
	newest, newestRev, owned := "", -1, map[string]bool{}
	for _, o := range objs {
		if str(o, "kind") != "ReplicaSet" {
			continue
		}
		if k, name := controllerOf(o); k != "Deployment" || name != str(d, "metadata", "name") {
			continue
		}
		owned[str(o, "metadata", "name")] = true
		var rev int
		if _, err := fmt.Sscan(str(o, "metadata", "annotations", "deployment.kubernetes.io/revision"), &rev); err == nil && rev > newestRev {
			newest, newestRev = str(o, "metadata", "name"), rev
		}
	}
	for _, c := range conds {
		c, _ := c.(object)
		if str(c, "type") != "Progressing" || str(c, "reason") != "NewReplicaSetAvailable" {
			continue
		}
		var named string
		if _, err := fmt.Sscanf(str(c, "message"), "ReplicaSet %q has successfully progressed.", &named); err == nil && owned[named] && newest != "" {
			c["message"] = fmt.Sprintf("ReplicaSet %q has successfully progressed.", newest)
		}
	}
}

// evicted tells whether the pod named pod, as last seen, does not tolerate
// a NoExecute taint its node has now: kube-controller-manager's
// taint-eviction controller deletes it at once (rule 8).
func (n *normaliser) evicted(pod string) bool {
	p, ok := n.lastPods[pod]
	if !ok {
		return false
	}
	node, ok := n.nodes[str(p, "spec", "nodeName")]
	if !ok {
		return false
	}
	var taints []corev1.Taint
	var tolerations []corev1.Toleration
	if !decode(dig(node, "spec", "taints"), &taints) || !decode(dig(p, "spec", "tolerations"), &tolerations) {
		return false
	}
	for i := range taints {
		if taints[i].Effect != corev1.TaintEffectNoExecute {
			continue
		}
		tolerated := false
		for j := range tolerations {
			tolerated = tolerated || tolerations[j].ToleratesTaint(klog.Background(), &taints[i], false)
		}
		if !tolerated {
			return true
		}
	}
	return false
}

// decode converts a decoded JSON value into a typed one.
func decode(v, into any) bool {
	if v == nil {
		return true
	}
	b, err := json.Marshal(v)
	return err == nil && json.Unmarshal(b, into) == nil
}

// stripMeta applies rule 1 to an object's metadata.
func stripMeta(o object) {
	meta, _ := o["metadata"].(object)
	for _, f := range []string{"uid", "managedFields", "creationTimestamp", "selfLink"} {
		delete(meta, f)
	}
}

// rewriter applies rules 1-5 to every string of an object.
type rewriter struct {
	n      *normaliser
	podRE  *regexp.Regexp // generated pod names
	cron   map[string]string
	cronRE *regexp.Regexp
}

func (n *normaliser) rewriter() *rewriter {
	rw := &rewriter{n: n, cron: map[string]string{}}
	var alts []string
	for _, p := range slices.Sorted(maps.Keys(n.prefixes)) {
		alts = append(alts, regexp.QuoteMeta(p))
	}
	// Longest first: "web-5d4f-" before a shorter prefix of it.
	sort.SliceStable(alts, func(i, j int) bool { return len(alts[i]) > len(alts[j]) })
	if len(alts) > 0 {
		rw.podRE = regexp.MustCompile(`\b(` + strings.Join(alts, "|") + `)` + genSuffix + `\b`)
	}
	var cjs []string
	for cj, jobs := range n.cronJobs {
		cjs = append(cjs, regexp.QuoteMeta(cj))
		for i, j := range jobs {
			rw.cron[j] = fmt.Sprintf("%s-{%d}", cj, i+1)
		}
	}
	if len(cjs) > 0 {
		sort.SliceStable(cjs, func(i, j int) bool { return len(cjs[i]) > len(cjs[j]) })
		rw.cronRE = regexp.MustCompile(`\b(` + strings.Join(cjs, "|") + `)-\d{6,}\b`)
	}
	return rw
}

// names applies rule 4 (CronJob Jobs) to a name.
func (rw *rewriter) names(s string) string {
	if rw.cronRE == nil {
		return s
	}
	return rw.cronRE.ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := rw.cron[m]; ok {
			return v
		}
		return rw.cronRE.FindStringSubmatch(m)[1] + "-{?}"
	})
}

// string applies rules 2-5 to one string.
func (rw *rewriter) string(s string) string {
	if timeRE.MatchString(s) {
		return "<time>"
	}
	s = uidRE.ReplaceAllStringFunc(s, func(u string) string {
		if v, ok := rw.n.uids[u]; ok {
			return "uid(" + v + ")"
		}
		return "uid(?)"
	})
	if rw.podRE != nil {
		s = rw.podRE.ReplaceAllStringFunc(s, func(m string) string { return m[:len(m)-5] + "{*}" })
	}
	return rw.names(s)
}

// object returns a deep copy of o with every string rewritten and every
// resourceVersion dropped.
func (rw *rewriter) object(o object) object { return rw.value(o).(object) }

func (rw *rewriter) value(v any) any {
	switch v := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(v))
		for k, x := range v {
			if k == "resourceVersion" {
				continue
			}
			c[k] = rw.value(x)
		}
		return c
	case []any:
		c := make([]any, len(v))
		for i, x := range v {
			c[i] = rw.value(x)
		}
		return c
	case string:
		return rw.string(v)
	}
	return v
}

// controllerOf is the kind and name of o's controller owner reference.
func controllerOf(o object) (kind, name string) {
	refs, _ := dig(o, "metadata", "ownerReferences").([]any)
	for _, r := range refs {
		if c, _ := dig(r, "controller").(bool); c {
			return str(r, "kind"), str(r, "name")
		}
	}
	return "", ""
}

// dig follows keys through nested maps.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func str(v any, keys ...string) string {
	s, _ := dig(v, keys...).(string)
	return s
}
