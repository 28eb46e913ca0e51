package guest

import (
	"math"
	"strconv"
	"unicode/utf8"

	"wasmctl.dev/wasmctl/abi"
)

// appendResponse appends resp's JSON to b, as encoding/json writes it
// (field order, omitempty, string escaping, float form), but copies the
// actions' objects and patches and the memo verbatim instead of scanning
// them again: json.Marshal compacts and re-escapes every json.RawMessage it
// meets, which under wasm cost as much as marshalling the object in the
// first place (a Deployment's status write: 162 us to marshal, 187 us more
// for the response around it). The raw parts come from abi's Add helpers
// (json.Marshal output: compact, escaped); raw JSON a plugin builds itself
// goes out as it is, and the host's strict decoding refuses the whole
// response if it is not JSON.
func appendResponse(b []byte, resp *abi.ReconcileResponse) []byte {
	b = append(b, '{')
	first := true
	field := func(name string) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, '"', ':')
	}
	if resp.APIVersion != "" {
		field("apiVersion")
		b = appendString(b, resp.APIVersion)
	}
	if resp.Kind != "" {
		field("kind")
		b = appendString(b, resp.Kind)
	}
	if len(resp.Actions) > 0 {
		field("actions")
		b = append(b, '[')
		for i := range resp.Actions {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendAction(b, &resp.Actions[i])
		}
		b = append(b, ']')
	}
	if resp.RequeueAfterSeconds != 0 {
		field("requeueAfterSeconds")
		b = appendFloat(b, resp.RequeueAfterSeconds)
	}
	if len(resp.Events) > 0 {
		field("events")
		b = appendEvents(b, resp.Events)
	}
	if len(resp.Memo) > 0 {
		field("memo")
		b = append(b, resp.Memo...)
	}
	return append(b, '}')
}

func appendAction(b []byte, a *abi.Action) []byte {
	b = append(b, `{"op":`...)
	b = appendString(b, string(a.Op))
	b = append(b, `,"object":`...)
	b = appendRaw(b, a.Object)
	if a.PatchType != "" {
		b = append(b, `,"patchType":`...)
		b = appendString(b, string(a.PatchType))
	}
	if len(a.Patch) > 0 {
		b = append(b, `,"patch":`...)
		b = append(b, a.Patch...)
	}
	if a.Subresource != "" {
		b = append(b, `,"subresource":`...)
		b = appendString(b, a.Subresource)
	}
	if a.PropagationPolicy != "" {
		b = append(b, `,"propagationPolicy":`...)
		b = appendString(b, a.PropagationPolicy)
	}
	if len(a.OnSuccess) > 0 {
		b = append(b, `,"onSuccess":`...)
		b = appendEvents(b, a.OnSuccess)
	}
	if len(a.OnFailure) > 0 {
		b = append(b, `,"onFailure":`...)
		b = appendEvents(b, a.OnFailure)
	}
	return append(b, '}')
}

// appendRaw is a json.RawMessage that is not omitempty: null when empty.
func appendRaw(b, raw []byte) []byte {
	if len(raw) == 0 {
		return append(b, "null"...)
	}
	return append(b, raw...)
}

func appendEvents(b []byte, events []abi.Event) []byte {
	b = append(b, '[')
	for i, e := range events {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"type":`...)
		b = appendString(b, string(e.Type))
		b = append(b, `,"reason":`...)
		b = appendString(b, e.Reason)
		b = append(b, `,"message":`...)
		b = appendString(b, e.Message)
		if e.AfterApply {
			b = append(b, `,"afterApply":true`...)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

const hex = "0123456789abcdef"

// appendString quotes s as encoding/json does: HTML characters, U+2028 and
// U+2029 escaped, invalid UTF-8 replaced by U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendFloat writes a finite f as encoding/json writes a float64
// (reconcileJSON leaves the others to json.Marshal, which refuses them).
func appendFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9, as encoding/json does
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}
