package main

import "regexp"

// allowList holds the differences that are deliberate: each is a Known
// difference of the plugin's docs/controllers/*.md, says which, and is as
// narrow as the difference (kind, name, checkpoint, the fields or Event
// lines where it shows). Timing is not a reason to be here: what depends on
// timing on both sides is normalised (normalise.go), not allowed.
var allowList = []allowance{
	{
		id:         "ds-node-triggers",
		kind:       "DaemonSet",
		name:       regexp.MustCompile(`^ondelete$`),
		checkpoint: "tainted-noschedule",
		path:       regexp.MustCompile(`^status\.(desiredNumberScheduled|currentNumberScheduled|numberReady|numberAvailable|numberUnavailable|numberMisscheduled|updatedNumberScheduled)$`),
		why: "docs/controllers/daemonset.md, Known differences, Triggers: a NoSchedule taint makes kwok-node-3 ineligible while " +
			"ondelete's pod there may stay; kube-controller-manager's node handler does not enqueue a DaemonSet for that " +
			"(daemon_controller.go syncNodeUpdate enqueues only if shouldRun && !scheduled, !shouldContinueRunning && scheduled, " +
			"or misscheduled > 0), so its status keeps counting the node (desired 4, misscheduled 0) until the DaemonSet's " +
			"next event; the host syncs every DaemonSet on a node's taint change (desired 3, misscheduled 1)",
	},
}
