package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestGenerated fails when the committed mirror files differ from what the
// generator makes of the k8s.io/api in go.mod: after a dependency update,
// run go run ./plugins/internal/kube/gen.
func TestGenerated(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	for dir, want := range files {
		got, err := os.ReadFile(filepath.Join(root, dir, "zz_generated.go"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s/zz_generated.go is stale: go run ./plugins/internal/kube/gen", dir)
		}
	}
}
