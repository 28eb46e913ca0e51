// Package config loads and validates the host configuration: a YAML file
// (default ./config.yaml), WASMCTL_* environment variables and command-line
// flags, merged by viper in that order of increasing precedence.
//
// Every key is documented in docs/CONFIG.md. Unknown keys are errors, so a
// typo never silently turns a setting off.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"k8s.io/apimachinery/pkg/api/resource"

	"wasmctl.dev/wasmctl/abi"
)

// Defaults.
const (
	DefaultWorkers      = 4
	DefaultResyncPeriod = 10 * time.Minute
	DefaultTimeout      = time.Second
	DefaultMemoryLimit  = "64Mi"
	DefaultMaxResponse  = "16Mi"
	DefaultQPS          = 50
	DefaultBurst        = 100
)

// Config is the whole host configuration.
type Config struct {
	// Kubeconfig is the kubeconfig file. Empty: $KUBECONFIG, then the
	// in-cluster config, then ~/.kube/config.
	Kubeconfig string `mapstructure:"kubeconfig"`
	// QPS and Burst limit the host's client to the API server.
	QPS   float32 `mapstructure:"qps"`
	Burst int     `mapstructure:"burst"`
	// CompilationCacheDir keeps compiled plugins across restarts. Empty: the
	// user cache dir; "none": no disk cache.
	CompilationCacheDir string `mapstructure:"compilationCacheDir"`
	// ShutdownTimeout bounds how long SIGTERM waits for in-flight reconciles.
	ShutdownTimeout time.Duration `mapstructure:"shutdownTimeout"`
	// OCI configures plugins pulled from registries (plugin: oci://...).
	OCI         OCI          `mapstructure:"oci"`
	Controllers []Controller `mapstructure:"controllers"`

	// Dir is the directory of the config file; plugin paths are relative to
	// it. Set by Load.
	Dir string `mapstructure:"-"`
}

// Controller is one plugin and what it reconciles.
type Controller struct {
	Name string `mapstructure:"name"`
	// Plugin is a .wasm file (relative to the config file's directory) or
	// an OCI reference: oci://HOST/REPO:TAG or oci://HOST/REPO@sha256:...
	Plugin string `mapstructure:"plugin"`
	// PublicKey verifies an oci:// plugin's cosign signature (a PEM file,
	// relative to the config file's directory); "none" verifies nothing.
	// Default: oci.publicKey.
	PublicKey string `mapstructure:"publicKey"`
	// PollInterval re-resolves an oci:// plugin's tag this often; a moved
	// tag is pulled, verified and hot-swapped. 0: oci.pollInterval
	// (default 0: never; a pinned digest is never polled).
	PollInterval time.Duration `mapstructure:"pollInterval"`
	// For and Owns default to the plugin's describe manifest.
	For  *abi.TypeRef  `mapstructure:"for"`
	Owns []abi.TypeRef `mapstructure:"owns"`
	// Permissions beyond for/owns; default: the manifest's.
	Permissions  []abi.Permission `mapstructure:"permissions"`
	Workers      int              `mapstructure:"workers"`
	ResyncPeriod time.Duration    `mapstructure:"resyncPeriod"`
	Timeout      time.Duration    `mapstructure:"timeout"`
	// IdleTimeout closes a plugin instance unused for this long (its
	// linear memory with it); the next call instantiates one. 0: 1 min;
	// negative: never.
	IdleTimeout time.Duration `mapstructure:"idleTimeout"`
	MemoryLimit string        `mapstructure:"memoryLimit"`
	MaxResponse string        `mapstructure:"maxResponseSize"`
	// Config is passed to the plugin in every request.
	Config map[string]any `mapstructure:"config"`
	// PluginConfig is the module's Extism configuration (what go-pdk's
	// GetConfig and every PDK's config_get read), set on each instance
	// from its start, so also in describe and the module's init: e.g. which
	// controller of a module holding several (plugins/workloads) this
	// entry runs. Keys are lower-cased (viper). A change restarts the
	// plugin's instances.
	PluginConfig map[string]string `mapstructure:"pluginConfig"`
	// Record keeps the controller's requests as files, to replay a problem
	// seen in a cluster as a unit test. Off unless Dir is set.
	Record Record `mapstructure:"record"`

	// PluginFile and PluginDigest are what an oci:// plugin resolved to:
	// the cached module and the manifest digest (set by ResolvePlugins; a
	// new digest is a new file, which reload sees as a changed plugin).
	PluginFile   string `mapstructure:"-"`
	PluginDigest string `mapstructure:"-"`
	// ResolveErr is why the last ResolvePlugins could not resolve it (a
	// reload keeps the running plugin then).
	ResolveErr error `mapstructure:"-"`
}

