package istio

import (
	"errors"
	"testing"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

func TestParseVirtualServiceName(t *testing.T) {
	for _, c := range []struct{ ref, ns, name string }{
		{"vsvc", "ro-ns", "vsvc"},
		{"vsvc.mesh", "mesh", "vsvc"},
		{"vsvc.mesh.svc.cluster.local", "mesh", "vsvc"},
		{"vsvc.", "ro-ns", "vsvc"},
	} {
		ns, name := ParseVirtualServiceName(c.ref, "ro-ns")
		if ns != c.ns || name != c.name {
			t.Errorf("%q: got %s/%s, want %s/%s", c.ref, ns, name, c.ns, c.name)
		}
	}
}

func TestNewSpec(t *testing.T) {
	s := loadSpec(t, "guide/index-rollout.yaml")
	if len(s.VirtualServices) != 2 || s.VirtualServices[1].Name != "rollouts-demo-vsvc2" || s.VirtualServices[1].Namespace != "default" {
		t.Fatalf("virtual services %+v", s.VirtualServices)
	}
	if s.CanaryService != "rollouts-demo-canary" || s.StableService != "rollouts-demo-stable" || s.DestinationRule != nil {
		t.Fatalf("%+v", s)
	}

	sub := loadSpec(t, "guide/subset-rollout.yaml")
	if sub.DestinationRule == nil || sub.DestinationRule.CanarySubsetName != "canary" || sub.VirtualServices[0].Routes[0] != "primary" {
		t.Fatalf("%+v", sub)
	}

	// Ping-pong Services stand in only when canary/stable are empty; the status says which is stable.
	pp := specOf(t, `
metadata: {name: ro, namespace: ns}
spec:
  strategy:
    canary:
      pingPong: {pingService: ping, pongService: pong}
      trafficRouting:
        istio: {virtualService: {name: vs.mesh}}
status:
  canary: {stablePingPong: ping}`)
	if pp.StableService != "ping" || pp.CanaryService != "pong" || pp.VirtualServices[0].Namespace != "mesh" {
		t.Fatalf("%+v", pp)
	}

	for name, doc := range map[string]string{
		"no istio":        `spec: {strategy: {canary: {trafficRouting: {alb: {ingress: x}}}}}`,
		"both vs forms":   `spec: {strategy: {canary: {canaryService: c, stableService: s, trafficRouting: {istio: {virtualService: {name: a}, virtualServices: [{name: b}]}}}}}`,
		"no vs":           `spec: {strategy: {canary: {canaryService: c, stableService: s, trafficRouting: {istio: {}}}}}`,
		"no services":     `spec: {strategy: {canary: {trafficRouting: {istio: {virtualService: {name: a}}}}}}`,
		"max weight 1000": `spec: {strategy: {canary: {canaryService: c, stableService: s, trafficRouting: {maxTrafficWeight: 1000, istio: {virtualService: {name: a}}}}}}`,
	} {
		var ro v1alpha1.Rollout
		if err := yamlUnmarshal(doc, &ro); err != nil {
			t.Fatal(err)
		}
		_, err := NewSpec(&ro)
		var e *Error
		if !errors.As(err, &e) || e.Kind != "Rollout" || e.Field == "" {
			t.Errorf("%s: got %v, want a Rollout field error", name, err)
		}
	}
}
