package elbv2

import (
	"strconv"

	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// addRule stores a rule of a listener and returns its ARN.
func (f *Fake) addRule(l *listener, desc types.Rule, tags []types.Tag) string {
	id, _ := f.newID("listener-rule", *l.desc.ListenerArn)
	arn := l.rulePrefix + id
	desc.RuleArn = ptr(arn)
	f.rules[arn] = &rule{seq: f.seq, listener: *l.desc.ListenerArn, desc: desc}
	f.setTags(arn, tags)
	l.rules = append(l.rules, arn)
	return arn
}

func checkPriority(p *int32) error {
	if p == nil || *p < 1 || *p > 50000 {
		return invalid("Priority must be between 1 and 50000")
	}
	return nil
}

func errPriorityInUse(p int32) error {
	return &types.PriorityInUseException{Message: msg("Priority '%d' is currently in use", p)}
}

func (f *Fake) createRule(in *elbv2.CreateRuleInput) (*elbv2.CreateRuleOutput, error) {
	l := f.listeners[deref(in.ListenerArn)]
	if l == nil {
		return nil, errListenerNotFound(deref(in.ListenerArn))
	}
	if err := checkPriority(in.Priority); err != nil {
		return nil, err
	}
	for _, r := range f.rulesOf(l) {
		if priorityOf(r.desc) == int(*in.Priority) {
			return nil, errPriorityInUse(*in.Priority)
		}
	}
	conds, err := checkConditions(in.Conditions)
	if err != nil {
		return nil, err
	}
	actions, err := f.checkActions(*l.desc.LoadBalancerArn, in.Actions)
	if err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	arn := f.addRule(l, types.Rule{Priority: ptr(strconv.Itoa(int(*in.Priority))), IsDefault: ptr(false),
		Conditions: conds, Actions: actions}, in.Tags)
	f.publish(l)
	return &elbv2.CreateRuleOutput{Rules: []types.Rule{clone(f.rules[arn].desc)}}, nil
}

func (f *Fake) describeRules(in *elbv2.DescribeRulesInput) (*elbv2.DescribeRulesOutput, error) {
	var sel []*rule
	switch {
	case in.ListenerArn != nil && len(in.RuleArns) > 0:
		return nil, invalid("Rule ARNs and a listener ARN cannot be specified at the same time")
	case in.ListenerArn != nil:
		l := f.listeners[*in.ListenerArn]
		if l == nil {
			return nil, errListenerNotFound(*in.ListenerArn)
		}
		sel = f.rulesOf(l)
	case len(in.RuleArns) > 0:
		for _, arn := range in.RuleArns {
			r := f.rules[arn]
			if r == nil {
				return nil, errRuleNotFound(arn)
			}
			sel = append(sel, r)
		}
	default:
		return nil, invalid("You must specify either listener or rule ARNs")
	}
	items, next, err := page(sel, in.Marker, in.PageSize)
	if err != nil {
		return nil, err
	}
	out := &elbv2.DescribeRulesOutput{Rules: []types.Rule{}, NextMarker: next}
	for _, r := range items {
		out.Rules = append(out.Rules, clone(r.desc))
	}
	return out, nil
}

func (f *Fake) modifyRule(in *elbv2.ModifyRuleInput) (*elbv2.ModifyRuleOutput, error) {
	r := f.rules[deref(in.RuleArn)]
	if r == nil {
		return nil, errRuleNotFound(deref(in.RuleArn))
	}
	l := f.listeners[r.listener]
	var conds []types.RuleCondition
	if in.Conditions != nil {
		if deref(r.desc.IsDefault) {
			return nil, &types.OperationNotPermittedException{Message: msg("The conditions of a default rule cannot be modified")}
		}
		var err error
		if conds, err = checkConditions(in.Conditions); err != nil {
			return nil, err
		}
	}
	var actions []types.Action
	if in.Actions != nil {
		var err error
		if actions, err = f.checkActions(*l.desc.LoadBalancerArn, in.Actions); err != nil {
			return nil, err
		}
	}
	if conds != nil {
		r.desc.Conditions = conds
	}
	if actions != nil {
		r.desc.Actions = actions
	}
	f.publish(l)
	return &elbv2.ModifyRuleOutput{Rules: []types.Rule{clone(r.desc)}}, nil
}

func (f *Fake) deleteRule(in *elbv2.DeleteRuleInput) (*elbv2.DeleteRuleOutput, error) {
	arn := deref(in.RuleArn)
	r := f.rules[arn]
	if r == nil {
		return nil, errRuleNotFound(arn)
	}
	if deref(r.desc.IsDefault) {
		return nil, &types.OperationNotPermittedException{Message: msg("A default rule cannot be deleted")}
	}
	l := f.listeners[r.listener]
	delete(f.rules, arn)
	delete(f.tags, arn)
	l.rules = filter(l.rules, func(a string) bool { return a != arn })
	f.publish(l)
	return &elbv2.DeleteRuleOutput{}, nil
}

// setRulePriorities changes several priorities at once; only the final state must be free of
// duplicates, so two rules can swap priorities.
func (f *Fake) setRulePriorities(in *elbv2.SetRulePrioritiesInput) (*elbv2.SetRulePrioritiesOutput, error) {
	if len(in.RulePriorities) == 0 {
		return nil, invalid("RulePriorities must not be empty")
	}
	want := map[string]int32{}
	var touched []*listener
	for _, p := range in.RulePriorities {
		r := f.rules[deref(p.RuleArn)]
		if r == nil {
			return nil, errRuleNotFound(deref(p.RuleArn))
		}
		if deref(r.desc.IsDefault) {
			return nil, &types.OperationNotPermittedException{Message: msg("The priority of a default rule cannot be set")}
		}
		if err := checkPriority(p.Priority); err != nil {
			return nil, err
		}
		want[*r.desc.RuleArn] = *p.Priority
		if l := f.listeners[r.listener]; !anyOf(touched, func(x *listener) bool { return x == l }) {
			touched = append(touched, l)
		}
	}
	for _, l := range touched {
		used := map[int32]bool{}
		for _, r := range f.rulesOf(l) {
			if deref(r.desc.IsDefault) {
				continue
			}
			p, ok := want[*r.desc.RuleArn]
			if !ok {
				p = int32(priorityOf(r.desc))
			}
			if used[p] {
				return nil, errPriorityInUse(p)
			}
			used[p] = true
		}
	}
	out := &elbv2.SetRulePrioritiesOutput{Rules: []types.Rule{}}
	for _, p := range in.RulePriorities {
		r := f.rules[*p.RuleArn]
		r.desc.Priority = ptr(strconv.Itoa(int(*p.Priority)))
		out.Rules = append(out.Rules, clone(r.desc))
	}
	for _, l := range touched {
		f.publish(l)
	}
	return out, nil
}
