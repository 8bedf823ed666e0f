package fakeaws

import (
	"net/http"

	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	corev1 "k8s.io/api/core/v1"

	"github.com/rolloutlab/rolloutlab/fakes/kube"
)

// podNetwork is the pod network as the fake load balancer reaches it: an IP leads to the
// mirrored pod with that status.podIP. Pods are fake, so a pod "listens" when it is running
// with its containers ready and not terminating. ContainersReady, not Ready: a readiness gate
// keeps Ready false until the load balancer's health check passes, so the check cannot wait
// for Ready.
type podNetwork struct{ store *kube.Store }

// pod returns the pod holding ip, preferring one that is not terminating (its IP may already
// be given to a new pod), or nil.
func (n podNetwork) pod(ip string) *corev1.Pod {
	var found *corev1.Pod
	for _, o := range n.store.PeekList(kube.Pods, "") {
		if p := o.(*corev1.Pod); p.Status.PodIP == ip && (found == nil || p.DeletionTimestamp == nil) {
			found = p
		}
	}
	return found
}

func listening(p *corev1.Pod) bool {
	if p == nil || p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.ContainersReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// HealthCheck is one load balancer health check of ip:port.
func (n podNetwork) HealthCheck(ip string, _ int32) bool { return listening(n.pod(ip)) }

// Probe is a health check that says why it failed: no pod there times out.
func (n podNetwork) Probe(ip string, _ int32) (bool, types.TargetHealthReasonEnum) {
	switch p := n.pod(ip); {
	case p == nil:
		return false, types.TargetHealthReasonEnumTimeout
	case !listening(p):
		return false, types.TargetHealthReasonEnumFailedHealthChecks
	}
	return true, ""
}

// Serve answers one request: 200 and the first container's image as the version, or 502 when
// nothing listens at ip.
func (n podNetwork) Serve(ip string, _ int32) (int, string) {
	p := n.pod(ip)
	if !listening(p) || len(p.Spec.Containers) == 0 {
		return http.StatusBadGateway, ""
	}
	return http.StatusOK, p.Spec.Containers[0].Image
}
