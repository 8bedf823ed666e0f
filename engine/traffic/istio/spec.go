// Package istio is the Istio traffic router: it edits the user's VirtualServices (route weights,
// header and mirror routes) and DestinationRule (subset hash labels) the way Argo Rollouts does,
// and reads the weights in effect back. It does no I/O: the engine reads the objects, calls these
// functions on a copy and sends the merge patch that Patch returns.
//
// The objects are *unstructured.Unstructured on purpose. A VirtualService carries many fields
// the rollout does not own (retries, rewrites, fault injection, fields of newer Istio releases);
// editing the decoded JSON maps in place keeps every one of them, byte for byte, where a typed
// round-trip through the Istio API structs could drop unknown fields or normalise values.
//
// Functions that change an object edit it in place and leave it untouched when they return an
// error, so pass a copy of a cached object (DeepCopy).
package istio

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// Spec is what the router needs from a Rollout. Build it with NewSpec.
type Spec struct {
	// Namespace is the rollout's: the default namespace of VirtualServices and the namespace of
	// the DestinationRule.
	Namespace string
	// Rollout is the rollout's name, written to the DestinationRule's managed-by annotation.
	Rollout string
	// CanaryService and StableService are the hosts of host-level splitting.
	CanaryService, StableService string
	// DestinationRule, when set, selects subset-level splitting.
	DestinationRule *v1alpha1.IstioDestinationRule
	// DestinationRuleHost, when set (see DestinationRuleHost), restricts subset matching to
	// destinations whose host is the DestinationRule's host.
	DestinationRuleHost string
	// VirtualServices are the VirtualServices the rollout routes through, in spec order.
	VirtualServices []VirtualServiceRef
	// ManagedRoutes are trafficRouting.managedRoutes, in precedence order.
	ManagedRoutes []string
}

// VirtualServiceRef is one VirtualService of the spec, with its name resolved.
type VirtualServiceRef struct {
	Namespace, Name string
	Routes          []string
	TLSRoutes       []v1alpha1.TLSRoute
	TCPRoutes       []v1alpha1.TCPRoute
}

// Error is an error about one object, naming the field it is about.
type Error struct {
	// Kind is VirtualService, DestinationRule or Rollout.
	Kind            string
	Namespace, Name string
	// Field is the path in the object, e.g. "spec.http" or "spec.tls[0].route".
	Field string
	// Detail is the message; where Argo Rollouts has one for the same problem it is Argo's text.
	Detail string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s %s/%s: %s: %s", e.Kind, e.Namespace, e.Name, e.Field, e.Detail)
}

// NewSpec extracts the Istio routing spec of a rollout. Like Argo it uses canaryService and
// stableService, and the ping-pong Services only when both are empty. Weights are percentages:
// a maxTrafficWeight other than 100 is rejected, as Argo's Istio router does.
func NewSpec(ro *v1alpha1.Rollout) (*Spec, error) {
	rerr := func(field, format string, a ...any) error {
		return &Error{Kind: "Rollout", Namespace: ro.Namespace, Name: ro.Name, Field: field, Detail: fmt.Sprintf(format, a...)}
	}
	const tr = "spec.strategy.canary.trafficRouting"
	c := ro.Spec.Strategy.Canary
	if c == nil || c.TrafficRouting == nil || c.TrafficRouting.Istio == nil {
		return nil, rerr(tr+".istio", "not set")
	}
	istio := c.TrafficRouting.Istio
	if w := c.TrafficRouting.MaxTrafficWeight; w != nil && *w != 100 {
		return nil, rerr(tr+".maxTrafficWeight", "Istio weights are percentages: maxTrafficWeight must be 100, not %d", *w)
	}
	s := &Spec{Namespace: ro.Namespace, Rollout: ro.Name, CanaryService: c.CanaryService, StableService: c.StableService}
	if pp := c.PingPong; pp != nil && c.CanaryService == "" && c.StableService == "" {
		s.StableService, s.CanaryService = pp.PongService, pp.PingService
		if ro.Status.Canary.StablePingPong == v1alpha1.PPPing {
			s.StableService, s.CanaryService = pp.PingService, pp.PongService
		}
	}
	if istio.DestinationRule != nil {
		dr := *istio.DestinationRule
		dr.AdditionalSubsetNames = append([]string(nil), dr.AdditionalSubsetNames...)
		s.DestinationRule = &dr
	} else if s.CanaryService == "" || s.StableService == "" {
		return nil, rerr("spec.strategy.canary", "host-level Istio routing needs canaryService and stableService (or a destinationRule)")
	}
	refs := istio.VirtualServices
	switch {
	case istio.VirtualService != nil && len(istio.VirtualServices) > 0:
		return nil, rerr(tr+".istio", "virtualService and virtualServices are mutually exclusive")
	case istio.VirtualService != nil:
		refs = []v1alpha1.IstioVirtualService{*istio.VirtualService}
	case len(refs) == 0:
		return nil, rerr(tr+".istio", "one of virtualService or virtualServices is required")
	}
	for _, r := range refs {
		ns, name := ParseVirtualServiceName(r.Name, ro.Namespace)
		s.VirtualServices = append(s.VirtualServices, VirtualServiceRef{
			Namespace: ns, Name: name,
			Routes:    append([]string(nil), r.Routes...),
			TLSRoutes: append([]v1alpha1.TLSRoute(nil), r.TLSRoutes...),
			TCPRoutes: append([]v1alpha1.TCPRoute(nil), r.TCPRoutes...),
		})
	}
	for _, m := range c.TrafficRouting.ManagedRoutes {
		s.ManagedRoutes = append(s.ManagedRoutes, m.Name)
	}
	return s, nil
}

// ParseVirtualServiceName splits a spec reference "name" or "name.namespace" (a trailing
// ".svc.cluster.local" or the like is ignored); the namespace defaults to defaultNamespace.
func ParseVirtualServiceName(ref, defaultNamespace string) (namespace, name string) {
	name, rest, found := strings.Cut(ref, ".")
	if !found || rest == "" {
		return defaultNamespace, name
	}
	namespace, _, _ = strings.Cut(rest, ".")
	return namespace, name
}

// ref finds the spec entry of a VirtualService (an object without a namespace is taken to be in
// the rollout's).
func (s *Spec) ref(vs *unstructured.Unstructured) (*VirtualServiceRef, error) {
	ns := vs.GetNamespace()
	if ns == "" {
		ns = s.Namespace
	}
	for i := range s.VirtualServices {
		if r := &s.VirtualServices[i]; r.Namespace == ns && r.Name == vs.GetName() {
			return r, nil
		}
	}
	return nil, &Error{Kind: "VirtualService", Namespace: ns, Name: vs.GetName(), Field: "metadata.name",
		Detail: fmt.Sprintf("not referenced by rollout %s/%s", s.Namespace, s.Rollout)}
}

func (s *Spec) isManaged(name string) bool {
	for _, m := range s.ManagedRoutes {
		if m == name {
			return true
		}
	}
	return false
}

// managedRank is a route name's position in managedRoutes, or -1.
func (s *Spec) managedRank(name string) int {
	for i, m := range s.ManagedRoutes {
		if m == name {
			return i
		}
	}
	return -1
}
