package engine

import (
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// cachedMapper remembers RESTMapping answers. The discovery mapper takes a
// lock and walks every group on each call, and the host asks for every
// action it validates and applies (≈ 5 % of the host's CPU creating 5000
// pods). Only successes are kept: a kind and version, once served, keep
// their resource name and scope (a CRD's scope is immutable), and a
// missing kind must still be looked up again after its CRD appears.
type cachedMapper struct {
	meta.RESTMapper
	mappings sync.Map // string -> *meta.RESTMapping
}

func (m *cachedMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	key := gk.String() + "/" + strings.Join(versions, ",")
	if v, ok := m.mappings.Load(key); ok {
		return v.(*meta.RESTMapping), nil
	}
	mapping, err := m.RESTMapper.RESTMapping(gk, versions...)
	if err != nil {
		return nil, err
	}
	m.mappings.Store(key, mapping)
	return mapping, nil
}
