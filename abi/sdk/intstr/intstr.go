// Package intstr is apimachinery's util/intstr for wasmctl plugins: the
// int-or-string fields of workloads (maxSurge, maxUnavailable,
// partition-style percentages) and the arithmetic controllers do with them.
// Standard library only.
package intstr

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Type says which of IntOrString's values is set.
type Type int64

// The types of an IntOrString.
const (
	Int    Type = iota // IntVal is set
	String             // StrVal is set
)

// IntOrString is intstr.IntOrString: a JSON number (an int32) or a JSON
// string, such as 1 or "25%". The zero value is the integer 0.
type IntOrString struct {
	Type   Type
	IntVal int32
	StrVal string
}

// FromInt32 returns an IntOrString holding v.
func FromInt32(v int32) IntOrString { return IntOrString{Type: Int, IntVal: v} }

// FromInt returns an IntOrString holding v, which must fit an int32
// (apimachinery's FromInt, for code ported from it).
func FromInt(v int) IntOrString { return FromInt32(int32(v)) }

// FromString returns an IntOrString holding s.
func FromString(s string) IntOrString { return IntOrString{Type: String, StrVal: s} }

// Parse returns an IntOrString holding val as an integer when it is a
// base-10 int32, and as a string otherwise (intstr.Parse).
func Parse(val string) IntOrString {
	i, err := strconv.ParseInt(val, 10, 32)
	if err != nil {
		return FromString(val)
	}
	return FromInt32(int32(i))
}

// UnmarshalJSON reads a JSON string into StrVal and anything else into
// IntVal as encoding/json reads an int32, as upstream does: 1.5 and 1e3 are
// errors, and null leaves IntVal as it was (with Type Int).
func (v *IntOrString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		v.Type = String
		return json.Unmarshal(b, &v.StrVal)
	}
	v.Type = Int
	return json.Unmarshal(b, &v.IntVal)
}

// MarshalJSON writes IntVal as a number or StrVal as a string, by Type.
func (v IntOrString) MarshalJSON() ([]byte, error) {
	switch v.Type {
	case Int:
		return strconv.AppendInt(nil, int64(v.IntVal), 10), nil
	case String:
		return json.Marshal(v.StrVal)
	}
	return nil, errors.New("impossible IntOrString.Type")
}

// String returns StrVal, or IntVal in base 10; "<nil>" for nil.
func (v *IntOrString) String() string {
	if v == nil {
		return "<nil>"
	}
	if v.Type == String {
		return v.StrVal
	}
	return strconv.Itoa(v.IntValue())
}

// IntValue returns IntVal, or StrVal read by strconv.Atoi (0 when it is not
// an integer).
func (v *IntOrString) IntValue() int {
	if v.Type == String {
		i, _ := strconv.Atoi(v.StrVal)
		return i
	}
	return int(v.IntVal)
}

// ValueOrDefault returns v, or &def when v is nil.
func ValueOrDefault(v *IntOrString, def IntOrString) *IntOrString {
	if v == nil {
		return &def
	}
	return v
}

// GetScaledValueFromIntOrPercent returns v's integer as it is, or its
// percentage of total: "25%" of 10 is 3 with roundUp (math.Ceil of
// 25*10/100 in float64) and 2 without (math.Floor), as upstream computes
// it. A string that is not an integer followed by "%" ("25", "x%", "%") is
// an error, as is nil.
func GetScaledValueFromIntOrPercent(v *IntOrString, total int, roundUp bool) (int, error) {
	if v == nil {
		return 0, errors.New("nil value for IntOrString")
	}
	value, isPercent, err := percentValue(v)
	if err != nil {
		return 0, fmt.Errorf("invalid value for IntOrString: %w", err)
	}
	if isPercent {
		scaled := float64(value) * float64(total) / 100
		if roundUp {
			value = int(math.Ceil(scaled))
		} else {
			value = int(math.Floor(scaled))
		}
	}
	return value, nil
}

func percentValue(v *IntOrString) (int, bool, error) {
	switch v.Type {
	case Int:
		return v.IntValue(), false, nil
	case String:
		s, ok := strings.CutSuffix(v.StrVal, "%")
		if !ok {
			return 0, false, errors.New("invalid type: string is not a percentage")
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, false, fmt.Errorf("invalid value %q: %w", v.StrVal, err)
		}
		return n, true, nil
	}
	return 0, false, errors.New("invalid type: neither int nor percentage")
}