// Record configures request recording.
type Record struct {
	// Dir receives one JSON file per request (a ReconcileRequest document).
	Dir string `mapstructure:"dir"`
	// MaxFiles bounds the files kept; the oldest go first. Default 100.
	MaxFiles int `mapstructure:"maxFiles"`
}

// MemoryLimitBytes parses MemoryLimit.
func (c *Controller) MemoryLimitBytes() (uint64, error) {
	return quantity(c.MemoryLimit, "memoryLimit")
}

// MaxResponseBytes parses MaxResponse.
func (c *Controller) MaxResponseBytes() (uint64, error) {
	return quantity(c.MaxResponse, "maxResponseSize")
}

func quantity(s, key string) (uint64, error) {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return 0, fmt.Errorf("%s %q: %w", key, s, err)
	}
	v, ok := q.AsInt64()
	if !ok || v <= 0 {
		return 0, fmt.Errorf("%s %q: must be a positive number of bytes", key, s)
	}
	return uint64(v), nil
}

// PluginPath resolves the controller's plugin path against the config dir;
// for an oci:// plugin, the cached module it resolved to ("" before
// ResolvePlugins).
func (c *Config) PluginPath(ctrl *Controller) string {
	if ctrl.IsOCI() {
		return ctrl.PluginFile
	}
	if filepath.IsAbs(ctrl.Plugin) || c.Dir == "" {
		return ctrl.Plugin
	}
	return filepath.Join(c.Dir, ctrl.Plugin)
}

// BindFlags registers the flags that override config keys.
func BindFlags(fs *pflag.FlagSet) {
	fs.String("config", "config.yaml", "path of the configuration file")
	fs.String("kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, in-cluster, ~/.kube/config)")
	fs.String("compilation-cache-dir", "", "directory for compiled plugins (\"none\" disables the disk cache)")
}

var flagKeys = map[string]string{
	"kubeconfig":            "kubeconfig",
	"compilation-cache-dir": "compilationCacheDir",
}

