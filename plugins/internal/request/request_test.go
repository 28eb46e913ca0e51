package request

import (
	"strings"
	"testing"

	"github.com/valyala/fastjson"
)

func TestParse(t *testing.T) {
	var p fastjson.Parser
	r, err := Parse(&p, []byte(`{"apiVersion":"wasmctl.dev/v1alpha1","kind":"ReconcileRequest","now":"2026-12-07T10:00:00.5Z",
		"object":{"metadata":{"name":"a"}},"children":[{"a":1},{"a":2}],"related":{"pods":[{"p":1}],"none":[]},
		"memo":{"k":"v"},"config":null,
		"lastError":{"op":"create","apiVersion":"apps/v1","kind":"ReplicaSet","name":"x","reason":"AlreadyExists","message":"m"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Now.Format("15:04:05.000"); got != "10:00:00.500" {
		t.Errorf("now %s", got)
	}
	if string(r.Object.GetStringBytes("metadata", "name")) != "a" || len(r.Children) != 2 || r.Orphans != nil {
		t.Errorf("object/children/orphans: %s %d %d", r.Object, len(r.Children), len(r.Orphans))
	}
	if len(r.Related) != 2 || len(r.Related["pods"]) != 1 {
		t.Errorf("related %v", r.Related)
	}
	if string(r.Memo) != `{"k":"v"}` || r.Config != nil {
		t.Errorf("memo %s config %s", r.Memo, r.Config)
	}
	if le := r.LastError; le == nil || le.Op != "create" || le.Kind != "ReplicaSet" || le.Name != "x" || le.Reason != "AlreadyExists" || le.Message != "m" {
		t.Errorf("lastError %+v", r.LastError)
	}
}

func TestParseRefuses(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{`, "decode request"},
		{`{"apiVersion":"wasmctl.dev/v0","now":"2026-12-07T10:00:00Z","object":{}}`, `apiVersion "wasmctl.dev/v0"`},
		{`{"apiVersion":"wasmctl.dev/v1alpha1","now":"yesterday","object":{}}`, `now "yesterday"`},
		{`{"apiVersion":"wasmctl.dev/v1alpha1","now":"2026-12-07T10:00:00Z"}`, "no object"},
		{`{"apiVersion":"wasmctl.dev/v1alpha1","now":"2026-12-07T10:00:00Z","object":{},"lastError":{"op":1}}`, "lastError"},
	} {
		var p fastjson.Parser
		_, err := Parse(&p, []byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one saying %s", c.in, err, c.want)
		}
	}
}
