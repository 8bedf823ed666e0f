// Package apisix is the Apache APISIX traffic router: it sets the weights of the stable and
// canary backends in the named HTTP rules of the user's ApisixRoute (apisix.apache.org/v2), and
// builds the separate ApisixRoute a setHeaderRoute step manages, the way Argo Rollouts does. It
// does no I/O: the engine reads the objects, calls these functions on a copy and sends the merge
// patch that Patch returns (or creates and deletes the managed routes).
//
// The objects are *unstructured.Unstructured: an ApisixRoute carries many fields the rollout does
// not own (plugins, timeouts, authentication, websocket, fields of newer controller releases), and
// editing the decoded JSON maps in place keeps every one of them as it was.
//
// Functions that change an object edit it in place and leave it untouched when they return an
// error, so pass a copy of a cached object (DeepCopy).
package apisix

import (
	"fmt"

	"k8s.io/apimachinery/pkg/types"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// Spec is what the router needs from a Rollout. Build it with NewSpec.
type Spec struct {
	// Namespace is the rollout's, and that of every ApisixRoute it touches (Argo's APISIX client
	// is namespaced to the rollout).
	Namespace string
	// Rollout and RolloutUID name the owner (controller reference) of the managed routes.
	Rollout    string
	RolloutUID types.UID
	// CanaryService and StableService are the backends whose weights the rollout sets.
	CanaryService, StableService string
	// Route is the user's ApisixRoute.
	Route string
	// Rules are the names of its HTTP rules (spec.http[].name) the rollout weights; when the
	// spec names none, the one rule named like the ApisixRoute itself (as Argo does).
	Rules []string
	// ManagedRoutes are trafficRouting.managedRoutes: the ApisixRoutes the header steps create.
	ManagedRoutes []string
}

// Error is an error about one object, naming the field it is about.
type Error struct {
	// Kind is ApisixRoute or Rollout.
	Kind            string
	Namespace, Name string
	// Field is the path in the object, e.g. "spec.http[0].backends".
	Field string
	// Detail is the message; where Argo Rollouts has one for the same problem it is Argo's text.
	Detail string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s %s/%s: %s: %s", e.Kind, e.Namespace, e.Name, e.Field, e.Detail)
}

// NewSpec extracts the APISIX routing spec of a rollout. Weights are percentages: the stable gets
// 100 minus the canary's weight, as in Argo, so a maxTrafficWeight other than 100 is rejected
// (Argo would write a negative stable weight).
func NewSpec(ro *v1alpha1.Rollout) (*Spec, error) {
	rerr := func(field, format string, a ...any) error {
		return &Error{Kind: "Rollout", Namespace: ro.Namespace, Name: ro.Name, Field: field, Detail: fmt.Sprintf(format, a...)}
	}
	const tr = "spec.strategy.canary.trafficRouting"
	c := ro.Spec.Strategy.Canary
	if c == nil || c.TrafficRouting == nil || c.TrafficRouting.Apisix == nil {
		return nil, rerr(tr+".apisix", "not set")
	}
	ax := c.TrafficRouting.Apisix
	switch {
	case ax.Route == nil:
		return nil, rerr(tr+".apisix.route", "an ApisixRoute is required")
	case ax.Route.Name == "":
		return nil, rerr(tr+".apisix.route.name", "the ApisixRoute name is required")
	case c.CanaryService == "" || c.StableService == "":
		return nil, rerr("spec.strategy.canary", "APISIX routing needs canaryService and stableService")
	case c.CanaryService == c.StableService:
		return nil, rerr("spec.strategy.canary", "canaryService and stableService are both '%s'", c.CanaryService)
	}
	if w := c.TrafficRouting.MaxTrafficWeight; w != nil && *w != 100 {
		return nil, rerr(tr+".maxTrafficWeight", "APISIX weights are percentages: maxTrafficWeight must be 100, not %d", *w)
	}
	s := &Spec{Namespace: ro.Namespace, Rollout: ro.Name, RolloutUID: ro.UID, CanaryService: c.CanaryService,
		StableService: c.StableService, Route: ax.Route.Name, Rules: append([]string(nil), ax.Route.Rules...)}
	if len(s.Rules) == 0 {
		s.Rules = []string{s.Route}
	}
	for _, m := range c.TrafficRouting.ManagedRoutes {
		s.ManagedRoutes = append(s.ManagedRoutes, m.Name)
	}
	return s, nil
}

// IsManaged says whether an ApisixRoute name is one of managedRoutes.
func (s *Spec) IsManaged(name string) bool {
	for _, m := range s.ManagedRoutes {
		if m == name {
			return true
		}
	}
	return false
}

func (s *Spec) routeError(name, field, format string, a ...any) *Error {
	return &Error{Kind: "ApisixRoute", Namespace: s.Namespace, Name: name, Field: field, Detail: fmt.Sprintf(format, a...)}
}

func (s *Spec) rolloutError(field, format string, a ...any) *Error {
	return &Error{Kind: "Rollout", Namespace: s.Namespace, Name: s.Rollout, Field: field, Detail: fmt.Sprintf(format, a...)}
}
