package features

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/cucumber/godog"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/rolloutlab/rolloutlab/engine/rollout"
	istiorouter "github.com/rolloutlab/rolloutlab/engine/traffic/istio"
	"github.com/rolloutlab/rolloutlab/fakes/istio"
	"github.com/rolloutlab/rolloutlab/sim"
	"github.com/rolloutlab/rolloutlab/sim/dist"
	"github.com/rolloutlab/rolloutlab/sim/scenario"
)

func init() {
	// The Istio guides' files, by the names the steps use (scenarios/manifests).
	guideManifests["Istio guide"] = map[string]string{ // Argo Rollouts' "Getting Started - Istio"
		"rollout":         "manifests/istio/rollout.yaml",
		"services":        "manifests/istio/services.yaml",
		"virtualservices": "manifests/istio/multipleVirtualsvc.yaml",
		"gateway":         "manifests/istio/gateway.yaml",
	}
	guideManifests["Istio guide text"] = map[string]string{ // the guide's text: HTTP, TLS and TCP routes
		"rollout":         "manifests/istio-tls-tcp/rollout.yaml",
		"services":        "manifests/istio/services.yaml",
		"virtualservices": "manifests/istio-tls-tcp/virtualservices.yaml",
		"gateway":         "manifests/istio/gateway.yaml",
	}
	guideManifests["Istio subset example"] = map[string]string{ // subset-level splitting, Argo's Istio page
		"rollout":         "manifests/istio-subset/rollout.yaml",
		"service":         "manifests/istio-subset/service.yaml",
		"virtualservice":  "manifests/istio-subset/virtualservice.yaml",
		"destinationrule": "manifests/istio-subset/destinationrule.yaml",
		"gateway":         "manifests/istio-subset/gateway.yaml",
	}
	guideManifests["Istio header-route example"] = map[string]string{ // setHeaderRoute on the guide's rollout
		"rollout":        "manifests/istio-header-route/rollout.yaml",
		"services":       "manifests/istio/services.yaml",
		"virtualservice": "manifests/istio-header-route/virtualservice.yaml",
		"gateway":        "manifests/istio/gateway.yaml",
	}
}

// aboutTolerance is how far, in percentage points, "about N%" of requests may be from N.
const aboutTolerance = 3.0

