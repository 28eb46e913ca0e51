package cli_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"wasmctl.dev/wasmctl/host/oci"
	"wasmctl.dev/wasmctl/internal/testregistry"
)

// cosignKeys writes a key pair as cosign generate-key-pair does: an
// encrypted private key (password in $COSIGN_PASSWORD) and a PEM public key.
func cosignKeys(t *testing.T, dir, prefix, password string) (priv, pub string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := oci.EncryptPrivateKey(k, []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	priv, pub = filepath.Join(dir, prefix+".key"), filepath.Join(dir, prefix+".pub")
	if err := os.WriteFile(priv, enc, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

// TestOCICommands: push (annotated from describe, signed), pull by tag
// and digest with the right and a wrong key, sign, inspect, validate,
// reconcile and rbac from oci:// references, against a real registry.
func TestOCICommands(t *testing.T) {
	reg := testregistry.Start(t)
	dir := t.TempDir()
	priv, pub := cosignKeys(t, dir, "cosign", "pw")
	_, wrong := cosignKeys(t, dir, "other", "")
	t.Setenv("COSIGN_PASSWORD", "pw")
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "xdg"))
	cache := filepath.Join(dir, "xdg", "wasmctl", "oci")
	ref := "oci://" + reg.Host + "/controllers/replicaset:v1"
	wasm := replicasetWasm(t)

	out, err := run(t, "push", wasm, ref, "--sign-key", priv, "--version", "1.2.0")
	if err != nil {
		t.Fatalf("push: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`pushed (\S+@(sha256:[0-9a-f]{64})) \(signed\)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("push output: %s", out)
	}
	pinned, digest := m[1], m[2]
	if _, err := run(t, "push", wasm, ref, "--sign-key", priv+".missing"); err == nil {
		t.Fatal("push with a missing key succeeded")
	}

	out, err = run(t, "pull", ref, "--public-key", pub)
	if err != nil {
		t.Fatalf("pull: %v\n%s", err, out)
	}
	for _, want := range []string{"digest:    " + digest, "signature verified with " + pub, "annotation dev.wasmctl.for: apps/v1 ReplicaSet", "annotation dev.wasmctl.owns: v1 Pod", "annotation org.opencontainers.image.title: replicaset", "annotation org.opencontainers.image.version: 1.2.0", "file:      " + cache + "/sha256/"} {
		if !strings.Contains(out, want) {
			t.Fatalf("pull output lacks %q:\n%s", want, out)
		}
	}
	pulled := filepath.Join(dir, "pulled.wasm")
	if out, err := run(t, "pull", pinned, "--public-key", pub, "-o", pulled); err != nil {
		t.Fatalf("pull by digest: %v\n%s", err, out)
	}
	if a, b := readFile(t, pulled), readFile(t, wasm); a != b {
		t.Fatal("the pulled module differs from the pushed one")
	}
	if out, err := run(t, "pull", ref, "--public-key", wrong, "--oci-cache-dir", t.TempDir()); err == nil || !strings.Contains(err.Error(), "no signature verifies with "+wrong) {
		t.Fatalf("pull with a wrong key: %v\n%s", err, out)
	}

	// Pushed unsigned, signed afterwards.
	ref2 := "oci://" + reg.Host + "/controllers/later:v1"
	if out, err := run(t, "push", wasm, ref2, "--annotation", "x=y"); err != nil || !strings.Contains(out, "(unsigned)") {
		t.Fatalf("unsigned push: %v\n%s", err, out)
	}
	if _, err := run(t, "pull", ref2, "--public-key", pub); err == nil || !strings.Contains(err.Error(), "unsigned") {
		t.Fatalf("pull of an unsigned artifact with a key: %v", err)
	}
	if out, err := run(t, "sign", ref2, "--key", priv); err != nil || !strings.Contains(out, "signed oci://") {
		t.Fatalf("sign: %v\n%s", err, out)
	}
	if out, err := run(t, "pull", ref2, "--public-key", pub); err != nil {
		t.Fatalf("pull after sign: %v\n%s", err, out)
	}

	if out, err := run(t, "inspect", ref, "--public-key", pub); err != nil || !strings.Contains(out, "name: replicaset") {
		t.Fatalf("inspect: %v\n%s", err, out)
	}

	cfg := write(t, dir, "config.yaml", "oci: {publicKey: cosign.pub}\ncontrollers:\n  - {name: replicaset, plugin: '"+ref+"', pollInterval: 1m}\n")
	if out, err := run(t, "validate", "--config", cfg); err != nil || !strings.Contains(out, "controller replicaset: ok") {
		t.Fatalf("validate: %v\n%s", err, out)
	}
	req := write(t, dir, "rs.yaml", rsYAML)
	if out, err := run(t, "reconcile", "--plugin", ref, "--public-key", pub, "--object", req, "--config", cfg, "--now", "2026-01-01T00:00:00Z"); err != nil || strings.Count(out, "op: create") != 3 {
		t.Fatalf("reconcile --plugin oci://: %v\n%s", err, out)
	}

	// rbac reads the manifest's annotations: no module is pulled.
	rbacCache := filepath.Join(dir, "rbac-cache")
	cfg2 := write(t, dir, "rbac.yaml", "oci: {publicKey: cosign.pub, cacheDir: rbac-cache}\ncontrollers:\n  - {name: replicaset, plugin: '"+ref+"'}\n")
	out, err = run(t, "rbac", "--config", cfg2)
	if err != nil || !strings.Contains(out, "- pods") || !strings.Contains(out, "- replicasets/status") {
		t.Fatalf("rbac: %v\n%s", err, out)
	}
	blobs, _ := os.ReadDir(filepath.Join(rbacCache, "sha256"))
	for _, b := range blobs {
		if info, _ := b.Info(); info != nil && info.Size() > 64<<10 {
			t.Fatalf("rbac pulled a %d-byte blob (the module?)", info.Size())
		}
	}

	// With the registry down, the cached artifacts still validate; a
	// tag's cached digest is used (and said so in the log).
	reg.Down()
	if out, err := run(t, "validate", "--config", cfg); err != nil {
		t.Fatalf("validate with the registry down: %v\n%s", err, out)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
