package istio

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// edit is one planned change to a route: a weight to set, or a destination to append.
type edit struct {
	route  map[string]any
	dest   map[string]any // weight edit: the destination entry
	weight int64
	add    map[string]any // append edit: the new destination entry
}

func (e edit) apply() {
	if e.add != nil {
		items, _ := e.route["route"].([]any)
		e.route["route"] = append(items[:len(items):len(items)], e.add)
		return
	}
	e.dest["weight"] = e.weight
}

// SetWeight sets the weights of every route of vs the rollout manages: desired percent to the
// canary, each experiment Service (extra) its weight, and the stable what is left of 100 after
// them and after the weights of the route's other destinations (additional subsets, the user's
// own), which are kept as they are. Missing experiment destinations are appended, sorted by
// Service. It edits vs in place and reports whether anything changed; on error vs is untouched.
func SetWeight(vs *unstructured.Unstructured, spec *Spec, desired int32, extra ...v1alpha1.WeightDestination) (bool, error) {
	edits, err := planWeights(vs, spec, desired, extra)
	if err != nil {
		return false, err
	}
	for _, e := range edits {
		e.apply()
	}
	return len(edits) > 0, nil
}

// InEffect reports whether vs already routes as SetWeight(vs, spec, desired, extra...) would
// make it: false after an out-of-band edit of a weight the rollout owns.
func InEffect(vs *unstructured.Unstructured, spec *Spec, desired int32, extra ...v1alpha1.WeightDestination) (bool, error) {
	edits, err := planWeights(vs, spec, desired, extra)
	return err == nil && len(edits) == 0, err
}

func planWeights(vs *unstructured.Unstructured, spec *Spec, desired int32, extra []v1alpha1.WeightDestination) ([]edit, error) {
	v, err := newView(vs, spec)
	if err != nil {
		return nil, err
	}
	if desired < 0 || desired > 100 {
		return nil, v.errorf("spec", "canary weight %d is not a percentage", desired)
	}
	extra = slices.Clone(extra)
	slices.SortFunc(extra, func(a, b v1alpha1.WeightDestination) int { return strings.Compare(a.ServiceName, b.ServiceName) })
	routes, err := v.routes()
	if err != nil {
		return nil, err
	}
	var edits []edit
	for _, r := range routes {
		es, err := v.planRoute(r, desired, extra)
		if err != nil {
			return nil, err
		}
		edits = append(edits, es...)
	}
	return edits, nil
}

// planRoute plans the weight edits of one route.
func (v *vsView) planRoute(r route, desired int32, extra []v1alpha1.WeightDestination) ([]edit, error) {
	dests, err := v.destinations(r)
	if err != nil {
		return nil, err
	}
	var canary, stable, present []dest
	find := func(service string) (dest, bool) {
		for _, d := range present {
			if shortHost(d.host) == service {
				return d, true
			}
		}
		return dest{}, false
	}
	reserved, extraSum := int64(0), int64(0)
	for _, d := range dests {
		switch v.spec.role(d, extra) {
		case roleCanary:
			canary = append(canary, d)
		case roleStable:
			stable = append(stable, d)
		case roleExtra:
			if prev, dup := find(shortHost(d.host)); dup {
				return nil, v.errorf(r.field()+".route", "2 destinations route to experiment Service '%s' (%s and %s); the rollout can weight only one", shortHost(d.host), prev.key(), d.key())
			}
			present = append(present, d)
		default:
			w, ok := weightOf(d.obj, len(dests))
			if !ok {
				return nil, v.errorf(fmt.Sprintf("%s.route[%d].weight", r.field(), d.index), "is not an integer: %v", d.obj["weight"])
			}
			reserved += w
		}
	}
	if err := v.checkOne(r, canary, roleCanary); err != nil {
		return nil, err
	}
	if err := v.checkOne(r, stable, roleStable); err != nil {
		return nil, err
	}
	for _, e := range extra {
		extraSum += int64(e.Weight)
	}
	stableWeight := 100 - int64(desired) - extraSum - reserved
	if stableWeight < 0 {
		return nil, v.errorf(r.field()+".route", "weights do not fit in 100: canary %d + experiments %d + other destinations %d", desired, extraSum, reserved)
	}
	var edits []edit
	setTo := func(d dest, w int64) error {
		cur, ok := weightOf(d.obj, len(dests))
		if !ok {
			return v.errorf(fmt.Sprintf("%s.route[%d].weight", r.field(), d.index), "is not an integer: %v", d.obj["weight"])
		}
		if cur != w {
			edits = append(edits, edit{route: r.obj, dest: d.obj, weight: w})
		}
		return nil
	}
	if err := setTo(canary[0], int64(desired)); err != nil {
		return nil, err
	}
	if err := setTo(stable[0], stableWeight); err != nil {
		return nil, err
	}
	for _, e := range extra {
		if d, ok := find(e.ServiceName); ok {
			if err := setTo(d, int64(e.Weight)); err != nil {
				return nil, err
			}
		} else if e.Weight != 0 {
			edits = append(edits, edit{route: r.obj, add: map[string]any{
				"destination": map[string]any{"host": e.ServiceName},
				"weight":      int64(e.Weight),
			}})
		}
	}
	return edits, nil
}

