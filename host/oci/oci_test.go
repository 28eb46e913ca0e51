package oci_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wasmctl.dev/wasmctl/host/oci"
	"wasmctl.dev/wasmctl/internal/testregistry"
)

func TestParseReference(t *testing.T) {
	const d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		in      string
		want    oci.Reference
		pinned  bool
		wantErr string
	}{
		{in: "oci://registry.example.com/controllers/backup:v1.2", want: oci.Reference{Registry: "registry.example.com", Repository: "controllers/backup", Tag: "v1.2"}},
		{in: "oci://127.0.0.1:5000/backup:latest", want: oci.Reference{Registry: "127.0.0.1:5000", Repository: "backup", Tag: "latest"}},
		{in: "oci://r.example/backup@" + d, want: oci.Reference{Registry: "r.example", Repository: "backup", Digest: d}, pinned: true},
		{in: "oci://r.example/backup:v1@" + d, want: oci.Reference{Registry: "r.example", Repository: "backup", Tag: "v1", Digest: d}, pinned: true},
		{in: "oci://localhost:5000/a/b/c:v1", want: oci.Reference{Registry: "localhost:5000", Repository: "a/b/c", Tag: "v1"}},
		{in: "oci://r.example/backup", wantErr: "name a tag"},
		{in: "oci://r.example:5000/backup", wantErr: "name a tag"},
		{in: "oci://backup:v1", wantErr: "want oci://HOST/REPOSITORY"},
		{in: "oci://r.example/Backup:v1", wantErr: "invalid repository"},
		{in: "oci://r.example/backup:v1!", wantErr: "invalid tag"},
		{in: "oci://r.example/backup@sha256:abc", wantErr: "digest length"},
		{in: "r.example/backup:v1", wantErr: "starts with oci://"},
	} {
		got, err := oci.ParseReference(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: error %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if got != tc.want || got.Pinned() != tc.pinned || got.String() != tc.in {
			t.Errorf("%s: got %+v (pinned %v, %s), want %+v", tc.in, got, got.Pinned(), got.String(), tc.want)
		}
	}
}

// keys writes a cosign-format key pair (encrypted private key, PEM public
// key) and returns the paths and the key.
func keys(t *testing.T, password string) (priv, pub string, key crypto.Signer) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	enc, err := oci.EncryptPrivateKey(k, []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	priv = filepath.Join(dir, "cosign.key")
	if err := os.WriteFile(priv, enc, 0o600); err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pub = filepath.Join(dir, "cosign.pub")
	if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return priv, pub, k
}

