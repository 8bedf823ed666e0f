package sim

import (
	"fmt"
	"math/rand/v2"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/rollout"
	istiorouter "github.com/rolloutlab/rolloutlab/engine/traffic/istio"
	"github.com/rolloutlab/rolloutlab/fakes/istio"
	"github.com/rolloutlab/rolloutlab/sim/dist"
)

// IstioConfig is the service mesh of a world.
type IstioConfig struct {
	Mesh istio.Config
}

// Gateways is the resource of Istio Gateways: stored, not modelled (requests enter by host).
var Gateways = schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1alpha3", Resource: "gateways"}

func (w *World) startIstio(cfg IstioConfig) {
	w.Mesh = istio.New(cfg.Mesh, w.Cluster.Store, scheduler{w.Kernel}, w.Net, w.Kernel.Stream("istio"))
	w.Cluster.Store.Watch(w.Mesh.OnChange)
}

// meshFrontend sends client requests through the mesh with fixed headers.
type meshFrontend struct {
	mesh    *istio.Mesh
	headers map[string]string
}

func (f meshFrontend) Serve(host string, r *rand.Rand) Outcome {
	resp := f.mesh.Serve(istio.Request{Host: host, Headers: f.headers}, r)
	return Outcome{Code: resp.Code, Version: resp.Version, Backend: resp.Destination}
}

// VirtualServiceWeights is the canary weight of each route the rollout manages in a
// VirtualService: as stored (pushed false) or as the proxies route with it (pushed true).
func (w *World) VirtualServiceWeights(ro *v1alpha1.Rollout, namespace, name string, pushed bool) ([]int32, error) {
	spec, err := istiorouter.NewSpec(ro)
	if err != nil {
		return nil, err
	}
	var vs = w.Mesh.Pushed(namespace, name)
	if !pushed {
		o, ok := w.Cluster.Store.Peek(rollout.VirtualServiceResource, namespace, name)
		if !ok {
			return nil, fmt.Errorf("VirtualService %s/%s not found", namespace, name)
		}
		vs = o.(*unstructured.Unstructured)
	}
	if vs == nil {
		return nil, fmt.Errorf("VirtualService %s/%s not pushed to the proxies", namespace, name)
	}
	routes, err := istiorouter.Weights(vs, spec)
	if err != nil {
		return nil, err
	}
	out := make([]int32, len(routes))
	for i, r := range routes {
		out[i] = r.Canary
	}
	return out, nil
}

// DefaultIstioConfig pushes configuration within a second.
func DefaultIstioConfig() IstioConfig {
	return IstioConfig{Mesh: istio.Config{PushDelay: dist.Delay{Min: 100 * time.Millisecond, Max: time.Second}}}
}
