// Package apisix models Apache APISIX behind its ingress controller: the gateway routes with the
// ApisixRoutes last pushed to it (each push lags the API server by a configurable delay: the
// controller's translation and APISIX's configuration sync), picks among the HTTP rules that
// match a request (host, path, method, match.exprs) the one of highest priority, splits by the
// backends' weights (100 when unset, as the ingress controller translates them) and sends the
// request to a ready pod of the chosen Service. No ready pod: 503; no route: 404.
package apisix

import (
	"math/rand/v2"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/rolloutlab/rolloutlab/fakes/dataplane"
	"github.com/rolloutlab/rolloutlab/fakes/kube"
	"github.com/rolloutlab/rolloutlab/fakes/sched"
	"github.com/rolloutlab/rolloutlab/sim/dist"
)

// ApisixRoutes is the resource of the route objects the gateway reads.
var ApisixRoutes = schema.GroupVersionResource{Group: "apisix.apache.org", Version: "v2", Resource: "apisixroutes"}

// DefaultWeight is the weight of a backend without one.
const DefaultWeight = 100

// Config are the knobs of the gateway.
type Config struct {
	// PushDelay is how long after an ApisixRoute is written the gateway routes with it. Pushes
	// arrive in the order written.
	PushDelay dist.Delay
}

// Request is one client request to the gateway.
type Request struct {
	Host    string
	Path    string            // "/" when empty
	Method  string            // GET when empty
	Headers map[string]string // matched case-insensitively by name
}

// Response is what the client got and where the request went.
type Response struct {
	Code        int
	Version     string // pod-template hash of the pod that answered
	Destination string // "namespace/service" of the backend chosen
	Route       string // "namespace/apisixroute/rule" that matched
}

// Gateway is the APISIX data plane.
type Gateway struct {
	store  *kube.Store
	net    dataplane.Network
	pusher *dataplane.Pusher

	routes *dataplane.Objects // as pushed
}

// New returns a gateway fed from store through OnChange, with the routes stored now in effect.
func New(cfg Config, store *kube.Store, s sched.Scheduler, net dataplane.Network, r *rand.Rand) *Gateway {
	g := &Gateway{store: store, net: net, pusher: dataplane.NewPusher(cfg.PushDelay, s, r),
		routes: dataplane.NewObjects()}
	for _, o := range store.PeekList(ApisixRoutes, "") {
		g.routes.Set(o.(*unstructured.Unstructured), false)
	}
	return g
}

// OnChange schedules the push of a changed ApisixRoute.
func (g *Gateway) OnChange(ch kube.Change) {
	if ch.GVR != ApisixRoutes {
		return
	}
	obj := ch.Object.(*unstructured.Unstructured)
	deleted := ch.Type == "DELETED"
	g.pusher.Push("apisix/push", obj.GetNamespace()+"/"+obj.GetName(), func() { g.routes.Set(obj, deleted) })
}

// Pushed returns the ApisixRoute as the gateway has it (nil: none pushed).
func (g *Gateway) Pushed(namespace, name string) *unstructured.Unstructured {
	return g.routes.Get(namespace, name)
}

// candidate is an HTTP rule that matches a request.
type candidate struct {
	key      types.NamespacedName
	rule     map[string]any
	name     string
	priority int64
}

// Serve routes one request as the gateway does with the configuration pushed to it.
func (g *Gateway) Serve(req Request, r *rand.Rand) Response {
	if req.Path == "" {
		req.Path = "/"
	}
	if req.Method == "" {
		req.Method = "GET"
	}
	best, ok := g.match(req)
	if !ok {
		return Response{Code: 404}
	}
	resp := Response{Code: 503, Route: best.key.String() + "/" + best.name}
	b := pickBackend(best.rule, r)
	if b == nil {
		return resp
	}
	svc, _ := b["serviceName"].(string)
	resp.Destination = best.key.Namespace + "/" + svc
	resp.Code, resp.Version = g.send(best.key.Namespace, svc, r)
	return resp
}

// match finds the rule of highest priority among those that match; on a tie, the first by
// ApisixRoute (namespace/name) and rule order.
func (g *Gateway) match(req Request) (candidate, bool) {
	var best candidate
	found := false
	g.routes.Each(func(k types.NamespacedName, route *unstructured.Unstructured) bool {
		rules, _ := nested(route.Object, "spec", "http").([]any)
		for _, it := range rules {
			rule, ok := it.(map[string]any)
			if !ok || !ruleMatches(rule, req) {
				continue
			}
			prio, _ := dataplane.Number(rule["priority"])
			name, _ := rule["name"].(string)
			if !found || int64(prio) > best.priority {
				best, found = candidate{key: k, rule: rule, name: name, priority: int64(prio)}, true
			}
		}
		return true
	})
	return best, found
}