// checkOne requires exactly one canary (or stable) destination in a managed route.
func (v *vsView) checkOne(r route, ds []dest, rl role) error {
	switch len(ds) {
	case 0:
		return v.errorf(r.field()+".route", "%s", v.spec.missing(rl))
	case 1:
		return nil
	}
	what := "canary"
	if rl == roleStable {
		what = "stable"
	}
	return v.errorf(r.field()+".route", "%d destinations route to the %s (%s and %s); the rollout can weight only one", len(ds), what, ds[0].key(), ds[1].key())
}

// RouteWeights are the weights in effect on one route the rollout manages.
type RouteWeights struct {
	// Field is the route's path, e.g. "spec.http[0]".
	Field string
	// Name is an HTTP route's name ("" for tls/tcp and unnamed routes).
	Name   string
	Canary int32
	Stable int32
	// Others are the weights of every other destination, by "host" or "host/subset" (experiment
	// Services, additional subsets, the user's own destinations).
	Others map[string]int32
}

// Total is the sum of a route's weights (100 for a valid route).
func (w RouteWeights) Total() int32 {
	t := w.Canary + w.Stable
	for _, o := range w.Others {
		t += o
	}
	return t
}

// Weights reads back the weights in effect on every route of vs that the rollout manages, in
// route order (http, tls, tcp). It applies the same route selection and checks as SetWeight, so
// an edit that removed a managed route or destination is an error here too.
func Weights(vs *unstructured.Unstructured, spec *Spec) ([]RouteWeights, error) {
	v, err := newView(vs, spec)
	if err != nil {
		return nil, err
	}
	routes, err := v.routes()
	if err != nil {
		return nil, err
	}
	out := make([]RouteWeights, 0, len(routes))
	for _, r := range routes {
		dests, err := v.destinations(r)
		if err != nil {
			return nil, err
		}
		rw := RouteWeights{Field: r.field(), Name: r.name, Others: map[string]int32{}}
		var canary, stable []dest
		for _, d := range dests {
			w, ok := weightOf(d.obj, len(dests))
			if !ok {
				return nil, v.errorf(fmt.Sprintf("%s.route[%d].weight", r.field(), d.index), "is not an integer: %v", d.obj["weight"])
			}
			switch spec.role(d, nil) {
			case roleCanary:
				canary = append(canary, d)
				rw.Canary += int32(w)
			case roleStable:
				stable = append(stable, d)
				rw.Stable += int32(w)
			default:
				rw.Others[d.key()] += int32(w)
			}
		}
		if err := v.checkOne(r, canary, roleCanary); err != nil {
			return nil, err
		}
		if err := v.checkOne(r, stable, roleStable); err != nil {
			return nil, err
		}
		out = append(out, rw)
	}
	return out, nil
}

// RemoveDestinations removes the destinations of the given experiment Services from every route
// the rollout manages and gives their weight back to the stable (SetWeight never removes a
// destination). It edits vs in place and reports whether anything changed.
func RemoveDestinations(vs *unstructured.Unstructured, spec *Spec, services ...string) (bool, error) {
	v, err := newView(vs, spec)
	if err != nil {
		return false, err
	}
	routes, err := v.routes()
	if err != nil {
		return false, err
	}
	type removal struct {
		r      route
		keep   []any
		gain   int64
		to     map[string]any
		stable int64
	}
	var plan []removal
	for _, r := range routes {
		dests, err := v.destinations(r)
		if err != nil {
			return false, err
		}
		rm := removal{r: r}
		for _, d := range dests {
			switch {
			case slices.Contains(services, shortHost(d.host)) && spec.role(d, nil) == roleOther:
				w, _ := weightOf(d.obj, len(dests))
				rm.gain += w
			case spec.role(d, nil) == roleStable:
				rm.to = d.obj
				rm.stable, _ = weightOf(d.obj, len(dests))
				rm.keep = append(rm.keep, d.obj)
			default:
				rm.keep = append(rm.keep, d.obj)
			}
		}
		if len(rm.keep) == len(dests) {
			continue
		}
		if rm.to == nil && rm.gain != 0 {
			return false, v.errorf(r.field()+".route", "%s", spec.missing(roleStable))
		}
		plan = append(plan, rm)
	}
	for _, rm := range plan {
		if rm.gain != 0 {
			rm.to["weight"] = rm.stable + rm.gain
		}
		rm.r.obj["route"] = rm.keep
	}
	return len(plan) > 0, nil
}
