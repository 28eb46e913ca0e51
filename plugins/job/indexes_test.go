package job

import (
	"math"
	"reflect"
	"sort"
	"strconv"
	"testing"
)

// idxtNoIndex marks a test pod without the completion-index annotation
// (upstream's noIndex).
const idxtNoIndex = "-"

// idxtAnnotations is the annotations of a test pod with the given index
// annotation value (none for idxtNoIndex).
func idxtAnnotations(index string) map[string]string {
	if index == idxtNoIndex {
		return nil
	}
	return map[string]string{CompletionIndexAnnotation: index}
}

// idxtEqual compares interval lists, nil and empty being equal.
func idxtEqual(a, b orderedIntervals) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}

func TestParseIndexesFromString(t *testing.T) {
	cases := map[string]struct {
		s           string
		completions int
		want        orderedIntervals
	}{
		// The previous-status halves of IDXT TestCalculateSucceededIndexes
		// and TestCalculateFailedIndexes.
		"empty":                                   {s: "", completions: 5, want: nil},
		"prev interval out of range":              {s: "0-5,8-10", completions: 8, want: orderedIntervals{{0, 5}}},
		"prev interval partially out of range":    {s: "0-5,8-10", completions: 10, want: orderedIntervals{{0, 5}, {8, 9}}},
		"prev and new separate":                   {s: "0,4,5,10-12", completions: 13, want: orderedIntervals{{0, 0}, {4, 5}, {10, 12}}},
		"prev between new":                        {s: "3,4,6", completions: 9, want: orderedIntervals{{3, 4}, {6, 6}}},
		"new between prev":                        {s: "2,7,8", completions: 9, want: orderedIntervals{{2, 2}, {7, 8}}},
		"new within prev":                         {s: "2-7", completions: 10, want: orderedIntervals{{2, 7}}},
		"corrupted interval":                      {s: "0,1-foo,bar", completions: 4, want: orderedIntervals{{0, 0}}},
		"extend the failed indexes":               {s: "0", completions: 2, want: orderedIntervals{{0, 0}}},
		"prev failed indexes outside completions": {s: "9", completions: 2, want: nil},
		// JCT "indexed job past and new pods": "7" >= completions stops.
		"indexed job past and new pods": {s: "0-2,4,6,7", completions: 7, want: orderedIntervals{{0, 2}, {4, 4}, {6, 6}}},
		// JCT "... prev successful pods outside current completions index range ...".
		"prev successful pods outside current completions": {s: "3", completions: 2, want: nil},
		// SPT "rules.succeededIndexes is invalid format".
		"invalid format": {s: "invalid-form", completions: 10, want: nil},

		// Not upstream table rows: J11.2 read off IDX:202-240 (and checked
		// against a copy of upstream's function).
		"pair written a,b":                  {s: "1,2", completions: 5, want: orderedIntervals{{1, 2}}},
		"adjacent ranges are merged":        {s: "0-2,3-4,5", completions: 9, want: orderedIntervals{{0, 5}}},
		"end clamped to completions-1":      {s: "2-100", completions: 5, want: orderedIntervals{{2, 4}}},
		"a piece at completions stops":      {s: "1,5,3", completions: 4, want: orderedIntervals{{1, 1}}},
		"unparsable pieces skipped":         {s: "a,1,-1,2-b,,4", completions: 9, want: orderedIntervals{{1, 1}, {4, 4}}},
		"numbers after a second dash":       {s: "1-3-7", completions: 9, want: orderedIntervals{{1, 3}}},
		"Atoi accepts sign and zeros":       {s: "+1,007", completions: 9, want: orderedIntervals{{1, 1}, {7, 7}}},
		"unsorted pieces are kept in order": {s: "0,2,1", completions: 9, want: orderedIntervals{{0, 0}, {2, 2}, {1, 1}}},
		"zero completions":                  {s: "0", completions: 0, want: nil},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := parseIndexesFromString(tc.s, tc.completions)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parseIndexesFromString(%q, %d) = %v, want %v", tc.s, tc.completions, got, tc.want)
			}
		})
	}
}

