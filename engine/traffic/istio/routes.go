package istio

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// Route kinds, as the keys of a VirtualService's spec.
const (
	kindHTTP = "http"
	kindTLS  = "tls"
	kindTCP  = "tcp"
)

// route is one route of a VirtualService whose weights the rollout manages.
type route struct {
	kind  string
	index int
	name  string
	obj   map[string]any
	// mirror marks a managed mirror route (weighted like the primary route).
	mirror bool
}

func (r route) field() string { return fmt.Sprintf("spec.%s[%d]", r.kind, r.index) }

// vsView is a VirtualService being read: its spec and the route lists.
type vsView struct {
	obj  *unstructured.Unstructured
	spec *Spec
	ref  *VirtualServiceRef
	body map[string]any
}

func newView(vs *unstructured.Unstructured, spec *Spec) (*vsView, error) {
	ref, err := spec.ref(vs)
	if err != nil {
		return nil, err
	}
	v := &vsView{obj: vs, spec: spec, ref: ref}
	switch body := vs.Object["spec"].(type) {
	case map[string]any:
		v.body = body
	case nil:
		v.body = map[string]any{}
	default:
		return nil, v.errorf("spec", "is a %T, not an object", body)
	}
	return v, nil
}

func (v *vsView) errorf(field, format string, a ...any) *Error {
	return &Error{Kind: "VirtualService", Namespace: v.ref.Namespace, Name: v.ref.Name, Field: field, Detail: fmt.Sprintf(format, a...)}
}

// list returns spec.<kind> as route objects (nil when absent).
func (v *vsView) list(kind string) ([]map[string]any, error) {
	raw, ok := v.body[kind]
	if !ok || raw == nil {
		return nil, nil
	}
	items, ok := raw.([]any)
	if !ok {
		return nil, v.errorf("spec."+kind, "is a %T, not a list", raw)
	}
	out := make([]map[string]any, len(items))
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, v.errorf(fmt.Sprintf("spec.%s[%d]", kind, i), "is a %T, not an object", it)
		}
		out[i] = m
	}
	return out, nil
}

// routes selects the routes whose weights the rollout manages, http first, then tls, then tcp,
// each in spec order. Every route named in the spec must exist; a kind the spec names no route
// of contributes the one route of that kind that sends traffic to the rollout (none is fine,
// several is an error); at least one route must be selected.
func (v *vsView) routes() ([]route, error) {
	out, err := v.httpRoutes()
	if err != nil {
		return nil, err
	}
	tls, err := v.tlsRoutes()
	if err != nil {
		return nil, err
	}
	tcp, err := v.tcpRoutes()
	if err != nil {
		return nil, err
	}
	out = append(append(out, tls...), tcp...)
	if len(out) == 0 {
		return nil, v.errorf("spec", "no http, tls or tcp route sends traffic to %s", v.spec.describeTargets())
	}
	return out, nil
}

func (v *vsView) httpRoutes() ([]route, error) {
	routes, err := v.list(kindHTTP)
	if err != nil {
		return nil, err
	}
	var out []route
	add := func(i int, mirror bool) {
		if !slices.ContainsFunc(out, func(r route) bool { return r.index == i }) {
			name, _ := routes[i]["name"].(string)
			out = append(out, route{kind: kindHTTP, index: i, name: name, obj: routes[i], mirror: mirror})
		}
	}
	if len(v.ref.Routes) > 0 {
		for _, want := range v.ref.Routes {
			i := slices.IndexFunc(routes, func(r map[string]any) bool { return r["name"] == want })
			if i < 0 {
				return nil, v.errorf("spec.http", "HTTP Route '%s' is not found in the defined Virtual Service.", want)
			}
			add(i, false)
		}
	} else {
		var candidates []int
		for i, r := range routes {
			name, _ := r["name"].(string)
			if !v.spec.isManaged(name) && v.spec.referencesTarget(r) {
				candidates = append(candidates, i)
			}
		}
		if len(candidates) > 1 {
			return nil, v.errorf("spec.http", "spec.http[] should be set in VirtualService and it must have exactly one route when omitting spec.strategy.canary.trafficRouting.istio.virtualService.routes (%d routes send traffic to %s; name the ones to manage)", len(candidates), v.spec.describeTargets())
		}
		for _, i := range candidates {
			add(i, false)
		}
	}
	// Managed mirror routes carry a copy of the weighted destinations and follow their weights.
	for i, r := range routes {
		name, _ := r["name"].(string)
		if _, isMirror := r["mirror"]; isMirror && v.spec.isManaged(name) {
			add(i, true)
		}
	}
	return out, nil
}

