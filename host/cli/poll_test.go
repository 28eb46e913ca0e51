package cli

import (
	"testing"
	"time"

	"wasmctl.dev/wasmctl/host/config"
)

// TestPoller: only tags with a poll interval are due, each at its own
// interval, and a reload keeps the schedule of those already known.
func TestPoller(t *testing.T) {
	const d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	cfg := &config.Config{OCI: config.OCI{PollInterval: time.Hour}, Controllers: []config.Controller{
		{Name: "fast", Plugin: "oci://r.example/a:v1", PollInterval: time.Minute},
		{Name: "slow", Plugin: "oci://r.example/b:v1"}, // the global hour
		{Name: "pinned", Plugin: "oci://r.example/c@" + d},
		{Name: "file", Plugin: "p.wasm"},
	}}
	p := newPoller(cfg)
	now := time.Now()
	if due := p.due(cfg, now); len(due) != 0 {
		t.Fatalf("due at once: %v", due)
	}
	if due := p.due(cfg, now.Add(61*time.Second)); len(due) != 1 || due[0] != 0 {
		t.Fatalf("after a minute: %v", due)
	}
	if due := p.due(cfg, now.Add(90*time.Second)); len(due) != 0 {
		t.Fatalf("fast polled again too soon: %v", due)
	}
	next := p.next[pollKey(&cfg.Controllers[1])]
	p.reset(cfg) // a reload keeps the schedule of the tags it knows
	if p.next[pollKey(&cfg.Controllers[1])] != next || len(p.next) != 2 {
		t.Fatalf("reset moved the schedule: %v", p.next)
	}
	due := p.due(cfg, now.Add(61*time.Minute))
	if len(due) != 2 || due[0] != 0 || due[1] != 1 {
		t.Fatalf("after an hour: %v (pinned and file plugins are never polled)", due)
	}
	select {
	case <-p.C():
		t.Fatal("timer fired early")
	default:
	}
}
