package scenario_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/rolloutlab/rolloutlab/sim/scenario"
)

const okHead = "name: t\nmanifests:\n  rollout: r.yaml\ntimeline:\n"

func TestParseErrorsNameLineAndField(t *testing.T) {
	cases := []struct {
		name, src, want string
	}{
		{"unknown top-level field", "name: t\ntimelin: []\n", "line 2: timelin: unknown field"},
		{"no name", "timeline: []\n", "name: a scenario needs a name"},
		{"no timeline", "name: t\n", "timeline: a scenario needs a timeline"},
		{"unknown step", okHead + "- apply: rollout\n- promot: {}\n", `line 6: timeline[1]: unknown step "promot"`},
		{"two actions in a step", okHead + "- abort: {}\n  retry: {}\n", "line 5: timeline[0]: a step holds one action"},
		{"bad duration", okHead + "- wait: {phase: Healthy, within: soon}\n", `line 5: timeline[0].wait.within: want a duration like 30s or 5m, got "soon"`},
		{"bad phase", okHead + "- expect: {phase: Happy}\n", `timeline[0].expect.phase: want Healthy, Progressing, Paused or Degraded, got "Happy"`},
		{"unknown expectation", okHead + "- expect: {phaze: Healthy}\n", "line 5: timeline[0].expect.phaze: unknown field"},
		{"bad revisions", okHead + "- expect:\n    revisions: {2: four}\n", `line 6: timeline[0].expect.revisions.2: want SPEC/AVAILABLE replicas like 4/4, got "four"`},
		{"bad revision number", okHead + "- expect:\n    revisions: {two: 4/4}\n", `timeline[0].expect.revisions: revision "two" is not a revision number`},
		{"weight out of range", okHead + "- expect: {weight: 120}\n", "timeline[0].expect.weight: want a weight from 0 to 100"},
		{"set image without =", okHead + "- setImage: nginx\n", `line 5: timeline[0].setImage: want CONTAINER=IMAGE, got "nginx"`},
		{"unknown manifest", okHead + "- apply: [rollout, service]\n", `timeline[0].apply: no manifest named "service" (declared: rollout)`},
		{"promote option", okHead + "- promote: {fulll: true}\n", "timeline[0].promote.fulll: unknown field"},
		{"promote flag type", okHead + "- promote: {full: yes please}\n", `timeline[0].promote.full: want true or false, got "yes please"`},
		{"world knob", "name: t\nworld:\n  podStart: 3s..1s\ntimeline: []\n", "line 3: world.podStart: delay range \"3s..1s\" runs backwards"},
		{"world unknown knob", "name: t\nworld:\n  podStrat: 1s\ntimeline: []\n", "line 3: world.podStrat: unknown field"},
		{"duplicate key", "name: t\nname: u\ntimeline: []\n", `line 2: "name" given twice`},
		{"not YAML", "name: [\n", "not valid YAML"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := scenario.Parse("s.yaml", []byte(c.src))
			if err == nil {
				t.Fatalf("accepted:\n%s", c.src)
			}
			if !strings.HasPrefix(err.Error(), "s.yaml: ") || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q\nwant it to name the file and contain %q", err, c.want)
			}
		})
	}
}

func TestLoadNamesAMissingManifest(t *testing.T) {
	fsys := fstest.MapFS{"s.yaml": {Data: []byte(okHead + "- apply: rollout\n")}}
	_, err := scenario.Load(fsys, "s.yaml")
	if err == nil || !strings.Contains(err.Error(), "s.yaml: manifests.rollout") {
		t.Fatalf("error %v", err)
	}
}

// A manifest with a misspelt field stops the run with the manifest's file, line and field path.
func TestRunReportsAManifestError(t *testing.T) {
	rollout := "# leading comment\n---\napiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata:\n  name: x\nspec:\n  strategy:\n    canary:\n      stepz: []\n"
	fsys := fstest.MapFS{
		"s.yaml": {Data: []byte(okHead + "- apply: rollout\n")},
		"r.yaml": {Data: []byte(rollout)},
	}
	sc, err := scenario.Load(fsys, "s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = scenario.Run(sc, scenario.Options{})
	if err == nil {
		t.Fatal("a manifest with an unknown field was applied")
	}
	for _, want := range []string{"s.yaml:5: timeline[0]", "r.yaml:3", `unknown field "spec.strategy.canary.stepz"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestStepsParse(t *testing.T) {
	src := okHead + `- apply: rollout
- setImage: app=example/app:v2
- promote: {full: true}
- undo: {toRevision: 3}
- crashEngine: {down: 5s}
- after: 1m30s
- wait: {phase: Paused, step: 1/8, revisions: {1: 4/4, 2: 1/1}}
- abort: {}
  rollout: other
expect: {phase: Healthy, stable: 2, within: 1m}
`
	sc, err := scenario.Parse("s.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Timeline) != 8 {
		t.Fatalf("%d steps", len(sc.Timeline))
	}
	st := sc.Timeline
	if st[1].Container != "app" || st[1].Image != "example/app:v2" || !st[2].Full || st[3].ToRevision != 3 ||
		st[4].For.Seconds() != 5 || st[5].For.Seconds() != 90 || st[7].Rollout != "other" {
		t.Errorf("steps %+v", st)
	}
	if st[6].Within.Minutes() != 10 || st[6].Expect.Revisions[2].Available != 1 || st[6].Line != 11 {
		t.Errorf("wait %+v", st[6])
	}
	if sc.Final == nil || *sc.Final.Expect.Stable != 2 || sc.Final.Within.Minutes() != 1 {
		t.Errorf("final %+v", sc.Final)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(okHead + "- apply: rollout\n- wait: {phase: Healthy}\n"))
	f.Add([]byte("name: x\nworld: {podStart: 1s..2s~tail}\ntimeline: [{after: 1s}]\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		_, _ = scenario.Parse("fuzz.yaml", src) // must not panic
	})
}
