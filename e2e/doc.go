// Package e2e runs the repository's config.yaml — the six workload plugins
// in one host — on a cluster shaped like the one `make run` starts: a real
// kube-apiserver, kube-scheduler, kube-controller-manager without its
// workload controllers (the garbage collector, namespaces and node
// lifecycle still run) and kwok playing the kubelet of simulated nodes.
// Its tests use real clients (kubectl rollout status) and change no pod
// status themselves.
package e2e
