package scenario_test

import (
	"strings"
	"testing"

	"github.com/rolloutlab/rolloutlab/sim/scenario"
)

// The Istio expectations read as written, and bad values are named by line and field.
func TestParseIstioExpectations(t *testing.T) {
	src := okHead + `- startTraffic: {name: testers, rate: 10, host: a.local, headers: {x-canary: "true"}}
- expect:
    subsets: {stable: 1, canary: 2}
    managedRoutes: {vs: [header-route], other: []}
    virtualServiceRoutes: {vs: {primary: 5, "tls[0]": 5}}
    mirrored: {min: 10, max: 20}
    answeredBy: {testers: {2: 100%}, clients: {1: 75%..85%}}
- stopTraffic: {name: testers}
`
	sc, err := scenario.Parse("s.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if got := sc.Timeline[0].Traffic; got.Name != "testers" || got.Headers["x-canary"] != "true" {
		t.Fatalf("startTraffic: %+v", got)
	}
	x := sc.Timeline[1].Expect
	if x.Subsets["canary"] != 2 || len(x.ManagedRoutes["vs"]) != 1 || x.ManagedRoutes["other"] == nil || len(x.ManagedRoutes["other"]) != 0 {
		t.Fatalf("subsets %v, managedRoutes %#v", x.Subsets, x.ManagedRoutes)
	}
	if x.VirtualServiceRoutes["vs"]["tls[0]"] != 5 || *x.Mirrored.Min != 10 || *x.Mirrored.Max != 20 {
		t.Fatalf("virtualServiceRoutes %v, mirrored %v", x.VirtualServiceRoutes, x.Mirrored)
	}
	if s := x.AnsweredBy["clients"][1]; s.Min != 75 || s.Max != 85 || x.AnsweredBy["testers"][2].Min != 100 {
		t.Fatalf("answeredBy %v", x.AnsweredBy)
	}
	if sc.Timeline[2].Traffic.Name != "testers" {
		t.Fatalf("stopTraffic: %+v", sc.Timeline[2])
	}

	for _, c := range []struct{ src, want string }{
		{"- expect: {answeredBy: {testers: {2: all}}}\n", `line 5: timeline[0].expect.answeredBy.testers.2: want a share like 100% or 15%..25%, got "all"`},
		{"- expect: {answeredBy: {testers: {2: 30%..20%}}}\n", "want a share like"},
		{"- expect: {answeredBy: {testers: {two: 5%}}}\n", `revision "two" is not a revision number`},
		{"- expect: {subsets: {stable: one}}\n", "timeline[0].expect.subsets.stable: want a whole number"},
		{"- expect: {virtualServiceRoutes: {vs: {primary: 120}}}\n", "timeline[0].expect.virtualServiceRoutes.vs.primary: want a weight from 0 to 100"},
		{"- stopTraffic: {nme: testers}\n", "timeline[0].stopTraffic.nme: unknown field"},
	} {
		_, err := scenario.Parse("s.yaml", []byte(okHead+c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", strings.TrimSpace(c.src), err, c.want)
		}
	}
}