func nested(obj map[string]any, path ...string) any {
	var cur any = obj
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

// ruleMatches: every condition of match holds (hosts, paths, methods, exprs); a rule without a
// match block matches nothing (the CRD requires paths).
func ruleMatches(rule map[string]any, req Request) bool {
	m, ok := rule["match"].(map[string]any)
	if !ok {
		return false
	}
	if hosts, ok := m["hosts"].([]any); ok && len(hosts) > 0 && !anyOf(hosts, func(h string) bool { return hostMatches(h, req.Host) }) {
		return false
	}
	paths, _ := m["paths"].([]any)
	if !anyOf(paths, func(p string) bool { return pathMatches(p, req.Path) }) {
		return false
	}
	if methods, ok := m["methods"].([]any); ok && len(methods) > 0 && !anyOf(methods, func(v string) bool { return strings.EqualFold(v, req.Method) }) {
		return false
	}
	exprs, _ := m["exprs"].([]any)
	for _, e := range exprs {
		em, _ := e.(map[string]any)
		if !exprHolds(em, req) {
			return false
		}
	}
	return true
}

func anyOf(items []any, f func(string) bool) bool {
	for _, it := range items {
		if s, ok := it.(string); ok && f(s) {
			return true
		}
	}
	return false
}

func hostMatches(pattern, host string) bool {
	if suffix, ok := strings.CutPrefix(pattern, "*"); ok {
		return strings.HasSuffix(host, suffix)
	}
	return strings.EqualFold(pattern, host)
}

// pathMatches: a trailing "*" matches any suffix (APISIX's prefix match), else the whole path.
func pathMatches(pattern, path string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(path, prefix)
	}
	return pattern == path
}

// exprHolds evaluates one ApisixRoute expression on the request (scopes Header, Path; a Query or
// Cookie subject is absent from the simulated requests).
func exprHolds(e map[string]any, req Request) bool {
	subject, _ := e["subject"].(map[string]any)
	scope, _ := subject["scope"].(string)
	name, _ := subject["name"].(string)
	var v string
	var present bool
	switch scope {
	case "Header":
		v, present = dataplane.Header(req.Headers, name)
	case "Path":
		v, present = req.Path, true
	}
	op, _ := e["op"].(string)
	value, _ := e["value"].(string)
	switch op {
	case "Equal":
		return present && v == value
	case "NotEqual":
		return !present || v != value
	case "RegexMatch", "RegexMatchCaseInsensitive", "RegexNotMatch", "RegexNotMatchCaseInsensitive":
		pat := value
		if strings.HasSuffix(op, "CaseInsensitive") {
			pat = "(?i)" + pat
		}
		re, err := regexp.Compile(pat) // PCRE's ~~ searches: unanchored, as Go's MatchString
		if err != nil {
			return false
		}
		hit := present && re.MatchString(v)
		if strings.HasPrefix(op, "RegexNot") {
			return !hit
		}
		return hit
	case "In", "NotIn":
		set, _ := e["set"].([]any)
		in := present && anyOf(set, func(s string) bool { return s == v })
		return in == (op == "In")
	}
	return false
}

// pickBackend draws a backend by weight (a lone backend is chosen whatever its weight).
func pickBackend(rule map[string]any, r *rand.Rand) map[string]any {
	items, _ := rule["backends"].([]any)
	var bs []map[string]any
	total := 0
	for _, it := range items {
		b, ok := it.(map[string]any)
		if !ok {
			continue
		}
		bs = append(bs, b)
		total += weight(b)
	}
	if len(bs) == 1 {
		return bs[0]
	}
	if total == 0 {
		return nil
	}
	pick := r.IntN(total)
	for _, b := range bs {
		if pick -= weight(b); pick < 0 {
			return b
		}
	}
	return nil
}

func weight(b map[string]any) int {
	v, ok := dataplane.Number(b["weight"])
	if !ok {
		return DefaultWeight
	}
	return int(v)
}

// send delivers a request to a ready pod of a Service.
func (g *Gateway) send(ns, name string, r *rand.Rand) (int, string) {
	return dataplane.Send(g.store, g.net, ns, name, nil, r)
}
