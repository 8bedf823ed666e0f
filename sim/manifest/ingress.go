package manifest

import (
	extv1beta1 "k8s.io/api/extensions/v1beta1"
	networkingv1 "k8s.io/api/networking/v1"
	netv1beta1 "k8s.io/api/networking/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Older guides (the ALB one among them) write Ingresses as networking.k8s.io/v1beta1 or
// extensions/v1beta1, which API servers stopped serving in Kubernetes 1.22. The loader converts
// them to networking.k8s.io/v1, as `kubectl convert` would, so the guides load unchanged.

// upgradeIngress returns the networking/v1 form of a v1beta1 Ingress, or obj unchanged.
func upgradeIngress(obj runtime.Object) runtime.Object {
	switch in := obj.(type) {
	case *netv1beta1.Ingress:
		return convertIngress(*in.ObjectMeta.DeepCopy(), in.Spec.IngressClassName, backend(in.Spec.Backend), in.Spec.TLS, in.Spec.Rules)
	case *extv1beta1.Ingress:
		// extensions/v1beta1 has the same shape in another package: copy it into networking/v1beta1.
		spec := netv1beta1.IngressSpec{IngressClassName: in.Spec.IngressClassName}
		if b := in.Spec.Backend; b != nil {
			spec.Backend = &netv1beta1.IngressBackend{ServiceName: b.ServiceName, ServicePort: b.ServicePort, Resource: b.Resource}
		}
		for _, t := range in.Spec.TLS {
			spec.TLS = append(spec.TLS, netv1beta1.IngressTLS{Hosts: t.Hosts, SecretName: t.SecretName})
		}
		for _, r := range in.Spec.Rules {
			rule := netv1beta1.IngressRule{Host: r.Host}
			if r.HTTP != nil {
				rule.HTTP = &netv1beta1.HTTPIngressRuleValue{}
				for _, p := range r.HTTP.Paths {
					rule.HTTP.Paths = append(rule.HTTP.Paths, netv1beta1.HTTPIngressPath{Path: p.Path,
						PathType: (*netv1beta1.PathType)(p.PathType),
						Backend:  netv1beta1.IngressBackend{ServiceName: p.Backend.ServiceName, ServicePort: p.Backend.ServicePort, Resource: p.Backend.Resource}})
				}
			}
			spec.Rules = append(spec.Rules, rule)
		}
		return convertIngress(*in.ObjectMeta.DeepCopy(), spec.IngressClassName, backend(spec.Backend), spec.TLS, spec.Rules)
	}
	return obj
}

func convertIngress(meta metav1.ObjectMeta, class *string, def *networkingv1.IngressBackend, tls []netv1beta1.IngressTLS, rules []netv1beta1.IngressRule) *networkingv1.Ingress {
	out := &networkingv1.Ingress{ObjectMeta: meta}
	out.SetGroupVersionKind(networkingv1.SchemeGroupVersion.WithKind("Ingress"))
	out.Spec.IngressClassName = class
	out.Spec.DefaultBackend = def
	for _, t := range tls {
		out.Spec.TLS = append(out.Spec.TLS, networkingv1.IngressTLS{Hosts: t.Hosts, SecretName: t.SecretName})
	}
	for _, r := range rules {
		rule := networkingv1.IngressRule{Host: r.Host}
		if r.HTTP != nil {
			rule.HTTP = &networkingv1.HTTPIngressRuleValue{}
			for _, p := range r.HTTP.Paths {
				pt := networkingv1.PathTypeImplementationSpecific
				if p.PathType != nil {
					pt = networkingv1.PathType(*p.PathType)
				}
				b := backend(&p.Backend)
				rule.HTTP.Paths = append(rule.HTTP.Paths, networkingv1.HTTPIngressPath{Path: p.Path, PathType: &pt, Backend: *b})
			}
		}
		out.Spec.Rules = append(out.Spec.Rules, rule)
	}
	return out
}

func backend(b *netv1beta1.IngressBackend) *networkingv1.IngressBackend {
	if b == nil {
		return nil
	}
	out := &networkingv1.IngressBackend{Resource: b.Resource}
	if b.ServiceName != "" {
		port := networkingv1.ServiceBackendPort{}
		if b.ServicePort.Type == intstr.String {
			port.Name = b.ServicePort.StrVal
		} else {
			port.Number = b.ServicePort.IntVal
		}
		out.Service = &networkingv1.IngressServiceBackend{Name: b.ServiceName, Port: port}
	}
	return out
}
