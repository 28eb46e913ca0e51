package labels_test

import (
	"strings"
	"testing"

	k8slabels "k8s.io/apimachinery/pkg/labels"

	"wasmctl.dev/wasmctl/abi/sdk/labels"
)

// labelSet reads "k=v;k2=v2;k3" (a key without "=" has the empty value).
func labelSet(s string) map[string]string {
	set := map[string]string{}
	for _, kv := range strings.Split(s, ";") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		set[k] = v
	}
	return set
}

// FuzzParse holds Parse to apimachinery's labels.Parse: the same inputs
// parse, the parsed selectors print the same and match the same labels.
func FuzzParse(f *testing.F) {
	seeds := []struct{ sel, labels string }{
		{"", ""},
		{"x=a,y=b,z=c", "x=a;y=b;z=c"},
		{"x!=a,y=b", "x=b;y=b"},
		{"x=,z= ", "x;z"},
		{"!x", "y=1"},
		{"x>1,z<5", "x=2;z=+4"},
		{"x in (abc,def),y notin (jkl),z", "x=abc;y=mno;z"},
		{"x notin (abc),y in (jkl,mno),z notin ()", "y=jkl"},
		{"x in (foo,,baz),y,z notin ()", "x=;y"},
		{"in in (in),notin notin (notin)", "in=in"},
		{"x=a||y=b", ""},
		{"x==a==b", ""},
		{"!x=a", ""},
		{"x<a", "x=1"},
		{"example.com/key=v", "example.com/key=v"},
		{"k\x00=v", "k"},
		{"a=b,\t\nc in(d)", "a=b;c=d"},
		{"x > 9223372036854775807", "x=9223372036854775807"},
		{"x < -1", "x=-2"},
		{"x in (a,)", "x="},
		{"a.b-c_d/e", "a.b-c_d/e"},
	}
	for _, s := range seeds {
		f.Add(s.sel, s.labels)
	}
	f.Fuzz(func(t *testing.T, sel, set string) {
		got, err := labels.Parse(sel)
		want, werr := k8slabels.Parse(sel)
		if (err == nil) != (werr == nil) {
			t.Fatalf("Parse(%q): err %v, apimachinery %v", sel, err, werr)
		}
		if err != nil {
			return
		}
		// Upstream sorts requirements with sort.Sort, stable only up to 12
		// of them (insertion sort): beyond, equal keys may print in another
		// order.
		if reqs, _ := got.Requirements(); len(reqs) <= 12 && got.String() != want.String() {
			t.Fatalf("Parse(%q).String() = %q, apimachinery %q", sel, got.String(), want.String())
		}
		if got.Empty() != want.Empty() {
			t.Fatalf("Parse(%q).Empty() = %v", sel, got.Empty())
		}
		ls := labelSet(set)
		if g, w := got.Matches(ls), want.Matches(k8slabels.Set(ls)); g != w {
			t.Fatalf("Parse(%q).Matches(%v) = %v, apimachinery %v", sel, ls, g, w)
		}
	})
}
