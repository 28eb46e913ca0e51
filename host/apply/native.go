package apply

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"wasmctl.dev/wasmctl/abi"
)

// NativeClients writes the kinds client-go knows (its scheme: the built-in
// API) through REST clients that send JSON — the plugin's object as it is —
// and read the API server's answer as protobuf into a typed struct.
// Decoding a created Pod's JSON answer into a map[string]any costs several
// times more CPU and garbage than its protobuf into a typed struct; with the
// dynamic client, that decoding was the second largest cost of a host
// creating pods (docs/BENCHMARKS.md). Other kinds (custom resources) go
// through the dynamic client. Safe for concurrent use.
type NativeClients struct {
	config *rest.Config
	http   *http.Client

	mu      sync.Mutex
	clients map[schema.GroupVersion]rest.Interface
}

// NewNativeClients returns clients built from cfg on demand. They share
// cfg's HTTP client settings and, when cfg.RateLimiter is set, its rate
// limiter (set one to share the client rate limit with the dynamic client).
func NewNativeClients(cfg *rest.Config) (*NativeClients, error) {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	return &NativeClients{config: rest.CopyConfig(cfg), http: hc, clients: map[schema.GroupVersion]rest.Interface{}}, nil
}

// For returns the REST client of gvk's group and version, or false when
// client-go's scheme does not know the kind.
func (n *NativeClients) For(gvk schema.GroupVersionKind) (rest.Interface, bool) {
	if n == nil || !scheme.Scheme.Recognizes(gvk) {
		return nil, false
	}
	gv := gvk.GroupVersion()
	n.mu.Lock()
	defer n.mu.Unlock()
	if c, ok := n.clients[gv]; ok {
		return c, true
	}
	cfg := rest.CopyConfig(n.config)
	cfg.GroupVersion = &gv
	cfg.APIPath = "/apis"
	if gv.Group == "" {
		cfg.APIPath = "/api"
	}
	cfg.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	cfg.ContentType = runtime.ContentTypeJSON // request bodies: the plugin's JSON
	cfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	c, err := rest.RESTClientForConfigAndClient(cfg, n.http)
	if err != nil {
		return nil, false
	}
	n.clients[gv] = c
	return c, true
}

// nativeWrite sends a create, update, status update or patch through c and
// returns the written object's name and resourceVersion.
func nativeWrite(ctx context.Context, c rest.Interface, m *meta.RESTMapping, a *Action, fieldManager string) (name, rv string, err error) {
	obj := a.Object
	var req *rest.Request
	body := []byte(a.Patch) // a json.RawMessage would not be taken as raw bytes by Request.Body
	switch a.Op {
	case abi.OpCreate:
		req = c.Post().VersionedParams(&metav1.CreateOptions{FieldManager: fieldManager}, scheme.ParameterCodec)
	case abi.OpUpdate, abi.OpUpdateStatus:
		req = c.Put().Name(obj.GetName()).VersionedParams(&metav1.UpdateOptions{FieldManager: fieldManager}, scheme.ParameterCodec)
		if a.Op == abi.OpUpdateStatus {
			req = req.SubResource("status")
		}
	case abi.OpPatch:
		pt, opts := patchOptions(a, fieldManager)
		req = c.Patch(pt).Name(obj.GetName()).VersionedParams(&opts, scheme.ParameterCodec)
		if a.Subresource != "" {
			req = req.SubResource(a.Subresource)
		}
	default:
		return "", "", fmt.Errorf("op %s has no native write", a.Op)
	}
	if a.Op != abi.OpPatch {
		// The plugin's JSON as it is, unless the host changed the object (a
		// namespace left out is taken from the URL).
		if body = a.raw; body == nil {
			if body, err = json.Marshal(obj.Object); err != nil {
				return "", "", err
			}
		}
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		req = req.Namespace(obj.GetNamespace())
	}
	res, err := req.Resource(m.Resource.Resource).Body(body).Do(ctx).Get()
	if err != nil {
		return "", "", err
	}
	acc, err := meta.Accessor(res)
	if err != nil {
		return "", "", err
	}
	return acc.GetName(), acc.GetResourceVersion(), nil
}
