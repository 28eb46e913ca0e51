// Package hosttest runs a wasmctl host in-process for end-to-end tests: it
// writes a config file, loads it through the host's own config code and
// runs an engine.Manager until stopped.
package hosttest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/rest"

	"wasmctl.dev/wasmctl/host/config"
	"wasmctl.dev/wasmctl/host/engine"
)

// Host is a running host.
type Host struct {
	Manager *engine.Manager
	cancel  context.CancelFunc
	done    chan error
	dir     string
}

// Start writes configYAML to a temp dir, loads it and runs the host against
// rc until Stop; it returns once the informer caches have synced.
func Start(rc *rest.Config, configYAML string) (*Host, error) {
	dir, err := os.MkdirTemp("", "wasmctl-host-")
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(configYAML), 0o644); err != nil {
		return nil, err
	}
	cfg, err := config.Load(path, nil)
	if err != nil {
		return nil, err
	}
	if cfg.CompilationCacheDir == "" {
		cfg.CompilationCacheDir = filepath.Join(dir, "cache")
	}
	mgr, err := engine.FromConfig(context.Background(), cfg, rc, engine.Options{})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &Host{Manager: mgr, cancel: cancel, done: make(chan error, 1), dir: dir}
	go func() { h.done <- mgr.Run(ctx) }()
	select {
	case <-mgr.Synced():
		return h, nil
	case err := <-h.done:
		cancel()
		return nil, fmt.Errorf("host stopped before syncing: %v", err)
	case <-time.After(60 * time.Second):
		h.Stop()
		return nil, fmt.Errorf("host caches did not sync in 60s")
	}
}

// Stop stops the host and waits for it.
func (h *Host) Stop() {
	h.cancel()
	<-h.done
	os.RemoveAll(h.dir)
}
