// Command badmanifest is a test plugin whose manifest has three bad fields:
// a selector, a related select and a field path that do not parse.
package main

import (
	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/abi/guest"
)

func init() {
	guest.Register(&abi.Manifest{
		Name:     "bad",
		For:      abi.TypeRef{APIVersion: "v1", Kind: "ConfigMap"},
		Selector: "a in (",
		Related:  []abi.RelatedInput{{Name: "all", Type: abi.TypeRef{APIVersion: "v1", Kind: "Secret"}, Select: "everything"}},
		Fields:   []abi.FieldSelection{{Type: abi.TypeRef{APIVersion: "v1", Kind: "Secret"}, Paths: []string{"a..b"}}},
	}, func(*abi.ReconcileRequest) (*abi.ReconcileResponse, error) { return abi.NewResponse(), nil })
}

func main() {}
