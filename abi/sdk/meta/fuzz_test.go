package meta_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8slabels "k8s.io/apimachinery/pkg/labels"

	"wasmctl.dev/wasmctl/abi/sdk/meta"
)

// FuzzParseTime holds ParseTime (its hand-written fast path included) to
// time.Parse(time.RFC3339), and Time's JSON to metav1.Time's.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{
		"2026-01-02T15:04:05Z", "2024-02-29T23:59:59Z", "2026-02-29T00:00:00Z", "0000-01-01T00:00:00Z",
		"9999-12-31T23:59:59Z", "2026-01-02T15:04:05.5Z", "2026-01-02T15:04:05+01:00", "2026-01-02T15:04:60Z",
		"2026-1-02T15:04:05Z", "2026-01-02t15:04:05z", "-001-01-01T00:00:00Z", "2026-01-02T15:04:05",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := meta.ParseTime(s)
		want, werr := time.Parse(time.RFC3339, s)
		if (err == nil) != (werr == nil) || err == nil && (!got.Equal(want) || got.Location() != time.UTC) {
			t.Fatalf("ParseTime(%q) = %v, %v; time.Parse %v, %v", s, got, err, want, werr)
		}
		in, _ := json.Marshal(s)
		var mt meta.Time
		var ut metav1.Time
		err, werr = json.Unmarshal(in, &mt), json.Unmarshal(in, &ut)
		if (err == nil) != (werr == nil) || err == nil && !mt.Equal(ut.Time) {
			t.Fatalf("Unmarshal(%s) = %v, %v; metav1 %v, %v", in, mt, err, ut, werr)
		}
		if err != nil {
			return
		}
		out, err := json.Marshal(mt)
		uout, werr := json.Marshal(ut)
		if string(out) != string(uout) || (err == nil) != (werr == nil) {
			t.Fatalf("Marshal = %s, %v; metav1 %s, %v", out, err, uout, werr)
		}
	})
}

// FuzzLabelSelectorAsSelector holds LabelSelectorAsSelector to metav1's on
// selectors decoded from the same JSON: the same errors, the same matches.
func FuzzLabelSelectorAsSelector(f *testing.F) {
	for _, s := range []struct{ sel, labels string }{
		{`null`, ``},
		{`{}`, `a=b`},
		{`{"matchLabels":{"app":"web"}}`, `app=web;x=y`},
		{`{"matchLabels":{"app":"web"},"matchExpressions":[{"key":"tier","operator":"In","values":["a","b"]}]}`, `app=web;tier=b`},
		{`{"matchExpressions":[{"key":"tier","operator":"NotIn","values":["a"]},{"key":"x","operator":"Exists"}]}`, `x`},
		{`{"matchExpressions":[{"key":"tier","operator":"DoesNotExist"}]}`, `tier`},
		{`{"matchExpressions":[{"key":"tier","operator":"In"}]}`, ``},
		{`{"matchExpressions":[{"key":"tier","operator":"Exists","values":["a"]}]}`, ``},
		{`{"matchExpressions":[{"key":"tier","operator":"Gt","values":["1"]}]}`, `tier=2`},
		{`{"matchLabels":{"a b":"c"}}`, ``},
		{`{"matchLabels":{"example.com/a":""}}`, `example.com/a`},
	} {
		f.Add(s.sel, s.labels)
	}
	f.Fuzz(func(t *testing.T, sel, set string) {
		var ours *meta.LabelSelector
		var theirs *metav1.LabelSelector
		if json.Unmarshal([]byte(sel), &ours) != nil || json.Unmarshal([]byte(sel), &theirs) != nil {
			return
		}
		got, err := meta.LabelSelectorAsSelector(ours)
		want, werr := metav1.LabelSelectorAsSelector(theirs)
		if (err == nil) != (werr == nil) {
			t.Fatalf("%s: err %v, metav1 %v", sel, err, werr)
		}
		if err != nil {
			return
		}
		ls := map[string]string{}
		for _, kv := range strings.Split(set, ";") {
			if kv != "" {
				k, v, _ := strings.Cut(kv, "=")
				ls[k] = v
			}
		}
		if g, w := got.Matches(ls), want.Matches(k8slabels.Set(ls)); g != w {
			t.Fatalf("%s matches %v: %v, metav1 %v", sel, ls, g, w)
		}
		if g, w := got.Empty(), want.Empty(); g != w {
			t.Fatalf("%s: Empty %v, metav1 %v", sel, g, w)
		}
	})
}
