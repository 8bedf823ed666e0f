package scenario

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/rollout"
	istiorouter "github.com/rolloutlab/rolloutlab/engine/traffic/istio"
	"github.com/rolloutlab/rolloutlab/sim"
)

// parseIstio reads world.istio: its presence gives the world a service mesh.
func parseIstio(n *yaml.Node, p string) (*sim.IstioConfig, error) {
	cfg := sim.DefaultIstioConfig()
	if n.Kind == yaml.ScalarNode && (n.Value == "" || n.Tag == "!!null") {
		return &cfg, nil
	}
	es, err := fields(n, p, "pushDelay")
	if err != nil {
		return nil, err
	}
	for _, e := range es {
		if cfg.Mesh.PushDelay, err = delay(e.value, p+"."+e.key); err != nil {
			return nil, err
		}
	}
	return &cfg, nil
}

// parseEditVirtualService reads editVirtualService: {name, canary}: someone sets the canary
// weight of the rollout's routes in a VirtualService by hand.
func parseEditVirtualService(n *yaml.Node, p string, st *Step) error {
	es, err := fields(n, p, "name", "canary")
	if err != nil {
		return err
	}
	for _, e := range es {
		fp := p + "." + e.key
		switch e.key {
		case "name":
			st.Object, err = str(e.value, fp)
		case "canary":
			var v int64
			if v, err = integer(e.value, fp); err == nil && (v < 0 || v > 100) {
				err = errAt(e.value, fp, "want a weight from 0 to 100")
			}
			st.Weight = int32(v)
		}
		if err != nil {
			return err
		}
	}
	if st.Object == "" {
		return errAt(n, p+".name", "say which VirtualService")
	}
	return nil
}

// parseWeights reads a mapping of VirtualService name → canary weight.
func parseWeights(n *yaml.Node, p string) (map[string]int32, error) {
	es, err := anyFields(n, p)
	if err != nil {
		return nil, err
	}
	out := map[string]int32{}
	for _, e := range es {
		v, err := integer(e.value, p+"."+e.key)
		if err == nil && (v < 0 || v > 100) {
			err = errAt(e.value, p+"."+e.key, "want a weight from 0 to 100")
		}
		if err != nil {
			return nil, err
		}
		out[e.key] = int32(v)
	}
	return out, nil
}

// editVirtualService writes the canary weight into a VirtualService the way a person editing
// it would: through the API, outside the rollout.
func (r *runner) editVirtualService(st Step, ro *v1alpha1.Rollout) error {
	ns, name := splitName(st.Object, ro.Namespace)
	o, ok := r.w.Cluster.Store.Peek(rollout.VirtualServiceResource, ns, name)
	if !ok {
		return fmt.Errorf("VirtualService %s/%s not found", ns, name)
	}
	spec, err := istiorouter.NewSpec(ro)
	if err != nil {
		return err
	}
	cur := o.(*unstructured.Unstructured)
	next := cur.DeepCopy()
	if _, err := istiorouter.SetWeight(next, spec, st.Weight); err != nil {
		return err
	}
	patch, err := istiorouter.Patch(cur, next)
	if err != nil || patch == nil {
		return err
	}
	_, err = r.w.UserDynamic.Resource(rollout.VirtualServiceResource).Namespace(ns).Patch(r.w.Context(), name, types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}

// rejectRouteWrites makes the API server's admission refuse writes to VirtualServices and
// DestinationRules (a webhook rejecting them) until the returned function is called.
func (r *runner) rejectRouteWrites() func() {
	on := true
	r.w.Cluster.Store.AddAdmission(func(op string, gvr schema.GroupVersionResource, obj runtime.Object) error {
		if on && (gvr == rollout.VirtualServiceResource || gvr == rollout.DestinationRuleResource) && op == "update" {
			return fmt.Errorf("validation.istio.io: configuration rejected (simulated)")
		}
		return nil
	})
	return func() { on = false }
}

// checkVirtualServices compares the canary weight of every managed route, as stored or as
// pushed to the proxies.
func checkVirtualServices(w *sim.World, ro *v1alpha1.Rollout, want map[string]int32, pushed bool, differs func(string, any, any)) {
	what := "canary weight in VirtualService"
	if pushed {
		what = "canary weight the proxies route by, VirtualService"
	}
	if pushed && w.Mesh == nil {
		differs("the mesh", "absent (add istio: to world:)", "present")
		return
	}
	for _, name := range sortedKeys(want) {
		ns, n := splitName(name, ro.Namespace)
		got, err := w.VirtualServiceWeights(ro, ns, n, pushed)
		if err != nil {
			differs(what+" "+name, err.Error(), want[name])
			continue
		}
		for _, g := range got {
			if g != want[name] {
				differs(what+" "+name, got, want[name])
				break
			}
		}
	}
}

func splitName(s, defaultNS string) (string, string) {
	if ns, name, ok := strings.Cut(s, "/"); ok {
		return ns, name
	}
	return defaultNS, s
}
