package job

import (
	"fmt"
	"slices"
)

// matchPodFailurePolicy matches a failed pod against spec.podFailurePolicy,
// as upstream's matchPodFailurePolicy (PFP:27-76, J13). The rules are tried
// in order and the first one that matches and has a known action decides (a
// matching rule with an unknown action is skipped). A rule with onExitCodes
// is matched by exit codes only (matchOnExitCodes); otherwise one with
// onPodConditions by conditions (matchOnPodConditions). The results:
//
//   - message: only for FailJob, "Container <name> for pod <ns>/<pod> failed
//     with exit code <code> matching FailJob rule at index <i>" or "Pod
//     <ns>/<pod> has condition <type> matching FailJob rule at index <i>";
//   - countFailed: whether the failure counts towards backoffLimit and
//     backoffLimitPerIndex: false only for Ignore;
//   - action: the matched rule's action (ActionFailJob, ActionFailIndex,
//     ActionIgnore, ActionCount), nil when no rule matched.
//
// A nil policy or no matching rule gives (nil, true, nil).
func matchPodFailurePolicy(pfp *PodFailurePolicy, p *Pod) (message *string, countFailed bool, action *string) {
	if pfp == nil {
		return nil, true, nil
	}
	for i, rule := range pfp.Rules {
		// Exactly one of cs and cond is set when the rule matches.
		var cs *ContainerStatus
		var cond *PodCondition
		switch {
		case rule.OnExitCodes != nil:
			if cs = matchOnExitCodes(p, rule.OnExitCodes); cs == nil {
				continue
			}
		case rule.OnPodConditions != nil:
			if cond = matchOnPodConditions(p, rule.OnPodConditions); cond == nil {
				continue
			}
		default:
			continue
		}
		act := rule.Action
		switch act {
		case ActionIgnore:
			return nil, false, &act
		case ActionFailIndex, ActionCount:
			return nil, true, &act
		case ActionFailJob:
			var msg string
			if cs != nil {
				msg = fmt.Sprintf("Container %s for pod %s/%s failed with exit code %d matching %s rule at index %d",
					cs.Name, p.Namespace, p.Name, cs.Terminated.ExitCode, act, i)
			} else {
				msg = fmt.Sprintf("Pod %s/%s has condition %s matching %s rule at index %d",
					p.Namespace, p.Name, cond.Type, act, i)
			}
			return &msg, true, &act
		}
	}
	return nil, true, nil
}

// matchOnExitCodes returns the first terminated container status that
// satisfies the requirement, looking at the regular containers first and
// then at the init containers (PFP:78-85, J13.2); nil when none does. A
// returned status has a non-nil Terminated.
func matchOnExitCodes(p *Pod, req *PodFailurePolicyOnExitCodes) *ContainerStatus {
	if cs := firstMatchingContainer(p.ContainerStatuses, req); cs != nil {
		return cs
	}
	return firstMatchingContainer(p.InitContainerStatuses, req)
}

// firstMatchingContainer returns the first status in statuses that is
// terminated, is the requirement's container (when containerName is set),
// exited with a non-zero code and satisfies the operator (PFP:98-115).
func firstMatchingContainer(statuses []ContainerStatus, req *PodFailurePolicyOnExitCodes) *ContainerStatus {
	for i := range statuses {
		cs := &statuses[i]
		if cs.Terminated == nil {
			continue
		}
		if req.ContainerName != nil && *req.ContainerName != cs.Name {
			continue
		}
		if cs.Terminated.ExitCode == 0 {
			continue
		}
		if exitCodeOperatorMatches(cs.Terminated.ExitCode, req) {
			return cs
		}
	}
	return nil
}

// exitCodeOperatorMatches applies the requirement's operator: In is "code
// among the values", NotIn "code not among the values", any other operator
// never matches (PFP:117-126).
func exitCodeOperatorMatches(code int32, req *PodFailurePolicyOnExitCodes) bool {
	switch req.Operator {
	case OpIn:
		return slices.Contains(req.Values, code)
	case OpNotIn:
		return !slices.Contains(req.Values, code)
	default:
		return false
	}
}

// matchOnPodConditions returns the first pod condition, in the pod's order,
// that some pattern matches by equal type and equal status (PFP:87-96,
// J13.2). A pattern with an empty status stands for "True", the API
// server's default for it.
func matchOnPodConditions(p *Pod, patterns []PodFailurePolicyOnPodConditionsPattern) *PodCondition {
	for i := range p.Conditions {
		c := &p.Conditions[i]
		for _, pat := range patterns {
			status := pat.Status
			if status == "" {
				status = "True"
			}
			if c.Type == pat.Type && c.Status == status {
				return c
			}
		}
	}
	return nil
}

// matchSuccessPolicy evaluates spec.successPolicy against the Job's
// succeeded indexes, as upstream's matchSuccessPolicy (SP:27-48, J14): with
// a nil policy or no succeeded index nothing matches. The rules are tried in
// order and the first match wins, with the message "Matched rules at index
// <i>". A rule with succeededIndexes parses them against completions
// (parseIndexesFromString); an empty result skips the rule; otherwise it
// matches when every listed index succeeded or, with succeededCount set, at
// least succeededCount listed indexes succeeded. A rule with only
// succeededCount matches when at least that many indexes succeeded.
func matchSuccessPolicy(sp *SuccessPolicy, completions int, succeededIndexes orderedIntervals) (message string, matched bool) {
	if sp == nil || len(succeededIndexes) == 0 {
		return "", false
	}
	for i, rule := range sp.Rules {
		if rule.SucceededIndexes != nil {
			required := parseIndexesFromString(*rule.SucceededIndexes, completions)
			if len(required) == 0 {
				continue
			}
			if succeededIndexesRuleMatches(required, succeededIndexes, rule.SucceededCount) {
				return fmt.Sprintf("Matched rules at index %d", i), true
			}
		} else if rule.SucceededCount != nil && succeededIndexes.total() >= int(*rule.SucceededCount) {
			return fmt.Sprintf("Matched rules at index %d", i), true
		}
	}
	return "", false
}

// succeededIndexesRuleMatches counts the indexes of required that are in
// succeeded by walking both interval lists together (SP:62-82): the rule
// matches when all of required succeeded or, with succeededCount set, at
// least succeededCount of them.
func succeededIndexesRuleMatches(required, succeeded orderedIntervals, succeededCount *int32) bool {
	common := 0
	r, s := 0, 0
	for r < len(required) && s < len(succeeded) {
		lo := max(required[r].First, succeeded[s].First)
		hi := min(required[r].Last, succeeded[s].Last)
		if hi >= lo {
			common += hi - lo + 1
		}
		// Advance whichever interval ends first (both when they end
		// together).
		rLast, sLast := required[r].Last, succeeded[s].Last
		if sLast <= rLast {
			s++
		}
		if rLast <= sLast {
			r++
		}
	}
	return common == required.total() || (succeededCount != nil && common >= int(*succeededCount))
}