func newResolver(t *testing.T, cache string) *oci.Resolver {
	t.Helper()
	r, err := oci.New(oci.Options{CacheDir: cache, DockerConfig: filepath.Join(t.TempDir(), "none.json")})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestPushPullVerify(t *testing.T) {
	reg := testregistry.Start(t)
	ctx := context.Background()
	privPath, pub, _ := keys(t, "s3cret")
	key, err := oci.LoadPrivateKey(privPath, []byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oci.LoadPrivateKey(privPath, []byte("wrong")); err == nil || !strings.Contains(err.Error(), "decrypt") {
		t.Fatalf("a wrong password: %v", err)
	}
	_, otherPub, _ := keys(t, "")
	cache := t.TempDir()
	r := newResolver(t, cache)
	ref := "oci://" + reg.Host + "/controllers/backup:v1"
	module := []byte("\x00asm\x01\x00\x00\x00 version one")
	pushed, err := r.Push(ctx, module, ref, oci.PushOptions{Annotations: map[string]string{oci.AnnotationTitle: "backup"}, SignKey: key})
	if err != nil {
		t.Fatal(err)
	}
	// The same module pushed again is the same digest: a tag does not
	// move to identical content.
	again, err := r.Push(ctx, module, ref, oci.PushOptions{Annotations: map[string]string{oci.AnnotationTitle: "backup"}})
	if err != nil || again.Digest != pushed.Digest {
		t.Fatalf("second push: %v, %v != %v", err, again, pushed)
	}

	// By tag, verified.
	a, err := r.Resolve(ctx, ref, oci.ResolveOptions{PublicKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	if a.Digest != pushed.Digest || !a.Verified || a.Annotations[oci.AnnotationTitle] != "backup" {
		t.Fatalf("resolved %+v, pushed %+v", a, pushed)
	}
	if got, _ := os.ReadFile(a.Path); !bytes.Equal(got, module) {
		t.Fatalf("cached module %q", got)
	}
	if !strings.HasPrefix(a.Path, filepath.Join(cache, "sha256")+"/") {
		t.Fatalf("path %s not under the cache's sha256/", a.Path)
	}
	// By digest.
	byDigest := "oci://" + reg.Host + "/controllers/backup@" + pushed.Digest
	if a, err := newResolver(t, t.TempDir()).Resolve(ctx, byDigest, oci.ResolveOptions{PublicKey: pub}); err != nil || !a.Verified {
		t.Fatalf("by digest: %+v, %v", a, err)
	}
	// A wrong key: refused, clearly.
	_, err = newResolver(t, t.TempDir()).Resolve(ctx, ref, oci.ResolveOptions{PublicKey: otherPub})
	if err == nil || !strings.Contains(err.Error(), "verify the signature") || !strings.Contains(err.Error(), "no signature verifies with "+otherPub) {
		t.Fatalf("a wrong key: %v", err)
	}
	t.Logf("wrong key: %v", err)

	// Unsigned: refused with a key, accepted without one.
	unsigned := "oci://" + reg.Host + "/controllers/unsigned:v1"
	if _, err := r.Push(ctx, []byte("\x00asm\x01\x00\x00\x00 unsigned"), unsigned, oci.PushOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = r.Resolve(ctx, unsigned, oci.ResolveOptions{PublicKey: pub})
	if err == nil || !strings.Contains(err.Error(), "unsigned") {
		t.Fatalf("unsigned with a key: %v", err)
	}
	t.Logf("unsigned: %v", err)
	if a, err := r.Resolve(ctx, unsigned, oci.ResolveOptions{}); err != nil || a.Verified {
		t.Fatalf("unsigned without a key: %+v, %v", a, err)
	}
	// Signing later (the sign command) makes it verify.
	if _, err := r.Sign(ctx, unsigned, key); err != nil {
		t.Fatal(err)
	}
	if a, err := newResolver(t, t.TempDir()).Resolve(ctx, unsigned, oci.ResolveOptions{PublicKey: pub}); err != nil || !a.Verified {
		t.Fatalf("signed afterwards: %+v, %v", a, err)
	}

	// The tag moves: resolved anew.
	moved, err := r.Push(ctx, []byte("\x00asm\x01\x00\x00\x00 version two"), ref, oci.PushOptions{SignKey: key})
	if err != nil {
		t.Fatal(err)
	}
	if a, err := r.Resolve(ctx, ref, oci.ResolveOptions{PublicKey: pub}); err != nil || a.Digest != moved.Digest || a.Digest == pushed.Digest {
		t.Fatalf("moved tag: %+v, %v", a, err)
	}

	// The registry goes down. A pinned digest still resolves, from the
	// cache alone, verified by the bundle cached with it.
	before := reg.Requests()
	reg.Down()
	if a, err := r.Resolve(ctx, byDigest, oci.ResolveOptions{PublicKey: pub}); err != nil || !a.Verified || a.Stale != nil {
		t.Fatalf("pinned, registry down: %+v, %v", a, err)
	}
	if n := reg.Requests(); n != before {
		t.Fatalf("a warm pinned start made %d requests", n-before)
	}
	// A tag: an error, unless stale is allowed (a start), which takes the
	// digest it had last.
	if _, err := r.Resolve(ctx, ref, oci.ResolveOptions{PublicKey: pub}); err == nil || !strings.Contains(err.Error(), "resolve the tag") {
		t.Fatalf("tag, registry down: %v", err)
	}
	a, err = r.Resolve(ctx, ref, oci.ResolveOptions{PublicKey: pub, AllowStale: true})
	if err != nil || a.Stale == nil || a.Digest != moved.Digest || !a.Verified {
		t.Fatalf("tag, registry down, stale allowed: %+v, %v", a, err)
	}
	// Offline resolution of something never pulled says so.
	if _, err := newResolver(t, t.TempDir()).Resolve(ctx, ref, oci.ResolveOptions{Offline: true}); err == nil || !strings.Contains(err.Error(), "never pulled") {
		t.Fatalf("offline, never pulled: %v", err)
	}
	reg.Up(t)
	if a, err := r.Resolve(ctx, ref, oci.ResolveOptions{PublicKey: pub}); err != nil || a.Stale != nil {
		t.Fatalf("registry back: %+v, %v", a, err)
	}
}

func TestManifestOnly(t *testing.T) {
	reg := testregistry.Start(t)
	ctx := context.Background()
	r := newResolver(t, t.TempDir())
	ref := "oci://" + reg.Host + "/m:v1"
	if _, err := r.Push(ctx, []byte("\x00asm"), ref, oci.PushOptions{Annotations: map[string]string{oci.AnnotationFor: "apps/v1 ReplicaSet"}}); err != nil {
		t.Fatal(err)
	}
	a, err := r.Manifest(ctx, ref, oci.ResolveOptions{})
	if err != nil || a.Path != "" || a.Annotations[oci.AnnotationFor] != "apps/v1 ReplicaSet" {
		t.Fatalf("%+v, %v", a, err)
	}
	if _, err := os.Stat(filepath.Join(r.CacheDir(), "sha256", strings.TrimPrefix(a.WasmDigest, "sha256:"))); !os.IsNotExist(err) {
		t.Fatalf("Manifest pulled the module: %v", err)
	}
}
