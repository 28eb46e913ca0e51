// Package rbac derives the host's Kubernetes RBAC from its controllers'
// effective permissions: exactly what the engine reads and what the applier
// is allowed to write, nothing more. deploy/ is generated from it
// (wasmctl-host rbac) and a test checks the checked-in copy.
package rbac

import (
	"sort"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"wasmctl.dev/wasmctl/abi"
)

// Names of the generated objects.
const (
	ClusterRoleName  = "wasmctl-host"
	LeaderRoleName   = "wasmctl-host-leader-election"
	DefaultNamespace = "wasmctl-system"
	DefaultAccount   = "wasmctl-host"
)

// Resource maps a kind to its resource name. Nil: Guess.
type Resource func(gvk schema.GroupVersionKind) string

// irregular are the built-in kinds whose resource is not what
// meta.UnsafeGuessKindToResource makes of the kind.
var irregular = map[schema.GroupKind]string{
	{Kind: "Endpoints"}: "endpoints",
}

// Guess derives a resource name from a kind: lower case, plural by
// apimachinery's rules, with the built-in exceptions. Discovery is the only
// authority (a custom resource may choose any plural).
func Guess(gvk schema.GroupVersionKind) string {
	if r, ok := irregular[gvk.GroupKind()]; ok {
		return r
	}
	plural, _ := meta.UnsafeGuessKindToResource(gvk)
	return plural.Resource
}

type key struct{ group, resource string }

// Rules returns the cluster-wide rules the manifests need: read (get, list,
// watch) of every kind the engine watches, update/patch of the primary and
// its status, every write of owned kinds, the explicit permissions' verbs,
// and Events.
func Rules(manifests []abi.Manifest, resource Resource) []rbacv1.PolicyRule {
	if resource == nil {
		resource = Guess
	}
	verbs := map[key]map[string]bool{}
	add := func(t abi.TypeRef, sub string, vs ...string) {
		gv, _ := schema.ParseGroupVersion(t.APIVersion)
		k := key{gv.Group, resource(gv.WithKind(t.Kind)) + sub}
		if verbs[k] == nil {
			verbs[k] = map[string]bool{}
		}
		for _, v := range vs {
			verbs[k][v] = true
		}
	}
	read := []string{"get", "list", "watch"}
	for _, m := range manifests {
		add(m.For, "", append(read, "update", "patch")...)
		add(m.For, "/status", "update", "patch")
		for _, o := range m.Owns {
			add(o, "", append(read, "create", "update", "patch", "delete")...)
		}
		for _, r := range m.Related {
			add(r.Type, "", read...)
		}
		for _, p := range m.Permissions {
			t := abi.TypeRef{APIVersion: p.APIVersion, Kind: p.Kind}
			for _, v := range p.Verbs {
				switch v {
				case abi.OpUpdateStatus:
					add(t, "/status", "update")
				case abi.OpCreate, abi.OpUpdate, abi.OpPatch, abi.OpDelete:
					add(t, "", string(v))
				}
			}
		}
	}
	add(abi.TypeRef{APIVersion: "v1", Kind: "Event"}, "", "create", "patch", "update")

	keys := make([]key, 0, len(verbs))
	for k := range verbs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].group != keys[j].group {
			return keys[i].group < keys[j].group
		}
		return keys[i].resource < keys[j].resource
	})
	var rules []rbacv1.PolicyRule
	for _, k := range keys {
		var vs []string
		for v := range verbs[k] {
			vs = append(vs, v)
		}
		sort.Strings(vs)
		// Merge with the previous rule when group and verbs are the same.
		if n := len(rules); n > 0 && rules[n-1].APIGroups[0] == k.group && strings.Join(rules[n-1].Verbs, ",") == strings.Join(vs, ",") {
			rules[n-1].Resources = append(rules[n-1].Resources, k.resource)
			continue
		}
		rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{k.group}, Resources: []string{k.resource}, Verbs: vs})
	}
	return rules
}

// Objects returns the ClusterRole and its binding for the controllers, and
// the Role and binding for leader election in namespace, all bound to the
// ServiceAccount account (which deploy/ creates).
func Objects(manifests []abi.Manifest, namespace, account string, resource Resource) []any {
	labels := map[string]string{"app.kubernetes.io/name": "wasmctl-host"}
	subject := []rbacv1.Subject{{Kind: "ServiceAccount", Name: account, Namespace: namespace}}
	return []any{
		&rbacv1.ClusterRole{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"},
			ObjectMeta: metav1.ObjectMeta{Name: ClusterRoleName, Labels: labels},
			Rules:      Rules(manifests, resource),
		},
		&rbacv1.ClusterRoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding"},
			ObjectMeta: metav1.ObjectMeta{Name: ClusterRoleName, Labels: labels},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: ClusterRoleName},
			Subjects:   subject,
		},
		&rbacv1.Role{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"},
			ObjectMeta: metav1.ObjectMeta{Name: LeaderRoleName, Namespace: namespace, Labels: labels},
			Rules: []rbacv1.PolicyRule{{
				APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"},
				Verbs: []string{"create", "get", "update"},
			}},
		},
		&rbacv1.RoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"},
			ObjectMeta: metav1.ObjectMeta{Name: LeaderRoleName, Namespace: namespace, Labels: labels},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: LeaderRoleName},
			Subjects:   subject,
		},
	}
}
