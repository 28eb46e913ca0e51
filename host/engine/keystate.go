package engine

import (
	"slices"
	"strconv"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"wasmctl.dev/wasmctl/abi"
)

// expectationsTTL is how long expectations hold a key back at most: a watch
// event that never arrives (missed across a relist) must not wedge a key.
// Upstream controllers use the same 5 minutes.
const expectationsTTL = 5 * time.Minute

// keyStates holds everything a controller remembers about one primary key
// between reconciles, in one place with one cleanup (forget):
//
//   - expectations: the child creations and deletions asked for and not
//     yet shown by the informer. While some are outstanding the plugin is
//     not called for the key: its view of the children would be stale and
//     it would create or delete again. This is the generic form of
//     kube-controller-manager's UIDTrackingControllerExpectations:
//     creations are counted (their names may be generated), deletions are
//     tracked by child key.
//   - the owned objects the controller updated or patched (adopted,
//     released, finalizers removed) and the resourceVersion each write
//     returned, until the informer shows it: a plugin that removed a
//     finalizer must not see it again (upstream Job's finalizer
//     expectations);
//   - the primary's resourceVersion when the controller last wrote it:
//     until the cache moves past it, the plugin would read its own write's
//     old state (the primary-freshness gate upstream ReplicaSet has).
//   - the apply error of the previous response (ReconcileRequest.lastError);
//   - the plugin's memo (ReconcileResponse.memo), sent back in every
//     request;
//   - for Manifest.IgnoreOwnWrites, the resourceVersion of the last write,
//     whose echo is not worth a call, and whether a reconcile waits for it.
//
// The state belongs to one incarnation of the primary: a primary recreated
// under the same name (a new UID) starts afresh (bind).
//
// Safe for concurrent use.
type keyStates struct {
	mu  sync.Mutex
	m   map[string]*keyState
	now func() time.Time
	ttl time.Duration
}

type keyState struct {
	uid types.UID // the primary these records are about; "" until known

	creates    int
	deletes    map[string]bool
	expectedAt time.Time

	childWrites    map[string]string // child key -> RV its last write returned
	childWrittenAt time.Time

	// staleRVs are the primary's resourceVersions the cache must move past:
	// the one it held when the controller wrote the primary and those of
	// the writes before the last one of that response.
	staleRVs  []string
	writtenAt time.Time

	lastError *abi.ApplyError
	memo      []byte

	ownWriteRV    string // RV of the last own write whose echo is pending
	awaitingWrite bool   // a reconcile was deferred until the cache caught up
}

func newKeyStates(now func() time.Time) *keyStates {
	if now == nil {
		now = time.Now
	}
	return &keyStates{m: map[string]*keyState{}, now: now, ttl: expectationsTTL}
}

// get returns key's state, creating it; the caller holds mu.
func (k *keyStates) get(key string) *keyState {
	s := k.m[key]
	if s == nil {
		s = &keyState{}
		k.m[key] = s
	}
	return s
}

// bind ties key's state to the primary with uid: if it was about another
// incarnation of the name, it is dropped first. It reports whether it was.
func (k *keyStates) bind(key string, uid types.UID) (reset bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	s := k.get(key)
	if s.uid != "" && s.uid != uid {
		*s = keyState{}
		reset = true
	}
	s.uid = uid
	return reset
}

// forget drops everything about key (its primary is gone).
func (k *keyStates) forget(key string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.m, key)
}

// len is the number of keys with state (tests).
func (k *keyStates) len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.m)
}

// expect replaces the expectations of key with creates pending creations
// and the given pending deletions.
func (k *keyStates) expect(key string, creates int, deletes []string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	s := k.get(key)
	s.creates, s.deletes, s.expectedAt = creates, nil, k.now()
	if len(deletes) > 0 {
		s.deletes = make(map[string]bool, len(deletes))
		for _, d := range deletes {
			s.deletes[d] = true
		}
	}
}

// creationObserved lowers the pending creations of key by n: the informer
// showed new children, or creates failed and will not show.
func (k *keyStates) creationObserved(key string, n int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if s := k.m[key]; s != nil && s.creates > 0 {
		s.creates = max(0, s.creates-n)
	}
}

// deletionObserved forgets the pending deletion of child under key.
func (k *keyStates) deletionObserved(key, child string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if s := k.m[key]; s != nil {
		delete(s.deletes, child)
	}
}

