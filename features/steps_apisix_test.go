package features

import (
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/cucumber/godog"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/rolloutlab/rolloutlab/fakes/apisix"
	"github.com/rolloutlab/rolloutlab/scenarios"
	"github.com/rolloutlab/rolloutlab/sim"
)

// apisixGuide are the files of Argo Rollouts' Apache APISIX page (examples/apisix), by the names
// the steps use.
var apisixGuide = map[string]string{
	"route":    "manifests/apisix/route.yaml",
	"rollout":  "manifests/apisix/rollout.yaml",
	"services": "manifests/apisix/services.yaml",
}

// registerAPISIXSteps is the vocabulary of Apache APISIX: the gateway, the ApisixRoutes the
// rollout weights and creates, and clients calling a host through the gateway
// (features/README.md lists it).
func registerAPISIXSteps(sc *godog.ScenarioContext, r *run) {
	rp := func(fn any) any { return replayable(r, fn) }

	sc.Step(`^Apache APISIX with its ingress controller$`, rp(func() error {
		return r.configure("Apache APISIX with its ingress controller", driver.UseAPISIX)
	}))
	sc.Step(`^(?:I apply )?the APISIX guide's ((?:route|rollout|services)(?:(?:, | and )(?:route|rollout|services))*)(?: (?:is|are) applied)?$`, rp(func(which string) error {
		for _, name := range strings.Split(strings.ReplaceAll(which, " and ", ", "), ", ") {
			path := apisixGuide[name]
			data, err := fs.ReadFile(scenarios.FS, path)
			if err != nil {
				return err
			}
			if err := r.apply(path, data); err != nil {
				return err
			}
		}
		return nil
	}))
	// Clients of the gateway: a group named by the host, or by who they are (the testers), each
	// counted on its own ("all requests of the testers were answered by ...").
	sc.Step(`^(\d+) requests? per second go(?:es)? to ([\w.-]+)$`, rp(func(rate, host string) error {
		n, err := strconv.Atoi(rate)
		if err != nil || n < 1 {
			return fmt.Errorf("%q requests per second: want at least 1", rate)
		}
		r.acted = true
		return r.drv.StartGatewayTraffic(host, host, nil, n)
	}))
	sc.Step(`^the (\w+) sends? (\d+) requests? per second with the header ([\w-]+): (\S+) to ([\w.-]+)$`, rp(func(group, rate, name, value, host string) error {
		n, err := strconv.Atoi(rate)
		if err != nil || n < 1 {
			return fmt.Errorf("%q requests per second: want at least 1", rate)
		}
		r.acted = true
		return r.drv.StartGatewayTraffic(group, host, map[string]string{name: value}, n)
	}))

	// The ApisixRoutes, as stored (what `kubectl describe apisixroute` shows) or as the gateway
	// routes by them.
	sc.Step(`^the APISIX gateway sends (.+?) through the ApisixRoute ([\w./-]+)(?: within (.+))?$`, rp(func(shares, name, within string) error {
		return r.apisixShares(name, true, shares, within)
	}))
	sc.Step(`^the ApisixRoute ([\w./-]+) sends (\d+%.+?)(?: within (.+))?$`, rp(func(name, shares, within string) error {
		return r.apisixShares(name, false, shares, within)
	}))
	sc.Step(`^the ApisixRoute ([\w./-]+) sends requests whose header ([\w-]+) (is|matches) "([^"]*)" to ([\w./-]+)(?: within (.+))?$`, rp(func(name, header, verb, value, svc, within string) error {
		op := "Equal"
		if verb == "matches" {
			op = "RegexMatch"
		}
		route := r.qualify(name)
		return r.holds(within, func() error {
			ar, err := r.drv.ApisixRoute(route, false)
			if err != nil {
				return err
			}
			if ar == nil {
				return fmt.Errorf("there is no ApisixRoute %s", route)
			}
			return headerRouteSends(ar, header, op, value, svc)
		})
	}))
	sc.Step(`^(?:there is no ApisixRoute|the APISIX gateway has no ApisixRoute) ([\w./-]+)(?: within (.+))?$`, rp(func(name, within string) error {
		route := r.qualify(name)
		return r.holds(within, func() error {
			for _, pushed := range []bool{false, true} {
				ar, err := r.drv.ApisixRoute(route, pushed)
				if err != nil {
					return err
				}
				if ar != nil {
					where := "the API server"
					if pushed {
						where = "the APISIX gateway"
					}
					return fmt.Errorf("%s still has the ApisixRoute %s", where, route)
				}
			}
			return nil
		})
	}))
}

