package v1alpha1

import "k8s.io/apimachinery/pkg/runtime"

// RolloutTrafficRouting configures the mesh or ingress that splits canary traffic by weight.
//
// rolloutlab implements Istio, AWS ALB and Apache APISIX. The other routers Argo knows are kept as
// opaque JSON so that a manifest using them decodes and then fails validation with a clear
// "not supported" message instead of an unknown-field decode error.
type RolloutTrafficRouting struct {
	Istio  *IstioTrafficRouting  `json:"istio,omitempty"`
	ALB    *ALBTrafficRouting    `json:"alb,omitempty"`
	Apisix *ApisixTrafficRouting `json:"apisix,omitempty"`

	// Nginx is not supported by rolloutlab; kept opaque.
	Nginx *runtime.RawExtension `json:"nginx,omitempty"`
	// SMI is not supported by rolloutlab; kept opaque.
	SMI *runtime.RawExtension `json:"smi,omitempty"`
	// Ambassador is not supported by rolloutlab; kept opaque.
	Ambassador *runtime.RawExtension `json:"ambassador,omitempty"`
	// AppMesh is not supported by rolloutlab; kept opaque.
	AppMesh *runtime.RawExtension `json:"appMesh,omitempty"`
	// Traefik is not supported by rolloutlab; kept opaque.
	Traefik *runtime.RawExtension `json:"traefik,omitempty"`
	// Plugins (traffic router plugins, keyed by plugin name) are not supported by rolloutlab; kept opaque.
	Plugins *runtime.RawExtension `json:"plugins,omitempty"`

	// ManagedRoutes lists the routes that setHeaderRoute/setMirrorRoute steps may create, in
	// precedence order. rolloutlab removes them when an update ends or aborts.
	ManagedRoutes []ManagedRoute `json:"managedRoutes,omitempty"`
	// MaxTrafficWeight is the total weight setWeight is a share of; nil means 100.
	MaxTrafficWeight *int32 `json:"maxTrafficWeight,omitempty"`
}

// ManagedRoute names one route that rolloutlab may create and must clean up.
type ManagedRoute struct {
	Name string `json:"name"`
}

// IstioTrafficRouting splits traffic with Istio VirtualServices: across two Services (host-level)
// or, with DestinationRule, across two subsets of one Service (subset-level).
type IstioTrafficRouting struct {
	// VirtualService and VirtualServices are mutually exclusive; exactly one is required.
	VirtualService  *IstioVirtualService  `json:"virtualService,omitempty"`
	DestinationRule *IstioDestinationRule `json:"destinationRule,omitempty"`
	VirtualServices []IstioVirtualService `json:"virtualServices,omitempty"`
}

// IstioVirtualService names a VirtualService and the routes in it whose weights are managed. An
// empty route list means the VirtualService must hold a single route of that kind.
type IstioVirtualService struct {
	Name      string     `json:"name"`
	Routes    []string   `json:"routes,omitempty"`
	TLSRoutes []TLSRoute `json:"tlsRoutes,omitempty"`
	TCPRoutes []TCPRoute `json:"tcpRoutes,omitempty"`
}

// TLSRoute selects TLS routes by port and/or SNI hosts.
type TLSRoute struct {
	Port     int64    `json:"port,omitempty"`
	SNIHosts []string `json:"sniHosts,omitempty"`
}

// TCPRoute selects TCP routes by port.
type TCPRoute struct {
	Port int64 `json:"port,omitempty"`
}

// IstioDestinationRule names the DestinationRule whose subsets get the canary and stable
// pod-template-hash labels.
type IstioDestinationRule struct {
	Name             string `json:"name"`
	CanarySubsetName string `json:"canarySubsetName"`
	StableSubsetName string `json:"stableSubsetName"`
	// AdditionalSubsetNames are subsets whose weight is taken from the stable share.
	AdditionalSubsetNames []string `json:"additionalSubsetNames,omitempty"`
}

// ALBTrafficRouting splits traffic with the AWS Load Balancer Controller's Ingress actions.
type ALBTrafficRouting struct {
	// Ingress and Ingresses are mutually exclusive; exactly one is required.
	Ingress string `json:"ingress,omitempty"`
	// ServicePort is the Service port the Ingress action forwards to.
	ServicePort int32 `json:"servicePort"`
	// RootService is the Service the Ingress rule targets; defaults to stableService, required
	// with ping-pong.
	RootService string `json:"rootService,omitempty"`
	// AnnotationPrefix of the load balancer controller (default alb.ingress.kubernetes.io).
	AnnotationPrefix string `json:"annotationPrefix,omitempty"`
	// StickinessConfig enables target-group stickiness on the forward action.
	StickinessConfig *StickinessConfig `json:"stickinessConfig,omitempty"`
	Ingresses        []string          `json:"ingresses,omitempty"`
}

// StickinessConfig is ALB target-group stickiness.
type StickinessConfig struct {
	Enabled         bool  `json:"enabled"`
	DurationSeconds int64 `json:"durationSeconds"`
}

// ApisixTrafficRouting splits traffic with an APISIX ApisixRoute.
type ApisixTrafficRouting struct {
	Route *ApisixRoute `json:"route,omitempty"`
}

// ApisixRoute names the ApisixRoute and the HTTP rules in it whose backend weights are managed.
type ApisixRoute struct {
	Name  string   `json:"name"`
	Rules []string `json:"rules,omitempty"`
}
