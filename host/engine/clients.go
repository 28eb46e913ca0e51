package engine

import (
	"k8s.io/apimachinery/pkg/api/meta"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/util/flowcontrol"

	"wasmctl.dev/wasmctl/host/apply"
)

// Clients are what the engine talks to the API server with. Tests build
// them over client-go's fakes; NewClients over a rest.Config.
type Clients struct {
	// Typed lists and watches the kinds compiled into client-go (built
	// with protobuf as its content type); nil: everything goes through
	// Dynamic.
	Typed kubernetes.Interface
	// Dynamic lists and watches the other kinds.
	Dynamic dynamic.Interface
	// Writes applies actions of kinds Native does not serve.
	Writes dynamic.Interface
	// Native writes the built-in kinds; nil: Writes does.
	Native *apply.NativeClients
	// Events receives the Events recorded on primaries; nil: none are sent
	// (they still reach the broadcaster's watchers).
	Events typedcorev1.EventsGetter
	// Mapper resolves kinds to resources and scopes.
	Mapper meta.RESTMapper
}

// NewClients builds the clients of a host over rc, limited to qps and burst
// as kube-controller-manager limits its own: the informers' lists and
// watches, the writes (dynamic and native, one shared bucket) and the
// events each have their own limit. Discovery answers are cached (only
// successes: a kind not yet served is looked up again).
func NewClients(rc *rest.Config, qps float32, burst int) (*Clients, error) {
	rc = rest.CopyConfig(rc)
	rc.QPS, rc.Burst = qps, burst
	if rc.UserAgent == "" {
		rc.UserAgent = "wasmctl-host"
	}
	writes := rest.CopyConfig(rc)
	if writes.QPS > 0 && writes.RateLimiter == nil {
		writes.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(writes.QPS, writes.Burst)
	}
	var c Clients
	var err error
	if c.Writes, err = dynamic.NewForConfig(writes); err != nil {
		return nil, err
	}
	if c.Native, err = apply.NewNativeClients(writes); err != nil {
		return nil, err
	}
	if c.Dynamic, err = dynamic.NewForConfig(rc); err != nil {
		return nil, err
	}
	events, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	c.Events = events.CoreV1()
	proto := rest.CopyConfig(rc)
	proto.ContentType = kruntime.ContentTypeProtobuf
	proto.AcceptContentTypes = kruntime.ContentTypeProtobuf + "," + kruntime.ContentTypeJSON
	if c.Typed, err = kubernetes.NewForConfig(proto); err != nil {
		return nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(rc)
	if err != nil {
		return nil, err
	}
	c.Mapper = &cachedMapper{RESTMapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))}
	return &c, nil
}
