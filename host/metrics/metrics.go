// Package metrics defines the host's Prometheus metrics. All live in one
// registry, served on /metrics by the run command.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"k8s.io/client-go/util/workqueue"
)

// Metrics holds every collector of one host.
type Metrics struct {
	Registry *prometheus.Registry

	// ReconcileTotal counts reconciles by controller and result
	// (success, error, refused, plugin_error, skipped, gone,
	// own_write_ignored).
	ReconcileTotal *prometheus.CounterVec
	// ReconcileDuration is the whole reconcile of one key.
	ReconcileDuration *prometheus.HistogramVec
	// PluginCallDuration is the time in the plugin call alone.
	PluginCallDuration *prometheus.HistogramVec
	// PluginFailures counts failed plugin calls by controller and reason
	// (trap, timeout, memory, exit, output_limit, forbidden, plugin_error, ...).
	PluginFailures *prometheus.CounterVec
	// RefusedResponses counts responses refused by validation.
	RefusedResponses *prometheus.CounterVec
	// Actions counts applied actions by controller, op, kind and result.
	Actions *prometheus.CounterVec
	// PluginReloads counts hot reloads by controller and result.
	PluginReloads *prometheus.CounterVec
	// RestartRequired is 1 for a controller whose configuration or manifest
	// changed in a way only a restart applies (for, owns, related, record,
	// added or removed controllers), else 0.
	RestartRequired *prometheus.GaugeVec
	// Workqueue is the work queues' metrics provider (workqueue_* series).
	Workqueue workqueue.MetricsProvider
}

// GaugeFunc registers a gauge computed at scrape time (cache sizes, live
// instances). Registering the same name and labels twice is an error.
func (m *Metrics) GaugeFunc(name, help string, labels prometheus.Labels, fn func() float64) error {
	return m.Registry.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels}, fn))
}

// New returns metrics registered in a new registry with the Go and process
// collectors.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		ReconcileTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wasmctl_reconcile_total", Help: "Reconciles by controller and result.",
		}, []string{"controller", "result"}),
		ReconcileDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "wasmctl_reconcile_duration_seconds", Help: "Time to reconcile one key (request, plugin, apply).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"controller"}),
		PluginCallDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "wasmctl_plugin_call_duration_seconds", Help: "Time in the plugin's reconcile export.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 2, 18),
		}, []string{"controller"}),
		PluginFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wasmctl_plugin_failures_total", Help: "Failed plugin calls by controller and reason.",
		}, []string{"controller", "reason"}),
		RefusedResponses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wasmctl_refused_responses_total", Help: "Plugin responses refused by validation; nothing of them was applied.",
		}, []string{"controller"}),
		Actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wasmctl_actions_total", Help: "Actions applied by controller, op, kind and result.",
		}, []string{"controller", "op", "kind", "result"}),
		PluginReloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wasmctl_plugin_reloads_total", Help: "Plugin hot reloads by controller and result (success, error).",
		}, []string{"controller", "result"}),
		RestartRequired: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "wasmctl_restart_required", Help: "1 when a reloaded configuration holds changes only a restart applies, per controller.",
		}, []string{"controller"}),
	}
	wq := newWorkqueueMetrics()
	m.Workqueue = wq
	m.Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.ReconcileTotal, m.ReconcileDuration, m.PluginCallDuration, m.PluginFailures,
		m.RefusedResponses, m.Actions, m.PluginReloads, m.RestartRequired,
	)
	m.Registry.MustRegister(wq.collectors()...)
	return m
}
