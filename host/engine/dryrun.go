package engine

import (
	"context"
	"errors"
	"fmt"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/host/apply"
)

// DryRunResult is what one reconcile would do.
type DryRunResult struct {
	Request  []byte
	Response *abi.ReconcileResponse
	// Refused is the validation error that would refuse the response, if any.
	Refused error
}

// DryRun syncs the informers, builds the request for key exactly as a
// running host would, calls the named controller's plugin and validates the
// response. Nothing is written to the cluster. It is for the reconcile
// command's --from-cluster; the manager must not be Run as well.
func (m *Manager) DryRun(ctx context.Context, controller, key string) (*DryRunResult, error) {
	c := m.controller(controller)
	if c == nil {
		return nil, fmt.Errorf("no controller %q in the config", controller)
	}
	stop := make(chan struct{})
	defer func() {
		close(stop)
		m.cache.Shutdown()
		m.closePlugins(context.Background())
	}()
	m.cache.Start(stop)
	if !m.cache.WaitForSync(ctx.Done()) {
		return nil, errors.New("informer caches did not sync")
	}
	obj, exists, err := c.primary.Informer.GetIndexer().GetByKey(key)
	if err != nil {
		return nil, err
	}
	if !exists {
		return nil, fmt.Errorf("%s %s not found", c.primary.GVK.Kind, key)
	}
	primary := obj.(apply.Object)
	s := c.spec.Load()
	req, controlled, orphans, err := c.buildRequest(s, key, primary)
	if err != nil {
		return nil, err
	}
	out, err := c.plugin.Call(ctx, abi.ExportReconcile, req)
	if err != nil {
		return &DryRunResult{Request: req}, err
	}
	res := &DryRunResult{Request: req}
	res.Response, _, res.Refused = c.validate(s, out, primary, controlled, orphans)
	return res, nil
}
