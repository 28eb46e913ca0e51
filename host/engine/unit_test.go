package engine

import (
	"testing"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/host/plugintest"
	"wasmctl.dev/wasmctl/host/runtime"
)

// TestPluginSlotStatFollowsReload: gauges read the plugin in the slot now,
// not the one loaded at start (which a hot reload closes).
func TestPluginSlotStatFollowsReload(t *testing.T) {
	first := plugintest.Build(t, "../../plugins/replicaset/cmd", runtime.Limits{}).Plugin
	second := plugintest.Build(t, "../../plugins/replicaset/cmd", runtime.Limits{MaxOutputBytes: 1 << 20}).Plugin
	var slot pluginSlot
	slot.set(first, nil)
	instances := func() float64 {
		return slot.stat(func(p *runtime.Plugin) float64 { return float64(p.Instances()) })
	}
	if _, err := first.Call(t.Context(), abi.ExportDescribe, nil); err != nil {
		t.Fatal(err)
	}
	if got := instances(); got != 1 {
		t.Fatalf("%v instances before the swap, want 1", got)
	}
	slot.set(second, nil)
	if got := instances(); got != 0 {
		t.Fatalf("%v instances after the swap, want the new plugin's 0", got)
	}
}
