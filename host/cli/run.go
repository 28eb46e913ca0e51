package cli

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	"wasmctl.dev/wasmctl/host/config"
	"wasmctl.dev/wasmctl/host/engine"
	"wasmctl.dev/wasmctl/host/metrics"
)

type runOptions struct {
	metricsAddr string
	probeAddr   string
}

func newRunCommand() *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the configured controllers until SIGTERM or SIGINT",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return run(ctx, cmd, o)
		},
	}
	config.BindFlags(cmd.Flags())
	cmd.Flags().StringVar(&o.metricsAddr, "metrics-bind-address", ":8080", `address of /metrics ("0" disables it)`)
	cmd.Flags().StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", `address of /healthz and /readyz ("0" disables them)`)
	return cmd
}

func run(ctx context.Context, cmd *cobra.Command, o runOptions) error {
	logger := klog.FromContext(ctx)
	cfg, err := config.Load("", cmd.Flags())
	if err != nil {
		return err
	}
	rc, source, err := restConfig(cfg.Kubeconfig)
	if err != nil {
		return err
	}
	logger.Info("Connecting", "cluster", rc.Host, "via", source)
	m := metrics.New()
	mgr, err := engine.New(ctx, engine.Options{Config: cfg, RESTConfig: rc, Metrics: m})
	if err != nil {
		return err
	}
	for _, c := range mgr.Controllers() {
		logger.Info("Loaded controller", "controller", c.Name(), "for", c.GVK().String())
	}
	servers := startServers(ctx, o, m, mgr)
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, s := range servers {
			_ = s.Shutdown(sctx)
		}
	}()
	return mgr.Run(ctx)
}

func startServers(ctx context.Context, o runOptions, m *metrics.Metrics, mgr *engine.Manager) []*http.Server {
	logger := klog.FromContext(ctx)
	var servers []*http.Server
	serve := func(addr string, mux *http.ServeMux) {
		if addr == "" || addr == "0" {
			return
		}
		s := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, s)
		go func() {
			if err := s.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error(err, "HTTP server failed", "addr", addr)
				os.Exit(1)
			}
		}()
	}
	metricsMux := http.NewServeMux()
	metricsMux.Handle("/metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	serve(o.metricsAddr, metricsMux)

	probes := http.NewServeMux()
	probes.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	probes.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		select {
		case <-mgr.Synced():
			_, _ = w.Write([]byte("ok"))
		default:
			http.Error(w, "informer caches not synced", http.StatusServiceUnavailable)
		}
	})
	serve(o.probeAddr, probes)
	return servers
}
