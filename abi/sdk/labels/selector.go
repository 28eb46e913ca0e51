package labels

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Operator relates a requirement's key to its values. The values are
// apimachinery's selection.Operator strings.
type Operator string

// The operators of Parse and NewRequirement.
const (
	Equals       Operator = "="
	DoubleEquals Operator = "=="
	NotEquals    Operator = "!="
	In           Operator = "in"
	NotIn        Operator = "notin"
	Exists       Operator = "exists"
	DoesNotExist Operator = "!"
	GreaterThan  Operator = "gt"
	LessThan     Operator = "lt"
)

// Requirement is one term of a Selector: a key, an operator and values. The
// zero Requirement is invalid; build one with NewRequirement (or Parse).
type Requirement struct {
	key    string
	op     Operator
	values []string
	num    int64 // the value of GreaterThan and LessThan, parsed once
}

// NewRequirement validates and returns a requirement, with
// labels.NewRequirement's rules:
//
//   - key is a valid label key (ValidateKey);
//   - In and NotIn take one or more values, Equals, DoubleEquals and
//     NotEquals exactly one, Exists and DoesNotExist none;
//   - GreaterThan and LessThan take exactly one value, a base-10 int64;
//   - every value is a valid label value (ValidateValue); "" is one.
//
// values is kept, not copied: do not modify it afterwards.
func NewRequirement(key string, op Operator, values []string) (Requirement, error) {
	var errs []error
	if err := ValidateKey(key); err != nil {
		errs = append(errs, err)
	}
	r := Requirement{key: key, op: op, values: values}
	switch op {
	case In, NotIn:
		if len(values) == 0 {
			errs = append(errs, errors.New("for 'in', 'notin' operators, values set can't be empty"))
		}
	case Equals, DoubleEquals, NotEquals:
		if len(values) != 1 {
			errs = append(errs, errors.New("exact-match compatibility requires one single value"))
		}
	case Exists, DoesNotExist:
		if len(values) != 0 {
			errs = append(errs, errors.New("values set must be empty for exists and does not exist"))
		}
	case GreaterThan, LessThan:
		if len(values) != 1 {
			errs = append(errs, errors.New("for 'Gt', 'Lt' operators, exactly one value is required"))
		}
		for _, v := range values {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				errs = append(errs, fmt.Errorf("for 'Gt', 'Lt' operators, the value must be an integer: %q", v))
			}
			r.num = n
		}
	default:
		errs = append(errs, fmt.Errorf("operator %q is not one of =, ==, !=, in, notin, exists, !, gt, lt", op))
	}
	for _, v := range values {
		if err := ValidateValue(v); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return Requirement{}, errors.Join(errs...)
	}
	return r, nil
}

// Key returns the requirement's label key.
func (r Requirement) Key() string { return r.key }

// Operator returns the requirement's operator.
func (r Requirement) Operator() Operator { return r.op }

// Values returns a copy of the requirement's values, in the order given to
// NewRequirement (Parse sorts them and drops duplicates).
func (r Requirement) Values() []string { return slices.Clone(r.values) }

// Matches reports whether the labels lookup answers satisfy r:
//
//   - In, Equals, DoubleEquals: the key is set to one of the values;
//   - NotIn, NotEquals: the key is absent or set to none of the values;
//   - Exists: the key is set; DoesNotExist: it is not;
//   - GreaterThan, LessThan: the key is set to a base-10 int64
//     (strconv.ParseInt: "+5" and "-5" count) above or below the value.
func (r Requirement) Matches(lookup func(key string) (value string, ok bool)) bool {
	v, ok := lookup(r.key)
	switch r.op {
	case In, Equals, DoubleEquals:
		return ok && slices.Contains(r.values, v)
	case NotIn, NotEquals:
		return !ok || !slices.Contains(r.values, v)
	case Exists:
		return ok
	case DoesNotExist:
		return !ok
	case GreaterThan, LessThan:
		if !ok {
			return false
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return false
		}
		if r.op == GreaterThan {
			return n > r.num
		}
		return n < r.num
	}
	return false
}

// String renders r as Parse reads it, values sorted: "a=b", "!a",
// "a in (b,c)", "a>1".
func (r Requirement) String() string {
	var b strings.Builder
	r.appendTo(&b)
	return b.String()
}

