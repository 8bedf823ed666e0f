package apisix

import (
	"slices"
	"strings"
	"testing"
)

func TestNewSpec(t *testing.T) {
	spec := specFor(t, loadRollout(t, "guide/rollout.yaml"))
	if spec.CanaryService != "rollout-apisix-canary-canary" || spec.StableService != "rollout-apisix-canary-stable" ||
		!slices.Equal(spec.Rules, []string{"rollouts-apisix"}) || !slices.Equal(spec.ManagedRoutes, []string{"set-header"}) {
		t.Fatalf("%+v", spec)
	}
	// No rules: the rule named like the ApisixRoute, as in Argo.
	ro := rolloutOf(t, `
metadata: {name: r}
spec:
  strategy:
    canary:
      canaryService: c
      stableService: s
      trafficRouting:
        apisix: {route: {name: my-route}}
`)
	if s := specFor(t, ro); !slices.Equal(s.Rules, []string{"my-route"}) {
		t.Fatalf("rules %v", s.Rules)
	}
	for _, c := range []struct{ doc, want string }{
		{`{metadata: {name: r}, spec: {strategy: {canary: {canaryService: c, stableService: s, trafficRouting: {apisix: {}}}}}}`,
			"spec.strategy.canary.trafficRouting.apisix.route: an ApisixRoute is required"},
		{`{metadata: {name: r}, spec: {strategy: {canary: {canaryService: c, stableService: s, trafficRouting: {apisix: {route: {}}}}}}}`,
			"spec.strategy.canary.trafficRouting.apisix.route.name: the ApisixRoute name is required"},
		{`{metadata: {name: r}, spec: {strategy: {canary: {stableService: s, trafficRouting: {apisix: {route: {name: x}}}}}}}`,
			"Rollout default/r: spec.strategy.canary: APISIX routing needs canaryService and stableService"},
		{`{metadata: {name: r}, spec: {strategy: {canary: {canaryService: c, stableService: s, trafficRouting: {maxTrafficWeight: 1000, apisix: {route: {name: x}}}}}}}`,
			"spec.strategy.canary.trafficRouting.maxTrafficWeight: APISIX weights are percentages: maxTrafficWeight must be 100, not 1000"},
		{`{metadata: {name: r}, spec: {strategy: {canary: {canaryService: c, stableService: s, trafficRouting: {istio: {}}}}}}`,
			"spec.strategy.canary.trafficRouting.apisix: not set"},
	} {
		_, err := NewSpec(rolloutOf(t, c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.doc, err, c.want)
		}
	}
}
