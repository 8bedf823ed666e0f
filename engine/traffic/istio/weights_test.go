package istio

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/mergepatch"
)

// The getting-started guide: two VirtualServices, each with a named http route (listed in the
// rollout) and a tls route the rollout does not list, which is managed too because it is the
// only tls route and it sends traffic to the rollout's Services (Argo manages tls[0]).
func TestGuideMultipleVirtualServices(t *testing.T) {
	spec := loadSpec(t, "guide/rollout.yaml")
	vss := load(t, "guide/multipleVirtualsvc.yaml")
	for _, step := range []int32{5, 100, 0} {
		for _, vs := range vss {
			changed, err := SetWeight(vs, spec, step)
			if err != nil || !changed {
				t.Fatalf("%s at %d: changed=%v err=%v", vs.GetName(), step, changed, err)
			}
			want := fmt.Sprintf("spec.http[0]=%d/%d spec.tls[0]=%d/%d", step, 100-step, step, 100-step)
			if got := split(t, vs, spec); got != want {
				t.Errorf("%s: got %s, want %s", vs.GetName(), got, want)
			}
			if again, err := SetWeight(vs, spec, step); again || err != nil {
				t.Errorf("%s: a second SetWeight(%d) changed=%v err=%v", vs.GetName(), step, again, err)
			}
		}
	}
}

// The guide's page with http, tls and tcp routes: after setWeight 5 the first VirtualService is
// exactly what the guide shows (its spec; the metadata shown is the server's).
func TestGuideHTTPTLSTCPUpdatedTogether(t *testing.T) {
	spec := loadSpec(t, "guide/index-rollout.yaml")
	vs1 := loadOne(t, "guide/index-vsvc1.yaml")
	if _, err := SetWeight(vs1, spec, 5); err != nil {
		t.Fatal(err)
	}
	want := loadOne(t, "guide/index-vsvc1-at-5.yaml")
	if got, w := mustJSON(t, vs1.Object["spec"]), mustJSON(t, want.Object["spec"]); got != w {
		t.Fatalf("spec after setWeight 5:\ngot  %s\nwant %s", got, w)
	}
	if got := split(t, vs1, spec); got != "spec.http[0]=5/95 spec.tls[0]=5/95 spec.tcp[0]=5/95" {
		t.Fatal(got)
	}

	// The guide's second VirtualService does not match its own rollout: the rollout asks for the
	// tls route with sniHosts [reviews.bookinfo.com localhost], the VirtualService's only has
	// reviews.bookinfo.com. SNI hosts must match as a set (as in Argo), so this is an error that
	// names the VirtualService and the tls match, and nothing is written.
	vs2 := loadOne(t, "guide/index-vsvc2.yaml")
	before := mustJSON(t, vs2.Object)
	_, err := SetWeight(vs2, spec, 5)
	errContains(t, err, "VirtualService default/rollouts-demo-vsvc2", "spec.tls", "No matching TLS routes", "443", "localhost")
	if mustJSON(t, vs2.Object) != before {
		t.Fatal("a failed SetWeight changed the VirtualService")
	}
	// With the SNI hosts fixed, it ends as the guide shows (the guide prints route name
	// http-primary, a typo for http-secondary).
	tls := vs2.Object["spec"].(map[string]any)["tls"].([]any)[0].(map[string]any)
	tls["match"].([]any)[0].(map[string]any)["sniHosts"] = []any{"localhost", "reviews.bookinfo.com"}
	if _, err := SetWeight(vs2, spec, 5); err != nil {
		t.Fatal(err)
	}
	want2 := loadOne(t, "guide/index-vsvc2-at-5.yaml")
	want2.Object["spec"].(map[string]any)["http"].([]any)[0].(map[string]any)["name"] = "http-secondary"
	want2.Object["spec"].(map[string]any)["tls"] = []any{tls}
	if got, w := mustJSON(t, vs2.Object["spec"]), mustJSON(t, want2.Object["spec"]); got != w {
		t.Fatalf("got  %s\nwant %s", got, w)
	}
}

