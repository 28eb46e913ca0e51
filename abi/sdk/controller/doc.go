// Package controller holds what kube-controller-manager's workload
// controllers share (pkg/controller, pkg/api/v1/pod, the conditions of
// replicaset, deployment and job), for wasmctl plugins:
//
//   - adopting and releasing dependents with upstream's exact patches
//     (AddAdopt, AddRelease, AdoptPatch, ReleasePatch);
//   - pods: active, terminal, terminating, ready, available after
//     minReadySeconds, when to check availability next (on a decoded Pod, or
//     on the fields a faster decoder extracted);
//   - WorkloadCondition, the condition shape of apps and batch kinds, with
//     the Deployment and Job controllers' rules for setting it.
//
// Standard library only (and abi); builds for GOOS=wasip1.
package controller
