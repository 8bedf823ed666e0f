package apisix

import (
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/mergepatch"
)

// The APISIX page: `kubectl describe apisixroute set-header` shows the canary backend at weight
// 100 and one expression, Op Equal, Subject trace in scope Header, Value debug.
func TestHeaderRouteGuide(t *testing.T) {
	ro := loadRollout(t, "guide/rollout.yaml")
	ro.UID = "uid-rollout"
	spec := specFor(t, ro)
	main := loadRoute(t, "guide/route.yaml")
	main.SetResourceVersion("7")
	main.SetUID("uid-route")
	before := string(mustJSON(t, main.Object))
	hr, err := HeaderRoute(main, nil, spec, ro.Spec.Strategy.Canary.Steps[0].SetHeaderRoute)
	if err != nil {
		t.Fatal(err)
	}
	if string(mustJSON(t, main.Object)) != before {
		t.Fatal("HeaderRoute changed the user's route")
	}
	if hr.GetName() != "set-header" || hr.GetNamespace() != "default" || hr.GetResourceVersion() != "" || hr.GetUID() != "" {
		t.Fatalf("metadata %v", hr.Object["metadata"])
	}
	ref := metav1.GetControllerOf(hr)
	if ref == nil || ref.Kind != "Rollout" || ref.Name != "rollout-apisix-canary" || ref.UID != "uid-rollout" || ref.APIVersion != "argoproj.io/v1alpha1" {
		t.Fatalf("owner %+v", ref)
	}
	if !Controlled(hr, spec) {
		t.Fatal("the rollout does not control the route it made")
	}
	golden(t, "guide-set-header.json", mustJSON(t, hr.Object))
	rule := hr.Object["spec"].(map[string]any)["http"].([]any)[0].(map[string]any)
	if rule["priority"] != int64(1) {
		t.Fatalf("priority %v, want 1 (the rule's 0, plus one)", rule["priority"])
	}
}

func TestHeaderRouteMatchKinds(t *testing.T) {
	ro := loadRollout(t, "guide/rollout.yaml")
	spec := specFor(t, ro)
	main := loadRoute(t, "guide/route.yaml")
	for _, c := range []struct {
		value    v1alpha1.StringMatch
		op, want string
	}{
		{v1alpha1.StringMatch{Exact: "debug"}, "Equal", "debug"},
		{v1alpha1.StringMatch{Regex: "deb.*"}, "RegexMatch", "deb.*"},
		{v1alpha1.StringMatch{Prefix: "deb"}, "RegexMatch", "^deb.*"},
		{v1alpha1.StringMatch{Prefix: "v1.2"}, "RegexMatch", `^v1\.2.*`}, // quoted: Argo writes ^v1.2.*
	} {
		v := c.value
		hr, err := HeaderRoute(main, nil, spec, &v1alpha1.SetHeaderRoute{Name: "set-header",
			Match: []v1alpha1.HeaderRoutingMatch{{HeaderName: "trace", HeaderValue: &v}}})
		if err != nil {
			t.Fatal(err)
		}
		exprs := hr.Object["spec"].(map[string]any)["http"].([]any)[0].(map[string]any)["match"].(map[string]any)["exprs"].([]any)
		e := exprs[0].(map[string]any)
		if len(exprs) != 1 || e["op"] != c.op || e["value"] != c.want || e["subject"].(map[string]any)["scope"] != "Header" {
			t.Errorf("%+v: exprs %v", c.value, exprs)
		}
	}
}

// The user's route has a rule with its own exprs, a priority, plugins and a third backend: the
// header route keeps the rule's exprs before the header's, raises the priority by one, keeps the
// plugins and sends only to the canary; the user's other rule and the stream route are not
// copied.
func TestHeaderRouteRich(t *testing.T) {
	ro := loadRollout(t, "rich-rollout.yaml")
	spec := specFor(t, ro)
	main := loadRoute(t, "rich-route.yaml")
	hr, err := HeaderRoute(main, nil, spec, ro.Spec.Strategy.Canary.Steps[0].SetHeaderRoute)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "rich-shop-testers.json", mustJSON(t, hr.Object))
}

