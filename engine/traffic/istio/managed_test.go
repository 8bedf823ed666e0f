package istio

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

func httpRoutes(vs *unstructured.Unstructured) []any {
	l, _ := vs.Object["spec"].(map[string]any)["http"].([]any)
	return l
}

func routeNames(vs *unstructured.Unstructured) string {
	var names []string
	for _, r := range httpRoutes(vs) {
		n, _ := r.(map[string]any)["name"].(string)
		if n == "" {
			n = "-"
		}
		names = append(names, n)
	}
	return strings.Join(names, ",")
}

func header(name string, m ...v1alpha1.HeaderRoutingMatch) *v1alpha1.SetHeaderRoute {
	return &v1alpha1.SetHeaderRoute{Name: name, Match: m}
}

// Header routes for exact, prefix and regex values: a route per step name that sends matching
// requests to a copy of the weighted route's canary destination (port included), weight 100.
func TestHeaderRouteMatchKinds(t *testing.T) {
	spec := loadSpec(t, "rich-rollout.yaml")
	vs := loadOne(t, "rich-vsvc.yaml")
	changed, err := SetHeaderRoute(vs, spec, header("beta-users",
		v1alpha1.HeaderRoutingMatch{HeaderName: "x-beta", HeaderValue: &v1alpha1.StringMatch{Exact: "yes"}},
		v1alpha1.HeaderRoutingMatch{HeaderName: "user-agent", HeaderValue: &v1alpha1.StringMatch{Prefix: "Mozilla/5.0 (Android"}},
		v1alpha1.HeaderRoutingMatch{HeaderName: "cookie", HeaderValue: &v1alpha1.StringMatch{Regex: ".*canary=always.*"}},
	))
	if err != nil || !changed {
		t.Fatalf("changed=%v err=%v", changed, err)
	}
	want := `{"match":[{"headers":{"x-beta":{"exact":"yes"}}},{"headers":{"user-agent":{"prefix":"Mozilla/5.0 (Android"}}},{"headers":{"cookie":{"regex":".*canary=always.*"}}}],` +
		`"name":"beta-users","route":[{"destination":{"host":"canary-svc.shop.svc.cluster.local","port":{"number":80}},"weight":100}]}`
	if got := mustJSON(t, httpRoutes(vs)[0]); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if got := routeNames(vs); got != "beta-users,admin,primary,fallback" {
		t.Fatal(got)
	}
	// The same step again is a no-op; SetWeight leaves the header route at 100% canary.
	if again, err := SetHeaderRoute(vs, spec, header("beta-users",
		v1alpha1.HeaderRoutingMatch{HeaderName: "x-beta", HeaderValue: &v1alpha1.StringMatch{Exact: "yes"}},
		v1alpha1.HeaderRoutingMatch{HeaderName: "user-agent", HeaderValue: &v1alpha1.StringMatch{Prefix: "Mozilla/5.0 (Android"}},
		v1alpha1.HeaderRoutingMatch{HeaderName: "cookie", HeaderValue: &v1alpha1.StringMatch{Regex: ".*canary=always.*"}},
	)); again || err != nil {
		t.Fatalf("again: changed=%v err=%v", again, err)
	}
	if _, err := SetWeight(vs, spec, 10); err != nil {
		t.Fatal(err)
	}
	if got := split(t, vs, spec); got != "spec.http[2]=10/80+legacy-svc:10 spec.tls[0]=10/90 spec.tcp[1]=10/90" {
		t.Fatal(got)
	}
	if got := mustJSON(t, httpRoutes(vs)[0].(map[string]any)["route"]); !strings.Contains(got, `"weight":100`) {
		t.Fatal(got)
	}
}

