package client

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

var (
	// Scheme knows the built-in Kubernetes types and argoproj.io/v1alpha1, so one scheme serves
	// the Rollout client, fake object trackers and event recorders alike.
	Scheme = runtime.NewScheme()
	// Codecs serializes the types of Scheme.
	Codecs = serializer.NewCodecFactory(Scheme)
	// ParameterCodec encodes list/get/delete options as URL query parameters.
	ParameterCodec = runtime.NewParameterCodec(Scheme)
)

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(Scheme))
	utilruntime.Must(v1alpha1.AddToScheme(Scheme))
	// Unversioned meta types (Status, WatchEvent...) as the API server sends them.
	metav1.AddToGroupVersion(Scheme, schema.GroupVersion{Version: "v1"})
}
