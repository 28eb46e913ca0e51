package meta

import (
	"encoding/json"
	"time"
)

// Time is a metav1.Time: a time.Time that goes on the wire as the API
// server writes it, RFC 3339 in UTC to the second ("2026-01-02T15:04:05Z"),
// and null when zero. Use it for the timestamps of the objects a plugin
// decodes and writes.
//
// Unlike metav1.Time, which converts what it reads to the local zone, Time
// reads into UTC, so native tests and the plugin (whose local zone is UTC)
// see the same values.
type Time struct {
	time.Time
}

// NewTime wraps t.
func NewTime(t time.Time) Time { return Time{t} }

// MarshalJSON writes t as FormatTime does, in quotes, or null for the zero
// time.
func (t Time) MarshalJSON() ([]byte, error) {
	return t.AppendJSON(make([]byte, 0, len(time.RFC3339)+2)), nil
}

// AppendJSON appends what MarshalJSON writes to b, for plugins that write
// their objects by appending (abi/sdk/jsonwrite).
func (t Time) AppendJSON(b []byte) []byte {
	if t.IsZero() {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339)
	return append(b, '"')
}

// UnmarshalJSON reads null (the zero time) or a JSON string that ParseTime
// accepts.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if n := len(b); n >= 2 && b[0] == '"' && b[n-1] == '"' && plain(b[1:n-1]) {
		s = string(b[1 : n-1]) // the usual case, without a JSON decoder
	} else if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	parsed, err := ParseTime(s)
	if err != nil {
		return err
	}
	t.Time = parsed
	return nil
}

// plain: no escapes or control bytes, so the JSON string is its bytes.
func plain(b []byte) bool {
	for _, c := range b {
		if c == '\\' || c == '"' || c < 0x20 {
			return false
		}
	}
	return true
}

// ParseTime parses s as metav1.Time does, time.Parse(time.RFC3339, s),
// and returns it in UTC. That layout also accepts fractional seconds, so it
// reads a request's now (RFC 3339 with nanoseconds) as well. The form the
// API server writes, "2006-01-02T15:04:05Z", is parsed without time.Parse,
// which is costly in a Wasm guest; anything else goes through time.Parse. A
// fuzz test holds the fast path to time.Parse's answers.
func ParseTime(s string) (time.Time, error) {
	if t, ok := parseUTCSeconds(s); ok {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// FormatTime formats t as metav1.Time goes on the wire: RFC 3339 in UTC,
// to the second (fractions are dropped, not rounded). The zero time is
// formatted like any other; MarshalJSON writes null for it instead.
func FormatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// parseUTCSeconds parses exactly "YYYY-MM-DDTHH:MM:SSZ", with the ranges
// time.Parse checks; ok is false for anything else.
func parseUTCSeconds(s string) (time.Time, bool) {
	if len(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z' {
		return time.Time{}, false
	}
	digits := func(i, j int) int {
		v := 0
		for _, c := range []byte(s[i:j]) {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	year, month, day := digits(0, 4), digits(5, 7), digits(8, 10)
	hour, minute, second := digits(11, 13), digits(14, 16), digits(17, 19)
	if year < 0 || month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59 {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, second, 0, time.UTC), true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
