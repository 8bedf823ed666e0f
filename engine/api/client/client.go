// Package client is a typed client for argoproj.io/v1alpha1 Rollouts, built on client-go's
// generic gentype clients: the same API a client-gen clientset would expose, without the
// generated code.
package client

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/gentype"
	"k8s.io/client-go/rest"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// Interface gives access to Rollouts in a namespace.
type Interface interface {
	Rollouts(namespace string) RolloutInterface
}

// RolloutInterface has the methods of a generated typed client for Rollouts.
type RolloutInterface interface {
	Create(ctx context.Context, rollout *v1alpha1.Rollout, opts metav1.CreateOptions) (*v1alpha1.Rollout, error)
	Update(ctx context.Context, rollout *v1alpha1.Rollout, opts metav1.UpdateOptions) (*v1alpha1.Rollout, error)
	// UpdateStatus writes only the status subresource.
	UpdateStatus(ctx context.Context, rollout *v1alpha1.Rollout, opts metav1.UpdateOptions) (*v1alpha1.Rollout, error)
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
	DeleteCollection(ctx context.Context, opts metav1.DeleteOptions, listOpts metav1.ListOptions) error
	Get(ctx context.Context, name string, opts metav1.GetOptions) (*v1alpha1.Rollout, error)
	List(ctx context.Context, opts metav1.ListOptions) (*v1alpha1.RolloutList, error)
	Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)
	Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, subresources ...string) (*v1alpha1.Rollout, error)
}

// Both the real and the fake gentype clients satisfy RolloutInterface.
var (
	_ RolloutInterface = (*gentype.ClientWithList[*v1alpha1.Rollout, *v1alpha1.RolloutList])(nil)
	_ RolloutInterface = (*gentype.FakeClientWithList[*v1alpha1.Rollout, *v1alpha1.RolloutList])(nil)
)

type restClientset struct {
	rest rest.Interface
}

// NewForConfig returns a client for the argoproj.io/v1alpha1 API of the cluster c points at.
// c is not modified.
func NewForConfig(c *rest.Config) (Interface, error) {
	config := *c
	gv := v1alpha1.SchemeGroupVersion
	config.GroupVersion = &gv
	config.APIPath = "/apis"
	config.NegotiatedSerializer = Codecs.WithoutConversion()
	if config.UserAgent == "" {
		config.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	rc, err := rest.RESTClientFor(&config)
	if err != nil {
		return nil, err
	}
	return New(rc), nil
}

// New wraps a REST client already configured for argoproj.io/v1alpha1.
func New(rc rest.Interface) Interface {
	return &restClientset{rest: rc}
}

func (c *restClientset) Rollouts(namespace string) RolloutInterface {
	return gentype.NewClientWithList[*v1alpha1.Rollout, *v1alpha1.RolloutList](
		v1alpha1.RolloutGVR.Resource, c.rest, ParameterCodec, namespace,
		func() *v1alpha1.Rollout { return &v1alpha1.Rollout{} },
		func() *v1alpha1.RolloutList { return &v1alpha1.RolloutList{} },
	)
}
