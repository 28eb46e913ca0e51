package oci

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
	"oras.land/oras-go/v2/registry/remote/retry"
)

// Media types of the Wasm OCI artifact layout (CNCF TAG Runtime Wasm WG).
const (
	MediaTypeWasmConfig = "application/vnd.wasm.config.v0+json"
	MediaTypeWasm       = "application/wasm"
)

// Defaults.
const (
	// DefaultMaxWasmSize bounds a pulled module: a registry cannot fill
	// the disk or the memory of the host.
	DefaultMaxWasmSize = 256 << 20
	// DefaultTimeout bounds one Resolve or Push against a registry.
	DefaultTimeout = 2 * time.Minute
	// maxManifestSize is the distribution spec's limit of what a registry
	// must accept; anything larger is not a manifest we wrote.
	maxManifestSize = 4 << 20
	maxBundleSize   = 1 << 20
)

// Options configure a Resolver. The zero value works.
type Options struct {
	// CacheDir holds what was pulled, by digest. Default:
	// $XDG_CACHE_HOME/wasmctl/oci (os.UserCacheDir).
	CacheDir string
	// DockerConfig is a docker config file (auths, credsStore,
	// credHelpers) with registry credentials. Default:
	// $DOCKER_CONFIG/config.json, else ~/.docker/config.json; a missing
	// file means anonymous access.
	DockerConfig string
	// PlainHTTP lists registries (HOST or HOST:PORT) spoken to over plain
	// HTTP. Loopback registries (localhost, 127.0.0.0/8, ::1) always are;
	// every other one is HTTPS unless listed.
	PlainHTTP []string
	// HTTPClient makes the requests (default: oras's retrying client).
	HTTPClient *http.Client
	// MaxWasmSize bounds a module's size (default DefaultMaxWasmSize).
	MaxWasmSize int64
	// Timeout bounds one Resolve, Push or Sign (default DefaultTimeout).
	Timeout time.Duration
}

// ResolveOptions say how one reference is resolved.
type ResolveOptions struct {
	// PublicKey is a PEM public key file (cosign.pub). When set, the
	// artifact must carry a cosign bundle that verifies with it; when
	// empty nothing is verified.
	PublicKey string
	// Offline resolves from the cache alone: a tag to the digest it had
	// last, a digest only when its blobs are cached.
	Offline bool
	// AllowStale resolves a tag to the digest it had last when the
	// registry cannot be reached (Artifact.Stale holds why): what a start
	// wants, not a reload, which keeps the running plugin instead.
	AllowStale bool
}

// Artifact is a resolved reference.
type Artifact struct {
	// Ref is the reference as given.
	Ref Reference
	// Digest is the manifest's digest (sha256:...): what a tag moved to.
	Digest string
	// Path is the cached module. Empty from Manifest.
	Path string
	// WasmDigest is the module's digest (the layer's).
	WasmDigest string
	// Annotations are the manifest's.
	Annotations map[string]string
	// Verified is set when the signature verified with the public key.
	Verified bool
	// Stale is why the registry was not asked (the tag's cached digest was
	// used); nil when it was, or when the reference is pinned and cached.
	Stale error
}

// Resolver pulls, verifies, caches and pushes plugins. Safe for
// concurrent use.
type Resolver struct {
	o         Options
	authCache auth.Cache

	credOnce sync.Once
	creds    credentials.Store
	credErr  error
}

// New returns a Resolver. Nothing is read or created until used.
func New(o Options) (*Resolver, error) {
	if o.CacheDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("oci cache: no cache directory (set oci.cacheDir): %w", err)
		}
		o.CacheDir = filepath.Join(dir, "wasmctl", "oci")
	}
	if o.MaxWasmSize <= 0 {
		o.MaxWasmSize = DefaultMaxWasmSize
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.HTTPClient == nil {
		o.HTTPClient = retry.DefaultClient
	}
	return &Resolver{o: o, authCache: auth.NewCache()}, nil
}

// CacheDir is where blobs are kept.
func (r *Resolver) CacheDir() string { return r.o.CacheDir }

