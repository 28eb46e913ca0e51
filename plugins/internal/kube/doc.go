// Package kube holds Go mirrors of the Kubernetes object types the
// Deployment and DaemonSet plugins work on (apps/v1, core/v1, meta/v1,
// runtime), generated from k8s.io/api and k8s.io/apimachinery by
// ./gen: the same structs, field for field, json tags included, with deep
// copies, DecodeJSON methods (fastjson values into the struct with
// encoding/json's rules, ./decode) and the packages' constants, but none of the protobuf code, scheme
// registration and string methods the real packages link into every
// module that imports them. Measured: the Deployment plugin's module
// shrinks from 16.8 MB to 6.4 MB, and the host's memory for it (compiled
// code plus wazero's decoded module) from ~132 to ~44 MiB
// (docs/controllers/deployment.md, docs/BENCHMARKS.md).
//
// The shape has to be exact, not merely JSON-compatible: the
// pod-template-hash is a go-spew dump of the Go value (type and field names
// included, plugins/internal/podhash). Hand-written, next to the generated
// files: the types with custom JSON (meta/v1 Time, FieldsV1; runtime
// RawExtension), the meta/v1 helpers the plugins call (NewControllerRef,
// GetControllerOf, LabelSelectorAsSelector, ...), the few methods of
// k8s.io/api the plugins use (Toleration.MatchToleration,
// ToleratesTaint), and semantic equality (./equality).
//
// Regenerate after a k8s.io/api update: go run ./plugins/internal/kube/gen
// (TestGenerated fails while the files are stale).
package kube
