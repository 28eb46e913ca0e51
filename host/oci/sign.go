package oci

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"google.golang.org/protobuf/encoding/protojson"
)

// Cosign's new bundle format, attached as an OCI referrer.
const (
	// MediaTypeBundle is the Sigstore bundle v0.3: the signature
	// manifest's artifactType and its one layer's media type.
	MediaTypeBundle = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// PredicateCosignSign is the in-toto predicate type of cosign's image
	// signature (cosign v3, --new-bundle-format). Only this one counts:
	// an attestation (an SBOM, provenance) signed by the same key is no
	// signature of the plugin.
	PredicateCosignSign = "https://sigstore.dev/cosign/sign/v1"
	payloadTypeInToto   = "application/vnd.in-toto+json"
	inTotoStatementV1   = "https://in-toto.io/Statement/v1"
)

// PasswordEnv names the environment variable with the password of an
// encrypted cosign key, as cosign reads it.
const PasswordEnv = "COSIGN_PASSWORD"

// LoadPrivateKey reads a signing key: cosign's encrypted format
// ("ENCRYPTED SIGSTORE PRIVATE KEY", from cosign generate-key-pair; also
// the older "ENCRYPTED COSIGN PRIVATE KEY"), decrypted with password, or an
// unencrypted PKCS#8 ("PRIVATE KEY") or SEC 1 ("EC PRIVATE KEY") PEM.
func LoadPrivateKey(path string, password []byte) (crypto.Signer, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, fmt.Errorf("signing key %s: no PEM block", path)
	}
	der := block.Bytes
	switch block.Type {
	case "ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY":
		if der, err = encrypted.Decrypt(block.Bytes, password); err != nil {
			return nil, fmt.Errorf("signing key %s: decrypt (password from $%s): %w", path, PasswordEnv, err)
		}
	case "PRIVATE KEY":
	case "EC PRIVATE KEY":
		k, err := x509.ParseECPrivateKey(der)
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", path, err)
		}
		return k, nil
	default:
		return nil, fmt.Errorf("signing key %s: PEM type %q: want a cosign key or a PKCS#8 private key", path, block.Type)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("signing key %s: %T cannot sign", path, k)
	}
	return s, nil
}

// EncryptPrivateKey writes key in cosign's encrypted PEM format (what
// cosign generate-key-pair writes), for tests and key generation.
func EncryptPrivateKey(key crypto.Signer, password []byte) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	enc, err := encrypted.Encrypt(der, password)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED SIGSTORE PRIVATE KEY", Bytes: enc}), nil
}

// keypair is sigstore-go's signing interface over a long-lived key.
type keypair struct {
	key     crypto.Signer
	details signature.AlgorithmDetails
	hint    []byte
}

func newKeypair(key crypto.Signer) (*keypair, error) {
	details, err := signature.GetDefaultAlgorithmDetails(key.Public())
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	return &keypair{key: key, details: details, hint: []byte(base64.StdEncoding.EncodeToString(sum[:]))}, nil
}

func (k *keypair) GetHashAlgorithm() protocommon.HashAlgorithm { return k.details.GetProtoHashType() }
func (k *keypair) GetSigningAlgorithm() protocommon.PublicKeyDetails {
	return k.details.GetSignatureAlgorithm()
}
func (k *keypair) GetHint() []byte                { return k.hint }
func (k *keypair) GetKeyAlgorithm() string        { return "" }
func (k *keypair) GetPublicKey() crypto.PublicKey { return k.key.Public() }
func (k *keypair) GetPublicKeyPem() (string, error) {
	b, err := cryptoutils.MarshalPublicKeyToPEM(k.key.Public())
	return string(b), err
}
func (k *keypair) SignData(_ context.Context, data []byte) ([]byte, []byte, error) {
	h := k.details.GetHashType()
	toSign := data
	if h != crypto.Hash(0) {
		hh := h.New()
		hh.Write(data)
		toSign = hh.Sum(nil)
	}
	sig, err := k.key.Sign(nil, toSign, h)
	return sig, toSign, err
}

type statement struct {
	Type          string            `json:"_type"`
	Subject       []statementDigest `json:"subject"`
	PredicateType string            `json:"predicateType"`
	Predicate     map[string]any    `json:"predicate"`
}

