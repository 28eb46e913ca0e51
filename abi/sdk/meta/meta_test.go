package meta_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8slabels "k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stypes "k8s.io/apimachinery/pkg/types"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/abi/sdk/meta"
)

func TestParseTime(t *testing.T) {
	cases := []struct {
		in   string
		want time.Time // zero: an error
	}{
		{"2026-01-02T15:04:05Z", time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)},
		{"2024-02-29T00:00:00Z", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{"2026-11-25T12:00:00.123456789Z", time.Date(2026, 11, 25, 12, 0, 0, 123456789, time.UTC)}, // a request's now
		{"2026-01-02T16:04:05+01:00", time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)},
		{"0000-01-01T00:00:00Z", time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"2026-02-29T00:00:00Z", time.Time{}},
		{"1900-02-29T00:00:00Z", time.Time{}},
		{"2026-04-31T00:00:00Z", time.Time{}},
		{"2026-13-01T00:00:00Z", time.Time{}},
		{"2026-01-01T24:00:00Z", time.Time{}},
		{"2026-01-01T00:60:00Z", time.Time{}},
		{"2026-01-01T00:00:60Z", time.Time{}},
		{"2026-01-01 00:00:00Z", time.Time{}},
		{"2026-01-01T00:00:00", time.Time{}},
		{"", time.Time{}},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := meta.ParseTime(c.in)
			if c.want.IsZero() {
				if err == nil {
					t.Fatalf("no error, got %v", got)
				}
				return
			}
			if err != nil || !got.Equal(c.want) || got.Location() != time.UTC {
				t.Fatalf("got %v (%v), want %v", got, err, c.want)
			}
		})
	}
}