func TestOrderedIntervalsString(t *testing.T) {
	// The strings are status.completedIndexes values that JCT
	// (TestControllerSyncJob, TestTrackJobStatusAndRemoveFinalizers) expects
	// for these sets, and the examples of J11.2.
	cases := map[string]struct {
		indexes []int
		want    string
	}{
		"empty":                    {want: ""},
		"single":                   {indexes: []int{0}, want: "0"},
		"two in a row are a,b":     {indexes: []int{0, 1}, want: "0,1"},
		"three in a row":           {indexes: []int{0, 1, 2}, want: "0-2"},
		"two separate":             {indexes: []int{1, 3}, want: "1,3"},
		"pair then range":          {indexes: []int{2, 4, 5, 7, 8, 9}, want: "2,4,5,7-9"},
		"range in the middle":      {indexes: []int{1, 3, 4, 5, 7}, want: "1,3-5,7"},
		"range then single":        {indexes: []int{0, 1, 2, 3, 4, 6}, want: "0-4,6"},
		"range then pair":          {indexes: []int{0, 1, 2, 4, 6, 7}, want: "0-2,4,6,7"},
		"pair inside larger words": {indexes: []int{10, 11, 99}, want: "10,11,99"},
		"long range": {indexes: func() []int {
			var ix []int
			for i := range 500 {
				ix = append(ix, i)
			}
			return ix
		}(), want: "0-499"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			oi := orderedIntervals(nil).withOrderedIndexes(tc.indexes)
			if got := oi.String(); got != tc.want {
				t.Errorf("%v.String() = %q, want %q", oi, got, tc.want)
			}
			if got := oi.total(); got != len(tc.indexes) {
				t.Errorf("%v.total() = %d, want %d", oi, got, len(tc.indexes))
			}
			// The string reads back as the same set.
			if back := parseIndexesFromString(tc.want, 1000); !idxtEqual(back, oi) {
				t.Errorf("parseIndexesFromString(%q) = %v, want %v", tc.want, back, oi)
			}
		})
	}
}

