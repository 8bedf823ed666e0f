package scenario_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/rollout"
	"github.com/rolloutlab/rolloutlab/sim"
	"github.com/rolloutlab/rolloutlab/sim/scenario"
)

// apisixSettled runs the world on until nothing is left to do and describes the end state: the
// rollout's, and the ApisixRoutes that exist with their canary weights.
func apisixSettled(t *testing.T, res *scenario.Result) string {
	t.Helper()
	w := res.World
	if _, err := w.Kernel.RunUntil(w.Kernel.Now().Add(10*time.Minute), nil); err != nil {
		t.Fatal(err)
	}
	o, ok := w.Cluster.Store.Peek(sim.Rollouts, "default", "rollout-apisix-canary")
	if !ok {
		t.Fatal("the rollout is gone")
	}
	ro := o.(*v1alpha1.Rollout)
	st := sim.ObserveState(w.Cluster.Store, ro)
	out := fmt.Sprintf("%s %s %v %v abort=%v routes:", st.Phase, st.Step, st.Weight, st.Revisions, st.Abort)
	for _, r := range w.Cluster.Store.PeekList(rollout.ApisixRouteResource, "default") {
		name := r.(*unstructured.Unstructured).GetName()
		ws, _, err := w.ApisixRouteCanaryWeights(ro, name, false)
		out += fmt.Sprintf(" %s=%v(%v)", name, ws, err)
	}
	return out
}

// withoutTraffic drops a scenario's clients and the checks of their requests: a crash test is
// about the rollout's writes, and the requests only slow it down.
func withoutTraffic(sc *scenario.Scenario) *scenario.Scenario {
	var tl []scenario.Step
	for _, st := range sc.Timeline {
		if st.Kind == scenario.KindStartTraffic {
			continue
		}
		st.Expect.AnsweredBy, st.Expect.FailedRequests = nil, nil
		tl = append(tl, st)
	}
	sc.Timeline = tl
	if sc.Final != nil {
		sc.Final.Expect.FailedRequests = nil
	}
	return sc
}

// The controller dies before each of its writes in turn while a header route is created,
// deleted at the abort, created again and deleted at the end: every run passes the scenario and
// settles where the run without a crash does (no header route left behind, none missing).
func TestApisixCrashBetweenAnyTwoWrites(t *testing.T) {
	sc := withoutTraffic(load(t, "apisix-header-route.yaml"))
	base, err := scenario.Run(sc, scenario.Options{})
	if err != nil || !base.Passed() {
		t.Fatal(err, base.Failure)
	}
	want := apisixSettled(t, base)
	t.Logf("%d crash points; settled: %s", base.World.Engine.Writes, want)
	step := 1
	if testing.Short() {
		step = 7
	}
	for p := 1; p <= base.World.Engine.Writes; p += step {
		res, err := scenario.Run(sc, scenario.Options{Prepare: func(w *sim.World) { w.Engine.DieAtWrite(p, time.Second) }})
		if err != nil {
			t.Fatalf("crash at write %d: %v", p, err)
		}
		if !res.Passed() {
			t.Fatalf("crash at write %d: %s", p, res.Failure)
		}
		if got := apisixSettled(t, res); got != want {
			t.Fatalf("crash at write %d: settled as\n  %s\nwithout the crash:\n  %s", p, got, want)
		}
	}
}

func TestApisixParse(t *testing.T) {
	const head = "name: t\nmanifests:\n  rollout: r.yaml\n"
	sc, err := scenario.Parse("s.yaml", []byte(head+`world:
  apisix: {pushDelay: 2s..3s}
timeline:
- startTraffic: {rate: 10, host: a.local, via: apisix, headers: {X-Tester: qa-1}}
- wait: {apisixRoutes: {main: 20, set-header: absent}, gatewayWeights: {main: 0}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if sc.World.Apisix == nil || sc.World.Apisix.Gateway.PushDelay.Max.Seconds() != 3 {
		t.Fatalf("world.apisix %+v", sc.World.Apisix)
	}
	tr := sc.Timeline[0].Traffic
	if tr.Via != sim.ViaApisix || tr.Host != "a.local" || tr.Headers["X-Tester"] != "qa-1" {
		t.Fatalf("traffic %+v", tr)
	}
	x := sc.Timeline[1].Expect
	if x.ApisixRoutes["main"] != 20 || x.ApisixRoutes["set-header"] != scenario.Absent || x.GatewayWeights["main"] != 0 {
		t.Fatalf("expectation %+v", x)
	}
	for _, c := range []struct{ src, want string }{
		{"timeline:\n- startTraffic: {rate: 10, host: a, via: nginx}\n", `line 5: timeline[0].startTraffic.via: want mesh or apisix, got "nginx"`},
		{"timeline:\n- startTraffic: {rate: 10, ingress: a, via: apisix}\n", "timeline[0].startTraffic.via: via picks the entry of host traffic"},
		{"timeline:\n- expect: {apisixRoutes: {main: 120}}\n", "timeline[0].expect.apisixRoutes.main: want a weight from 0 to 100, or absent"},
		{"timeline:\n- expect: {gatewayWeights: {main: gone}}\n", "timeline[0].expect.gatewayWeights.main"},
		{"world:\n  apisix: {delay: 1s}\ntimeline: []\n", "world.apisix.delay: unknown field"},
	} {
		_, err := scenario.Parse("s.yaml", []byte(head+c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.src, err, c.want)
		}
	}
}
