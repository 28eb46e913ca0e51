// Command controlplane runs the local test control plane (etcd and
// kube-apiserver, see internal/testenv) in the foreground for `make run`,
// optionally with kube-controller-manager (a chosen list of controllers),
// kube-scheduler and kwok simulating nodes: it writes the admin kubeconfig,
// prints its path, and stops everything on SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"wasmctl.dev/wasmctl/internal/testenv"
)

func main() {
	dir := flag.String("dir", ".cache/controlplane", "working directory (data, certificates, logs, kubeconfig)")
	controllers := flag.String("controllers", "", "run kube-controller-manager with this --controllers list (empty: none)")
	kwokNodes := flag.Int("kwok-nodes", 0, "run kube-scheduler and kwok, with this many simulated nodes (kwok-node-1, ...)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *dir, *controllers, *kwokNodes); err != nil {
		fmt.Fprintln(os.Stderr, "controlplane:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dir, controllers string, kwokNodes int) error {
	// A previous run's etcd data would hold objects whose certificates and
	// service-account keys no longer exist: start clean.
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	env, err := testenv.Start(ctx, testenv.Options{Dir: dir})
	if err != nil {
		return err
	}
	defer env.Stop()
	fmt.Printf("control plane ready in %s at %s\nkubeconfig: %s\n", env.StartupTime().Round(1e6), env.Host, env.KubeconfigPath)
	if controllers != "" {
		if _, err := env.StartControllerManager(testenv.ControllerManagerOptions{Controllers: strings.Split(controllers, ",")}); err != nil {
			return err
		}
		fmt.Printf("kube-controller-manager --controllers=%s (log: %s/kube-controller-manager-0.log)\n", controllers, dir)
	}
	if kwokNodes > 0 {
		if _, err := env.StartScheduler(); err != nil {
			return err
		}
		if _, err := env.StartKwok(); err != nil {
			return err
		}
		var names []string
		for i := 1; i <= kwokNodes; i++ {
			names = append(names, fmt.Sprintf("kwok-node-%d", i))
		}
		// With no node lifecycle controller nothing would lift the
		// not-ready taint the API server puts on new nodes.
		untaint := !strings.Contains(","+controllers+",", ",*,") && !strings.Contains(","+controllers+",", ",nodelifecycle,")
		if err := testenv.CreateKwokNodes(ctx, env.Clientset(), untaint, names...); err != nil {
			return err
		}
		fmt.Printf("kube-scheduler and kwok with %d nodes: %s\n", kwokNodes, strings.Join(names, ", "))
	}
	if err := os.WriteFile(dir+"/ready", []byte(env.KubeconfigPath), 0o644); err != nil {
		return err
	}
	<-ctx.Done()
	fmt.Println("control plane stopping")
	return nil
}