// TestCalculateSucceededIndexes ports IDXT TestCalculateSucceededIndexes:
// the previous completedIndexes parsed against completions, united with the
// indexes of succeeded pods with a valid index (all test pods carry the
// tracking finalizer), as IDX:59-73 computes them.
func TestCalculateSucceededIndexes(t *testing.T) {
	type pod struct{ index, phase string }
	cases := map[string]struct {
		prevSucceeded       string
		pods                []pod
		completions         int
		wantStatusIntervals orderedIntervals
		wantIntervals       orderedIntervals
	}{
		"one index": {
			pods:          []pod{{"1", PodSucceeded}},
			completions:   2,
			wantIntervals: orderedIntervals{{1, 1}},
		},
		"two separate": {
			pods: []pod{
				{"2", PodFailed},
				{"5", PodSucceeded},
				{"5", PodSucceeded},
				{"10", PodFailed},
				{"10", PodSucceeded},
			},
			completions:   11,
			wantIntervals: orderedIntervals{{5, 5}, {10, 10}},
		},
		"two intervals": {
			pods: []pod{
				{"0", PodRunning},
				{"1", PodPending},
				{"2", PodSucceeded},
				{"3", PodSucceeded},
				{"5", PodSucceeded},
				{"6", PodSucceeded},
				{"7", PodSucceeded},
			},
			completions:   8,
			wantIntervals: orderedIntervals{{2, 3}, {5, 7}},
		},
		"one index and one interval": {
			pods: []pod{
				{"0", PodSucceeded},
				{"1", PodFailed},
				{"2", PodSucceeded},
				{"3", PodSucceeded},
				{"4", PodSucceeded},
				{"5", PodSucceeded},
				{idxtNoIndex, PodSucceeded},
				{"-2", PodSucceeded},
			},
			completions:   6,
			wantIntervals: orderedIntervals{{0, 0}, {2, 5}},
		},
		"out of range": {
			pods: []pod{
				{"0", PodSucceeded},
				{"1", PodSucceeded},
				{"2", PodSucceeded},
				{"3", PodFailed},
				{"4", PodSucceeded},
				{"5", PodSucceeded},
				{idxtNoIndex, PodSucceeded},
				{"-2", PodSucceeded},
			},
			completions:   5,
			wantIntervals: orderedIntervals{{0, 2}, {4, 4}},
		},
		"prev interval out of range": {
			prevSucceeded:       "0-5,8-10",
			completions:         8,
			wantStatusIntervals: orderedIntervals{{0, 5}},
			wantIntervals:       orderedIntervals{{0, 5}},
		},
		"prev interval partially out of range": {
			prevSucceeded:       "0-5,8-10",
			completions:         10,
			wantStatusIntervals: orderedIntervals{{0, 5}, {8, 9}},
			wantIntervals:       orderedIntervals{{0, 5}, {8, 9}},
		},
		"prev and new separate": {
			prevSucceeded: "0,4,5,10-12",
			pods: []pod{
				{"2", PodSucceeded},
				{"7", PodSucceeded},
				{"8", PodSucceeded},
			},
			completions:         13,
			wantStatusIntervals: orderedIntervals{{0, 0}, {4, 5}, {10, 12}},
			wantIntervals:       orderedIntervals{{0, 0}, {2, 2}, {4, 5}, {7, 8}, {10, 12}},
		},
		"prev between new": {
			prevSucceeded: "3,4,6",
			pods: []pod{
				{"2", PodSucceeded},
				{"7", PodSucceeded},
				{"8", PodSucceeded},
			},
			completions:         9,
			wantStatusIntervals: orderedIntervals{{3, 4}, {6, 6}},
			wantIntervals:       orderedIntervals{{2, 4}, {6, 8}},
		},
		"new between prev": {
			prevSucceeded: "2,7,8",
			pods: []pod{
				{"3", PodSucceeded},
				{"4", PodSucceeded},
				{"6", PodSucceeded},
			},
			completions:         9,
			wantStatusIntervals: orderedIntervals{{2, 2}, {7, 8}},
			wantIntervals:       orderedIntervals{{2, 4}, {6, 8}},
		},
		"new within prev": {
			prevSucceeded: "2-7",
			pods: []pod{
				{"0", PodSucceeded},
				{"3", PodSucceeded},
				{"5", PodSucceeded},
				{"9", PodSucceeded},
			},
			completions:         10,
			wantStatusIntervals: orderedIntervals{{2, 7}},
			wantIntervals:       orderedIntervals{{0, 0}, {2, 7}, {9, 9}},
		},
		"corrupted interval": {
			prevSucceeded:       "0,1-foo,bar",
			pods:                []pod{{"3", PodSucceeded}},
			completions:         4,
			wantStatusIntervals: orderedIntervals{{0, 0}},
			wantIntervals:       orderedIntervals{{0, 0}, {3, 3}},
		},
		// JCT TestTrackJobStatusAndRemoveFinalizers "indexed job past and
		// new pods" (the status string is "0-4,6").
		"indexed job past and new pods": {
			prevSucceeded: "0-2,4,6,7",
			pods: []pod{
				{"1", PodSucceeded},
				{"3", PodSucceeded},
				{"2", PodFailed},
				{"5", PodFailed},
			},
			completions:         7,
			wantStatusIntervals: orderedIntervals{{0, 2}, {4, 4}, {6, 6}},
			wantIntervals:       orderedIntervals{{0, 4}, {6, 6}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			gotStatus := parseIndexesFromString(tc.prevSucceeded, tc.completions)
			seen := map[int]bool{}
			var newIndexes []int
			for _, p := range tc.pods {
				ix := getCompletionIndex(idxtAnnotations(p.index))
				if p.phase == PodSucceeded && ix != -1 && ix < tc.completions && !seen[ix] {
					seen[ix] = true
					newIndexes = append(newIndexes, ix)
				}
			}
			sort.Ints(newIndexes)
			got := gotStatus.withOrderedIndexes(newIndexes)
			if !idxtEqual(gotStatus, tc.wantStatusIntervals) {
				t.Errorf("completed indexes from status = %v, want %v", gotStatus, tc.wantStatusIntervals)
			}
			if !idxtEqual(got, tc.wantIntervals) {
				t.Errorf("completed indexes = %v, want %v", got, tc.wantIntervals)
			}
			if len(gotStatus) > 0 && &got[0] == &gotStatus[0] {
				t.Errorf("withOrderedIndexes reused the receiver's array")
			}
		})
	}
}

