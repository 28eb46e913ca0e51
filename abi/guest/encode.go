package guest

import (
	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/abi/sdk/jsonwrite"
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
		b = jsonwrite.AppendString(b, resp.APIVersion)
	}
	if resp.Kind != "" {
		field("kind")
		b = jsonwrite.AppendString(b, resp.Kind)
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
		b = jsonwrite.AppendFloat(b, resp.RequeueAfterSeconds)
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
	b = jsonwrite.AppendString(b, string(a.Op))
	b = append(b, `,"object":`...)
	b = appendRaw(b, a.Object)
	if a.PatchType != "" {
		b = append(b, `,"patchType":`...)
		b = jsonwrite.AppendString(b, string(a.PatchType))
	}
	if len(a.Patch) > 0 {
		b = append(b, `,"patch":`...)
		b = append(b, a.Patch...)
	}
	if a.Subresource != "" {
		b = append(b, `,"subresource":`...)
		b = jsonwrite.AppendString(b, a.Subresource)
	}
	if a.PropagationPolicy != "" {
		b = append(b, `,"propagationPolicy":`...)
		b = jsonwrite.AppendString(b, a.PropagationPolicy)
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
		b = jsonwrite.AppendString(b, string(e.Type))
		b = append(b, `,"reason":`...)
		b = jsonwrite.AppendString(b, e.Reason)
		b = append(b, `,"message":`...)
		b = jsonwrite.AppendString(b, e.Message)
		if e.AfterApply {
			b = append(b, `,"afterApply":true`...)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}
