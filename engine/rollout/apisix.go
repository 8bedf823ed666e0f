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
	"github.com/rolloutlab/rolloutlab/engine/traffic/apisix"
)

// ApisixRouteResource is the APISIX ingress controller's route object, which the engine reads,
// patches, and (for header routes) creates and deletes.
var ApisixRouteResource = schema.GroupVersionResource{Group: "apisix.apache.org", Version: "v2", Resource: "apisixroutes"}

const (
	reasonUpdatedApisixRoute       = "UpdatedApisixRoute"
	reasonCreatedApisixRoute       = "CreatedApisixRoute"
	reasonDeletedApisixRoute       = "DeletedApisixRoute"
	reasonApisixWeightNotInEffect  = "ApisixWeightNotInEffect"
	msgApisixRouteInvalidPrefix    = "Apisix route has invalid rules. Error: "
	msgApisixRouteNotFoundTemplate = "ApisixRoute %s/%s not found"
)

func apisixSpec(ro *v1alpha1.Rollout) *v1alpha1.ApisixTrafficRouting {
	if c := ro.Spec.Strategy.Canary; c != nil && c.TrafficRouting != nil {
		return c.TrafficRouting.Apisix
	}
	return nil
}

// observeApisix reads the rollout's ApisixRoute and the managed (header) routes, by name in the
// rollout's namespace. A spec the router cannot read is left for decide to report.
func (r *Reconciler) observeApisix(in *Observed) error {
	if apisixSpec(in.Rollout) == nil {
		return nil
	}
	spec, err := apisix.NewSpec(in.Rollout)
	if err != nil {
		return nil
	}
	in.ApisixRoutes = map[string]*unstructured.Unstructured{}
	for _, name := range append([]string{spec.Route}, spec.ManagedRoutes...) {
		ar, err := r.deps.Reader.ApisixRoute(spec.Namespace, name)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		in.ApisixRoutes[name] = ar
	}
	return nil
}

// validateApisix reports, as an InvalidSpec message, a spec or ApisixRoute the APISIX router
// cannot work with: a missing route, or named rules and backends that do not exist.
func (d *decision) validateApisix() string {
	if apisixSpec(d.ro) == nil {
		return ""
	}
	spec, err := apisix.NewSpec(d.ro)
	if err != nil {
		return err.Error()
	}
	ar := d.in.ApisixRoutes[spec.Route]
	if ar == nil {
		return fmt.Sprintf(msgApisixRouteNotFoundTemplate, spec.Namespace, spec.Route)
	}
	if _, err := apisix.Weights(ar, spec); err != nil {
		var ae *apisix.Error
		if errors.As(err, &ae) {
			return msgApisixRouteInvalidPrefix + err.Error()
		}
		return err.Error()
	}
	return ""
}

// setApisixWeight plans the patch that gives the canary its weight in the ApisixRoute, and the
// creation, update or deletion of the header routes the steps manage. It reports whether the
// stored route already carries the desired weights (the read-back).
func (d *decision) setApisixWeight(desired int32) (inEffect bool, err error) {
	spec, err := apisix.NewSpec(d.ro)
	if err != nil {
		return false, err
	}
	ar := d.in.ApisixRoutes[spec.Route]
	if ar == nil {
		return false, fmt.Errorf(msgApisixRouteNotFoundTemplate, spec.Namespace, spec.Route)
	}
	if inEffect, err = apisix.InEffect(ar, spec, desired); err != nil {
		return false, err
	}
	next := ar.DeepCopy()
	changed, err := apisix.SetWeight(next, spec, desired)
	if err != nil {
		return false, err
	}
	if changed {
		if err := d.patchApisix(ar, next, fmt.Sprintf("ApisixRoute `%s` set to desiredWeight '%d'", ar.GetName(), desired)); err != nil {
			return false, err
		}
	}
	if err := d.syncApisixHeaderRoutes(spec, ar); err != nil {
		return false, err
	}
	if !inEffect {
		d.plan.requeue(verifyRetry)
	}
	return inEffect, nil
}

// syncApisixHeaderRoutes creates or updates the header route of each setHeaderRoute step in
// force, and deletes the managed routes the rollout controls that no step wants any more (the
// update is over, aborted or fully promoted, or the step said no match).
func (d *decision) syncApisixHeaderRoutes(spec *apisix.Spec, main *unstructured.Unstructured) error {
	wanted := map[string]bool{}
	for _, st := range d.managedRouteSteps() {
		hr := st.SetHeaderRoute
		if hr == nil || hr.Match == nil {
			continue
		}
		wanted[hr.Name] = true
		cur := d.in.ApisixRoutes[hr.Name]
		next, err := apisix.HeaderRoute(main, cur, spec, hr)
		if err != nil {
			return err
		}
		if cur == nil {
			d.plan.add(Action{Kind: CreateApisixRoute, Namespace: spec.Namespace, Name: hr.Name, Object: next,
				Events: []Event{{Type: "Normal", Reason: reasonCreatedApisixRoute, Message: fmt.Sprintf("ApisixRoute `%s` created for setHeaderRoute", hr.Name)}}})
			continue
		}
		if err := d.patchApisix(cur, next, fmt.Sprintf("ApisixRoute `%s` updated for setHeaderRoute", hr.Name)); err != nil {
			return err
		}
	}
	for _, name := range spec.ManagedRoutes {
		if cur := d.in.ApisixRoutes[name]; cur != nil && !wanted[name] && name != spec.Route && apisix.Controlled(cur, spec) {
			d.plan.add(Action{Kind: DeleteApisixRoute, Namespace: spec.Namespace, Name: name, Object: cur,
				Events: []Event{{Type: "Normal", Reason: reasonDeletedApisixRoute, Message: fmt.Sprintf("ApisixRoute `%s` deleted: its header route is no longer needed", name)}}})
		}
	}
	return nil
}

func (d *decision) patchApisix(cur, next *unstructured.Unstructured, msg string) error {
	patch, err := mergepatch.Objects(cur, next)
	if err != nil || patch == nil {
		return err
	}
	d.plan.add(Action{Kind: PatchApisixRoute, Namespace: cur.GetNamespace(), Name: cur.GetName(), Patch: patch, PatchType: types.MergePatchType,
		Events: []Event{{Type: "Normal", Reason: reasonUpdatedApisixRoute, Message: msg}}})
	return nil
}

// writeApisix carries out an ApisixRoute action through the dynamic client.
func (r *Reconciler) writeApisix(ctx context.Context, a Action) error {
	if r.deps.Dynamic == nil {
		return fmt.Errorf("no dynamic client to write apisixroutes %s/%s", a.Namespace, a.Name)
	}
	c := r.deps.Dynamic.Resource(ApisixRouteResource).Namespace(a.Namespace)
	var err error
	switch a.Kind {
	case PatchApisixRoute:
		_, err = c.Patch(ctx, a.Name, a.PatchType, a.Patch, metav1.PatchOptions{})
	case CreateApisixRoute:
		_, err = c.Create(ctx, a.Object, metav1.CreateOptions{})
	case DeleteApisixRoute:
		opts := metav1.DeleteOptions{}
		if a.Object != nil && a.Object.GetUID() != "" {
			uid := a.Object.GetUID() // the route the decision saw, not one recreated since
			opts.Preconditions = &metav1.Preconditions{UID: &uid}
		}
		if err = c.Delete(ctx, a.Name, opts); apierrors.IsNotFound(err) {
			err = nil
		}
	}
	return err
}
