package v1

import "strconv"

// MatchToleration reports whether t and u have the same key, effect,
// operator and value (k8s.io/api's Toleration.MatchToleration).
func (t *Toleration) MatchToleration(u *Toleration) bool {
	return t.Key == u.Key && t.Effect == u.Effect && t.Operator == u.Operator && t.Value == u.Value
}

// ToleratesTaint reports whether t tolerates taint, as k8s.io/api's: an
// empty effect matches every effect and an empty key every key; operator
// "" or Equal compares values, Exists matches any; Lt and Gt compare the
// values as decimal integers when enableComparisonOperators, and match
// nothing otherwise (or when a value is not an integer).
func (t *Toleration) ToleratesTaint(taint *Taint, enableComparisonOperators bool) bool {
	if len(t.Effect) > 0 && t.Effect != taint.Effect {
		return false
	}
	if len(t.Key) > 0 && t.Key != taint.Key {
		return false
	}
	switch t.Operator {
	case "", TolerationOpEqual:
		return t.Value == taint.Value
	case TolerationOpExists:
		return true
	case TolerationOpLt, TolerationOpGt:
		if !enableComparisonOperators {
			return false
		}
		tol, ok1 := decimalInteger(t.Value)
		tnt, ok2 := decimalInteger(taint.Value)
		if !ok1 || !ok2 {
			return false
		}
		if t.Operator == TolerationOpLt {
			return tnt < tol
		}
		return tnt > tol
	}
	return false
}

// decimalInteger parses a base-10 integer as apimachinery's
// content.IsDecimalInteger accepts it: an optional '-', no leading zeros
// ("0" alone, not "-0").
func decimalInteger(s string) (int64, bool) {
	digits := s
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if digits == "" || digits[0] == '0' && (len(digits) > 1 || len(s) > 1) {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}
