// Package alb is the AWS ALB traffic router: it computes the Ingress annotations that tell the
// AWS Load Balancer Controller how to split traffic between the stable and canary Services, byte
// for byte as Argo Rollouts writes them, so tools reading Argo's annotations keep working. It does
// no I/O: the engine applies the patches it returns.
package alb

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// Annotation keys.
const (
	DefaultAnnotationPrefix = "alb.ingress.kubernetes.io"
	// ManagedAnnotations records, per rollout, which annotations of a shared Ingress it manages.
	ManagedAnnotations = "rollouts.argoproj.io/managed-alb-annotations"
	// managedActionsDeprecated is the pre-2022 bookkeeping annotation; it is only ever removed.
	managedActionsDeprecated = "rollouts.argoproj.io/managed-alb-actions"
	// ClassAnnotation is the legacy way to give an Ingress its class.
	ClassAnnotation = "kubernetes.io/ingress.class"
	// ResourceTagKey is the tag the controller puts on each target group: <ns>/<ingress>-<svc>:<port>.
	ResourceTagKey = "ingress.k8s.aws/resource"
)

// Action is the forward action of the actions annotation. Field names are Go's defaults on
// purpose: that is what Argo writes and the AWS Load Balancer Controller reads.
type Action struct {
	Type          string        `json:"Type"`
	ForwardConfig ForwardConfig `json:"ForwardConfig"`
}

// ForwardConfig splits traffic between target groups.
type ForwardConfig struct {
	TargetGroups                []TargetGroup `json:"TargetGroups"`
	TargetGroupStickinessConfig *Stickiness   `json:"TargetGroupStickinessConfig,omitempty"`
}

// TargetGroup is one Service port and its weight.
type TargetGroup struct {
	ServiceName string `json:"ServiceName"`
	ServicePort string `json:"ServicePort"`
	Weight      *int64 `json:"Weight,omitempty"`
}

// Stickiness pins a client to a target group.
type Stickiness struct {
	Enabled         bool  `json:"Enabled"`
	DurationSeconds int64 `json:"DurationSeconds"`
}

// Destination is an extra weighted Service (an experiment's), between canary and stable.
type Destination struct {
	ServiceName string
	Weight      int32
}

// Prefix is the annotation prefix a rollout uses.
func Prefix(spec *v1alpha1.ALBTrafficRouting) string {
	if spec.AnnotationPrefix != "" {
		return spec.AnnotationPrefix
	}
	return DefaultAnnotationPrefix
}

// ActionService is the name of the action (and of the Ingress backend that uses it): rootService,
// else the stable Service.
func ActionService(spec *v1alpha1.ALBTrafficRouting, stableService string) string {
	if spec.RootService != "" {
		return spec.RootService
	}
	return stableService
}

// ActionKey is the annotation that holds the forward action named name.
func ActionKey(prefix, name string) string { return prefix + "/actions." + name }

// Ingresses lists the Ingresses a rollout routes through (ingress or ingresses).
func Ingresses(spec *v1alpha1.ALBTrafficRouting) []string {
	if spec.Ingress != "" {
		return []string{spec.Ingress}
	}
	return spec.Ingresses
}

// ForwardAction is the annotation value for a canary weight: canary first, extra destinations
// next, stable last, with the stable getting what is left of 100.
func ForwardAction(spec *v1alpha1.ALBTrafficRouting, canary, stable string, weight int32, extra ...Destination) (string, error) {
	port := strconv.Itoa(int(spec.ServicePort))
	w := func(n int32) *int64 { v := int64(n); return &v }
	stableWeight := 100 - weight
	groups := []TargetGroup{{ServiceName: canary, ServicePort: port, Weight: w(weight)}}
	for _, d := range extra {
		groups = append(groups, TargetGroup{ServiceName: d.ServiceName, ServicePort: port, Weight: w(d.Weight)})
		stableWeight -= d.Weight
	}
	groups = append(groups, TargetGroup{ServiceName: stable, ServicePort: port, Weight: w(stableWeight)})
	action := Action{Type: "forward", ForwardConfig: ForwardConfig{TargetGroups: groups}}
	if sc := spec.StickinessConfig; sc != nil && sc.Enabled {
		if sc.DurationSeconds < 1 || sc.DurationSeconds > 604800 {
			return "", fmt.Errorf("TargetGroupStickinessConfig's duration must be between 1 and 604800 seconds (7 days)")
		}
		action.ForwardConfig.TargetGroupStickinessConfig = &Stickiness{Enabled: true, DurationSeconds: sc.DurationSeconds}
	}
	b, err := json.Marshal(action)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// ParseAction reads an actions annotation.
func ParseAction(value string) (Action, error) {
	var a Action
	if err := json.Unmarshal([]byte(value), &a); err != nil {
		return Action{}, fmt.Errorf("invalid ALB action annotation: %w", err)
	}
	return a, nil
}

// HasBackend reports whether an Ingress rule sends traffic to the named Service (the action).
func HasBackend(ing *networkingv1.Ingress, service string) bool {
	if b := ing.Spec.DefaultBackend; b != nil && b.Service != nil && b.Service.Name == service {
		return true
	}
	for _, r := range ing.Spec.Rules {
		if r.HTTP == nil {
			continue
		}
		for _, p := range r.HTTP.Paths {
			if p.Backend.Service != nil && p.Backend.Service.Name == service {
				return true
			}
		}
	}
	return false
}

// Managed reads the bookkeeping annotation: rollout name → annotations it manages.
func Managed(ing *networkingv1.Ingress) (map[string][]string, error) {
	out := map[string][]string{}
	raw, ok := ing.Annotations[ManagedAnnotations]
	if !ok || raw == "" {
		return out, nil
	}
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		return nil, fmt.Errorf("ingress %s: invalid %s annotation: %w", ing.Name, ManagedAnnotations, err)
	}
	return out, nil
}