// managedRoutes order is precedence: however the steps add them, managed routes come first, in
// managedRoutes order, before the user's routes (whose order never changes). Removing one, then
// all (end of the update, abort), gives back the user's routes byte for byte.
func TestManagedRoutesOrderAndRemoval(t *testing.T) {
	spec := loadSpec(t, "rich-rollout.yaml") // managedRoutes: beta-users, mirror-checkout, qa
	orig := loadOne(t, "rich-vsvc.yaml")
	vs := orig.DeepCopy()
	qa := header("qa", v1alpha1.HeaderRoutingMatch{HeaderName: "x-qa", HeaderValue: &v1alpha1.StringMatch{Exact: "1"}})
	beta := header("beta-users", v1alpha1.HeaderRoutingMatch{HeaderName: "x-beta", HeaderValue: &v1alpha1.StringMatch{Exact: "1"}})
	mirror := &v1alpha1.SetMirrorRoute{Name: "mirror-checkout", Match: []v1alpha1.RouteMatch{{Path: &v1alpha1.StringMatch{Prefix: "/checkout"}}}}
	steps := []struct {
		do   func() (bool, error)
		want string
	}{
		{func() (bool, error) { return SetHeaderRoute(vs, spec, qa) }, "qa,admin,primary,fallback"},
		{func() (bool, error) { return SetMirrorRoute(vs, spec, mirror) }, "mirror-checkout,qa,admin,primary,fallback"},
		{func() (bool, error) { return SetHeaderRoute(vs, spec, beta) }, "beta-users,mirror-checkout,qa,admin,primary,fallback"},
		{func() (bool, error) { return SetHeaderRoute(vs, spec, header("mirror-checkout")) }, "beta-users,qa,admin,primary,fallback"},
		{func() (bool, error) { return SetMirrorRoute(vs, spec, mirror) }, "beta-users,mirror-checkout,qa,admin,primary,fallback"},
		{func() (bool, error) { return SetHeaderRoute(vs, spec, header("qa")) }, "beta-users,mirror-checkout,admin,primary,fallback"},
		{func() (bool, error) { return RemoveManagedRoutes(vs, spec) }, "admin,primary,fallback"},
	}
	for i, s := range steps {
		changed, err := s.do()
		if err != nil || !changed {
			t.Fatalf("step %d: changed=%v err=%v", i, changed, err)
		}
		if got := routeNames(vs); got != s.want {
			t.Fatalf("step %d: routes %s, want %s", i, got, s.want)
		}
	}
	if mustJSON(t, vs.Object) != mustJSON(t, orig.Object) {
		t.Fatal("after removing the managed routes the VirtualService differs from the user's")
	}
	if again, err := RemoveManagedRoutes(vs, spec); again || err != nil {
		t.Fatalf("RemoveManagedRoutes again: %v %v", again, err)
	}
	if again, err := SetHeaderRoute(vs, spec, header("qa")); again || err != nil {
		t.Fatalf("removing an absent header route: %v %v", again, err)
	}
	// A VirtualService without http routes has nothing to remove.
	tcpOnly := loadOne(t, "guide/tcp-vsvc.yaml")
	if changed, err := RemoveManagedRoutes(tcpOnly, loadSpec(t, "guide/tcp-rollout.yaml")); changed || err != nil {
		t.Fatalf("tcp-only: %v %v", changed, err)
	}
}

// Subset-level: the header route targets the canary subset of the DestinationRule's host.
func TestHeaderRouteSubsetLevel(t *testing.T) {
	spec := loadSpec(t, "guide/subset-rollout.yaml")
	spec.ManagedRoutes = []string{"debug"}
	vs := loadOne(t, "guide/subset-vsvc.yaml")
	if _, err := SetHeaderRoute(vs, spec, header("debug", v1alpha1.HeaderRoutingMatch{HeaderName: "x-debug", HeaderValue: &v1alpha1.StringMatch{Exact: "true"}})); err != nil {
		t.Fatal(err)
	}
	want := `{"match":[{"headers":{"x-debug":{"exact":"true"}}}],"name":"debug","route":[{"destination":{"host":"rollout-example","subset":"canary"},"weight":100}]}`
	if got := mustJSON(t, httpRoutes(vs)[0]); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	// The weighted route is still the rollout's single route when routes are omitted.
	spec.VirtualServices[0].Routes = nil
	if _, err := SetWeight(vs, spec, 20); err != nil {
		t.Fatal(err)
	}
	if got := split(t, vs, spec); got != "spec.http[1]=20/80" {
		t.Fatal(got)
	}
}

