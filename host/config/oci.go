package config

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"k8s.io/klog/v2"

	"wasmctl.dev/wasmctl/host/oci"
)

// OCI configures plugins pulled from registries.
type OCI struct {
	// CacheDir keeps pulled plugins by digest. Default:
	// $XDG_CACHE_HOME/wasmctl/oci.
	CacheDir string `mapstructure:"cacheDir"`
	// DockerConfig is the docker config file with registry credentials.
	// Default: $DOCKER_CONFIG/config.json, else ~/.docker/config.json.
	DockerConfig string `mapstructure:"dockerConfig"`
	// PlainHTTP lists registries (HOST or HOST:PORT) reached over plain
	// HTTP. Loopback registries always are; the rest use HTTPS.
	PlainHTTP []string `mapstructure:"plainHTTP"`
	// PublicKey verifies every oci:// plugin's signature unless its
	// controller sets its own. Default "": nothing verified.
	PublicKey string `mapstructure:"publicKey"`
	// PollInterval is every tag's poll interval unless its controller
	// sets its own. Default 0: never.
	PollInterval time.Duration `mapstructure:"pollInterval"`
}

// NoPublicKey, as a controller's publicKey, verifies nothing even when
// oci.publicKey is set.
const NoPublicKey = "none"

func (o *OCI) defaultAndValidate(dir string) error {
	if o.PollInterval < 0 {
		return errors.New("oci.pollInterval: must not be negative")
	}
	o.PublicKey = relTo(dir, o.PublicKey)
	o.DockerConfig = relTo(dir, o.DockerConfig)
	o.CacheDir = relTo(dir, o.CacheDir)
	if o.PublicKey != "" {
		if _, err := os.Stat(o.PublicKey); err != nil {
			return fmt.Errorf("oci.publicKey: %w", err)
		}
	}
	return nil
}

func relTo(dir, p string) string {
	if p == "" || p == NoPublicKey || filepath.IsAbs(p) || dir == "" {
		return p
	}
	return filepath.Join(dir, p)
}

// IsOCI reports whether the plugin is an oci:// reference.
func (c *Controller) IsOCI() bool { return oci.IsReference(c.Plugin) }

// PluginName names the plugin in logs and on /readyz: the reference,
// pinned to the digest it resolved to, or the file.
func (c *Config) PluginName(ctrl *Controller) string {
	if !ctrl.IsOCI() {
		p, _ := filepath.Abs(c.PluginPath(ctrl))
		return p
	}
	if ref, err := oci.ParseReference(ctrl.Plugin); err == nil && ctrl.PluginDigest != "" && !ref.Pinned() {
		return ref.At(ctrl.PluginDigest).String()
	}
	return ctrl.Plugin
}

func (c *Config) checkOCI(ctrl *Controller, at string) error {
	if !ctrl.IsOCI() {
		if ctrl.PublicKey != "" || ctrl.PollInterval != 0 {
			return fmt.Errorf("%s: publicKey and pollInterval apply to oci:// plugins only", at)
		}
		return nil
	}
	ref, err := oci.ParseReference(ctrl.Plugin)
	if err != nil {
		return fmt.Errorf("%s.plugin: %w", at, err)
	}
	if ctrl.PollInterval < 0 {
		return fmt.Errorf("%s.pollInterval: must not be negative", at)
	}
	if ctrl.PollInterval > 0 && ref.Pinned() {
		return fmt.Errorf("%s.pollInterval: %s is pinned by digest and never changes; poll a tag", at, ctrl.Plugin)
	}
	ctrl.PublicKey = relTo(c.Dir, ctrl.PublicKey)
	if ctrl.PublicKey != "" && ctrl.PublicKey != NoPublicKey {
		if _, err := os.Stat(ctrl.PublicKey); err != nil {
			return fmt.Errorf("%s.publicKey: %w", at, err)
		}
	}
	return nil
}

// PublicKeyOf is the key ctrl's plugin is verified with ("" for none).
func (c *Config) PublicKeyOf(ctrl *Controller) string {
	switch {
	case ctrl.PublicKey == NoPublicKey:
		return ""
	case ctrl.PublicKey != "":
		return ctrl.PublicKey
	}
	return c.OCI.PublicKey
}

// PollIntervalOf is how often ctrl's plugin tag is polled (0: never).
func (c *Config) PollIntervalOf(ctrl *Controller) time.Duration {
	if !ctrl.IsOCI() {
		return 0
	}
	if ref, err := oci.ParseReference(ctrl.Plugin); err != nil || ref.Pinned() {
		return 0
	}
	if ctrl.PollInterval > 0 {
		return ctrl.PollInterval
	}
	return c.OCI.PollInterval
}

// Resolver returns a resolver with the oci: settings.
func (c *Config) Resolver() (*oci.Resolver, error) {
	return oci.New(oci.Options{CacheDir: c.OCI.CacheDir, DockerConfig: c.OCI.DockerConfig, PlainHTTP: c.OCI.PlainHTTP})
}

// Resolve modes.
const (
	// ResolveStart: a tag whose registry cannot be reached starts from
	// the digest it had last (logged).
	ResolveStart = iota
	// ResolveReload: any failure is an error; the caller keeps what runs.
	ResolveReload
)

// ResolvePlugin resolves controller i's oci:// plugin (pull, verify,
// cache) and records the outcome in it: PluginFile and PluginDigest, or
// ResolveErr. r may be nil (one is made from the oci: settings). A file
// plugin is left alone.
func (c *Config) ResolvePlugin(ctx context.Context, r *oci.Resolver, i int, mode int) error {
	ctrl := &c.Controllers[i]
	if !ctrl.IsOCI() {
		return nil
	}
	ctrl.ResolveErr = nil
	err := func() error {
		if r == nil {
			var err error
			if r, err = c.Resolver(); err != nil {
				return err
			}
		}
		a, err := r.Resolve(ctx, ctrl.Plugin, oci.ResolveOptions{PublicKey: c.PublicKeyOf(ctrl), AllowStale: mode == ResolveStart})
		if err != nil {
			return err
		}
		if a.Stale != nil {
			klog.FromContext(ctx).Info("Registry unreachable; using the digest the tag had last", "controller", ctrl.Name, "plugin", ctrl.Plugin, "digest", a.Digest, "err", a.Stale.Error())
		}
		if c.PublicKeyOf(ctrl) == "" {
			klog.FromContext(ctx).V(1).Info("Plugin signature not verified: no publicKey configured", "plugin", ctrl.Plugin)
		}
		ctrl.PluginFile, ctrl.PluginDigest = a.Path, a.Digest
		return nil
	}()
	if err != nil {
		ctrl.ResolveErr = fmt.Errorf("controllers[%d].plugin: %w", i, err)
	}
	return ctrl.ResolveErr
}
