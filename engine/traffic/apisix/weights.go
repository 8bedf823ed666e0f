package apisix

import (
	"fmt"
	"math"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// DefaultWeight is the weight the APISIX ingress controller gives a backend without one.
const DefaultWeight = 100

// rule is one HTTP rule (spec.http[index]) of an ApisixRoute.
type rule struct {
	index int
	name  string
	obj   map[string]any
}

func (r rule) field() string { return fmt.Sprintf("spec.http[%d]", r.index) }

// backend is one entry of a rule's backends.
type backend struct {
	index   int
	service string
	obj     map[string]any
}

// httpRules returns the HTTP rules of ar with the given names, in that order. Like Argo, the
// first rule of a name is the one, and spec.http must exist.
func httpRules(ar *unstructured.Unstructured, spec *Spec, names []string) ([]rule, error) {
	body, _ := ar.Object["spec"].(map[string]any)
	raw, ok := body["http"]
	if !ok || raw == nil {
		return nil, spec.routeError(ar.GetName(), "spec.http", "spec.http was not found in Apisix Route manifest")
	}
	items, ok := raw.([]any)
	if !ok {
		return nil, spec.routeError(ar.GetName(), "spec.http", "is not a list")
	}
	out := make([]rule, 0, len(names))
	for _, want := range names {
		found := false
		for i, it := range items {
			m, ok := it.(map[string]any)
			if !ok {
				return nil, spec.routeError(ar.GetName(), fmt.Sprintf("spec.http[%d]", i), "Failed type assertion for Apisix http route")
			}
			if n, _ := m["name"].(string); n == want {
				out = append(out, rule{index: i, name: n, obj: m})
				found = true
				break
			}
		}
		if !found {
			return nil, spec.routeError(ar.GetName(), "spec.http", "Apisix http route rule %s not found", want)
		}
	}
	return out, nil
}

// backends lists a rule's backends.
func backends(ar *unstructured.Unstructured, spec *Spec, r rule) ([]backend, error) {
	raw, ok := r.obj["backends"]
	if !ok {
		return nil, spec.routeError(ar.GetName(), r.field()+".backends", "Apisix http route backends not found")
	}
	items, ok := raw.([]any)
	if !ok {
		return nil, spec.routeError(ar.GetName(), r.field()+".backends", "is not a list")
	}
	out := make([]backend, 0, len(items))
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, spec.routeError(ar.GetName(), fmt.Sprintf("%s.backends[%d]", r.field(), i), "Failed type assertion for Apisix http route backend")
		}
		svc, ok := m["serviceName"].(string)
		if !ok {
			return nil, spec.routeError(ar.GetName(), fmt.Sprintf("%s.backends[%d].serviceName", r.field(), i), "serviceName field was not found in backend")
		}
		out = append(out, backend{index: i, service: svc, obj: m})
	}
	return out, nil
}

// findBackend returns the one backend of a Service in a rule.
func findBackend(ar *unstructured.Unstructured, spec *Spec, r rule, bs []backend, service string) (backend, bool, error) {
	var hits []backend
	for _, b := range bs {
		if b.service == service {
			hits = append(hits, b)
		}
	}
	switch len(hits) {
	case 0:
		return backend{}, false, nil
	case 1:
		return hits[0], true, nil
	}
	return backend{}, false, spec.routeError(ar.GetName(), r.field()+".backends",
		"%d backends route to Service '%s' (backends[%d] and backends[%d]); the rollout can weight only one", len(hits), service, hits[0].index, hits[1].index)
}

func (s *Spec) missingBackend(ar *unstructured.Unstructured, r rule, service string) error {
	return s.routeError(ar.GetName(), r.field()+".backends", "apisix route %s backend was not found", service)
}

// weightOf reads a backend's weight: APISIX's default when unset.
func weightOf(ar *unstructured.Unstructured, spec *Spec, r rule, b backend) (int64, bool, error) {
	v, ok := b.obj["weight"]
	if !ok || v == nil {
		return DefaultWeight, false, nil
	}
	var n int64
	switch w := v.(type) {
	case int64:
		n = w
	case int:
		n = int64(w)
	case int32:
		n = int64(w)
	case float64:
		if w != math.Trunc(w) {
			return 0, false, spec.routeError(ar.GetName(), fmt.Sprintf("%s.backends[%d].weight", r.field(), b.index), "is not an integer: %v", v)
		}
		n = int64(w)
	default:
		return 0, false, spec.routeError(ar.GetName(), fmt.Sprintf("%s.backends[%d].weight", r.field(), b.index), "is not an integer: %v", v)
	}
	if n < 0 {
		return 0, false, spec.routeError(ar.GetName(), fmt.Sprintf("%s.backends[%d].weight", r.field(), b.index), "is negative: %d", n)
	}
	return n, true, nil
}

// edit is one planned weight change.
type edit struct {
	backend map[string]any
	weight  int64
}

