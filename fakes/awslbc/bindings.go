package awslbc

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	tgbv1 "github.com/rolloutlab/rolloutlab/engine/api/elbv2/v1beta1"
)

// bindingFor is the TargetGroupBinding the LBC keeps for a stack's target group: same name as
// the group, labelled with the stack.
func bindingFor(id types.NamespacedName, tg tgSpec, arn string) *tgbv1.TargetGroupBinding {
	ip := tgbv1.TargetTypeIP
	return &tgbv1.TargetGroupBinding{
		TypeMeta: metav1.TypeMeta{APIVersion: tgbv1.SchemeGroupVersion.String(), Kind: "TargetGroupBinding"},
		ObjectMeta: metav1.ObjectMeta{Name: tg.name, Namespace: id.Namespace,
			Labels: map[string]string{labelStackS: id.Namespace, labelStackN: id.Name}},
		Spec: tgbv1.TargetGroupBindingSpec{TargetGroupARN: arn, TargetType: &ip,
			ServiceRef: tgbv1.ServiceReference{Name: tg.service, Port: tg.port}},
	}
}

func sameBinding(a, b *tgbv1.TargetGroupBinding) bool {
	return a.Spec.TargetGroupARN == b.Spec.TargetGroupARN && a.Spec.ServiceRef == b.Spec.ServiceRef &&
		(a.Spec.TargetType == nil) == (b.Spec.TargetType == nil) &&
		(a.Spec.TargetType == nil || *a.Spec.TargetType == *b.Spec.TargetType) &&
		a.Labels[labelStackN] == b.Labels[labelStackN] && a.Labels[labelStackS] == b.Labels[labelStackS]
}

// ensureBindings creates or updates a binding per target group of the stack. With
// registerNow (TargetsBeforeRules) each binding's targets are registered right away, in this
// reconcile, instead of by the binding's own later reconcile.
func (r *ingressRun) ensureBindings(registerNow bool) error {
	c := r.c
	for _, tg := range r.spec.tgs {
		want := bindingFor(r.spec.id, tg, r.arns[tg.name])
		key := types.NamespacedName{Namespace: want.Namespace, Name: want.Name}
		o, ok := c.store.Peek(tgbv1.Resource, key.Namespace, key.Name)
		switch {
		case !ok:
			if _, err := c.store.Create(tgbv1.Resource, key.Namespace, want); err != nil {
				return err
			}
			r.change(Event{Kind: EventCreated, Resource: key.Name}, "created binding "+key.Name+" for "+tg.resID)
		case !sameBinding(o.(*tgbv1.TargetGroupBinding), want):
			next := o.(*tgbv1.TargetGroupBinding).DeepCopy()
			next.Spec, next.ResourceVersion = want.Spec, ""
			if next.Labels == nil {
				next.Labels = map[string]string{}
			}
			next.Labels[labelStackN], next.Labels[labelStackS] = want.Labels[labelStackN], want.Labels[labelStackS]
			if _, err := c.store.Update(tgbv1.Resource, key.Namespace, next, ""); err != nil {
				return err
			}
			r.change(Event{Kind: EventUpdated, Resource: key.Name}, "updated binding "+key.Name)
		}
		if !registerNow {
			continue
		}
		o, _ = c.store.Peek(tgbv1.Resource, key.Namespace, key.Name)
		requeue, err := c.syncTargets(o.(*tgbv1.TargetGroupBinding))
		if err != nil {
			return err
		}
		if requeue > 0 {
			c.bindings.add(key, requeue)
		}
	}
	return nil
}

func (r *ingressRun) deleteUnusedBindings() error {
	keep := map[string]bool{}
	for _, tg := range r.spec.tgs {
		keep[tg.name] = true
	}
	return r.c.deleteBindings(r.spec.id, keep)
}

// deleteBindings deletes a stack's bindings other than those kept; the binding reconcile then
// deregisters their targets.
func (c *Controller) deleteBindings(id types.NamespacedName, keep map[string]bool) error {
	for _, o := range c.store.PeekList(tgbv1.Resource, id.Namespace) {
		b := o.(*tgbv1.TargetGroupBinding)
		if b.Labels[labelStackN] != id.Name || b.Labels[labelStackS] != id.Namespace || keep[b.Name] {
			continue
		}
		if err := c.store.Delete(tgbv1.Resource, b.Namespace, b.Name, nil); err != nil {
			return err
		}
		c.emit(Event{Kind: EventDeleted, Object: id.String(), Resource: b.Name, Message: "binding"})
	}
	return nil
}