// A mirror route: the weighted route's destinations (copied, and kept at the same weights by
// SetWeight), the canary as mirror target, the percentage (100 when unset), path as "uri".
func TestMirrorRoute(t *testing.T) {
	spec := loadSpec(t, "rich-rollout.yaml")
	vs := loadOne(t, "rich-vsvc.yaml")
	if _, err := SetWeight(vs, spec, 20); err != nil {
		t.Fatal(err)
	}
	pct := int32(35)
	mr := &v1alpha1.SetMirrorRoute{Name: "mirror-checkout", Percentage: &pct, Match: []v1alpha1.RouteMatch{
		{Method: &v1alpha1.StringMatch{Exact: "POST"}, Path: &v1alpha1.StringMatch{Prefix: "/checkout"}},
		{Headers: map[string]v1alpha1.StringMatch{"x-mirror": {Regex: "^y"}}},
	}}
	if _, err := SetMirrorRoute(vs, spec, mr); err != nil {
		t.Fatal(err)
	}
	m := httpRoutes(vs)[0].(map[string]any)
	if got := mustJSON(t, m["match"]); got != `[{"method":{"exact":"POST"},"uri":{"prefix":"/checkout"}},{"headers":{"x-mirror":{"regex":"^y"}}}]` {
		t.Fatal(got)
	}
	if got := mustJSON(t, m["mirror"]); got != `{"host":"canary-svc.shop.svc.cluster.local","port":{"number":80}}` {
		t.Fatal(got)
	}
	if got := mustJSON(t, m["mirrorPercentage"]); got != `{"value":35}` {
		t.Fatal(got)
	}
	primary := httpRoutes(vs)[2].(map[string]any)
	if mustJSON(t, m["route"]) != mustJSON(t, primary["route"]) {
		t.Fatalf("mirror route destinations %s, want the primary's %s", mustJSON(t, m["route"]), mustJSON(t, primary["route"]))
	}
	// SetWeight moves the mirror route's weights with the primary's.
	if _, err := SetWeight(vs, spec, 60); err != nil {
		t.Fatal(err)
	}
	if got := split(t, vs, spec); got != "spec.http[2]=60/30+legacy-svc:10 spec.http[0]=60/30+legacy-svc:10 spec.tls[0]=60/40 spec.tcp[1]=60/40" {
		t.Fatal(got)
	}
	// Percentage defaults to 100; no match removes the route.
	mr.Percentage = nil
	if _, err := SetMirrorRoute(vs, spec, mr); err != nil {
		t.Fatal(err)
	}
	if got := mustJSON(t, httpRoutes(vs)[0].(map[string]any)["mirrorPercentage"]); got != `{"value":100}` {
		t.Fatal(got)
	}
	if changed, err := SetMirrorRoute(vs, spec, &v1alpha1.SetMirrorRoute{Name: "mirror-checkout"}); !changed || err != nil {
		t.Fatalf("remove: %v %v", changed, err)
	}
	if got := routeNames(vs); got != "admin,primary,fallback" {
		t.Fatal(got)
	}
}

