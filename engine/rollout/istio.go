package rollout

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/mergepatch"
	"github.com/rolloutlab/rolloutlab/engine/traffic/istio"
)

// The Istio resources the engine reads and patches.
var (
	VirtualServiceResource  = schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1alpha3", Resource: "virtualservices"}
	DestinationRuleResource = schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1alpha3", Resource: "destinationrules"}
)

const (
	reasonUpdatedVirtualService  = "UpdatedVirtualService"
	reasonUpdatedDestinationRule = "UpdatedDestinationRule"
	reasonIstioWeightNotInEffect = "IstioWeightNotInEffect"
)

func istioSpec(ro *v1alpha1.Rollout) *v1alpha1.IstioTrafficRouting {
	if c := ro.Spec.Strategy.Canary; c != nil && c.TrafficRouting != nil {
		return c.TrafficRouting.Istio
	}
	return nil
}

// observeIstio reads the VirtualServices and the DestinationRule the rollout routes through.
// A spec the router cannot read is left for decide to report.
func (r *Reconciler) observeIstio(in *Observed) error {
	if istioSpec(in.Rollout) == nil {
		return nil
	}
	spec, err := istio.NewSpec(in.Rollout)
	if err != nil {
		return nil
	}
	in.VirtualServices = map[string]*unstructured.Unstructured{}
	for _, ref := range spec.VirtualServices {
		vs, err := r.deps.Reader.VirtualService(ref.Namespace, ref.Name)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		in.VirtualServices[ref.Namespace+"/"+ref.Name] = vs
	}
	if dr := spec.DestinationRule; dr != nil {
		obj, err := r.deps.Reader.DestinationRule(spec.Namespace, dr.Name)
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		in.DestinationRule = obj
	}
	return nil
}

// validateIstio reports, as an InvalidSpec message, a spec or VirtualService the Istio router
// cannot work with: missing objects, or routes named in the spec that do not exist.
func (d *decision) validateIstio() string {
	if istioSpec(d.ro) == nil {
		return ""
	}
	spec, err := istio.NewSpec(d.ro)
	if err != nil {
		return err.Error()
	}
	for _, ref := range spec.VirtualServices {
		vs := d.in.VirtualServices[ref.Namespace+"/"+ref.Name]
		if vs == nil {
			return fmt.Sprintf("VirtualService %s/%s not found", ref.Namespace, ref.Name)
		}
		if _, err := istio.Weights(vs, spec); err != nil {
			var ie *istio.Error
			if errors.As(err, &ie) {
				return fmt.Sprintf("Istio VirtualService has invalid routes. Error: %v", err)
			}
			return err.Error()
		}
	}
	if dr := spec.DestinationRule; dr != nil && d.in.DestinationRule == nil {
		return fmt.Sprintf("DestinationRule %s/%s not found", spec.Namespace, dr.Name)
	}
	return ""
}