// apisixShares checks each Service's share of the requests of the ApisixRoute rule that sends to
// it (its weight over the rule's total; a Service in several rules keeps its largest share).
func (r *run) apisixShares(name string, pushed bool, shares, within string) error {
	want, err := parseShares(shares)
	if err != nil {
		return err
	}
	route := r.qualify(name)
	ns, _ := split(route)
	where := "the ApisixRoute " + route
	if pushed {
		where = "the APISIX gateway, by the ApisixRoute " + route + ","
	}
	return r.holds(within, func() error {
		ar, err := r.drv.ApisixRoute(route, pushed)
		if err != nil {
			return err
		}
		if ar == nil {
			return fmt.Errorf("%s: there is none", where)
		}
		got := routeShares(ar)
		if diff := compareShares(want, got, ns); diff != "" {
			return fmt.Errorf("%s sends %s; it sends %s", where, diff, describeShares(got))
		}
		return nil
	})
}

// routeShares reads the share of each backend Service in the HTTP rules of an ApisixRoute
// (weights as the APISIX ingress controller translates them: 100 when unset), keyed "ns/name".
func routeShares(ar *unstructured.Unstructured) map[string]int32 {
	out := map[string]int32{}
	rules, _, _ := unstructured.NestedSlice(ar.Object, "spec", "http")
	for _, it := range rules {
		rule, _ := it.(map[string]any)
		bs, _ := rule["backends"].([]any)
		var sum int64
		weights := make([]int64, len(bs))
		for i, b := range bs {
			bm, _ := b.(map[string]any)
			weights[i] = apisix.DefaultWeight
			if w, ok := bm["weight"].(int64); ok {
				weights[i] = w
			} else if w, ok := bm["weight"].(float64); ok {
				weights[i] = int64(w)
			}
			sum += weights[i]
		}
		for i, b := range bs {
			bm, _ := b.(map[string]any)
			svc, _ := bm["serviceName"].(string)
			share := int32(0)
			if sum > 0 {
				share = int32((weights[i]*100 + sum/2) / sum)
			}
			key := ar.GetNamespace() + "/" + svc
			if old, ok := out[key]; !ok || share > old {
				out[key] = share
			}
		}
	}
	return out
}

// headerRouteSends checks that every HTTP rule of a header route sends only to svc and has the
// header expression (scope Header, the operator, the value) among its match.exprs.
func headerRouteSends(ar *unstructured.Unstructured, header, op, value, svc string) error {
	rules, _, _ := unstructured.NestedSlice(ar.Object, "spec", "http")
	if len(rules) == 0 {
		return fmt.Errorf("the ApisixRoute %s has no HTTP rule", ar.GetName())
	}
	for i, it := range rules {
		rule, _ := it.(map[string]any)
		bs, _ := rule["backends"].([]any)
		var to []string
		for _, b := range bs {
			bm, _ := b.(map[string]any)
			name, _ := bm["serviceName"].(string)
			to = append(to, name)
		}
		if len(to) != 1 || to[0] != svc {
			return fmt.Errorf("rule %d of the ApisixRoute %s sends to %v, want %s alone", i, ar.GetName(), to, svc)
		}
		exprs, _, _ := unstructured.NestedSlice(rule, "match", "exprs")
		found := false
		for _, e := range exprs {
			em, _ := e.(map[string]any)
			subject, _ := em["subject"].(map[string]any)
			if subject["scope"] == "Header" && strings.EqualFold(fmt.Sprint(subject["name"]), header) && em["op"] == op && em["value"] == value {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("rule %d of the ApisixRoute %s has no expression %s %s %q in scope Header: %v", i, ar.GetName(), header, op, value, exprs)
		}
	}
	return nil
}

func (d *simDriver) UseAPISIX() error {
	return d.configure(func(c *sim.Config) {
		if c.Apisix == nil {
			cfg := sim.DefaultApisixConfig()
			c.Apisix = &cfg
		}
	})
}

func (d *simDriver) StartGatewayTraffic(source, host string, headers map[string]string, perSecond int) error {
	if d.w.Apisix == nil {
		return fmt.Errorf(`the world has no gateway for host %s: say "Given Apache APISIX with its ingress controller" first`, host)
	}
	if source == "" || source == sim.DefaultSource {
		return fmt.Errorf("name the group of clients (not %q)", source)
	}
	d.used = true
	return d.w.StartTrafficSource(sim.TrafficConfig{Name: source, Rate: perSecond, Host: host, Headers: headers, Via: sim.ViaApisix})
}

func (d *simDriver) ApisixRoute(name string, pushed bool) (*unstructured.Unstructured, error) {
	ns, n := split(name)
	if pushed {
		if d.w.Apisix == nil {
			return nil, fmt.Errorf(`the world has no APISIX gateway: say "Given Apache APISIX with its ingress controller" first`)
		}
		if ar := d.w.Apisix.Pushed(ns, n); ar != nil {
			return ar.DeepCopy(), nil
		}
		return nil, nil
	}
	o, ok := d.w.Cluster.Store.Peek(apisix.ApisixRoutes, ns, n)
	if !ok {
		return nil, nil
	}
	return o.(*unstructured.Unstructured).DeepCopy(), nil
}