// TestMergeIntervals covers the union of two interval lists (IDX:122-154),
// as used for failed indexes in firstPendingIndexes.
func TestMergeIntervals(t *testing.T) {
	cases := map[string]struct {
		a, b orderedIntervals
		want orderedIntervals
	}{
		"both empty":       {want: nil},
		"left empty":       {b: orderedIntervals{{1, 2}}, want: orderedIntervals{{1, 2}}},
		"right empty":      {a: orderedIntervals{{1, 2}}, want: orderedIntervals{{1, 2}}},
		"disjoint":         {a: orderedIntervals{{0, 1}, {8, 9}}, b: orderedIntervals{{4, 5}}, want: orderedIntervals{{0, 1}, {4, 5}, {8, 9}}},
		"touching":         {a: orderedIntervals{{0, 1}}, b: orderedIntervals{{2, 3}}, want: orderedIntervals{{0, 3}}},
		"overlapping":      {a: orderedIntervals{{0, 4}}, b: orderedIntervals{{2, 7}}, want: orderedIntervals{{0, 7}}},
		"contained":        {a: orderedIntervals{{0, 9}}, b: orderedIntervals{{2, 3}, {5, 5}}, want: orderedIntervals{{0, 9}}},
		"bridging":         {a: orderedIntervals{{0, 1}, {5, 6}}, b: orderedIntervals{{2, 4}}, want: orderedIntervals{{0, 6}}},
		"gap of one index": {a: orderedIntervals{{0, 1}}, b: orderedIntervals{{3, 3}}, want: orderedIntervals{{0, 1}, {3, 3}}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := tc.a.merge(tc.b); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%v.merge(%v) = %v, want %v", tc.a, tc.b, got, tc.want)
			}
			if got := tc.b.merge(tc.a); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%v.merge(%v) = %v, want %v", tc.b, tc.a, got, tc.want)
			}
		})
	}
}

// TestIntervalsHaveIndex ports IDXT TestIntervalsHaveIndex.
func TestIntervalsHaveIndex(t *testing.T) {
	cases := map[string]struct {
		intervals orderedIntervals
		index     int
		wantHas   bool
	}{
		"empty": {
			index: 4,
		},
		"before all": {
			index:     1,
			intervals: orderedIntervals{{2, 4}, {5, 7}},
		},
		"after all": {
			index:     9,
			intervals: orderedIntervals{{2, 4}, {6, 8}},
		},
		"in between": {
			index:     5,
			intervals: orderedIntervals{{2, 4}, {6, 8}},
		},
		"in first": {
			index:     2,
			intervals: orderedIntervals{{2, 4}, {6, 8}},
			wantHas:   true,
		},
		"in second": {
			index:     8,
			intervals: orderedIntervals{{2, 4}, {6, 8}},
			wantHas:   true,
		},
		// Not upstream rows.
		"inside first": {
			index:     3,
			intervals: orderedIntervals{{2, 4}, {6, 8}},
			wantHas:   true,
		},
		"end of first": {
			index:     4,
			intervals: orderedIntervals{{2, 4}, {6, 8}},
			wantHas:   true,
		},
		"no index": {
			index:     -1,
			intervals: orderedIntervals{{0, 4}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if has := tc.intervals.has(tc.index); has != tc.wantHas {
				t.Errorf("%v.has(%d) = %t, want %t", tc.intervals, tc.index, has, tc.wantHas)
			}
		})
	}
}

