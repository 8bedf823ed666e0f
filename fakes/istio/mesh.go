// Package istio models Istio's data plane: proxies that route with the VirtualServices and
// DestinationRules last pushed to them (each push lags the API server by a configurable delay),
// match header routes before weighted ones, mirror a share of requests, and send each request
// to a ready pod of the chosen Service and subset. No ready pod: 503.
package istio

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

// Resources of the route objects the proxies read.
var (
	VirtualServices  = schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1alpha3", Resource: "virtualservices"}
	DestinationRules = schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1alpha3", Resource: "destinationrules"}
)

// Config are the knobs of the mesh.
type Config struct {
	// PushDelay is how long after a VirtualService or DestinationRule is written the proxies
	// route with it (istiod's debounce and push). Pushes arrive in the order written.
	PushDelay dist.Delay
}

// Request is one client request into the mesh.
type Request struct {
	Host    string            // a host of a VirtualService (Host header / SNI)
	Path    string            // "/" when empty
	Method  string            // "GET" when empty
	Headers map[string]string // matched case-insensitively by name
}

// Response is what the client got and where the request went.
type Response struct {
	Code        int
	Version     string // pod-template hash of the pod that answered
	Destination string // "namespace/service" (+ "/subset")
	Mirrored    bool   // a copy was also sent to the mirror destination
}

// Mesh is the data plane of every proxy, which share one push schedule.
type Mesh struct {
	store  *kube.Store
	net    dataplane.Network
	pusher *dataplane.Pusher

	vs, dr *dataplane.Objects // as pushed
	// Mirrored counts mirrored copies sent.
	Mirrored int
}

// New returns a mesh fed from store through OnChange.
func New(cfg Config, store *kube.Store, s sched.Scheduler, net dataplane.Network, r *rand.Rand) *Mesh {
	m := &Mesh{store: store, net: net, pusher: dataplane.NewPusher(cfg.PushDelay, s, r),
		vs: dataplane.NewObjects(), dr: dataplane.NewObjects()}
	for _, o := range store.PeekList(VirtualServices, "") {
		m.vs.Set(o.(*unstructured.Unstructured), false)
	}
	for _, o := range store.PeekList(DestinationRules, "") {
		m.dr.Set(o.(*unstructured.Unstructured), false)
	}
	return m
}

// OnChange schedules the push of a changed route object.
func (m *Mesh) OnChange(ch kube.Change) {
	var into *dataplane.Objects
	switch ch.GVR {
	case VirtualServices:
		into = m.vs
	case DestinationRules:
		into = m.dr
	default:
		return
	}
	obj := ch.Object.(*unstructured.Unstructured)
	deleted := ch.Type == "DELETED"
	m.pusher.Push("istio/push", obj.GetNamespace()+"/"+obj.GetName(), func() { into.Set(obj, deleted) })
}

// Pushed returns the VirtualService as the proxies have it (nil: none pushed).
func (m *Mesh) Pushed(namespace, name string) *unstructured.Unstructured {
	return m.vs.Get(namespace, name)
}

// Serve routes one request as a proxy does with the configuration pushed to it.
func (m *Mesh) Serve(req Request, r *rand.Rand) Response {
	if req.Path == "" {
		req.Path = "/"
	}
	if req.Method == "" {
		req.Method = "GET"
	}
	vs := m.virtualServiceFor(req.Host)
	if vs == nil {
		return Response{Code: 404}
	}
	routes, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
	for _, rt := range routes {
		route, ok := rt.(map[string]any)
		if !ok || !matches(route, req) {
			continue
		}
		resp := Response{Code: 503}
		if mirror, ok := route["mirror"].(map[string]any); ok && m.mirrorPicked(route, r) {
			m.Mirrored++
			resp.Mirrored = true
			m.send(vs, mirror, r) // a copy: its outcome is not the client's
		}
		dest := pickDestination(route, r)
		if dest == nil {
			return resp
		}
		code, version, where := m.send(vs, dest, r)
		resp.Code, resp.Version, resp.Destination = code, version, where
		return resp
	}
	return Response{Code: 404}
}

func (m *Mesh) virtualServiceFor(host string) *unstructured.Unstructured {
	var found *unstructured.Unstructured
	m.vs.Each(func(_ types.NamespacedName, vs *unstructured.Unstructured) bool {
		hosts, _, _ := unstructured.NestedStringSlice(vs.Object, "spec", "hosts")
		for _, h := range hosts {
			if h == host || h == "*" {
				found = vs
				return false
			}
		}
		return true
	})
	return found
}