func (r *Resolver) credentials() (credentials.Store, error) {
	r.credOnce.Do(func() {
		if r.o.DockerConfig != "" {
			r.creds, r.credErr = credentials.NewStore(r.o.DockerConfig, credentials.StoreOptions{})
		} else {
			r.creds, r.credErr = credentials.NewStoreFromDocker(credentials.StoreOptions{})
		}
		if r.credErr != nil {
			r.credErr = fmt.Errorf("registry credentials (docker config %s): %w", r.o.DockerConfig, r.credErr)
		}
	})
	return r.creds, r.credErr
}

func (r *Resolver) repository(ref Reference) (*remote.Repository, error) {
	repo, err := remote.NewRepository(ref.Name())
	if err != nil {
		return nil, err
	}
	creds, err := r.credentials()
	if err != nil {
		return nil, err
	}
	// Where the registry has no referrers API, oras keeps the referrers
	// in a sha256-<digest> index tag and would delete the index it
	// replaces; many registries refuse deletes, and a dangling index costs
	// a few hundred bytes.
	repo.SkipReferrersGC = true
	repo.PlainHTTP = isLoopback(ref.Registry) || slices.Contains(r.o.PlainHTTP, ref.Registry)
	repo.Client = &auth.Client{Client: r.o.HTTPClient, Cache: r.authCache, Credential: credentials.Credential(creds)}
	return repo, nil
}

// step wraps a failure with the reference and the step it failed in, so
// a log line says what, where and why.
func step(ref Reference, what string, err error) error {
	return fmt.Errorf("%s: %s: %w", ref, what, err)
}

// Resolve turns ref into a cached module: the tag is resolved to a digest
// (unless pinned), the manifest checked to be a Wasm artifact, the
// signature verified (with o.PublicKey), and the module pulled unless
// cached. A pinned reference whose blobs and signature are cached touches
// no network.
func (r *Resolver) Resolve(ctx context.Context, ref string, o ResolveOptions) (*Artifact, error) {
	return r.resolve(ctx, ref, o, true)
}

// Manifest is Resolve without the module: the digest, the annotations and
// the verified signature (rbac reads permissions from the annotations).
func (r *Resolver) Manifest(ctx context.Context, ref string, o ResolveOptions) (*Artifact, error) {
	return r.resolve(ctx, ref, o, false)
}

func (r *Resolver) resolve(ctx context.Context, s string, o ResolveOptions, module bool) (*Artifact, error) {
	ref, err := ParseReference(s)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, r.o.Timeout)
	defer cancel()
	a := &Artifact{Ref: ref, Digest: ref.Digest}
	var repo *remote.Repository
	online := func() (*remote.Repository, error) {
		if o.Offline || a.Stale != nil {
			return nil, errors.New("not in the cache, and the registry is not asked (offline)")
		}
		if repo == nil {
			var rerr error
			if repo, rerr = r.repository(ref); rerr != nil {
				return nil, rerr
			}
		}
		return repo, nil
	}
	if a.Digest == "" {
		if o.Offline {
			if a.Digest, err = r.cachedTag(ref); err != nil {
				return nil, step(ref, "resolve the tag from the cache", err)
			}
		} else {
			rp, err := online()
			if err != nil {
				return nil, step(ref, "resolve the tag", err)
			}
			desc, err := rp.Resolve(ctx, ref.Tag)
			if err != nil {
				cached, cerr := r.cachedTag(ref)
				if !o.AllowStale || cerr != nil {
					return nil, step(ref, "resolve the tag", err)
				}
				a.Digest, a.Stale = cached, err
			} else {
				a.Digest = desc.Digest.String()
			}
		}
	}
	d, err := digest.Parse(a.Digest)
	if err != nil {
		return nil, step(ref, "digest", err)
	}
	raw, err := r.blob(ctx, d, ocispec.MediaTypeImageManifest, maxManifestSize, online, true)
	if err != nil {
		return nil, step(ref, "fetch the manifest "+a.Digest, err)
	}
	layer, annotations, err := checkManifest(raw)
	if err != nil {
		return nil, step(ref, "manifest "+a.Digest, err)
	}
	a.Annotations, a.WasmDigest = annotations, layer.Digest.String()
	if o.PublicKey != "" {
		if err := r.verify(ctx, ref, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: d, Size: int64(len(raw))}, o.PublicKey, online); err != nil {
			return nil, step(ref.At(a.Digest), "verify the signature", err)
		}
		a.Verified = true
	}
	if module {
		if layer.Size > r.o.MaxWasmSize {
			return nil, step(ref, "module", fmt.Errorf("%d bytes, more than the %d allowed", layer.Size, r.o.MaxWasmSize))
		}
		if _, err := r.blob(ctx, layer.Digest, MediaTypeWasm, layer.Size, online, false); err != nil {
			return nil, step(ref, "pull the module "+layer.Digest.String(), err)
		}
		a.Path = r.blobPath(layer.Digest)
	}
	// Only now, everything checked, is the manifest kept and the tag
	// recorded: a warm start trusts nothing it did not verify before.
	if err := r.put(d, raw); err != nil {
		return nil, step(ref, "cache", err)
	}
	if ref.Tag != "" && a.Stale == nil {
		if err := r.putTag(ref, a.Digest); err != nil {
			return nil, step(ref, "cache", err)
		}
	}
	return a, nil
}