func (r Requirement) appendTo(b *strings.Builder) {
	if r.op == DoesNotExist {
		b.WriteByte('!')
	}
	b.WriteString(r.key)
	switch r.op {
	case Exists, DoesNotExist:
		return
	case In:
		b.WriteString(" in (")
	case NotIn:
		b.WriteString(" notin (")
	case GreaterThan:
		b.WriteByte('>')
	case LessThan:
		b.WriteByte('<')
	default: // =, ==, !=
		b.WriteString(string(r.op))
	}
	values := r.values
	if !slices.IsSorted(values) {
		values = insertionSort(slices.Clone(values), func(a, b string) bool { return a < b })
	}
	for i, v := range values {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(v)
	}
	if r.op == In || r.op == NotIn {
		b.WriteByte(')')
	}
}

// Selector is a label selector: requirements that must all hold. The zero
// Selector is Everything. A Selector is immutable and safe to share.
type Selector struct {
	reqs    []Requirement // sorted by key
	nothing bool
}

// Everything returns the selector that matches every set of labels,
// including none (labels.Everything).
func Everything() Selector { return Selector{} }

// Nothing returns the selector that matches no set of labels
// (labels.Nothing).
func Nothing() Selector { return Selector{nothing: true} }

// Add returns a selector with s's requirements and reqs, sorted by key (a
// stable sort). Adding to Nothing leaves Nothing. It costs a copy of the
// requirements.
func (s Selector) Add(reqs ...Requirement) Selector {
	if s.nothing {
		return s
	}
	all := make([]Requirement, 0, len(s.reqs)+len(reqs))
	all = append(append(all, s.reqs...), reqs...)
	sortByKey(all)
	return Selector{reqs: all}
}

// Matches reports whether labels satisfy every requirement of s; a nil map
// is a set without labels. Cost: one map lookup per requirement.
func (s Selector) Matches(labels map[string]string) bool {
	return s.MatchesFunc(func(k string) (string, bool) {
		v, ok := labels[k]
		return v, ok
	})
}

// MatchesFunc is Matches over labels given by a lookup function, for labels
// kept in something other than a map (a slice decoded without allocating a
// map, say). lookup is called once per requirement and does not escape.
func (s Selector) MatchesFunc(lookup func(key string) (value string, ok bool)) bool {
	if s.nothing {
		return false
	}
	for i := range s.reqs {
		if !s.reqs[i].Matches(lookup) {
			return false
		}
	}
	return true
}

// Empty reports whether s restricts nothing (Everything, or a parse of "").
// Nothing is not empty.
func (s Selector) Empty() bool { return !s.nothing && len(s.reqs) == 0 }

// MatchesNothing reports whether s is Nothing. A selector whose
// requirements contradict each other ("a=b,a!=b") is not detected, as
// upstream does not detect it.
func (s Selector) MatchesNothing() bool { return s.nothing }

// Requirements returns a copy of s's requirements, sorted by key, and false
// for Nothing.
func (s Selector) Requirements() ([]Requirement, bool) {
	return slices.Clone(s.reqs), !s.nothing
}

// String renders s as Parse reads it: requirements by key, joined by ",".
// Everything and Nothing are both "".
func (s Selector) String() string {
	var b strings.Builder
	for i, r := range s.reqs {
		if i > 0 {
			b.WriteByte(',')
		}
		r.appendTo(&b)
	}
	return b.String()
}

// SelectorFromSet returns the selector that requires every key of set to
// have its value, without validating them (labels.SelectorFromSet); an
// empty or nil set gives Everything.
func SelectorFromSet(set map[string]string) Selector {
	if len(set) == 0 {
		return Everything()
	}
	reqs := make([]Requirement, 0, len(set))
	for k, v := range set {
		reqs = append(reqs, Requirement{key: k, op: Equals, values: []string{v}})
	}
	sortByKey(reqs)
	return Selector{reqs: reqs}
}

// Selectors have a handful of requirements and values: an insertion sort
// (stable) is small and fast for them, and a plugin links no generic sort
// for the SDK.

func sortByKey(reqs []Requirement) {
	insertionSort(reqs, func(a, b Requirement) bool { return a.key < b.key })
}

// sortedSet sorts values and drops duplicates, in place.
func sortedSet(values []string) []string {
	insertionSort(values, func(a, b string) bool { return a < b })
	out := values[:0]
	for i, v := range values {
		if i == 0 || v != values[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func insertionSort[T any](s []T, less func(a, b T) bool) []T {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && less(s[j], s[j-1]); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}