// SetWeight gives the canary backend of every HTTP rule the rollout manages desired percent and
// the stable backend the rest of 100; other backends keep their weights (as in Argo). It edits ar
// in place and reports whether anything changed; on error ar is untouched.
func SetWeight(ar *unstructured.Unstructured, spec *Spec, desired int32) (bool, error) {
	edits, err := planWeights(ar, spec, desired)
	if err != nil {
		return false, err
	}
	for _, e := range edits {
		e.backend["weight"] = e.weight
	}
	return len(edits) > 0, nil
}

// InEffect reports whether ar already carries the weights SetWeight(ar, spec, desired) would
// write: false after an out-of-band edit of a weight the rollout owns.
func InEffect(ar *unstructured.Unstructured, spec *Spec, desired int32) (bool, error) {
	edits, err := planWeights(ar, spec, desired)
	return err == nil && len(edits) == 0, err
}

func planWeights(ar *unstructured.Unstructured, spec *Spec, desired int32) ([]edit, error) {
	if desired < 0 || desired > 100 {
		return nil, spec.routeError(ar.GetName(), "spec.http", "canary weight %d is not a percentage", desired)
	}
	rules, err := httpRules(ar, spec, spec.Rules)
	if err != nil {
		return nil, err
	}
	var edits []edit
	for _, r := range rules {
		bs, err := backends(ar, spec, r)
		if err != nil {
			return nil, err
		}
		for _, t := range []struct {
			service string
			weight  int64
		}{{spec.CanaryService, int64(desired)}, {spec.StableService, 100 - int64(desired)}} {
			b, ok, err := findBackend(ar, spec, r, bs, t.service)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, spec.missingBackend(ar, r, t.service)
			}
			cur, set, err := weightOf(ar, spec, r, b)
			if err != nil {
				return nil, err
			}
			if !set || cur != t.weight {
				edits = append(edits, edit{backend: b.obj, weight: t.weight})
			}
		}
	}
	return edits, nil
}

// RuleWeights are the weights of one HTTP rule the rollout manages, as stored (APISIX's default
// for a backend without a weight).
type RuleWeights struct {
	// Field is the rule's path, e.g. "spec.http[0]"; Name its name.
	Field, Name string
	Canary      int32
	// Stable is the stable backend's weight; HasStable is false when the rule has none (the
	// header route of a setHeaderRoute step sends only to the canary).
	Stable    int32
	HasStable bool
	// Others are the weights of every other backend, by Service.
	Others map[string]int32
}

// Total is the sum of the rule's weights.
func (w RuleWeights) Total() int32 {
	t := w.Canary + w.Stable
	for _, o := range w.Others {
		t += o
	}
	return t
}

// CanaryPercent is the share of the rule's requests the canary gets, rounded down (0 when no
// backend has weight).
func (w RuleWeights) CanaryPercent() int32 {
	if t := w.Total(); t > 0 {
		return w.Canary * 100 / t
	}
	return 0
}

// Weights reads back the weights of every HTTP rule of ar the rollout manages, in spec order. It
// applies the same checks as SetWeight: a rule or a canary or stable backend that is missing is
// an error here too.
func Weights(ar *unstructured.Unstructured, spec *Spec) ([]RuleWeights, error) {
	return readWeights(ar, spec, true)
}

// ManagedRouteWeights reads the weights of the rules of a header route (an ApisixRoute a
// setHeaderRoute step manages), which have a canary backend and no stable one.
func ManagedRouteWeights(ar *unstructured.Unstructured, spec *Spec) ([]RuleWeights, error) {
	return readWeights(ar, spec, false)
}

func readWeights(ar *unstructured.Unstructured, spec *Spec, needStable bool) ([]RuleWeights, error) {
	rules, err := httpRules(ar, spec, spec.Rules)
	if err != nil {
		return nil, err
	}
	out := make([]RuleWeights, 0, len(rules))
	for _, r := range rules {
		bs, err := backends(ar, spec, r)
		if err != nil {
			return nil, err
		}
		rw := RuleWeights{Field: r.field(), Name: r.name, Others: map[string]int32{}}
		canary, stable := false, false
		for _, svc := range []string{spec.CanaryService, spec.StableService} {
			if _, _, err := findBackend(ar, spec, r, bs, svc); err != nil {
				return nil, err
			}
		}
		for _, b := range bs {
			w, _, err := weightOf(ar, spec, r, b)
			if err != nil {
				return nil, err
			}
			switch b.service {
			case spec.CanaryService:
				rw.Canary, canary = int32(w), true
			case spec.StableService:
				rw.Stable, stable = int32(w), true
			default:
				rw.Others[b.service] += int32(w)
			}
		}
		if !canary {
			return nil, spec.missingBackend(ar, r, spec.CanaryService)
		}
		if needStable && !stable {
			return nil, spec.missingBackend(ar, r, spec.StableService)
		}
		rw.HasStable = stable
		out = append(out, rw)
	}
	return out, nil
}
