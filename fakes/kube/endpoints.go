package kube

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
)

// EndpointsController publishes, for every Service with a selector, the pods it selects: one
// EndpointSlice (label kubernetes.io/service-name) and the legacy Endpoints object (which Argo's
// target-group verification reads). Terminating pods stay in the slice, not ready, marked terminating.
type EndpointsController struct {
	store *Store
	sched Scheduler
	dirty map[types.NamespacedName]bool
	timer Timer
}

// NewEndpointsController returns the controller; feed it changes with OnChange.
func NewEndpointsController(store *Store, sched Scheduler) *EndpointsController {
	return &EndpointsController{store: store, sched: sched, dirty: map[types.NamespacedName]bool{}}
}

// OnChange queues the Services a change may concern.
func (c *EndpointsController) OnChange(ch Change) {
	switch ch.GVR {
	case Services:
		c.enqueue(ch.Key())
	case Pods:
		for _, o := range c.store.PeekList(Services, ch.Object.(*corev1.Pod).Namespace) {
			svc := o.(*corev1.Service)
			c.enqueue(types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name})
		}
	}
	if ch.GVR == Services && ch.Type == watch.Deleted {
		key := ch.Key()
		_ = c.store.Remove(Endpoints, key.Namespace, key.Name)
		_ = c.store.Remove(EndpointSlices, key.Namespace, sliceName(key.Name))
	}
}

func (c *EndpointsController) enqueue(key types.NamespacedName) {
	c.dirty[key] = true
	if c.timer == nil {
		c.timer = c.sched.After(0, "endpoints/sync", "", c.syncDirty)
	}
}

func (c *EndpointsController) syncDirty() {
	c.timer = nil
	keys := make([]types.NamespacedName, 0, len(c.dirty))
	for k := range c.dirty {
		keys = append(keys, k)
	}
	c.dirty = map[types.NamespacedName]bool{}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	for _, k := range keys {
		c.sync(k)
	}
}

func sliceName(svc string) string { return svc + "-sim" }

func (c *EndpointsController) sync(key types.NamespacedName) {
	o, ok := c.store.Peek(Services, key.Namespace, key.Name)
	if !ok {
		return
	}
	svc := o.(*corev1.Service)
	if len(svc.Spec.Selector) == 0 {
		return
	}
	sel := labels.SelectorFromSet(svc.Spec.Selector)
	var eps []discoveryv1.Endpoint
	var ready, notReady []corev1.EndpointAddress
	for _, po := range c.store.PeekList(Pods, svc.Namespace) {
		pod := po.(*corev1.Pod)
		if pod.Status.PodIP == "" || !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		isReady := conditionTrue(pod, corev1.PodReady)
		terminating := pod.DeletionTimestamp != nil
		servesNow := isReady && !terminating
		node := pod.Spec.NodeName
		eps = append(eps, discoveryv1.Endpoint{
			Addresses: []string{pod.Status.PodIP},
			Conditions: discoveryv1.EndpointConditions{
				Ready: &servesNow, Serving: &isReady, Terminating: &terminating,
			},
			NodeName:  &node,
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		})
		addr := corev1.EndpointAddress{IP: pod.Status.PodIP, NodeName: &node,
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID}}
		switch {
		case servesNow:
			ready = append(ready, addr)
		case !terminating: // the legacy Endpoints object drops terminating pods altogether
			notReady = append(notReady, addr)
		}
	}
	var ports []discoveryv1.EndpointPort
	var legacyPorts []corev1.EndpointPort
	for _, p := range svc.Spec.Ports {
		name, proto, port := p.Name, p.Protocol, p.TargetPort.IntVal
		if port == 0 {
			port = p.Port // named target ports resolve per pod; the model uses the service port
		}
		ports = append(ports, discoveryv1.EndpointPort{Name: &name, Protocol: &proto, Port: &port})
		legacyPorts = append(legacyPorts, corev1.EndpointPort{Name: name, Protocol: proto, Port: port})
	}
	c.writeSlice(svc, eps, ports)
	var subsets []corev1.EndpointSubset
	if len(ready)+len(notReady) > 0 {
		subsets = []corev1.EndpointSubset{{Addresses: ready, NotReadyAddresses: notReady, Ports: legacyPorts}}
	}
	c.writeEndpoints(svc, subsets)
}

func (c *EndpointsController) writeSlice(svc *corev1.Service, eps []discoveryv1.Endpoint, ports []discoveryv1.EndpointPort) {
	want := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Name: sliceName(svc.Name), Namespace: svc.Namespace,
			Labels:          map[string]string{discoveryv1.LabelServiceName: svc.Name, discoveryv1.LabelManagedBy: "endpointslice-controller.k8s.io"},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(svc, corev1.SchemeGroupVersion.WithKind("Service"))},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   eps,
		Ports:       ports,
	}
	cur, ok := c.store.Peek(EndpointSlices, svc.Namespace, want.Name)
	if !ok {
		_, _ = c.store.Create(EndpointSlices, svc.Namespace, want)
		return
	}
	old := cur.(*discoveryv1.EndpointSlice)
	if apiequality.Semantic.DeepEqual(old.Endpoints, want.Endpoints) && apiequality.Semantic.DeepEqual(old.Ports, want.Ports) {
		return
	}
	_, _ = c.store.Update(EndpointSlices, svc.Namespace, want, "")
}

func (c *EndpointsController) writeEndpoints(svc *corev1.Service, subsets []corev1.EndpointSubset) {
	want := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: svc.Name, Namespace: svc.Namespace}, Subsets: subsets}
	cur, ok := c.store.Peek(Endpoints, svc.Namespace, svc.Name)
	if !ok {
		_, _ = c.store.Create(Endpoints, svc.Namespace, want)
		return
	}
	if apiequality.Semantic.DeepEqual(cur.(*corev1.Endpoints).Subsets, want.Subsets) {
		return
	}
	_, _ = c.store.Update(Endpoints, svc.Namespace, want, "")
}
