# wasmctl: see README.md. Every target builds what it needs.
SHELL     := /bin/bash
.SHELLFLAGS := -o pipefail -c
GO        ?= go
WASM_ENV  := GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0
PLUGINS   := plugins/workloads/workloads.wasm plugins/replicaset/replicaset.wasm plugins/deployment/deployment.wasm plugins/statefulset/statefulset.wasm plugins/daemonset/daemonset.wasm plugins/cronjob/cronjob.wasm plugins/job/job.wasm plugins/propagator/propagator.wasm
EXAMPLES  := examples/plugins/checksum/checksum.wasm
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
TEST_TIMEOUT ?= 40m

.PHONY: all build plugins examples test test-unit vet tools run bench conformance clean

all: build plugins

## build: the host binary, bin/wasmctl-host
build:
	$(GO) build -trimpath -ldflags "-X wasmctl.dev/wasmctl/host/cli.Version=$(VERSION)" -o bin/wasmctl-host ./cmd/wasmctl-host

## plugins: the sample plugins as .wasm (reactor modules: -buildmode=c-shared)
plugins: $(PLUGINS)

# Always handed to go build, whose cache decides what is stale.
.PHONY: $(PLUGINS)
$(PLUGINS):
	$(WASM_ENV) $(GO) build -buildmode=c-shared -trimpath -o $@ ./$(dir $@)cmd

## examples: the example plugins in other languages (AssemblyScript: npm ci
## from package-lock.json, then asc; needs Node.js >= 20 and npm)
examples:
	examples/plugins/checksum/build.sh

## tools: kube-apiserver, kube-controller-manager and etcd, built once into a cache
tools:
	@hack/build-tools.sh >/dev/null

## vet: go vet of the host, and of the contract and the plugins as wasip1 builds them
vet:
	$(GO) vet ./...
	$(WASM_ENV) $(GO) vet ./abi/... ./plugins/*/cmd
	@# The plugins' logic without its tests (they import the host, which is not wasip1 code).
	@set -e; for d in $(sort $(dir $(wildcard plugins/*/*.go))); do \
	  $(WASM_ENV) $(GO) vet $$(ls $$d*.go | grep -v '_test\.go$$'); done

## test: vet, unit tests, plugin tests under wazero, e2e on a real control plane
test: vet tools plugins examples
	WASMCTL_TOOLS_DIR=$$(hack/build-tools.sh) $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

## test-unit: only what needs no control plane
test-unit:
	$(GO) test -short ./...

## run: local control plane (or $$KUBECONFIG), host, sample plugins, examples/
run: build plugins
	hack/run.sh

## conformance: one scripted workload on kube-controller-manager, then on the host with config.yaml's plugins; compares the objects at each checkpoint, writes the table of docs/CONFORMANCE.md
# One control plane at a time (etcd, kube-apiserver, kube-scheduler, kwok and
# kube-controller-manager; the host on the second): 2–3 min on 2 cores,
# of which up to a minute per side waits for the CronJob's tick. A
# checkpoint not settled after 2 min fails the run. Exits 1 on any
# difference the allow-list (hack/conformance/allow.go) does not explain;
# the diffs go to stderr, the snapshots and logs to .cache/conformance/.
# Not part of make test. Run it under the control-plane lock:
# flock /tmp/wasmctl-cp.lock make conformance
conformance: tools build plugins
	WASMCTL_TOOLS_DIR=$$(hack/build-tools.sh) $(GO) run ./hack/conformance

