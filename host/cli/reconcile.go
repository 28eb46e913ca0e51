package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/host/apply"
	"wasmctl.dev/wasmctl/host/config"
	"wasmctl.dev/wasmctl/host/engine"
	"wasmctl.dev/wasmctl/host/fixture"
	"wasmctl.dev/wasmctl/host/oci"
	"wasmctl.dev/wasmctl/host/runtime"
	"wasmctl.dev/wasmctl/host/spec"
)

type reconcileOptions struct {
	plugin, request, object, children, orphans, now, pluginConfig string
	related                                                       []string
	output                                                        string
	fromCluster, controller, config, kubeconfig                   string
	timeout                                                       time.Duration
	timeoutSet, configSet                                         bool
	oci                                                           ociFlags
	// pluginRef is --plugin when it is an oci:// reference (plugin is
	// then the pulled file).
	pluginRef string
}

func newReconcileCommand() *cobra.Command {
	var o reconcileOptions
	cmd := &cobra.Command{
		Use:   "reconcile",
		Short: "Run a plugin's reconcile once and print the actions, applying nothing",
		Long: `Run a plugin's reconcile once and print its response (YAML, or JSON with -o json).

Inputs come from files (no cluster needed):
  --request f               a whole ReconcileRequest (YAML or JSON; what "record:" writes)
  --object f [--children f] [--orphans f] [--related name=f] [--now t] [--plugin-config f]
                            objects as YAML or JSON; a file may hold several documents or a List
or from a live cluster, read through the host's own informers and request builder:
  --from-cluster ns/name --config config.yaml [--controller name]`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.timeoutSet = cmd.Flags().Changed("timeout")
			o.configSet = cmd.Flags().Changed("config")
			return runReconcile(cmd.Context(), cmd, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.plugin, "plugin", "", "the .wasm or an oci:// reference (file inputs)")
	f.StringVar(&o.request, "request", "", "a ReconcileRequest file")
	f.StringVar(&o.object, "object", "", "the primary object file")
	f.StringVar(&o.children, "children", "", "children file")
	f.StringVar(&o.orphans, "orphans", "", "orphans file")
	f.StringArrayVar(&o.related, "related", nil, "related input, name=file (repeatable)")
	f.StringVar(&o.now, "now", "", "the request's clock, RFC 3339 (default: now)")
	f.StringVar(&o.pluginConfig, "plugin-config", "", "the controller config: block, a YAML/JSON file")
	f.StringVarP(&o.output, "output", "o", "yaml", "yaml or json")
	f.StringVar(&o.fromCluster, "from-cluster", "", "namespace/name of a primary in the cluster")
	f.StringVar(&o.config, "config", "config.yaml", "host configuration: with --from-cluster; with file inputs, its entry for --plugin gives the permissions and limits, when the file exists")
	f.StringVar(&o.controller, "controller", "", "controller name in the config (default: the only one, or the one whose plugin is --plugin)")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig (with --from-cluster)")
	f.DurationVar(&o.timeout, "timeout", 10*time.Second, "call timeout (file inputs)")
	o.oci.bind(f, true)
	return cmd
}

func runReconcile(ctx context.Context, cmd *cobra.Command, o reconcileOptions) error {
	if o.fromCluster != "" {
		return reconcileFromCluster(ctx, cmd, o)
	}
	if o.plugin == "" {
		return fmt.Errorf("--plugin is required")
	}
	if oci.IsReference(o.plugin) {
		path, err := o.oci.pluginFile(ctx, o.plugin)
		if err != nil {
			return err
		}
		o.pluginRef, o.plugin = o.plugin, path
	}
	var req []byte
	var err error
	switch {
	case o.request != "":
		req, err = fixture.ReadRequestFile(o.request)
	case o.object != "":
		req, err = requestFromFiles(o)
	default:
		return fmt.Errorf("give --request, --object or --from-cluster")
	}
	if err != nil {
		return err
	}
	cfg, i, err := dryRunConfig(o, req)
	if err != nil {
		return err
	}
	rt, err := runtime.New(runtime.Options{CacheDir: cfg.CompilationCacheDir})
	if err != nil {
		return err
	}
	defer rt.Close(context.Background())
	// The spec run would build: its manifest checks and permissions.
	l, err := spec.Load(ctx, rt, cfg, i)
	if err != nil {
		return err
	}
	defer l.Close()
	out, err := l.Plugin.Call(ctx, abi.ExportReconcile, req)
	if err != nil {
		return err
	}
	resp, err := apply.Decode(out)
	if err != nil {
		return refused(err)
	}
	in, err := apply.InputFromRequest(req, l.Spec.Permissions, apply.StaticScope)
	if err != nil {
		return err
	}
	_, verr := apply.Validate(resp, in)
	if err := printResponse(cmd, resp, o.output); err != nil {
		return err
	}
	if verr != nil {
		return refused(verr)
	}
	return nil
}

// refused is the dry run's error for a response the host would refuse.
func refused(err error) error {
	return fmt.Errorf("the host would refuse this response, nothing of it would be applied: %w", err)
}

// dryRunConfig is the configuration a file-input dry run loads the plugin
// with: the entry of --config whose plugin is --plugin (or named
// --controller) when --config exists, else the plugin alone with the
// defaults and --timeout, reconciling the kind of the request's object.
func dryRunConfig(o reconcileOptions, req []byte) (*config.Config, int, error) {
	abs, err := filepath.Abs(o.plugin)
	if err != nil {
		return nil, 0, err
	}
	if _, err := os.Stat(o.config); err == nil {
		cfg, err := config.Load(o.config, nil)
		if err != nil && o.configSet {
			return nil, 0, err
		}
		if err != nil {
			cfg = &config.Config{} // ./config.yaml is someone else's: not ours to judge here
		}
		// The entry named by --controller, else the one running --plugin.
		// A module several entries load (plugins/workloads) is each of them
		// with its own pluginConfig: which one is not ours to guess.
		var picked []int
		for i := range cfg.Controllers {
			cc := &cfg.Controllers[i]
			p, _ := filepath.Abs(cfg.PluginPath(cc))
			runsPlugin := p == abs || o.pluginRef != "" && cc.Plugin == o.pluginRef
			if o.controller != "" && cc.Name == o.controller || o.controller == "" && runsPlugin {
				picked = append(picked, i)
			}
		}
		if len(picked) > 1 && o.controller == "" {
			var names []string
			for _, i := range picked {
				names = append(names, cfg.Controllers[i].Name)
			}
			return nil, 0, fmt.Errorf("%d controllers of %s run %s (%s): choose one with --controller", len(picked), o.config, o.plugin, strings.Join(names, ", "))
		}
		if len(picked) > 0 {
			i := picked[0]
			cc := &cfg.Controllers[i]
			cc.Plugin, cc.Record = abs, config.Record{} // a dry run records nothing
			cc.PublicKey, cc.PollInterval = "", 0       // the file is what was pulled
			if o.timeoutSet {
				cc.Timeout = o.timeout
			}
			return cfg, i, nil
		}
	}
	cc := config.Controller{Name: o.controller, Plugin: abs, Timeout: o.timeout}
	// Outside any configuration the request's object is the primary, as
	// for a plugin that does not describe itself.
	var r struct {
		Object abi.TypeRef `json:"object"`
	}
	if json.Unmarshal(req, &r) == nil && r.Object.Kind != "" {
		cc.For = &r.Object
	}
	if cc.Name == "" {
		cc.Name = strings.TrimSuffix(filepath.Base(abs), ".wasm")
	}
	cc.SetDefaults()
	return &config.Config{Controllers: []config.Controller{cc}}, 0, nil
}

func requestFromFiles(o reconcileOptions) ([]byte, error) {
	r := fixture.Request{Now: time.Now()}
	if o.now != "" {
		t, err := time.Parse(time.RFC3339Nano, o.now)
		if err != nil {
			return nil, fmt.Errorf("--now: %w", err)
		}
		r.Now = t
	}
	objs, err := readObjects(o.object)
	if err != nil {
		return nil, err
	}
	if len(objs) != 1 {
		return nil, fmt.Errorf("--object %s: want one object, found %d", o.object, len(objs))
	}
	r.Object = objs[0]
	if o.children != "" {
		if r.Children, err = readObjects(o.children); err != nil {
			return nil, err
		}
	}
	if o.orphans != "" {
		if r.Orphans, err = readObjects(o.orphans); err != nil {
			return nil, err
		}
	}
	for _, rel := range o.related {
		name, file, ok := strings.Cut(rel, "=")
		if !ok {
			return nil, fmt.Errorf("--related %q: want name=file", rel)
		}
		objs, err := readObjects(file)
		if err != nil {
			return nil, err
		}
		if r.Related == nil {
			r.Related = map[string][]any{}
		}
		r.Related[name] = objs
	}
	if o.pluginConfig != "" {
		data, err := os.ReadFile(o.pluginConfig)
		if err != nil {
			return nil, err
		}
		r.Config = json.RawMessage(mustJSON(data))
	}
	return r.JSON()
}

func mustJSON(yamlOrJSON []byte) []byte {
	data, err := yaml.YAMLToJSON(yamlOrJSON)
	if err != nil {
		return []byte("{}")
	}
	return data
}

// readObjects reads the objects of a file as request values.
func readObjects(path string) ([]any, error) {
	objs, err := fixture.ReadObjects(path)
	if err != nil {
		return nil, err
	}
	out := make([]any, len(objs))
	for i, o := range objs {
		out[i] = o
	}
	return out, nil
}

func printResponse(cmd *cobra.Command, resp *abi.ReconcileResponse, output string) error {
	switch output {
	case "json":
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		return enc.Encode(resp)
	case "yaml":
		data, err := fixture.ResponseYAML(resp)
		if err != nil {
			return err
		}
		_, err = cmd.OutOrStdout().Write(data)
		return err
	}
	return fmt.Errorf("-o %s: want yaml or json", output)
}

func reconcileFromCluster(ctx context.Context, cmd *cobra.Command, o reconcileOptions) error {
	cfg, err := config.Load(o.config, nil)
	if err != nil {
		return err
	}
	name, err := pickController(cfg, o)
	if err != nil {
		return err
	}
	if o.kubeconfig != "" {
		cfg.Kubeconfig = o.kubeconfig
	}
	rc, _, err := restConfig(cfg.Kubeconfig)
	if err != nil {
		return err
	}
	for i := range cfg.Controllers {
		cfg.Controllers[i].Record.Dir = "" // a dry run records nothing
	}
	mgr, err := engine.FromConfig(ctx, cfg, rc, engine.Options{})
	if err != nil {
		return err
	}
	res, err := mgr.DryRun(ctx, name, o.fromCluster)
	if err != nil {
		return err
	}
	if res.Response != nil {
		if err := printResponse(cmd, res.Response, o.output); err != nil {
			return err
		}
	}
	if res.Refused != nil {
		return refused(res.Refused)
	}
	return nil
}

func pickController(cfg *config.Config, o reconcileOptions) (string, error) {
	var names []string
	for i, c := range cfg.Controllers {
		n := c.Name
		if n == "" {
			n = c.Plugin
		}
		if o.controller != "" && n == o.controller {
			return n, nil
		}
		if o.plugin != "" && cfg.PluginPath(&cfg.Controllers[i]) == o.plugin {
			return n, nil
		}
		names = append(names, n)
	}
	if o.controller == "" && o.plugin == "" && len(names) == 1 {
		return names[0], nil
	}
	return "", fmt.Errorf("choose a controller with --controller (one of %s)", strings.Join(names, ", "))
}
