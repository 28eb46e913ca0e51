package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/host/runtime"
)

func newInspectCommand() *cobra.Command {
	var f ociFlags
	var extism map[string]string
	cmd := &cobra.Command{
		Use:   "inspect PLUGIN.wasm|oci://HOST/REPO:TAG",
		Short: "Print a plugin's manifest, exports, size and compile time",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			path, err := f.pluginFile(ctx, args[0])
			if err != nil {
				return err
			}
			wasm, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rt, err := runtime.New(runtime.Options{CacheDir: "none"}) // time a real compile
			if err != nil {
				return err
			}
			start := time.Now()
			p, err := rt.Load(ctx, wasm, runtime.LoadOptions{Name: args[0], Config: extism})
			if err != nil {
				return err
			}
			compile := time.Since(start)
			defer p.Close(context.Background())
			exports := p.Exports()
			sort.Strings(exports)
			out := cmd.OutOrStdout()
			timeouts := interruptText[p.Interrupt()]
			if note := p.InterruptNote(); note != "" {
				timeouts += "; " + note
			}
			fmt.Fprintf(out, "file:         %s\nsize:         %d bytes\ncompile time: %s\nexports:      %v\ntimeouts:     %s\n", args[0], len(wasm), compile.Round(time.Millisecond), exports, timeouts)
			if !p.HasExport(abi.ExportReconcile) {
				fmt.Fprintf(out, "warning:      no %q export: not a wasmctl plugin\n", abi.ExportReconcile)
			}
			if !p.HasExport(abi.ExportDescribe) {
				fmt.Fprintln(out, "manifest:     none (no describe export): set for/owns in the config")
				return nil
			}
			raw, err := p.Call(ctx, abi.ExportDescribe, nil)
			if err != nil {
				return err
			}
			var m abi.Manifest
			if err := abi.DecodeStrict(raw, &m); err != nil {
				return fmt.Errorf("describe returned an invalid manifest: %w", err)
			}
			data, _ := json.Marshal(m)
			y, _ := yaml.JSONToYAML(data)
			fmt.Fprintf(out, "manifest:\n%s", indent(string(y)))
			return nil
		},
	}
	f.bind(cmd.Flags(), true)
	cmd.Flags().StringToStringVar(&extism, "extism-config", nil, "the module's Extism configuration, key=value (a config entry's pluginConfig; e.g. controller=deployment for plugins/workloads)")
	return cmd
}

var interruptText = map[string]string{
	runtime.InterruptLoopChecks: "loop checks inserted by the host (fast): every loop calls the host every 16384 iterations",
	runtime.InterruptWazero:     "wazero's WithCloseOnContextDone (guest code runs 2-8x slower)",
	runtime.InterruptNone:       "none",
}

// indent indents every line of s by two spaces.
func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n  ") + "\n"
}