// Load reads the config file named by the "config" flag (or path when fs is
// nil), applies WASMCTL_* environment variables and flags, fills defaults
// and validates everything that can be checked without loading plugins.
func Load(path string, fs *pflag.FlagSet) (*Config, error) {
	v := viper.New()
	if fs != nil {
		if f := fs.Lookup("config"); f != nil {
			path = f.Value.String()
		}
		for flag, key := range flagKeys {
			if f := fs.Lookup(flag); f != nil {
				if err := v.BindPFlag(key, f); err != nil {
					return nil, err
				}
			}
		}
	}
	v.SetConfigFile(path)
	v.SetConfigType("yaml")
	v.SetEnvPrefix("WASMCTL")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	for _, key := range []string{"kubeconfig", "qps", "burst", "compilationCacheDir", "shutdownTimeout"} {
		_ = v.BindEnv(key, "WASMCTL_"+strings.ToUpper(key))
	}
	v.SetDefault("qps", DefaultQPS)
	v.SetDefault("burst", DefaultBurst)
	v.SetDefault("shutdownTimeout", "30s")
	if err := v.ReadInConfig(); err != nil {
		var notFound viper.ConfigFileNotFoundError
		if errors.As(err, &notFound) || os.IsNotExist(err) {
			return nil, fmt.Errorf("config file %s: not found", path)
		}
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	var cfg Config
	err := v.UnmarshalExact(&cfg, func(dc *mapstructure.DecoderConfig) {
		dc.ErrorUnused = true
		dc.DecodeHook = mapstructure.ComposeDecodeHookFunc(
			mapstructure.StringToTimeDurationHookFunc(),
			mapstructure.StringToSliceHookFunc(","),
		)
	})
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	cfg.Dir = filepath.Dir(abs)
	if err := cfg.defaultAndValidate(); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	return &cfg, nil
}

func (c *Config) defaultAndValidate() error {
	if c.QPS <= 0 || c.Burst <= 0 {
		return fmt.Errorf("qps and burst must be positive")
	}
	if err := c.OCI.defaultAndValidate(c.Dir); err != nil {
		return err
	}
	if len(c.Controllers) == 0 {
		return errors.New("controllers: at least one controller is required")
	}
	names := map[string]bool{}
	for i := range c.Controllers {
		ctrl := &c.Controllers[i]
		at := fmt.Sprintf("controllers[%d]", i)
		if ctrl.Plugin == "" {
			return fmt.Errorf("%s.plugin: required", at)
		}
		if ctrl.Name != "" {
			if names[ctrl.Name] {
				return fmt.Errorf("%s.name: %q is used twice", at, ctrl.Name)
			}
			names[ctrl.Name] = true
		}
		ctrl.SetDefaults()
		if ctrl.Workers < 0 {
			return fmt.Errorf("%s.workers: must be positive", at)
		}
		if _, err := ctrl.MemoryLimitBytes(); err != nil {
			return fmt.Errorf("%s.%w", at, err)
		}
		if _, err := ctrl.MaxResponseBytes(); err != nil {
			return fmt.Errorf("%s.%w", at, err)
		}
		if ctrl.For != nil {
			if err := checkType(*ctrl.For); err != nil {
				return fmt.Errorf("%s.for: %w", at, err)
			}
		}
		for j, o := range ctrl.Owns {
			if err := checkType(o); err != nil {
				return fmt.Errorf("%s.owns[%d]: %w", at, j, err)
			}
		}
		for j, p := range ctrl.Permissions {
			if err := CheckPermission(p); err != nil {
				return fmt.Errorf("%s.permissions[%d]: %w", at, j, err)
			}
		}
		if ctrl.Record.MaxFiles < 0 {
			return fmt.Errorf("%s.record.maxFiles: must be positive", at)
		}
		if ctrl.Record.Dir != "" && !filepath.IsAbs(ctrl.Record.Dir) {
			ctrl.Record.Dir = filepath.Join(c.Dir, ctrl.Record.Dir)
		}
		if err := c.checkOCI(ctrl, at); err != nil {
			return err
		}
		if ctrl.IsOCI() {
			continue // pulled by ResolvePlugins
		}
		if _, err := os.Stat(c.PluginPath(ctrl)); err != nil {
			return fmt.Errorf("%s.plugin: %w", at, err)
		}
	}
	return nil
}

// SetDefaults fills the zero fields of c with their defaults.
func (c *Controller) SetDefaults() {
	if c.Workers == 0 {
		c.Workers = DefaultWorkers
	}
	if c.ResyncPeriod == 0 {
		c.ResyncPeriod = DefaultResyncPeriod
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MemoryLimit == "" {
		c.MemoryLimit = DefaultMemoryLimit
	}
	if c.MaxResponse == "" {
		c.MaxResponse = DefaultMaxResponse
	}
	if c.Config == nil {
		c.Config = map[string]any{}
	}
	if c.Record.MaxFiles == 0 {
		c.Record.MaxFiles = 100
	}
}

func checkType(t abi.TypeRef) error {
	if t.APIVersion == "" || t.Kind == "" {
		return fmt.Errorf("apiVersion and kind are required (got %q, %q)", t.APIVersion, t.Kind)
	}
	return nil
}

// CheckPermission validates one permission entry.
func CheckPermission(p abi.Permission) error {
	if err := checkType(abi.TypeRef{APIVersion: p.APIVersion, Kind: p.Kind}); err != nil {
		return err
	}
	if len(p.Verbs) == 0 {
		return errors.New("verbs: at least one is required")
	}
	for _, v := range p.Verbs {
		switch v {
		case abi.OpCreate, abi.OpUpdate, abi.OpUpdateStatus, abi.OpPatch, abi.OpDelete:
		default:
			return fmt.Errorf("verbs: unknown verb %q (want create, update, updateStatus, patch, delete)", v)
		}
	}
	return nil
}
