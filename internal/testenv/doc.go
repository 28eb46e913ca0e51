// Package testenv runs a real, local Kubernetes control plane — etcd and
// kube-apiserver, optionally kube-controller-manager — on free loopback ports,
// for tests, benchmarks and `make run`.
//
// The binaries come from KUBEBUILDER_ASSETS when it names a directory holding
// kube-apiserver and etcd (envtest binaries), otherwise from WASMCTL_TOOLS_DIR,
// otherwise from hack/build-tools.sh, which builds them once from the Go module
// proxy into a cache directory (about 6 minutes cold on 2 cores, instant warm).
//
// Start costs about 4–6 s once the binaries exist. Everything runs in a temp
// directory with self-signed certificates, an admin client identity
// (system:masters), RBAC authorization and service-account signing keys, so
// TokenRequest works. Every process is started in its own process group with a
// parent-death signal, so nothing outlives the test binary even when a test
// panics; Stop kills the groups and removes the directory.
//
// Share one Environment per test package through TestMain:
//
//	var env *testenv.Environment
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Main(m, &env)) }
package testenv
