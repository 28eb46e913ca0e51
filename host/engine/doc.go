// Package engine runs controllers: shared informers (one per resource, for
// every kind a controller reads), a rate-limited work queue per controller,
// expectations so a stale cache never creates or deletes twice, and the
// reconcile loop that calls a plugin and applies its response.
//
// The shape follows kube-controller-manager's controllers and
// sample-controller: Run waits for the caches, then N workers take keys;
// an error requeues the key with per-item exponential backoff (5 ms doubling
// to 1000 s, with an overall 10 qps / 100 burst bucket), a response's
// requeueAfterSeconds requeues it after that delay.
package engine
