package awslbc

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/rolloutlab/rolloutlab/engine/traffic/alb"
)

// useAnnotation is the backend port name that takes the action from the actions annotation.
const useAnnotation = "use-annotation"

// stackSpec is what an Ingress asks for in AWS: the LBC's "model", built without I/O.
type stackSpec struct {
	id            types.NamespacedName
	lbName        string
	tgs           []tgSpec // sorted by name
	defaultAction actionSpec
	rules         []ruleSpec // by priority
}

// tgSpec is the target group of one Service port.
type tgSpec struct {
	name    string
	resID   string
	service string
	port    intstr.IntOrString // as the Ingress names it
	tgPort  int32
	hc      healthCheck
	attrs   map[string]string // target group attributes the annotations set
}

// healthCheck holds the health-check settings the LBC gives a target group.
type healthCheck struct {
	path                                 string
	interval, timeout, healthy, unhealth int32
}

// actionSpec is a rule's action: a fixed response, or a forward to weighted target groups.
type actionSpec struct {
	fixed   string // status code of a fixed response
	forward []weighted
	sticky  *alb.Stickiness
}

type weighted struct {
	tg     string // target group name
	weight int32
}

type ruleSpec struct {
	priority int32
	host     string
	paths    []string
	action   actionSpec
}

// builder builds one Ingress's stackSpec.
type builder struct {
	cfg     Config
	ing     *networkingv1.Ingress
	id      types.NamespacedName
	service func(ns, name string) *corev1.Service
	tgs     map[string]tgSpec
}

// buildStack turns an Ingress into the AWS resources it asks for, as the LBC's model builder.
func buildStack(cfg Config, ing *networkingv1.Ingress, service func(ns, name string) *corev1.Service) (stackSpec, error) {
	id := types.NamespacedName{Namespace: ing.Namespace, Name: ing.Name}
	b := &builder{cfg: cfg, ing: ing, id: id, service: service, tgs: map[string]tgSpec{}}
	spec := stackSpec{id: id, lbName: loadBalancerName(cfg.ClusterName, id), defaultAction: actionSpec{fixed: "404"}}
	if d := ing.Spec.DefaultBackend; d != nil {
		a, err := b.backendAction(*d)
		if err != nil {
			return stackSpec{}, err
		}
		spec.defaultAction = a
	}
	for _, r := range ing.Spec.Rules {
		if r.HTTP == nil {
			continue
		}
		for _, p := range r.HTTP.Paths {
			a, err := b.backendAction(p.Backend)
			if err != nil {
				return stackSpec{}, err
			}
			spec.rules = append(spec.rules, ruleSpec{priority: int32(len(spec.rules) + 1), host: r.Host, paths: pathPatterns(p), action: a})
		}
	}
	for _, tg := range b.tgs {
		spec.tgs = append(spec.tgs, tg)
	}
	sort.Slice(spec.tgs, func(i, j int) bool { return spec.tgs[i].name < spec.tgs[j].name })
	return spec, nil
}

// pathPatterns are the path-pattern values of an Ingress path, by its path type.
func pathPatterns(p networkingv1.HTTPIngressPath) []string {
	path := p.Path
	switch {
	case path == "":
		return []string{"/*"}
	case p.PathType != nil && *p.PathType == networkingv1.PathTypeExact:
		return []string{path}
	case p.PathType != nil && *p.PathType == networkingv1.PathTypePrefix:
		if path == "/" {
			return []string{"/*"}
		}
		path = strings.TrimSuffix(path, "/")
		return []string{path, path + "/*"}
	}
	return []string{path} // ImplementationSpecific: an ALB pattern as written
}

// backendAction is the action of one backend: the actions annotation for use-annotation,
// else a forward to the Service port's target group.
func (b *builder) backendAction(be networkingv1.IngressBackend) (actionSpec, error) {
	if be.Service == nil {
		return actionSpec{}, fmt.Errorf("ingress %s: resource backends are not modelled", b.id)
	}
	if be.Service.Port.Name == useAnnotation {
		return b.annotationAction(be.Service.Name)
	}
	port := intstr.FromInt32(be.Service.Port.Number)
	if be.Service.Port.Name != "" {
		port = intstr.FromString(be.Service.Port.Name)
	}
	tg, err := b.targetGroup(be.Service.Name, port)
	if err != nil {
		return actionSpec{}, err
	}
	return actionSpec{forward: []weighted{{tg: tg, weight: 1}}}, nil
}

