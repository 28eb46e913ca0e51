#!/usr/bin/env bash
# make run: a local control plane (or the cluster in $KUBECONFIG), the host
# and the sample plugins, with examples/ applied. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."

cp_pid=""
cleanup() {
  if [[ -n "$cp_pid" ]] && kill -0 "$cp_pid" 2>/dev/null; then
    echo "stopping the local control plane"
    kill -TERM "$cp_pid" 2>/dev/null || true
    wait "$cp_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -n "${KUBECONFIG:-}" ]]; then
  kubeconfig=$KUBECONFIG
  echo "using the cluster in KUBECONFIG=$KUBECONFIG (no local control plane)"
else
  export WASMCTL_TOOLS_DIR=$(hack/build-tools.sh)
  dir=$PWD/.cache/controlplane
  mkdir -p .cache
  go build -o bin/controlplane ./hack/controlplane
  bin/controlplane --dir "$dir" > .cache/controlplane.log 2>&1 &
  cp_pid=$!
  for _ in $(seq 1 600); do
    [[ -f "$dir/ready" ]] && break
    if ! kill -0 "$cp_pid" 2>/dev/null; then cat .cache/controlplane.log; exit 1; fi
    sleep 0.1
  done
  [[ -f "$dir/ready" ]] || { echo "control plane did not start"; cat .cache/controlplane.log; exit 1; }
  kubeconfig=$(cat "$dir/ready")
  echo "started a local control plane (etcd + kube-apiserver): $(head -1 .cache/controlplane.log)"
fi

if command -v kubectl >/dev/null; then
  kubectl --kubeconfig "$kubeconfig" apply -f examples/
else
  go run ./hack/apply --kubeconfig "$kubeconfig" examples/   # no kubectl on this machine
fi
cat <<MSG

wasmctl-host is starting in the foreground. In another terminal, watch it work:

  export KUBECONFIG=$kubeconfig
  kubectl get replicasets,pods -w
  kubectl get deployments,replicasets,pods -w
  kubectl get cronjobs,jobs -w

There is no kubelet: pods stay Pending, which is all a ReplicaSet controller needs; a Job
finishes when its pods do (try: kubectl patch pod NAME --subresource=status --type=merge \
  -p '{"status":{"phase":"Succeeded"}}').
Ctrl-C stops the host and the control plane.

MSG
bin/wasmctl-host run --config config.yaml --kubeconfig "$kubeconfig" \
  --metrics-bind-address "${METRICS_ADDR:-127.0.0.1:8080}" --health-probe-bind-address "${PROBE_ADDR:-127.0.0.1:8081}" &
host_pid=$!
trap 'kill -TERM $host_pid 2>/dev/null; wait $host_pid; exit 130' INT TERM
wait $host_pid
