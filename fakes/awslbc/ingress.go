package awslbc

import (
	"strings"
	"time"

	elbv2sdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	networkingv1 "k8s.io/api/networking/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"

	"github.com/rolloutlab/rolloutlab/fakes/kube"
)

// ingressRun is one Ingress reconcile: the stack asked for, what AWS has of it, and what the
// reconcile changed.
type ingressRun struct {
	c        *Controller
	spec     stackSpec
	resIDs   map[string]string // target group name → resource ID, for the trace
	lb       *types.LoadBalancer
	listener *types.Listener
	rules    []types.Rule                 // the listener's non-default rules
	tgs      map[string]types.TargetGroup // this stack's groups in AWS, by name
	arns     map[string]string            // target group name → ARN
	changes  []string
}

// syncIngress reconciles one Ingress: deploys its stack, or deletes the stack of an Ingress
// that is gone or no longer of the controller's class.
func (c *Controller) syncIngress(key k8stypes.NamespacedName) (time.Duration, error) {
	c.stats.IngressReconciles++
	var ing *networkingv1.Ingress
	if o, ok := c.store.Peek(kube.Ingresses, key.Namespace, key.Name); ok && c.handles(o.(*networkingv1.Ingress)) {
		ing = o.(*networkingv1.Ingress)
	}
	if ing == nil {
		if !c.stacks[key] {
			return 0, nil
		}
		if err := c.deleteStack(key); err != nil {
			return 0, err
		}
		delete(c.stacks, key)
		c.emit(Event{Kind: EventReconciled, Object: key.String(), Message: "stack deleted"})
		return 0, nil
	}
	spec, err := buildStack(c.cfg, ing, c.service)
	if err != nil {
		return 0, err
	}
	c.stacks[key] = true
	r := &ingressRun{c: c, spec: spec, resIDs: map[string]string{}, arns: map[string]string{}}
	for _, tg := range spec.tgs {
		r.resIDs[tg.name] = tg.resID
	}
	if err := r.deploy(ing); err != nil {
		return 0, err
	}
	msg := "up to date"
	if len(r.changes) > 0 {
		msg = strings.Join(r.changes, "; ")
	}
	c.emit(Event{Kind: EventReconciled, Object: key.String(), Message: msg})
	return 0, nil
}

// deploy applies the stack in the LBC's order: target groups, load balancer, listener, rules,
// then bindings; what is no longer wanted goes in reverse (bindings, then target groups, after
// the rules stopped using them). TargetsBeforeRules moves the bindings, with their targets,
// ahead of the load balancer.
func (r *ingressRun) deploy(ing *networkingv1.Ingress) error {
	steps := []func() error{r.observe, r.ensureTargetGroups}
	if r.c.cfg.TargetsBeforeRules {
		steps = append(steps, func() error { return r.ensureBindings(true) })
	}
	steps = append(steps, r.ensureLoadBalancer, r.ensureListener, r.ensureRules)
	if !r.c.cfg.TargetsBeforeRules {
		steps = append(steps, func() error { return r.ensureBindings(false) })
	}
	steps = append(steps, r.deleteUnusedBindings, r.deleteUnusedTargetGroups, func() error { return r.c.writeHostname(ing, r.lb) })
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// observe reads what AWS has of the stack: the load balancer by name, the target groups by
// tag, the HTTP:80 listener and its rules.
func (r *ingressRun) observe() error {
	lb, err := r.c.findLoadBalancer(r.spec.lbName)
	if err != nil {
		return err
	}
	r.lb = lb
	tgs, err := r.c.stackTargetGroups(r.spec.id)
	if err != nil {
		return err
	}
	r.tgs = map[string]types.TargetGroup{}
	for _, tg := range tgs {
		r.tgs[*tg.TargetGroupName] = tg
	}
	if lb == nil {
		return nil
	}
	r.listener, err = r.c.findListener(*lb.LoadBalancerArn, listenerPort)
	if err != nil || r.listener == nil {
		return err
	}
	r.rules, err = r.c.listRules(*r.listener.ListenerArn)
	return err
}

func (r *ingressRun) change(e Event, what string) {
	e.Object = r.spec.id.String()
	if e.Message == "" {
		e.Message = what
	}
	r.changes = append(r.changes, what)
	r.c.emit(e)
}

// writeHostname publishes the load balancer's DNS name in the Ingress status.
func (c *Controller) writeHostname(ing *networkingv1.Ingress, lb *types.LoadBalancer) error {
	if lb == nil || lb.DNSName == nil {
		return nil
	}
	host := *lb.DNSName
	if st := ing.Status.LoadBalancer.Ingress; len(st) == 1 && st[0].Hostname == host {
		return nil
	}
	next := ing.DeepCopy()
	next.ResourceVersion = ""
	next.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{Hostname: host}}
	_, err := c.store.Update(kube.Ingresses, ing.Namespace, next, "status")
	return err
}

// deleteStack removes what an Ingress had: bindings, load balancer (with its listeners and
// rules), then target groups.
func (c *Controller) deleteStack(id k8stypes.NamespacedName) error {
	if err := c.deleteBindings(id, nil); err != nil {
		return err
	}
	lb, err := c.findLoadBalancer(loadBalancerName(c.cfg.ClusterName, id))
	if err != nil {
		return err
	}
	if lb != nil {
		if _, err := call(c, "DeleteLoadBalancer", c.api.DeleteLoadBalancer, &elbv2sdk.DeleteLoadBalancerInput{LoadBalancerArn: lb.LoadBalancerArn}); err != nil {
			return err
		}
		c.emit(Event{Kind: EventDeleted, Object: id.String(), Resource: *lb.LoadBalancerArn, Message: "load balancer"})
	}
	tgs, err := c.stackTargetGroups(id)
	if err != nil {
		return err
	}
	for _, tg := range tgs {
		if err := c.deleteTargetGroup(id, tg); err != nil {
			return err
		}
	}
	return nil
}
