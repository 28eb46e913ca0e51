#!/usr/bin/env bash
# Builds the local control plane (kube-apiserver, kube-controller-manager,
# kube-scheduler, etcd) and kwok (the node and pod simulator) from the Go module
# proxy into a cache directory reused across runs, and prints that directory.
# Nothing is rebuilt while the binaries and the stamp of the pinned versions
# (hack/tools/go.mod + go.sum, kwok_version) are current.
#
# When KUBEBUILDER_ASSETS names a directory with kube-apiserver and etcd (envtest
# binaries), that directory is used as it is and nothing is built.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
k8s_version=$(awk '$1=="k8s.io/kubernetes"{print $2}' "$here/tools/go.mod")
# kwok is built from its own module, with the dependency versions its go.mod
# pins (go install MODULE@VERSION), not ours.
kwok_version=v0.8.0

if [[ -n "${KUBEBUILDER_ASSETS:-}" ]]; then
  if [[ -x "$KUBEBUILDER_ASSETS/kube-apiserver" && -x "$KUBEBUILDER_ASSETS/etcd" ]]; then
    echo "using envtest binaries in KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS" >&2
    echo "$KUBEBUILDER_ASSETS"
    exit 0
  fi
  echo "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS lacks kube-apiserver or etcd; building our own" >&2
fi

cache=${WASMCTL_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wasmctl/tools/$k8s_version}
stamp=$( (cat "$here/tools/go.mod" "$here/tools/go.sum"; echo "kwok $kwok_version") | sha256sum | cut -c1-16)
bins=(kube-apiserver kube-controller-manager kube-scheduler etcd kwok)
current() {
  [[ -f "$cache/.stamp" && "$(cat "$cache/.stamp")" == "$stamp" ]] || return 1
  for b in "${bins[@]}"; do [[ -x "$cache/$b" ]] || return 1; done
}

if current; then
  echo "$cache"
  exit 0
fi

mkdir -p "$cache"
# One build at a time: two callers building at once (parallel test runs, a
# bench next to a test) would write the same binaries. The second waits and
# finds the first one's result.
exec 9>"$cache/.lock"
flock 9
if current; then
  echo "$cache"
  exit 0
fi
start=$(date +%s)
echo "building kube-apiserver, kube-controller-manager, kube-scheduler, etcd ($k8s_version) and kwok ($kwok_version) into $cache (~11 min cold on 2 cores)" >&2
# The version ldflags make the binaries report the release they were built from
# (the apiserver derives its emulation version and /version from them).
minor=$(echo "$k8s_version" | cut -d. -f2)
ldflags="-s -w \
 -X k8s.io/component-base/version.gitVersion=$k8s_version \
 -X k8s.io/component-base/version.gitMajor=1 \
 -X k8s.io/component-base/version.gitMinor=$minor \
 -X k8s.io/component-base/version.gitTreeState=clean \
 -X k8s.io/client-go/pkg/version.gitVersion=$k8s_version \
 -X k8s.io/client-go/pkg/version.gitMajor=1 \
 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
(
  cd "$here/tools"
  export CGO_ENABLED=0 GOFLAGS=-mod=mod
  go build -trimpath -ldflags "$ldflags" -o "$cache/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
  go build -trimpath -ldflags "$ldflags" -o "$cache/kube-controller-manager" k8s.io/kubernetes/cmd/kube-controller-manager
  go build -trimpath -ldflags "$ldflags" -o "$cache/kube-scheduler" k8s.io/kubernetes/cmd/kube-scheduler
  go build -trimpath -ldflags "-s -w" -o "$cache/etcd" go.etcd.io/etcd/server/v3
)
(
  cd "$cache"
  export CGO_ENABLED=0 GOFLAGS= GOBIN="$cache"
  go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$kwok_version"
)
echo "$stamp" > "$cache/.stamp"
echo "built in $(( $(date +%s) - start ))s" >&2
echo "$cache"
