package labels_test

import (
	"strings"
	"testing"

	k8slabels "k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"

	"wasmctl.dev/wasmctl/abi/sdk/labels"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in   string
		want string // String() of the result; "ERR" for an error
	}{
		{"", ""},
		{"   ", ""},
		{"x", "x"},
		{"!x", "!x"},
		{"x=a", "x=a"},
		{"x==a", "x==a"},
		{"x!=a", "x!=a"},
		{"x = a , y == b", "x=a,y==b"},
		{"y=b,x=a", "x=a,y=b"},
		{"x=", "x="},
		{"x= ,z= ", "x=,z="},
		{"x>1", "x>1"},
		{"x<-1", "ERR"}, // ParseInt would take it, the label value check does not
		{"x>a", "ERR"},
		{"x>", "ERR"},
		{"x in (b,a,a)", "x in (a,b)"},
		{"x in(a)", "x in (a)"},
		{"x notin (a)", "x notin (a)"},
		{"x in ()", "x in ()"},
		{"x in (,)", "x in ()"},
		{"x in (a,)", "x in (,a)"},
		{"x in (,a)", "x in (,a)"},
		{"x in (a,,b)", "x in (,a,b)"},
		{"in in (in, notin)", "in in (in,notin)"},
		{"notin", "notin"},
		{"x=in", "x=in"},
		{"a.b/c-d_e", "a.b/c-d_e"},
		{"example.com/x=1", "example.com/x=1"},
		{"x in (a", "ERR"},
		{"x in a", "ERR"},
		{"x in (a b)", "ERR"},
		{"x,", "ERR"},
		{",x", "ERR"},
		{"x y", "ERR"},
		{"x=a=b", "ERR"},
		{"x==a==b", "ERR"},
		{"x=a||y=b", "ERR"},
		{"!x=a", "ERR"},
		{"!", "ERR"},
		{"!!x", "ERR"},
		{"x===a", "ERR"},
		{"x>=1", "ERR"},
		{"a b=c", "ERR"},
		{"-x", "ERR"},
		{"x-", "ERR"},
		{"Example.com/x", "ERR"}, // prefixes are lower case
		{"/x", "ERR"},
		{"a/b/c", "ERR"},
		{"x=-a", "ERR"},
		{"x=" + strings.Repeat("v", 63), "x=" + strings.Repeat("v", 63)},
		{"x=" + strings.Repeat("v", 64), "ERR"},
		{strings.Repeat("k", 64), "ERR"},
		{strings.Repeat("p", 253) + "/k", strings.Repeat("p", 253) + "/k"},
		{strings.Repeat("p", 254) + "/k", "ERR"},
		{"x\x00junk", "ERR"}, // a NUL after a word is skipped: "x junk"
		{"x=a\x00", "x=a"},
		{"\x00garbage", ""}, // a NUL where a token starts ends the input
		{"x=a, \x00", "ERR"},
		{"x=\x00b", "x=b"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			sel, err := labels.Parse(c.in)
			got := sel.String()
			if err != nil {
				got = "ERR"
				if !sel.MatchesNothing() {
					t.Fatal("an error returned a selector that matches something")
				}
			}
			if got != c.want {
				t.Fatalf("Parse(%q) = %q (err %v), want %q", c.in, got, err, c.want)
			}
			// The same answer as apimachinery's.
			up, uerr := k8slabels.Parse(c.in)
			if (err == nil) != (uerr == nil) || err == nil && up.String() != got {
				t.Fatalf("apimachinery: %v, %v", up, uerr)
			}
		})
	}
}

func TestMatches(t *testing.T) {
	set := map[string]string{"app": "web", "tier": "front", "n": "5", "plus": "+7", "empty": ""}
	cases := []struct {
		sel  string
		want bool
	}{
		{"", true},
		{"app", true},
		{"!app", false},
		{"missing", false},
		{"!missing", true},
		{"app=web", true},
		{"app==web", true},
		{"app=db", false},
		{"app!=db", true},
		{"missing!=x", true},
		{"app in (web,db)", true},
		{"app in (db)", false},
		{"missing in (x)", false},
		{"app notin (db)", true},
		{"app notin (web)", false},
		{"missing notin (x)", true},
		{"empty=", true},
		{"empty in ()", true},
		{"n>4", true},
		{"n>5", false},
		{"n<6", true},
		{"plus>6", true}, // the label is read by strconv.ParseInt
		{"app>1", false},
		{"missing<1", false},
		{"app=web,tier=front", true},
		{"app=web,tier=back", false},
	}
	for _, c := range cases {
		t.Run(c.sel, func(t *testing.T) {
			sel, err := labels.Parse(c.sel)
			if err != nil {
				t.Fatal(err)
			}
			if got := sel.Matches(set); got != c.want {
				t.Fatalf("Matches = %v", got)
			}
			lookup := func(k string) (string, bool) { v, ok := set[k]; return v, ok }
			if got := sel.MatchesFunc(lookup); got != c.want {
				t.Fatalf("MatchesFunc = %v", got)
			}
			up, _ := k8slabels.Parse(c.sel)
			if up.Matches(k8slabels.Set(set)) != c.want {
				t.Fatal("apimachinery disagrees")
			}
		})
	}
}

