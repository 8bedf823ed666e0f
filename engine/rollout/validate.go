package rollout

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
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
	return d.validateServices()
}

// unsupported rejects valid specs that need parts of the engine not built yet, naming the part.
func unsupported(ro *v1alpha1.Rollout) *field.Error {
	p := field.NewPath("spec", "strategy")
	if ro.Spec.Strategy.BlueGreen != nil {
		return field.NotSupported(p.Child("blueGreen"), "blueGreen", []string{"canary"})
	}
	c := ro.Spec.Strategy.Canary
	cp := p.Child("canary")
	if c.TrafficRouting != nil {
		return field.Forbidden(cp.Child("trafficRouting"), "traffic routing is not supported by this rolloutlab build yet; remove trafficRouting to run a replica-ratio canary")
	}
	if c.Analysis != nil {
		return field.Forbidden(cp.Child("analysis"), "background analysis is not supported by this rolloutlab build yet")
	}
	if c.PingPong != nil {
		return field.Forbidden(cp.Child("pingPong"), "ping-pong needs traffic routing, which this rolloutlab build does not support yet")
	}
	for i, s := range c.Steps {
		sp := cp.Child("steps").Index(i)
		switch {
		case s.Analysis != nil:
			return field.Forbidden(sp.Child("analysis"), "analysis steps are not supported by this rolloutlab build yet")
		case s.Experiment != nil:
			return field.Forbidden(sp.Child("experiment"), "experiment steps are not supported by rolloutlab")
		}
	}
	return nil
}

// validateServices checks the Services the rollout names: they exist, select the rollout's pods,
// and no other rollout manages them.
func (d *decision) validateServices() *field.Error {
	c := d.ro.Spec.Strategy.Canary
	p := field.NewPath("spec", "strategy", "canary")
	refs := []struct {
		name string
		path *field.Path
	}{{c.CanaryService, p.Child("canaryService")}, {c.StableService, p.Child("stableService")}}
	for _, ref := range refs {
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