// registerIstioSteps is the vocabulary of the service mesh: Istio installed, the VirtualServices
// as stored and as the proxies route by them, the DestinationRule's subsets, and groups of
// clients calling hosts in the mesh (features/README.md lists it).
func registerIstioSteps(sc *godog.ScenarioContext, r *run) {
	rp := func(fn any) any { return replayable(r, fn) }

	// What the installation is: said before anything happens.
	sc.Step(`^a Kubernetes cluster with Istio installed$`, rp(func() error {
		return r.configure("a Kubernetes cluster with Istio installed", driver.UseIstio)
	}))
	// A knob of the simulation only: a real istiod pushes as fast as it does.
	sc.Step(`^the proxies get configuration (.+?) to (.+) late$`, rp(func(lo, hi string) error {
		return r.configure("the proxies get configuration "+lo+" to "+hi+" late", func(d driver) error {
			sd, ok := d.(*simDriver)
			if !ok {
				return fmt.Errorf("the config-push delay is a knob of the simulation only")
			}
			min, err := parseDuration(lo)
			if err != nil {
				return err
			}
			max, err := parseDuration(hi)
			if err != nil {
				return err
			}
			if max < min {
				return fmt.Errorf("%s to %s runs backwards", lo, hi)
			}
			return sd.pushDelay(dist.Delay{Min: min, Max: max})
		})
	}))

	// Clients in the mesh: each group counted on its own, every request in "no request failed".
	sc.Step(`^(\d+) requests? per second flows? to the host ([\w.-]+)$`, rp(func(rate, host string) error {
		n, err := requestRate(rate)
		if err != nil {
			return err
		}
		r.acted = true
		return r.drv.StartMeshTraffic(host, host, nil, n)
	}))
	sc.Step(`^the (\w+) sends? (\d+) requests? per second to the host ([\w.-]+)(?: with (?:the )?header ([\w-]+): "?([^"]*?)"?)?$`, rp(func(group, rate, host, header, value string) error {
		n, err := requestRate(rate)
		if err != nil {
			return err
		}
		var headers map[string]string
		if header != "" {
			headers = map[string]string{header: value}
		}
		r.acted = true
		return r.drv.StartMeshTraffic(group, host, headers, n)
	}))
	sc.Step(`^all requests (?:of the (\w+)|to the host ([\w.-]+)) were answered by (\S+)$`, rp(func(group, host, image string) error {
		return r.answeredShare(group+host, image, 100, 0)
	}))
	sc.Step(`^about (\d+)% of the requests (?:of the (\w+)|to the host ([\w.-]+)) were answered by (\S+)$`, rp(func(pct, group, host, image string) error {
		want, _ := strconv.Atoi(pct)
		return r.answeredShare(group+host, image, float64(want), aboutTolerance)
	}))

	// The VirtualServices: as stored, and as the proxies route by them.
	sc.Step(`^the VirtualServices? ((?:[\w.-]+)(?:(?:, | and )[\w.-]+)*) sends? (.+?)(?: within (.+))?$`, rp(func(names, shares, within string) error {
		return r.virtualServicesSend(names, shares, false, within)
	}))
	sc.Step(`^the proxies send (.+?) through the VirtualServices? ((?:[\w.-]+)(?:(?:, | and )[\w.-]+)*?)(?: within (.+))?$`, rp(func(shares, names, within string) error {
		return r.virtualServicesSend(names, shares, true, within)
	}))
	sc.Step(`^the (VirtualService ([\w./-]+)|proxies) (?:has|have) (no|the) route ([\w-]+)(?: of the VirtualService ([\w./-]+))?(?: within (.+))?$`, rp(func(who, stored, no, route, pushed, within string) error {
		proxies := strings.HasPrefix(who, "proxies")
		name := stored
		if proxies {
			name = pushed
		}
		if name == "" {
			return fmt.Errorf("say which VirtualService: the proxies have the route R of the VirtualService V")
		}
		name = r.qualify(name)
		want := no == "the"
		return r.holds(within, func() error {
			vs, err := r.drv.VirtualService(name, proxies)
			if err != nil {
				return err
			}
			names := httpRouteNames(vs)
			if hasRoute := slices.Contains(names, route); hasRoute != want {
				where := "VirtualService " + name
				if proxies {
					where = "the proxies' VirtualService " + name
				}
				return fmt.Errorf("%s has the HTTP routes %q, want it %s route %s", where, names, map[bool]string{true: "with", false: "without"}[want], route)
			}
			return nil
		})
	}))
	sc.Step(`^the VirtualService ([\w./-]+) has no managed routes?(?: left)?(?: within (.+))?$`, rp(func(name, within string) error {
		return r.expect(scenario.Expectation{ManagedRoutes: map[string][]string{name: {}}}, within)
	}))

	// The DestinationRule's subsets (subset-level splitting).
	sc.Step(`^the subsets? ([\w-]+(?:(?:, | and )[\w-]+)*) of the DestinationRule selects? revision (\d+)(?: within (.+))?$`, rp(func(subsets, rev, within string) error {
		n, err := strconv.ParseInt(rev, 10, 64)
		if err != nil {
			return err
		}
		want := map[string]int64{}
		for _, s := range listOf(subsets) {
			want[s] = n
		}
		return r.expect(scenario.Expectation{Subsets: want}, within)
	}))
}

func requestRate(rate string) (int, error) {
	n, err := strconv.Atoi(rate)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%q requests per second: want at least 1", rate)
	}
	return n, nil
}

// listOf reads "a, b and c".
func listOf(s string) []string {
	return strings.Split(strings.ReplaceAll(s, " and ", ", "), ", ")
}

