// Package cli holds the wasmctl-host commands; cmd/wasmctl-host only calls
// NewRootCommand.
package cli

import (
	goflag "flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
)

// Version is set at build time with -ldflags "-X wasmctl.dev/wasmctl/host/cli.Version=...".
var Version = "dev"

// NewRootCommand returns the wasmctl-host command tree.
func NewRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "wasmctl-host",
		Short:         "Run Kubernetes controllers written as WebAssembly plugins",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	klogFlags := goflag.NewFlagSet("klog", goflag.ContinueOnError)
	klog.InitFlags(klogFlags)
	root.PersistentFlags().AddGoFlagSet(klogFlags)
	root.AddCommand(newRunCommand(), newVersionCommand(), newReconcileCommand(), newInspectCommand(), newValidateCommand(), newRBACCommand(), newPushCommand(), newPullCommand(), newSignCommand())
	return root
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			goVersion := ""
			if bi, ok := debug.ReadBuildInfo(); ok {
				goVersion = bi.GoVersion
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wasmctl-host %s (%s)\n", Version, goVersion)
		},
	}
}

// restConfig resolves the cluster: the explicit kubeconfig, then $KUBECONFIG,
// then the in-cluster config, then ~/.kube/config.
func restConfig(kubeconfig string) (*rest.Config, string, error) {
	if kubeconfig == "" {
		kubeconfig = os.Getenv("KUBECONFIG")
	}
	if kubeconfig != "" {
		rules := &clientcmd.ClientConfigLoadingRules{Precedence: filepath.SplitList(kubeconfig)}
		cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
		return cfg, "kubeconfig " + kubeconfig, err
	}
	if cfg, err := rest.InClusterConfig(); err == nil {
		return cfg, "in-cluster config", nil
	}
	home, _ := os.UserHomeDir()
	path := filepath.Join(home, ".kube", "config")
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, "", fmt.Errorf("no cluster: no kubeconfig given, $KUBECONFIG unset, not in a cluster, and %s: %w", path, err)
	}
	return cfg, "kubeconfig " + path, nil
}
