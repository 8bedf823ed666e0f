package rollout

import (
	"context"
	"fmt"
	"sort"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/traffic/alb"
)

// RolloutLister finds the rollouts of a namespace (for the Ingress reconcile).
type RolloutLister interface {
	Rollouts(namespace string) ([]*v1alpha1.Rollout, error)
}

// DecideIngress hands an ALB Ingress back from rollouts that no longer use it (deleted, or the
// reference removed): their actions go to 100% on the Service the action is named after, and
// their bookkeeping entries are dropped. Only Ingresses of the controller's classes are touched.
func DecideIngress(ing *networkingv1.Ingress, rollouts []*v1alpha1.Rollout, classes []string) (*Plan, error) {
	plan := &Plan{}
	if !alb.HandlesClass(classes, ing) {
		return plan, nil
	}
	managed, err := alb.Managed(ing)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(managed))
	for name := range managed {
		names = append(names, name)
	}
	sort.Strings(names)
	changes := map[string]*string{}
	for _, name := range names {
		if usesIngress(rollouts, name, ing.Name) {
			continue
		}
		// Apply the previous releases before computing the next, so bookkeeping stays consistent.
		cur := ing.DeepCopy()
		for k, v := range changes {
			if v == nil {
				delete(cur.Annotations, k)
			} else {
				cur.Annotations[k] = *v
			}
		}
		c, err := alb.Release(cur, name)
		if err != nil {
			return nil, err
		}
		for k, v := range c {
			changes[k] = v
		}
		plan.event(reasonIngressReleased, "Rollout %s no longer uses Ingress %s: its actions go back to 100%% stable", name, ing.Name)
	}
	if len(changes) > 0 {
		plan.add(Action{Kind: PatchIngress, Name: ing.Name, Patch: alb.PatchOf(changes), PatchType: types.MergePatchType})
		plan.Why = fmt.Sprintf("release Ingress %s", ing.Name)
	}
	return plan, nil
}

const reasonIngressReleased = "IngressReleased"

func usesIngress(rollouts []*v1alpha1.Rollout, rollout, ingress string) bool {
	for _, ro := range rollouts {
		if ro.Name != rollout || ro.DeletionTimestamp != nil {
			continue
		}
		if spec := albSpec(ro); spec != nil {
			for _, name := range alb.Ingresses(spec) {
				if name == ingress {
					return true
				}
			}
		}
	}
	return false
}

// ReconcileIngress releases an Ingress ("namespace/name") from rollouts that stopped using it.
func (r *Reconciler) ReconcileIngress(ctx context.Context, key string, lister RolloutLister) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return err
	}
	ing, err := r.deps.Reader.Ingress(ns, name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	rollouts, err := lister.Rollouts(ns)
	if err != nil {
		return err
	}
	plan, err := DecideIngress(ing, rollouts, r.cfg.ALBIngressClasses)
	if err != nil {
		return err
	}
	for _, a := range plan.Actions {
		if _, err := r.deps.Kube.NetworkingV1().Ingresses(ns).Patch(ctx, a.Name, a.PatchType, a.Patch, metav1.PatchOptions{}); err != nil {
			return err
		}
	}
	for _, e := range plan.Events {
		if r.deps.Events != nil {
			r.deps.Events.Event(ing, e.Type, e.Reason, e.Message)
		}
	}
	return nil
}
