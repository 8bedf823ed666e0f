package sim

import (
	"fmt"
	"math/rand/v2"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/rollout"
	apisixrouter "github.com/rolloutlab/rolloutlab/engine/traffic/apisix"
	"github.com/rolloutlab/rolloutlab/fakes/apisix"
	"github.com/rolloutlab/rolloutlab/sim/dist"
)

// ApisixConfig is the Apache APISIX gateway (and its ingress controller) of a world.
type ApisixConfig struct {
	Gateway apisix.Config
}

// DefaultApisixConfig pushes configuration within a second.
func DefaultApisixConfig() ApisixConfig {
	return ApisixConfig{Gateway: apisix.Config{PushDelay: dist.Delay{Min: 100 * time.Millisecond, Max: time.Second}}}
}

func (w *World) startApisix(cfg ApisixConfig) {
	w.Apisix = apisix.New(cfg.Gateway, w.Cluster.Store, scheduler{w.Kernel}, w.Net, w.Kernel.Stream("apisix"))
	w.Cluster.Store.Watch(w.Apisix.OnChange)
}

// apisixFrontend sends client requests to the APISIX gateway with fixed headers.
type apisixFrontend struct {
	gw      *apisix.Gateway
	headers map[string]string
}

func (f apisixFrontend) Serve(host string, r *rand.Rand) Outcome {
	resp := f.gw.Serve(apisix.Request{Host: host, Headers: f.headers}, r)
	return Outcome{Code: resp.Code, Version: resp.Version, Backend: resp.Destination}
}

// ApisixRouteCanaryWeights is the canary backend's weight in each HTTP rule the rollout manages
// in an ApisixRoute of its namespace (its own route, or a header route it manages): as stored
// (pushed false) or as the gateway routes with it (pushed true). found is false when there is no
// such object (stored, or pushed).
func (w *World) ApisixRouteCanaryWeights(ro *v1alpha1.Rollout, name string, pushed bool) (weights []int32, found bool, err error) {
	spec, err := apisixrouter.NewSpec(ro)
	if err != nil {
		return nil, false, err
	}
	var ar *unstructured.Unstructured
	if pushed {
		if w.Apisix == nil {
			return nil, false, fmt.Errorf("the world has no APISIX gateway (add apisix: to world:)")
		}
		ar = w.Apisix.Pushed(spec.Namespace, name)
	} else if o, ok := w.Cluster.Store.Peek(rollout.ApisixRouteResource, spec.Namespace, name); ok {
		ar = o.(*unstructured.Unstructured)
	}
	if ar == nil {
		return nil, false, nil
	}
	routes, err := apisixrouter.ManagedRouteWeights(ar, spec)
	if err != nil {
		return nil, true, err
	}
	out := make([]int32, len(routes))
	for i, r := range routes {
		out[i] = r.Canary
	}
	return out, true, nil
}