func (b *builder) annotationAction(name string) (actionSpec, error) {
	key := alb.ActionKey(b.cfg.AnnotationPrefix, name)
	raw, ok := b.ing.Annotations[key]
	if !ok {
		return actionSpec{}, fmt.Errorf("ingress %s: backend %s uses %s but the annotation %s is missing", b.id, name, useAnnotation, key)
	}
	a, err := alb.ParseAction(raw)
	if err != nil {
		return actionSpec{}, fmt.Errorf("ingress %s: %s: %w", b.id, key, err)
	}
	if !strings.EqualFold(a.Type, "forward") || len(a.ForwardConfig.TargetGroups) == 0 {
		return actionSpec{}, fmt.Errorf("ingress %s: %s: only forward actions to target groups are modelled", b.id, key)
	}
	var out actionSpec
	for _, g := range a.ForwardConfig.TargetGroups {
		tg, err := b.targetGroup(g.ServiceName, intstr.Parse(g.ServicePort))
		if err != nil {
			return actionSpec{}, err
		}
		w := int32(1)
		if g.Weight != nil {
			w = int32(*g.Weight)
		}
		out.forward = append(out.forward, weighted{tg: tg, weight: w})
	}
	if s := a.ForwardConfig.TargetGroupStickinessConfig; s != nil && s.Enabled {
		out.sticky = &alb.Stickiness{Enabled: true, DurationSeconds: s.DurationSeconds}
	}
	return out, nil
}

// targetGroup adds the target group of a Service port and returns its name.
func (b *builder) targetGroup(name string, port intstr.IntOrString) (string, error) {
	svc := b.service(b.id.Namespace, name)
	if svc == nil {
		return "", fmt.Errorf("ingress %s: service %s/%s not found", b.id, b.id.Namespace, name)
	}
	sp := servicePort(svc, port)
	if sp == nil {
		return "", fmt.Errorf("ingress %s: service %s has no port %s", b.id, name, port.String())
	}
	if tt := b.annotation(svc, "target-type"); tt != "" && tt != "ip" {
		return "", fmt.Errorf("ingress %s: target type %q is not modelled (only ip)", b.id, tt)
	}
	tgPort := int32(1) // a named target port resolves per pod: the LBC gives the group port 1
	if sp.TargetPort.Type == intstr.Int {
		tgPort = sp.TargetPort.IntVal
		if tgPort == 0 {
			tgPort = sp.Port
		}
	}
	hc, err := b.healthCheck(svc)
	if err != nil {
		return "", err
	}
	attrs, err := parseAttributes(b.annotation(svc, "target-group-attributes"))
	if err != nil {
		return "", fmt.Errorf("ingress %s: %w", b.id, err)
	}
	tg := tgSpec{name: targetGroupName(b.cfg.ClusterName, b.id, svc.Namespace, name, port, tgPort),
		resID: resourceID(b.id, name, port), service: name, port: port, tgPort: tgPort, hc: hc, attrs: attrs}
	b.tgs[tg.name] = tg
	return tg.name, nil
}

// annotation reads a target-group annotation: the Service's wins over the Ingress's.
func (b *builder) annotation(svc *corev1.Service, name string) string {
	key := b.cfg.AnnotationPrefix + "/" + name
	if v, ok := svc.Annotations[key]; ok {
		return v
	}
	return b.ing.Annotations[key]
}

// healthCheck reads the health-check annotations over the LBC's defaults (15 s, 5 s, 2, 2, /).
func (b *builder) healthCheck(svc *corev1.Service) (healthCheck, error) {
	hc := healthCheck{path: "/", interval: 15, timeout: 5, healthy: 2, unhealth: 2}
	if p := b.annotation(svc, "healthcheck-path"); p != "" {
		hc.path = p
	}
	for _, f := range []struct {
		name string
		dst  *int32
	}{
		{"healthcheck-interval-seconds", &hc.interval}, {"healthcheck-timeout-seconds", &hc.timeout},
		{"healthy-threshold-count", &hc.healthy}, {"unhealthy-threshold-count", &hc.unhealth},
	} {
		v := b.annotation(svc, f.name)
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return healthCheck{}, fmt.Errorf("ingress %s: %s/%s: %q is not a number", b.id, b.cfg.AnnotationPrefix, f.name, v)
		}
		*f.dst = int32(n)
	}
	return hc, nil
}

// parseAttributes reads "k1=v1,k2=v2".
func parseAttributes(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("target-group-attributes: %q is not key=value", kv)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, nil
}

// servicePort finds a Service port by number or name.
func servicePort(svc *corev1.Service, port intstr.IntOrString) *corev1.ServicePort {
	for i, p := range svc.Spec.Ports {
		if port.Type == intstr.Int && p.Port == port.IntVal || port.Type == intstr.String && p.Name == port.StrVal {
			return &svc.Spec.Ports[i]
		}
	}
	return nil
}

// usesService reports whether an Ingress sends traffic to a Service, directly or through an
// actions annotation.
func usesService(ing *networkingv1.Ingress, svc, prefix string) bool {
	if alb.HasBackend(ing, svc) {
		return true
	}
	for k, v := range ing.Annotations {
		if !strings.HasPrefix(k, prefix+"/actions.") {
			continue
		}
		if a, err := alb.ParseAction(v); err == nil {
			for _, g := range a.ForwardConfig.TargetGroups {
				if g.ServiceName == svc {
					return true
				}
			}
		}
	}
	return false
}