func TestManagedRouteErrors(t *testing.T) {
	spec := loadSpec(t, "rich-rollout.yaml")
	exact := &v1alpha1.StringMatch{Exact: "1"}
	anyMatch := []v1alpha1.RouteMatch{{}}
	for _, c := range []struct {
		name  string
		setup func(vs *unstructured.Unstructured)
		call  func(vs *unstructured.Unstructured, spec *Spec) (bool, error)
		err   []string
	}{
		{"not a managed route", nil, func(vs *unstructured.Unstructured, spec *Spec) (bool, error) {
			return SetHeaderRoute(vs, spec, header("other", v1alpha1.HeaderRoutingMatch{HeaderName: "h", HeaderValue: exact}))
		}, []string{"Rollout shop/shop", "setHeaderRoute.name", "'other' is not in spec.strategy.canary.trafficRouting.managedRoutes"}},
		{"two values", nil, func(vs *unstructured.Unstructured, spec *Spec) (bool, error) {
			return SetHeaderRoute(vs, spec, header("qa", v1alpha1.HeaderRoutingMatch{HeaderName: "h", HeaderValue: &v1alpha1.StringMatch{Exact: "a", Regex: "b"}}))
		}, []string{"match[0].headerValue", "exactly one of exact, prefix or regex"}},
		{"no header value", nil, func(vs *unstructured.Unstructured, spec *Spec) (bool, error) {
			return SetHeaderRoute(vs, spec, header("qa", v1alpha1.HeaderRoutingMatch{HeaderName: "h"}))
		}, []string{"match[0].headerValue", "required"}},
		{"no header name", nil, func(vs *unstructured.Unstructured, spec *Spec) (bool, error) {
			return SetHeaderRoute(vs, spec, header("qa", v1alpha1.HeaderRoutingMatch{HeaderValue: exact}))
		}, []string{"match[0].headerName", "required"}},
		{"mirror percentage", nil, func(vs *unstructured.Unstructured, spec *Spec) (bool, error) {
			p := int32(150)
			return SetMirrorRoute(vs, spec, &v1alpha1.SetMirrorRoute{Name: "qa", Percentage: &p, Match: anyMatch})
		}, []string{"setMirrorRoute.percentage", "150 is not a percentage"}},
		{"no http route to copy from", func(vs *unstructured.Unstructured) {
			delete(vs.Object["spec"].(map[string]any), "http")
		}, func(vs *unstructured.Unstructured, spec *Spec) (bool, error) {
			unlisted := *spec
			unlisted.VirtualServices = []VirtualServiceRef{{Namespace: "mesh", Name: "shop", TLSRoutes: spec.VirtualServices[0].TLSRoutes}}
			return SetHeaderRoute(vs, &unlisted, header("qa", v1alpha1.HeaderRoutingMatch{HeaderName: "h", HeaderValue: exact}))
		}, []string{"VirtualService mesh/shop", "spec.http", "no HTTP route sends traffic to Services 'canary-svc'/'stable-svc'"}},
		{"weighted route missing", func(vs *unstructured.Unstructured) {
			httpRoutes(vs)[1].(map[string]any)["name"] = "renamed"
		}, func(vs *unstructured.Unstructured, spec *Spec) (bool, error) {
			return SetMirrorRoute(vs, spec, &v1alpha1.SetMirrorRoute{Name: "qa", Match: anyMatch})
		}, []string{"VirtualService mesh/shop", "spec.http", "HTTP Route 'primary' is not found"}},
		{"step takes over a weighted route", nil, func(vs *unstructured.Unstructured, spec *Spec) (bool, error) {
			clash := *spec
			clash.ManagedRoutes = append([]string{"primary"}, spec.ManagedRoutes...)
			return SetHeaderRoute(vs, &clash, header("primary", v1alpha1.HeaderRoutingMatch{HeaderName: "h", HeaderValue: exact}))
		}, []string{"spec.http", "managed route 'primary' is also a route whose weights the rollout sets"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			vs := loadOne(t, "rich-vsvc.yaml")
			if c.setup != nil {
				c.setup(vs)
			}
			before := mustJSON(t, vs.Object)
			_, err := c.call(vs, spec)
			errContains(t, err, c.err...)
			if mustJSON(t, vs.Object) != before {
				t.Error("a failed call changed the VirtualService")
			}
		})
	}
}
