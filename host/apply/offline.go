package apply

import (
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/cache"

	"wasmctl.dev/wasmctl/abi"
)

// clusterScoped are the cluster-scoped kinds among those compiled into
// client-go (by group and kind; every version of them).
var clusterScoped = map[schema.GroupKind]bool{}

func init() {
	for group, kinds := range map[string][]string{
		"":                             {"Namespace", "Node", "PersistentVolume", "ComponentStatus"},
		"rbac.authorization.k8s.io":    {"ClusterRole", "ClusterRoleBinding"},
		"storage.k8s.io":               {"StorageClass", "CSIDriver", "CSINode", "VolumeAttachment", "VolumeAttributesClass"},
		"scheduling.k8s.io":            {"PriorityClass"},
		"admissionregistration.k8s.io": {"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding"},
		"certificates.k8s.io":          {"CertificateSigningRequest", "ClusterTrustBundle"},
		"flowcontrol.apiserver.k8s.io": {"FlowSchema", "PriorityLevelConfiguration"},
		"networking.k8s.io":            {"IngressClass", "IPAddress", "ServiceCIDR"},
		"node.k8s.io":                  {"RuntimeClass"},
		"resource.k8s.io":              {"DeviceClass", "ResourceSlice"},
		"authentication.k8s.io":        {"TokenReview", "SelfSubjectReview"},
		"authorization.k8s.io":         {"SubjectAccessReview", "SelfSubjectAccessReview", "SelfSubjectRulesReview"},
		"apiextensions.k8s.io":         {"CustomResourceDefinition"},
		"apiregistration.k8s.io":       {"APIService"},
		"internal.apiserver.k8s.io":    {"StorageVersion"},
		"storagemigration.k8s.io":      {"StorageVersionMigration"},
	} {
		for _, k := range kinds {
			clusterScoped[schema.GroupKind{Group: group, Kind: k}] = true
		}
	}
}

// StaticScope answers Scope without a cluster, for dry runs from files:
// kinds compiled into client-go by what the API server serves for them; a
// version or kind unknown in one of their groups ("apps/v2", "v1"
// Deployment) is an error, as the API server's would be; any other kind (a
// custom resource) is taken as namespaced.
func StaticScope(gvk schema.GroupVersionKind) (bool, error) {
	if scheme.Scheme.Recognizes(gvk) {
		return !clusterScoped[gvk.GroupKind()], nil
	}
	if scheme.Scheme.IsGroupRegistered(gvk.Group) {
		return false, fmt.Errorf("no kind %s is served in %s", gvk.Kind, gvk.GroupVersion())
	}
	return !clusterScoped[gvk.GroupKind()], nil
}

// InputFromRequest is the validation input a host builds for req: the
// primary and the children and orphans it handed over, checked against
// perms with scope.
func InputFromRequest(req []byte, perms Permissions, scope Scope) (Input, error) {
	var r abi.ReconcileRequest
	if err := json.Unmarshal(req, &r); err != nil {
		return Input{}, fmt.Errorf("request: %w", err)
	}
	primary := &unstructured.Unstructured{}
	if err := primary.UnmarshalJSON(r.Object); err != nil {
		return Input{}, fmt.Errorf("request object: %w", err)
	}
	in := Input{Primary: primary, Perms: perms, Scope: scope,
		Controlled: map[schema.GroupVersionKind]map[string]bool{}, Orphans: map[schema.GroupVersionKind]map[string]bool{}}
	add := func(m map[schema.GroupVersionKind]map[string]bool, raw json.RawMessage) error {
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(raw); err != nil {
			return err
		}
		gvk := u.GroupVersionKind()
		if m[gvk] == nil {
			m[gvk] = map[string]bool{}
		}
		m[gvk][cache.MetaObjectToName(u).String()] = true
		return nil
	}
	for _, c := range r.Children {
		if err := add(in.Controlled, c); err != nil {
			return Input{}, fmt.Errorf("request children: %w", err)
		}
	}
	for _, o := range r.Orphans {
		if err := add(in.Controlled, o); err != nil {
			return Input{}, fmt.Errorf("request orphans: %w", err)
		}
		_ = add(in.Orphans, o)
	}
	return in, nil
}