func TestGuideFeaturePages(t *testing.T) {
	for _, c := range []struct {
		rollout, vs string
		want        string
	}{
		{"guide/host-rollout.yaml", "guide/host-vsvc.yaml", "spec.http[0]=5/95"},
		{"guide/subset-rollout.yaml", "guide/subset-vsvc.yaml", "spec.http[0]=5/95"},
		{"guide/tcp-rollout.yaml", "guide/tcp-vsvc.yaml", "spec.tcp[0]=5/95"},
	} {
		spec := loadSpec(t, c.rollout)
		vs := loadOne(t, c.vs)
		if _, err := SetWeight(vs, spec, 5); err != nil {
			t.Fatalf("%s: %v", c.vs, err)
		}
		if got := split(t, vs, spec); got != c.want {
			t.Errorf("%s: got %s, want %s", c.vs, got, c.want)
		}
	}
}

// The golden test: on a VirtualService full of things the rollout does not own, SetWeight
// changes exactly the weights of the rollout's destinations in the routes it manages; with
// those weights removed, the JSON before and after is byte-identical. The merge patch is golden.
func TestOnlyOwnedWeightsChange(t *testing.T) {
	spec := loadSpec(t, "rich-rollout.yaml")
	orig := loadOne(t, "rich-vsvc.yaml")
	vs := orig.DeepCopy()
	changed, err := SetWeight(vs, spec, 30)
	if err != nil || !changed {
		t.Fatalf("changed=%v err=%v", changed, err)
	}
	owned := []string{
		".spec.http[1].route[0].weight", ".spec.http[1].route[1].weight",
		".spec.tcp[1].route[0].weight", ".spec.tcp[1].route[1].weight",
		".spec.tls[0].route[0].weight", ".spec.tls[0].route[1].weight",
	} // sorted
	if diff := leafDiff("", orig.Object, vs.Object); !reflect.DeepEqual(diff, owned) {
		t.Fatalf("changed fields %v, want %v", diff, owned)
	}
	scrub := func(u *unstructured.Unstructured) []byte {
		c := u.DeepCopy()
		s := c.Object["spec"].(map[string]any)
		for _, p := range []struct {
			kind  string
			route int
		}{{"http", 1}, {"tls", 0}, {"tcp", 1}} {
			dests := s[p.kind].([]any)[p.route].(map[string]any)["route"].([]any)
			for _, d := range dests[:2] {
				delete(d.(map[string]any), "weight")
			}
		}
		b, err := json.Marshal(c.Object)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if a, b := scrub(orig), scrub(vs); string(a) != string(b) {
		t.Fatalf("unowned JSON differs:\nbefore %s\nafter  %s", a, b)
	}
	// legacy-svc keeps its 10: stable gets 100-30-10.
	if got := split(t, vs, spec); got != "spec.http[1]=30/60+legacy-svc:10 spec.tls[0]=30/70 spec.tcp[1]=30/70" {
		t.Fatal(got)
	}
	p, err := mergepatch.Objects(orig, vs)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "rich-setweight-30.json", p)
	applied, err := mergepatch.Apply(mustBytes(t, orig), p)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(applied, &got); err != nil {
		t.Fatal(err)
	}
	if diff := leafDiff("", got, vs.Object); len(diff) != 0 {
		t.Fatalf("applying the patch does not give the new object: %v", diff)
	}
}