// checkManifest accepts the Wasm OCI artifact layout: an image manifest,
// the wasm config media type, one application/wasm layer.
func checkManifest(raw []byte) (ocispec.Descriptor, map[string]string, error) {
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return ocispec.Descriptor{}, nil, fmt.Errorf("not a JSON image manifest: %w", err)
	}
	if m.MediaType != "" && m.MediaType != ocispec.MediaTypeImageManifest {
		return ocispec.Descriptor{}, nil, fmt.Errorf("media type %q: want an OCI image manifest (%s) of a Wasm artifact", m.MediaType, ocispec.MediaTypeImageManifest)
	}
	if m.Config.MediaType != MediaTypeWasmConfig {
		return ocispec.Descriptor{}, nil, fmt.Errorf("config media type %q: not a Wasm artifact (want %s; push it with wasmctl-host push)", m.Config.MediaType, MediaTypeWasmConfig)
	}
	if len(m.Layers) != 1 || m.Layers[0].MediaType != MediaTypeWasm {
		var types []string
		for _, l := range m.Layers {
			types = append(types, l.MediaType)
		}
		return ocispec.Descriptor{}, nil, fmt.Errorf("layers %v: a Wasm artifact has exactly one layer of media type %s", types, MediaTypeWasm)
	}
	return m.Layers[0], m.Annotations, nil
}

// blob returns a blob from the cache or, when online allows, from the
// registry, checking its digest. A manifest is fetched as a manifest and
// kept by the caller after its checks; other blobs are cached here.
func (r *Resolver) blob(ctx context.Context, d digest.Digest, mediaType string, limit int64, online func() (*remote.Repository, error), manifest bool) ([]byte, error) {
	if data, err := os.ReadFile(r.blobPath(d)); err == nil && digest.FromBytes(data) == d {
		return data, nil
	}
	repo, err := online()
	if err != nil {
		return nil, err
	}
	var rc io.ReadCloser
	if manifest {
		_, rc, err = repo.FetchReference(ctx, d.String())
	} else {
		rc, err = repo.Fetch(ctx, ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: limit})
	}
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	if got := digest.FromBytes(data); got != d {
		return nil, fmt.Errorf("content has digest %s, not %s: the registry sent something else", got, d)
	}
	if !manifest {
		if err := r.put(d, data); err != nil {
			return nil, err
		}
	}
	return data, nil
}

func (r *Resolver) blobPath(d digest.Digest) string {
	return filepath.Join(r.o.CacheDir, d.Algorithm().String(), d.Encoded())
}

// put writes a blob by digest, atomically (a crash leaves no half file
// under a digest's name).
func (r *Resolver) put(d digest.Digest, data []byte) error {
	return writeAtomic(r.blobPath(d), data)
}

func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func (r *Resolver) tagPath(ref Reference) string {
	safe := strings.NewReplacer(":", "_").Replace(ref.Name())
	return filepath.Join(r.o.CacheDir, "tags", safe, ref.Tag)
}

func (r *Resolver) cachedTag(ref Reference) (string, error) {
	b, err := os.ReadFile(r.tagPath(ref))
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("the tag was never pulled into %s", r.o.CacheDir)
	}
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

