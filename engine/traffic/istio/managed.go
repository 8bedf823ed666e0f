package istio

import (
	"encoding/json"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// SetHeaderRoute adds (or replaces) the HTTP route hr.Name that sends requests whose headers
// match to the canary with weight 100, or removes it when hr.Match is nil. Each match entry is a
// separate Istio match block (the entries are ORed), as in Argo. The route's destination is a
// copy of the canary destination of the first weighted HTTP route (host, subset, port as the
// user wrote them). Managed routes are placed before the user's routes, in managedRoutes order.
// It edits vs in place and reports whether anything changed; on error vs is untouched.
func SetHeaderRoute(vs *unstructured.Unstructured, spec *Spec, hr *v1alpha1.SetHeaderRoute) (bool, error) {
	v, err := newView(vs, spec)
	if err != nil {
		return false, err
	}
	if err := v.checkManagedName(hr.Name, "setHeaderRoute"); err != nil {
		return false, err
	}
	if hr.Match == nil {
		return v.replaceManaged(hr.Name, nil)
	}
	matches := make([]any, 0, len(hr.Match))
	for i, m := range hr.Match {
		field := fmt.Sprintf("spec.strategy.canary.steps[].setHeaderRoute.match[%d]", i)
		if m.HeaderName == "" {
			return false, spec.rolloutError(field+".headerName", "header name is required")
		}
		sm, err := stringMatch(m.HeaderValue, spec, field+".headerValue")
		if err != nil {
			return false, err
		}
		matches = append(matches, map[string]any{"headers": map[string]any{m.HeaderName: sm}})
	}
	_, canary, err := v.weightedHTTP()
	if err != nil {
		return false, err
	}
	newRoute := map[string]any{
		"name":  hr.Name,
		"match": matches,
		"route": []any{map[string]any{"destination": canary, "weight": int64(100)}},
	}
	return v.replaceManaged(hr.Name, newRoute)
}

// SetMirrorRoute adds (or replaces) the HTTP route mr.Name that routes matching requests like the
// first weighted HTTP route (a copy of its destinations, whose weights SetWeight keeps in step)
// and mirrors mr.Percentage percent of them (default 100) to the canary, or removes it when
// mr.Match is nil. Path matches become Istio "uri" matches. Ordering and errors as
// SetHeaderRoute.
func SetMirrorRoute(vs *unstructured.Unstructured, spec *Spec, mr *v1alpha1.SetMirrorRoute) (bool, error) {
	v, err := newView(vs, spec)
	if err != nil {
		return false, err
	}
	if err := v.checkManagedName(mr.Name, "setMirrorRoute"); err != nil {
		return false, err
	}
	if mr.Match == nil {
		return v.replaceManaged(mr.Name, nil)
	}
	percent := int64(100)
	if mr.Percentage != nil {
		percent = int64(*mr.Percentage)
	}
	if percent < 0 || percent > 100 {
		return false, spec.rolloutError("spec.strategy.canary.steps[].setMirrorRoute.percentage", fmt.Sprintf("%d is not a percentage", percent))
	}
	matches := make([]any, 0, len(mr.Match))
	for i, m := range mr.Match {
		field := fmt.Sprintf("spec.strategy.canary.steps[].setMirrorRoute.match[%d]", i)
		block := map[string]any{}
		if m.Method != nil {
			sm, err := stringMatch(m.Method, spec, field+".method")
			if err != nil {
				return false, err
			}
			block["method"] = sm
		}
		if m.Path != nil {
			sm, err := stringMatch(m.Path, spec, field+".path")
			if err != nil {
				return false, err
			}
			block["uri"] = sm
		}
		if len(m.Headers) > 0 {
			headers := map[string]any{}
			for name, value := range m.Headers {
				sm, err := stringMatch(&value, spec, field+".headers."+name)
				if err != nil {
					return false, err
				}
				headers[name] = sm
			}
			block["headers"] = headers
		}
		matches = append(matches, block)
	}
	weighted, canary, err := v.weightedHTTP()
	if err != nil {
		return false, err
	}
	newRoute := map[string]any{
		"name":             mr.Name,
		"match":            matches,
		"route":            runtime.DeepCopyJSONValue(weighted.obj["route"]),
		"mirror":           canary,
		"mirrorPercentage": map[string]any{"value": percent},
	}
	return v.replaceManaged(mr.Name, newRoute)
}

// RemoveManagedRoutes removes every HTTP route named in managedRoutes (the end of an update, an
// abort). A VirtualService without HTTP routes is left alone. It edits vs in place and reports
// whether anything changed.
func RemoveManagedRoutes(vs *unstructured.Unstructured, spec *Spec) (bool, error) {
	v, err := newView(vs, spec)
	if err != nil {
		return false, err
	}
	routes, err := v.list(kindHTTP)
	if err != nil || routes == nil {
		return false, err
	}
	items := v.body[kindHTTP].([]any)
	keep := make([]any, 0, len(items))
	for _, r := range routes {
		if name, _ := r["name"].(string); !spec.isManaged(name) {
			keep = append(keep, r)
		}
	}
	if len(keep) == len(items) {
		return false, nil
	}
	v.body[kindHTTP] = keep
	return true, nil
}

// checkManagedName: a step may only manage a route listed in managedRoutes, and never one of the
// routes the rollout weights.
func (v *vsView) checkManagedName(name, step string) error {
	field := "spec.strategy.canary.steps[]." + step + ".name"
	if !v.spec.isManaged(name) {
		return v.spec.rolloutError(field, fmt.Sprintf("route '%s' is not in spec.strategy.canary.trafficRouting.managedRoutes", name))
	}
	if slices.Contains(v.ref.Routes, name) {
		return v.errorf("spec.http", "managed route '%s' is also a route whose weights the rollout sets", name)
	}
	return nil
}

func (s *Spec) rolloutError(field, detail string) *Error {
	return &Error{Kind: "Rollout", Namespace: s.Namespace, Name: s.Rollout, Field: field, Detail: detail}
}

// weightedHTTP returns the first weighted (non-mirror) HTTP route and a copy of its canary
// destination.
func (v *vsView) weightedHTTP() (route, map[string]any, error) {
	routes, err := v.httpRoutes()
	if err != nil {
		return route{}, nil, err
	}
	for _, r := range routes {
		if r.mirror {
			continue
		}
		dests, err := v.destinations(r)
		if err != nil {
			return route{}, nil, err
		}
		for _, d := range dests {
			if v.spec.role(d, nil) == roleCanary {
				target, _ := d.obj["destination"].(map[string]any)
				return r, runtime.DeepCopyJSONValue(target).(map[string]any), nil
			}
		}
		return route{}, nil, v.errorf(r.field()+".route", "%s", v.spec.missing(roleCanary))
	}
	return route{}, nil, v.errorf("spec.http", "no HTTP route sends traffic to %s: a header or mirror route needs one", v.spec.describeTargets())
}

// replaceManaged removes the HTTP routes named name, adds newRoute (unless nil) and orders the
// managed routes first, in managedRoutes order, the others after them in their order. It writes
// spec.http only if the result differs.
func (v *vsView) replaceManaged(name string, newRoute map[string]any) (bool, error) {
	routes, err := v.list(kindHTTP)
	if err != nil {
		return false, err
	}
	if routes == nil && newRoute == nil {
		return false, nil
	}
	var managed [][]any // by managedRoutes rank
	managed = make([][]any, len(v.spec.ManagedRoutes))
	var others []any
	place := func(r map[string]any) {
		n, _ := r["name"].(string)
		if rank := v.spec.managedRank(n); rank >= 0 {
			managed[rank] = append(managed[rank], r)
		} else {
			others = append(others, r)
		}
	}
	for _, r := range routes {
		if n, _ := r["name"].(string); n != name {
			place(r)
		}
	}
	if newRoute != nil {
		place(newRoute)
	}
	out := make([]any, 0, len(routes)+1)
	for _, rs := range managed {
		out = append(out, rs...)
	}
	out = append(out, others...)
	before, err := json.Marshal(v.body[kindHTTP])
	if err != nil {
		return false, v.errorf("spec.http", "%v", err)
	}
	after, err := json.Marshal(out)
	if err != nil {
		return false, v.errorf("spec.http", "%v", err)
	}
	if string(before) == string(after) {
		return false, nil
	}
	if v.obj.Object["spec"] == nil {
		v.obj.Object["spec"] = v.body
	}
	v.body[kindHTTP] = out
	return true, nil
}

// stringMatch turns a StringMatch into Istio's form; exactly one of exact, prefix, regex.
func stringMatch(m *v1alpha1.StringMatch, spec *Spec, field string) (map[string]any, error) {
	if m == nil {
		return nil, spec.rolloutError(field, "a value (exact, prefix or regex) is required")
	}
	out := map[string]any{}
	for k, val := range map[string]string{"exact": m.Exact, "prefix": m.Prefix, "regex": m.Regex} {
		if val != "" {
			out[k] = val
		}
	}
	if len(out) != 1 {
		return nil, spec.rolloutError(field, "exactly one of exact, prefix or regex must be set")
	}
	return out, nil
}
