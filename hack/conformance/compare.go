package main

import (
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// kinds are the table's columns, in order.
var kinds = []string{"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "ControllerRevision", "Job", "CronJob", "Pod", "PersistentVolumeClaim", "Event"}

// difference is one object that differs between the sides at a checkpoint.
type difference struct {
	checkpoint, key, kind string
	diff                  string   // unified diff of the normalised YAML
	paths                 []string // the differing fields (Events: "- line", "+ line")
	allowed               *allowance
}

type cell struct {
	objects int // on either side
	diffs   []*difference
}

type report struct {
	names       [2]string
	checkpoints []string
	cells       map[string]map[string]*cell
	diffs       []*difference
	took        time.Duration
	sideTook    [2]time.Duration
}

func compare(a, b sideResult) *report {
	r := &report{names: [2]string{a.name, b.name}, cells: map[string]map[string]*cell{}}
	for i := range a.snapshots {
		cp := a.snapshots[i].checkpoint
		r.checkpoints = append(r.checkpoints, cp)
		row := map[string]*cell{}
		for _, k := range kinds {
			row[k] = &cell{}
		}
		r.cells[cp] = row
		na, nb := a.snapshots[i].normalised, b.snapshots[i].normalised
		keys := map[string]bool{}
		for k := range na {
			keys[k] = true
		}
		for k := range nb {
			keys[k] = true
		}
		for _, key := range sortedKeys(keys) {
			kind, _, _ := strings.Cut(key, " ")
			c := row[kind]
			if c == nil {
				c = &cell{}
				row[kind] = c
			}
			c.objects++
			oa, okA := na[key]
			ob, okB := nb[key]
			if okA && okB && reflect.DeepEqual(oa, ob) {
				continue
			}
			d := &difference{checkpoint: cp, key: key, kind: kind}
			d.diff = unifiedDiff(a.name+"/"+cp+"/"+key, b.name+"/"+cp+"/"+key, yamlLines(oa, okA), yamlLines(ob, okB), 3)
			switch {
			case !okA:
				d.paths = []string{"only in " + b.name}
			case !okB:
				d.paths = []string{"only in " + a.name}
			case kind == "Event":
				d.paths = eventDiff(oa, ob)
			default:
				d.paths = leafDiff(oa, ob, "")
			}
			d.allowed = allowedBy(d)
			c.diffs = append(c.diffs, d)
			r.diffs = append(r.diffs, d)
		}
	}
	return r
}

func yamlLines(o object, ok bool) []string {
	if !ok {
		return nil
	}
	y, err := yaml.Marshal(o)
	if err != nil {
		return []string{err.Error()}
	}
	return strings.Split(strings.TrimSuffix(string(y), "\n"), "\n")
}

// leafDiff lists the paths (metadata.labels.app, status.conditions[1].reason)
// at which a and b differ.
func leafDiff(a, b any, path string) []string {
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok {
			break
		}
		keys := map[string]bool{}
		for k := range av {
			keys[k] = true
		}
		for k := range bv {
			keys[k] = true
		}
		var out []string
		for _, k := range sortedKeys(keys) {
			p := k
			if path != "" {
				p = path + "." + k
			}
			out = append(out, leafDiff(av[k], bv[k], p)...)
		}
		return out
	case []any:
		bv, ok := b.([]any)
		if !ok {
			break
		}
		var out []string
		for i := 0; i < max(len(av), len(bv)); i++ {
			var x, y any
			if i < len(av) {
				x = av[i]
			}
			if i < len(bv) {
				y = bv[i]
			}
			out = append(out, leafDiff(x, y, fmt.Sprintf("%s[%d]", path, i))...)
		}
		return out
	}
	if reflect.DeepEqual(a, b) {
		return nil
	}
	return []string{path}
}

// eventDiff lists the event lines only one side has, "- " for the first
// side's, "+ " for the second's.
func eventDiff(a, b object) []string {
	la, _ := a["new"].([]any)
	lb, _ := b["new"].([]any)
	count := map[string]int{}
	for _, l := range la {
		count[fmt.Sprint(l)]++
	}
	for _, l := range lb {
		count[fmt.Sprint(l)]--
	}
	var out []string
	for _, l := range sortedKeys(count) {
		switch {
		case count[l] > 0:
			out = append(out, "- "+l)
		case count[l] < 0:
			out = append(out, "+ "+l)
		}
	}
	return out
}

// unifiedDiff is a unified diff of two line lists with n lines of context.
func unifiedDiff(nameA, nameB string, a, b []string, n int) string {
	// Longest common subsequence, then the edit script.
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type op struct {
		kind   byte // ' ', '-', '+'
		line   string
		ai, bi int // line numbers (0-based) in a and b before this op
	}
	var ops []op
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			ops = append(ops, op{' ', a[i], i, j})
			i++
			j++
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, op{'-', a[i], i, j})
			i++
		default:
			ops = append(ops, op{'+', b[j], i, j})
			j++
		}
	}
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", nameA, nameB)
	for k := 0; k < len(ops); {
		if ops[k].kind == ' ' {
			k++
			continue
		}
		// A hunk: from n lines before this change to n lines after the
		// last change that is at most 2n lines further.
		start := max(0, k-n)
		end := k
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			next := end
			for next < len(ops) && ops[next].kind == ' ' {
				next++
			}
			if next == len(ops) || next-end > 2*n {
				end = min(len(ops), end+n)
				break
			}
			end = next
		}
		var ca, cb int
		for _, o := range ops[start:end] {
			if o.kind != '+' {
				ca++
			}
			if o.kind != '-' {
				cb++
			}
		}
		fmt.Fprintf(&out, "@@ -%d,%d +%d,%d @@\n", ops[start].ai+1, ca, ops[start].bi+1, cb)
		for _, o := range ops[start:end] {
			fmt.Fprintf(&out, "%c%s\n", o.kind, o.line)
		}
		k = end
	}
	return out.String()
}