// TestFirstPendingIndexes ports IDXT TestFirstPendingIndexes; the active
// pods become their getCompletionIndex values (-1 for the index-less ones).
func TestFirstPendingIndexes(t *testing.T) {
	cases := map[string]struct {
		cnt              int
		completions      int
		activePods       []string // completion-index annotation values
		succeededIndexes orderedIntervals
		failedIndexes    orderedIntervals
		want             []int
	}{
		"cnt greater than completions": {
			cnt:         5,
			completions: 3,
			want:        []int{0, 1, 2},
		},
		"cnt less than completions": {
			cnt:         2,
			completions: 5,
			want:        []int{0, 1},
		},
		"first pods active": {
			activePods:  []string{"0", "1"},
			cnt:         3,
			completions: 10,
			want:        []int{2, 3, 4},
		},
		"last pods active or succeeded": {
			activePods:       []string{"6"},
			succeededIndexes: orderedIntervals{{4, 5}},
			cnt:              6,
			completions:      6,
			want:             []int{0, 1, 2, 3},
		},
		"mixed": {
			activePods:       []string{"3", "5", "8", idxtNoIndex, "-3"},
			succeededIndexes: orderedIntervals{{2, 4}, {9, 9}},
			cnt:              5,
			completions:      20,
			want:             []int{0, 1, 6, 7, 10},
		},
		"with failed indexes": {
			activePods:       []string{"3", "9"},
			succeededIndexes: orderedIntervals{{1, 1}, {5, 5}, {9, 9}},
			failedIndexes:    orderedIntervals{{2, 2}, {6, 7}},
			cnt:              5,
			completions:      20,
			want:             []int{0, 4, 8, 10, 11},
		},
		// Not upstream rows.
		"zero count": {
			cnt:         0,
			completions: 5,
			want:        nil,
		},
		"everything taken": {
			activePods:       []string{"0", "2"},
			succeededIndexes: orderedIntervals{{1, 1}},
			failedIndexes:    orderedIntervals{{3, 3}},
			cnt:              3,
			completions:      4,
			want:             []int{},
		},
		"unsorted duplicated occupied indexes": {
			activePods:  []string{"4", "1", "4", "0"},
			cnt:         3,
			completions: 6,
			want:        []int{2, 3, 5},
		},
		"occupied index beyond completions": {
			activePods:  []string{"7"},
			cnt:         5,
			completions: 3,
			want:        []int{0, 1, 2},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var occupied []int
			for _, v := range tc.activePods {
				occupied = append(occupied, getCompletionIndex(idxtAnnotations(v)))
			}
			got := firstPendingIndexes(occupied, tc.succeededIndexes, tc.failedIndexes, tc.cnt, tc.completions)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("firstPendingIndexes(%v, %v, %v, %d, %d) = %#v, want %#v",
					occupied, tc.succeededIndexes, tc.failedIndexes, tc.cnt, tc.completions, got, tc.want)
			}
		})
	}
}

// TestIndexedPodName ports IDXT TestPodGenerateNameWithIndex.
func TestIndexedPodName(t *testing.T) {
	cases := map[string]struct {
		jobname             string
		index               int
		wantPodGenerateName string
	}{
		"short job name": {
			jobname:             "indexed-job",
			index:               1,
			wantPodGenerateName: "indexed-job-1-",
		},
		"job name exceeds MaxGeneneratedNameLength": {
			jobname:             "hhhhhooooohhhhhooooohhhhhooooohhhhhooooohhhhhooooohhhhhooooohhhhhooooo",
			index:               1,
			wantPodGenerateName: "hhhhhooooohhhhhooooohhhhhooooohhhhhooooohhhhhooooohhhhh-1-",
		},
		"job name with index suffix exceeds MaxGeneratedNameLength": {
			jobname:             "hhhhhooooohhhhhooooohhhhhooooohhhhhooooohhhhhooooohhhhhoo",
			index:               1,
			wantPodGenerateName: "hhhhhooooohhhhhooooohhhhhooooohhhhhooooohhhhhooooohhhhh-1-",
		},
		// Not upstream rows: exactly 58 is kept; longer indexes cut more.
		"prefix of exactly 58 kept": {
			jobname:             "hhhhhooooohhhhhooooohhhhhooooohhhhhooooohhhhhooooohhhhh",
			index:               1,
			wantPodGenerateName: "hhhhhooooohhhhhooooohhhhhooooohhhhhooooohhhhhooooohhhhh-1-",
		},
		"long index cuts more of the job name": {
			jobname:             "hhhhhooooohhhhhooooohhhhhooooohhhhhooooohhhhhooooohhhhhooooo",
			index:               12345,
			wantPodGenerateName: "hhhhhooooohhhhhooooohhhhhooooohhhhhooooohhhhhoooooh-12345-",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := indexedPodName(tc.jobname, tc.index)
			if got != tc.wantPodGenerateName {
				t.Errorf("indexedPodName(%q, %d) = %q, want %q", tc.jobname, tc.index, got, tc.wantPodGenerateName)
			}
			if len(got) > 58 {
				t.Errorf("indexedPodName(%q, %d) is %d characters long, want at most 58", tc.jobname, tc.index, len(got))
			}
		})
	}
}

