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
	var c *Controller
	for _, x := range m.controllers {
		if x.name == controller {
			c = x
		}
	}
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
	req, controlled, orphans, err := c.buildRequest(key, primary)
	if err != nil {
		return nil, err
	}
	out, err := c.plugin.Call(ctx, abi.ExportReconcile, req)
	if err != nil {
		return &DryRunResult{Request: req}, err
	}
	res := &DryRunResult{Request: req}
	if res.Response, err = apply.Decode(out); err != nil {
		res.Refused = err
		return res, nil
	}
	_, res.Refused = apply.Validate(res.Response, apply.Input{
		Primary: primary, Controlled: controlled, Orphans: orphans, Perms: c.perms, Scope: c.scope,
	})
	return res, nil
}
