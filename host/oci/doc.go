// Package oci fetches plugins from OCI registries: a configuration's
// `plugin: oci://HOST/REPO:TAG` (or `@sha256:...`) becomes a local .wasm file
// and the digest it was pulled at.
//
// Artifacts follow the CNCF TAG Runtime Wasm working group's "Wasm OCI
// Artifact layout": an OCI image manifest whose config has media type
// application/vnd.wasm.config.v0+json and whose one layer is the module, of
// media type application/wasm. Push adds annotations taken from the plugin's
// describe manifest (name, version, for, owns, permissions, and the whole
// manifest) so that `rbac` can work from the manifest alone.
//
// Signatures are cosign's "new bundle format": a Sigstore bundle (v0.3, a
// DSSE envelope around an in-toto statement whose subject is the manifest
// digest and whose predicate type is https://sigstore.dev/cosign/sign/v1)
// attached to the artifact as an OCI referrer. That is the layout
// sigstore-go verifies offline with a public key; the classic
// `sha256-<digest>.sig` tag would need cosign's own verifier.
//
// Everything pulled is cached on disk by digest (Options.CacheDir):
// blobs under sha256/<hex>, and the last digest a tag resolved to under
// tags/, so a reference pinned by digest starts with no network at all and a
// tag whose registry is down starts from the digest it had last
// (Artifact.Stale says so). Nothing enters the cache unverified.
//
// The package knows nothing of the host's configuration: host/config maps
// its keys to Options and ResolveOptions.
package oci
