//go:build !wasip1

package guest

// Natively there is no host to ask.
func config(string) (string, bool) { return "", false }