// answeredShare checks that a group's requests were answered by image in share percent of them
// (within tolerance percentage points).
func (r *run) answeredShare(group, image string, share, tolerance float64) error {
	st, err := r.drv.SourceRequests(group)
	if err != nil {
		return err
	}
	if st.Total == 0 {
		return fmt.Errorf("the %s have sent no request yet", group)
	}
	n := 0
	for v, c := range st.ByVersion {
		if v == image || strings.HasSuffix(v, " "+image) {
			n += c
		}
	}
	got := 100 * float64(n) / float64(st.Total)
	if math.Abs(got-share) > tolerance {
		return fmt.Errorf("%.1f%% of the requests of %s (%d of %d) were answered by %s, want %g%%:\n    %s",
			got, group, n, st.Total, image, share, strings.Join(st.Report(), "\n    "))
	}
	return nil
}

// virtualServicesSend checks the share of requests each destination gets in every route of the
// VirtualServices that the rollout manages (http, tls and tcp; header routes excepted).
func (r *run) virtualServicesSend(names, shares string, proxies bool, within string) error {
	want, err := parseMeshShares(shares)
	if err != nil {
		return err
	}
	ro, err := r.target()
	if err != nil {
		return err
	}
	return r.holds(within, func() error {
		obj, err := r.drv.Rollout(ro)
		if err != nil {
			return err
		}
		spec, err := istiorouter.NewSpec(obj)
		if err != nil {
			return err
		}
		for _, name := range listOf(names) {
			name = r.qualify(name)
			vs, err := r.drv.VirtualService(name, proxies)
			if err != nil {
				return err
			}
			where := "VirtualService " + name
			if proxies {
				where = "the proxies' VirtualService " + name
			}
			if vs == nil {
				return fmt.Errorf("%s: none pushed yet", where)
			}
			routes, err := istiorouter.Weights(vs, spec)
			if err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			for _, rw := range routes {
				got := istioRouteShares(rw, spec)
				if diff := compareMeshShares(want, got); diff != "" {
					return fmt.Errorf("%s, route %s, sends %s (all: %s)", where, describeRoute(rw), diff, describeMeshShares(got))
				}
			}
		}
		return nil
	})
}

// istioRouteShares names a route's weights by destination: the canary and stable Services (or
// "subset NAME"), and the others as written.
func istioRouteShares(rw istiorouter.RouteWeights, spec *istiorouter.Spec) map[string]int32 {
	canary, stable := spec.CanaryService, spec.StableService
	if dr := spec.DestinationRule; dr != nil {
		canary, stable = "subset "+dr.CanarySubsetName, "subset "+dr.StableSubsetName
	}
	out := map[string]int32{canary: rw.Canary, stable: rw.Stable}
	for k, v := range rw.Others {
		out[k] += v
	}
	total := rw.Total()
	if total > 0 && total != 100 {
		for k, v := range out {
			out[k] = int32(math.Round(float64(v) * 100 / float64(total)))
		}
	}
	return out
}

func describeRoute(rw istiorouter.RouteWeights) string {
	if rw.Name != "" {
		return rw.Name
	}
	return rw.Field
}

var meshShareRE = regexp.MustCompile(`^(\d+)% to (?:the )?(?:(?:[Ss]ervice |host )?([\w.-]+)|subset ([\w-]+)|([\w-]+) subset)$`)

// parseMeshShares reads "5% to rollouts-demo-canary and 95% to rollouts-demo-stable", or
// "5% to subset canary and 95% to subset stable".
func parseMeshShares(s string) (map[string]int32, error) {
	out := map[string]int32{}
	for _, item := range listOf(s) {
		m := meshShareRE.FindStringSubmatch(strings.TrimSpace(item))
		if m == nil {
			return nil, fmt.Errorf("%q: say N%% to SERVICE, or N%% to subset NAME", item)
		}
		n, err := strconv.Atoi(m[1])
		if err != nil || n > 100 {
			return nil, fmt.Errorf("%q: a share is a percentage from 0 to 100", item)
		}
		key := m[2]
		if m[3]+m[4] != "" {
			key = "subset " + m[3] + m[4]
		}
		out[key] = int32(n)
	}
	return out, nil
}

