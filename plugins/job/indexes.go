package job

import (
	"math"
	"sort"
	"strconv"
	"strings"
)

// interval is the closed range [First, Last] of completion indexes.
type interval struct {
	First int
	Last  int
}

// orderedIntervals is a set of completion indexes as ascending, disjoint,
// non-adjacent intervals: the in-memory form of status.completedIndexes,
// status.failedIndexes and a successPolicy rule's succeededIndexes
// (IDX:47-52). A list parsed from a corrupted string can break the
// ordering; like upstream, the functions here do not repair it.
type orderedIntervals []interval

// parseIndexesFromString reads an interval string ("1,3-5,7") against
// completions, as upstream's parseIndexesFromString (IDX:202-240, J11.2):
// the string is split on ',' and each piece on '-'; a piece whose first or
// second number does not parse (strconv.Atoi) is skipped; a piece starting
// at or after completions stops the parsing; a second number at or after
// completions is clamped to completions-1; a piece that starts right after
// the previous kept interval extends it. Numbers after a second '-' are
// ignored, and pieces are neither sorted nor checked for overlap. The empty
// string is the empty set (nil).
func parseIndexesFromString(s string, completions int) orderedIntervals {
	if s == "" {
		return nil
	}
	var out orderedIntervals
	for _, piece := range strings.Split(s, ",") {
		bounds := strings.Split(piece, "-")
		first, err := strconv.Atoi(bounds[0])
		if err != nil {
			continue
		}
		if first >= completions {
			break
		}
		last := first
		if len(bounds) > 1 {
			if last, err = strconv.Atoi(bounds[1]); err != nil {
				continue
			}
			if last >= completions {
				last = completions - 1
			}
		}
		if n := len(out); n > 0 && out[n-1].Last == first-1 {
			out[n-1].Last = last
		} else {
			out = append(out, interval{First: first, Last: last})
		}
	}
	return out
}

// String formats the set as upstream writes completedIndexes and
// failedIndexes (IDX:165-182, J11.2): intervals joined by ',', a run of
// three or more indexes as "first-last", a run of exactly two as "a,b", a
// single index as "a". {1,3,4,5,7} is "1,3-5,7"; {2,4,5,7,8,9} is
// "2,4,5,7-9"; the empty set is "".
func (oi orderedIntervals) String() string {
	var b strings.Builder
	for i, iv := range oi {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(iv.First))
		switch {
		case iv.Last == iv.First+1:
			b.WriteByte(',')
			b.WriteString(strconv.Itoa(iv.Last))
		case iv.Last > iv.First:
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(iv.Last))
		}
	}
	return b.String()
}

// total is the number of indexes in the set (IDX:156-163).
func (oi orderedIntervals) total() int {
	n := 0
	for _, iv := range oi {
		n += iv.Last - iv.First + 1
	}
	return n
}

// has reports whether ix is in the set, by binary search for the first
// interval that ends at or after ix (IDX:184-200).
func (oi orderedIntervals) has(ix int) bool {
	i := sort.Search(len(oi), func(i int) bool { return oi[i].Last >= ix })
	return i < len(oi) && oi[i].First <= ix
}

// withOrderedIndexes returns the union of the set and newIndexes, which
// must be ascending (duplicates are harmless) (IDX:112-120). The receiver
// is not modified.
func (oi orderedIntervals) withOrderedIndexes(newIndexes []int) orderedIntervals {
	add := make(orderedIntervals, len(newIndexes))
	for i, ix := range newIndexes {
		add[i] = interval{First: ix, Last: ix}
	}
	return oi.merge(add)
}

