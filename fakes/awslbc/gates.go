package awslbc

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tgbv1 "github.com/rolloutlab/rolloutlab/engine/api/elbv2/v1beta1"
	"github.com/rolloutlab/rolloutlab/fakes/kube"
)

// justRegistered is the health the LBC assumes for a target it registered in this reconcile.
var justRegistered = types.TargetHealth{State: types.TargetHealthStateEnumInitial,
	Reason: types.TargetHealthReasonEnumRegistrationInProgress, Description: aws.String("Target registration is in progress")}

// updateGates sets the binding's target-health condition of each gated pod among the
// endpoints from its target's health, and reports whether one is not healthy yet.
func (c *Controller) updateGates(gate corev1.PodConditionType, eps []endpoint, registered map[string]target) (bool, error) {
	probe := false
	for _, e := range eps {
		health := justRegistered
		if t, ok := registered[e.key()]; ok {
			health = t.health
		}
		notHealthy, err := c.setGate(e.pod, gate, health)
		if err != nil {
			return false, err
		}
		probe = probe || notHealthy
	}
	return probe, nil
}

// setGate writes a pod's condition for a gate it carries: True when its target is healthy,
// else False, with the target's reason and description, as the LBC patches it. It reports
// whether the target is not healthy yet.
func (c *Controller) setGate(pod *corev1.Pod, gate corev1.PodConditionType, health types.TargetHealth) (bool, error) {
	if !hasGate(pod, gate) {
		return false, nil
	}
	status := corev1.ConditionFalse
	if health.State == types.TargetHealthStateEnumHealthy {
		status = corev1.ConditionTrue
	}
	cond := corev1.PodCondition{Type: gate, Status: status, Reason: string(health.Reason), Message: aws.ToString(health.Description),
		LastTransitionTime: metav1.NewTime(c.now().UTC().Truncate(time.Second))}
	next := pod.DeepCopy()
	found := false
	for i, cur := range next.Status.Conditions {
		if cur.Type != gate {
			continue
		}
		if cur.Status == cond.Status && cur.Reason == cond.Reason && cur.Message == cond.Message {
			return status != corev1.ConditionTrue, nil
		}
		if cur.Status == cond.Status {
			cond.LastTransitionTime = cur.LastTransitionTime
		}
		next.Status.Conditions[i], found = cond, true
	}
	if !found {
		next.Status.Conditions = append(next.Status.Conditions, cond)
	}
	next.ResourceVersion = ""
	if _, err := c.store.Update(kube.Pods, pod.Namespace, next, "status"); err != nil && !apierrors.IsNotFound(err) {
		return false, err
	}
	c.stats.GatesSet++
	c.emit(Event{Kind: EventGateSet, Object: pod.Namespace + "/" + pod.Name, Resource: string(gate),
		Message: string(status) + " " + string(health.State) + reasonSuffix(cond.Reason)})
	return status != corev1.ConditionTrue, nil
}

func reasonSuffix(reason string) string {
	if reason == "" {
		return ""
	}
	return " (" + reason + ")"
}

// releaseGates marks True the gate of a deleted binding on every pod that carries it.
func (c *Controller) releaseGates(b *tgbv1.TargetGroupBinding) error {
	gate := corev1.PodConditionType(gateType(b.Name))
	gone := types.TargetHealth{State: types.TargetHealthStateEnumHealthy, Description: aws.String("Target Group Binding is deleted")}
	for _, o := range c.store.PeekList(kube.Pods, b.Namespace) {
		if _, err := c.setGate(o.(*corev1.Pod), gate, gone); err != nil {
			return err
		}
	}
	return nil
}