## bench: Go benchmarks, the convergence, Job, Deployment, StatefulSet, DaemonSet and six-controller steady-state runs; writes their parts of docs/BENCHMARKS.md
# About 23–26 min on 2 cores (bound: 15 min before the steady-state run's 9,
# which the StatefulSet runs' 35 s and the DaemonSet runs' 80 s take all
# but a fast run past): the Go
# benchmarks ≈ 3 min, most of it the CronJob schedule lag on two control
# planes (≈ 2.2 min); the
# convergence runs ≈ 6–8 min (2 sizes × 2 rounds × 3 sides, 10–60 s each with
# the control plane's start; one round took 4 min with other tests running);
# the Job runs ≈ 1 min (hack/benchjob: 1 round × 2 sides, one Job of 1000
# completions, 9–17 s each plus the control plane's start: 46 s in all on a
# quiet machine, 53–64 s with other tests running); the Deployment runs ≈ 2–3
# min (hack/benchdeploy: 1 round × 2 sides, 100 Deployments × 10 replicas
# created and rolled out, then rolled to a new image, 28–41 s per timed
# rollout plus the first rollout and the control plane's start: 116 s in all
# on a quiet machine, 191 s with other tests running); the StatefulSet runs
# ≈ 35 s (hack/benchsts: 1 round × 2 sides, 50 StatefulSets × 10 replicas,
# Parallel, created until all ready, ≈ 4 s each plus the control plane's
# start: 34 s in all on a quiet machine); the DaemonSet runs ≈ 80 s
# (hack/benchds: 1 round × 2 sides, 200 Nodes then 20 DaemonSets, 4000 pods,
# created until all ready, 19–23 s each plus the nodes, the control plane's
# start and the builds: 77 s in all in the first run); the six-controller
# steady-state run ≈ 9 min (hack/benchsteady: 2 sides one after the other,
# each ≈ 3.2–3.4 min on its control plane with kube-scheduler, kwok's 50
# nodes and a second kube-controller-manager: 5750 pods settled in 90–100 s,
# a 60 s idle window, a rollout of 100 Deployments in 30–35 s; 6 m 50 s in
# all in the first run, builds included); hack/benchdoc a few seconds. A
# phase stuck for 3 min (hack/bench -timeout), a Job not Complete after 5
# min (hack/benchjob -timeout), a rollout not complete after 5 min
# (hack/benchdeploy -timeout), StatefulSets not all ready after 5 min
# (hack/benchsts -timeout), DaemonSets not all ready after 5 min
# (hack/benchds -timeout) or a steady-state phase (settle, rollout) not done
# after 5 min (hack/benchsteady -timeout) fails the run. Outputs stay in
# .cache/bench.txt, .cache/convergence.md, .cache/jobbench.md,
# .cache/deploybench.md, .cache/stsbench.md, .cache/dsbench.md and
# .cache/steadybench.md.
BENCH_GO_ARGS   := -short -run '^$$' -bench . -benchmem -count 1 -timeout 30m ./host/... ./plugins/... ./examples/...
BENCH_CONV_ARGS := -sizes 500x10,50x100 -rounds 2
bench: tools plugins
	@mkdir -p .cache
	WASMCTL_TOOLS_DIR=$$(hack/build-tools.sh) $(GO) test $(BENCH_GO_ARGS) | tee .cache/bench.txt
	WASMCTL_TOOLS_DIR=$$(hack/build-tools.sh) $(GO) run ./hack/bench $(BENCH_CONV_ARGS) -out .cache/convergence.md
	WASMCTL_TOOLS_DIR=$$(hack/build-tools.sh) $(GO) run ./hack/benchjob -rounds 1 -out .cache/jobbench.md
	WASMCTL_TOOLS_DIR=$$(hack/build-tools.sh) $(GO) run ./hack/benchdeploy -rounds 1 -out .cache/deploybench.md
	WASMCTL_TOOLS_DIR=$$(hack/build-tools.sh) $(GO) run ./hack/benchsts -rounds 1 -out .cache/stsbench.md
	WASMCTL_TOOLS_DIR=$$(hack/build-tools.sh) $(GO) run ./hack/benchds -rounds 1 -out .cache/dsbench.md
	WASMCTL_TOOLS_DIR=$$(hack/build-tools.sh) $(GO) run ./hack/benchsteady -out .cache/steadybench.md
	WASMCTL_TOOLS_DIR=$$(hack/build-tools.sh) $(GO) run ./hack/benchdoc -doc docs/BENCHMARKS.md \
		-gotest .cache/bench.txt -gotest-cmd "go test $(BENCH_GO_ARGS)" -convergence .cache/convergence.md \
		-job .cache/jobbench.md -deploy .cache/deploybench.md -sts .cache/stsbench.md -ds .cache/dsbench.md \
		-steady .cache/steadybench.md

clean:
	rm -rf bin .cache $(PLUGINS) $(EXAMPLES)
