package scenario

import (
	"strconv"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	apisixrouter "github.com/rolloutlab/rolloutlab/engine/traffic/apisix"
	"github.com/rolloutlab/rolloutlab/sim"
)

// Absent, as the expected weight of an ApisixRoute, says there is no such route.
const Absent int32 = -1

// parseApisix reads world.apisix: its presence gives the world an Apache APISIX gateway.
func parseApisix(n *yaml.Node, p string) (*sim.ApisixConfig, error) {
	cfg := sim.DefaultApisixConfig()
	if n.Kind == yaml.ScalarNode && (n.Value == "" || n.Tag == "!!null") {
		return &cfg, nil
	}
	es, err := fields(n, p, "pushDelay")
	if err != nil {
		return nil, err
	}
	for _, e := range es {
		if cfg.Gateway.PushDelay, err = delay(e.value, p+"."+e.key); err != nil {
			return nil, err
		}
	}
	return &cfg, nil
}

// parseRouteWeights reads a mapping of ApisixRoute name → canary weight, or `absent`.
func parseRouteWeights(n *yaml.Node, p string) (map[string]int32, error) {
	es, err := anyFields(n, p)
	if err != nil {
		return nil, err
	}
	out := map[string]int32{}
	for _, e := range es {
		fp := p + "." + e.key
		if e.value.Kind == yaml.ScalarNode && e.value.Value == "absent" {
			out[e.key] = Absent
			continue
		}
		v, err := integer(e.value, fp)
		if err == nil && (v < 0 || v > 100) {
			err = errAt(e.value, fp, "want a weight from 0 to 100, or absent")
		}
		if err != nil {
			return nil, err
		}
		out[e.key] = int32(v)
	}
	return out, nil
}

// checkApisixRoutes compares the canary backend's weight in every rule the rollout manages in
// each ApisixRoute (its own, or a header route), as stored or as the gateway routes with it.
func checkApisixRoutes(w *sim.World, ro *v1alpha1.Rollout, want map[string]int32, pushed bool, differs func(string, any, any)) {
	what := "canary weight in ApisixRoute"
	if pushed {
		what = "canary weight the APISIX gateway routes by, ApisixRoute"
	}
	if pushed && w.Apisix == nil {
		differs("the APISIX gateway", "absent (add apisix: to world:)", "present")
		return
	}
	for _, name := range sortedKeys(want) {
		got, found, err := w.ApisixRouteCanaryWeights(ro, name, pushed)
		switch {
		case err != nil:
			differs(what+" "+name, err.Error(), describeRouteWeight(want[name]))
		case !found && want[name] != Absent:
			differs(what+" "+name, "absent", want[name])
		case found && want[name] == Absent:
			differs(what+" "+name, got, "absent")
		case found:
			for _, g := range got {
				if g != want[name] {
					differs(what+" "+name, got, want[name])
					break
				}
			}
		}
	}
}

func describeRouteWeight(w int32) string {
	if w == Absent {
		return "absent"
	}
	return strconv.Itoa(int(w))
}

func setApisixRouteWeight(ar *unstructured.Unstructured, ro *v1alpha1.Rollout, weight int32) error {
	spec, err := apisixrouter.NewSpec(ro)
	if err == nil {
		_, err = apisixrouter.SetWeight(ar, spec, weight)
	}
	return err
}