func (r *report) failed() bool {
	for _, d := range r.diffs {
		if d.allowed == nil {
			return true
		}
	}
	return false
}

func (r *report) verdict() string {
	var bad, allowed int
	for _, d := range r.diffs {
		if d.allowed == nil {
			bad++
		} else {
			allowed++
		}
	}
	if bad == 0 {
		return fmt.Sprintf("the same (%d allowed differences)", allowed)
	}
	return fmt.Sprintf("%d objects differ (and %d allowed differences)", bad, allowed)
}

// print writes every difference: the unexplained ones with their diff,
// the allowed ones with the rule that allows them.
func (r *report) print(w io.Writer) {
	for _, d := range r.diffs {
		if d.allowed != nil {
			fmt.Fprintf(w, "\n=== %s %s: differs, allowed (%s: %s)\n", d.checkpoint, d.key, d.allowed.id, d.allowed.why)
			continue
		}
		fmt.Fprintf(w, "\n=== %s %s: differs at %s\n%s", d.checkpoint, d.key, strings.Join(d.paths, ", "), d.diff)
	}
	fmt.Fprintln(w)
}

const (
	docBegin = "<!-- BEGIN generated by hack/conformance: do not edit -->"
	docEnd   = "<!-- END generated by hack/conformance -->"
)

