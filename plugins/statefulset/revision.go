package statefulset

import (
	"bytes"
	"encoding/json"
	"hash/fnv"
	"strconv"
)

// revisionData is what upstream stores in a ControllerRevision of a
// StatefulSet: {"spec":{"template":{"$patch":"replace", ...template...}}},
// marshalled from a generic map by encoding/json, so keys are sorted at
// every level, the text is compact and <, > and & are escaped. The template
// comes from the API server already in its typed encoding, so decoding it
// into a map and marshalling it again gives upstream's bytes.
func revisionData(template json.RawMessage) ([]byte, error) {
	var t map[string]any
	if err := json.Unmarshal(template, &t); err != nil {
		return nil, err
	}
	if t == nil {
		t = map[string]any{}
	}
	t["$patch"] = "replace"
	return json.Marshal(map[string]any{"spec": map[string]any{"template": t}})
}

// revisionHash is history.HashControllerRevision with a non-nil collision
// count: 32-bit FNV-1 (not 1a) over the data and the decimal count, the
// decimal sum mapped to the safe alphabet of rand.SafeEncodeString.
func revisionHash(data []byte, collisionCount int32) string {
	h := fnv.New32()
	h.Write(data)
	h.Write([]byte(strconv.FormatInt(int64(collisionCount), 10)))
	return safeEncode(strconv.FormatUint(uint64(h.Sum32()), 10))
}

const alphanums = "bcdfghjklmnpqrstvwxz2456789"

func safeEncode(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = alphanums[int(c)%len(alphanums)]
	}
	return string(b)
}

// revisionName is history.ControllerRevisionName: the set's name cut to 223
// bytes, a dash, the hash.
func revisionName(set, hash string) string {
	if len(set) > 223 {
		set = set[:223]
	}
	return set + "-" + hash
}

// templateOf returns the pod template a revision stores (its data's
// spec.template without the $patch directive): upstream builds pods from
// the revision, not from the set.
func templateOf(data []byte) (map[string]any, error) {
	var d struct {
		Spec struct {
			Template map[string]any `json:"template"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, err
	}
	t := d.Spec.Template
	if t == nil {
		t = map[string]any{}
	}
	delete(t, "$patch")
	return t, nil
}

// legacyEqual is the part of upstream's semantic comparison of the latest
// revision that matters in practice: revisions written before Kubernetes
// 1.34 carry "creationTimestamp":null in the template metadata, which the
// API server no longer writes; without it they are the proposed bytes.
func legacyEqual(stored, proposed []byte) bool {
	const legacy = `"creationTimestamp":null`
	if !bytes.Contains(stored, []byte(legacy)) {
		return false
	}
	t, err := templateOf(stored)
	if err != nil {
		return false
	}
	if m, ok := t["metadata"].(map[string]any); ok {
		if v, ok := m["creationTimestamp"]; ok && v == nil {
			delete(m, "creationTimestamp")
		}
	}
	raw, err := json.Marshal(t)
	if err != nil {
		return false
	}
	again, err := revisionData(raw)
	return err == nil && bytes.Equal(again, proposed)
}
