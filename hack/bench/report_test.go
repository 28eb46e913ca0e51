package main

import (
	"strings"
	"testing"
)

func TestReport(t *testing.T) {
	all := []sizeRuns{{name: "500x10", pods: 5000, runs: map[string][]result{
		"kcm":          {{seconds: 10, cpu: 3, rssMiB: 120, churn: 6, down: 12}, {seconds: 12, cpu: 3, rssMiB: 122, churn: 8, down: 14}},
		"wasmctl-host": {{seconds: 15, cpu: 9, rssMiB: 290, churn: 8, down: 16}, {seconds: 17, cpu: 9, rssMiB: 294, churn: 10, down: 16}},
		"floor":        {{seconds: 5}, {seconds: 6}},
	}}}
	got := report(all, []string{"kcm", "wasmctl-host", "floor"})
	for _, line := range []string{
		"| 500×10 | kcm | 11.00 | 455 | 3.00 | 121 | 1.00× | 7.00 | 13.00 |",
		"| 500×10 | wasmctl-host | 16.00 | 312 | 9.00 | 292 | 1.45× | 9.00 | 16.00 |",
		"| 500×10 | floor | 5.50 | 909 | – | – | 0.50× | – | – |",
		"| 500×10 | 1.45× | 3.00× | 2.41× | 1.29× | 1.23× | 0.50× |",
	} {
		if !strings.Contains(got, line+"\n") {
			t.Errorf("report lacks the line\n%s\nreport:\n%s", line, got)
		}
	}
	// Without kube-controller-manager there are no ratios.
	delete(all[0].runs, "kcm")
	if got := report(all, []string{"wasmctl-host", "floor"}); !strings.Contains(got, "| 500×10 | – | – | – | – | – | – |\n") {
		t.Errorf("ratios without kcm:\n%s", got)
	}
}