func (v *vsView) tlsRoutes() ([]route, error) {
	routes, err := v.list(kindTLS)
	if err != nil {
		return nil, err
	}
	if len(v.ref.TLSRoutes) == 0 {
		return v.implicit(kindTLS, routes, "tlsRoutes")
	}
	var idx []int
	for _, want := range v.ref.TLSRoutes {
		n := 0
		for i, r := range routes {
			port, hosts, ok := tlsMatch(r)
			if ok && port == want.Port && sameSet(hosts, want.SNIHosts) {
				idx = append(idx, i)
				n++
			}
		}
		if n == 0 {
			return nil, v.errorf("spec.tls", "No matching TLS routes found in the defined Virtual Service. (wanted port %d, sniHosts %v)", want.Port, want.SNIHosts)
		}
	}
	return v.pick(kindTLS, routes, idx), nil
}

func (v *vsView) tcpRoutes() ([]route, error) {
	routes, err := v.list(kindTCP)
	if err != nil {
		return nil, err
	}
	if len(v.ref.TCPRoutes) == 0 {
		return v.implicit(kindTCP, routes, "tcpRoutes")
	}
	var idx []int
	for _, want := range v.ref.TCPRoutes {
		n := 0
		for i, r := range routes {
			if port, _, ok := tlsMatch(r); ok && port == want.Port {
				idx = append(idx, i)
				n++
			}
		}
		if n == 0 {
			return nil, v.errorf("spec.tcp", "No matching TCP routes found in the defined Virtual Service. (wanted port %d)", want.Port)
		}
	}
	return v.pick(kindTCP, routes, idx), nil
}

// implicit selects the one tls/tcp route that sends traffic to the rollout when the spec lists
// none of that kind.
func (v *vsView) implicit(kind string, routes []map[string]any, specField string) ([]route, error) {
	var idx []int
	for i, r := range routes {
		if v.spec.referencesTarget(r) {
			idx = append(idx, i)
		}
	}
	if len(idx) > 1 {
		return nil, v.errorf("spec."+kind, "spec.%s[] should be set in VirtualService and it must have exactly one route when omitting spec.strategy.canary.trafficRouting.istio.virtualService.%s (%d routes send traffic to %s)", kind, specField, len(idx), v.spec.describeTargets())
	}
	return v.pick(kind, routes, idx), nil
}

func (v *vsView) pick(kind string, routes []map[string]any, idx []int) []route {
	var out []route
	for _, i := range idx {
		if !slices.ContainsFunc(out, func(r route) bool { return r.index == i }) {
			out = append(out, route{kind: kind, index: i, obj: routes[i]})
		}
	}
	return out
}

// tlsMatch reads the port and SNI hosts a tls/tcp route matches. Like Argo, a route whose match
// blocks name more than one port matches nothing (ok=false); no port means 0.
func tlsMatch(r map[string]any) (port int64, sniHosts []string, ok bool) {
	blocks, _ := r["match"].([]any)
	ports := map[int64]bool{}
	for _, b := range blocks {
		m, _ := b.(map[string]any)
		p, _ := asInt(m["port"])
		ports[p] = true
		hosts, _ := m["sniHosts"].([]any)
		for _, h := range hosts {
			if s, isString := h.(string); isString && !slices.Contains(sniHosts, s) {
				sniHosts = append(sniHosts, s)
			}
		}
	}
	if len(ports) > 1 {
		return 0, nil, false
	}
	for p := range ports {
		port = p
	}
	return port, sniHosts, true
}

func sameSet(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			return false
		}
	}
	return true
}

// asInt reads a JSON number (int64 from the API machinery's decoder, float64 from
// encoding/json, or a Go int from hand-built maps).
func asInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case float64:
		return int64(n), n == float64(int64(n))
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	}
	return 0, false
}

