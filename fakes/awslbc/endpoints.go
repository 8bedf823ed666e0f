package awslbc

import (
	"net/netip"
	"sort"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/rolloutlab/rolloutlab/fakes/kube"
)

// endpoint is a pod address a target group should hold.
type endpoint struct {
	ip   string
	port int32
	pod  *corev1.Pod
}

func (e endpoint) key() string { return e.ip + ":" + strconv.Itoa(int(e.port)) }

// resolveEndpoints lists the endpoints of a Service port the LBC registers, from the
// EndpointSlices, as its endpoint resolver does: ready endpoints, plus not-ready ones whose
// containers are ready on a ready node and that are not terminating (the pods a readiness gate
// holds back). potential reports endpoints that may qualify later without a slice change (a
// gated pod whose containers are not ready yet, or a pod not seen yet): the caller requeues.
func (c *Controller) resolveEndpoints(svc *corev1.Service, sp *corev1.ServicePort, gate corev1.PodConditionType) (eps []endpoint, potential bool) {
	seen := map[string]bool{}
	for _, o := range c.store.PeekList(kube.EndpointSlices, svc.Namespace) {
		slice := o.(*discoveryv1.EndpointSlice)
		if slice.Labels[discoveryv1.LabelServiceName] != svc.Name {
			continue
		}
		for _, port := range slice.Ports {
			if sp.Name != "" && (port.Name == nil || *port.Name != sp.Name) || port.Port == nil {
				continue
			}
			for _, ep := range slice.Endpoints {
				e, ok, maybe := c.resolveEndpoint(svc.Namespace, ep, *port.Port, gate)
				potential = potential || maybe
				if ok && !seen[e.key()] {
					seen[e.key()] = true
					eps = append(eps, e)
				}
			}
		}
	}
	sort.Slice(eps, func(i, j int) bool { return lessAddr(eps[i], eps[j]) })
	return eps, potential
}

func (c *Controller) resolveEndpoint(ns string, ep discoveryv1.Endpoint, port int32, gate corev1.PodConditionType) (e endpoint, ok, potential bool) {
	if ep.TargetRef == nil || ep.TargetRef.Kind != "Pod" || len(ep.Addresses) == 0 {
		return endpoint{}, false, false
	}
	o, found := c.store.Peek(kube.Pods, ns, ep.TargetRef.Name)
	if !found {
		return endpoint{}, false, true
	}
	pod := o.(*corev1.Pod)
	e = endpoint{ip: ep.Addresses[0], port: port, pod: pod}
	if ep.Conditions.Ready != nil && *ep.Conditions.Ready {
		return e, true, false
	}
	if !podCondition(pod, corev1.ContainersReady) {
		return endpoint{}, false, hasGate(pod, gate)
	}
	if ep.Conditions.Terminating != nil && *ep.Conditions.Terminating || !c.nodeReady(pod.Spec.NodeName) {
		return endpoint{}, false, false
	}
	return e, true, false
}

func (c *Controller) nodeReady(name string) bool {
	o, ok := c.store.Peek(kube.Nodes, "", name)
	if !ok {
		return false
	}
	for _, cond := range o.(*corev1.Node).Status.Conditions {
		if cond.Type == corev1.NodeReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

// lessAddr orders endpoints by address, numerically, then port.
func lessAddr(a, b endpoint) bool {
	if a.ip != b.ip {
		x, errX := netip.ParseAddr(a.ip)
		y, errY := netip.ParseAddr(b.ip)
		if errX == nil && errY == nil {
			return x.Less(y)
		}
		return a.ip < b.ip
	}
	return a.port < b.port
}

func podCondition(pod *corev1.Pod, t corev1.PodConditionType) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func hasGate(pod *corev1.Pod, gate corev1.PodConditionType) bool {
	for _, g := range pod.Spec.ReadinessGates {
		if g.ConditionType == gate {
			return true
		}
	}
	return false
}