// TestGetCompletionIndex covers J3.3 (IDX:392-408) and the index
// annotation values of IDXT's index tables ("-", "-2", "-3", "invalid").
func TestGetCompletionIndex(t *testing.T) {
	cases := map[string]struct {
		annotations map[string]string
		want        int
	}{
		"nil annotations":       {annotations: nil, want: -1},
		"no index annotation":   {annotations: map[string]string{"other": "3"}, want: -1},
		"zero":                  {annotations: idxtAnnotations("0"), want: 0},
		"plain":                 {annotations: idxtAnnotations("12"), want: 12},
		"plus sign":             {annotations: idxtAnnotations("+3"), want: 3},
		"leading zeros":         {annotations: idxtAnnotations("007"), want: 7},
		"minus zero":            {annotations: idxtAnnotations("-0"), want: 0},
		"minus one":             {annotations: idxtAnnotations("-1"), want: -1},
		"negative":              {annotations: idxtAnnotations("-2"), want: -1},
		"letter":                {annotations: idxtAnnotations("a"), want: -1},
		"invalid":               {annotations: idxtAnnotations("invalid"), want: -1},
		"empty value":           {annotations: idxtAnnotations(""), want: -1},
		"space":                 {annotations: idxtAnnotations(" 1"), want: -1},
		"not an int":            {annotations: idxtAnnotations("1.0"), want: -1},
		"beyond int64 overflow": {annotations: idxtAnnotations("99999999999999999999"), want: -1},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := getCompletionIndex(tc.annotations); got != tc.want {
				t.Errorf("getCompletionIndex(%v) = %d, want %d", tc.annotations, got, tc.want)
			}
		})
	}
}

// TestGetIndexFailureCount ports IDXT TestGetIndexFailureCount, for both
// counter annotations.
func TestGetIndexFailureCount(t *testing.T) {
	cases := map[string]struct {
		value      *string // nil: no annotation
		wantResult int32
	}{
		"no annotation":        {value: nil, wantResult: 0},
		"valid value":          {value: new("2"), wantResult: 2},
		"valid maxint32 value": {value: new(strconv.FormatInt(math.MaxInt32, 10)), wantResult: math.MaxInt32},
		"too large value":      {value: new(strconv.FormatInt(math.MaxInt32+1, 10)), wantResult: 0},
		"negative value":       {value: new("-1"), wantResult: 0},
		"invalid int value":    {value: new("xyz"), wantResult: 0},
		// Not upstream rows.
		"zero":         {value: new("0"), wantResult: 0},
		"plus sign":    {value: new("+4"), wantResult: 4},
		"empty string": {value: new(""), wantResult: 0},
	}
	for name, tc := range cases {
		for _, key := range []string{IndexFailureCountAnnotation, IndexIgnoredFailureCountAnnotation} {
			t.Run(name+"/"+key, func(t *testing.T) {
				annotations := map[string]string{"unrelated": "5"}
				if tc.value != nil {
					annotations[key] = *tc.value
				}
				if got := getIndexFailureCount(annotations, key); got != tc.wantResult {
					t.Errorf("getIndexFailureCount(%v, %q) = %d, want %d", annotations, key, got, tc.wantResult)
				}
			})
		}
	}
	t.Run("the other counter is not read", func(t *testing.T) {
		annotations := map[string]string{IndexIgnoredFailureCountAnnotation: "3"}
		if got := getIndexFailureCount(annotations, IndexFailureCountAnnotation); got != 0 {
			t.Errorf("getIndexFailureCount(%v, %q) = %d, want 0", annotations, IndexFailureCountAnnotation, got)
		}
	})
}