// Destination roles within a managed route.
type role int

const (
	roleOther  role = iota // someone else's: kept as is, its weight taken from the stable share
	roleCanary             // the canary Service or subset
	roleStable             // the stable Service or subset
	roleExtra              // an experiment Service passed to SetWeight
)

// dest is one entry of a route's "route" list.
type dest struct {
	obj    map[string]any
	host   string // as written
	subset string
	index  int
}

func (d dest) key() string {
	if d.subset != "" {
		return d.host + "/" + d.subset
	}
	return d.host
}

// destinations reads a route's destinations.
func (v *vsView) destinations(r route) ([]dest, error) {
	raw, ok := r.obj["route"]
	if !ok || raw == nil {
		return nil, nil
	}
	items, ok := raw.([]any)
	if !ok {
		return nil, v.errorf(r.field()+".route", "is a %T, not a list", raw)
	}
	out := make([]dest, len(items))
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, v.errorf(fmt.Sprintf("%s.route[%d]", r.field(), i), "is a %T, not an object", it)
		}
		d, _ := m["destination"].(map[string]any)
		host, _ := d["host"].(string)
		subset, _ := d["subset"].(string)
		out[i] = dest{obj: m, host: host, subset: subset, index: i}
	}
	return out, nil
}

// shortHost is a destination host up to its first dot: "svc.ns.svc.cluster.local" is "svc", as
// Argo compares them.
func shortHost(host string) string {
	h, _, _ := strings.Cut(host, ".")
	return h
}

// role classifies a destination: subsets with a DestinationRule, hosts without one; experiment
// Services by host.
func (s *Spec) role(d dest, extra []v1alpha1.WeightDestination) role {
	host := shortHost(d.host)
	if dr := s.DestinationRule; dr != nil {
		onHost := s.DestinationRuleHost == "" || host == shortHost(s.DestinationRuleHost)
		switch {
		case onHost && d.subset != "" && d.subset == dr.CanarySubsetName:
			return roleCanary
		case onHost && d.subset != "" && d.subset == dr.StableSubsetName:
			return roleStable
		}
	} else {
		switch {
		case host != "" && host == s.CanaryService:
			return roleCanary
		case host != "" && host == s.StableService:
			return roleStable
		}
	}
	for _, e := range extra {
		if host != "" && host == e.ServiceName {
			return roleExtra
		}
	}
	return roleOther
}

// referencesTarget reports whether a route sends traffic to the canary or the stable.
func (s *Spec) referencesTarget(r map[string]any) bool {
	items, _ := r["route"].([]any)
	for _, it := range items {
		m, _ := it.(map[string]any)
		d, _ := m["destination"].(map[string]any)
		host, _ := d["host"].(string)
		subset, _ := d["subset"].(string)
		if rl := s.role(dest{host: host, subset: subset}, nil); rl == roleCanary || rl == roleStable {
			return true
		}
	}
	return false
}

func (s *Spec) describeTargets() string {
	if dr := s.DestinationRule; dr != nil {
		return fmt.Sprintf("subsets '%s'/'%s'", dr.CanarySubsetName, dr.StableSubsetName)
	}
	return fmt.Sprintf("Services '%s'/'%s'", s.CanaryService, s.StableService)
}

// missing is Argo's message for a route without the canary or stable destination.
func (s *Spec) missing(r role) string {
	if dr := s.DestinationRule; dr != nil {
		if r == roleCanary {
			return fmt.Sprintf("Canary DestinationRule subset '%s' not found in route", dr.CanarySubsetName)
		}
		return fmt.Sprintf("Stable DestinationRule subset '%s' not found in route", dr.StableSubsetName)
	}
	if r == roleCanary {
		return fmt.Sprintf("Canary Service '%s' not found in route", s.CanaryService)
	}
	return fmt.Sprintf("Stable Service '%s' not found in route", s.StableService)
}

// weightOf is a destination's weight in effect: its weight field, or, when absent, 100 for the
// only destination of a route and 0 otherwise (Istio's rule).
func weightOf(d map[string]any, n int) (int64, bool) {
	w, present := d["weight"]
	if !present || w == nil {
		if n == 1 {
			return 100, true
		}
		return 0, true
	}
	return asInt(w)
}
