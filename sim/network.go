package sim

import (
	"math/rand/v2"

	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	corev1 "k8s.io/api/core/v1"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/fakes/kube"
)

// Network is the pod network as a load balancer reaches it: an IP leads to the pod that holds
// it now (if any), and that pod answers when its containers are ready. A terminating pod keeps
// answering until its containers exit; after that the IP leads nowhere (502), or to whichever
// pod was given it next.
type Network struct {
	Store *kube.Store
	IPAM  *kube.IPAM
	// Faults are the misbehaving images; Rand draws their errors.
	Faults map[string]AppFault
	Rand   *rand.Rand
}

func (n Network) pod(ip string) *corev1.Pod {
	owner, ok := n.IPAM.Owner(ip)
	if !ok {
		return nil
	}
	o, ok := n.Store.Peek(kube.Pods, owner.Namespace, owner.Name)
	if !ok {
		return nil
	}
	return o.(*corev1.Pod)
}

func listening(pod *corev1.Pod) bool {
	if pod == nil || pod.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.ContainersReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// HealthCheck is one load-balancer health check of ip:port.
func (n Network) HealthCheck(ip string, port int32) bool { return listening(n.pod(ip)) }

// Probe is a health check that says why it failed.
func (n Network) Probe(ip string, port int32) (bool, types.TargetHealthReasonEnum) {
	pod := n.pod(ip)
	switch {
	case pod == nil:
		return false, types.TargetHealthReasonEnumTimeout
	case !listening(pod):
		return false, types.TargetHealthReasonEnumFailedHealthChecks
	}
	return true, ""
}

// Serve sends one request to ip:port: 200 and the pod-template hash of the version that answered,
// or 502 when nothing listens there.
func (n Network) Serve(ip string, port int32) (int, string) {
	pod := n.pod(ip)
	if !listening(pod) {
		return 502, ""
	}
	version := pod.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
	for _, c := range pod.Spec.Containers {
		if f, ok := n.Faults[c.Image]; ok && f.ErrorRate.Happens(n.Rand) {
			return 500, version
		}
	}
	return 200, version
}