// satisfied reports whether the plugin may be called for key with the
// primary cached at resourceVersion rv: no creates or deletes pending and
// the cache past the controller's last write of the primary — or the TTL
// has passed since either was recorded.
func (k *keyStates) satisfied(key, rv string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	s := k.m[key]
	if s == nil {
		return true
	}
	now := k.now()
	if (s.creates > 0 || len(s.deletes) > 0) && now.Sub(s.expectedAt) <= k.ttl {
		return false
	}
	if len(s.childWrites) > 0 {
		if now.Sub(s.childWrittenAt) <= k.ttl {
			return false
		}
		s.childWrites = nil
	}
	if len(s.staleRVs) > 0 {
		if slices.Contains(s.staleRVs, rv) && now.Sub(s.writtenAt) <= k.ttl {
			return false
		}
		s.staleRVs = nil
	}
	return true
}

// childWritten records that the controller's write of child (an owned
// object) under key returned resourceVersion rv.
func (k *keyStates) childWritten(key, child, rv string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	s := k.get(key)
	if s.childWrites == nil {
		s.childWrites = map[string]string{}
	}
	s.childWrites[child], s.childWrittenAt = rv, k.now()
}

// childObserved settles the pending write of child under key when the
// informer shows it at resourceVersion rv ("": the child is gone). It
// reports whether a pending write settled.
func (k *keyStates) childObserved(key, child, rv string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	s := k.m[key]
	if s == nil || s.childWrites == nil {
		return false
	}
	want, ok := s.childWrites[child]
	if !ok || (rv != "" && rv != want && !rvAfter(rv, want)) {
		return false
	}
	delete(s.childWrites, child)
	return true
}

// rvAfter reports whether resourceVersion a is later than b. Clients are
// to treat resourceVersions as opaque; the API server's are etcd revisions
// (integers that only grow), and this is only used to see that another
// writer already moved a child past this controller's write (the ReplicaSet
// controller writing status right after the Deployment controller's patch,
// before the patch's own event settled it): unparsable versions compare
// unequal, and the write stays pending until its TTL.
func rvAfter(a, b string) bool {
	x, err1 := strconv.ParseUint(a, 10, 64)
	y, err2 := strconv.ParseUint(b, 10, 64)
	return err1 == nil && err2 == nil && x > y
}

// primaryWritten records that the controller wrote the primary of key
// while the cache held it at resourceVersion rv; the writes returned
// newRVs, in order. Until the cache shows the last of them (or something
// newer), the key waits: a call that saw only the first of two status
// writes would act on a stale primary.
func (k *keyStates) primaryWritten(key, rv string, newRVs []string, ignoreOwnWrites bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	s := k.get(key)
	s.staleRVs = append([]string{rv}, newRVs[:len(newRVs)-1]...)
	s.writtenAt = k.now()
	if ignoreOwnWrites {
		s.ownWriteRV = newRVs[len(newRVs)-1]
	}
}

// setLastError sets (nil: clears) the apply error sent in the next request.
func (k *keyStates) setLastError(key string, e *abi.ApplyError) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if s := k.m[key]; s != nil || e != nil {
		k.get(key).lastError = e
	}
}

func (k *keyStates) lastError(key string) *abi.ApplyError {
	k.mu.Lock()
	defer k.mu.Unlock()
	if s := k.m[key]; s != nil {
		return s.lastError
	}
	return nil
}

// setMemo records a response's memo for key: absent (nil) keeps the one
// held, JSON null forgets it.
func (k *keyStates) setMemo(key string, memo []byte) {
	if memo == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if string(memo) == "null" {
		if s := k.m[key]; s != nil {
			s.memo = nil
		}
		return
	}
	k.get(key).memo = slices.Clone(memo)
}

// memo returns the memo held for key (nil: none). The caller must not
// modify it.
func (k *keyStates) memo(key string) []byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	if s := k.m[key]; s != nil {
		return s.memo
	}
	return nil
}

// setAwaitingWrite marks (or clears) a reconcile of key deferred until the
// cache shows the controller's write: that write's echo must enqueue it.
func (k *keyStates) setAwaitingWrite(key string, waiting bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if s := k.m[key]; s != nil || waiting {
		k.get(key).awaitingWrite = waiting
	}
}

// isOwnEcho reports whether an update of key's primary to resourceVersion
// rv is only the echo of the controller's own last write, with no
// reconcile waiting for it: such an update need not call the plugin. The
// echo is consumed either way.
func (k *keyStates) isOwnEcho(key, rv string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	s := k.m[key]
	if s == nil || s.ownWriteRV == "" || s.ownWriteRV != rv {
		return false
	}
	s.ownWriteRV = ""
	return !s.awaitingWrite
}
