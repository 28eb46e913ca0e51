package oci

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"oras.land/oras-go/v2/registry"
)

// Scheme prefixes a plugin reference that names an OCI artifact.
const Scheme = "oci://"

// IsReference reports whether s names an OCI artifact (oci://...) rather
// than a file.
func IsReference(s string) bool { return strings.HasPrefix(s, Scheme) }

// Reference is a parsed oci://HOST/REPO:TAG or oci://HOST/REPO@sha256:HEX.
type Reference struct {
	// Registry is the host, with its port when it has one.
	Registry string
	// Repository is the path inside the registry.
	Repository string
	// Tag is empty for a reference pinned by digest alone.
	Tag string
	// Digest is empty for a tag; with both (REPO:TAG@DIGEST) the digest
	// wins and the tag is informative, as for container images.
	Digest string
}

// ParseReference parses an oci:// reference. A tag or a digest is
// required: there is no implicit "latest", so a config always says which
// version it runs.
func ParseReference(s string) (Reference, error) {
	if !IsReference(s) {
		return Reference{}, fmt.Errorf("%q: an OCI reference starts with %s", s, Scheme)
	}
	rest := strings.TrimPrefix(s, Scheme)
	var digest string
	if i := strings.Index(rest, "@"); i >= 0 {
		rest, digest = rest[:i], rest[i+1:]
	}
	slash := strings.Index(rest, "/")
	if slash <= 0 {
		return Reference{}, fmt.Errorf("%q: want %sHOST/REPOSITORY:TAG or %sHOST/REPOSITORY@sha256:DIGEST", s, Scheme, Scheme)
	}
	var tag string
	if i := strings.LastIndex(rest, ":"); i > slash {
		rest, tag = rest[:i], rest[i+1:]
	}
	if tag == "" && digest == "" {
		return Reference{}, fmt.Errorf("%q: name a tag (:v1.2) or a digest (@sha256:...): an untagged reference would run whatever \"latest\" is", s)
	}
	r := Reference{Registry: rest[:slash], Repository: rest[slash+1:], Tag: tag, Digest: digest}
	// oras validates each part by the distribution spec's grammar.
	check := registry.Reference{Registry: r.Registry, Repository: r.Repository, Reference: r.Tag}
	if digest != "" {
		check.Reference = digest
	}
	if err := check.Validate(); err != nil {
		return Reference{}, fmt.Errorf("%q: %w", s, unwrapInvalid(err))
	}
	if digest != "" && !strings.HasPrefix(digest, "sha256:") {
		return Reference{}, fmt.Errorf("%q: only sha256 digests are supported", s)
	}
	return r, nil
}

func unwrapInvalid(err error) error {
	// oras prefixes "invalid reference: "; keep its reason only.
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return errors.New(msg[i+2:])
	}
	return err
}

// Pinned reports whether the reference names a digest: its content can
// never change, so it is never polled.
func (r Reference) Pinned() bool { return r.Digest != "" }

// Name is HOST/REPO, the reference without tag or digest.
func (r Reference) Name() string { return r.Registry + "/" + r.Repository }

// String is the reference as written in a configuration.
func (r Reference) String() string {
	s := Scheme + r.Name()
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

// At returns the reference pinned to digest (the tag kept for reading).
func (r Reference) At(digest string) Reference {
	r.Digest = digest
	return r
}

// orasRef is what oras resolves: the digest when pinned, else the tag.
func (r Reference) orasRef() string {
	if r.Digest != "" {
		return r.Digest
	}
	return r.Tag
}

// isLoopback reports whether a registry host is on this machine (localhost,
// 127.0.0.0/8, ::1): plain HTTP is allowed there without configuration.
func isLoopback(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
