package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// GroupName is the API group of the AWS Load Balancer Controller.
const GroupName = "elbv2.k8s.aws"

// SchemeGroupVersion is elbv2.k8s.aws/v1beta1, the version Argo Rollouts reads by default.
var SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1beta1"}

// Resource is the TargetGroupBinding resource.
var Resource = SchemeGroupVersion.WithResource("targetgroupbindings")

// Target types of a binding.
const (
	TargetTypeIP       = "ip"
	TargetTypeInstance = "instance"
)

// TargetGroupBinding ties a Service port to a target group: the controller registers the
// Service's endpoints in it.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type TargetGroupBinding struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              TargetGroupBindingSpec   `json:"spec"`
	Status            TargetGroupBindingStatus `json:"status,omitempty"`
}

// TargetGroupBindingSpec says which target group and which Service port.
type TargetGroupBindingSpec struct {
	TargetGroupARN string           `json:"targetGroupARN"`
	TargetType     *string          `json:"targetType,omitempty"`
	ServiceRef     ServiceReference `json:"serviceRef"`
}

// ServiceReference names a Service port by number or name.
type ServiceReference struct {
	Name string             `json:"name"`
	Port intstr.IntOrString `json:"port"`
}

// TargetGroupBindingStatus is the binding's observed state.
type TargetGroupBindingStatus struct {
	ObservedGeneration *int64 `json:"observedGeneration,omitempty"`
}

// TargetGroupBindingList is a list of bindings.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type TargetGroupBindingList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TargetGroupBinding `json:"items"`
}

// AddToScheme registers the kinds.
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(SchemeGroupVersion, &TargetGroupBinding{}, &TargetGroupBindingList{})
	metav1.AddToGroupVersion(s, SchemeGroupVersion)
	return nil
}