// merge returns the union of two sets as a new list (IDX:122-154): both
// lists are walked in order of First (on equal First the argument's
// interval goes first), each interval either extends the last result
// interval it overlaps or touches, or starts a new one. Nil when both are
// empty.
func (oi orderedIntervals) merge(other orderedIntervals) orderedIntervals {
	var out orderedIntervals
	add := func(iv interval) {
		n := len(out)
		switch {
		case n == 0 || iv.First > out[n-1].Last+1:
			out = append(out, iv)
		case iv.Last > out[n-1].Last:
			out[n-1].Last = iv.Last
		}
	}
	i, j := 0, 0
	for i < len(oi) && j < len(other) {
		if oi[i].First < other[j].First {
			add(oi[i])
			i++
		} else {
			add(other[j])
			j++
		}
	}
	for ; i < len(oi); i++ {
		add(oi[i])
	}
	for ; j < len(other); j++ {
		add(other[j])
	}
	return out
}

// firstPendingIndexes returns, ascending, at most count indexes below
// completions that are neither in occupied nor in succeeded nor in failed
// (IDX:242-273, J11.4). It is upstream's firstPendingIndexes with the pods
// replaced by their indexes:
//
//   - occupied holds the completion indexes (getCompletionIndex) of the
//     active pods and, only when spec.podReplacementPolicy is Failed, of
//     the terminating pods too; any order, duplicates allowed, negative
//     entries (no index) ignored;
//   - succeeded is the Job's completed-index set of this sync;
//   - failed is the failed-index set (nil without backoffLimitPerIndex).
//
// count <= 0 gives nil; otherwise the result is non-nil (possibly empty).
func firstPendingIndexes(occupied []int, succeeded, failed orderedIntervals, count, completions int) []int {
	if count <= 0 {
		return nil
	}
	busy := make([]int, 0, len(occupied))
	for _, ix := range occupied {
		if ix >= 0 {
			busy = append(busy, ix)
		}
	}
	sort.Ints(busy)
	nonPending := succeeded.withOrderedIndexes(busy).merge(failed)

	result := make([]int, 0, min(count, max(completions, 0)))
	next := 0
	for _, iv := range nonPending {
		for ; next < completions && len(result) < count && next < iv.First; next++ {
			result = append(result, next)
		}
		if next <= iv.Last {
			next = iv.Last + 1
		}
	}
	for ; next < completions && len(result) < count; next++ {
		result = append(result, next)
	}
	return result
}

// getCompletionIndex reads a pod's completion index from its
// batch.kubernetes.io/job-completion-index annotation (IDX:392-408, J3.3):
// strconv.Atoi of the value, so "+3" is 3 and "007" is 7; -1 when the
// annotation is missing, unparsable or negative. The label of the same name
// is never read.
func getCompletionIndex(annotations map[string]string) int {
	v, ok := annotations[CompletionIndexAnnotation]
	if !ok {
		return -1
	}
	ix, err := strconv.Atoi(v)
	if err != nil || ix < 0 {
		return -1
	}
	return ix
}

// getIndexFailureCount reads a per-index failure counter annotation (key is
// IndexFailureCountAnnotation or IndexIgnoredFailureCountAnnotation) as
// upstream's parseInt32 does (IDX:410-451, J12.2): strconv.Atoi of the
// value; 0 when the annotation is missing, unparsable, negative or greater
// than MaxInt32.
func getIndexFailureCount(annotations map[string]string, key string) int32 {
	v, ok := annotations[key]
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > math.MaxInt32 {
		return 0
	}
	return int32(n)
}

// maxGenerateNamePrefixLen is the longest generateName the API server
// keeps whole: a name is at most 63 characters and it appends 5 random ones
// (NAMES:43-54).
const maxGenerateNamePrefixLen = 63 - 5

// indexedPodName is the generateName of an Indexed Job's pod, as upstream's
// podGenerateNameWithIndex (IDX:494-501, J8.2): "<job>-<index>-"; when that
// is longer than 58 bytes, the job name is cut (by bytes) so that the whole
// prefix is exactly 58 bytes and still ends in "-<index>-".
func indexedPodName(jobName string, index int) string {
	suffix := "-" + strconv.Itoa(index) + "-"
	prefix := jobName + suffix
	if len(prefix) > maxGenerateNamePrefixLen {
		prefix = prefix[:maxGenerateNamePrefixLen-len(suffix)] + suffix
	}
	return prefix
}
