package awslbc

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2sdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	k8stypes "k8s.io/apimachinery/pkg/types"
)

// listenerPort is the one listener modelled: HTTP:80, the LBC's default listen-ports.
const listenerPort = 80

// stackTags are the tags the LBC puts on a stack's load balancer and target groups.
func (c *Controller) stackTags(id k8stypes.NamespacedName, extra ...types.Tag) []types.Tag {
	return append([]types.Tag{
		{Key: aws.String(tagCluster), Value: aws.String(c.cfg.ClusterName)},
		{Key: aws.String(tagStack), Value: aws.String(id.String())},
	}, extra...)
}

// findLoadBalancer looks a load balancer up by name; nil when there is none.
func (c *Controller) findLoadBalancer(name string) (*types.LoadBalancer, error) {
	out, err := call(c, "DescribeLoadBalancers", c.api.DescribeLoadBalancers, &elbv2sdk.DescribeLoadBalancersInput{Names: []string{name}})
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil || len(out.LoadBalancers) == 0 {
		return nil, err
	}
	return &out.LoadBalancers[0], nil
}

func (r *ingressRun) ensureLoadBalancer() error {
	if r.lb != nil {
		return nil
	}
	c := r.c
	out, err := call(c, "CreateLoadBalancer", c.api.CreateLoadBalancer, &elbv2sdk.CreateLoadBalancerInput{
		Name:   aws.String(r.spec.lbName),
		Scheme: types.LoadBalancerSchemeEnumInternetFacing,
		Type:   types.LoadBalancerTypeEnumApplication,
		Tags:   c.stackTags(r.spec.id, types.Tag{Key: aws.String(tagResource), Value: aws.String("LoadBalancer")}),
	})
	if err != nil {
		return err
	}
	r.lb = &out.LoadBalancers[0]
	r.change(Event{Kind: EventCreated, Resource: *r.lb.LoadBalancerArn}, "created load balancer "+r.spec.lbName)
	return nil
}

// findListener returns a load balancer's listener on a port; nil when there is none.
func (c *Controller) findListener(lbArn string, port int32) (*types.Listener, error) {
	out, err := call(c, "DescribeListeners", c.api.DescribeListeners, &elbv2sdk.DescribeListenersInput{LoadBalancerArn: aws.String(lbArn)})
	if err != nil {
		return nil, err
	}
	for i, l := range out.Listeners {
		if aws.ToInt32(l.Port) == port {
			return &out.Listeners[i], nil
		}
	}
	return nil, nil
}

// ensureListener creates the HTTP:80 listener, or changes its default action.
func (r *ingressRun) ensureListener() error {
	c := r.c
	want := r.spec.defaultAction.sdkActions(r.arns)
	what := "listener default action: " + r.spec.defaultAction.describe(r.resIDs)
	if r.listener == nil {
		out, err := call(c, "CreateListener", c.api.CreateListener, &elbv2sdk.CreateListenerInput{
			LoadBalancerArn: r.lb.LoadBalancerArn, Port: aws.Int32(listenerPort), Protocol: types.ProtocolEnumHttp,
			DefaultActions: want, Tags: c.stackTags(r.spec.id),
		})
		if err != nil {
			return err
		}
		r.listener = &out.Listeners[0]
		r.change(Event{Kind: EventRulesChanged, Resource: *r.listener.ListenerArn}, what)
		return nil
	}
	if actionsKey(r.listener.DefaultActions) == actionsKey(want) {
		return nil
	}
	if _, err := call(c, "ModifyListener", c.api.ModifyListener, &elbv2sdk.ModifyListenerInput{ListenerArn: r.listener.ListenerArn, DefaultActions: want}); err != nil {
		return err
	}
	r.change(Event{Kind: EventRulesChanged, Resource: *r.listener.ListenerArn}, what)
	return nil
}

// listRules returns a listener's rules other than the default one.
func (c *Controller) listRules(listenerArn string) ([]types.Rule, error) {
	out, err := call(c, "DescribeRules", c.api.DescribeRules, &elbv2sdk.DescribeRulesInput{ListenerArn: aws.String(listenerArn)})
	if err != nil {
		return nil, err
	}
	var rules []types.Rule
	for _, rule := range out.Rules {
		if !aws.ToBool(rule.IsDefault) {
			rules = append(rules, rule)
		}
	}
	return rules, nil
}

// ensureRules makes the listener's rules those of the stack, matched by priority: create the
// missing, modify the different, delete the extra.
func (r *ingressRun) ensureRules() error {
	c := r.c
	have := map[int32]types.Rule{}
	for _, rule := range r.rules {
		if p, err := strconv.Atoi(aws.ToString(rule.Priority)); err == nil {
			have[int32(p)] = rule
		}
	}
	for _, rs := range r.spec.rules {
		actions, conds := rs.action.sdkActions(r.arns), rs.sdkConditions()
		what := fmt.Sprintf("rule %d: %s", rs.priority, rs.action.describe(r.resIDs))
		cur, ok := have[rs.priority]
		delete(have, rs.priority)
		switch {
		case !ok:
			out, err := call(c, "CreateRule", c.api.CreateRule, &elbv2sdk.CreateRuleInput{ListenerArn: r.listener.ListenerArn,
				Priority: aws.Int32(rs.priority), Conditions: conds, Actions: actions, Tags: c.stackTags(r.spec.id)})
			if err != nil {
				return err
			}
			r.change(Event{Kind: EventRulesChanged, Resource: aws.ToString(out.Rules[0].RuleArn)}, what)
		case actionsKey(cur.Actions) != actionsKey(actions) || conditionsKey(cur.Conditions) != conditionsKey(conds):
			if _, err := call(c, "ModifyRule", c.api.ModifyRule, &elbv2sdk.ModifyRuleInput{RuleArn: cur.RuleArn, Conditions: conds, Actions: actions}); err != nil {
				return err
			}
			r.change(Event{Kind: EventRulesChanged, Resource: *cur.RuleArn}, what)
		}
	}
	extra := make([]int32, 0, len(have))
	for p := range have {
		extra = append(extra, p)
	}
	sort.Slice(extra, func(i, j int) bool { return extra[i] < extra[j] })
	for _, p := range extra {
		if _, err := call(c, "DeleteRule", c.api.DeleteRule, &elbv2sdk.DeleteRuleInput{RuleArn: have[p].RuleArn}); err != nil {
			return err
		}
		r.change(Event{Kind: EventRulesChanged, Resource: *have[p].RuleArn}, fmt.Sprintf("rule %d deleted", p))
	}
	return nil
}
