package client

import (
	"k8s.io/client-go/gentype"
	k8stesting "k8s.io/client-go/testing"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

type fakeClientset struct {
	fake *k8stesting.Fake
}

// NewFake returns a client whose calls are recorded as actions on f and answered by f's reactors.
// Whoever owns f decides what answers: typically an ObjectReaction over an object tracker shared
// with a fake Kubernetes clientset, so Rollouts and ReplicaSets live in one store.
func NewFake(f *k8stesting.Fake) Interface {
	return &fakeClientset{fake: f}
}

func (c *fakeClientset) Rollouts(namespace string) RolloutInterface {
	return gentype.NewFakeClientWithList[*v1alpha1.Rollout, *v1alpha1.RolloutList](
		c.fake, namespace, v1alpha1.RolloutGVR, v1alpha1.RolloutGVK,
		func() *v1alpha1.Rollout { return &v1alpha1.Rollout{} },
		func() *v1alpha1.RolloutList { return &v1alpha1.RolloutList{} },
		func(dst, src *v1alpha1.RolloutList) { dst.ListMeta = src.ListMeta },
		func(list *v1alpha1.RolloutList) []*v1alpha1.Rollout { return gentype.ToPointerSlice(list.Items) },
		func(list *v1alpha1.RolloutList, items []*v1alpha1.Rollout) {
			list.Items = gentype.FromPointerSlice(items)
		},
	)
}
