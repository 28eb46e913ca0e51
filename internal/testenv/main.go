package testenv

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
)

// Setup prepares shared state once the environment runs (install CRDs,
// start a host, ...) and returns its teardown.
type Setup func(ctx context.Context) (teardown func(), err error)

// Main starts one Environment for a test package, stores it in *env, runs
// the setups, runs the package's tests and tears everything down. Use it
// from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Main(m, &env)) }
//
// With -short the environment is not started and *env stays nil; tests that
// need it call Require.
func Main(m *testing.M, env **Environment, setups ...Setup) int {
	flag.Parse()
	if testing.Short() {
		return m.Run()
	}
	e, err := Start(context.Background(), Options{})
	if err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		return 1
	}
	defer e.Stop()
	fmt.Fprintf(os.Stderr, "testenv: control plane ready in %s at %s\n", e.StartupTime().Round(1e6), e.Host)
	*env = e
	for _, setup := range setups {
		teardown, err := setup(context.Background())
		if err != nil {
			fmt.Fprintf(os.Stderr, "testenv: setup: %v\n", err)
			return 1
		}
		defer teardown()
	}
	return m.Run()
}

// Require skips t when env is nil (tests run with -short).
func Require(t testing.TB, env *Environment) {
	t.Helper()
	if env == nil {
		t.Skip("needs the control plane; not started with -short")
	}
}