// compareMeshShares says how got differs from want ("" when it does not); a destination said
// to get 0% may be absent.
func compareMeshShares(want, got map[string]int32) string {
	var diffs []string
	for _, k := range sortedKeys(want) {
		g, ok := got[k]
		if ok && g == want[k] || !ok && want[k] == 0 {
			continue
		}
		is := fmt.Sprintf("%d%%", g)
		if !ok {
			is = "nothing"
		}
		diffs = append(diffs, fmt.Sprintf("%s to %s (want %d%%)", is, k, want[k]))
	}
	return strings.Join(diffs, " and ")
}

func describeMeshShares(shares map[string]int32) string {
	keys := sortedKeys(shares)
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d%% to %s", shares[k], k))
	}
	return strings.Join(parts, ", ")
}

// httpRouteNames lists the names of a VirtualService's HTTP routes, in order (none for nil).
func httpRouteNames(vs *unstructured.Unstructured) []string {
	if vs == nil {
		return nil
	}
	routes, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
	out := []string{}
	for _, rt := range routes {
		m, _ := rt.(map[string]any)
		name, _ := m["name"].(string)
		out = append(out, name)
	}
	return out
}

// The simulation's side of the mesh.

func (d *simDriver) UseIstio() error {
	return d.configure(func(c *sim.Config) {
		if c.Istio == nil { // said twice, or after a knob of the mesh: keep what was set
			istio := sim.DefaultIstioConfig()
			c.Istio = &istio
		}
	})
}

// pushDelay sets how late the mesh's proxies route by a VirtualService or DestinationRule after
// it is written, drawn evenly from delay (a knob of the simulation only).
func (d *simDriver) pushDelay(delay dist.Delay) error {
	if d.cfg.Istio == nil {
		return fmt.Errorf(`the world has no service mesh: say "Given a Kubernetes cluster with Istio installed" first`)
	}
	return d.configure(func(c *sim.Config) {
		istio := *c.Istio
		istio.Mesh.PushDelay = delay
		c.Istio = &istio
	})
}

// mesh is the world's service mesh, or an error that says how to get one.
func (d *simDriver) mesh() (*istio.Mesh, error) {
	if d.w.Mesh == nil {
		return nil, fmt.Errorf(`the world has no service mesh: say "Given a Kubernetes cluster with Istio installed" first`)
	}
	return d.w.Mesh, nil
}

func (d *simDriver) StartMeshTraffic(source, host string, headers map[string]string, perSecond int) error {
	if _, err := d.mesh(); err != nil {
		return err
	}
	if source == "" || source == sim.DefaultSource {
		return fmt.Errorf("name the group of clients (not %q)", source)
	}
	d.used = true
	return d.w.StartTrafficSource(sim.TrafficConfig{Name: source, Rate: perSecond, Host: host, Headers: headers})
}

func (d *simDriver) SourceRequests(source string) (sim.TrafficStats, error) {
	t := d.w.TrafficSource(source)
	if t == nil {
		return sim.TrafficStats{}, fmt.Errorf("no group of clients %q sends requests (running: %s)", source, strings.Join(d.w.TrafficSources(), ", "))
	}
	return t.Stats, nil
}

func (d *simDriver) VirtualService(name string, proxies bool) (*unstructured.Unstructured, error) {
	ns, n := split(name)
	if proxies {
		m, err := d.mesh()
		if err != nil {
			return nil, err
		}
		if vs := m.Pushed(ns, n); vs != nil {
			return vs.DeepCopy(), nil
		}
		return nil, nil
	}
	o, ok := d.w.Cluster.Store.Peek(rollout.VirtualServiceResource, ns, n)
	if !ok {
		return nil, fmt.Errorf("VirtualService %s/%s does not exist", ns, n)
	}
	return o.(*unstructured.Unstructured).DeepCopy(), nil
}
