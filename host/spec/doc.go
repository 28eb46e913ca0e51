// Package spec builds the validated spec of each configured controller:
// the plugin's describe manifest merged with its configuration entry, every
// string parsed once (label selectors, field paths, kinds, quantities, event
// wording) and every problem reported with the key that holds it.
//
// `run`, `validate`, `rbac`, the dry run and hot reload all build their
// controllers here, so what one of them accepts the others accept. What
// needs a cluster (whether a kind is served, its scope) is checked later by
// the engine against discovery.
package spec
