package daemonset

import (
	"encoding/json"
	"fmt"
	"maps"
	"time"

	appsv1 "wasmctl.dev/wasmctl/plugins/internal/kube/apps/v1"

	"wasmctl.dev/wasmctl/abi"
)

// Upstream's failed-pod backoff (kube-controller-manager's
// flowcontrol.NewBackOff(1s, 15m), no jitter): the first failed pod of a
// node is deleted at once; each later one waits twice as long as the last,
// up to 15 minutes; a node quiet for 30 minutes starts again at 1 s.
const (
	backoffInitial = time.Second
	backoffMax     = 15 * time.Minute
)

// memo is what the plugin asks the host to remember for a DaemonSet
// between calls (abi ReconcileResponse.memo): the backoff entries by
// upstream's key minus the DaemonSet's UID (the memo is the DaemonSet's
// already), "<status.observedGeneration>/<node>". Upstream keeps them in
// memory too; a host restart forgets them as a controller-manager restart
// does.
type memo struct {
	Backoff map[string]backoffEntry `json:"backoff,omitempty"`

	changed bool
}

type backoffEntry struct {
	// Delay is the current backoff in seconds.
	Delay float64 `json:"delay"`
	// At is when it last grew.
	At time.Time `json:"at"`
}

func backoffKey(ds *appsv1.DaemonSet, node string) string {
	return fmt.Sprintf("%d/%s", ds.Status.ObservedGeneration, node)
}

// loadMemo reads the host's memo, dropping expired entries (upstream's
// GC); a memo it cannot read counts as none.
func loadMemo(raw json.RawMessage, now time.Time) memo {
	var m memo
	if len(raw) == 0 || json.Unmarshal(raw, &m) != nil {
		return memo{changed: len(raw) > 0}
	}
	for k, e := range m.Backoff {
		if expired(e, now) {
			delete(m.Backoff, k)
			m.changed = true
		}
	}
	return m
}

func expired(e backoffEntry, now time.Time) bool { return now.Sub(e.At) > 2*backoffMax }

func (e backoffEntry) delay() time.Duration { return time.Duration(e.Delay * float64(time.Second)) }

// inBackoff is IsInBackOffSinceUpdate: the entry's delay has not passed
// since it last grew.
func (m *memo) inBackoff(key string, now time.Time) bool {
	e, ok := m.Backoff[key]
	return ok && !expired(e, now) && now.Sub(e.At) < e.delay()
}

func (m *memo) delay(key string) time.Duration { return m.Backoff[key].delay() }

// next is Next: 1 s for a new or expired entry, else twice the delay up to
// the maximum.
func (m *memo) next(key string, now time.Time) {
	e, ok := m.Backoff[key]
	d := backoffInitial
	if ok && !expired(e, now) {
		d = min(2*e.delay(), backoffMax)
	}
	if m.Backoff == nil {
		m.Backoff = map[string]backoffEntry{}
	}
	m.Backoff[key] = backoffEntry{Delay: d.Seconds(), At: now}
	m.changed = true
}

// save puts the memo in resp when it changed: null once it is empty.
func (m *memo) save(resp *abi.ReconcileResponse) {
	if !m.changed {
		return
	}
	if len(m.Backoff) == 0 {
		resp.Memo = json.RawMessage("null")
		return
	}
	raw, err := json.Marshal(memo{Backoff: maps.Clone(m.Backoff)})
	if err == nil {
		resp.Memo = raw
	}
}
