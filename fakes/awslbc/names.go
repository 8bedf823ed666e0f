package awslbc

import (
	tgbv1 "github.com/rolloutlab/rolloutlab/engine/api/elbv2/v1beta1"
	"github.com/rolloutlab/rolloutlab/fakes/elbv2"
	"github.com/rolloutlab/rolloutlab/fakes/kube"
)

// ServiceNames names target groups the way people read them: by the Service their
// TargetGroupBinding serves ("namespace/name"). A name once found is kept, so a group keeps it
// after its binding is gone; a group with no binding yet goes by its own name, else its ARN.
type ServiceNames struct {
	store *kube.Store
	known map[string]string
}

func NewServiceNames(store *kube.Store) *ServiceNames {
	return &ServiceNames{store: store, known: map[string]string{}}
}

// Known is the name found for arn before, if any.
func (n *ServiceNames) Known(arn string) (string, bool) {
	name, ok := n.known[arn]
	return name, ok
}

// Of names the target group arn of the snapshot s.
func (n *ServiceNames) Of(arn string, s elbv2.Snapshot) string {
	if name, ok := n.known[arn]; ok {
		return name
	}
	for _, o := range n.store.PeekList(tgbv1.Resource, "") {
		if b := o.(*tgbv1.TargetGroupBinding); b.Spec.TargetGroupARN == arn {
			n.known[arn] = b.Namespace + "/" + b.Spec.ServiceRef.Name
			return n.known[arn]
		}
	}
	for _, g := range s.TargetGroups {
		if g.ARN == arn {
			return g.Name // not remembered: the binding may come later
		}
	}
	return arn
}

// In returns Of bound to the snapshot s.
func (n *ServiceNames) In(s elbv2.Snapshot) func(arn string) string {
	return func(arn string) string { return n.Of(arn, s) }
}
