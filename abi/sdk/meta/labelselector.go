package meta

import (
	"fmt"
	"slices"

	"wasmctl.dev/wasmctl/abi/sdk/labels"
)

// LabelSelector is metav1.LabelSelector, the spec.selector of workloads.
type LabelSelector struct {
	MatchLabels      map[string]string          `json:"matchLabels,omitempty"`
	MatchExpressions []LabelSelectorRequirement `json:"matchExpressions,omitempty"`
}

// LabelSelectorRequirement is one matchExpressions entry.
type LabelSelectorRequirement struct {
	Key string `json:"key"`
	// Operator is In, NotIn, Exists or DoesNotExist.
	Operator string   `json:"operator"`
	Values   []string `json:"values,omitempty"`
}

// The operators of a LabelSelectorRequirement.
const (
	LabelSelectorOpIn           = "In"
	LabelSelectorOpNotIn        = "NotIn"
	LabelSelectorOpExists       = "Exists"
	LabelSelectorOpDoesNotExist = "DoesNotExist"
)

// LabelSelectorAsSelector converts ls as metav1.LabelSelectorAsSelector
// does: nil matches nothing (labels.Nothing), a selector without
// matchLabels and matchExpressions matches everything, and otherwise every
// matchLabels entry is an Equals requirement and every expression In,
// NotIn, Exists or DoesNotExist, validated by labels.NewRequirement (keys
// and values as label keys and values; In and NotIn need values, Exists and
// DoesNotExist none). Any other operator is an error, and on error the
// selector is Nothing. Cost: one requirement per entry and a sort; convert
// once per call, not per object matched.
func LabelSelectorAsSelector(ls *LabelSelector) (labels.Selector, error) {
	if ls == nil {
		return labels.Nothing(), nil
	}
	if len(ls.MatchLabels)+len(ls.MatchExpressions) == 0 {
		return labels.Everything(), nil
	}
	reqs := make([]labels.Requirement, 0, len(ls.MatchLabels)+len(ls.MatchExpressions))
	for k, v := range ls.MatchLabels {
		r, err := labels.NewRequirement(k, labels.Equals, []string{v})
		if err != nil {
			return labels.Nothing(), err
		}
		reqs = append(reqs, r)
	}
	for _, e := range ls.MatchExpressions {
		var op labels.Operator
		switch e.Operator {
		case LabelSelectorOpIn:
			op = labels.In
		case LabelSelectorOpNotIn:
			op = labels.NotIn
		case LabelSelectorOpExists:
			op = labels.Exists
		case LabelSelectorOpDoesNotExist:
			op = labels.DoesNotExist
		default:
			return labels.Nothing(), fmt.Errorf("%q is not a valid label selector operator", e.Operator)
		}
		r, err := labels.NewRequirement(e.Key, op, slices.Clone(e.Values))
		if err != nil {
			return labels.Nothing(), err
		}
		reqs = append(reqs, r)
	}
	return labels.Everything().Add(reqs...), nil
}
