package job

import "testing"

// TestMatchPodFailurePolicy ports PFPT TestMatchPodFailurePolicy (the pods
// are "default/mypod"), then adds cases of its own.
func TestMatchPodFailurePolicy(t *testing.T) {
	testCases := map[string]struct {
		podFailurePolicy      *PodFailurePolicy
		failedPod             *Pod
		wantJobFailureMessage *string
		wantCountFailed       bool
		wantAction            *string
	}{
		"unknown action for rule matching by exit codes - skip rule with unknown action": {
			podFailurePolicy: &PodFailurePolicy{
				Rules: []PodFailurePolicyRule{
					{
						Action: "UnknownAction",
						OnExitCodes: &PodFailurePolicyOnExitCodes{
							Operator: OpIn,
							Values:   []int32{1, 2},
						},
					},
					{
						Action: ActionFailJob,
						OnExitCodes: &PodFailurePolicyOnExitCodes{
							Operator: OpIn,
							Values:   []int32{2, 3},
						},
					},
				},
			},
			failedPod: &Pod{
				Name:      "mypod",
				Namespace: "default",
				Phase:     PodFailed,
				ContainerStatuses: []ContainerStatus{
					{
						Name:       "main-container",
						Terminated: &ContainerTerminated{ExitCode: 2},
					},
				},
			},
			wantJobFailureMessage: new("Container main-container for pod default/mypod failed with exit code 2 matching FailJob rule at index 1"),
			wantCountFailed:       true,
			wantAction:            new(ActionFailJob),
		},
		"unknown action for rule matching by pod conditions - skip rule with unknown action": {
			podFailurePolicy: &PodFailurePolicy{
				Rules: []PodFailurePolicyRule{
					{
						Action: "UnkonwnAction",
						OnPodConditions: []PodFailurePolicyOnPodConditionsPattern{
							{
								Type:   "DisruptionTarget",
								Status: "True",
							},
						},
					},
					{
						Action: ActionIgnore,
						OnPodConditions: []PodFailurePolicyOnPodConditionsPattern{
							{
								Type:   "DisruptionTarget",
								Status: "True",
							},
						},
					},
				},
			},
			failedPod: &Pod{
				Name:      "mypod",
				Namespace: "default",
				Phase:     PodFailed,
				Conditions: []PodCondition{
					{
						Type:   "DisruptionTarget",
						Status: "True",
					},
				},
			},
			wantJobFailureMessage: nil,
			wantCountFailed:       false,
			wantAction:            new(ActionIgnore),
		},
		"unknown operator - rule with unknown action is skipped for onExitCodes": {
			podFailurePolicy: &PodFailurePolicy{
				Rules: []PodFailurePolicyRule{
					{
						Action: ActionIgnore,
						OnExitCodes: &PodFailurePolicyOnExitCodes{
							Operator: "UnknownOperator",
							Values:   []int32{1, 2},
						},
					},
					{
						Action: ActionFailJob,
						OnExitCodes: &PodFailurePolicyOnExitCodes{
							Operator: OpIn,
							Values:   []int32{2, 3},
						},
					},
				},
			},
			failedPod: &Pod{
				Name:      "mypod",
				Namespace: "default",
				Phase:     PodFailed,
				ContainerStatuses: []ContainerStatus{
					{
						Name:       "main-container",
						Terminated: &ContainerTerminated{ExitCode: 2},
					},
				},
			},
			wantJobFailureMessage: new("Container main-container for pod default/mypod failed with exit code 2 matching FailJob rule at index 1"),
			wantCountFailed:       true,
			wantAction:            new(ActionFailJob),
		},
		"no policy rules": {
			podFailurePolicy: nil,
			failedPod: &Pod{
				Name:      "mypod",
				Namespace: "default",
				Phase:     PodFailed,
				ContainerStatuses: []ContainerStatus{
					{
						Terminated: &ContainerTerminated{ExitCode: 2},
					},
				},
			},
			wantJobFailureMessage: nil,
			wantCountFailed:       true,
		},
		"ignore rule matched for exit codes": {
			podFailurePolicy: &PodFailurePolicy{
				Rules: []PodFailurePolicyRule{
					{
						Action: ActionIgnore,
						OnExitCodes: &PodFailurePolicyOnExitCodes{
							Operator: OpIn,
							Values:   []int32{1, 2, 3},
						},
					},
				},
			},
			failedPod: &Pod{
				Name:      "mypod",
				Namespace: "default",
				Phase:     PodFailed,
				ContainerStatuses: []ContainerStatus{
					{
						Terminated: &ContainerTerminated{ExitCode: 2},
					},
				},
			},
			wantJobFailureMessage: nil,
			wantCountFailed:       false,
			wantAction:            new(ActionIgnore),
		},
		"ignore rule matched on negative exit codes - needed for Windows support": {
			podFailurePolicy: &PodFailurePolicy{
				Rules: []PodFailurePolicyRule{
					{
						Action: ActionIgnore,
						OnExitCodes: &PodFailurePolicyOnExitCodes{
							Operator: OpIn,
							Values:   []int32{-1073741676, -1073741510},
						},
					},
				},
			},
			failedPod: &Pod{
				Name:      "mypod",
				Namespace: "default",
				Phase:     PodFailed,
				ContainerStatuses: []ContainerStatus{
					{
						Terminated: &ContainerTerminated{ExitCode: -1073741510},
					},
				},
			},
			wantJobFailureMessage: nil,
			wantCountFailed:       false,
			wantAction:            new(ActionIgnore),
		},
		"FailJob rule matched for exit codes": {
			podFailurePolicy: &PodFailurePolicy{
				Rules: []PodFailurePolicyRule{
					{
						Action: ActionFailJob,
						OnExitCodes: &PodFailurePolicyOnExitCodes{
							Operator: OpIn,
							Values:   []int32{1, 2, 3},
						},
					},
				},
			},
			failedPod: &Pod{
				Name:      "mypod",
				Namespace: "default",
				Phase:     PodFailed,
				ContainerStatuses: []ContainerStatus{
					{
						Name:       "main-container",
						Terminated: &ContainerTerminated{ExitCode: 2},
					},
				},
			},
			wantJobFailureMessage: new("Container main-container for pod default/mypod failed with exit code 2 matching FailJob rule at index 0"),
			wantCountFailed:       true,
			wantAction:            new(ActionFailJob),
		},
		"successful containers are skipped by the rules": {
			podFailurePolicy: &PodFailurePolicy{
				Rules: []PodFailurePolicyRule{
					{
						Action: ActionFailJob,
						OnExitCodes: &PodFailurePolicyOnExitCodes{
							Operator: OpNotIn,
							Values:   []int32{111},
						},
					},
				},
			},
			failedPod: &Pod{
				Name:      "mypod",
				Namespace: "default",
				Phase:     PodFailed,
				InitContainerStatuses: []ContainerStatus{
					{
						Name:       "init-container",
						Terminated: &ContainerTerminated{ExitCode: 0},
					},
				},
				ContainerStatuses: []ContainerStatus{
					{
						Name:       "main-container",
						Terminated: &ContainerTerminated{ExitCode: 111},
					},
					{
						Name:       "suppport-container",
						Terminated: &ContainerTerminated{ExitCode: 0},
					},
				},
			},
			wantJobFailureMessage: nil,
			wantCountFailed:       true,
		},
		"FailIndex rule matched for exit codes": {
			podFailurePolicy: &PodFailurePolicy{
				Rules: []PodFailurePolicyRule{
					{
						Action: ActionFailIndex,
						OnExitCodes: &PodFailurePolicyOnExitCodes{
							Operator: OpIn,
							Values:   []int32{1, 2, 3},
						},
					},
				},
			},
			failedPod: &Pod{
				Name:      "mypod",
				Namespace: "default",
				Phase:     PodFailed,
				ContainerStatuses: []ContainerStatus{
					{
						Terminated: &ContainerTerminated{ExitCode: 2},
					},
				},
			},
			wantCountFailed: true,
			wantAction:      new(ActionFailIndex),
		},
		"pod failure policy with NotIn operator and value 0": {
			podFailurePolicy: &PodFailurePolicy{
				Rules: []PodFailurePolicyRule{
					{
						Action: ActionFailJob,
						OnExitCodes: &PodFailurePolicyOnExitCodes{
							Operator: OpNotIn,
							Values:   []int32{0},
						},
					},
				},
			},
			failedPod: &Pod{
				Name:      "mypod",
				Namespace: "default",
				Phase:     PodFailed,
				ContainerStatuses: []ContainerStatus{
					{
						Name:       "main-container",
						Terminated: &ContainerTerminated{ExitCode: 1},
					},
					{
						Name:       "suppport-container",
						Terminated: &ContainerTerminated{ExitCode: 0},
					},
				},
			},
			wantJobFailureMessage: new("Container main-container for pod default/mypod failed with exit code 1 matching FailJob rule at index 0"),
			wantCountFailed:       true,
			wantAction:            new(ActionFailJob),
		},
		"second jobfail rule matched for exit codes": {
			podFailurePolicy: &PodFailurePolicy{
				Rules: []PodFailurePolicyRule{
					{
						Action: ActionCount,
						OnExitCodes: &PodFailurePolicyOnExitCodes{
							Operator: OpIn,
							Values:   []int32{1, 2, 3},
						},
					},
					{
						Action: ActionFailJob,
						OnExitCodes: &PodFailurePolicyOnExitCodes{
							Operator: OpIn,
							Values:   []int32{4, 5, 6},
						},
					},
				},
			},
			failedPod: &Pod{
				Name:      "mypod",
				Namespace: "default",
				Phase:     PodFailed,
				ContainerStatuses: []ContainerStatus{
					{
						Name:       "main-container",
						Terminated: &ContainerTerminated{ExitCode: 6},
					},
				},
			},
			wantJobFailureMessage: new("Container main-container for pod default/mypod failed with exit code 6 matching FailJob rule at index 1"),
			wantCountFailed:       true,
			wantAction:            new(ActionFailJob),
		},
		"count rule matched for exit codes": {
			podFailurePolicy: &PodFailurePolicy{
				Rules: []PodFailurePolicyRule{
					{
						Action: ActionCount,
						OnExitCodes: &PodFailurePolicyOnExitCodes{
							Operator: OpIn,
							Values:   []int32{1, 2, 3},
						},
					},
				},
			},
			failedPod: &Pod{
				Name:      "mypod",
				Namespace: "default",
				Phase:     PodFailed,
				ContainerStatuses: []ContainerStatus{
					{
						Name: "foo",
					},
					{
						Name:       "bar",
						Terminated: &ContainerTerminated{ExitCode: 2},
					},
				},
			},
			wantJobFailureMessage: nil,
			wantCountFailed:       true,
			wantAction:            new(ActionCount),
		},
		"FailIndex rule matched for pod conditions": {
			podFailurePolicy: &PodFailurePolicy{
				Rules: []PodFailurePolicyRule{
					{
						Action: ActionFailIndex,
						OnPodConditions: []PodFailurePolicyOnPodConditionsPattern{
							{
								Type:   "DisruptionTarget",
								Status: "True",
							},
						},
					},
				},
			},
			failedPod: &Pod{
				Name:      "mypod",
				Namespace: "default",
				Phase:     PodFailed,
				Conditions: []PodCondition{
					{
						Type:   "DisruptionTarget",
						Status: "True",
					},
				},
			},
			wantCountFailed: true,
			wantAction:      new(ActionFailIndex),
		},
		"ignore rule matched for pod conditions": {
			podFailurePolicy: &PodFailurePolicy{
				Rules: []PodFailurePolicyRule{
					{
						Action: ActionIgnore,
						OnPodConditions: []PodFailurePolicyOnPodConditionsPattern{
							{
								Type:   "DisruptionTarget",
								Status: "True",
							},
						},
					},
				},
			},
			failedPod: &Pod{
				Name:      "mypod",
				Namespace: "default",
				Phase:     PodFailed,
				Conditions: []PodCondition{
					{
						Type:   "DisruptionTarget",
						Status: "True",
					},
				},
			},
			wantJobFailureMessage: nil,
			wantCountFailed:       false,
			wantAction:            new(ActionIgnore),
		},
		"ignore rule matches by the status=False": {
			podFailurePolicy: &PodFailurePolicy{
				Rules: []PodFailurePolicyRule{
					{
						Action: ActionIgnore,
						OnPodConditions: []PodFailurePolicyOnPodConditionsPattern{
							{
								Type:   "DisruptionTarget",
								Status: "False",
							},
						},
					},
				},
			},
			failedPod: &Pod{
				Name:      "mypod",
				Namespace: "default",
				Phase:     PodFailed,
				Conditions: []PodCondition{
					{
						Type:   "DisruptionTarget",
						Status: "False",
					},
				},
			},
			wantJobFailureMessage: nil,
			wantCountFailed:       false,
			wantAction:            new(ActionIgnore),
		},
		"ignore rule matches by the status=Unknown": {
			podFailurePolicy: &PodFailurePolicy{
				Rules: []PodFailurePolicyRule{
					{
						Action: ActionIgnore,
						OnPodConditions: []PodFailurePolicyOnPodConditionsPattern{
							{
								Type:   "DisruptionTarget",
								Status: "Unknown",
							},
						},
					},
				},
			},
			failedPod: &Pod{
				Name:      "mypod",
				Namespace: "default",
				Phase:     PodFailed,
				Conditions: []PodCondition{
					{
						Type:   "DisruptionTarget",
						Status: "Unknown",
					},
				},
			},
			wantJobFailureMessage: nil,
			wantCountFailed:       false,
			wantAction:            new(ActionIgnore),
		},
		"ignore rule does not match when status for pattern is False, but actual True": {
			podFailurePolicy: &PodFailurePolicy{
				Rules: []PodFailurePolicyRule{
					{
						Action: ActionIgnore,
						OnPodConditions: []PodFailurePolicyOnPodConditionsPattern{
							{
								Type:   "DisruptionTarget",
								Status: "False",
							},
						},
					},
				},
			},
			failedPod: &Pod{
				Name:      "mypod",
				Namespace: "default",
				Phase:     PodFailed,
				Conditions: []PodCondition{
					{
						Type:   "DisruptionTarget",
						Status: "True",
					},
				},
			},
			wantJobFailureMessage: nil,
			wantCountFailed:       true,
		},
		"ignore rule does not match when status for pattern is True, but actual False": {
			podFailurePolicy: &PodFailurePolicy{
				Rules: []PodFailurePolicyRule{
					{
						Action: ActionIgnore,
						OnPodConditions: []PodFailurePolicyOnPodConditionsPattern{
							{
								Type:   "DisruptionTarget",
								Status: "True",
							},
						},
					},
				},
			},
			failedPod: &Pod{
				Name:      "mypod",
				Namespace: "default",
				Phase:     PodFailed,
				Conditions: []PodCondition{
					{
						Type:   "DisruptionTarget",
						Status: "False",
					},
				},
			},
			wantJobFailureMessage: nil,
			wantCountFailed:       true,
		},
		"default - do not match condition with status=False": {
			podFailurePolicy: &PodFailurePolicy{
				Rules: []PodFailurePolicyRule{
					{
						Action: ActionIgnore,
						OnPodConditions: []PodFailurePolicyOnPodConditionsPattern{
							{
								Type:   "DisruptionTarget",
								Status: "True",
							},
						},
					},
				},
			},
			failedPod: &Pod{
				Name:      "mypod",
				Namespace: "default",
				Phase:     PodFailed,
				Conditions: []PodCondition{
					{
						Type:   "DisruptionTarget",
						Status: "False",
					},
				},
			},
			wantJobFailureMessage: nil,
			wantCountFailed:       true,
		},
		"job fail rule matched for pod conditions": {
			podFailurePolicy: &PodFailurePolicy{
				Rules: []PodFailurePolicyRule{
					{
						Action: ActionFailJob,
						OnPodConditions: []PodFailurePolicyOnPodConditionsPattern{
							{
								Type:   "DisruptionTarget",
								Status: "True",
							},
						},
					},
				},
			},
			failedPod: &Pod{
				Name:      "mypod",
				Namespace: "default",
				Phase:     PodFailed,
				Conditions: []PodCondition{
					{
						Type:   "DisruptionTarget",
						Status: "True",
					},
				},
			},
			wantJobFailureMessage: new("Pod default/mypod has condition DisruptionTarget matching FailJob rule at index 0"),
			wantCountFailed:       true,
			wantAction:            new(ActionFailJob),
		},
		"count rule matched for pod conditions": {
			podFailurePolicy: &PodFailurePolicy{
				Rules: []PodFailurePolicyRule{
					{
						Action: ActionCount,
						OnPodConditions: []PodFailurePolicyOnPodConditionsPattern{
							{
								Type:   "DisruptionTarget",
								Status: "True",
							},
						},
					},
				},
			},
			failedPod: &Pod{
				Name:      "mypod",
				Namespace: "default",
				Phase:     PodFailed,
				Conditions: []PodCondition{
					{
						Type:   "DisruptionTarget",
						Status: "True",
					},
				},
			},
			wantJobFailureMessage: nil,
			wantCountFailed:       true,
			wantAction:            new(ActionCount),
		},
		"no rule matched": {
			podFailurePolicy: &PodFailurePolicy{
				Rules: []PodFailurePolicyRule{
					{
						Action: ActionCount,
						OnExitCodes: &PodFailurePolicyOnExitCodes{
							Operator: OpNotIn,
							Values:   []int32{8},
						},
					},
					{
						Action: ActionIgnore,
						OnExitCodes: &PodFailurePolicyOnExitCodes{
							Operator: OpIn,
							Values:   []int32{1, 2, 3},
						},
					},
					{
						Action: ActionFailJob,
						OnExitCodes: &PodFailurePolicyOnExitCodes{
							Operator: OpNotIn,
							Values:   []int32{5, 6, 7},
						},
					},
					{
						Action: ActionCount,
						OnPodConditions: []PodFailurePolicyOnPodConditionsPattern{
							{
								Type:   "ResourceLimitExceeded",
								Status: "True",
							},
						},
					},
					{
						Action: ActionIgnore,
						OnPodConditions: []PodFailurePolicyOnPodConditionsPattern{
							{
								Type:   "DisruptionTarget",
								Status: "True",
							},
						},
					},
				},
			},
			failedPod: &Pod{
				Name:      "mypod",
				Namespace: "default",
				Phase:     PodFailed,
				ContainerStatuses: []ContainerStatus{
					{
						Terminated: &ContainerTerminated{ExitCode: 32},
					},
				},
			},
			wantJobFailureMessage: nil,
			wantCountFailed:       true,
			wantAction:            new(ActionCount),
		},

		// Cases below are not in upstream's table: J13.2 read off
		// PFP:78-126.
		"empty pattern status stands for True": {
			podFailurePolicy: &PodFailurePolicy{
				Rules: []PodFailurePolicyRule{{
					Action:          ActionIgnore,
					OnPodConditions: []PodFailurePolicyOnPodConditionsPattern{{Type: "DisruptionTarget"}},
				}},
			},
			failedPod: &Pod{
				Name:       "mypod",
				Namespace:  "default",
				Phase:      PodFailed,
				Conditions: []PodCondition{{Type: "DisruptionTarget", Status: "True"}},
			},
			wantCountFailed: false,
			wantAction:      new(ActionIgnore),
		},
		"empty pattern status does not match a False condition": {
			podFailurePolicy: &PodFailurePolicy{
				Rules: []PodFailurePolicyRule{{
					Action:          ActionIgnore,
					OnPodConditions: []PodFailurePolicyOnPodConditionsPattern{{Type: "DisruptionTarget"}},
				}},
			},
			failedPod: &Pod{
				Name:       "mypod",
				Namespace:  "default",
				Phase:      PodFailed,
				Conditions: []PodCondition{{Type: "DisruptionTarget", Status: "False"}},
			},
			wantCountFailed: true,
		},
		"FailJob message names the first matching condition in pod order": {
			podFailurePolicy: &PodFailurePolicy{
				Rules: []PodFailurePolicyRule{{
					Action: ActionFailJob,
					OnPodConditions: []PodFailurePolicyOnPodConditionsPattern{
						{Type: "DisruptionTarget", Status: "True"},
						{Type: "ResourceLimitExceeded", Status: "True"},
					},
				}},
			},
			failedPod: &Pod{
				Name:      "mypod",
				Namespace: "default",
				Phase:     PodFailed,
				Conditions: []PodCondition{
					{Type: "Ready", Status: "False"},
					{Type: "ResourceLimitExceeded", Status: "True"},
					{Type: "DisruptionTarget", Status: "True"},
				},
			},
			wantJobFailureMessage: new("Pod default/mypod has condition ResourceLimitExceeded matching FailJob rule at index 0"),
			wantCountFailed:       true,
			wantAction:            new(ActionFailJob),
		},
		"FailJob message names the first matching container": {
			podFailurePolicy: &PodFailurePolicy{
				Rules: []PodFailurePolicyRule{{
					Action:      ActionFailJob,
					OnExitCodes: &PodFailurePolicyOnExitCodes{Operator: OpIn, Values: []int32{3, 4}},
				}},
			},
			failedPod: &Pod{
				Name:      "mypod",
				Namespace: "default",
				Phase:     PodFailed,
				ContainerStatuses: []ContainerStatus{
					{Name: "a", Terminated: &ContainerTerminated{ExitCode: 1}},
					{Name: "b", Terminated: &ContainerTerminated{ExitCode: 4}},
					{Name: "c", Terminated: &ContainerTerminated{ExitCode: 3}},
				},
			},
			wantJobFailureMessage: new("Container b for pod default/mypod failed with exit code 4 matching FailJob rule at index 0"),
			wantCountFailed:       true,
			wantAction:            new(ActionFailJob),
		},
		"regular containers are checked before init containers": {
			podFailurePolicy: &PodFailurePolicy{
				Rules: []PodFailurePolicyRule{{
					Action:      ActionFailJob,
					OnExitCodes: &PodFailurePolicyOnExitCodes{Operator: OpNotIn, Values: []int32{}},
				}},
			},
			failedPod: &Pod{
				Name:                  "mypod",
				Namespace:             "default",
				Phase:                 PodFailed,
				InitContainerStatuses: []ContainerStatus{{Name: "init", Terminated: &ContainerTerminated{ExitCode: 7}}},
				ContainerStatuses:     []ContainerStatus{{Name: "main", Terminated: &ContainerTerminated{ExitCode: 9}}},
			},
			wantJobFailureMessage: new("Container main for pod default/mypod failed with exit code 9 matching FailJob rule at index 0"),
			wantCountFailed:       true,
			wantAction:            new(ActionFailJob),
		},
		"init container statuses are matched when no container matches": {
			podFailurePolicy: &PodFailurePolicy{
				Rules: []PodFailurePolicyRule{{
					Action:      ActionFailJob,
					OnExitCodes: &PodFailurePolicyOnExitCodes{Operator: OpIn, Values: []int32{7}},
				}},
			},
			failedPod: &Pod{
				Name:                  "mypod",
				Namespace:             "default",
				Phase:                 PodFailed,
				InitContainerStatuses: []ContainerStatus{{Name: "init", Terminated: &ContainerTerminated{ExitCode: 7}}},
				ContainerStatuses:     []ContainerStatus{{Name: "main", Terminated: &ContainerTerminated{ExitCode: 9}}},
			},
			wantJobFailureMessage: new("Container init for pod default/mypod failed with exit code 7 matching FailJob rule at index 0"),
			wantCountFailed:       true,
			wantAction:            new(ActionFailJob),
		},
		"containerName restricts the statuses looked at": {
			podFailurePolicy: &PodFailurePolicy{
				Rules: []PodFailurePolicyRule{
					{
						Action:      ActionIgnore,
						OnExitCodes: &PodFailurePolicyOnExitCodes{ContainerName: new("sidecar"), Operator: OpIn, Values: []int32{1}},
					},
					{
						Action:      ActionFailIndex,
						OnExitCodes: &PodFailurePolicyOnExitCodes{ContainerName: new("main"), Operator: OpIn, Values: []int32{1}},
					},
				},
			},
			failedPod: &Pod{
				Name:              "mypod",
				Namespace:         "default",
				Phase:             PodFailed,
				ContainerStatuses: []ContainerStatus{{Name: "main", Terminated: &ContainerTerminated{ExitCode: 1}}},
			},
			wantCountFailed: true,
			wantAction:      new(ActionFailIndex),
		},
		"onExitCodes is used and onPodConditions ignored when both are set": {
			podFailurePolicy: &PodFailurePolicy{
				Rules: []PodFailurePolicyRule{{
					Action:          ActionIgnore,
					OnExitCodes:     &PodFailurePolicyOnExitCodes{Operator: OpIn, Values: []int32{5}},
					OnPodConditions: []PodFailurePolicyOnPodConditionsPattern{{Type: "DisruptionTarget", Status: "True"}},
				}},
			},
			failedPod: &Pod{
				Name:              "mypod",
				Namespace:         "default",
				Phase:             PodFailed,
				Conditions:        []PodCondition{{Type: "DisruptionTarget", Status: "True"}},
				ContainerStatuses: []ContainerStatus{{Name: "main", Terminated: &ContainerTerminated{ExitCode: 1}}},
			},
			wantCountFailed: true,
		},
		"rule with neither requirement never matches": {
			podFailurePolicy: &PodFailurePolicy{
				Rules: []PodFailurePolicyRule{
					{Action: ActionIgnore},
					{
						Action:      ActionCount,
						OnExitCodes: &PodFailurePolicyOnExitCodes{Operator: OpIn, Values: []int32{1}},
					},
				},
			},
			failedPod: &Pod{
				Name:              "mypod",
				Namespace:         "default",
				Phase:             PodFailed,
				ContainerStatuses: []ContainerStatus{{Name: "main", Terminated: &ContainerTerminated{ExitCode: 1}}},
			},
			wantCountFailed: true,
			wantAction:      new(ActionCount),
		},
		"unterminated containers have no exit code": {
			podFailurePolicy: &PodFailurePolicy{
				Rules: []PodFailurePolicyRule{{
					Action:      ActionIgnore,
					OnExitCodes: &PodFailurePolicyOnExitCodes{Operator: OpNotIn, Values: []int32{1}},
				}},
			},
			failedPod: &Pod{
				Name:              "mypod",
				Namespace:         "default",
				Phase:             PodFailed,
				ContainerStatuses: []ContainerStatus{{Name: "main"}},
			},
			wantCountFailed: true,
		},
	}
	for name, tc := range testCases {
		t.Run(name, func(t *testing.T) {
			jobFailMessage, countFailed, action := matchPodFailurePolicy(tc.podFailurePolicy, tc.failedPod)
			if got, want := polStr(jobFailMessage), polStr(tc.wantJobFailureMessage); got != want {
				t.Errorf("job failure message = %s, want %s", got, want)
			}
			if countFailed != tc.wantCountFailed {
				t.Errorf("count failed = %v, want %v", countFailed, tc.wantCountFailed)
			}
			if got, want := polStr(action), polStr(tc.wantAction); got != want {
				t.Errorf("action = %s, want %s", got, want)
			}
		})
	}
}

