package testenv

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
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

// Eventually polls cond every 50 ms until it returns nil, failing t with
// cond's last error after timeout.
func Eventually(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %v", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Namespace creates a namespace through c (nil: this environment's admin
// client) and returns its name.
func (e *Environment) Namespace(t testing.TB, c kubernetes.Interface, name string) string {
	t.Helper()
	if c == nil {
		c = e.Clientset()
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := c.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return name
}
