package intstr_test

import (
	"encoding/json"
	"testing"

	k8sintstr "k8s.io/apimachinery/pkg/util/intstr"

	"wasmctl.dev/wasmctl/abi/sdk/intstr"
)

func TestGetScaledValueFromIntOrPercent(t *testing.T) {
	cases := []struct {
		json    string
		total   int
		roundUp bool
		want    int
		err     bool
	}{
		{`3`, 10, false, 3, false},
		{`-3`, 10, true, -3, false},
		{`"25%"`, 10, true, 3, false},
		{`"25%"`, 10, false, 2, false},
		{`"100%"`, 7, false, 7, false},
		{`"0%"`, 7, true, 0, false},
		{`"150%"`, 3, true, 5, false},
		{`"-25%"`, 10, true, -2, false},
		{`"-25%"`, 10, false, -3, false},
		{`"33%"`, 1000000, false, 330000, false},
		{`"25"`, 10, true, 0, true}, // a string must be a percentage
		{`"x%"`, 10, true, 0, true},
		{`"%"`, 10, true, 0, true},
		{`"25%%"`, 10, true, 0, true},
		{`" 25%"`, 10, true, 0, true},
	}
	for _, c := range cases {
		name := c.json
		if c.roundUp {
			name += " up"
		}
		t.Run(name, func(t *testing.T) {
			var v intstr.IntOrString
			if err := json.Unmarshal([]byte(c.json), &v); err != nil {
				t.Fatal(err)
			}
			got, err := intstr.GetScaledValueFromIntOrPercent(&v, c.total, c.roundUp)
			if got != c.want || (err != nil) != c.err {
				t.Fatalf("got %d, %v; want %d (error %v)", got, err, c.want, c.err)
			}
			var up k8sintstr.IntOrString
			if err := json.Unmarshal([]byte(c.json), &up); err != nil {
				t.Fatal(err)
			}
			ugot, uerr := k8sintstr.GetScaledValueFromIntOrPercent(&up, c.total, c.roundUp)
			if ugot != got || (uerr != nil) != (err != nil) {
				t.Fatalf("apimachinery: %d, %v", ugot, uerr)
			}
		})
	}
	if _, err := intstr.GetScaledValueFromIntOrPercent(nil, 1, true); err == nil {
		t.Fatal("nil: no error")
	}
}

func TestJSON(t *testing.T) {
	cases := []struct {
		in, out string
		want    intstr.IntOrString
		err     bool
	}{
		{`5`, `5`, intstr.FromInt32(5), false},
		{`"5"`, `"5"`, intstr.FromString("5"), false},
		{`"25%"`, `"25%"`, intstr.FromString("25%"), false},
		{`null`, `0`, intstr.IntOrString{}, false},
		{`1.5`, ``, intstr.IntOrString{}, true},
		{`1e2`, ``, intstr.IntOrString{}, true},
		{`2147483648`, ``, intstr.IntOrString{}, true},
		{`true`, ``, intstr.IntOrString{}, true},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			var v intstr.IntOrString
			err := json.Unmarshal([]byte(c.in), &v)
			if (err != nil) != c.err {
				t.Fatalf("err %v", err)
			}
			if err != nil {
				return
			}
			if v != c.want {
				t.Fatalf("%+v", v)
			}
			out, err := json.Marshal(v)
			if err != nil || string(out) != c.out {
				t.Fatalf("marshal %s %v", out, err)
			}
		})
	}
}

func TestParseAndString(t *testing.T) {
	cases := []struct {
		in       string
		want     intstr.IntOrString
		intValue int
	}{
		{"7", intstr.FromInt32(7), 7},
		{"-7", intstr.FromInt32(-7), -7},
		{"2147483648", intstr.FromString("2147483648"), 2147483648},
		{"25%", intstr.FromString("25%"), 0},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			v := intstr.Parse(c.in)
			if v != c.want || v.String() != c.in || v.IntValue() != c.intValue {
				t.Fatalf("%+v %q %d", v, v.String(), v.IntValue())
			}
			up := k8sintstr.Parse(c.in)
			if up.String() != v.String() || up.IntValue() != v.IntValue() {
				t.Fatalf("apimachinery %+v", up)
			}
		})
	}
	var nilV *intstr.IntOrString
	if nilV.String() != "<nil>" {
		t.Fatal("nil String")
	}
	def := intstr.FromString("25%")
	if intstr.ValueOrDefault(nil, def).StrVal != "25%" || intstr.ValueOrDefault(&cases[0].want, def).IntVal != 7 {
		t.Fatal("ValueOrDefault")
	}
}

// FuzzGetScaledValueFromIntOrPercent holds JSON decoding and scaling to
// apimachinery's.
func FuzzGetScaledValueFromIntOrPercent(f *testing.F) {
	for _, s := range []string{`5`, `"25%"`, `"-1%"`, `"x"`, `null`, `1.0`, `"2147483647%"`, `"9223372036854775807%"`, `"+5%"`, `"05%"`} {
		f.Add(s, 10, true)
		f.Add(s, 7, false)
	}
	f.Fuzz(func(t *testing.T, in string, total int, roundUp bool) {
		var v intstr.IntOrString
		var up k8sintstr.IntOrString
		err, uerr := json.Unmarshal([]byte(in), &v), json.Unmarshal([]byte(in), &up)
		if (err == nil) != (uerr == nil) {
			t.Fatalf("Unmarshal(%s): %v, apimachinery %v", in, err, uerr)
		}
		if err != nil {
			return
		}
		if int64(v.Type) != int64(up.Type) || v.IntVal != up.IntVal || v.StrVal != up.StrVal {
			t.Fatalf("Unmarshal(%s) = %+v, apimachinery %+v", in, v, up)
		}
		got, err := intstr.GetScaledValueFromIntOrPercent(&v, total, roundUp)
		want, uerr := k8sintstr.GetScaledValueFromIntOrPercent(&up, total, roundUp)
		if got != want || (err == nil) != (uerr == nil) {
			t.Fatalf("GetScaledValueFromIntOrPercent(%s, %d, %v) = %d, %v; apimachinery %d, %v", in, total, roundUp, got, err, want, uerr)
		}
		out, err := json.Marshal(v)
		uout, uerr := json.Marshal(up)
		if string(out) != string(uout) || (err == nil) != (uerr == nil) {
			t.Fatalf("Marshal = %s, apimachinery %s", out, uout)
		}
	})
}