// setIstioWeight plans the patches that give the canary its weight in every VirtualService,
// keep the DestinationRule's subsets on the canary and stable pod-template hashes, and place or
// remove the managed header and mirror routes. It reports whether every VirtualService already
// had the desired weights in effect (read back from the objects as stored).
func (d *decision) setIstioWeight(desired int32, canaryHash, stableHash string) (inEffect bool, err error) {
	spec, err := istio.NewSpec(d.ro)
	if err != nil {
		return false, err
	}
	if dr := d.in.DestinationRule; dr != nil && spec.DestinationRule != nil {
		spec.DestinationRuleHost = istio.DestinationRuleHost(dr)
		next := dr.DeepCopy()
		changed, err := istio.SyncDestinationRule(next, spec, canaryHash, stableHash)
		if err != nil {
			return false, err
		}
		if changed {
			if err := d.patchIstio(PatchDestinationRule, dr, next, reasonUpdatedDestinationRule,
				fmt.Sprintf("DestinationRule `%s` subsets: canary %s, stable %s", dr.GetName(), canaryHash, stableHash)); err != nil {
				return false, err
			}
		}
	}
	routes := d.managedRouteSteps()
	inEffect = true
	for _, ref := range spec.VirtualServices {
		vs := d.in.VirtualServices[ref.Namespace+"/"+ref.Name]
		if vs == nil {
			return false, fmt.Errorf("VirtualService %s/%s not found", ref.Namespace, ref.Name)
		}
		ok, err := istio.InEffect(vs, spec, desired)
		if err != nil {
			return false, err
		}
		inEffect = inEffect && ok
		next := vs.DeepCopy()
		changed, err := istio.SetWeight(next, spec, desired)
		if err != nil {
			return false, err
		}
		for _, st := range routes {
			var c bool
			if st.SetHeaderRoute != nil {
				c, err = istio.SetHeaderRoute(next, spec, st.SetHeaderRoute)
			} else {
				c, err = istio.SetMirrorRoute(next, spec, st.SetMirrorRoute)
			}
			if err != nil {
				return false, err
			}
			changed = changed || c
		}
		if len(routes) == 0 && len(spec.ManagedRoutes) > 0 {
			c, err := istio.RemoveManagedRoutes(next, spec)
			if err != nil {
				return false, err
			}
			changed = changed || c
		}
		if changed {
			if err := d.patchIstio(PatchVirtualService, vs, next, reasonUpdatedVirtualService,
				fmt.Sprintf("VirtualService `%s` set to desiredWeight '%d'", vs.GetName(), desired)); err != nil {
				return false, err
			}
		}
	}
	if !inEffect {
		d.plan.requeue(verifyRetry)
	}
	return inEffect, nil
}

func (d *decision) patchIstio(kind ActionKind, cur, next *unstructured.Unstructured, reason, msg string) error {
	patch, err := mergepatch.Objects(cur, next)
	if err != nil || patch == nil {
		return err
	}
	d.plan.add(Action{Kind: kind, Namespace: cur.GetNamespace(), Name: cur.GetName(), Patch: patch, PatchType: types.MergePatchType,
		Events: []Event{{Type: "Normal", Reason: reason, Message: msg}}})
	return nil
}

// managedRouteSteps are the setHeaderRoute and setMirrorRoute steps in force: the latest of each
// route name up to the current step, none once the update is over, aborted or fully promoted.
func (d *decision) managedRouteSteps() []v1alpha1.CanaryStep {
	c := d.ro.Spec.Strategy.Canary
	_, idx := CurrentStep(d.ro)
	if idx == nil || d.fullyPromoted() || d.aborted() || d.ro.Status.PromoteFull || d.newRS == nil || available(d.newRS) == 0 {
		return nil
	}
	last := map[string]int{}
	var order []string
	for i := 0; i <= int(*idx) && i < len(c.Steps); i++ {
		name := ""
		switch s := c.Steps[i]; {
		case s.SetHeaderRoute != nil:
			name = s.SetHeaderRoute.Name
		case s.SetMirrorRoute != nil:
			name = s.SetMirrorRoute.Name
		default:
			continue
		}
		if _, ok := last[name]; !ok {
			order = append(order, name)
		}
		last[name] = i
	}
	out := make([]v1alpha1.CanaryStep, 0, len(order))
	for _, name := range order {
		out = append(out, c.Steps[last[name]])
	}
	return out
}

func (r *Reconciler) patchIstio(ctx context.Context, gvr schema.GroupVersionResource, a Action) error {
	if r.deps.Dynamic == nil {
		return fmt.Errorf("no dynamic client to patch %s %s/%s", gvr.Resource, a.Namespace, a.Name)
	}
	_, err := r.deps.Dynamic.Resource(gvr).Namespace(a.Namespace).Patch(ctx, a.Name, a.PatchType, a.Patch, metav1.PatchOptions{})
	return err
}