func mustBytes(t testing.TB, u *unstructured.Unstructured) []byte {
	t.Helper()
	b, err := json.Marshal(u.Object)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const hostRollout = `
metadata: {name: ro, namespace: default}
spec:
  strategy:
    canary:
      canaryService: canary
      stableService: stable
      trafficRouting:
        managedRoutes: [{name: header}]
        istio: {virtualService: %s}
`

const subsetRollout = `
metadata: {name: ro, namespace: default}
spec:
  strategy:
    canary:
      trafficRouting:
        istio:
          virtualService: %s
          destinationRule: {name: dr, canarySubsetName: canary, stableSubsetName: stable, additionalSubsetNames: [extra]}
`

func TestSetWeightTable(t *testing.T) {
	for _, c := range []struct {
		name    string
		rollout string // hostRollout or subsetRollout
		ref     string // the virtualService entry
		vs      string // spec of the VirtualService
		weight  int32
		want    string // split after, or
		err     []string
	}{
		{
			name: "single unnamed http route, routes omitted", rollout: hostRollout, ref: `{name: vs}`,
			vs:   `{http: [{route: [{destination: {host: stable}, weight: 100}, {destination: {host: canary}, weight: 0}]}]}`,
			want: "spec.http[0]=40/60", weight: 40,
		},
		{
			// Argo silently did nothing here (argo-rollouts #4741): the single route has a name.
			name: "single named http route, routes omitted", rollout: hostRollout, ref: `{name: vs}`,
			vs:   `{http: [{name: main, route: [{destination: {host: stable}, weight: 100}, {destination: {host: canary}, weight: 0}]}]}`,
			want: "spec.http[0]=40/60", weight: 40,
		},
		{
			name: "routes omitted, other routes go elsewhere", rollout: hostRollout, ref: `{name: vs}`,
			vs: `{http: [{name: header, route: [{destination: {host: canary}, weight: 100}]},
			             {name: api, route: [{destination: {host: api}}]},
			             {route: [{destination: {host: stable.default.svc.cluster.local}, weight: 100}, {destination: {host: canary.default.svc.cluster.local}, weight: 0}]}]}`,
			want: "spec.http[2]=10/90", weight: 10,
		},
		{
			name: "routes omitted, two routes to the rollout", rollout: hostRollout, ref: `{name: vs}`,
			vs: `{http: [{name: a, route: [{destination: {host: stable}, weight: 100}, {destination: {host: canary}, weight: 0}]},
			             {name: b, route: [{destination: {host: stable}, weight: 100}, {destination: {host: canary}, weight: 0}]}]}`,
			err: []string{"default/vs", "spec.http", "exactly one route", "2 routes"},
		},
		{
			name: "named route missing", rollout: hostRollout, ref: `{name: vs, routes: [primary, secondary]}`,
			vs:  `{http: [{name: primary, route: [{destination: {host: stable}, weight: 100}, {destination: {host: canary}, weight: 0}]}]}`,
			err: []string{"VirtualService default/vs", "spec.http", "HTTP Route 'secondary' is not found"},
		},
		{
			name: "canary destination missing", rollout: hostRollout, ref: `{name: vs, routes: [primary]}`,
			vs:  `{http: [{name: primary, route: [{destination: {host: stable}, weight: 100}]}]}`,
			err: []string{"spec.http[0].route", "Canary Service 'canary' not found in route"},
		},
		{
			name: "stable subset missing", rollout: subsetRollout, ref: `{name: vs}`,
			vs:  `{http: [{route: [{destination: {host: svc, subset: canary}, weight: 100}]}]}`,
			err: []string{"spec.http[0].route", "Stable DestinationRule subset 'stable' not found in route"},
		},
		{
			name: "nothing routes to the rollout", rollout: hostRollout, ref: `{name: vs}`,
			vs:  `{http: [{name: other, route: [{destination: {host: elsewhere}}]}]}`,
			err: []string{"default/vs", "no http, tls or tcp route sends traffic to Services 'canary'/'stable'"},
		},
		{
			name: "tls route by port and sni hosts (any order), tcp by port", rollout: hostRollout,
			ref: `{name: vs, tlsRoutes: [{port: 443, sniHosts: [b.example, a.example]}], tcpRoutes: [{port: 5000}]}`,
			vs: `{tls: [{match: [{port: 443, sniHosts: [a.example]}, {port: 443, sniHosts: [b.example]}], route: [{destination: {host: stable}, weight: 100}, {destination: {host: canary}, weight: 0}]},
			            {match: [{port: 443, sniHosts: [a.example]}], route: [{destination: {host: other}}]},
			            {match: [{port: 443, sniHosts: [a.example, b.example]}, {port: 8443, sniHosts: [a.example, b.example]}], route: [{destination: {host: other}}]}],
			      tcp: [{match: [{port: 4000}], route: [{destination: {host: other}}]},
			            {match: [{port: 5000}], route: [{destination: {host: stable}, weight: 100}, {destination: {host: canary}, weight: 0}]}]}`,
			want: "spec.tls[0]=25/75 spec.tcp[1]=25/75", weight: 25,
		},
		{
			name: "tls route not matched", rollout: hostRollout, ref: `{name: vs, tlsRoutes: [{port: 443, sniHosts: [a.example]}]}`,
			vs:  `{tls: [{match: [{port: 443, sniHosts: [a.example, b.example]}], route: [{destination: {host: stable}, weight: 100}, {destination: {host: canary}}]}]}`,
			err: []string{"spec.tls", "No matching TLS routes", "port 443"},
		},
		{
			name: "tls route with two ports never matches", rollout: hostRollout, ref: `{name: vs, tlsRoutes: [{port: 443}]}`,
			vs:  `{tls: [{match: [{port: 443}, {port: 8443}], route: [{destination: {host: stable}, weight: 100}, {destination: {host: canary}}]}]}`,
			err: []string{"spec.tls", "No matching TLS routes"},
		},
		{
			name: "tcp route not matched", rollout: hostRollout, ref: `{name: vs, tcpRoutes: [{port: 5000}]}`,
			vs:  `{tcp: [{match: [{port: 5001}], route: [{destination: {host: stable}, weight: 100}, {destination: {host: canary}}]}]}`,
			err: []string{"spec.tcp", "No matching TCP routes", "port 5000"},
		},
		{
			name: "tls and tcp omitted: each kind's one route to the rollout", rollout: hostRollout, ref: `{name: vs, routes: [web]}`,
			vs: `{http: [{name: web, route: [{destination: {host: stable}, weight: 100}, {destination: {host: canary}}]}],
			      tls: [{match: [{port: 443}], route: [{destination: {host: stable}, weight: 100}, {destination: {host: canary}}]}],
			      tcp: [{match: [{port: 3306}], route: [{destination: {host: mysql}}]}]}`,
			want: "spec.http[0]=50/50 spec.tls[0]=50/50", weight: 50,
		},
		{
			name: "tcp omitted, two tcp routes to the rollout", rollout: hostRollout, ref: `{name: vs}`,
			vs: `{tcp: [{match: [{port: 1}], route: [{destination: {host: stable}, weight: 100}, {destination: {host: canary}}]},
			            {match: [{port: 2}], route: [{destination: {host: stable}, weight: 100}, {destination: {host: canary}}]}]}`,
			err: []string{"spec.tcp", "exactly one route", "tcpRoutes"},
		},
		{
			name: "subsets: additional subset keeps its weight, other hosts' subsets are not the rollout's", rollout: subsetRollout, ref: `{name: vs}`,
			vs: `{http: [{route: [{destination: {host: svc, subset: stable}, weight: 80}, {destination: {host: svc, subset: canary}, weight: 0},
			                      {destination: {host: exp-host, subset: extra}, weight: 20}]}]}`,
			want: "spec.http[0]=30/50+exp-host/extra:20", weight: 30,
		},
		{
			name: "other destinations do not leave room", rollout: hostRollout, ref: `{name: vs}`,
			vs:  `{http: [{route: [{destination: {host: stable}, weight: 40}, {destination: {host: canary}, weight: 0}, {destination: {host: other}, weight: 60}]}]}`,
			err: []string{"spec.http[0].route", "weights do not fit in 100: canary 50 + experiments 0 + other destinations 60"}, weight: 50,
		},
		{
			name: "two canary destinations", rollout: hostRollout, ref: `{name: vs}`,
			vs:  `{http: [{route: [{destination: {host: stable}, weight: 100}, {destination: {host: canary, port: {number: 1}}}, {destination: {host: canary, port: {number: 2}}}]}]}`,
			err: []string{"spec.http[0].route", "2 destinations route to the canary"},
		},
		{
			name: "weight out of range", rollout: hostRollout, ref: `{name: vs}`,
			vs:  `{http: [{route: [{destination: {host: stable}, weight: 100}, {destination: {host: canary}}]}]}`,
			err: []string{"canary weight 101 is not a percentage"}, weight: 101,
		},
		{
			name: "weight not a number", rollout: hostRollout, ref: `{name: vs}`,
			vs:  `{http: [{route: [{destination: {host: stable}, weight: "100"}, {destination: {host: canary}}]}]}`,
			err: []string{"spec.http[0].route[0].weight", "not an integer"}, weight: 10,
		},
		{
			name: "spec.http not a list", rollout: hostRollout, ref: `{name: vs}`,
			vs:  `{http: {name: x}}`,
			err: []string{"spec.http", "not a list"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			spec := specOf(t, fmt.Sprintf(c.rollout, c.ref))
			vs := parse(t, "{apiVersion: networking.istio.io/v1, kind: VirtualService, metadata: {name: vs}, spec: "+c.vs+"}")
			before := mustJSON(t, vs.Object)
			_, err := SetWeight(vs, spec, c.weight)
			if c.err != nil {
				errContains(t, err, c.err...)
				var e *Error
				if !errors.As(err, &e) || e.Field == "" {
					t.Errorf("%v is not a field error", err)
				}
				if mustJSON(t, vs.Object) != before {
					t.Error("a failed SetWeight changed the VirtualService")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := split(t, vs, spec); got != c.want {
				t.Errorf("got %s, want %s", got, c.want)
			}
		})
	}
}

// Every weight from 0 to 100, with experiments and someone else's destinations taking part of
// the traffic, gives routes whose weights sum to exactly 100.
func TestWeightsAlwaysSumTo100(t *testing.T) {
	spec := loadSpec(t, "rich-rollout.yaml")
	rng := rand.New(rand.NewPCG(1, 2))
	for desired := int32(0); desired <= 100; desired++ {
		vs := loadOne(t, "rich-vsvc.yaml")
		room := 100 - desired - 10 // legacy-svc holds 10 in http[1]
		var extra []v1alpha1.WeightDestination
		for _, svc := range []string{"exp-b", "exp-a"} {
			if room > 0 && rng.IntN(2) == 0 {
				w := rng.Int32N(room + 1)
				room -= w
				extra = append(extra, v1alpha1.WeightDestination{ServiceName: svc, Weight: w})
			}
		}
		if _, err := SetWeight(vs, spec, desired, extra...); err != nil {
			if desired <= 90 {
				t.Fatalf("desired %d: %v", desired, err)
			}
			errContains(t, err, "weights do not fit")
			continue
		}
		ws, err := Weights(vs, spec)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range ws {
			if w.Total() != 100 || w.Canary != desired {
				t.Fatalf("desired %d, extra %v: %s = %+v", desired, extra, w.Field, w)
			}
			for _, e := range extra {
				if got := w.Others[e.ServiceName]; got != e.Weight && e.Weight != 0 {
					t.Fatalf("%s: experiment %s has %d, want %d", w.Field, e.ServiceName, got, e.Weight)
				}
			}
		}
		ok, err := InEffect(vs, spec, desired, extra...)
		if !ok || err != nil {
			t.Fatalf("desired %d: not in effect after SetWeight (%v)", desired, err)
		}
	}
}

// Experiment Services are appended (sorted), weighted, and removed again with their weight going
// back to the stable.
func TestExperimentDestinations(t *testing.T) {
	spec := loadSpec(t, "guide/host-rollout.yaml")
	vs := loadOne(t, "guide/host-vsvc.yaml")
	extra := []v1alpha1.WeightDestination{{ServiceName: "exp-z", Weight: 5}, {ServiceName: "exp-a", Weight: 10}, {ServiceName: "exp-zero", Weight: 0}}
	if _, err := SetWeight(vs, spec, 20, extra...); err != nil {
		t.Fatal(err)
	}
	route := vs.Object["spec"].(map[string]any)["http"].([]any)[0].(map[string]any)["route"]
	if got := mustJSON(t, route); got != `[{"destination":{"host":"stable-svc"},"weight":65},{"destination":{"host":"canary-svc"},"weight":20},{"destination":{"host":"exp-a"},"weight":10},{"destination":{"host":"exp-z"},"weight":5}]` {
		t.Fatal(got)
	}
	extra[1].Weight = 15
	if _, err := SetWeight(vs, spec, 20, extra...); err != nil {
		t.Fatal(err)
	}
	if got := split(t, vs, spec); got != "spec.http[0]=20/60+exp-a:15,exp-z:5" {
		t.Fatal(got)
	}
	// Without the extras, their destinations are someone else's: kept, weight reserved.
	if _, err := SetWeight(vs, spec, 20); err != nil {
		t.Fatal(err)
	}
	if got := split(t, vs, spec); got != "spec.http[0]=20/60+exp-a:15,exp-z:5" {
		t.Fatal(got)
	}
	changed, err := RemoveDestinations(vs, spec, "exp-a", "exp-z", "canary-svc")
	if err != nil || !changed {
		t.Fatalf("changed=%v err=%v", changed, err)
	}
	if got := split(t, vs, spec); got != "spec.http[0]=20/80" {
		t.Fatal(got)
	}
	if again, _ := RemoveDestinations(vs, spec, "exp-a"); again {
		t.Fatal("removing an absent destination changed the VirtualService")
	}
}

// The read-back sees an out-of-band edit (argo-rollouts #849: a kubectl apply of the git version
// reset the weights) and SetWeight repairs exactly that.
func TestReadBackDetectsOutOfBandEdit(t *testing.T) {
	spec := loadSpec(t, "guide/rollout.yaml")
	vs := load(t, "guide/multipleVirtualsvc.yaml")[0]
	if _, err := SetWeight(vs, spec, 25); err != nil {
		t.Fatal(err)
	}
	if ok, err := InEffect(vs, spec, 25); !ok || err != nil {
		t.Fatalf("in effect: %v %v", ok, err)
	}
	applied := load(t, "guide/multipleVirtualsvc.yaml")[0] // the user re-applies the manifest
	if ok, err := InEffect(applied, spec, 25); ok || err != nil {
		t.Fatalf("the re-applied manifest is reported in effect (%v)", err)
	}
	if got := split(t, applied, spec); got != "spec.http[0]=0/100 spec.tls[0]=0/100" {
		t.Fatal(got)
	}
	// An edit that deletes the canary destination is an error for the read-back too.
	broken := vs.DeepCopy()
	http := broken.Object["spec"].(map[string]any)["http"].([]any)[0].(map[string]any)
	http["route"] = http["route"].([]any)[:1]
	_, err := Weights(broken, spec)
	errContains(t, err, "rollouts-demo-vsvc1", "spec.http[0].route", "Canary Service 'rollouts-demo-canary' not found")
}

// A rollout may route through VirtualServices in several namespaces ("name.namespace"); a
// VirtualService is found by its namespace and name, and one the rollout does not reference is
// refused.
func TestVirtualServicesInSeveralNamespaces(t *testing.T) {
	spec := specOf(t, `
metadata: {name: ro, namespace: apps}
spec:
  strategy:
    canary:
      canaryService: canary
      stableService: stable
      trafficRouting:
        istio:
          virtualServices:
          - {name: edge.gateways, routes: [web]}
          - {name: internal}
          - {name: internal.other, tcpRoutes: [{port: 9000}]}`)
	mk := func(ns, body string) *unstructured.Unstructured {
		return parse(t, fmt.Sprintf("{apiVersion: networking.istio.io/v1, kind: VirtualService, metadata: {name: %s, namespace: %s}, spec: %s}",
			map[string]string{"gateways": "edge", "apps": "internal", "other": "internal", "elsewhere": "internal"}[ns], ns, body))
	}
	http := `{http: [{name: web, route: [{destination: {host: stable.apps.svc.cluster.local}, weight: 100}, {destination: {host: canary.apps.svc.cluster.local}}]}]}`
	tcp := `{tcp: [{match: [{port: 9000}], route: [{destination: {host: stable.apps}, weight: 100}, {destination: {host: canary.apps}}]}]}`
	for _, c := range []struct {
		ns, body, want string
	}{
		{"gateways", http, "spec.http[0]=35/65"},
		{"apps", http, "spec.http[0]=35/65"},
		{"other", tcp, "spec.tcp[0]=35/65"},
	} {
		vs := mk(c.ns, c.body)
		if _, err := SetWeight(vs, spec, 35); err != nil {
			t.Fatalf("%s: %v", c.ns, err)
		}
		if got := split(t, vs, spec); got != c.want {
			t.Errorf("%s: got %s, want %s", c.ns, got, c.want)
		}
	}
	_, err := SetWeight(mk("elsewhere", http), spec, 35)
	errContains(t, err, "VirtualService elsewhere/internal", "not referenced by rollout apps/ro")
	// The same spec entry's tcp route must exist in that namespace's VirtualService.
	_, err = SetWeight(mk("other", http), spec, 35)
	errContains(t, err, "VirtualService other/internal", "spec.tcp", "No matching TCP routes")
	if !strings.Contains(split(t, mk("apps", http), spec), "spec.http[0]=0/100") {
		t.Fatal("read-back of an untouched VirtualService")
	}
}
