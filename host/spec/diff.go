package spec

import (
	"bytes"
	"maps"
	"reflect"
	"slices"
)

// Change is one difference between two specs of a controller.
type Change struct {
	// Field names what changed, as in the configuration or manifest.
	Field string
	// Live: a running controller applies it without a restart.
	Live bool
}

// Diff lists what differs from old to cur. The plugin, its limits, the
// config: block, workers, resyncPeriod, permissions, fields, selector,
// ignoreOwnWrites and ownedEvents apply live; for, owns, related inputs and
// record need new informers or files and take a restart. (The engine also
// restarts for fields that read more of a kind its cache cuts.)
func Diff(old, cur *Controller) []Change {
	var out []Change
	add := func(changed bool, field string, live bool) {
		if changed {
			out = append(out, Change{Field: field, Live: live})
		}
	}
	add(old.WasmSHA256 != cur.WasmSHA256 || old.PluginPath != cur.PluginPath, "plugin", true)
	add(old.Limits != cur.Limits, "limits", true)
	add(!maps.Equal(old.Entry.PluginConfig, cur.Entry.PluginConfig), "pluginConfig", true)
	add(!bytes.Equal(old.Config, cur.Config), "config", true)
	add(old.Workers != cur.Workers, "workers", true)
	add(old.ResyncPeriod != cur.ResyncPeriod, "resyncPeriod", true)
	add(!reflect.DeepEqual(old.Manifest.Permissions, cur.Manifest.Permissions), "permissions", true)
	add(!reflect.DeepEqual(old.Manifest.Fields, cur.Manifest.Fields), "fields", true)
	add(old.Manifest.Selector != cur.Manifest.Selector, "selector", true)
	add(old.Manifest.IgnoreOwnWrites != cur.Manifest.IgnoreOwnWrites, "ignoreOwnWrites", true)
	add(!reflect.DeepEqual(old.Manifest.OwnedEvents, cur.Manifest.OwnedEvents), "ownedEvents", true)
	add(!slices.Equal(old.Manifest.OwnedFinalizers, cur.Manifest.OwnedFinalizers), "ownedFinalizers", true)
	add(old.For != cur.For, "for", false)
	add(!reflect.DeepEqual(old.Owns, cur.Owns), "owns", false)
	add(!reflect.DeepEqual(old.Manifest.Related, cur.Manifest.Related), "related", false)
	add(old.Record != cur.Record, "record", false)
	return out
}
