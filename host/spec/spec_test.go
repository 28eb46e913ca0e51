package spec

import (
	"strings"
	"testing"
	"time"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/host/config"
)

func cfgOf(cc config.Controller) *config.Config {
	cc.SetDefaults()
	return &config.Config{Controllers: []config.Controller{cc}}
}

var good = abi.Manifest{
	Name: "rs", For: abi.TypeRef{APIVersion: "apps/v1", Kind: "ReplicaSet"},
	Owns:     []abi.TypeRef{{APIVersion: "v1", Kind: "Pod"}},
	Selector: "tier in (front,back)",
	Related:  []abi.RelatedInput{{Name: "pods", Type: abi.TypeRef{APIVersion: "v1", Kind: "Pod"}, Select: abi.SelectSiblingSelected, LabelSelector: "a!=b"}},
	Fields:   []abi.FieldSelection{{Type: abi.TypeRef{APIVersion: "v1", Kind: "Pod"}, Paths: []string{"metadata.labels", "metadata.annotations[a.b/c]"}}},
	OwnedEvents: []abi.OwnedEvents{{Type: abi.TypeRef{APIVersion: "v1", Kind: "Pod"},
		Created: "create {kind} {name} in {primaryKind} {primary} successful"}},
}

func TestBuild(t *testing.T) {
	s, err := Build(cfgOf(config.Controller{Plugin: "x.wasm", Config: map[string]any{"k": "v"}}), 0, &good)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "rs" || s.For.Kind != "ReplicaSet" || len(s.Owns) != 1 || s.Selector == nil || s.Related[0].Selector == nil || len(s.Projections) != 1 {
		t.Fatalf("spec %+v", s)
	}
	if string(s.Config) != `{"k":"v"}` || s.Limits.MemoryBytes != 64<<20 || s.Limits.MaxOutputBytes != 16<<20 {
		t.Fatalf("config %s limits %+v", s.Config, s.Limits)
	}
	ev := s.OwnedEventsFor(s.Owns[0])
	if ev.Created != good.OwnedEvents[0].Created || ev.Deleted != abi.DefaultOwnedEvents.Deleted {
		t.Fatalf("owned events %+v", ev)
	}
	// A related input's wakeOn and when.
	m := good
	m.Related = []abi.RelatedInput{{Name: "pods", Type: abi.TypeRef{APIVersion: "v1", Kind: "Pod"}, Select: abi.SelectGrandchildren,
		WakeOn: abi.WakeDelete, When: &abi.FieldCondition{Path: "spec.strategy.type", Equals: "Recreate"}}}
	if s, err = Build(cfgOf(config.Controller{Plugin: "x.wasm"}), 0, &m); err != nil {
		t.Fatal(err)
	}
	if r := s.Related[0]; r.WakeOn != abi.WakeDelete || strings.Join(r.WhenPath, "|") != "spec|strategy|type" {
		t.Fatalf("related %+v", r)
	}
	// The configuration's for, owns and permissions replace the manifest's.
	s, err = Build(cfgOf(config.Controller{Name: "mine", Plugin: "x.wasm", For: &abi.TypeRef{APIVersion: "v1", Kind: "ConfigMap"}, Owns: []abi.TypeRef{}}), 0, &abi.Manifest{Name: "theirs"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "mine" || s.For.Kind != "ConfigMap" || len(s.Owns) != 0 {
		t.Fatalf("overrides lost: %+v", s)
	}
	// The configuration's owns leaves out a kind the manifest words Events
	// for: nothing to word, not an error.
	if _, err := Build(cfgOf(config.Controller{Plugin: "x.wasm", Owns: []abi.TypeRef{{APIVersion: "v1", Kind: "ConfigMap"}}}), 0, &good); err != nil {
		t.Fatal(err)
	}
}

// TestBuildRefuses: every bad field is refused, each named, all at once.
func TestBuildRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(m *abi.Manifest, cc *config.Controller)
		want []string
	}{
		{"three bad fields, each named", func(m *abi.Manifest, _ *config.Controller) {
			m.Selector = "a in ("
			m.Related[0].Select = "everything"
			m.Fields[0].Paths = []string{"a..b"}
		}, []string{`manifest selector: "a in ("`, `manifest related[0].select: "everything": want siblingChildren, siblingSelected, grandchildren, namespace or all`, `manifest fields[0].paths: field path "a..b"`}},
		{"no for kind", func(m *abi.Manifest, _ *config.Controller) { m.For = abi.TypeRef{} }, []string{"manifest for: no for kind"}},
		{"bad apiVersion", func(m *abi.Manifest, _ *config.Controller) { m.Owns[0].APIVersion = "a/b/c" }, []string{`manifest owns[0]: apiVersion "a/b/c"`}},
		{"config owns named as config", func(_ *abi.Manifest, cc *config.Controller) { cc.Owns = []abi.TypeRef{{Kind: "Pod"}} }, []string{"controllers[0]: owns[0]: apiVersion and kind are required"}},
		{"bad related label selector", func(m *abi.Manifest, _ *config.Controller) { m.Related[0].LabelSelector = "=x" }, []string{"manifest related[0].labelSelector"}},
		{"related without name", func(m *abi.Manifest, _ *config.Controller) { m.Related[0].Name = "" }, []string{"manifest related[0].name: required"}},
		{"passive related with wakeOn", func(m *abi.Manifest, _ *config.Controller) {
			m.Related[0].Passive, m.Related[0].WakeOn = true, abi.WakeDelete
		}, []string{`manifest related[0].wakeOn: "delete" on a passive input`}},
		{"unknown wakeOn", func(m *abi.Manifest, _ *config.Controller) { m.Related[0].WakeOn = "update" }, []string{`manifest related[0].wakeOn: "update": want "delete"`}},
		{"when without path", func(m *abi.Manifest, _ *config.Controller) {
			m.Related[0].When = &abi.FieldCondition{Equals: "Recreate"}
		}, []string{"manifest related[0].when.path: required"}},
		{"when with a bad path", func(m *abi.Manifest, _ *config.Controller) {
			m.Related[0].When = &abi.FieldCondition{Path: "spec..type"}
		}, []string{`manifest related[0].when.path: field path "spec..type": empty segment`}},
		{"grandchildren without owns", func(m *abi.Manifest, cc *config.Controller) {
			m.Related[0].Select = abi.SelectGrandchildren
			cc.Owns = []abi.TypeRef{}
		}, []string{`manifest related[0].select: "grandchildren": the children of the primary's children, but the controller owns no kinds`}},
		{"bad permission verb", func(m *abi.Manifest, _ *config.Controller) {
			m.Permissions = []abi.Permission{{APIVersion: "v1", Kind: "Secret", Verbs: []abi.Op{"upsert"}}}
		}, []string{`manifest permissions[0]: verbs: unknown verb "upsert"`}},
		{"events of a kind not owned", func(m *abi.Manifest, _ *config.Controller) { m.OwnedEvents[0].Type.Kind = "Secret" }, []string{"manifest ownedEvents[0].type: v1, Kind=Secret is not an owns kind"}},
		{"unknown event placeholder", func(m *abi.Manifest, _ *config.Controller) { m.OwnedEvents[0].Deleted = "gone {pod}" }, []string{"manifest ownedEvents[0]: deleted: unknown placeholder {pod}"}},
		{"other ABI", func(m *abi.Manifest, _ *config.Controller) { m.ABIVersion = "wasmctl.dev/v2" }, []string{`the plugin speaks ABI "wasmctl.dev/v2"`}},
		{"no name anywhere", func(m *abi.Manifest, _ *config.Controller) { m.Name = "" }, []string{"name: required"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := good
			m.Owns = append([]abi.TypeRef(nil), good.Owns...)
			m.Related = append([]abi.RelatedInput(nil), good.Related...)
			m.Fields = []abi.FieldSelection{{Type: good.Fields[0].Type, Paths: good.Fields[0].Paths}}
			m.OwnedEvents = append([]abi.OwnedEvents(nil), good.OwnedEvents...)
			cc := config.Controller{Plugin: "x.wasm"}
			tc.edit(&m, &cc)
			_, err := Build(cfgOf(cc), 0, &m)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
		})
	}
}

func TestDiff(t *testing.T) {
	old, err := Build(cfgOf(config.Controller{Plugin: "x.wasm"}), 0, &good)
	if err != nil {
		t.Fatal(err)
	}
	cc := config.Controller{Plugin: "x.wasm", Workers: 9, Config: map[string]any{"new": true}, PluginConfig: map[string]string{"controller": "x"}, IdleTimeout: time.Second}
	m := good
	m.Owns = []abi.TypeRef{{APIVersion: "v1", Kind: "Pod"}, {APIVersion: "v1", Kind: "ConfigMap"}}
	cur, err := Build(cfgOf(cc), 0, &m)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, c := range Diff(old, cur) {
		got[c.Field] = c.Live
	}
	want := map[string]bool{"workers": true, "config": true, "pluginConfig": true, "limits": true, "owns": false}
	if len(got) != len(want) {
		t.Fatalf("diff %v, want %v", got, want)
	}
	for f, live := range want {
		if l, ok := got[f]; !ok || l != live {
			t.Errorf("%s: got %v (present %v), want live=%v", f, l, ok, live)
		}
	}
	if d := Diff(old, old); len(d) != 0 {
		t.Fatalf("a spec differs from itself: %v", d)
	}
}
