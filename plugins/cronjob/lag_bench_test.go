//go:build !wasip1

// A control plane runs on the host only (internal/testenv does not build
// for wasip1).

package cronjob_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"wasmctl.dev/wasmctl/internal/hosttest"
	"wasmctl.dev/wasmctl/internal/testenv"
	"wasmctl.dev/wasmctl/internal/wasmbuild"
)

// BenchmarkCronJobScheduleLag: 500 CronJobs due in the same minute, run by
// kube-controller-manager (--controllers=cronjob) and by the host, each on
// its own fresh control plane with the same client limits (50 qps, burst
// 100) and 5 workers. Lag is when a watch first sees each Job, minus the
// scheduled minute. Run with: go test -run '^$' -bench CronJobScheduleLag
// -benchtime 1x ./plugins/cronjob/
func BenchmarkCronJobScheduleLag(b *testing.B) {
	const n = 500
	for range b.N {
		for _, side := range []string{"kube-controller-manager", "wasmctl-host"} {
			p50, p99, max := scheduleLag(b, side, n)
			b.ReportMetric(p50.Seconds(), side+"-p50-s")
			b.ReportMetric(p99.Seconds(), side+"-p99-s")
			fmt.Printf("schedule lag %-24s %d CronJobs: p50 %6.2fs  p99 %6.2fs  max %6.2fs\n", side, n, p50.Seconds(), p99.Seconds(), max.Seconds())
		}
	}
}

func scheduleLag(b *testing.B, side string, n int) (p50, p99, max time.Duration) {
	ctx := context.Background()
	e, err := testenv.Start(ctx, testenv.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Stop()
	switch side {
	case "kube-controller-manager":
		if _, err := e.StartControllerManager(testenv.ControllerManagerOptions{
			Controllers: []string{"cronjob"}, QPS: 50, Burst: 100, ExtraArgs: []string{"--concurrent-cron-job-syncs=5"},
		}); err != nil {
			b.Fatal(err)
		}
	default:
		wasm, err := wasmbuild.Build("", "./cmd")
		if err != nil {
			b.Fatal(err)
		}
		h, err := hosttest.Start(e.RESTConfig(), fmt.Sprintf("qps: 50\nburst: 100\ncontrollers:\n  - {name: cronjob, plugin: %s, workers: 5}\n", wasm))
		if err != nil {
			b.Fatal(err)
		}
		defer h.Stop()
	}
	c := e.Clientset()
	ns := "lag"
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	// Start in a minute that leaves at least 20 s to create everything.
	for time.Until(time.Now().Truncate(time.Minute).Add(time.Minute)) < 20*time.Second {
		time.Sleep(time.Second)
	}
	due := time.Now().Truncate(time.Minute).Add(time.Minute)

	var mu sync.Mutex
	seen := map[string]time.Time{}
	factory := informers.NewSharedInformerFactoryWithOptions(c, 0, informers.WithNamespace(ns))
	inf := factory.Batch().V1().Jobs().Informer()
	inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: func(obj any) {
		j := obj.(*batchv1.Job)
		mu.Lock()
		if _, ok := seen[j.Name]; !ok {
			seen[j.Name] = time.Now()
		}
		mu.Unlock()
	}})
	stop := make(chan struct{})
	defer close(stop)
	factory.Start(stop)
	cache.WaitForCacheSync(stop, inf.HasSynced)

	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if _, err := c.BatchV1().CronJobs(ns).Create(ctx, newCronJob(ns, fmt.Sprintf("cj-%03d", i), "*/1 * * * *", batchv1.AllowConcurrent), metav1.CreateOptions{}); err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
	if time.Now().After(due) {
		b.Fatalf("creating %d CronJobs ran past the minute", n)
	}
	deadline := due.Add(90 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		got := len(seen)
		mu.Unlock()
		if got >= n {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) < n {
		b.Fatalf("%s: %d of %d Jobs after 90 s", side, len(seen), n)
	}
	var lags []time.Duration
	for _, t := range seen {
		lags = append(lags, t.Sub(due))
	}
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	return lags[len(lags)/2], lags[len(lags)*99/100], lags[len(lags)-1]
}
