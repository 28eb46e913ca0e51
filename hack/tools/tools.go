//go:build tools

// Package tools pins the control-plane binaries that tests, benchmarks and
// `make run` start: kube-apiserver, kube-controller-manager, kube-scheduler
// and etcd, built from the Go module proxy at the versions in go.mod. kwok,
// the node and pod simulator, is built from its own module (its go.mod
// pins its dependencies); its version is in hack/build-tools.sh. See
// hack/build-tools.sh.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
