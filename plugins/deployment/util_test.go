package deployment

// Tables ported from upstream (k8s.io/kubernetes v1.37.2,
// pkg/controller/deployment): DUT = util/deployment_util_test.go, SYT =
// sync_test.go, PGT = progress_test.go; the other cases are the rules of
// upstream-deployment.md (D-numbers).

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/utils/ptr"
	"wasmctl.dev/wasmctl/abi/sdk/intstr"
	appsv1 "wasmctl.dev/wasmctl/plugins/internal/kube/apps/v1"
	corev1 "wasmctl.dev/wasmctl/plugins/internal/kube/core/v1"
	metav1 "wasmctl.dev/wasmctl/plugins/internal/kube/meta/v1"
)

// uT0 is the newest of the creation times upstream's TestScale uses
// (SYT:41-43); uT0 − 1 h and uT0 − 2 h are its older ones.
var uT0 = time.Date(2016, 5, 20, 2, 0, 0, 0, time.UTC)

// uNow is a sync's time.
var uNow = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

// uRS is a ReplicaSet of that size created at created, with annotations
// given as key, value pairs.
func uRS(name string, replicas int32, created time.Time, annotations ...string) *appsv1.ReplicaSet {
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", CreationTimestamp: metav1.NewTime(created)},
		Spec:       appsv1.ReplicaSetSpec{Replicas: ptr.To(replicas)},
	}
	if len(annotations) > 0 {
		rs.Annotations = map[string]string{}
		for i := 0; i+1 < len(annotations); i += 2 {
			rs.Annotations[annotations[i]] = annotations[i+1]
		}
	}
	return rs
}

// uRolling is a RollingUpdate Deployment of that size with those
// fenceposts.
func uRolling(replicas int32, surge, unavailable intstr.IntOrString) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "foo", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Strategy: appsv1.DeploymentStrategy{
				Type:          appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable},
			},
		},
	}
}

// uRecreate is a Recreate Deployment of that size.
func uRecreate(replicas int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "foo", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
		},
	}
}

func uNames(rss []*appsv1.ReplicaSet) []string {
	var names []string
	for _, rs := range rss {
		names = append(names, rs.Name)
	}
	return names
}

func TestConstants(t *testing.T) {
	if RollbackToAnnotation != appsv1.DeprecatedRollbackTo {
		t.Errorf("RollbackToAnnotation %q, k8s.io/api %q", RollbackToAnnotation, appsv1.DeprecatedRollbackTo)
	}
	if LastAppliedAnnotation != corev1.LastAppliedConfigAnnotation {
		t.Errorf("LastAppliedAnnotation %q, k8s.io/api %q", LastAppliedAnnotation, corev1.LastAppliedConfigAnnotation)
	}
}

// ---------------------------------------------------------------------------
// Revisions