// On a route that exists, only the managed rules' backends and exprs are the step's: an edit of
// anything else (a plugin added, the priority raised) stays.
func TestHeaderRouteUpdateOwnsOnlyBackendsAndExprs(t *testing.T) {
	ro := loadRollout(t, "rich-rollout.yaml")
	spec := specFor(t, ro)
	main := loadRoute(t, "rich-route.yaml")
	step := ro.Spec.Strategy.Canary.Steps[0].SetHeaderRoute
	created, err := HeaderRoute(main, nil, spec, step)
	if err != nil {
		t.Fatal(err)
	}
	created.SetResourceVersion("50")
	created.SetUID("uid-managed")
	// Unchanged: the same object again, so no patch.
	again, err := HeaderRoute(main, created, spec, step)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := mergepatch.Objects(created, again); p != nil || err != nil {
		t.Fatalf("an up-to-date header route gives patch %s, %v", p, err)
	}
	// Someone edits it; then the step's match changes.
	edited := created.DeepCopy()
	web := edited.Object["spec"].(map[string]any)["http"].([]any)[0].(map[string]any)
	web["priority"] = int64(9)
	web["plugins"] = append(web["plugins"].([]any), map[string]any{"name": "cors", "enable": true})
	web["backends"] = append(web["backends"].([]any), map[string]any{"serviceName": "shop-stable", "servicePort": int64(80), "weight": int64(1)})
	regex := &v1alpha1.SetHeaderRoute{Name: "shop-testers", Match: []v1alpha1.HeaderRoutingMatch{
		{HeaderName: "X-Tester", HeaderValue: &v1alpha1.StringMatch{Regex: "alice|bob"}}}}
	next, err := HeaderRoute(main, edited, spec, regex)
	if err != nil {
		t.Fatal(err)
	}
	diff := leafDiff("", edited.Object, next.Object)
	want := []string{".spec.http[0].backends", ".spec.http[0].match.exprs[1].op", ".spec.http[0].match.exprs[1].value",
		".spec.http[1].match.exprs[0].op", ".spec.http[1].match.exprs[0].value"}
	if !slices.Equal(diff, want) {
		t.Fatalf("changed %v, want %v", diff, want)
	}
	if got := next.Object["spec"].(map[string]any)["http"].([]any)[0].(map[string]any)["priority"]; got != int64(9) {
		t.Fatalf("priority %v: the step does not own it once the route exists", got)
	}
}

func TestHeaderRouteErrors(t *testing.T) {
	ro := loadRollout(t, "guide/rollout.yaml")
	ro.UID = "uid-rollout"
	spec := specFor(t, ro)
	main := loadRoute(t, "guide/route.yaml")
	exact := &v1alpha1.StringMatch{Exact: "debug"}
	hr := func(name string, m ...v1alpha1.HeaderRoutingMatch) *v1alpha1.SetHeaderRoute {
		return &v1alpha1.SetHeaderRoute{Name: name, Match: m}
	}
	for _, c := range []struct {
		name string
		hr   *v1alpha1.SetHeaderRoute
		want []string
	}{
		{"not managed", hr("other", v1alpha1.HeaderRoutingMatch{HeaderName: "trace", HeaderValue: exact}),
			[]string{"Rollout default/rollout-apisix-canary", "setHeaderRoute.name", "route 'other' is not in spec.strategy.canary.trafficRouting.managedRoutes"}},
		{"no header name", hr("set-header", v1alpha1.HeaderRoutingMatch{HeaderValue: exact}),
			[]string{"setHeaderRoute.match[0].headerName", "header name is required"}},
		{"no value", hr("set-header", v1alpha1.HeaderRoutingMatch{HeaderName: "trace"}),
			[]string{"setHeaderRoute.match[0].headerValue", "a value (exact, prefix or regex) is required"}},
		{"two values", hr("set-header", v1alpha1.HeaderRoutingMatch{HeaderName: "trace", HeaderValue: &v1alpha1.StringMatch{Exact: "a", Prefix: "b"}}),
			[]string{"exactly one of exact, prefix or regex"}},
		{"bad regex", hr("set-header", v1alpha1.HeaderRoutingMatch{HeaderName: "trace", HeaderValue: &v1alpha1.StringMatch{Regex: "("}}),
			[]string{"setHeaderRoute.match[0].headerValue.regex", "not a regular expression"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := HeaderRoute(main, nil, spec, c.hr)
			errContains(t, err, c.want...)
		})
	}
	// The name is taken by a route the rollout does not control.
	theirs := main.DeepCopy()
	theirs.SetName("set-header")
	_, err := HeaderRoute(main, theirs, spec, ro.Spec.Strategy.Canary.Steps[0].SetHeaderRoute)
	errContains(t, err, "ApisixRoute default/set-header", "metadata.ownerReferences", "duplicate ApisixRoute [set-header] already exists")
	if Controlled(theirs, spec) {
		t.Fatal("a route without owner is not the rollout's")
	}
	// Another rollout's (same name, another incarnation) is not this one's either.
	old, err := HeaderRoute(main, nil, spec, ro.Spec.Strategy.Canary.Steps[0].SetHeaderRoute)
	if err != nil {
		t.Fatal(err)
	}
	spec2 := *spec
	spec2.RolloutUID = "uid-recreated"
	if Controlled(old, &spec2) {
		t.Fatal("controlled by a rollout with another UID")
	}
}