func TestEverythingNothing(t *testing.T) {
	cases := []struct {
		name                 string
		sel                  labels.Selector
		matches, empty, none bool
	}{
		{"zero", labels.Selector{}, true, true, false},
		{"Everything", labels.Everything(), true, true, false},
		{"Nothing", labels.Nothing(), false, false, true},
		{"Nothing.Add", labels.Nothing().Add(mustReq(t, "a", labels.Exists)), false, false, true},
		{"Everything.Add", labels.Everything().Add(mustReq(t, "a", labels.DoesNotExist)), true, false, false},
		{"SelectorFromSet(nil)", labels.SelectorFromSet(nil), true, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.sel.Matches(nil); got != c.matches {
				t.Errorf("Matches(nil) = %v", got)
			}
			if got := c.sel.Empty(); got != c.empty {
				t.Errorf("Empty = %v", got)
			}
			if got := c.sel.MatchesNothing(); got != c.none {
				t.Errorf("MatchesNothing = %v", got)
			}
		})
	}
	if got := labels.SelectorFromSet(map[string]string{"b": "2", "a": "1"}).String(); got != "a=1,b=2" {
		t.Errorf("SelectorFromSet: %q", got)
	}
}

func mustReq(t *testing.T, key string, op labels.Operator, values ...string) labels.Requirement {
	t.Helper()
	r, err := labels.NewRequirement(key, op, values)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestNewRequirement(t *testing.T) {
	cases := []struct {
		key    string
		op     labels.Operator
		values []string
		ok     bool
	}{
		{"a", labels.In, []string{"x", ""}, true},
		{"a", labels.In, nil, false},
		{"a", labels.NotIn, []string{}, false},
		{"a", labels.Equals, []string{"x"}, true},
		{"a", labels.Equals, []string{"x", "y"}, false},
		{"a", labels.DoubleEquals, nil, false},
		{"a", labels.NotEquals, []string{""}, true},
		{"a", labels.Exists, nil, true},
		{"a", labels.Exists, []string{"x"}, false},
		{"a", labels.DoesNotExist, []string{}, true},
		{"a", labels.GreaterThan, []string{"10"}, true},
		{"a", labels.GreaterThan, []string{"1.5"}, false},
		{"a", labels.LessThan, []string{"1", "2"}, false},
		{"a", "~", []string{"x"}, false},
		{"a b", labels.Exists, nil, false},
		{"a", labels.In, []string{"x y"}, false},
	}
	for _, c := range cases {
		t.Run(string(c.op)+" "+c.key+" "+strings.Join(c.values, ","), func(t *testing.T) {
			_, err := labels.NewRequirement(c.key, c.op, c.values)
			if (err == nil) != c.ok {
				t.Fatalf("err %v, want ok=%v", err, c.ok)
			}
			_, uerr := k8slabels.NewRequirement(c.key, selection.Operator(c.op), c.values)
			if (uerr == nil) != c.ok {
				t.Fatalf("apimachinery: %v", uerr)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		s          string
		key, value bool
	}{
		{"", false, true},
		{"a", true, true},
		{"A-b_c.D9", true, true},
		{"a-", false, false},
		{"_a", false, false},
		{"a/b", true, false},
		{"a.b-c/d", true, false},
		{"a..b/d", false, false},
		{"a-.b/d", false, false},
		{"A/b", false, false},
		{"a/", false, false},
		{"é", false, false},
	}
	for _, c := range cases {
		t.Run(c.s, func(t *testing.T) {
			if got := labels.ValidateKey(c.s) == nil; got != c.key {
				t.Errorf("ValidateKey: %v", got)
			}
			if got := labels.ValidateValue(c.s) == nil; got != c.value {
				t.Errorf("ValidateValue: %v", got)
			}
		})
	}
}

func TestAddSortsByKey(t *testing.T) {
	sel := labels.Everything().Add(mustReq(t, "b", labels.Exists), mustReq(t, "a", labels.In, "2", "1"))
	if got := sel.String(); got != "a in (1,2),b" {
		t.Fatalf("%q", got)
	}
	reqs, ok := sel.Requirements()
	if !ok || len(reqs) != 2 || reqs[0].Key() != "a" || reqs[0].Operator() != labels.In || strings.Join(reqs[0].Values(), ",") != "2,1" {
		t.Fatalf("%v %v", reqs, ok)
	}
}

// BenchmarkMatches: a ReplicaSet-sized selector against a pod's labels.
func BenchmarkMatches(b *testing.B) {
	sel, err := labels.Parse("app=web,tier in (front,back),!canary")
	if err != nil {
		b.Fatal(err)
	}
	set := map[string]string{"app": "web", "tier": "front", "pod-template-hash": "5d8f7c9b6"}
	b.Run("map", func(b *testing.B) {
		for b.Loop() {
			if !sel.Matches(set) {
				b.Fatal("no match")
			}
		}
	})
	type kv struct{ k, v string }
	list := []kv{{"app", "web"}, {"tier", "front"}, {"pod-template-hash", "5d8f7c9b6"}}
	b.Run("func", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !sel.MatchesFunc(func(k string) (string, bool) {
				for _, x := range list {
					if x.k == k {
						return x.v, true
					}
				}
				return "", false
			}) {
				b.Fatal("no match")
			}
		}
	})
}