type statementDigest struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// signBundle makes cosign's image signature over a manifest digest: a
// DSSE-wrapped in-toto statement, no transparency log entry, no timestamp
// (key-based and offline, as cosign sign --tlog-upload=false).
func signBundle(name string, d digest.Digest, key crypto.Signer) ([]byte, error) {
	kp, err := newKeypair(key)
	if err != nil {
		return nil, err
	}
	payload, err := json.Marshal(statement{
		Type:          inTotoStatementV1,
		Subject:       []statementDigest{{Name: name, Digest: map[string]string{d.Algorithm().String(): d.Encoded()}}},
		PredicateType: PredicateCosignSign,
		Predicate:     map[string]any{},
	})
	if err != nil {
		return nil, err
	}
	b, err := sign.Bundle(&sign.DSSEData{Data: payload, PayloadType: payloadTypeInToto}, kp, sign.BundleOptions{})
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return protojson.Marshal(b)
}

// verifier checks bundles against one public key.
type verifier struct {
	path string
	v    *verify.Verifier
}

func loadVerifier(path string) (*verifier, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(raw)
	if err != nil {
		return nil, fmt.Errorf("public key %s: %w", path, err)
	}
	sv, err := signature.LoadDefaultVerifier(pub)
	if err != nil {
		return nil, fmt.Errorf("public key %s: %w", path, err)
	}
	// Any key hint names this key: the configuration says which key to
	// trust, a bundle's hint is only a hint.
	key := root.NewExpiringKey(sv, time.Time{}, time.Time{})
	tm := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) { return key, nil })
	// No transparency log and no timestamp authority can be reached from
	// here, and a long-lived key needs neither: the signature alone.
	v, err := verify.NewVerifier(tm, verify.WithNoObserverTimestamps())
	if err != nil {
		return nil, err
	}
	return &verifier{path: path, v: v}, nil
}

func (v *verifier) verify(raw []byte, ref Reference, d digest.Digest) error {
	var b bundle.Bundle
	if err := b.UnmarshalJSON(raw); err != nil {
		return fmt.Errorf("not a sigstore bundle: %w", err)
	}
	sum, err := hex.DecodeString(d.Encoded())
	if err != nil {
		return err
	}
	res, err := v.v.Verify(&b, verify.NewPolicy(verify.WithArtifactDigest(d.Algorithm().String(), sum), verify.WithKey()))
	if err != nil {
		return fmt.Errorf("does not verify: %w", err)
	}
	if res.Statement != nil && res.Statement.GetPredicateType() != PredicateCosignSign {
		return fmt.Errorf("a %s attestation, not a signature (%s)", res.Statement.GetPredicateType(), PredicateCosignSign)
	}
	return nil
}

// Sign signs the artifact ref names (resolved to its digest first) with
// key and attaches the bundle as a referrer. It returns the digest signed.
func (r *Resolver) Sign(ctx context.Context, s string, key crypto.Signer) (string, error) {
	ref, err := ParseReference(s)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, r.o.Timeout)
	defer cancel()
	repo, err := r.repository(ref)
	if err != nil {
		return "", step(ref, "sign", err)
	}
	desc, err := repo.Resolve(ctx, ref.orasRef())
	if err != nil {
		return "", step(ref, "resolve", err)
	}
	if err := r.attachSignature(ctx, repo, ref, desc, key); err != nil {
		return "", step(ref.At(desc.Digest.String()), "sign", err)
	}
	return desc.Digest.String(), nil
}

func (r *Resolver) attachSignature(ctx context.Context, repo interface {
	pushStore
}, ref Reference, subject ocispec.Descriptor, key crypto.Signer) error {
	b, err := signBundle(ref.Name(), subject.Digest, key)
	if err != nil {
		return err
	}
	layer, err := pushBlob(ctx, repo, MediaTypeBundle, b)
	if err != nil {
		return fmt.Errorf("push the bundle: %w", err)
	}
	layer.Annotations = map[string]string{ocispec.AnnotationTitle: subject.Digest.Algorithm().String() + "-" + subject.Digest.Encoded() + ".sigstore.json"}
	empty, err := pushBlob(ctx, repo, ocispec.MediaTypeEmptyJSON, ocispec.DescriptorEmptyJSON.Data)
	if err != nil {
		return fmt.Errorf("push the empty config: %w", err)
	}
	m := ocispec.Manifest{
		Versioned:    specsVersioned,
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: MediaTypeBundle,
		Config:       empty,
		Layers:       []ocispec.Descriptor{layer},
		Subject:      &ocispec.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size},
		Annotations: map[string]string{
			"dev.sigstore.bundle.content":       "dsse-envelope",
			"dev.sigstore.bundle.predicateType": PredicateCosignSign,
			ocispec.AnnotationCreated:           time.Now().UTC().Format(time.RFC3339),
		},
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	// The registry indexes it by subject (referrers API), or oras
	// maintains the sha256-<digest> referrers tag where it cannot.
	if _, err := pushManifest(ctx, repo, raw, ""); err != nil {
		return fmt.Errorf("push the signature manifest: %w", err)
	}
	return nil
}