// polStr shows an optional string: <nil> or the quoted value.
func polStr(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return "\"" + *s + "\""
}

// TestMatchSuccessPolicy ports SPT TestMatchSuccessPolicy, then adds cases
// of its own.
func TestMatchSuccessPolicy(t *testing.T) {
	testCases := map[string]struct {
		successPolicy        *SuccessPolicy
		completions          int
		succeededIndexes     orderedIntervals
		wantMessage          string
		wantMetSuccessPolicy bool
	}{
		"successPolicy is null": {
			completions:      10,
			succeededIndexes: orderedIntervals{{0, 0}},
		},
		"any rules are nothing": {
			completions:      10,
			succeededIndexes: orderedIntervals{{0, 0}},
			successPolicy:    &SuccessPolicy{Rules: []SuccessPolicyRule{}},
		},
		"rules.succeededIndexes is invalid format": {
			completions:      10,
			succeededIndexes: orderedIntervals{{0, 0}},
			successPolicy: &SuccessPolicy{
				Rules: []SuccessPolicyRule{{
					SucceededIndexes: new("invalid-form"),
				}},
			},
		},
		"rules.succeededIndexes is specified; succeededIndexes matched rules": {
			completions:      10,
			succeededIndexes: orderedIntervals{{0, 2}, {4, 7}},
			successPolicy: &SuccessPolicy{
				Rules: []SuccessPolicyRule{{
					SucceededIndexes: new("0-2"),
				}},
			},
			wantMessage:          "Matched rules at index 0",
			wantMetSuccessPolicy: true,
		},
		"rules.succeededIndexes is specified; succeededIndexes didn't match rules": {
			completions:      10,
			succeededIndexes: orderedIntervals{{0, 2}},
			successPolicy: &SuccessPolicy{
				Rules: []SuccessPolicyRule{{
					SucceededIndexes: new("3"),
				}},
			},
		},
		"rules.succeededCount is specified; succeededIndexes matched rules": {
			completions:      10,
			succeededIndexes: orderedIntervals{{0, 2}},
			successPolicy: &SuccessPolicy{
				Rules: []SuccessPolicyRule{{
					SucceededCount: new(int32(2)),
				}},
			},
			wantMessage:          "Matched rules at index 0",
			wantMetSuccessPolicy: true,
		},
		"rules.succeededCount is specified; succeededIndexes didn't match rules": {
			completions:      10,
			succeededIndexes: orderedIntervals{{0, 2}},
			successPolicy: &SuccessPolicy{
				Rules: []SuccessPolicyRule{{
					SucceededCount: new(int32(4)),
				}},
			},
		},
		"multiple rules; rules.succeededIndexes is specified; succeededIndexes met one of rules": {
			completions:      10,
			succeededIndexes: orderedIntervals{{0, 2}, {4, 7}},
			successPolicy: &SuccessPolicy{
				Rules: []SuccessPolicyRule{
					{
						SucceededIndexes: new("9"),
					},
					{
						SucceededIndexes: new("4,6"),
					},
				},
			},
			wantMessage:          "Matched rules at index 1",
			wantMetSuccessPolicy: true,
		},
		"multiple rules; rules.succeededIndexes is specified; succeededIndexes met all rules": {
			completions:      10,
			succeededIndexes: orderedIntervals{{0, 2}, {4, 7}},
			successPolicy: &SuccessPolicy{
				Rules: []SuccessPolicyRule{
					{
						SucceededIndexes: new("0,1"),
					},
					{
						SucceededIndexes: new("5"),
					},
				},
			},
			wantMessage:          "Matched rules at index 0",
			wantMetSuccessPolicy: true,
		},
		"rules.succeededIndexes and rules.succeededCount are specified; succeededIndexes met all rules": {
			completions:      10,
			succeededIndexes: orderedIntervals{{0, 2}, {4, 7}},
			successPolicy: &SuccessPolicy{
				Rules: []SuccessPolicyRule{{
					SucceededIndexes: new("3-6"),
					SucceededCount:   new(int32(2)),
				}},
			},
			wantMetSuccessPolicy: true,
			wantMessage:          "Matched rules at index 0",
		},
		"rules.succeededIndexes and rules.succeededCount are specified; succeededIndexes didn't match rules": {
			completions:      10,
			succeededIndexes: orderedIntervals{{0, 2}, {6, 7}},
			successPolicy: &SuccessPolicy{
				Rules: []SuccessPolicyRule{{
					SucceededIndexes: new("3-6"),
					SucceededCount:   new(int32(2)),
				}},
			},
		},
		"rules.succeededIndexes is specified; succeededIndexes are nothing": {
			completions:      10,
			succeededIndexes: orderedIntervals{},
			successPolicy: &SuccessPolicy{
				Rules: []SuccessPolicyRule{{
					SucceededCount: new(int32(4)),
				}},
			},
		},
		"rules.succeededIndexes is specified; succeededIndexes matched rules; rules is proper subset of succeededIndexes": {
			completions:      10,
			succeededIndexes: orderedIntervals{{1, 5}, {6, 9}},
			successPolicy: &SuccessPolicy{
				Rules: []SuccessPolicyRule{{
					SucceededIndexes: new("2-4,6-8"),
				}},
			},
			wantMetSuccessPolicy: true,
			wantMessage:          "Matched rules at index 0",
		},
		"rules.succeededIndexes is specified; succeededIndexes matched rules; rules equals succeededIndexes": {
			completions:      10,
			succeededIndexes: orderedIntervals{{2, 4}, {6, 9}},
			successPolicy: &SuccessPolicy{
				Rules: []SuccessPolicyRule{{
					SucceededIndexes: new("2-4,6-9"),
				}},
			},
			wantMetSuccessPolicy: true,
			wantMessage:          "Matched rules at index 0",
		},
		"rules.succeededIndexes is specified; succeededIndexes matched rules; rules is subset of succeededIndexes": {
			completions:      10,
			succeededIndexes: orderedIntervals{{2, 5}, {7, 15}},
			successPolicy: &SuccessPolicy{
				Rules: []SuccessPolicyRule{{
					SucceededIndexes: new("2-4,8-12"),
				}},
			},
			wantMetSuccessPolicy: true,
			wantMessage:          "Matched rules at index 0",
		},
		"rules.succeededIndexes is specified; succeededIndexes didn't match rules; rules is an empty set": {
			completions:      10,
			succeededIndexes: orderedIntervals{{1, 3}},
			successPolicy: &SuccessPolicy{
				Rules: []SuccessPolicyRule{{
					SucceededIndexes: new(""),
				}},
			},
		},
		"rules.succeededIndexes is specified; succeededIndexes didn't match rules; succeededIndexes is an empty set": {
			completions:      10,
			succeededIndexes: orderedIntervals{},
			successPolicy: &SuccessPolicy{
				Rules: []SuccessPolicyRule{{
					SucceededIndexes: new(""),
				}},
			},
		},
		"rules.succeededIndexes is specified; succeededIndexes didn't match rules; rules and succeededIndexes are empty set": {
			completions:      10,
			succeededIndexes: orderedIntervals{},
			successPolicy: &SuccessPolicy{
				Rules: []SuccessPolicyRule{{
					SucceededIndexes: new(""),
				}},
			},
		},
		"rules.succeededIndexes is specified; succeededIndexes didn't match rules; all elements of rules.succeededIndexes aren't included in succeededIndexes": {
			completions:      10,
			succeededIndexes: orderedIntervals{{1, 3}, {5, 7}},
			successPolicy: &SuccessPolicy{
				Rules: []SuccessPolicyRule{{
					SucceededIndexes: new("10-12,14-16"),
				}},
			},
		},
		"rules.succeededIndexes is specified; succeededIndexes didn't match rules; rules overlaps succeededIndexes at first": {
			completions:      10,
			succeededIndexes: orderedIntervals{{2, 4}, {6, 8}},
			successPolicy: &SuccessPolicy{
				Rules: []SuccessPolicyRule{{
					SucceededIndexes: new("1-3,5-7"),
				}},
			},
		},
		"rules.succeededIndexes and rules.succeededCount are specified; succeededIndexes matched rules; rules overlaps succeededIndexes at first": {
			completions:      10,
			succeededIndexes: orderedIntervals{{2, 4}, {6, 8}},
			successPolicy: &SuccessPolicy{
				Rules: []SuccessPolicyRule{{
					SucceededIndexes: new("1-3,5-7"),
					SucceededCount:   new(int32(4)),
				}},
			},
			wantMetSuccessPolicy: true,
			wantMessage:          "Matched rules at index 0",
		},
		"rules.succeededIndexes is specified; succeededIndexes didn't match rules; rules overlaps succeededIndexes at last": {
			completions:      10,
			succeededIndexes: orderedIntervals{{1, 3}, {5, 7}},
			successPolicy: &SuccessPolicy{
				Rules: []SuccessPolicyRule{{
					SucceededIndexes: new("2-4,6-9"),
				}},
			},
		},
		"rules.succeededIndexes and rules.succeededCount are specified; succeededIndexes matched rules; rules overlaps succeededIndexes at last": {
			completions:      10,
			succeededIndexes: orderedIntervals{{1, 3}, {5, 7}},
			successPolicy: &SuccessPolicy{
				Rules: []SuccessPolicyRule{{
					SucceededIndexes: new("2-4,6-9"),
					SucceededCount:   new(int32(4)),
				}},
			},
			wantMetSuccessPolicy: true,
			wantMessage:          "Matched rules at index 0",
		},
		"rules.succeededIndexes is specified; succeededIndexes didn't match rules; rules completely overlaps succeededIndexes": {
			completions:      10,
			succeededIndexes: orderedIntervals{{1, 3}, {7, 8}},
			successPolicy: &SuccessPolicy{
				Rules: []SuccessPolicyRule{{
					SucceededIndexes: new("0-4,6-9"),
				}},
			},
		},
		"rules.succeededIndexes and rules.succeededCount are specified; succeededIndexes matched rules; rules completely overlaps succeededIndexes": {
			completions:      10,
			succeededIndexes: orderedIntervals{{1, 3}, {7, 8}},
			successPolicy: &SuccessPolicy{
				Rules: []SuccessPolicyRule{{
					SucceededIndexes: new("0-4,6-9"),
					SucceededCount:   new(int32(5)),
				}},
			},
			wantMetSuccessPolicy: true,
			wantMessage:          "Matched rules at index 0",
		},
		"rules.succeededIndexes is specified; succeededIndexes didn't match rules; rules overlaps multiple succeededIndexes at last": {
			completions:      10,
			succeededIndexes: orderedIntervals{{1, 3}, {5, 9}},
			successPolicy: &SuccessPolicy{
				Rules: []SuccessPolicyRule{{
					SucceededIndexes: new("0-6,8-9"),
				}},
			},
		},
		"rules.succeededIndexes and rules.succeededCount are specified; succeededIndexes matched rules; rules overlaps multiple succeededIndexes at last": {
			completions:      10,
			succeededIndexes: orderedIntervals{{1, 3}, {5, 9}},
			successPolicy: &SuccessPolicy{
				Rules: []SuccessPolicyRule{{
					SucceededIndexes: new("0-6,8-9"),
					SucceededCount:   new(int32(7)),
				}},
			},
			wantMetSuccessPolicy: true,
			wantMessage:          "Matched rules at index 0",
		},
		"rules.succeededIndexes is specified; succeededIndexes didn't match rules; rules overlaps succeededIndexes at first, and rules equals succeededIndexes at last": {
			completions:      10,
			succeededIndexes: orderedIntervals{{1, 5}, {7, 10}},
			successPolicy: &SuccessPolicy{
				Rules: []SuccessPolicyRule{{
					SucceededIndexes: new("0-5,7-9"),
				}},
			},
		},
		"rules.succeededIndexes and rules.succeededCount are specified; succeededIndexes matched rules; rules overlaps succeededIndexes at first, and rules equals succeededIndexes at last": {
			completions:      10,
			succeededIndexes: orderedIntervals{{1, 5}, {7, 10}},
			successPolicy: &SuccessPolicy{
				Rules: []SuccessPolicyRule{{
					SucceededIndexes: new("0-5,7-9"),
					SucceededCount:   new(int32(8)),
				}},
			},
			wantMetSuccessPolicy: true,
			wantMessage:          "Matched rules at index 0",
		},
		"rules.succeededIndexes is specified; succeededIndexes didn't match rules; the first rules overlaps succeededIndexes at first": {
			completions:      10,
			succeededIndexes: orderedIntervals{{1, 10}},
			successPolicy: &SuccessPolicy{
				Rules: []SuccessPolicyRule{{
					SucceededIndexes: new("0-3,6-9"),
				}},
			},
		},
		"rules.succeededIndexes and rules.succeededCount are specified; succeededIndexes matched rules; the first rules overlaps succeededIndexes at first": {
			completions:      10,
			succeededIndexes: orderedIntervals{{1, 10}},
			successPolicy: &SuccessPolicy{
				Rules: []SuccessPolicyRule{{
					SucceededIndexes: new("0-3,6-9"),
					SucceededCount:   new(int32(7)),
				}},
			},
			wantMetSuccessPolicy: true,
			wantMessage:          "Matched rules at index 0",
		},

		// Cases below are not in upstream's table: the rule's indexes are
		// parsed against completions (J14.2, J11.2).
		"rules.succeededIndexes is clamped to completions": {
			completions:      3,
			succeededIndexes: orderedIntervals{{0, 2}},
			successPolicy: &SuccessPolicy{
				Rules: []SuccessPolicyRule{{
					SucceededIndexes: new("0-20"),
				}},
			},
			wantMetSuccessPolicy: true,
			wantMessage:          "Matched rules at index 0",
		},
		"rules.succeededIndexes parsing stops at an index beyond completions": {
			completions:      3,
			succeededIndexes: orderedIntervals{{0, 2}},
			successPolicy: &SuccessPolicy{
				Rules: []SuccessPolicyRule{
					{SucceededIndexes: new("5,1")},
					{SucceededIndexes: new("2")},
				},
			},
			wantMetSuccessPolicy: true,
			wantMessage:          "Matched rules at index 1",
		},
		"rules.succeededCount alone counts all succeeded indexes": {
			completions:      10,
			succeededIndexes: orderedIntervals{{0, 1}, {5, 6}},
			successPolicy: &SuccessPolicy{
				Rules: []SuccessPolicyRule{
					{SucceededCount: new(int32(5))},
					{SucceededCount: new(int32(4))},
				},
			},
			wantMetSuccessPolicy: true,
			wantMessage:          "Matched rules at index 1",
		},
		"rule with neither field never matches": {
			completions:      10,
			succeededIndexes: orderedIntervals{{0, 9}},
			successPolicy:    &SuccessPolicy{Rules: []SuccessPolicyRule{{}}},
		},
	}
	for name, tc := range testCases {
		t.Run(name, func(t *testing.T) {
			gotMessage, gotMetSuccessPolicy := matchSuccessPolicy(tc.successPolicy, tc.completions, tc.succeededIndexes)
			if gotMetSuccessPolicy != tc.wantMetSuccessPolicy {
				t.Errorf("matched = %v, want %v", gotMetSuccessPolicy, tc.wantMetSuccessPolicy)
			}
			if gotMessage != tc.wantMessage {
				t.Errorf("message = %q, want %q", gotMessage, tc.wantMessage)
			}
		})
	}
}
