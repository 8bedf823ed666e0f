package rollout

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/traffic/alb"
)

// validate returns the first reason the rollout cannot be acted on: an invalid spec, a feature
// this engine does not run yet, or a referenced Service that is missing or owned by another
// rollout. The message names the field path.
func (d *decision) validate() *field.Error {
	if errs := v1alpha1.ValidateRollout(d.ro); len(errs) > 0 {
		return errs[0]
	}
	if err := unsupported(d.ro); err != nil {
		return err
	}
	if err := d.validateServices(); err != nil {
		return err
	}
	return d.validateAnalysis()
}

// unsupported rejects valid specs that need parts of the engine not built yet, naming the part.
func unsupported(ro *v1alpha1.Rollout) *field.Error {
	p := field.NewPath("spec", "strategy")
	if ro.Spec.Strategy.BlueGreen != nil {
		return nil
	}
	c := ro.Spec.Strategy.Canary
	cp := p.Child("canary")
	tr := c.TrafficRouting
	for i, s := range c.Steps {
		sp := cp.Child("steps").Index(i)
		switch {
		case s.Experiment != nil:
			return field.Forbidden(sp.Child("experiment"), "experiment steps are not supported by rolloutlab")
		case s.SetMirrorRoute != nil && (tr == nil || tr.Istio == nil):
			return field.Forbidden(sp, "mirror routes need Istio traffic routing in this rolloutlab build")
		case s.SetHeaderRoute != nil && (tr == nil || tr.Istio == nil && tr.Apisix == nil):
			return field.Forbidden(sp, "header routes need Istio or APISIX traffic routing in this rolloutlab build")
		}
	}
	return nil
}

// serviceRef is a Service a rollout names, and where.
type serviceRef struct {
	name     string
	path     *field.Path
	required bool
}

func (d *decision) serviceRefs() []serviceRef {
	p := field.NewPath("spec", "strategy")
	if bg := d.ro.Spec.Strategy.BlueGreen; bg != nil {
		bp := p.Child("blueGreen")
		return []serviceRef{{bg.ActiveService, bp.Child("activeService"), true}, {bg.PreviewService, bp.Child("previewService"), false}}
	}
	c := d.ro.Spec.Strategy.Canary
	cp := p.Child("canary")
	refs := []serviceRef{{c.CanaryService, cp.Child("canaryService"), false}, {c.StableService, cp.Child("stableService"), false}}
	if pp := c.PingPong; pp != nil {
		refs = append(refs, serviceRef{pp.PingService, cp.Child("pingPong", "pingService"), true}, serviceRef{pp.PongService, cp.Child("pingPong", "pongService"), true})
	}
	return refs
}

// validateServices checks the Services and Ingresses the rollout names: they exist, the Services
// select the rollout's pods and no other rollout manages them, and each ALB Ingress has a rule
// for the action.
func (d *decision) validateServices() *field.Error {
	for _, ref := range d.serviceRefs() {
		if ref.name == "" {
			continue
		}
		svc := d.in.Services[ref.name]
		if svc == nil {
			return field.Invalid(ref.path, ref.name, fmt.Sprintf("service %q not found", ref.name))
		}
		if err := d.checkService(svc, ref.path); err != nil {
			return err
		}
	}
	if msg := d.validateIstio(); msg != "" {
		return field.Invalid(field.NewPath("spec", "strategy", "canary", "trafficRouting", "istio"), "", msg)
	}
	if msg := d.validateApisix(); msg != "" {
		return field.Invalid(field.NewPath("spec", "strategy", "canary", "trafficRouting", "apisix"), "", msg)
	}
	if spec := albSpec(d.ro); spec != nil {
		ap := field.NewPath("spec", "strategy", "canary", "trafficRouting", "alb")
		stable, _ := stableAndCanaryServices(d.ro, true)
		action := alb.ActionService(spec, stable)
		for i, name := range alb.Ingresses(spec) {
			path := ap.Child("ingress")
			if spec.Ingress == "" {
				path = ap.Child("ingresses").Index(i)
			}
			ing := d.in.Ingresses[name]
			if ing == nil {
				return field.Invalid(path, name, fmt.Sprintf("ingress %q not found", name))
			}
			if !alb.HasBackend(ing, action) {
				return field.Invalid(path, name, fmt.Sprintf("ingress `%s` has no rules using service %s backend", name, action))
			}
		}
	}
	return nil
}

func (d *decision) checkService(svc *corev1.Service, path *field.Path) *field.Error {
	if owner, ok := svc.Annotations[v1alpha1.ManagedByRolloutsKey]; ok && owner != d.ro.Name {
		return field.Invalid(path, svc.Name, fmt.Sprintf("Service %q is managed by another Rollout", svc.Name))
	}
	sel := map[string]string{}
	for k, v := range svc.Spec.Selector {
		if k != v1alpha1.DefaultRolloutUniqueLabelKey {
			sel[k] = v
		}
	}
	if !labels.SelectorFromSet(sel).Matches(labels.Set(d.ro.Spec.Template.Labels)) {
		return field.Invalid(path, svc.Name, fmt.Sprintf("Service %q has unmatched label selector %v for the rollout's pod template labels", svc.Name, sel))
	}
	return nil
}