func TestRevision(t *testing.T) {
	cases := []struct {
		name    string
		rs      *appsv1.ReplicaSet
		want    int64
		wantErr bool
	}{
		{name: "absent is 0", rs: uRS("a", 1, uT0), want: 0},
		{name: "number", rs: uRS("a", 1, uT0, RevisionAnnotation, "12"), want: 12},
		{name: "negative parses", rs: uRS("a", 1, uT0, RevisionAnnotation, "-3"), want: -3},
		{name: "not a number", rs: uRS("a", 1, uT0, RevisionAnnotation, "x"), wantErr: true},
		{name: "empty is an error here (setNewReplicaSetAnnotations takes it as 0)", rs: uRS("a", 1, uT0, RevisionAnnotation, ""), wantErr: true},
		{name: "space", rs: uRS("a", 1, uT0, RevisionAnnotation, " 1"), wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := revision(tc.rs)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("revision = %d, %v; want %d, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestMaxAndLastRevision(t *testing.T) {
	rev := func(name, r string) *appsv1.ReplicaSet {
		if r == "" {
			return uRS(name, 0, uT0)
		}
		return uRS(name, 0, uT0, RevisionAnnotation, r)
	}
	cases := []struct {
		name      string
		rss       []*appsv1.ReplicaSet
		max, last int64
	}{
		{name: "none", rss: nil, max: 0, last: 0},
		{name: "one", rss: []*appsv1.ReplicaSet{rev("a", "4")}, max: 4, last: 0},
		{name: "ascending", rss: []*appsv1.ReplicaSet{rev("a", "1"), rev("b", "2"), rev("c", "3")}, max: 3, last: 2},
		{name: "descending", rss: []*appsv1.ReplicaSet{rev("a", "3"), rev("b", "2"), rev("c", "1")}, max: 3, last: 2},
		{name: "unparsable skipped", rss: []*appsv1.ReplicaSet{rev("a", "x"), rev("b", "5"), rev("c", "y")}, max: 5, last: 0},
		{name: "absent counts as 0", rss: []*appsv1.ReplicaSet{rev("a", ""), rev("b", "2")}, max: 2, last: 0},
		{name: "two sharing the top revision: last is the top one (D18.4)", rss: []*appsv1.ReplicaSet{rev("a", "3"), rev("b", "1"), rev("c", "3")}, max: 3, last: 3},
		{name: "nil skipped", rss: []*appsv1.ReplicaSet{nil, rev("a", "2"), nil, rev("b", "7")}, max: 7, last: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := maxRevision(tc.rss); got != tc.max {
				t.Errorf("maxRevision = %d, want %d", got, tc.max)
			}
			if got := lastRevision(tc.rss); got != tc.last {
				t.Errorf("lastRevision = %d, want %d", got, tc.last)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Annotations

// TestSetNewReplicaSetAnnotationsSequence is DUT:1157-1186: revisions 11 to
// 20 set one after another with a 5-character history limit keep the
// last two old revisions.
func TestSetNewReplicaSetAnnotationsSequence(t *testing.T) {
	d := uRolling(1, intstr.FromInt32(1), intstr.FromInt32(0))
	d.Annotations = map[string]string{RevisionAnnotation: "1"}
	rs := uRS("foo", 1, uT0)
	for i := 10; i < 20; i++ {
		next := fmt.Sprint(i + 1)
		if !setNewReplicaSetAnnotations(d, rs, next, true, 5) {
			t.Errorf("revision %s: reported unchanged", next)
		}
		if rs.Annotations[RevisionAnnotation] != next {
			t.Errorf("revision %q, want %q", rs.Annotations[RevisionAnnotation], next)
		}
		if i >= 12 {
			if want := fmt.Sprintf("%d,%d", i-1, i); rs.Annotations[RevisionHistoryAnnotation] != want {
				t.Errorf("revision %s: history %q, want %q", next, rs.Annotations[RevisionHistoryAnnotation], want)
			}
		}
	}
}

func TestSetNewReplicaSetAnnotations(t *testing.T) {
	allSkipped := map[string]string{
		RevisionAnnotation: "7", RevisionHistoryAnnotation: "1,2", DesiredReplicasAnnotation: "9",
		MaxReplicasAnnotation: "9", RollbackToAnnotation: "2", LastAppliedAnnotation: "{}",
	}
	cases := []struct {
		name        string
		dAnn        map[string]string
		rsAnn       map[string]string // nil: none
		newRevision string
		exists      bool
		limit       int
		want        map[string]string
		wantChanged bool
	}{
		{
			name: "an RS being created: copies, revision, desired/max (3 replicas, 25% surge → 4)",
			dAnn: map[string]string{"team": "a", RevisionAnnotation: "7", RevisionHistoryAnnotation: "1,2", DesiredReplicasAnnotation: "9",
				MaxReplicasAnnotation: "9", RollbackToAnnotation: "2", LastAppliedAnnotation: "{}"},
			newRevision: "1", limit: 2000,
			want:        map[string]string{"team": "a", RevisionAnnotation: "1", DesiredReplicasAnnotation: "3", MaxReplicasAnnotation: "4"},
			wantChanged: true,
		},
		{
			name:        "an RS being created whose annotations are already right: unchanged",
			rsAnn:       map[string]string{RevisionAnnotation: "2", DesiredReplicasAnnotation: "3", MaxReplicasAnnotation: "4"},
			newRevision: "2", limit: 2000,
			want: map[string]string{RevisionAnnotation: "2", DesiredReplicasAnnotation: "3", MaxReplicasAnnotation: "4"},
		},
		{
			name: "an existing RS gets no desired/max", dAnn: allSkipped,
			newRevision: "1", exists: true, limit: 2000,
			want:        map[string]string{RevisionAnnotation: "1"},
			wantChanged: true,
		},
		{
			name:  "an existing RS at the revision: unchanged",
			rsAnn: map[string]string{RevisionAnnotation: "3", DesiredReplicasAnnotation: "1"},
			dAnn:  allSkipped, newRevision: "3", exists: true, limit: 2000,
			want: map[string]string{RevisionAnnotation: "3", DesiredReplicasAnnotation: "1"},
		},
		{
			name:        "the revision is never lowered",
			rsAnn:       map[string]string{RevisionAnnotation: "5"},
			newRevision: "3", exists: true, limit: 2000,
			want: map[string]string{RevisionAnnotation: "5"},
		},
		{
			name:        "raising the revision moves the old one into the history",
			rsAnn:       map[string]string{RevisionAnnotation: "1"},
			newRevision: "3", exists: true, limit: 2000,
			want:        map[string]string{RevisionAnnotation: "3", RevisionHistoryAnnotation: "1"},
			wantChanged: true,
		},
		{
			name:        "appended to the history",
			rsAnn:       map[string]string{RevisionAnnotation: "4", RevisionHistoryAnnotation: "1,2"},
			newRevision: "6", exists: true, limit: 2000,
			want:        map[string]string{RevisionAnnotation: "6", RevisionHistoryAnnotation: "1,2,4"},
			wantChanged: true,
		},
		{
			name:        "history limit: oldest entries dropped until it fits",
			rsAnn:       map[string]string{RevisionAnnotation: "4", RevisionHistoryAnnotation: "1,2,3"},
			newRevision: "5", exists: true, limit: 5,
			want:        map[string]string{RevisionAnnotation: "5", RevisionHistoryAnnotation: "2,3,4"},
			wantChanged: true,
		},
		{
			name:        "history limit: two dropped",
			rsAnn:       map[string]string{RevisionAnnotation: "4", RevisionHistoryAnnotation: "1,2,3"},
			newRevision: "5", exists: true, limit: 4,
			want:        map[string]string{RevisionAnnotation: "5", RevisionHistoryAnnotation: "3,4"},
			wantChanged: true,
		},
		{
			name:        "history limit exactly met keeps everything",
			rsAnn:       map[string]string{RevisionAnnotation: "4", RevisionHistoryAnnotation: "1,2,3"},
			newRevision: "5", exists: true, limit: 7,
			want:        map[string]string{RevisionAnnotation: "5", RevisionHistoryAnnotation: "1,2,3,4"},
			wantChanged: true,
		},
		{
			name:        "history limit: only the new entry fits",
			rsAnn:       map[string]string{RevisionAnnotation: "4", RevisionHistoryAnnotation: "1,2,3"},
			newRevision: "5", exists: true, limit: 1,
			want:        map[string]string{RevisionAnnotation: "5", RevisionHistoryAnnotation: "4"},
			wantChanged: true,
		},
		{
			name:        "history limit: not even the new entry fits, the history stays",
			rsAnn:       map[string]string{RevisionAnnotation: "14", RevisionHistoryAnnotation: "1,2,3"},
			newRevision: "15", exists: true, limit: 1,
			want:        map[string]string{RevisionAnnotation: "15", RevisionHistoryAnnotation: "1,2,3"},
			wantChanged: true,
		},
		{
			name:        "a history whose first entry is empty is replaced",
			rsAnn:       map[string]string{RevisionAnnotation: "5", RevisionHistoryAnnotation: ",4"},
			newRevision: "6", exists: true, limit: 2000,
			want:        map[string]string{RevisionAnnotation: "6", RevisionHistoryAnnotation: "5"},
			wantChanged: true,
		},
		{
			name:        "an empty revision counts as 0, and goes into the history as an empty entry",
			rsAnn:       map[string]string{RevisionAnnotation: ""},
			newRevision: "2", exists: true, limit: 2000,
			want:        map[string]string{RevisionAnnotation: "2", RevisionHistoryAnnotation: ""},
			wantChanged: true,
		},
		{
			name:        "an unparsable RS revision ends it reporting unchanged, the copies made",
			dAnn:        map[string]string{"team": "a"},
			rsAnn:       map[string]string{RevisionAnnotation: "abc"},
			newRevision: "2", limit: 2000,
			want: map[string]string{"team": "a", RevisionAnnotation: "abc"},
		},
		{
			name:        "an unparsable newRevision ends it reporting unchanged, the copies made",
			dAnn:        map[string]string{"team": "a"},
			newRevision: "x", limit: 2000,
			want: map[string]string{"team": "a"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := uRolling(3, intstr.FromString("25%"), intstr.FromString("25%"))
			d.Annotations = tc.dAnn
			rs := uRS("foo", 1, uT0)
			if tc.rsAnn != nil {
				rs.Annotations = map[string]string{}
				for k, v := range tc.rsAnn {
					rs.Annotations[k] = v
				}
			}
			changed := setNewReplicaSetAnnotations(d, rs, tc.newRevision, tc.exists, tc.limit)
			if changed != tc.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tc.wantChanged)
			}
			if !reflect.DeepEqual(rs.Annotations, tc.want) {
				t.Errorf("annotations %v, want %v", rs.Annotations, tc.want)
			}
		})
	}
}

func TestCopyDeploymentAnnotationsToReplicaSet(t *testing.T) {
	cases := []struct {
		name        string
		dAnn, rsAnn map[string]string
		want        map[string]string
		wantChanged bool
	}{
		{
			name:        "added and overwritten, never removed; the six keys skipped",
			dAnn:        map[string]string{"a": "1", "b": "2", RevisionAnnotation: "9", RevisionHistoryAnnotation: "1", DesiredReplicasAnnotation: "9", MaxReplicasAnnotation: "9", RollbackToAnnotation: "1", LastAppliedAnnotation: "{}"},
			rsAnn:       map[string]string{"b": "3", "c": "4", RevisionAnnotation: "2"},
			want:        map[string]string{"a": "1", "b": "2", "c": "4", RevisionAnnotation: "2"},
			wantChanged: true,
		},
		{
			name:  "already there",
			dAnn:  map[string]string{"a": "1"},
			rsAnn: map[string]string{"a": "1", "z": "0"},
			want:  map[string]string{"a": "1", "z": "0"},
		},
		{
			name:        "an empty value is copied too",
			dAnn:        map[string]string{"a": ""},
			rsAnn:       map[string]string{},
			want:        map[string]string{"a": ""},
			wantChanged: true,
		},
		{
			name: "nothing to copy: a nil map becomes empty",
			want: map[string]string{},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := uRecreate(1)
			d.Annotations = tc.dAnn
			rs := uRS("foo", 1, uT0)
			rs.Annotations = tc.rsAnn
			if got := copyDeploymentAnnotationsToReplicaSet(d, rs); got != tc.wantChanged {
				t.Errorf("changed = %v, want %v", got, tc.wantChanged)
			}
			if !reflect.DeepEqual(rs.Annotations, tc.want) || rs.Annotations == nil {
				t.Errorf("annotations %#v, want %#v", rs.Annotations, tc.want)
			}
		})
	}
}

func TestSetDeploymentAnnotationsTo(t *testing.T) {
	cases := []struct {
		name        string
		dAnn, rsAnn map[string]string
		want        map[string]string
	}{
		{
			name: "the Deployment keeps its six keys, takes the RS's others, loses its own others (D8.2)",
			dAnn: map[string]string{"a": "1", "shared": "d", RevisionAnnotation: "5", LastAppliedAnnotation: "L", RollbackToAnnotation: "1"},
			rsAnn: map[string]string{"b": "2", "shared": "rs", RevisionAnnotation: "3", RevisionHistoryAnnotation: "1",
				DesiredReplicasAnnotation: "3", MaxReplicasAnnotation: "4", LastAppliedAnnotation: "R"},
			want: map[string]string{"b": "2", "shared": "rs", RevisionAnnotation: "5", LastAppliedAnnotation: "L", RollbackToAnnotation: "1"},
		},
		{
			name: "both nil",
			want: map[string]string{},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := uRecreate(1)
			d.Annotations = tc.dAnn
			rs := uRS("foo", 1, uT0)
			rs.Annotations = tc.rsAnn
			setDeploymentAnnotationsTo(d, rs)
			if !reflect.DeepEqual(d.Annotations, tc.want) || d.Annotations == nil {
				t.Errorf("annotations %#v, want %#v", d.Annotations, tc.want)
			}
		})
	}
}

func TestSetReplicasAnnotations(t *testing.T) {
	// DUT:1188-1205, then the no-change and partial cases.
	rs := uRS("foo", 1, uT0)
	if !setReplicasAnnotations(rs, 10, 11) {
		t.Error("first set reported unchanged")
	}
	if rs.Annotations[DesiredReplicasAnnotation] != "10" || rs.Annotations[MaxReplicasAnnotation] != "11" {
		t.Errorf("annotations %v", rs.Annotations)
	}
	if setReplicasAnnotations(rs, 10, 11) {
		t.Error("second set reported a change")
	}
	if !setReplicasAnnotations(rs, 10, 12) || rs.Annotations[MaxReplicasAnnotation] != "12" {
		t.Errorf("max only: %v", rs.Annotations)
	}
	if !setReplicasAnnotations(rs, 9, 12) || rs.Annotations[DesiredReplicasAnnotation] != "9" {
		t.Errorf("desired only: %v", rs.Annotations)
	}
}

// TestReplicasAnnotationsNeedUpdate is DUT:1223-1295 and two more.
func TestReplicasAnnotationsNeedUpdate(t *testing.T) {
	cases := []struct {
		name string
		ann  map[string]string
		want bool
	}{
		{name: "test Annotations nil", ann: nil, want: true},
		{name: "test desiredReplicas update", ann: map[string]string{DesiredReplicasAnnotation: "8", MaxReplicasAnnotation: "20"}, want: true},
		{name: "test maxReplicas update", ann: map[string]string{DesiredReplicasAnnotation: "10", MaxReplicasAnnotation: "16"}, want: true},
		{name: "test needn't update", ann: map[string]string{DesiredReplicasAnnotation: "10", MaxReplicasAnnotation: "20"}, want: false},
		{name: "empty map", ann: map[string]string{}, want: true},
		{name: "same number, other spelling", ann: map[string]string{DesiredReplicasAnnotation: "010", MaxReplicasAnnotation: "20"}, want: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rs := uRS("hello", 1, uT0)
			rs.Annotations = tc.ann
			if got := replicasAnnotationsNeedUpdate(rs, 10, 20); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestGetReplicasAnnotations is DUT:1075-1155 (getNonNegativeInt32FromAnnotation)
// for both annotations, and the strictness of D9.2.
func TestGetReplicasAnnotations(t *testing.T) {
	cases := []struct {
		name   string
		value  *string
		want   int32
		wantOK bool
	}{
		{name: "invalid empty"},
		{name: "invalid", value: ptr.To("invalid")},
		{name: "invalid negative", value: ptr.To("-1")},
		{name: "valid zero", value: ptr.To("0"), want: 0, wantOK: true},
		{name: "valid", value: ptr.To("13"), want: 13, wantOK: true},
		{name: "valid max", value: ptr.To(fmt.Sprint(math.MaxInt32)), want: math.MaxInt32, wantOK: true},
		{name: "invalid max out of range", value: ptr.To(fmt.Sprint(uint32(math.MaxInt32) + 1))},
		{name: "invalid max out of range 2", value: ptr.To(fmt.Sprint(uint64(math.MaxUint32) + 1))},
		{name: "plus sign", value: ptr.To("+3")},
		{name: "leading space", value: ptr.To(" 3")},
		{name: "empty string", value: ptr.To("")},
		{name: "leading zeros", value: ptr.To("007"), want: 7, wantOK: true},
	}
	for _, tc := range cases {
		for _, key := range []string{DesiredReplicasAnnotation, MaxReplicasAnnotation} {
			t.Run(tc.name+"/"+key, func(t *testing.T) {
				rs := uRS("foo", 1, uT0, "foo", "2")
				if tc.value != nil {
					rs.Annotations[key] = *tc.value
				}
				get := getDesiredReplicasAnnotation
				if key == MaxReplicasAnnotation {
					get = getMaxReplicasAnnotation
				}
				if got, ok := get(rs); got != tc.want || ok != tc.wantOK {
					t.Errorf("got %d, %v; want %d, %v", got, ok, tc.want, tc.wantOK)
				}
			})
		}
	}
	// Each reads its own key.
	rs := uRS("foo", 1, uT0, DesiredReplicasAnnotation, "1", MaxReplicasAnnotation, "2")
	if v, _ := getDesiredReplicasAnnotation(rs); v != 1 {
		t.Errorf("desired %d", v)
	}
	if v, _ := getMaxReplicasAnnotation(rs); v != 2 {
		t.Errorf("max %d", v)
	}
}

// ---------------------------------------------------------------------------
// Fenceposts

func TestResolveFenceposts(t *testing.T) {
	type tc struct {
		name                   string
		surge, unavailable     *intstr.IntOrString
		desired                int32
		wantSurge, wantUnavail int32
		wantErr                bool
	}
	str := func(s string) *intstr.IntOrString { return ptr.To(intstr.FromString(s)) }
	num := func(i int32) *intstr.IntOrString { return ptr.To(intstr.FromInt32(i)) }
	cases := []tc{
		// DUT:439-527.
		{name: "0%/0% of 0", surge: str("0%"), unavailable: str("0%"), desired: 0, wantSurge: 0, wantUnavail: 1},
		{name: "39%/39% of 10", surge: str("39%"), unavailable: str("39%"), desired: 10, wantSurge: 4, wantUnavail: 3},
		{name: "oops", surge: str("oops"), unavailable: str("39%"), desired: 10, wantErr: true},
		{name: "urg", surge: str("55%"), unavailable: str("urg"), desired: 10, wantErr: true},
		{name: "nil surge", surge: nil, unavailable: str("39%"), desired: 10, wantSurge: 0, wantUnavail: 3},
		{name: "nil unavailable", surge: str("39%"), unavailable: nil, desired: 10, wantSurge: 4, wantUnavail: 0},
		{name: "both nil", surge: nil, unavailable: nil, desired: 10, wantSurge: 0, wantUnavail: 1},
		// D10.2.
		{name: "ints as they are", surge: num(2), unavailable: num(0), desired: 10, wantSurge: 2, wantUnavail: 0},
		{name: "ints not clamped", surge: num(20), unavailable: num(30), desired: 10, wantSurge: 20, wantUnavail: 30},
		{name: "ints 0/0 → unavailable 1", surge: num(0), unavailable: num(0), desired: 10, wantSurge: 0, wantUnavail: 1},
		{name: "percentages rounding to 0/0 → unavailable 1", surge: str("0%"), unavailable: str("1%"), desired: 10, wantSurge: 0, wantUnavail: 1},
		{name: "1% surge of 1 rounds up", surge: str("1%"), unavailable: str("0%"), desired: 1, wantSurge: 1, wantUnavail: 0},
		{name: "a number string without % is an error", surge: str("5"), unavailable: str("25%"), desired: 10, wantErr: true},
		{name: "a fraction is an error", surge: str("2.5%"), unavailable: str("25%"), desired: 10, wantErr: true},
	}
	// The defaults, 25%/25% (upstream-deployment.md quick reference).
	for _, row := range []struct{ desired, surge, unavail int32 }{{1, 1, 0}, {2, 1, 0}, {3, 1, 0}, {4, 1, 1}, {10, 3, 2}, {100, 25, 25}} {
		cases = append(cases, tc{name: fmt.Sprintf("defaults %d", row.desired), surge: str("25%"), unavailable: str("25%"),
			desired: row.desired, wantSurge: row.surge, wantUnavail: row.unavail})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, u, err := resolveFenceposts(c.surge, c.unavailable, c.desired)
			if (err != nil) != c.wantErr {
				t.Fatalf("error %v, want error %v", err, c.wantErr)
			}
			if s != c.wantSurge || u != c.wantUnavail {
				t.Errorf("got %d/%d, want %d/%d", s, u, c.wantSurge, c.wantUnavail)
			}
		})
	}
}

// TestMaxUnavailable is DUT:996-1073 and D10.3.
func TestMaxUnavailable(t *testing.T) {
	withSurge1 := func(replicas int32, unavailable intstr.IntOrString) *appsv1.Deployment {
		return uRolling(replicas, intstr.FromInt32(1), unavailable)
	}
	noBlock := uRolling(4, intstr.FromInt32(0), intstr.FromInt32(0))
	noBlock.Spec.Strategy.RollingUpdate = nil
	cases := []struct {
		name string
		d    *appsv1.Deployment
		want int32
	}{
		{"maxUnavailable less than replicas", withSurge1(10, intstr.FromInt32(5)), 5},
		{"maxUnavailable equal replicas", withSurge1(10, intstr.FromInt32(10)), 10},
		{"maxUnavailable greater than replicas", withSurge1(5, intstr.FromInt32(10)), 5},
		{"maxUnavailable with replicas is 0", withSurge1(0, intstr.FromInt32(10)), 0},
		{"maxUnavailable with Recreate deployment strategy", uRecreate(10), 0},
		{"maxUnavailable less than replicas with percents", withSurge1(10, intstr.FromString("50%")), 5},
		{"maxUnavailable equal replicas with percents", withSurge1(10, intstr.FromString("100%")), 10},
		{"maxUnavailable greater than replicas with percents", withSurge1(5, intstr.FromString("100%")), 5},
		{"0/0 resolves to 1", uRolling(3, intstr.FromInt32(0), intstr.FromInt32(0)), 1},
		{"25% of 4", uRolling(4, intstr.FromString("25%"), intstr.FromString("25%")), 1},
		{"an unresolvable value counts as 0", uRolling(4, intstr.FromString("oops"), intstr.FromInt32(2)), 0},
		{"no rollingUpdate block: nil/nil, so 1", noBlock, 1},
		{"unknown strategy type", func() *appsv1.Deployment { d := uRecreate(3); d.Spec.Strategy.Type = "Other"; return d }(), 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := maxUnavailable(tc.d); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}

func TestMaxSurge(t *testing.T) {
	noBlock := uRolling(4, intstr.FromInt32(0), intstr.FromInt32(0))
	noBlock.Spec.Strategy.RollingUpdate = nil
	cases := []struct {
		name string
		d    *appsv1.Deployment
		want int32
	}{
		{"Recreate", uRecreate(10), 0},
		{"25% of 10 rounds up", uRolling(10, intstr.FromString("25%"), intstr.FromString("25%")), 3},
		{"25% of 1 rounds up", uRolling(1, intstr.FromString("25%"), intstr.FromString("25%")), 1},
		{"int, not clamped to replicas", uRolling(5, intstr.FromInt32(10), intstr.FromInt32(0)), 10},
		{"replicas 0", uRolling(0, intstr.FromString("25%"), intstr.FromString("25%")), 0},
		{"replicas 0, int surge", uRolling(0, intstr.FromInt32(2), intstr.FromInt32(0)), 2},
		{"unresolvable counts as 0", uRolling(10, intstr.FromInt32(3), intstr.FromString("x")), 0},
		{"no rollingUpdate block", noBlock, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := maxSurge(tc.d); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}

// TestNewRSNewReplicas is DUT:529-609 and D10.4/D12.1.
func TestNewRSNewReplicas(t *testing.T) {
	cases := []struct {
		name         string
		d            *appsv1.Deployment
		others       []int32 // the other ReplicaSets' sizes
		newRS        int32
		includeNewRS bool // newRS is in allRSs
		want         int32
		wantErr      string
	}{
		// DUT:531-552: allRSs is one RS of 5 only.
		{name: "can not scale up - to newRSReplicas", d: uRolling(1, intstr.FromInt32(1), intstr.FromInt32(1)), others: []int32{5}, newRS: 5, want: 5},
		{name: "scale up - to depReplicas", d: uRolling(6, intstr.FromInt32(10), intstr.FromInt32(1)), others: []int32{5}, newRS: 2, want: 6},
		{name: "recreate - to depReplicas", d: uRecreate(3), others: []int32{5}, newRS: 1, want: 3},
		// D12.1.
		{name: "a new RS being created: replicas + surge − old", d: uRolling(3, intstr.FromString("25%"), intstr.FromString("25%")), others: []int32{3}, newRS: 0, includeNewRS: true, want: 1},
		{name: "first RS: min(replicas+surge, replicas)", d: uRolling(3, intstr.FromString("25%"), intstr.FromString("25%")), newRS: 0, includeNewRS: true, want: 3},
		{name: "25% of 10 → surge 3, old 8, new 2", d: uRolling(10, intstr.FromString("25%"), intstr.FromString("25%")), others: []int32{8}, newRS: 2, includeNewRS: true, want: 5},
		{name: "at maxTotal: keep", d: uRolling(10, intstr.FromInt32(2), intstr.FromInt32(0)), others: []int32{8}, newRS: 4, includeNewRS: true, want: 4},
		{name: "above maxTotal: keep (no scale-down here)", d: uRolling(10, intstr.FromInt32(2), intstr.FromInt32(0)), others: []int32{9}, newRS: 4, includeNewRS: true, want: 4},
		{name: "zero-sized old RSs count as 0", d: uRolling(2, intstr.FromInt32(1), intstr.FromInt32(0)), others: []int32{0, 0}, newRS: 0, includeNewRS: true, want: 2},
		{name: "Recreate ignores the others", d: uRecreate(4), others: []int32{9}, newRS: 0, includeNewRS: true, want: 4},
		{name: "maxSurge nil is an error (no default here)", d: func() *appsv1.Deployment {
			d := uRolling(3, intstr.FromInt32(1), intstr.FromInt32(1))
			d.Spec.Strategy.RollingUpdate.MaxSurge = nil
			return d
		}(), newRS: 0, wantErr: "nil value for IntOrString"},
		{name: "maxSurge not a percentage", d: uRolling(3, intstr.FromString("3"), intstr.FromInt32(1)), newRS: 0, wantErr: "not a percentage"},
		{name: "unknown strategy", d: func() *appsv1.Deployment { d := uRecreate(3); d.Spec.Strategy.Type = ""; return d }(), newRS: 0, wantErr: "deployment type  isn't supported"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			newRS := uRS("new", tc.newRS, uT0)
			var all []*appsv1.ReplicaSet
			for i, n := range tc.others {
				all = append(all, uRS(fmt.Sprintf("old-%d", i), n, uT0.Add(-time.Hour)))
			}
			if tc.includeNewRS {
				all = append(all, newRS)
			}
			got, err := newRSNewReplicas(tc.d, all, newRS)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Scaling

func TestIsSaturated(t *testing.T) {
	d := uRolling(1, intstr.FromInt32(1), intstr.FromInt32(0))
	sat := func(replicas, available int32, desired string) *appsv1.ReplicaSet {
		rs := uRS("new", replicas, uT0)
		if desired != "-" {
			rs.Annotations = map[string]string{DesiredReplicasAnnotation: desired}
		}
		rs.Status.AvailableReplicas = available
		return rs
	}
	cases := []struct {
		name string
		rs   *appsv1.ReplicaSet
		want bool
	}{
		{"DUT:1207-1219: sized, annotated, available", sat(1, 1, "1"), true},
		{"nil", nil, false},
		{"not all available", sat(1, 0, "1"), false},
		{"other size", sat(2, 1, "1"), false},
		{"annotated for another size", sat(1, 1, "2"), false},
		{"no annotation", sat(1, 1, "-"), false},
		{"unparsable annotation", sat(1, 1, "one"), false},
		{"Atoi: a plus sign is accepted (D9.2)", sat(1, 1, "+1"), true},
		{"Atoi then int32: 2^32+1 is 1", sat(1, 1, "4294967297"), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := isSaturated(d, tc.rs); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFindActiveOrLatest(t *testing.T) {
	old := func(name string, replicas int32, age time.Duration) *appsv1.ReplicaSet {
		return uRS(name, replicas, uT0.Add(-age))
	}
	cases := []struct {
		name      string
		newRS     *appsv1.ReplicaSet
		oldRSs    []*appsv1.ReplicaSet
		want      string // "" for nil
		wantOrder []string
	}{
		{name: "nothing", want: ""},
		{name: "no active, no new RS: the newest old one", oldRSs: []*appsv1.ReplicaSet{old("a", 0, 2*time.Hour), old("b", 0, time.Hour)}, want: "b", wantOrder: []string{"b", "a"}},
		{name: "no active: the new RS", newRS: uRS("new", 0, uT0), oldRSs: []*appsv1.ReplicaSet{old("a", 0, time.Hour)}, want: "new", wantOrder: []string{"a"}},
		{name: "only the new RS", newRS: uRS("new", 0, uT0), want: "new"},
		{name: "one active old RS", newRS: uRS("new", 0, uT0), oldRSs: []*appsv1.ReplicaSet{old("a", 3, time.Hour)}, want: "a", wantOrder: []string{"a"}},
		{name: "the new RS alone active", newRS: uRS("new", 2, uT0), oldRSs: []*appsv1.ReplicaSet{old("a", 0, time.Hour)}, want: "new", wantOrder: []string{"a"}},
		{name: "two active", newRS: uRS("new", 2, uT0), oldRSs: []*appsv1.ReplicaSet{old("a", 1, time.Hour)}, want: "", wantOrder: []string{"a"}},
		{name: "two active old, no new RS", oldRSs: []*appsv1.ReplicaSet{old("a", 1, 2*time.Hour), old("b", 1, time.Hour)}, want: "", wantOrder: []string{"b", "a"}},
		{
			name:   "one active among old ones, sorted newest first in place (same time: name descending)",
			oldRSs: []*appsv1.ReplicaSet{old("a", 0, 3*time.Hour), old("c", 2, time.Hour), old("b", 0, 3*time.Hour), old("d", 0, 2*time.Hour)},
			want:   "c", wantOrder: []string{"c", "d", "b", "a"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := findActiveOrLatest(tc.newRS, tc.oldRSs)
			if name := ""; got != nil {
				name = got.Name
				if name != tc.want {
					t.Errorf("got %q, want %q", name, tc.want)
				}
			} else if tc.want != "" {
				t.Errorf("got nil, want %q", tc.want)
			}
			if names := uNames(tc.oldRSs); !slices.Equal(names, tc.wantOrder) {
				t.Errorf("oldRSs order %v, want %v", names, tc.wantOrder)
			}
		})
	}
	// The caller's backing array past len(oldRSs) is left alone (upstream's
	// append(oldRSs, newRS) writes newRS there).
	backing := make([]*appsv1.ReplicaSet, 2)
	oldRSs := backing[:1]
	oldRSs[0] = uRS("a", 1, uT0)
	findActiveOrLatest(uRS("new", 1, uT0), oldRSs)
	if backing[1] != nil {
		t.Errorf("wrote %s past the end of oldRSs", backing[1].Name)
	}
}

// TestReplicaSetFraction is DUT:1456-1572 (getReplicaSetFraction) and the
// arithmetic of D16.3.
func TestReplicaSetFraction(t *testing.T) {
	cases := []struct {
		name                                string
		replicas, statusReplicas, surge, rs int32
		maxAnnotation                       string // "" none
		want                                int32
	}{
		{name: "empty deployment always scales to 0", replicas: 0, rs: 10, want: -10},
		{name: "unsynced deployment does not scale when max-replicas annotation is missing (removed by a 3rd party)", replicas: 10, rs: 5, want: 0},
		{name: "unsynced deployment does not scale when max-replicas annotation is incorrectly set to 0 (by a 3rd party)", replicas: 10, rs: 5, maxAnnotation: "0", want: 0},
		{name: "scale up by 1/5 should increase RS replicas by 1/5 when max-replicas annotation is missing (removed by a 3rd party)", replicas: 120, statusReplicas: 100, rs: 50, want: 10},
		{name: "scale up by 1/5 should increase RS replicas by 1/5 when max-replicas annotation is incorrectly set to 0 (by a 3rd party)", replicas: 120, statusReplicas: 100, rs: 50, maxAnnotation: "0", want: 10},
		{name: "scale up by 1/5 should increase RS replicas by 1/5", replicas: 120, rs: 50, maxAnnotation: "100", want: 10},
		{name: "scale up with maxSurge by 1/5 should increase RS replicas approximately by 1/5", replicas: 120, surge: 10, rs: 50, maxAnnotation: "110", want: 9},
		{name: "scale down by 1/6 should decrease RS replicas by 1/6", replicas: 10, rs: 6, maxAnnotation: "12", want: -1},
		{name: "scale down with maxSurge by 1/6 should decrease RS replicas approximately by 1/6", replicas: 100, surge: 10, rs: 50, maxAnnotation: "130", want: -8},
		// D16.3.
		{name: "an unreadable annotation (+100) falls back to status.replicas", replicas: 120, statusReplicas: 100, rs: 50, maxAnnotation: "+100", want: 10},
		{name: "half rounds away from zero: 1·5/2 = 2.5 → 3", replicas: 5, rs: 1, maxAnnotation: "2", want: 2},
		{name: "just under half rounds down: 2·7/6 = 2.33 → 2", replicas: 7, rs: 2, maxAnnotation: "6", want: 0},
		// 50000·50000 wraps in int32 to −1794967296; /50000 → −35899.3 → −35899.
		{name: "the product is int32 and wraps", replicas: 50000, rs: 50000, maxAnnotation: "50000", want: -35899 - 50000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := uRolling(tc.replicas, intstr.FromInt32(tc.surge), intstr.FromInt32(1))
			d.Status.Replicas = tc.statusReplicas
			rs := uRS("foo", tc.rs, uT0)
			if tc.maxAnnotation != "" {
				rs.Annotations = map[string]string{MaxReplicasAnnotation: tc.maxAnnotation}
			}
			if got := replicaSetFraction(rs, d); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}

func TestGetProportion(t *testing.T) {
	// rsOf is an RS of spec replicas sized for a Deployment of before
	// replicas+surge (its max-replicas annotation).
	rsOf := func(spec, before int32) *appsv1.ReplicaSet {
		return uRS("foo", spec, uT0, MaxReplicasAnnotation, fmt.Sprint(before))
	}
	cases := []struct {
		name         string
		d            *appsv1.Deployment
		rs           *appsv1.ReplicaSet
		toAdd, added int32
		want         int32
	}{
		{name: "nil RS", d: uRolling(10, intstr.FromInt32(0), intstr.FromInt32(1)), rs: nil, toAdd: 5, want: 0},
		{name: "zero-sized RS never grows", d: uRolling(10, intstr.FromInt32(0), intstr.FromInt32(1)), rs: rsOf(0, 5), toAdd: 5, want: 0},
		{name: "nothing to add", d: uRolling(10, intstr.FromInt32(0), intstr.FromInt32(1)), rs: rsOf(2, 5), toAdd: 0, want: 0},
		{name: "all added already", d: uRolling(10, intstr.FromInt32(0), intstr.FromInt32(1)), rs: rsOf(2, 5), toAdd: 5, added: 5, want: 0},
		{name: "growing: capped by what is left", d: uRolling(10, intstr.FromInt32(0), intstr.FromInt32(1)), rs: rsOf(3, 5), toAdd: 5, added: 4, want: 1},
		{name: "shrinking: capped by what is left", d: uRolling(3, intstr.FromInt32(0), intstr.FromInt32(1)), rs: rsOf(5, 5), toAdd: -2, added: -1, want: -1},
		{name: "to 0: the whole size, capped", d: uRolling(0, intstr.FromInt32(0), intstr.FromInt32(1)), rs: rsOf(4, 6), toAdd: -6, added: -3, want: -3},
		// D16.4 (SYT:40-342), each RS alone; maxSurge 0 unless given.
		{name: "5→10: new 2 → 4", d: uRolling(10, intstr.FromInt32(0), intstr.FromInt32(0)), rs: rsOf(2, 5), toAdd: 5, want: 2},
		{name: "5→10: old 3 → 6", d: uRolling(10, intstr.FromInt32(0), intstr.FromInt32(0)), rs: rsOf(3, 5), toAdd: 5, added: 2, want: 3},
		{name: "5→3: old 3 → 2 (first, largest)", d: uRolling(3, intstr.FromInt32(0), intstr.FromInt32(0)), rs: rsOf(3, 5), toAdd: -2, want: -1},
		{name: "5→3: new 2 → 1", d: uRolling(3, intstr.FromInt32(0), intstr.FromInt32(0)), rs: rsOf(2, 5), toAdd: -2, added: -1, want: -1},
		{name: "9→4: new 8 → 4", d: uRolling(4, intstr.FromInt32(0), intstr.FromInt32(0)), rs: rsOf(8, 9), toAdd: -5, want: -4},
		{name: "9→4: old 1 → 0 (round(4/9) = 0)", d: uRolling(4, intstr.FromInt32(0), intstr.FromInt32(0)), rs: rsOf(1, 9), toAdd: -5, added: -4, want: -1},
		{name: "surge 2, 10→20: 6 → 11", d: uRolling(20, intstr.FromInt32(2), intstr.FromInt32(0)), rs: rsOf(6, 12), toAdd: 10, want: 5},
		{name: "surge 3→6, 10→50: old 8 → 34", d: uRolling(50, intstr.FromInt32(6), intstr.FromInt32(0)), rs: rsOf(8, 13), toAdd: 43, want: 26},
		{name: "surge 3→6, 10→50: new 5 → 22", d: uRolling(50, intstr.FromInt32(6), intstr.FromInt32(0)), rs: rsOf(5, 13), toAdd: 43, added: 26, want: 17},
		{name: "observed: paused 4 (surge 1) → 6 (surge 2), old 3 → 6", d: uRolling(6, intstr.FromString("25%"), intstr.FromString("25%")), rs: rsOf(3, 4), toAdd: 4, want: 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := getProportion(tc.rs, *tc.d, tc.toAdd, tc.added); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}

// uScale is the sizes upstream's scale() (SY:307-400, D16.2) would write,
// computed with the helpers: the single active (or latest) RS takes it
// all, a saturated new RS zeroes the old ones, else the proportions with
// the leftover to the first RS.
func uScale(d *appsv1.Deployment, newRS *appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet) map[string]int32 {
	all := append(append([]*appsv1.ReplicaSet{}, oldRSs...), newRS)
	sizes := map[string]int32{}
	for _, rs := range all {
		if rs != nil {
			sizes[rs.Name] = *rs.Spec.Replicas
		}
	}
	if rs := findActiveOrLatest(newRS, oldRSs); rs != nil {
		sizes[rs.Name] = *d.Spec.Replicas
		return sizes
	}
	if isSaturated(d, newRS) {
		for _, rs := range filterActiveReplicaSets(oldRSs) {
			sizes[rs.Name] = 0
		}
		return sizes
	}
	if !isRollingUpdate(d) {
		return sizes
	}
	active := filterActiveReplicaSets(append(append([]*appsv1.ReplicaSet{}, oldRSs...), newRS))
	allowed := int32(0)
	if *d.Spec.Replicas > 0 {
		allowed = *d.Spec.Replicas + maxSurge(d)
	}
	toAdd := allowed - getReplicaCountForReplicaSets(active)
	switch {
	case toAdd > 0:
		sortBySizeNewer(active)
	case toAdd < 0:
		sortBySizeOlder(active)
	}
	added := int32(0)
	for _, rs := range active {
		if toAdd != 0 {
			p := getProportion(rs, *d, toAdd, added)
			sizes[rs.Name] += p
			added += p
		}
	}
	if toAdd != 0 {
		sizes[active[0].Name] = max(0, sizes[active[0].Name]+toAdd-added)
	}
	return sizes
}

// TestScale is SYT:40-342 (TestScale): the ReplicaSets carry the
// desired/max annotations of the Deployment before the scale.
func TestScale(t *testing.T) {
	newT, oldT, olderT := uT0, uT0.Add(-time.Hour), uT0.Add(-2*time.Hour)
	dep := func(replicas, surge int32) *appsv1.Deployment {
		return uRolling(replicas, intstr.FromInt32(surge), intstr.FromInt32(0))
	}
	type sized struct {
		name string
		size int32
		t    time.Time
	}
	cases := []struct {
		name            string
		d, before       *appsv1.Deployment
		newRS           *sized
		oldRSs          []sized
		want            map[string]int32
		desiredOverride map[string]int32
		mutate          func(newRS *appsv1.ReplicaSet)
	}{
		{name: "normal scaling event: 10 -> 12", d: dep(12, 0), before: dep(10, 0), newRS: &sized{"foo-v1", 10, newT}, want: map[string]int32{"foo-v1": 12}},
		{name: "normal scaling event: 10 -> 5", d: dep(5, 0), before: dep(10, 0), newRS: &sized{"foo-v1", 10, newT}, want: map[string]int32{"foo-v1": 5}},
		{name: "proportional scaling: 5 -> 10", d: dep(10, 0), before: dep(5, 0), newRS: &sized{"foo-v2", 2, newT}, oldRSs: []sized{{"foo-v1", 3, oldT}},
			want: map[string]int32{"foo-v2": 4, "foo-v1": 6}},
		{name: "proportional scaling: 5 -> 3", d: dep(3, 0), before: dep(5, 0), newRS: &sized{"foo-v2", 2, newT}, oldRSs: []sized{{"foo-v1", 3, oldT}},
			want: map[string]int32{"foo-v2": 1, "foo-v1": 2}},
		{name: "proportional scaling: 9 -> 4", d: dep(4, 0), before: dep(9, 0), newRS: &sized{"foo-v2", 8, newT}, oldRSs: []sized{{"foo-v1", 1, oldT}},
			want: map[string]int32{"foo-v2": 4, "foo-v1": 0}},
		{name: "proportional scaling: 7 -> 10", d: dep(10, 0), before: dep(7, 0), newRS: &sized{"foo-v3", 2, newT}, oldRSs: []sized{{"foo-v2", 3, oldT}, {"foo-v1", 2, olderT}},
			want: map[string]int32{"foo-v3": 3, "foo-v2": 4, "foo-v1": 3}},
		{name: "proportional scaling: 13 -> 8", d: dep(8, 0), before: dep(13, 0), newRS: &sized{"foo-v3", 2, newT}, oldRSs: []sized{{"foo-v2", 8, oldT}, {"foo-v1", 3, olderT}},
			want: map[string]int32{"foo-v3": 1, "foo-v2": 5, "foo-v1": 2}},
		{name: "leftover distribution: 3 -> 4", d: dep(4, 0), before: dep(3, 0), newRS: &sized{"foo-v3", 1, newT}, oldRSs: []sized{{"foo-v2", 1, oldT}, {"foo-v1", 1, olderT}},
			want: map[string]int32{"foo-v3": 2, "foo-v2": 1, "foo-v1": 1}},
		{name: "leftover distribution: 3 -> 2", d: dep(2, 0), before: dep(3, 0), newRS: &sized{"foo-v3", 1, newT}, oldRSs: []sized{{"foo-v2", 1, oldT}, {"foo-v1", 1, olderT}},
			want: map[string]int32{"foo-v3": 1, "foo-v2": 1, "foo-v1": 0}},
		{name: "proportional scaling (no new rs): 4 -> 5", d: dep(5, 0), before: dep(4, 0), oldRSs: []sized{{"foo-v2", 2, oldT}, {"foo-v1", 2, olderT}},
			want: map[string]int32{"foo-v2": 3, "foo-v1": 2}},
		{name: "proportional scaling: 6 -> 0", d: dep(0, 0), before: dep(6, 0), newRS: &sized{"foo-v3", 3, newT}, oldRSs: []sized{{"foo-v2", 2, oldT}, {"foo-v1", 1, olderT}},
			want: map[string]int32{"foo-v3": 0, "foo-v2": 0, "foo-v1": 0}},
		{name: "proportional scaling: 0 -> 6", d: dep(6, 0), before: dep(6, 0), newRS: &sized{"foo-v3", 0, newT}, oldRSs: []sized{{"foo-v2", 0, oldT}, {"foo-v1", 0, olderT}},
			want: map[string]int32{"foo-v3": 6, "foo-v2": 0, "foo-v1": 0}},
		// Upstream's PUT of foo-v2 fails there; the sizes it computes are these.
		{name: "failed rs update", d: dep(5, 0), before: dep(5, 0), newRS: &sized{"foo-v3", 2, newT}, oldRSs: []sized{{"foo-v2", 1, oldT}, {"foo-v1", 1, olderT}},
			desiredOverride: map[string]int32{"foo-v2": 3},
			want:            map[string]int32{"foo-v3": 2, "foo-v2": 2, "foo-v1": 1}},
		{name: "deployment with surge pods", d: dep(20, 2), before: dep(10, 2), newRS: &sized{"foo-v2", 6, newT}, oldRSs: []sized{{"foo-v1", 6, oldT}},
			want: map[string]int32{"foo-v2": 11, "foo-v1": 11}},
		{name: "change both surge and size", d: dep(50, 6), before: dep(10, 3), newRS: &sized{"foo-v2", 5, newT}, oldRSs: []sized{{"foo-v1", 8, oldT}},
			want: map[string]int32{"foo-v2": 22, "foo-v1": 34}},
		{name: "change both size and template", d: dep(14, 0), before: dep(10, 0), oldRSs: []sized{{"foo-v2", 7, newT}, {"foo-v1", 3, oldT}},
			want: map[string]int32{"foo-v2": 10, "foo-v1": 4}},
		{name: "saturated but broken new replica set does not affect old pods",
			d:      uRolling(2, intstr.FromInt32(1), intstr.FromInt32(1)),
			before: uRolling(2, intstr.FromInt32(1), intstr.FromInt32(1)),
			newRS:  &sized{"foo-v2", 2, newT}, oldRSs: []sized{{"foo-v1", 1, oldT}},
			want: map[string]int32{"foo-v2": 2, "foo-v1": 1}},
		// D16.2b: the same with the new RS available zeroes the old one.
		{name: "saturated and available new replica set zeroes the old ones",
			d:      uRolling(2, intstr.FromInt32(1), intstr.FromInt32(1)),
			before: uRolling(2, intstr.FromInt32(1), intstr.FromInt32(1)),
			newRS:  &sized{"foo-v2", 2, newT}, oldRSs: []sized{{"foo-v1", 1, oldT}},
			mutate: func(rs *appsv1.ReplicaSet) { rs.Status.AvailableReplicas = 2 },
			want:   map[string]int32{"foo-v2": 2, "foo-v1": 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			annotate := func(rs *appsv1.ReplicaSet) {
				desired := *tc.before.Spec.Replicas
				if v, ok := tc.desiredOverride[rs.Name]; ok {
					desired = v
				}
				setReplicasAnnotations(rs, desired, desired+maxSurge(tc.before))
			}
			var newRS *appsv1.ReplicaSet
			if tc.newRS != nil {
				newRS = uRS(tc.newRS.name, tc.newRS.size, tc.newRS.t)
				annotate(newRS)
				if tc.mutate != nil {
					tc.mutate(newRS)
				}
			}
			var oldRSs []*appsv1.ReplicaSet
			for _, s := range tc.oldRSs {
				rs := uRS(s.name, s.size, s.t)
				annotate(rs)
				oldRSs = append(oldRSs, rs)
			}
			if got := uScale(tc.d, newRS, oldRSs); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("sizes %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFilterActiveReplicaSets(t *testing.T) {
	a, b, c := uRS("a", 0, uT0), uRS("b", 2, uT0), uRS("c", 1, uT0)
	if got := uNames(filterActiveReplicaSets([]*appsv1.ReplicaSet{a, nil, b, c})); !slices.Equal(got, []string{"b", "c"}) {
		t.Errorf("got %v", got)
	}
	if got := filterActiveReplicaSets([]*appsv1.ReplicaSet{a, nil}); got != nil {
		t.Errorf("got %v, want nil", got)
	}
}

// TestGetReplicaCountForReplicaSets is DUT:346-437 with ready/available
// sums and nil ReplicaSets added.
func TestGetReplicaCountForReplicaSets(t *testing.T) {
	mk := func(name string, spec, status, ready, available int32, observed int64, terminating *int32) *appsv1.ReplicaSet {
		rs := uRS(name, spec, uT0)
		rs.Status = appsv1.ReplicaSetStatus{Replicas: status, ReadyReplicas: ready, AvailableReplicas: available,
			ObservedGeneration: observed, TerminatingReplicas: terminating}
		return rs
	}
	rs1 := mk("foo-rs", 1, 2, 2, 1, 1, ptr.To[int32](3))
	// DUT:354-358 sets rs1's observedGeneration a second time, not rs2's:
	// rs2 is unsynced but reports terminatingReplicas, which counts.
	rs2 := mk("bar-rs", 2, 3, 1, 1, 0, ptr.To[int32](1))
	rs3 := mk("unsynced-rs", 3, 0, 0, 0, 0, nil)
	rs4 := mk("dropped-rs", 1, 1, 1, 1, 1, nil)
	cases := []struct {
		name                            string
		sets                            []*appsv1.ReplicaSet
		count, actual, ready, available int32
		terminating                     *int32
	}{
		{"scaling down rs1", []*appsv1.ReplicaSet{rs1}, 1, 2, 2, 1, ptr.To[int32](3)},
		{"scaling down rs1 and rs2", []*appsv1.ReplicaSet{rs1, rs2}, 3, 5, 3, 2, ptr.To[int32](4)},
		{"scaling up rs3", []*appsv1.ReplicaSet{rs3}, 3, 0, 0, 0, ptr.To[int32](0)},
		{"scaling down rs1 and rs2 and scaling up rs3", []*appsv1.ReplicaSet{rs1, rs2, rs3}, 6, 5, 3, 2, ptr.To[int32](4)},
		{"invalid/unknown terminating status for rs4", []*appsv1.ReplicaSet{rs4}, 1, 1, 1, 1, nil},
		{"invalid/unknown terminating status for rs4 with rs1, rs2 and rs3", []*appsv1.ReplicaSet{rs1, rs2, rs3, rs4}, 7, 6, 4, 3, nil},
		{"nil ReplicaSets are skipped", []*appsv1.ReplicaSet{nil, rs1, nil}, 1, 2, 2, 1, ptr.To[int32](3)},
		{"none", nil, 0, 0, 0, 0, ptr.To[int32](0)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := getReplicaCountForReplicaSets(tc.sets); got != tc.count {
				t.Errorf("count %d, want %d", got, tc.count)
			}
			if got := getActualReplicaCountForReplicaSets(tc.sets); got != tc.actual {
				t.Errorf("actual %d, want %d", got, tc.actual)
			}
			if got := getReadyReplicaCountForReplicaSets(tc.sets); got != tc.ready {
				t.Errorf("ready %d, want %d", got, tc.ready)
			}
			if got := getAvailableReplicaCountForReplicaSets(tc.sets); got != tc.available {
				t.Errorf("available %d, want %d", got, tc.available)
			}
			if got := getTerminatingReplicaCountForReplicaSets(tc.sets); !ptr.Equal(got, tc.terminating) {
				t.Errorf("terminating %v, want %v", ptr.Deref(got, -1), ptr.Deref(tc.terminating, -1))
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Orders

func TestSorts(t *testing.T) {
	at := func(name string, replicas int32, minutes int) *appsv1.ReplicaSet {
		return uRS(name, replicas, uT0.Add(time.Duration(minutes)*time.Minute))
	}
	list := func() []*appsv1.ReplicaSet {
		// Sizes with ties; e and f also tie on time (names decide).
		return []*appsv1.ReplicaSet{at("c", 2, 5), at("f", 2, 10), at("b", 5, 0), at("a", 2, 0), at("d", 5, 10), at("e", 2, 10)}
	}
	cases := []struct {
		name string
		sort func([]*appsv1.ReplicaSet)
		want []string
	}{
		{"by creation, then name", sortByCreation, []string{"a", "b", "c", "d", "e", "f"}},
		{"by size, ties newer first (then name descending)", sortBySizeNewer, []string{"d", "b", "f", "e", "c", "a"}},
		{"by size, ties older first (then name ascending)", sortBySizeOlder, []string{"b", "d", "a", "c", "e", "f"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rss := list()
			tc.sort(rss)
			if got := uNames(rss); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestSortByRevision is the order of SYT:454-596
// (TestDeploymentController_cleanupDeploymentOrder) and D19.3.
func TestSortByRevision(t *testing.T) {
	type r struct {
		name, revision string
		minutes        int
	}
	cases := []struct {
		name string
		rss  []r
		want []string
	}{
		{"revision order: rs1 < rs2", []r{{"foo-1", "1", -1}, {"foo-2", "2", 0}}, []string{"foo-1", "foo-2"}},
		{"revision order: rs2 < rs1", []r{{"foo-1", "2", -1}, {"foo-2", "1", 0}}, []string{"foo-2", "foo-1"}},
		{"rs1 has revision but rs2 doesn't have revision", []r{{"foo-1", "1", -1}, {"foo-2", "", 0}}, []string{"foo-2", "foo-1"}},
		{"rs1 doesn't have revision while rs2 has revision", []r{{"foo-1", "", -1}, {"foo-2", "2", 0}}, []string{"foo-1", "foo-2"}},
		{"revision order: rs2 < rs4 < rs1 < rs3", []r{{"foo-1", "3", -1}, {"foo-2", "1", 0}, {"foo-3", "4", 1}, {"foo-4", "2", 2}}, []string{"foo-2", "foo-4", "foo-1", "foo-3"}},
		{"equal revisions: creation order", []r{{"b", "2", 1}, {"a", "2", 1}, {"c", "2", 0}}, []string{"c", "a", "b"}},
		{"an unparsable revision: creation order against it", []r{{"x", "bad", -5}, {"y", "1", 0}}, []string{"x", "y"}},
		{"an unparsable revision, the other way", []r{{"y", "1", -5}, {"x", "bad", 0}}, []string{"y", "x"}},
		{"numeric, not lexical", []r{{"a", "10", 0}, {"b", "9", 1}}, []string{"b", "a"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var rss []*appsv1.ReplicaSet
			for _, x := range tc.rss {
				rs := uRS(x.name, 0, uT0.Add(time.Duration(x.minutes)*time.Minute))
				if x.revision != "" {
					rs.Annotations = map[string]string{RevisionAnnotation: x.revision}
				}
				rss = append(rss, rs)
			}
			sortByRevision(rss)
			if got := uNames(rss); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Conditions

func uCond(typ appsv1.DeploymentConditionType, status corev1.ConditionStatus, reason string) appsv1.DeploymentCondition {
	return appsv1.DeploymentCondition{Type: typ, Status: status, Reason: reason}
}

// The conditions of DUT:611-649.
var (
	uCondProgressing  = uCond(appsv1.DeploymentProgressing, corev1.ConditionFalse, "ForSomeReason")
	uCondProgressing2 = uCond(appsv1.DeploymentProgressing, corev1.ConditionTrue, "BecauseItIs")
	uCondAvailable    = uCond(appsv1.DeploymentAvailable, corev1.ConditionTrue, "AwesomeController")
)

func uStatus(conds ...appsv1.DeploymentCondition) *appsv1.DeploymentStatus {
	return &appsv1.DeploymentStatus{Conditions: conds}
}

func TestNewDeploymentCondition(t *testing.T) {
	got := newDeploymentCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewRSCreated, "Created new replica set \"x\"", uNow)
	want := &appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: ReasonNewRSCreated,
		Message: "Created new replica set \"x\"", LastUpdateTime: metav1.NewTime(uNow), LastTransitionTime: metav1.NewTime(uNow)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// TestGetCondition is DUT:611-649, and the result is a copy.
func TestGetCondition(t *testing.T) {
	st := uStatus(uCondProgressing, uCondAvailable)
	if c := getDeploymentCondition(*st, appsv1.DeploymentAvailable); c == nil || c.Reason != "AwesomeController" {
		t.Errorf("condition exists: got %v", c)
	}
	if c := getDeploymentCondition(*st, appsv1.DeploymentReplicaFailure); c != nil {
		t.Errorf("condition does not exist: got %v", c)
	}
	c := getDeploymentCondition(*st, appsv1.DeploymentProgressing)
	c.Reason = "Changed"
	if st.Conditions[0].Reason != "ForSomeReason" {
		t.Error("the returned condition aliases the status")
	}
}

// TestSetCondition is DUT:651-694 and D21.2.
func TestSetCondition(t *testing.T) {
	t1, t2 := metav1.NewTime(uNow.Add(-time.Hour)), metav1.NewTime(uNow)
	timed := func(c appsv1.DeploymentCondition, msg string, update, transition metav1.Time) appsv1.DeploymentCondition {
		c.Message, c.LastUpdateTime, c.LastTransitionTime = msg, update, transition
		return c
	}
	avail := uCond(appsv1.DeploymentAvailable, corev1.ConditionTrue, ReasonMinimumReplicasAvailable)
	unavail := uCond(appsv1.DeploymentAvailable, corev1.ConditionFalse, ReasonMinimumReplicasUnavailable)
	updated := uCond(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonReplicaSetUpdated)
	complete := uCond(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewRSAvailable)
	cases := []struct {
		name   string
		status *appsv1.DeploymentStatus
		cond   appsv1.DeploymentCondition
		want   *appsv1.DeploymentStatus
	}{
		{name: "set for the first time", status: uStatus(), cond: uCondAvailable, want: uStatus(uCondAvailable)},
		{name: "simple set", status: uStatus(uCondProgressing), cond: uCondAvailable, want: uStatus(uCondProgressing, uCondAvailable)},
		{name: "overwrite", status: uStatus(uCondProgressing), cond: uCondProgressing2, want: uStatus(uCondProgressing2)},
		{
			name:   "same status and reason: kept as it is, message and times included",
			status: uStatus(timed(avail, "old", t1, t1), updated),
			cond:   timed(avail, "new", t2, t2),
			want:   uStatus(timed(avail, "old", t1, t1), updated),
		},
		{
			name:   "same status, other reason: lastTransitionTime kept, moved to the end",
			status: uStatus(timed(updated, "old", t1, t1), avail),
			cond:   timed(complete, "new", t2, t2),
			want:   uStatus(avail, timed(complete, "new", t2, t1)),
		},
		{
			name:   "other status: everything new, moved to the end",
			status: uStatus(timed(avail, "old", t1, t1), updated),
			cond:   timed(unavail, "new", t2, t2),
			want:   uStatus(updated, timed(unavail, "new", t2, t2)),
		},
		{
			name:   "duplicates of the type all go",
			status: uStatus(timed(updated, "a", t1, t1), avail, timed(updated, "b", t1, t1)),
			cond:   timed(complete, "new", t2, t2),
			want:   uStatus(avail, timed(complete, "new", t2, t1)),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			setDeploymentCondition(tc.status, tc.cond)
			if !reflect.DeepEqual(tc.status, tc.want) {
				t.Errorf("got %+v\nwant %+v", tc.status, tc.want)
			}
		})
	}
}

// TestRemoveCondition is DUT:696-739; a list left empty is nil, as
// upstream's filterOutCondition leaves it.
func TestRemoveCondition(t *testing.T) {
	cases := []struct {
		name     string
		status   *appsv1.DeploymentStatus
		condType appsv1.DeploymentConditionType
		want     *appsv1.DeploymentStatus
	}{
		{"remove from empty status", &appsv1.DeploymentStatus{}, appsv1.DeploymentProgressing, &appsv1.DeploymentStatus{}},
		{"simple remove", uStatus(uCondProgressing), appsv1.DeploymentProgressing, &appsv1.DeploymentStatus{}},
		{"doesn't remove anything", uStatus(uCondProgressing, uCondAvailable), appsv1.DeploymentReplicaFailure, uStatus(uCondProgressing, uCondAvailable)},
		{"an empty non-nil list becomes nil", &appsv1.DeploymentStatus{Conditions: []appsv1.DeploymentCondition{}}, appsv1.DeploymentProgressing, &appsv1.DeploymentStatus{}},
		{"the others keep their order", uStatus(uCondAvailable, uCondProgressing, uCond(appsv1.DeploymentReplicaFailure, corev1.ConditionTrue, "x")),
			appsv1.DeploymentProgressing, uStatus(uCondAvailable, uCond(appsv1.DeploymentReplicaFailure, corev1.ConditionTrue, "x"))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			removeDeploymentCondition(tc.status, tc.condType)
			if !reflect.DeepEqual(tc.status, tc.want) {
				t.Errorf("got %#v, want %#v", tc.status, tc.want)
			}
		})
	}
}

func TestReplicaSetToDeploymentCondition(t *testing.T) {
	t1 := metav1.NewTime(uNow.Add(-time.Hour))
	got := replicaSetToDeploymentCondition(appsv1.ReplicaSetCondition{Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue,
		LastTransitionTime: t1, Reason: "FailedCreate", Message: "quota"})
	want := appsv1.DeploymentCondition{Type: appsv1.DeploymentReplicaFailure, Status: corev1.ConditionTrue,
		LastUpdateTime: t1, LastTransitionTime: t1, Reason: "FailedCreate", Message: "quota"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestHasProgressDeadlineAndRevisionHistoryLimit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value *int32
		want  bool
	}{
		{"nil", nil, false},
		{"MaxInt32 means none", ptr.To[int32](math.MaxInt32), false},
		{"0", ptr.To[int32](0), true},
		{"600", ptr.To[int32](600), true},
		{"MaxInt32-1", ptr.To[int32](math.MaxInt32 - 1), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := uRecreate(1)
			d.Spec.ProgressDeadlineSeconds = tc.value
			if got := hasProgressDeadline(d); got != tc.want {
				t.Errorf("hasProgressDeadline = %v, want %v", got, tc.want)
			}
			d = uRecreate(1)
			d.Spec.RevisionHistoryLimit = tc.value
			if got := hasRevisionHistoryLimit(d); got != tc.want {
				t.Errorf("hasRevisionHistoryLimit = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestDeploymentComplete is DUT:741-816 and the observedGeneration term.
func TestDeploymentComplete(t *testing.T) {
	dep := func(desired, current, updated, available, maxUnavailable, maxSurge int32) *appsv1.Deployment {
		d := uRolling(desired, intstr.FromInt32(maxSurge), intstr.FromInt32(maxUnavailable))
		d.Status = appsv1.DeploymentStatus{Replicas: current, UpdatedReplicas: updated, AvailableReplicas: available}
		return d
	}
	generation := func(gen, observed int64) *appsv1.Deployment {
		d := dep(5, 5, 5, 5, 0, 0)
		d.Generation, d.Status.ObservedGeneration = gen, observed
		return d
	}
	cases := []struct {
		name string
		d    *appsv1.Deployment
		want bool
	}{
		{"not complete: min but not all pods become available", dep(5, 5, 5, 4, 1, 0), false},
		{"not complete: min availability is not honored", dep(5, 5, 5, 3, 1, 0), false},
		{"complete", dep(5, 5, 5, 5, 0, 0), true},
		{"not complete: all pods are available but not updated", dep(5, 5, 4, 5, 0, 0), false},
		{"not complete: still running old pods", dep(1, 2, 1, 1, 0, 1), false},
		{"not complete: one replica deployment never comes up", dep(1, 1, 1, 0, 1, 1), false},
		{"not complete: generation not observed", generation(3, 2), false},
		{"complete: generation observed", generation(3, 3), true},
		{"complete: observed beyond the generation", generation(3, 4), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := deploymentComplete(tc.d, &tc.d.Status); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestDeploymentProgressing is DUT:818-911.
func TestDeploymentProgressing(t *testing.T) {
	st := func(current, updated, ready, available int32) appsv1.DeploymentStatus {
		return appsv1.DeploymentStatus{Replicas: current, UpdatedReplicas: updated, ReadyReplicas: ready, AvailableReplicas: available}
	}
	cases := []struct {
		name     string
		old, new appsv1.DeploymentStatus
		want     bool
	}{
		{"progressing: updated pods", st(10, 4, 4, 4), st(10, 6, 4, 4), true},
		{"not progressing", st(10, 4, 4, 4), st(10, 4, 4, 4), false},
		{"progressing: old pods removed", st(10, 4, 6, 6), st(8, 4, 6, 6), true},
		{"not progressing: less new pods", st(10, 7, 3, 3), st(10, 6, 3, 3), false},
		{"progressing: less overall but more new pods", st(10, 4, 7, 7), st(8, 8, 5, 5), true},
		{"progressing: more ready pods", st(10, 10, 9, 8), st(10, 10, 10, 8), true},
		{"progressing: more available pods", st(10, 10, 10, 9), st(10, 10, 10, 10), true},
		{"not progressing: fewer of everything but old ones the same", st(10, 5, 9, 9), st(9, 4, 8, 8), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := &appsv1.Deployment{Status: tc.old}
			if got := deploymentProgressing(d, &tc.new); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestDeploymentTimedOut is DUT:913-994 and D22.3.
func TestDeploymentTimedOut(t *testing.T) {
	at := func(min, sec int) time.Time { return time.Date(2016, 1, 1, 0, min, sec, 0, time.UTC) }
	ten, infinite := ptr.To[int32](10), ptr.To[int32](math.MaxInt32)
	dep := func(condType appsv1.DeploymentConditionType, reason string, pds *int32, from time.Time) *appsv1.Deployment {
		return &appsv1.Deployment{
			Spec: appsv1.DeploymentSpec{ProgressDeadlineSeconds: pds},
			Status: appsv1.DeploymentStatus{Conditions: []appsv1.DeploymentCondition{
				{Type: condType, Status: corev1.ConditionTrue, Reason: reason, LastUpdateTime: metav1.NewTime(from)},
			}},
		}
	}
	cases := []struct {
		name string
		d    *appsv1.Deployment
		now  time.Time
		want bool
	}{
		{"nil progressDeadlineSeconds specified - no timeout", dep(appsv1.DeploymentProgressing, "", nil, at(1, 9)), at(1, 20), false},
		{"infinite progressDeadlineSeconds specified - no timeout", dep(appsv1.DeploymentProgressing, "", infinite, at(1, 9)), at(1, 20), false},
		{"progressDeadlineSeconds: 10s, now - started => 00:01:20 - 00:01:09 => 11s", dep(appsv1.DeploymentProgressing, "", ten, at(1, 9)), at(1, 20), true},
		{"progressDeadlineSeconds: 10s, now - started => 00:01:20 - 00:01:11 => 9s", dep(appsv1.DeploymentProgressing, "", ten, at(1, 11)), at(1, 20), false},
		{"previous status was a complete deployment", dep(appsv1.DeploymentProgressing, ReasonNewRSAvailable, nil, time.Time{}), at(1, 20), false},
		// D22.3.
		{"exactly at the deadline: not yet (strict)", dep(appsv1.DeploymentProgressing, "", ten, at(1, 10)), at(1, 20), false},
		{"a nanosecond past the deadline", dep(appsv1.DeploymentProgressing, "", ten, at(1, 10)), at(1, 20).Add(time.Nanosecond), true},
		{"complete, long ago, with a deadline", dep(appsv1.DeploymentProgressing, ReasonNewRSAvailable, ten, at(0, 0)), at(30, 0), false},
		{"already timed out, whatever the time", dep(appsv1.DeploymentProgressing, ReasonTimedOut, ten, at(1, 19)), at(1, 20), true},
		{"no Progressing condition", dep(appsv1.DeploymentAvailable, "", ten, at(0, 0)), at(30, 0), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := deploymentTimedOut(tc.d, &tc.d.Status, tc.now); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Status

func TestCalculateStatus(t *testing.T) {
	earlier := metav1.NewTime(uNow.Add(-time.Hour))
	mk := func(name string, spec, status, ready, available int32, terminating *int32) *appsv1.ReplicaSet {
		rs := uRS(name, spec, uT0)
		rs.Status = appsv1.ReplicaSetStatus{Replicas: status, ReadyReplicas: ready, AvailableReplicas: available,
			ObservedGeneration: 1, TerminatingReplicas: terminating}
		return rs
	}
	unsynced := func(name string) *appsv1.ReplicaSet { return uRS(name, 0, uT0) }
	availableNow := *newDeploymentCondition(appsv1.DeploymentAvailable, corev1.ConditionTrue, ReasonMinimumReplicasAvailable, "Deployment has minimum availability.", uNow)
	unavailableNow := *newDeploymentCondition(appsv1.DeploymentAvailable, corev1.ConditionFalse, ReasonMinimumReplicasUnavailable, "Deployment does not have minimum availability.", uNow)
	availableBefore := appsv1.DeploymentCondition{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: ReasonMinimumReplicasAvailable,
		Message: "Deployment has minimum availability.", LastUpdateTime: earlier, LastTransitionTime: earlier}
	progressing := appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: ReasonReplicaSetUpdated,
		Message: `ReplicaSet "new" is progressing.`, LastUpdateTime: earlier, LastTransitionTime: earlier}

	cases := []struct {
		name   string
		d      *appsv1.Deployment
		allRSs []*appsv1.ReplicaSet
		newRS  string // the name in allRSs, "" for none
		want   appsv1.DeploymentStatus
	}{
		{
			name: "no ReplicaSets: zeros, terminating &0, unavailable",
			d:    uRolling(3, intstr.FromString("25%"), intstr.FromString("25%")),
			want: appsv1.DeploymentStatus{TerminatingReplicas: ptr.To[int32](0), Conditions: []appsv1.DeploymentCondition{unavailableNow}},
		},
		{
			name:   "mid-rollout: sums, updated from the new RS, unavailable from spec sizes",
			d:      uRolling(4, intstr.FromString("25%"), intstr.FromString("25%")), // surge 1, unavailable 1
			allRSs: []*appsv1.ReplicaSet{mk("old", 3, 3, 3, 3, ptr.To[int32](1)), mk("new", 2, 2, 1, 0, ptr.To[int32](0))},
			newRS:  "new",
			want: appsv1.DeploymentStatus{Replicas: 5, UpdatedReplicas: 2, ReadyReplicas: 4, AvailableReplicas: 3, UnavailableReplicas: 2,
				TerminatingReplicas: ptr.To[int32](1), Conditions: []appsv1.DeploymentCondition{availableNow}},
		},
		{
			name:   "more available than spec (just scaled down): unavailable floored at 0",
			d:      uRolling(2, intstr.FromInt32(1), intstr.FromInt32(0)),
			allRSs: []*appsv1.ReplicaSet{mk("new", 2, 4, 4, 4, ptr.To[int32](0))},
			newRS:  "new",
			want: appsv1.DeploymentStatus{Replicas: 4, UpdatedReplicas: 4, ReadyReplicas: 4, AvailableReplicas: 4,
				TerminatingReplicas: ptr.To[int32](0), Conditions: []appsv1.DeploymentCondition{availableNow}},
		},
		{
			name:   "no new RS: updated 0",
			d:      uRolling(2, intstr.FromInt32(1), intstr.FromInt32(0)),
			allRSs: []*appsv1.ReplicaSet{mk("old", 2, 2, 2, 2, ptr.To[int32](0))},
			want: appsv1.DeploymentStatus{Replicas: 2, ReadyReplicas: 2, AvailableReplicas: 2,
				TerminatingReplicas: ptr.To[int32](0), Conditions: []appsv1.DeploymentCondition{availableNow}},
		},
		{
			name:   "Recreate needs every replica available",
			d:      uRecreate(2),
			allRSs: []*appsv1.ReplicaSet{mk("new", 2, 2, 2, 1, ptr.To[int32](0))},
			newRS:  "new",
			want: appsv1.DeploymentStatus{Replicas: 2, UpdatedReplicas: 2, ReadyReplicas: 2, AvailableReplicas: 1, UnavailableReplicas: 1,
				TerminatingReplicas: ptr.To[int32](0), Conditions: []appsv1.DeploymentCondition{unavailableNow}},
		},
		{
			name:   "an unsynced RS without terminatingReplicas is skipped",
			d:      uRolling(1, intstr.FromInt32(1), intstr.FromInt32(0)),
			allRSs: []*appsv1.ReplicaSet{unsynced("fresh"), mk("new", 1, 1, 1, 1, ptr.To[int32](2))},
			newRS:  "new",
			want: appsv1.DeploymentStatus{Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1,
				TerminatingReplicas: ptr.To[int32](2), Conditions: []appsv1.DeploymentCondition{availableNow}},
		},
		{
			name:   "a synced RS without terminatingReplicas makes it nil",
			d:      uRolling(1, intstr.FromInt32(1), intstr.FromInt32(0)),
			allRSs: []*appsv1.ReplicaSet{unsynced("fresh"), mk("old", 0, 0, 0, 0, nil), mk("new", 1, 1, 1, 1, ptr.To[int32](0))},
			newRS:  "new",
			want: appsv1.DeploymentStatus{Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1,
				TerminatingReplicas: nil, Conditions: []appsv1.DeploymentCondition{availableNow}},
		},
		{
			name: "generation, collisionCount carried; Available unchanged keeps its place and times",
			d: func() *appsv1.Deployment {
				d := uRolling(1, intstr.FromInt32(1), intstr.FromInt32(0))
				d.Generation = 7
				d.Status = appsv1.DeploymentStatus{ObservedGeneration: 5, CollisionCount: ptr.To[int32](2), Replicas: 9,
					Conditions: []appsv1.DeploymentCondition{availableBefore, progressing}}
				return d
			}(),
			allRSs: []*appsv1.ReplicaSet{mk("new", 1, 1, 1, 1, ptr.To[int32](0))},
			newRS:  "new",
			want: appsv1.DeploymentStatus{ObservedGeneration: 7, CollisionCount: ptr.To[int32](2), Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1,
				AvailableReplicas: 1, TerminatingReplicas: ptr.To[int32](0), Conditions: []appsv1.DeploymentCondition{availableBefore, progressing}},
		},
		{
			name: "Available turning False goes after Progressing with new times",
			d: func() *appsv1.Deployment {
				d := uRolling(1, intstr.FromInt32(1), intstr.FromInt32(0))
				d.Status.Conditions = []appsv1.DeploymentCondition{availableBefore, progressing}
				return d
			}(),
			allRSs: []*appsv1.ReplicaSet{mk("new", 1, 1, 0, 0, ptr.To[int32](0))},
			newRS:  "new",
			want: appsv1.DeploymentStatus{Replicas: 1, UpdatedReplicas: 1, UnavailableReplicas: 1, TerminatingReplicas: ptr.To[int32](0),
				Conditions: []appsv1.DeploymentCondition{progressing, unavailableNow}},
		},
		{
			name:   "replicas 0: maxUnavailable 0, 0 ≥ 0 is available",
			d:      uRolling(0, intstr.FromString("25%"), intstr.FromString("25%")),
			allRSs: []*appsv1.ReplicaSet{mk("new", 0, 0, 0, 0, ptr.To[int32](0))},
			newRS:  "new",
			want:   appsv1.DeploymentStatus{TerminatingReplicas: ptr.To[int32](0), Conditions: []appsv1.DeploymentCondition{availableNow}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var newRS *appsv1.ReplicaSet
			for _, rs := range tc.allRSs {
				if rs.Name == tc.newRS {
					newRS = rs
				}
			}
			before := tc.d.DeepCopy()
			got := calculateStatus(tc.allRSs, newRS, tc.d, uNow)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
			if len(got.Conditions) > 0 {
				got.Conditions[0].Reason = "mutated"
			}
			if !reflect.DeepEqual(tc.d, before) {
				t.Error("the Deployment changed (or shares its conditions with the result)")
			}
		})
	}
}

// TestProgressRequeue is PGT:71-194 (requeueStuckDeployment), with the raw
// duration where upstream returns 0 for "now, rate-limited".
func TestProgressRequeue(t *testing.T) {
	pds, infinite := ptr.To[int32](60), ptr.To[int32](math.MaxInt32)
	failed := []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: ReasonTimedOut}}
	stuck := []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue,
		LastUpdateTime: metav1.Date(2017, 2, 15, 18, 49, 0, 0, time.UTC)}}
	// PGT:43-59: a Recreate Deployment of that size and status.
	current := func(pds *int32, replicas, statusReplicas, updated, available int32, conds []appsv1.DeploymentCondition) *appsv1.Deployment {
		d := uRecreate(replicas)
		d.Spec.ProgressDeadlineSeconds = pds
		d.Status = appsv1.DeploymentStatus{Replicas: statusReplicas, UpdatedReplicas: updated, AvailableReplicas: available, Conditions: conds}
		return d
	}
	st := func(replicas, updated, available int32) appsv1.DeploymentStatus {
		return appsv1.DeploymentStatus{Replicas: replicas, UpdatedReplicas: updated, AvailableReplicas: available}
	}
	at := func(min, sec, nsec int) time.Time { return time.Date(2017, 2, 15, 18, min, sec, nsec, time.UTC) }
	cases := []struct {
		name   string
		d      *appsv1.Deployment
		status appsv1.DeploymentStatus
		now    time.Time
		want   time.Duration
		wantOK bool
	}{
		{name: "nil progressDeadlineSeconds specified", d: current(nil, 4, 3, 3, 2, nil), status: st(3, 3, 2), now: at(49, 0, 0)},
		{name: "infinite progressDeadlineSeconds specified", d: current(infinite, 4, 3, 3, 2, nil), status: st(3, 3, 2), now: at(49, 0, 0)},
		{name: "no progressing condition found", d: current(pds, 4, 3, 3, 2, nil), status: st(3, 3, 2), now: at(49, 0, 0)},
		{name: "complete deployment does not need to be requeued", d: current(pds, 3, 3, 3, 3, stuck), status: st(3, 3, 3), now: at(49, 0, 0)},
		{name: "already failed deployment does not need to be requeued", d: current(pds, 3, 3, 3, 0, failed), status: st(3, 3, 0), now: at(49, 0, 0)},
		{name: "stuck deployment - 30s", d: current(pds, 3, 3, 3, 1, stuck), status: st(3, 3, 1), now: at(49, 30, 0), want: 30 * time.Second, wantOK: true},
		{name: "stuck deployment - 1s", d: current(pds, 3, 3, 3, 1, stuck), status: st(3, 3, 1), now: at(49, 59, 0), want: time.Second, wantOK: true},
		{name: "failed deployment - less than a second => now", d: current(pds, 3, 3, 3, 1, stuck), status: st(3, 3, 1), now: at(49, 59, 1), want: time.Second - time.Nanosecond, wantOK: true},
		{name: "failed deployment - now", d: current(pds, 3, 3, 3, 1, stuck), status: st(3, 3, 1), now: at(50, 0, 0), want: 0, wantOK: true},
		{name: "failed deployment - 1s after deadline", d: current(pds, 3, 3, 3, 1, stuck), status: st(3, 3, 1), now: at(50, 1, 0), want: -time.Second, wantOK: true},
		{name: "failed deployment - 60s after deadline", d: current(pds, 3, 3, 3, 1, stuck), status: st(3, 3, 1), now: at(51, 0, 0), want: -time.Minute, wantOK: true},
		// The condition looked at is the Deployment's current one, not newStatus's.
		{name: "newStatus timed out but the current condition is not", d: current(pds, 3, 3, 3, 1, stuck),
			status: appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, AvailableReplicas: 1, Conditions: failed}, now: at(49, 30, 0), want: 30 * time.Second, wantOK: true},
		{name: "complete needs the generation observed", d: func() *appsv1.Deployment {
			d := current(pds, 3, 3, 3, 3, stuck)
			d.Generation = 2
			return d
		}(), status: st(3, 3, 3), now: at(49, 30, 0), want: 30 * time.Second, wantOK: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := progressRequeue(tc.d, &tc.status, tc.now)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("got %v, %v; want %v, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}