func (r *Resolver) putTag(ref Reference, d string) error {
	if cur, err := r.cachedTag(ref); err == nil && cur == d {
		return nil
	}
	return writeAtomic(r.tagPath(ref), []byte(d+"\n"))
}

// sigDir holds the bundles that verified for a manifest digest, so a warm
// start verifies offline.
func (r *Resolver) sigDir(d digest.Digest) string {
	return filepath.Join(r.o.CacheDir, "signatures", d.Algorithm().String()+"-"+d.Encoded())
}

func (r *Resolver) cachedBundles(d digest.Digest) [][]byte {
	entries, _ := os.ReadDir(r.sigDir(d))
	var out [][]byte
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if b, err := os.ReadFile(filepath.Join(r.sigDir(d), e.Name())); err == nil {
			out = append(out, b)
		}
	}
	return out
}

func (r *Resolver) putBundle(d digest.Digest, bundle []byte) error {
	sum := sha256.Sum256(bundle)
	return writeAtomic(filepath.Join(r.sigDir(d), hex.EncodeToString(sum[:])+".sigstore.json"), bundle)
}

// verify finds a bundle for desc that verifies with the key: a cached one
// first, else the registry's referrers of the bundle artifact type.
func (r *Resolver) verify(ctx context.Context, ref Reference, desc ocispec.Descriptor, keyPath string, online func() (*remote.Repository, error)) error {
	v, err := loadVerifier(keyPath)
	if err != nil {
		return err
	}
	for _, b := range r.cachedBundles(desc.Digest) {
		if v.verify(b, ref, desc.Digest) == nil {
			return nil
		}
	}
	repo, err := online()
	if err != nil {
		return fmt.Errorf("no cached signature verifies with %s, and the registry cannot be asked: %w", keyPath, err)
	}
	var refs []ocispec.Descriptor
	err = repo.Referrers(ctx, desc, MediaTypeBundle, func(page []ocispec.Descriptor) error {
		refs = append(refs, page...)
		return nil
	})
	if err != nil {
		return fmt.Errorf("list the signatures (referrers): %w", err)
	}
	if len(refs) == 0 {
		return fmt.Errorf("unsigned: no sigstore bundle (%s) refers to it; sign it with wasmctl-host push --sign-key or cosign sign --new-bundle-format (docs/PLUGINS.md)", MediaTypeBundle)
	}
	var reasons []string
	for _, sd := range refs {
		bundle, err := r.fetchBundle(ctx, repo, sd)
		if err == nil {
			if err = v.verify(bundle, ref, desc.Digest); err == nil {
				return r.putBundle(desc.Digest, bundle)
			}
		}
		reasons = append(reasons, fmt.Sprintf("%s: %v", sd.Digest, err))
	}
	return fmt.Errorf("no signature verifies with %s (%d tried): %s", keyPath, len(refs), strings.Join(reasons, "; "))
}

func (r *Resolver) fetchBundle(ctx context.Context, repo *remote.Repository, sd ocispec.Descriptor) ([]byte, error) {
	if sd.Size > maxManifestSize {
		return nil, fmt.Errorf("signature manifest of %d bytes", sd.Size)
	}
	rc, err := repo.Fetch(ctx, sd)
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(io.LimitReader(rc, maxManifestSize))
	rc.Close()
	if err != nil {
		return nil, err
	}
	if digest.FromBytes(raw) != sd.Digest {
		return nil, errors.New("signature manifest does not match its digest")
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	if len(m.Layers) != 1 || m.Layers[0].MediaType != MediaTypeBundle || m.Layers[0].Size > maxBundleSize {
		return nil, fmt.Errorf("signature manifest: want one %s layer of at most %d bytes", MediaTypeBundle, maxBundleSize)
	}
	brc, err := repo.Fetch(ctx, m.Layers[0])
	if err != nil {
		return nil, err
	}
	defer brc.Close()
	b, err := io.ReadAll(io.LimitReader(brc, maxBundleSize))
	if err != nil {
		return nil, err
	}
	if digest.FromBytes(b) != m.Layers[0].Digest {
		return nil, errors.New("bundle does not match its digest")
	}
	return bytes.TrimSpace(b), nil
}