func TestTimeJSON(t *testing.T) {
	cases := []struct {
		name string
		in   meta.Time
		want string
	}{
		{"zero is null", meta.Time{}, `null`},
		{"UTC to the second", meta.NewTime(time.Date(2026, 1, 2, 15, 4, 5, 999999999, time.UTC)), `"2026-01-02T15:04:05Z"`},
		{"other zones in UTC", meta.NewTime(time.Date(2026, 1, 2, 16, 4, 5, 0, time.FixedZone("x", 3600))), `"2026-01-02T15:04:05Z"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := json.Marshal(c.in)
			if err != nil || string(got) != c.want {
				t.Fatalf("%s %v, want %s", got, err, c.want)
			}
			up, _ := json.Marshal(metav1.NewTime(c.in.Time))
			if string(up) != c.want {
				t.Fatalf("metav1 writes %s", up)
			}
			var back meta.Time
			if err := json.Unmarshal(got, &back); err != nil || !back.Equal(c.in.Truncate(time.Second)) {
				t.Fatalf("round trip %v %v", back, err)
			}
		})
	}
	for _, in := range []string{`"x"`, `1`, `"2026-01-02T15:04:05"`} {
		var tm meta.Time
		if err := json.Unmarshal([]byte(in), &tm); err == nil {
			t.Errorf("%s: no error", in)
		}
	}
	var tm meta.Time
	if err := json.Unmarshal([]byte(`"2026\u002d01-02T15:04:05Z"`), &tm); err != nil || tm.Year() != 2026 {
		t.Errorf("escaped string: %v %v", tm, err)
	}
	if got := meta.FormatTime(time.Date(2026, 1, 2, 16, 4, 5, 5e8, time.FixedZone("x", 3600))); got != "2026-01-02T15:04:05Z" {
		t.Errorf("FormatTime %s", got)
	}
}

func TestOwnerReferences(t *testing.T) {
	owner := abi.ObjectRef{APIVersion: "apps/v1", Kind: "ReplicaSet", Namespace: "ns", Name: "web", UID: "rs-1"}
	ref := meta.NewControllerRef(owner)
	got, _ := json.Marshal(ref)
	up, _ := json.Marshal(metav1.NewControllerRef(&metav1.ObjectMeta{Name: "web", UID: "rs-1"}, schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"}))
	if string(got) != string(up) {
		t.Fatalf("NewControllerRef %s, metav1 %s", got, up)
	}
	yes, no := true, false
	cases := []struct {
		name    string
		refs    []meta.OwnerReference
		want    string // the controller's UID, "" for none
		byRS1   bool
		isFirst bool
	}{
		{"none", nil, "", false, false},
		{"not a controller", []meta.OwnerReference{{UID: "a"}, {UID: "b", Controller: &no}}, "", false, false},
		{"the controller", []meta.OwnerReference{{UID: "a"}, ref}, "rs-1", true, false},
		{"the first controller counts", []meta.OwnerReference{{UID: "x", Controller: &yes}, ref}, "x", false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := meta.GetControllerOf(c.refs)
			if (got == nil) != (c.want == "") || got != nil && got.UID != c.want {
				t.Fatalf("GetControllerOf = %+v", got)
			}
			if meta.IsControlledBy(c.refs, "rs-1") != c.byRS1 {
				t.Fatalf("IsControlledBy(rs-1) = %v", !c.byRS1)
			}
			if got != nil {
				*got.Controller = false // a copy
				if !meta.GetControllerOf(c.refs).IsController() {
					t.Fatal("GetControllerOf shares Controller with refs")
				}
			}
		})
	}
	m := meta.ObjectMeta{OwnerReferences: []meta.OwnerReference{ref}}
	if m.ControllerRef().Name != "web" || m.Deleting() {
		t.Fatal("ObjectMeta helpers")
	}
}

func TestLabelSelectorAsSelector(t *testing.T) {
	cases := []struct {
		name    string
		sel     *meta.LabelSelector
		labels  map[string]string
		matches bool
		err     bool
	}{
		{"nil matches nothing", nil, map[string]string{}, false, false},
		{"empty matches everything", &meta.LabelSelector{}, nil, true, false},
		{"empty map matches everything", &meta.LabelSelector{MatchLabels: map[string]string{}}, nil, true, false},
		{"matchLabels", &meta.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, map[string]string{"app": "web", "x": "y"}, true, false},
		{"matchLabels mismatch", &meta.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, map[string]string{"app": "db"}, false, false},
		{"In", &meta.LabelSelector{MatchExpressions: []meta.LabelSelectorRequirement{{Key: "tier", Operator: "In", Values: []string{"a", "b"}}}}, map[string]string{"tier": "b"}, true, false},
		{"NotIn", &meta.LabelSelector{MatchExpressions: []meta.LabelSelectorRequirement{{Key: "tier", Operator: "NotIn", Values: []string{"a"}}}}, map[string]string{}, true, false},
		{"Exists", &meta.LabelSelector{MatchExpressions: []meta.LabelSelectorRequirement{{Key: "tier", Operator: "Exists"}}}, map[string]string{"tier": ""}, true, false},
		{"DoesNotExist", &meta.LabelSelector{MatchExpressions: []meta.LabelSelectorRequirement{{Key: "tier", Operator: "DoesNotExist"}}}, map[string]string{"tier": ""}, false, false},
		{"In without values", &meta.LabelSelector{MatchExpressions: []meta.LabelSelectorRequirement{{Key: "tier", Operator: "In"}}}, nil, false, true},
		{"Exists with values", &meta.LabelSelector{MatchExpressions: []meta.LabelSelectorRequirement{{Key: "tier", Operator: "Exists", Values: []string{"a"}}}}, nil, false, true},
		{"unknown operator", &meta.LabelSelector{MatchExpressions: []meta.LabelSelectorRequirement{{Key: "tier", Operator: "Gt", Values: []string{"1"}}}}, nil, false, true},
		{"lower-case operator", &meta.LabelSelector{MatchExpressions: []meta.LabelSelectorRequirement{{Key: "tier", Operator: "in", Values: []string{"1"}}}}, nil, false, true},
		{"invalid key", &meta.LabelSelector{MatchLabels: map[string]string{"a b": "c"}}, nil, false, true},
		{"invalid value", &meta.LabelSelector{MatchLabels: map[string]string{"a": "-c"}}, nil, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sel, err := meta.LabelSelectorAsSelector(c.sel)
			if (err != nil) != c.err || err != nil && !sel.MatchesNothing() {
				t.Fatalf("err %v, selector %v", err, sel)
			}
			up, uerr := metav1.LabelSelectorAsSelector(toMetav1(t, c.sel))
			if (uerr != nil) != c.err {
				t.Fatalf("metav1 err %v", uerr)
			}
			if err != nil {
				return
			}
			if got := sel.Matches(c.labels); got != c.matches || up.Matches(k8slabels.Set(c.labels)) != c.matches {
				t.Fatalf("Matches = %v, want %v", got, c.matches)
			}
		})
	}
}

func toMetav1(t testing.TB, sel *meta.LabelSelector) *metav1.LabelSelector {
	if sel == nil {
		return nil
	}
	b, err := json.Marshal(sel)
	if err != nil {
		t.Fatal(err)
	}
	var out metav1.LabelSelector
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

func TestConditions(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	earlier := meta.NewTime(now.Add(-time.Hour))
	given := meta.NewTime(now.Add(-time.Minute))
	ready := meta.Condition{Type: "Ready", Status: "False", Reason: "Init", Message: "m", LastTransitionTime: earlier}
	cases := []struct {
		name    string
		start   []meta.Condition
		set     meta.Condition
		want    []meta.Condition
		changed bool
	}{
		{"append with now", nil, meta.Condition{Type: "Ready", Status: "True"},
			[]meta.Condition{{Type: "Ready", Status: "True", LastTransitionTime: meta.NewTime(now)}}, true},
		{"append keeps a given time", nil, meta.Condition{Type: "Ready", Status: "True", LastTransitionTime: given},
			[]meta.Condition{{Type: "Ready", Status: "True", LastTransitionTime: given}}, true},
		{"same: no change", []meta.Condition{ready}, meta.Condition{Type: "Ready", Status: "False", Reason: "Init", Message: "m"},
			[]meta.Condition{ready}, false},
		{"status change: now", []meta.Condition{ready}, meta.Condition{Type: "Ready", Status: "True", Reason: "Up"},
			[]meta.Condition{{Type: "Ready", Status: "True", Reason: "Up", LastTransitionTime: meta.NewTime(now)}}, true},
		{"status change: the given time", []meta.Condition{ready}, meta.Condition{Type: "Ready", Status: "True", LastTransitionTime: given},
			[]meta.Condition{{Type: "Ready", Status: "True", LastTransitionTime: given}}, true},
		{"reason change keeps the time", []meta.Condition{ready}, meta.Condition{Type: "Ready", Status: "False", Reason: "Other", Message: "m", ObservedGeneration: 3, LastTransitionTime: given},
			[]meta.Condition{{Type: "Ready", Status: "False", Reason: "Other", Message: "m", ObservedGeneration: 3, LastTransitionTime: earlier}}, true},
		{"others stay in place", []meta.Condition{{Type: "A", Status: "True"}, ready, {Type: "B"}}, meta.Condition{Type: "Ready", Status: "True", LastTransitionTime: given},
			[]meta.Condition{{Type: "A", Status: "True"}, {Type: "Ready", Status: "True", LastTransitionTime: given}, {Type: "B"}}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := append([]meta.Condition(nil), c.start...)
			conds := start
			changed := meta.SetStatusCondition(&conds, c.set, now)
			if changed != c.changed || !reflect.DeepEqual(conds, c.want) {
				t.Fatalf("changed %v, %+v\nwant %v, %+v", changed, conds, c.changed, c.want)
			}
			if !reflect.DeepEqual(start, c.start) {
				t.Fatalf("the original slice was written to: %+v", start)
			}
			// apimachinery's answer, with the same clock where it uses
			// time.Now: compare all but a now-stamped time.
			up := toMetav1Conditions(c.start)
			upChanged := apimeta.SetStatusCondition(&up, metav1.Condition{
				Type: c.set.Type, Status: metav1.ConditionStatus(c.set.Status), Reason: c.set.Reason, Message: c.set.Message,
				ObservedGeneration: c.set.ObservedGeneration, LastTransitionTime: metav1.NewTime(c.set.LastTransitionTime.Time),
			})
			if upChanged != changed || len(up) != len(conds) {
				t.Fatalf("apimachinery: %v %+v", upChanged, up)
			}
			for i := range up {
				if lt := conds[i].LastTransitionTime; !lt.Equal(now) && !up[i].LastTransitionTime.Time.Equal(lt.Time) {
					t.Fatalf("apimachinery time %v, got %v", up[i].LastTransitionTime, lt)
				}
			}
		})
	}
	conds := []meta.Condition{{Type: "A"}, ready, {Type: "Ready"}}
	if !meta.IsStatusConditionFalse(conds, "Ready") || meta.IsStatusConditionTrue(conds, "Ready") || meta.IsStatusConditionTrue(conds, "X") {
		t.Fatal("IsStatusCondition*")
	}
	if meta.FindStatusCondition(conds, "Ready") != &conds[1] {
		t.Fatal("FindStatusCondition")
	}
	if !meta.RemoveStatusCondition(&conds, "Ready") || len(conds) != 1 || meta.RemoveStatusCondition(&conds, "Ready") {
		t.Fatalf("RemoveStatusCondition: %+v", conds)
	}
	var none []meta.Condition
	if meta.RemoveStatusCondition(&none, "A") {
		t.Fatal("RemoveStatusCondition on nothing")
	}
}

func toMetav1Conditions(in []meta.Condition) []metav1.Condition {
	var out []metav1.Condition
	for _, c := range in {
		out = append(out, metav1.Condition{Type: c.Type, Status: metav1.ConditionStatus(c.Status), Reason: c.Reason, Message: c.Message,
			ObservedGeneration: c.ObservedGeneration, LastTransitionTime: metav1.NewTime(c.LastTransitionTime.Time)})
	}
	return out
}

func TestObjectMetaJSON(t *testing.T) {
	in := `{"name":"p","namespace":"ns","uid":"u","creationTimestamp":"2026-01-02T03:04:05Z","deletionTimestamp":null,` +
		`"labels":{"a":"b"},"ownerReferences":[{"apiVersion":"v1","kind":"X","name":"x","uid":"1","controller":true}]}`
	var m meta.ObjectMeta
	if err := json.Unmarshal([]byte(in), &m); err != nil {
		t.Fatal(err)
	}
	if m.Deleting() || m.CreationTimestamp.Year() != 2026 || !m.OwnerReferences[0].IsController() {
		t.Fatalf("%+v", m)
	}
	out, _ := json.Marshal(meta.ObjectMeta{Name: "x"})
	if string(out) != `{"name":"x"}` {
		t.Fatalf("%s: a zero creationTimestamp is left out", out)
	}
	var up metav1.ObjectMeta
	if err := json.Unmarshal([]byte(in), &up); err != nil || up.UID != k8stypes.UID(m.UID) || !up.CreationTimestamp.Time.Equal(m.CreationTimestamp.Time) {
		t.Fatalf("metav1 reads %+v, %v", up, err)
	}
}