// matches: a route without match blocks takes every request; otherwise one block must match in
// all its conditions (uri, method, headers).
func matches(route map[string]any, req Request) bool {
	blocks, ok := route["match"].([]any)
	if !ok || len(blocks) == 0 {
		return true
	}
	for _, b := range blocks {
		block, _ := b.(map[string]any)
		if blockMatches(block, req) {
			return true
		}
	}
	return false
}

func blockMatches(block map[string]any, req Request) bool {
	if uri, ok := block["uri"].(map[string]any); ok && !stringMatch(uri, req.Path, true) {
		return false
	}
	if method, ok := block["method"].(map[string]any); ok && !stringMatch(method, req.Method, true) {
		return false
	}
	headers, _ := block["headers"].(map[string]any)
	for name, cond := range headers {
		v, present := dataplane.Header(req.Headers, name)
		c, _ := cond.(map[string]any)
		if !present || !stringMatch(c, v, true) {
			return false
		}
	}
	return true
}

// stringMatch evaluates Istio's StringMatch (exact, prefix or regex, RE2, whole string).
func stringMatch(c map[string]any, v string, empty bool) bool {
	if s, ok := c["exact"].(string); ok {
		return v == s
	}
	if s, ok := c["prefix"].(string); ok {
		return strings.HasPrefix(v, s)
	}
	if s, ok := c["regex"].(string); ok {
		re, err := regexp.Compile("^(?:" + s + ")$")
		return err == nil && re.MatchString(v)
	}
	return empty
}

func (m *Mesh) mirrorPicked(route map[string]any, r *rand.Rand) bool {
	pct := 100.0
	if mp, ok := route["mirrorPercentage"].(map[string]any); ok {
		if v, ok := dataplane.Number(mp["value"]); ok {
			pct = v
		}
	}
	return r.Float64()*100 < pct
}

func pickDestination(route map[string]any, r *rand.Rand) map[string]any {
	dests, _ := route["route"].([]any)
	total := 0
	for _, d := range dests {
		total += weight(d)
	}
	if len(dests) == 1 && total == 0 {
		d, _ := dests[0].(map[string]any)
		return destination(d)
	}
	if total == 0 {
		return nil
	}
	pick := r.IntN(total)
	for _, d := range dests {
		if pick -= weight(d); pick < 0 {
			dm, _ := d.(map[string]any)
			return destination(dm)
		}
	}
	return nil
}

func destination(d map[string]any) map[string]any {
	if d == nil {
		return nil
	}
	dest, _ := d["destination"].(map[string]any)
	return dest
}

func weight(d any) int {
	dm, _ := d.(map[string]any)
	v, _ := dataplane.Number(dm["weight"])
	return int(v)
}

// send delivers a request to a ready pod of the destination's Service (and subset).
func (m *Mesh) send(vs *unstructured.Unstructured, dest map[string]any, r *rand.Rand) (int, string, string) {
	host, _ := dest["host"].(string)
	name, ns := host, vs.GetNamespace()
	if parts := strings.Split(host, "."); len(parts) > 1 {
		name, ns = parts[0], parts[1]
	}
	where := ns + "/" + name
	var subsetLabels map[string]string
	if subset, _ := dest["subset"].(string); subset != "" {
		where += "/" + subset
		var ok bool
		if subsetLabels, ok = m.subsetLabels(ns, name, subset); !ok {
			return 503, "", where
		}
	}
	code, version := dataplane.Send(m.store, m.net, ns, name, subsetLabels, r)
	return code, version, where
}

func (m *Mesh) subsetLabels(ns, host, subset string) (map[string]string, bool) {
	var out map[string]string
	found := false
	m.dr.Each(func(k types.NamespacedName, dr *unstructured.Unstructured) bool {
		h, _, _ := unstructured.NestedString(dr.Object, "spec", "host")
		if k.Namespace != ns || strings.Split(h, ".")[0] != host {
			return true
		}
		subsets, _, _ := unstructured.NestedSlice(dr.Object, "spec", "subsets")
		for _, s := range subsets {
			sm, _ := s.(map[string]any)
			if sm["name"] != subset {
				continue
			}
			out, found = map[string]string{}, true
			ls, _ := sm["labels"].(map[string]any)
			for k, v := range ls {
				if vs, ok := v.(string); ok {
					out[k] = vs
				}
			}
			return false
		}
		return true
	})
	return out, found
}
