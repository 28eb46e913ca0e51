#!/usr/bin/env bash
# make run: a local cluster (etcd, kube-apiserver, kube-scheduler,
# kube-controller-manager without its workload controllers, kwok with
# $KWOK_NODES simulated nodes, default 3) or the cluster in $KUBECONFIG, the
# host with the six workload plugins of config.yaml, and examples/ applied.
# Ctrl-C stops everything.
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

# kube-controller-manager keeps everything but the six workload controllers
# the host runs: the garbage collector (cascading deletion), namespaces,
# service accounts, node lifecycle (it lifts the not-ready taint of kwok's
# nodes), pod GC, TTL-after-finished, ...
kcm_controllers='*,-replicaset,-deployment,-statefulset,-daemonset,-job,-cronjob'
kwok_nodes=${KWOK_NODES:-3}

if [[ -n "${KUBECONFIG:-}" ]]; then
  kubeconfig=$KUBECONFIG
  cat <<MSG
using the cluster in KUBECONFIG=$KUBECONFIG: no local control plane, no kwok, no
kube-controller-manager. wasmctl-host will run there the controllers of config.yaml
(replicaset, deployment, statefulset, daemonset, job, cronjob): that cluster's own
kube-controller-manager must not run them too (--controllers=$kcm_controllers).
MSG
else
  export WASMCTL_TOOLS_DIR=$(hack/build-tools.sh)
  dir=$PWD/.cache/controlplane
  mkdir -p .cache
  go build -o bin/controlplane ./hack/controlplane
  rm -f "$dir/ready"   # a killed run's; the new one writes it when ready
  bin/controlplane --dir "$dir" --controllers "$kcm_controllers" --kwok-nodes "$kwok_nodes" > .cache/controlplane.log 2>&1 &
  cp_pid=$!
  for _ in $(seq 1 600); do
    [[ -f "$dir/ready" ]] && break
    if ! kill -0 "$cp_pid" 2>/dev/null; then cat .cache/controlplane.log; exit 1; fi
    sleep 0.1
  done
  [[ -f "$dir/ready" ]] || { echo "control plane did not start"; cat .cache/controlplane.log; exit 1; }
  kubeconfig=$(cat "$dir/ready")
  echo "started a local cluster (logs in $dir):"
  sed 's/^/  /' .cache/controlplane.log
fi

if command -v kubectl >/dev/null; then
  kubectl --kubeconfig "$kubeconfig" apply -f examples/
else
  go run ./hack/apply --kubeconfig "$kubeconfig" examples/   # no kubectl on this machine
fi
cat <<MSG

wasmctl-host is starting in the foreground. In another terminal, watch it work:

  export KUBECONFIG=$kubeconfig
  kubectl rollout status deployment/web        # available within seconds
  kubectl rollout status statefulset/db        # db-0, db-1, db-2, one after the other
  kubectl rollout status daemonset/node-agent  # one pod on every node
  kubectl get cronjobs,jobs,pods -w            # a Job every minute, Complete a second after it runs
  kubectl get pods -o wide                     # which node runs what

Nodes and pods are simulated by kwok: pods are bound by kube-scheduler and reported Running
and Ready, a Job's pods exit 0 a second after they start. Then try a rollout:

  kubectl set image deployment/web web=nginx:1.28 && kubectl rollout status deployment/web
  kubectl rollout undo deployment/web

Ctrl-C stops the host and the control plane.

MSG
bin/wasmctl-host run --config config.yaml --kubeconfig "$kubeconfig" \
  --metrics-bind-address "${METRICS_ADDR:-127.0.0.1:8080}" --health-probe-bind-address "${PROBE_ADDR:-127.0.0.1:8081}" &
host_pid=$!
trap 'kill -TERM $host_pid 2>/dev/null; wait $host_pid; exit 130' INT TERM
wait $host_pid
