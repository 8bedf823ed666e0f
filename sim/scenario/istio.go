package scenario

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/mergepatch"
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

// editRoute writes the canary weight into a route object (a VirtualService, an ApisixRoute)
// the way a person editing it would: through the API, outside the rollout. setWeight is the
// router's own weight setter, given the rollout.
func (r *runner) editRoute(gvr schema.GroupVersionResource, kind string, st Step, ro *v1alpha1.Rollout,
	setWeight func(obj *unstructured.Unstructured, ro *v1alpha1.Rollout, weight int32) error) error {
	ns, name := splitName(st.Object, ro.Namespace)
	o, ok := r.w.Cluster.Store.Peek(gvr, ns, name)
	if !ok {
		return fmt.Errorf("%s %s/%s not found", kind, ns, name)
	}
	cur := o.(*unstructured.Unstructured)
	next := cur.DeepCopy()
	if err := setWeight(next, ro, st.Weight); err != nil {
		return err
	}
	patch, err := mergepatch.Objects(cur, next)
	if err != nil || patch == nil {
		return err
	}
	_, err = r.w.UserDynamic.Resource(gvr).Namespace(ns).Patch(r.w.Context(), name, types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}

func setVirtualServiceWeight(vs *unstructured.Unstructured, ro *v1alpha1.Rollout, weight int32) error {
	spec, err := istiorouter.NewSpec(ro)
	if err == nil {
		_, err = istiorouter.SetWeight(vs, spec, weight)
	}
	return err
}

// rejectRouteWrites makes the API server's admission refuse updates of VirtualServices,
// DestinationRules and ApisixRoutes (a webhook rejecting them) until the returned function is
// called.
func (r *runner) rejectRouteWrites() func() {
	on := true
	r.w.Cluster.Store.AddAdmission(func(op string, gvr schema.GroupVersionResource, obj runtime.Object) error {
		if on && (gvr == rollout.VirtualServiceResource || gvr == rollout.DestinationRuleResource || gvr == rollout.ApisixRouteResource) && op == "update" {
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

// Share is a range of percentages of a traffic source's requests ("100%", "15%..25%").
type Share struct{ Min, Max float64 }

func (s Share) String() string {
	if s.Min == s.Max {
		return fmt.Sprintf("%g%%", s.Min)
	}
	return fmt.Sprintf("%g%%..%g%%", s.Min, s.Max)
}

// parseSubsets reads subsets: {SUBSET: REVISION}: the revision whose pod-template hash the
// rollout's DestinationRule subset carries (0: no hash label).
func parseSubsets(n *yaml.Node, p string) (map[string]int64, error) {
	es, err := anyFields(n, p)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, e := range es {
		if out[e.key], err = integer(e.value, p+"."+e.key); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// parseManagedRoutes reads managedRoutes: {VIRTUALSERVICE: [ROUTE, ...]}: the rollout's managed
// routes the stored VirtualService holds, in order ([] for none).
func parseManagedRoutes(n *yaml.Node, p string) (map[string][]string, error) {
	es, err := anyFields(n, p)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, e := range es {
		names, err := strList(e.value, p+"."+e.key)
		if err != nil {
			return nil, err
		}
		out[e.key] = append([]string{}, names...)
	}
	return out, nil
}

// parseVirtualServiceRoutes reads virtualServiceRoutes: {VIRTUALSERVICE: {ROUTE: WEIGHT}}: the canary's weight in
// single routes of the stored VirtualService, read straight from the object (not through the
// router's route selection). ROUTE is an HTTP route's name, or http[i], tls[i], tcp[i].
func parseVirtualServiceRoutes(n *yaml.Node, p string) (map[string]map[string]int32, error) {
	es, err := anyFields(n, p)
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]int32{}
	for _, e := range es {
		if out[e.key], err = parseWeights(e.value, p+"."+e.key); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// parseAnsweredBy reads answeredBy: {SOURCE: {REVISION: SHARE}}: the share of a traffic source's
// requests (clients: the main load) that each revision answered.
func parseAnsweredBy(n *yaml.Node, p string) (map[string]map[int64]Share, error) {
	es, err := anyFields(n, p)
	if err != nil {
		return nil, err
	}
	out := map[string]map[int64]Share{}
	for _, e := range es {
		fp := p + "." + e.key
		revs, err := anyFields(e.value, fp)
		if err != nil {
			return nil, err
		}
		out[e.key] = map[int64]Share{}
		for _, r := range revs {
			rev, err := strconv.ParseInt(r.key, 10, 64)
			if err != nil || rev < 1 {
				return nil, errAt(r.knode, fp, "revision %q is not a revision number", r.key)
			}
			v, err := str(r.value, fp+"."+r.key)
			if err != nil {
				return nil, err
			}
			s, ok := parseShare(v)
			if !ok {
				return nil, errAt(r.value, fp+"."+r.key, "want a share like 100%% or 15%%..25%%, got %q", v)
			}
			out[e.key][rev] = s
		}
	}
	return out, nil
}

func parseShare(v string) (Share, bool) {
	pct := func(s string) (float64, bool) {
		f, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "%"), 64)
		return f, err == nil && strings.HasSuffix(strings.TrimSpace(s), "%") && f >= 0 && f <= 100
	}
	lo, hi, isRange := strings.Cut(v, "..")
	a, ok := pct(lo)
	if !ok {
		return Share{}, false
	}
	if !isRange {
		return Share{a, a}, true
	}
	b, ok := pct(hi)
	return Share{a, b}, ok && b >= a
}

// checkIstio compares the Istio facts of an expectation: DestinationRule subsets, managed routes,
// single route weights, mirrored copies and who answered each traffic source.
func checkIstio(w *sim.World, ro *v1alpha1.Rollout, x Expectation, differs func(string, any, any)) {
	if x.Subsets != nil {
		checkSubsets(w, ro, x.Subsets, differs)
	}
	for _, name := range sortedKeys(x.ManagedRoutes) {
		got, err := managedRoutesOf(w, ro, name)
		if err != nil {
			differs("managed routes of VirtualService "+name, err.Error(), x.ManagedRoutes[name])
		} else if strings.Join(got, ",") != strings.Join(x.ManagedRoutes[name], ",") {
			differs("managed routes of VirtualService "+name, fmt.Sprintf("%q", got), fmt.Sprintf("%q", x.ManagedRoutes[name]))
		}
	}
	for _, name := range sortedKeys(x.VirtualServiceRoutes) {
		ns, n := splitName(name, ro.Namespace)
		o, ok := w.Cluster.Store.Peek(rollout.VirtualServiceResource, ns, n)
		if !ok {
			differs("VirtualService "+name, "absent", "present")
			continue
		}
		for _, route := range sortedKeys(x.VirtualServiceRoutes[name]) {
			got, err := canaryWeightOf(o.(*unstructured.Unstructured), ro, route)
			if err != nil {
				differs(fmt.Sprintf("canary weight of route %s in VirtualService %s", route, name), err.Error(), x.VirtualServiceRoutes[name][route])
			} else if got != int64(x.VirtualServiceRoutes[name][route]) {
				differs(fmt.Sprintf("canary weight of route %s in VirtualService %s", route, name), got, x.VirtualServiceRoutes[name][route])
			}
		}
	}
	if b := x.Mirrored; b != nil {
		if w.Mesh == nil {
			differs("the mesh", "absent (add istio: to world:)", "present")
		} else if !b.Holds(int64(w.Mesh.Mirrored)) {
			differs("requests the mesh mirrored", w.Mesh.Mirrored, b.String())
		}
	}
	for _, src := range sortedKeys(x.AnsweredBy) {
		t := w.TrafficSource(src)
		if t == nil || t.Stats.Total == 0 {
			differs("requests of traffic source "+src, "none", "some")
			continue
		}
		byRev := map[int64]int{}
		for v, n := range t.Stats.ByVersion {
			var rev int64
			if _, err := fmt.Sscanf(v, "r%d ", &rev); err == nil {
				byRev[rev] += n
			}
		}
		want := x.AnsweredBy[src]
		for _, rev := range sortedRevisions(want) {
			share := 100 * float64(byRev[rev]) / float64(t.Stats.Total)
			if share < want[rev].Min || share > want[rev].Max {
				differs(fmt.Sprintf("share of the requests of %s answered by revision %d", src, rev),
					fmt.Sprintf("%.1f%% (%d of %d)", share, byRev[rev], t.Stats.Total), want[rev])
			}
		}
	}
}

// checkSubsets compares the revision each subset of the rollout's DestinationRule selects.
func checkSubsets(w *sim.World, ro *v1alpha1.Rollout, want map[string]int64, differs func(string, any, any)) {
	ist := istioSpecOf(ro)
	if ist == nil || ist.DestinationRule == nil {
		differs("the rollout's DestinationRule", "none (no trafficRouting.istio.destinationRule)", "one")
		return
	}
	o, ok := w.Cluster.Store.Peek(rollout.DestinationRuleResource, ro.Namespace, ist.DestinationRule.Name)
	if !ok {
		differs("DestinationRule "+ist.DestinationRule.Name, "absent", "present")
		return
	}
	byHash := map[string]int64{}
	for _, rs := range sim.OwnedReplicaSets(w.Cluster.Store, ro) {
		rev, _ := strconv.ParseInt(rs.Annotations[v1alpha1.RevisionAnnotation], 10, 64)
		byHash[rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]] = rev
	}
	subsets, _, _ := unstructured.NestedSlice(o.(*unstructured.Unstructured).Object, "spec", "subsets")
	for _, name := range sortedKeys(want) {
		found := false
		for _, s := range subsets {
			sm, _ := s.(map[string]any)
			if sm["name"] != name {
				continue
			}
			found = true
			labels, _ := sm["labels"].(map[string]any)
			hash, _ := labels[v1alpha1.DefaultRolloutUniqueLabelKey].(string)
			got := byHash[hash]
			if hash == "" {
				got = 0
			}
			if got != want[name] {
				what := fmt.Sprint(got)
				if hash != "" && got == 0 {
					what = "hash " + hash + " (no ReplicaSet of the rollout)"
				}
				differs(fmt.Sprintf("revision selected by subset %s of DestinationRule %s", name, ist.DestinationRule.Name), what, want[name])
			}
		}
		if !found {
			differs(fmt.Sprintf("subset %s of DestinationRule %s", name, ist.DestinationRule.Name), "absent", "present")
		}
	}
}

func istioSpecOf(ro *v1alpha1.Rollout) *v1alpha1.IstioTrafficRouting {
	if c := ro.Spec.Strategy.Canary; c != nil && c.TrafficRouting != nil {
		return c.TrafficRouting.Istio
	}
	return nil
}

// managedRoutesOf lists the HTTP routes of a stored VirtualService that the rollout's
// managedRoutes name, in the VirtualService's order.
func managedRoutesOf(w *sim.World, ro *v1alpha1.Rollout, vs string) ([]string, error) {
	ns, n := splitName(vs, ro.Namespace)
	o, ok := w.Cluster.Store.Peek(rollout.VirtualServiceResource, ns, n)
	if !ok {
		return nil, fmt.Errorf("VirtualService %s/%s not found", ns, n)
	}
	managed := map[string]bool{}
	if c := ro.Spec.Strategy.Canary; c != nil && c.TrafficRouting != nil {
		for _, m := range c.TrafficRouting.ManagedRoutes {
			managed[m.Name] = true
		}
	}
	routes, _, _ := unstructured.NestedSlice(o.(*unstructured.Unstructured).Object, "spec", "http")
	out := []string{}
	for _, r := range routes {
		rm, _ := r.(map[string]any)
		if name, _ := rm["name"].(string); managed[name] {
			out = append(out, name)
		}
	}
	return out, nil
}

// canaryWeightOf reads the weight of the canary destination (the canary Service, or the canary
// subset) of one route of a VirtualService: an HTTP route by name, or "tls[0]" and the like.
func canaryWeightOf(vs *unstructured.Unstructured, ro *v1alpha1.Rollout, key string) (int64, error) {
	kind, index := "http", -1
	if k, rest, ok := strings.Cut(key, "["); ok && strings.HasSuffix(rest, "]") {
		i, err := strconv.Atoi(strings.TrimSuffix(rest, "]"))
		if err != nil || (k != "http" && k != "tls" && k != "tcp") {
			return 0, fmt.Errorf("route %q: say an HTTP route's name, or http[i], tls[i], tcp[i]", key)
		}
		kind, index = k, i
	}
	routes, _, _ := unstructured.NestedSlice(vs.Object, "spec", kind)
	var route map[string]any
	for i, r := range routes {
		rm, _ := r.(map[string]any)
		if name, _ := rm["name"].(string); (index < 0 && name == key) || i == index {
			route = rm
			break
		}
	}
	if route == nil {
		return 0, fmt.Errorf("no such route")
	}
	canaryHost, canarySubset := ro.Spec.Strategy.Canary.CanaryService, ""
	if ist := istioSpecOf(ro); ist != nil && ist.DestinationRule != nil {
		canaryHost, canarySubset = "", ist.DestinationRule.CanarySubsetName
	}
	dests, _ := route["route"].([]any)
	for _, d := range dests {
		dm, _ := d.(map[string]any)
		dest, _ := dm["destination"].(map[string]any)
		host, _ := dest["host"].(string)
		subset, _ := dest["subset"].(string)
		if canarySubset != "" && subset != canarySubset || canarySubset == "" && strings.Split(host, ".")[0] != canaryHost {
			continue
		}
		switch v := dm["weight"].(type) {
		case int64:
			return v, nil
		case float64:
			return int64(v), nil
		case nil:
			if len(dests) == 1 {
				return 100, nil
			}
			return 0, nil
		default:
			return 0, fmt.Errorf("weight %v is not a number", v)
		}
	}
	return 0, fmt.Errorf("no destination to the canary")
}
