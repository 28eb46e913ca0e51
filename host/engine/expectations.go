package engine

import (
	"sync"
	"time"
)

// ExpectationsTTL is how long expectations hold a key back at most: a watch
// event that never arrives (missed across a relist) must not wedge a key.
// Upstream controllers use the same 5 minutes.
const ExpectationsTTL = 5 * time.Minute

// Expectations remember, per primary key, the child creations and deletions
// the controller has asked for and the informer has not yet shown. While
// some are outstanding the plugin is not called for the key: its view of the
// children would be stale and it would create or delete again. This is the
// generic form of kube-controller-manager's UIDTrackingControllerExpectations:
// creations are counted (their names may be generated), deletions are
// tracked by child key.
//
// Safe for concurrent use.
type Expectations struct {
	mu  sync.Mutex
	m   map[string]*expectation
	now func() time.Time
	ttl time.Duration
	// stale holds, per key, the resourceVersion the primary had when the
	// controller wrote it: until the cache moves past it, the plugin would
	// read its own writes' old state (a status it already replaced).
	stale map[string]staleRV
}

type staleRV struct {
	rv  string
	set time.Time
}

type expectation struct {
	creates int
	deletes map[string]bool
	set     time.Time
}

// NewExpectations returns empty expectations.
func NewExpectations() *Expectations {
	return &Expectations{m: map[string]*expectation{}, stale: map[string]staleRV{}, now: time.Now, ttl: ExpectationsTTL}
}

// Expect replaces the expectations of key with creates pending creations and
// the given pending deletions.
func (e *Expectations) Expect(key string, creates int, deletes []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if creates <= 0 && len(deletes) == 0 {
		delete(e.m, key)
		return
	}
	ex := &expectation{creates: creates, deletes: make(map[string]bool, len(deletes)), set: e.now()}
	for _, d := range deletes {
		ex.deletes[d] = true
	}
	e.m[key] = ex
}

// CreationObserved lowers the pending creations of key by one: the informer
// showed a new child, or a create failed and will not show.
func (e *Expectations) CreationObserved(key string) { e.LowerCreations(key, 1) }

// LowerCreations lowers the pending creations of key by n.
func (e *Expectations) LowerCreations(key string, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ex := e.m[key]; ex != nil {
		ex.creates -= n
	}
}

// DeletionObserved forgets the pending deletion of child under key.
func (e *Expectations) DeletionObserved(key, child string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ex := e.m[key]; ex != nil {
		delete(ex.deletes, child)
	}
}

// Satisfied reports whether the plugin may be called for key: nothing is
// pending, or the expectations are older than the TTL.
func (e *Expectations) Satisfied(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	ex := e.m[key]
	if ex == nil {
		return true
	}
	if ex.creates <= 0 && len(ex.deletes) == 0 {
		return true
	}
	return e.now().Sub(ex.set) > e.ttl
}

// Delete forgets key (its primary is gone).
func (e *Expectations) Delete(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.m, key)
	delete(e.stale, key)
}

// ExpectPrimaryWrite records that the primary of key was written while the
// cache held it at resourceVersion rv.
func (e *Expectations) ExpectPrimaryWrite(key, rv string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stale[key] = staleRV{rv: rv, set: e.now()}
}

// PrimaryObserved reports whether the cached primary (at resourceVersion
// rv) reflects the controller's last write of it, or the TTL has passed.
func (e *Expectations) PrimaryObserved(key, rv string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.stale[key]
	if !ok {
		return true
	}
	if rv != s.rv || e.now().Sub(s.set) > e.ttl {
		delete(e.stale, key)
		return true
	}
	return false
}
