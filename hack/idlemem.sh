#!/usr/bin/env bash
# hack/idlemem.sh: the resident memory of an idle wasmctl-host on a
# make-run-shaped cluster (etcd, kube-apiserver, kube-scheduler,
# kube-controller-manager without the six workload controllers, kwok with 3
# nodes, examples/ applied), RUNS times per host binary, one control plane
# for all (its state does not change between runs: the examples are steady).
#
#   hack/idlemem.sh [CONFIG] [HOST_BINARY...]   (default config.yaml, bin/wasmctl-host)
#   RUNS=3 SETTLE=45 hack/idlemem.sh config.yaml /tmp/old-host bin/wasmctl-host
#
# Prints VmRSS and VmHWM of each run after SETTLE seconds. Run it under the
# control-plane lock (flock /tmp/wasmctl-cp.lock) on a machine without other
# control planes.
set -euo pipefail
cd "$(dirname "$0")/.."
config=${1:-config.yaml}
shift || true
hosts=("$@")
[[ ${#hosts[@]} -gt 0 ]] || { make build >/dev/null; hosts=(bin/wasmctl-host); }
runs=${RUNS:-3}
settle=${SETTLE:-45}

export WASMCTL_TOOLS_DIR=$(hack/build-tools.sh)
dir=$(mktemp -d /tmp/wasmctl-idlemem-XXXXXX)
go build -o "$dir/controlplane" ./hack/controlplane
"$dir/controlplane" --dir "$dir/cp" --controllers '*,-replicaset,-deployment,-statefulset,-daemonset,-job,-cronjob' --kwok-nodes 3 > "$dir/cp.log" 2>&1 &
cp_pid=$!
trap 'kill -TERM $cp_pid 2>/dev/null; wait $cp_pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 600); do [[ -f "$dir/cp/ready" ]] && break; sleep 0.1; done
[[ -f "$dir/cp/ready" ]] || { cat "$dir/cp.log"; exit 1; }
kubeconfig=$(cat "$dir/cp/ready")
kubectl --kubeconfig "$kubeconfig" apply -f examples/ >/dev/null

for host in "${hosts[@]}"; do
  for i in $(seq 1 "$runs"); do
    "$host" run --config "$config" --kubeconfig "$kubeconfig" --metrics-bind-address 0 --health-probe-bind-address 0 > "$dir/host.log" 2>&1 &
    pid=$!
    sleep "$settle"
    if ! kill -0 $pid 2>/dev/null; then tail -20 "$dir/host.log"; exit 1; fi
    rss=$(awk '/^VmRSS/{print $2}' /proc/$pid/status)
    hwm=$(awk '/^VmHWM/{print $2}' /proc/$pid/status)
    echo "$host run $i: VmRSS $((rss/1024)) MiB, VmHWM $((hwm/1024)) MiB"
    kill -TERM $pid; wait $pid 2>/dev/null || true
  done
done
