package labels

import "fmt"

// Label keys and values are checked by hand rather than with regexp: the
// rules are simple, a plugin built without regexp is smaller, and the
// checks cost a few nanoseconds per byte instead of a regexp compile at init
// plus a match.

const (
	maxNameLength      = 63  // the name part of a key, and a value
	maxPrefixLength    = 253 // a DNS-1123 subdomain
	errLabelCharacters = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
)

// ValidateKey reports whether key is a valid label key as apimachinery's
// content.IsLabelKey checks it: an optional DNS-1123 subdomain prefix (lower
// case alphanumerics, '-' and '.', at most 253 bytes) and '/', then a name of
// 1 to 63 bytes of alphanumerics, '-', '_' and '.' that starts and ends with
// an alphanumeric.
func ValidateKey(key string) error {
	name := key
	for i := 0; i < len(key); i++ {
		if key[i] != '/' {
			continue
		}
		prefix, rest := key[:i], key[i+1:]
		for j := 0; j < len(rest); j++ {
			if rest[j] == '/' {
				return fmt.Errorf("invalid label key %q: a valid label key is a name with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')", key)
			}
		}
		switch {
		case prefix == "":
			return fmt.Errorf("invalid label key %q: prefix part must be non-empty", key)
		case len(prefix) > maxPrefixLength:
			return fmt.Errorf("invalid label key %q: prefix part must be no more than %d bytes", key, maxPrefixLength)
		case !isDNS1123Subdomain(prefix):
			return fmt.Errorf("invalid label key %q: prefix part must be a lowercase RFC 1123 subdomain", key)
		}
		name = rest
		break
	}
	switch {
	case name == "":
		return fmt.Errorf("invalid label key %q: name part must be non-empty", key)
	case len(name) > maxNameLength:
		return fmt.Errorf("invalid label key %q: name part must be no more than %d bytes", key, maxNameLength)
	case !isLabelName(name):
		return fmt.Errorf("invalid label key %q: name part %s", key, errLabelCharacters)
	}
	return nil
}

// ValidateValue reports whether value is a valid label value as
// apimachinery's validation.IsValidLabelValue checks it: empty, or at most 63
// bytes of alphanumerics, '-', '_' and '.' that start and end with an
// alphanumeric.
func ValidateValue(value string) error {
	if len(value) > maxNameLength {
		return fmt.Errorf("invalid label value %q: must be no more than %d bytes", value, maxNameLength)
	}
	if value != "" && !isLabelName(value) {
		return fmt.Errorf("invalid label value %q: a valid label value must be an empty string or %s", value, errLabelCharacters)
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// isLabelName: ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9], length unchecked.
func isLabelName(s string) bool {
	if s == "" || !isAlnum(s[0]) || !isAlnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// isDNS1123Subdomain: dot-separated labels [a-z0-9]([-a-z0-9]*[a-z0-9])?,
// length unchecked.
func isDNS1123Subdomain(s string) bool {
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			c := s[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
			continue
		}
		// s[start:i] is one label.
		if i == start || s[start] == '-' || s[i-1] == '-' {
			return false
		}
		start = i + 1
	}
	return true
}
