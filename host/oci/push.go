package oci

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

var specsVersioned = specs.Versioned{SchemaVersion: 2}

// Annotation keys push sets from a plugin's describe manifest.
const (
	AnnotationTitle   = ocispec.AnnotationTitle   // the manifest's name
	AnnotationVersion = ocispec.AnnotationVersion // push --version
	// AnnotationFor is "apiVersion Kind" of the primary kind.
	AnnotationFor = "dev.wasmctl.for"
	// AnnotationOwns is "apiVersion Kind" of each owned kind, comma-separated.
	AnnotationOwns = "dev.wasmctl.owns"
	// AnnotationPermissions is the manifest's permissions, as JSON.
	AnnotationPermissions = "dev.wasmctl.permissions"
	// AnnotationManifest is the whole describe manifest, as JSON: enough
	// for rbac and validate's manifest checks without pulling the module.
	AnnotationManifest = "dev.wasmctl.manifest"
)

// wasmConfig is the config blob of the Wasm OCI artifact layout. created
// is left out so that pushing the same module twice gives the same digest
// (a tag does not "move" to identical content).
type wasmConfig struct {
	Architecture string   `json:"architecture"`
	OS           string   `json:"os"`
	LayerDigests []string `json:"layerDigests"`
}

// PushOptions say what Push adds to the module.
type PushOptions struct {
	// Annotations of the manifest (see the Annotation* keys).
	Annotations map[string]string
	// SignKey, when set, signs the pushed manifest and attaches the
	// bundle as a referrer (cosign's new bundle format).
	SignKey crypto.Signer
}

type pushStore interface {
	Push(ctx context.Context, expected ocispec.Descriptor, content io.Reader) error
	PushReference(ctx context.Context, expected ocispec.Descriptor, content io.Reader, reference string) error
	Exists(ctx context.Context, target ocispec.Descriptor) (bool, error)
}

// Push uploads wasm to the tag ref names as a Wasm OCI artifact and
// returns it resolved (Path empty). Pushing to a digest is refused: the
// digest is what the push computes.
func (r *Resolver) Push(ctx context.Context, wasm []byte, s string, o PushOptions) (*Artifact, error) {
	ref, err := ParseReference(s)
	if err != nil {
		return nil, err
	}
	if ref.Pinned() {
		return nil, fmt.Errorf("%s: push to a tag; the digest is what the push computes", ref)
	}
	ctx, cancel := context.WithTimeout(ctx, r.o.Timeout)
	defer cancel()
	repo, err := r.repository(ref)
	if err != nil {
		return nil, step(ref, "push", err)
	}
	layer, err := pushBlob(ctx, repo, MediaTypeWasm, wasm)
	if err != nil {
		return nil, step(ref, "push the module", err)
	}
	cfg, _ := json.Marshal(wasmConfig{Architecture: "wasm", OS: "wasip1", LayerDigests: []string{layer.Digest.String()}})
	config, err := pushBlob(ctx, repo, MediaTypeWasmConfig, cfg)
	if err != nil {
		return nil, step(ref, "push the config", err)
	}
	m := ocispec.Manifest{
		Versioned:   specsVersioned,
		MediaType:   ocispec.MediaTypeImageManifest,
		Config:      config,
		Layers:      []ocispec.Descriptor{layer},
		Annotations: o.Annotations,
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	desc, err := pushManifest(ctx, repo, raw, ref.Tag)
	if err != nil {
		return nil, step(ref, "push the manifest", err)
	}
	a := &Artifact{Ref: ref, Digest: desc.Digest.String(), WasmDigest: layer.Digest.String(), Annotations: o.Annotations}
	if o.SignKey != nil {
		if err := r.attachSignature(ctx, repo, ref, desc, o.SignKey); err != nil {
			return nil, step(ref.At(a.Digest), "sign", err)
		}
	}
	return a, nil
}

func pushBlob(ctx context.Context, repo pushStore, mediaType string, data []byte) (ocispec.Descriptor, error) {
	desc := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}
	if ok, err := repo.Exists(ctx, desc); err == nil && ok {
		return desc, nil // content-addressed: already there
	}
	return desc, repo.Push(ctx, desc, bytes.NewReader(data))
}

// pushManifest pushes an image manifest, tagged when tag is set.
func pushManifest(ctx context.Context, repo pushStore, raw []byte, tag string) (ocispec.Descriptor, error) {
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(raw), Size: int64(len(raw))}
	if tag == "" {
		return desc, repo.Push(ctx, desc, bytes.NewReader(raw))
	}
	return desc, repo.PushReference(ctx, desc, bytes.NewReader(raw), tag)
}

// Errors a caller may test for.
var (
	// ErrNotWasm: the manifest is not of the Wasm OCI artifact layout.
	ErrNotWasm = errors.New("not a Wasm artifact")
)
