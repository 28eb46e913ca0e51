package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

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
	pprofAddr   string

	leaderElect      bool
	leaderElectionID string
	leaderElectionNS string
	leaseDuration    time.Duration
	renewDeadline    time.Duration
	retryPeriod      time.Duration
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
	cmd.Flags().StringVar(&o.pprofAddr, "pprof-bind-address", "0", `address of net/http/pprof ("0" disables it)`)
	cmd.Flags().BoolVar(&o.leaderElect, "leader-elect", false, "run controllers only while holding a Lease, so replicas can stand by")
	cmd.Flags().StringVar(&o.leaderElectionID, "leader-election-id", "wasmctl-host", "name of the Lease")
	cmd.Flags().StringVar(&o.leaderElectionNS, "leader-election-namespace", "", "namespace of the Lease (default: the pod's namespace in a cluster, else default)")
	cmd.Flags().DurationVar(&o.leaseDuration, "leader-elect-lease-duration", 15*time.Second, "how long a standby waits before taking over a Lease that was not renewed")
	cmd.Flags().DurationVar(&o.renewDeadline, "leader-elect-renew-deadline", 10*time.Second, "how long the leader keeps trying to renew before it gives up")
	cmd.Flags().DurationVar(&o.retryPeriod, "leader-elect-retry-period", 2*time.Second, "interval between attempts to acquire or renew")
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
	// Bind the ports first: a port in use fails the command before any
	// plugin is compiled.
	listeners, err := listen(o)
	if err != nil {
		return err
	}
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	m := metrics.New()
	mgr, err := engine.FromConfig(ctx, cfg, rc, engine.Options{Metrics: m, OnIdle: debug.FreeOSMemory})
	if err != nil {
		return err
	}
	for _, c := range mgr.Controllers() {
		logger.Info("Loaded controller", "controller", c.Name(), "for", c.GVK().String())
	}
	// Loading the plugins read, rewrote and decoded every module (tens of
	// MiB for six plugins) and left it all garbage; an idle host would not
	// collect it for minutes nor hand the pages back. One collection now
	// (tens of milliseconds, once) lowers the resident set by that much.
	debug.FreeOSMemory()
	// A server that fails later ends the command through its context, as
	// SIGTERM would: in-flight reconciles finish and the Lease is released.
	ctx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	go watchAndReload(ctx, configPath(cmd), cfg, mgr)
	var standby atomic.Bool
	standby.Store(o.leaderElect)
	servers := startServers(ctx, o, listeners, m, mgr, &standby, fail)
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, s := range servers {
			_ = s.Shutdown(sctx)
		}
	}()
	if !o.leaderElect {
		err = mgr.Run(ctx)
	} else {
		err = runAsLeader(ctx, o, rc, mgr, &standby)
	}
	if cause := context.Cause(ctx); err == nil && cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return err
}

// listen binds the addresses of the HTTP servers ("" or "0": off).
func listen(o runOptions) (map[string]net.Listener, error) {
	out := map[string]net.Listener{}
	for flag, addr := range map[string]string{"metrics-bind-address": o.metricsAddr, "health-probe-bind-address": o.probeAddr, "pprof-bind-address": o.pprofAddr} {
		if addr == "" || addr == "0" {
			continue
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			for _, l := range out {
				l.Close()
			}
			return nil, fmt.Errorf("--%s: %w", flag, err)
		}
		out[addr] = l
	}
	return out, nil
}

// runAsLeader runs the manager only while this process holds the Lease.
// Losing it (not by shutting down) ends the process with an error, so the
// pod restarts and stands by: its caches and workers are not reusable.
func runAsLeader(ctx context.Context, o runOptions, rc *rest.Config, mgr *engine.Manager, standby *atomic.Bool) error {
	logger := klog.FromContext(ctx)
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	ns := o.leaderElectionNS
	if ns == "" {
		ns = "default"
		if b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil {
			ns = strings.TrimSpace(string(b))
		}
	}
	host, _ := os.Hostname()
	id := fmt.Sprintf("%s_%d", host, os.Getpid())
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Name: o.leaderElectionID, Namespace: ns},
		Client:     cs.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: id},
	}
	var runErr error
	lost, ran := make(chan struct{}), make(chan struct{})
	var started atomic.Bool
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   o.leaseDuration,
		RenewDeadline:   o.renewDeadline,
		RetryPeriod:     o.retryPeriod,
		ReleaseOnCancel: true,
		Name:            o.leaderElectionID,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				logger.Info("Became the leader", "lease", ns+"/"+o.leaderElectionID, "identity", id)
				standby.Store(false)
				started.Store(true)
				defer close(ran)
				runErr = mgr.Run(ctx)
			},
			OnStoppedLeading: func() { close(lost) },
		},
	})
	if err != nil {
		return err
	}
	logger.Info("Waiting to become the leader", "lease", ns+"/"+o.leaderElectionID, "identity", id)
	le.Run(ctx) // returns when ctx is done or leadership is lost
	<-lost
	if started.Load() {
		<-ran // let in-flight reconciles finish (bounded by shutdownTimeout)
	}
	if ctx.Err() == nil {
		return fmt.Errorf("lost the leader election lease %s/%s", ns, o.leaderElectionID)
	}
	return runErr
}

func startServers(ctx context.Context, o runOptions, listeners map[string]net.Listener, m *metrics.Metrics, mgr *engine.Manager, standby *atomic.Bool, fail context.CancelCauseFunc) []*http.Server {
	logger := klog.FromContext(ctx)
	var servers []*http.Server
	serve := func(addr string, mux *http.ServeMux) {
		l := listeners[addr]
		if l == nil {
			return
		}
		s := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, s)
		go func() {
			if err := s.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error(err, "HTTP server failed; shutting down", "addr", addr)
				fail(fmt.Errorf("HTTP server on %s: %w", addr, err))
			}
		}()
	}
	metricsMux := http.NewServeMux()
	metricsMux.Handle("/metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	serve(o.metricsAddr, metricsMux)

	probes := http.NewServeMux()
	probes.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	probes.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		// Plugins compiled before the server started; a standby is ready to
		// take over, the leader once its caches have synced.
		if standby.Load() {
			_, _ = w.Write([]byte("ok: standby, waiting for the leader election lease"))
			return
		}
		select {
		case <-mgr.Synced():
			_, _ = w.Write([]byte("ok"))
			// A failed reload leaves the previous plugin running, and some
			// changes wait for a restart: still ready, but say so.
			for _, r := range mgr.Status() {
				name := r.Controller
				if name == "" {
					name = "the configuration"
				}
				if r.Err != nil {
					fmt.Fprintf(w, "\nreload of %s (%s) failed, previous plugin running: %v", name, r.Path, r.Err)
				}
				if len(r.RestartRequired) > 0 {
					fmt.Fprintf(w, "\n%s: restart required to apply %s", name, strings.Join(r.RestartRequired, ", "))
				}
			}
		default:
			http.Error(w, "informer caches not synced", http.StatusServiceUnavailable)
		}
	})
	serve(o.probeAddr, probes)

	profiling := http.NewServeMux()
	profiling.HandleFunc("/debug/pprof/", pprof.Index)
	profiling.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	profiling.HandleFunc("/debug/pprof/profile", pprof.Profile)
	profiling.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	profiling.HandleFunc("/debug/pprof/trace", pprof.Trace)
	serve(o.pprofAddr, profiling)
	return servers
}

func configPath(cmd *cobra.Command) string {
	if f := cmd.Flags().Lookup("config"); f != nil {
		return f.Value.String()
	}
	return "config.yaml"
}
