package awslbc

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	tgbv1 "github.com/rolloutlab/rolloutlab/engine/api/elbv2/v1beta1"
	"github.com/rolloutlab/rolloutlab/fakes/kube"
)

// Admission is the LBC's pod mutating webhook (mpod.elbv2.k8s.aws): a pod being created gets a
// readiness gate target-health.elbv2.k8s.aws/<binding> for every ip binding whose Service
// selects it. Only creation: a pod created before the binding, or whose labels a Service
// selects only later (a blue-green switch), never gets the gate (Argo #1283). Its failure
// policy is Ignore, so while the controller is down pods are created without gates.
func (c *Controller) Admission() kube.Admission {
	return func(op string, gvr schema.GroupVersionResource, obj runtime.Object) error {
		if op != "create" || gvr != kube.Pods || c.down || !c.cfg.ReadinessGateInjection {
			return nil
		}
		pod, ok := obj.(*corev1.Pod)
		if !ok {
			return nil
		}
		var added []string
		for _, o := range c.store.PeekList(tgbv1.Resource, pod.Namespace) {
			b := o.(*tgbv1.TargetGroupBinding)
			if b.Spec.TargetType == nil || *b.Spec.TargetType != tgbv1.TargetTypeIP {
				continue
			}
			svc := c.service(b.Namespace, b.Spec.ServiceRef.Name)
			if svc == nil || len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(pod.Labels)) {
				continue
			}
			gate := corev1.PodConditionType(gateType(b.Name))
			if !hasGate(pod, gate) {
				pod.Spec.ReadinessGates = append(pod.Spec.ReadinessGates, corev1.PodReadinessGate{ConditionType: gate})
				added = append(added, string(gate))
			}
		}
		if len(added) > 0 {
			c.stats.GatesInjected++
			c.emit(Event{Kind: EventGateInjected, Object: pod.Namespace + "/" + pod.Name, Message: strings.Join(added, ", ")})
		}
		return nil
	}
}
