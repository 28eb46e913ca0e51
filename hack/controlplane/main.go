// Command controlplane runs the local test control plane (etcd and
// kube-apiserver, see internal/testenv) in the foreground for `make run`: it
// writes the admin kubeconfig, prints its path, and stops everything on
// SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"wasmctl.dev/wasmctl/internal/testenv"
)

func main() {
	dir := flag.String("dir", ".cache/controlplane", "working directory (data, certificates, logs, kubeconfig)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// A previous run's etcd data would hold objects whose certificates and
	// service-account keys no longer exist: start clean.
	if err := os.RemoveAll(*dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	env, err := testenv.Start(ctx, testenv.Options{Dir: *dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, "controlplane:", err)
		os.Exit(1)
	}
	defer env.Stop()
	fmt.Printf("control plane ready in %s at %s\nkubeconfig: %s\n", env.StartupTime().Round(1e6), env.Host, env.KubeconfigPath)
	if err := os.WriteFile(*dir+"/ready", []byte(env.KubeconfigPath), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	<-ctx.Done()
	fmt.Println("control plane stopping")
}