// table is the generated section of docs/CONFORMANCE.md.
func (r *report) table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Last run %s: `make conformance` took %s (side %s %s, side %s %s). Columns: the checkpoints below. Each cell: whether both sides have the same normalised objects of that kind at that checkpoint, and how many there are (Events: one per involved object with Events recorded since the previous checkpoint); a deliberate difference is named by its allow-list entry, explained under the table; \"–\": none on either side.\n\n",
		time.Now().UTC().Format("2006-01-02"), r.took.Round(time.Second), r.names[0], r.sideTook[0].Round(time.Second), r.names[1], r.sideTook[1].Round(time.Second))
	b.WriteString("| kind |")
	for i := range r.checkpoints {
		fmt.Fprintf(&b, " %d |", i+1)
	}
	b.WriteString("\n|---|")
	for range r.checkpoints {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, k := range kinds {
		fmt.Fprintf(&b, "| %s |", k)
		for _, cp := range r.checkpoints {
			c := r.cells[cp][k]
			var bad, allowed []string
			for _, d := range c.diffs {
				if d.allowed == nil {
					bad = append(bad, d.key)
				} else if !contains(allowed, d.allowed.id) {
					allowed = append(allowed, d.allowed.id)
				}
			}
			switch {
			case c.objects == 0:
				b.WriteString(" – |")
			case len(bad) > 0:
				fmt.Fprintf(&b, " **differs** (%d of %d) |", len(bad), c.objects)
			case len(allowed) > 0:
				fmt.Fprintf(&b, " differs: %s (%d of %d) |", strings.Join(allowed, ", "), len(c.diffs), c.objects)
			default:
				fmt.Fprintf(&b, " same (%d) |", c.objects)
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("\nCheckpoints (each after the step, once settled):\n\n")
	for i, st := range script {
		fmt.Fprintf(&b, "%d. **%s**: %s.\n", i+1, st.checkpoint, st.what)
	}
	var bad []*difference
	used := map[string]bool{}
	for _, d := range r.diffs {
		if d.allowed == nil {
			bad = append(bad, d)
		} else {
			used[d.allowed.id] = true
		}
	}
	if len(used) > 0 {
		b.WriteString("\nDeliberate differences seen in this run (allow-list entries of `hack/conformance/allow.go`; the run passes with them):\n\n")
		for _, a := range allowList {
			if used[a.id] {
				fmt.Fprintf(&b, "- **%s** (%s): %s\n", a.id, a.kind, a.why)
			}
		}
	}
	if len(bad) > 0 {
		b.WriteString("\nDifferences (the run fails on them; the diffs are on its standard error):\n\n")
		for _, d := range bad {
			paths := d.paths
			if len(paths) > 6 {
				paths = append(paths[:6:6], fmt.Sprintf("… %d more", len(d.paths)-6))
			}
			fmt.Fprintf(&b, "- %s `%s`: %s\n", d.checkpoint, d.key, mdEscape(strings.Join(paths, "; ")))
		}
	}
	return b.String()
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "*", `\*`, "_", `\_`, "<", "&lt;", ">", "&gt;").Replace(s)
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// writeDoc replaces the generated section of path (between docBegin and
// docEnd), creating the file with only that section if it does not exist.
func (r *report) writeDoc(path string) error {
	section := docBegin + "\n" + r.table() + docEnd
	old, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return os.WriteFile(path, []byte("# Conformance\n\n"+section+"\n"), 0o644)
	}
	if err != nil {
		return err
	}
	s := string(old)
	i, j := strings.Index(s, docBegin), strings.Index(s, docEnd)
	if i < 0 || j < i {
		return fmt.Errorf("%s: no %q … %q section", path, docBegin, docEnd)
	}
	return os.WriteFile(path, []byte(s[:i]+section+s[j+len(docEnd):]), 0o644)
}

// allowance explains a deliberate difference: every differing path of an
// object of kind (and name, and checkpoint, when set) must match path for
// the object to count as allowed.
type allowance struct {
	id         string
	kind       string
	name       *regexp.Regexp // the object's normalised name; nil: any
	checkpoint string         // "": any
	path       *regexp.Regexp // each differing path (Events: "- line" or "+ line")
	why        string
}

func allowedBy(d *difference) *allowance {
	_, name, _ := strings.Cut(d.key, " ")
	for i := range allowList {
		a := &allowList[i]
		if a.kind != d.kind || a.checkpoint != "" && a.checkpoint != d.checkpoint || a.name != nil && !a.name.MatchString(name) {
			continue
		}
		all := len(d.paths) > 0
		for _, p := range d.paths {
			all = all && a.path.MatchString(p)
		}
		if all {
			return a
		}
	}
	return nil
}