// encodeManaged writes the bookkeeping annotation (rollouts sorted, as encoding/json does).
func encodeManaged(m map[string][]string) string {
	for k := range m {
		sort.Strings(m[k])
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// SetWeight returns the annotations to change on one Ingress so that it splits traffic by weight,
// as a map of key → new value (a nil value removes the key); empty when the Ingress already says
// so. rollout is the rollout's name (for the bookkeeping annotation).
func SetWeight(ing *networkingv1.Ingress, rollout string, spec *v1alpha1.ALBTrafficRouting, canary, stable string, weight int32, extra ...Destination) (map[string]*string, error) {
	action := ActionService(spec, stable)
	if !HasBackend(ing, action) {
		return nil, fmt.Errorf("ingress `%s` has no rules using service %s backend", ing.Name, action)
	}
	value, err := ForwardAction(spec, canary, stable, weight, extra...)
	if err != nil {
		return nil, err
	}
	key := ActionKey(Prefix(spec), action)
	managed, err := Managed(ing)
	if err != nil {
		return nil, err
	}
	changes := map[string]*string{}
	if ing.Annotations[key] != value {
		changes[key] = &value
	}
	if !contains(managed[rollout], key) {
		managed[rollout] = append(managed[rollout], key)
		m := encodeManaged(managed)
		changes[ManagedAnnotations] = &m
	}
	if _, ok := ing.Annotations[managedActionsDeprecated]; ok {
		changes[managedActionsDeprecated] = nil
	}
	return changes, nil
}

// Weights reads the weights of an actions annotation by Service name.
func Weights(value string) (map[string]int64, error) {
	a, err := ParseAction(value)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, tg := range a.ForwardConfig.TargetGroups {
		if tg.Weight != nil {
			out[tg.ServiceName] = *tg.Weight
		}
	}
	return out, nil
}

// Release returns the annotation changes that hand an Ingress back when a rollout no longer uses
// it (deleted, or the reference removed): each action it managed goes to 100% on the Service the
// action is named after, and its bookkeeping entry goes. Header-route conditions are left as they
// are, as Argo does.
func Release(ing *networkingv1.Ingress, rollout string) (map[string]*string, error) {
	managed, err := Managed(ing)
	if err != nil {
		return nil, err
	}
	keys, ok := managed[rollout]
	if !ok {
		return nil, nil
	}
	changes := map[string]*string{}
	for _, key := range keys {
		value, ok := ing.Annotations[key]
		name, isAction := actionName(key)
		if !ok || !isAction {
			continue
		}
		a, err := ParseAction(value)
		if err != nil {
			return nil, err
		}
		port := ""
		for _, tg := range a.ForwardConfig.TargetGroups {
			if tg.ServiceName == name {
				port = tg.ServicePort
			}
		}
		if port == "" && len(a.ForwardConfig.TargetGroups) > 0 {
			port = a.ForwardConfig.TargetGroups[len(a.ForwardConfig.TargetGroups)-1].ServicePort
		}
		hundred := int64(100)
		reset := Action{Type: "forward", ForwardConfig: ForwardConfig{
			TargetGroups:                []TargetGroup{{ServiceName: name, ServicePort: port, Weight: &hundred}},
			TargetGroupStickinessConfig: a.ForwardConfig.TargetGroupStickinessConfig,
		}}
		b, _ := json.Marshal(reset)
		v := string(b)
		if v != value {
			changes[key] = &v
		}
	}
	delete(managed, rollout)
	if len(managed) == 0 {
		changes[ManagedAnnotations] = nil
	} else {
		m := encodeManaged(managed)
		changes[ManagedAnnotations] = &m
	}
	if _, ok := ing.Annotations[managedActionsDeprecated]; ok {
		changes[managedActionsDeprecated] = nil
	}
	return changes, nil
}

// actionName extracts the action name from ".../actions.<name>".
func actionName(key string) (string, bool) {
	for i := 0; i+len("/actions.") <= len(key); i++ {
		if key[i:i+len("/actions.")] == "/actions." {
			return key[i+len("/actions."):], true
		}
	}
	return "", false
}

// Class is an Ingress's class: the legacy annotation, else spec.ingressClassName, else "".
func Class(ing *networkingv1.Ingress) string {
	if c, ok := ing.Annotations[ClassAnnotation]; ok {
		return c
	}
	if ing.Spec.IngressClassName != nil {
		return *ing.Spec.IngressClassName
	}
	return ""
}

// HandlesClass reports whether a controller configured with --alb-ingress-classes handles an
// Ingress; an empty class in the list matches Ingresses without a class.
func HandlesClass(classes []string, ing *networkingv1.Ingress) bool {
	c := Class(ing)
	for _, want := range classes {
		if want == c {
			return true
		}
	}
	return false
}

// PatchOf turns annotation changes into a JSON merge patch of the Ingress metadata.
func PatchOf(changes map[string]*string) []byte {
	ann := map[string]any{}
	for k, v := range changes {
		if v == nil {
			ann[k] = nil
		} else {
			ann[k] = *v
		}
	}
	b, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": ann}})
	return b
}

// ResourceID is how the AWS Load Balancer Controller tags the target group of a Service port.
func ResourceID(namespace, ingress, service string, port int32) string {
	return fmt.Sprintf("%s/%s-%s:%d", namespace, ingress, service, port)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
