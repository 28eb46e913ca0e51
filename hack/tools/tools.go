//go:build tools

// Package tools pins the control-plane binaries that tests, benchmarks and
// `make run` start: kube-apiserver, kube-controller-manager and etcd, built
// from the Go module proxy at the versions in go.mod. See hack/build-tools.sh.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
