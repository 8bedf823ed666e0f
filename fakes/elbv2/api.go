package elbv2

import (
	"context"

	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	engineaws "github.com/rolloutlab/rolloutlab/engine/aws"
)

// API is every ELBv2 operation the Fake implements, with the aws-sdk-go-v2 client's signatures:
// the fake AWS Load Balancer Controller programs the Fake through it, and the real client
// satisfies it too.
type API interface {
	DescribeLoadBalancers(ctx context.Context, in *elbv2.DescribeLoadBalancersInput, opts ...func(*elbv2.Options)) (*elbv2.DescribeLoadBalancersOutput, error)
	DescribeListeners(ctx context.Context, in *elbv2.DescribeListenersInput, opts ...func(*elbv2.Options)) (*elbv2.DescribeListenersOutput, error)
	DescribeRules(ctx context.Context, in *elbv2.DescribeRulesInput, opts ...func(*elbv2.Options)) (*elbv2.DescribeRulesOutput, error)
	DescribeTargetGroups(ctx context.Context, in *elbv2.DescribeTargetGroupsInput, opts ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error)
	DescribeTags(ctx context.Context, in *elbv2.DescribeTagsInput, opts ...func(*elbv2.Options)) (*elbv2.DescribeTagsOutput, error)
	DescribeTargetHealth(ctx context.Context, in *elbv2.DescribeTargetHealthInput, opts ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error)
	DescribeTargetGroupAttributes(ctx context.Context, in *elbv2.DescribeTargetGroupAttributesInput, opts ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupAttributesOutput, error)
	CreateLoadBalancer(ctx context.Context, in *elbv2.CreateLoadBalancerInput, opts ...func(*elbv2.Options)) (*elbv2.CreateLoadBalancerOutput, error)
	DeleteLoadBalancer(ctx context.Context, in *elbv2.DeleteLoadBalancerInput, opts ...func(*elbv2.Options)) (*elbv2.DeleteLoadBalancerOutput, error)
	CreateListener(ctx context.Context, in *elbv2.CreateListenerInput, opts ...func(*elbv2.Options)) (*elbv2.CreateListenerOutput, error)
	ModifyListener(ctx context.Context, in *elbv2.ModifyListenerInput, opts ...func(*elbv2.Options)) (*elbv2.ModifyListenerOutput, error)
	DeleteListener(ctx context.Context, in *elbv2.DeleteListenerInput, opts ...func(*elbv2.Options)) (*elbv2.DeleteListenerOutput, error)
	CreateRule(ctx context.Context, in *elbv2.CreateRuleInput, opts ...func(*elbv2.Options)) (*elbv2.CreateRuleOutput, error)
	ModifyRule(ctx context.Context, in *elbv2.ModifyRuleInput, opts ...func(*elbv2.Options)) (*elbv2.ModifyRuleOutput, error)
	DeleteRule(ctx context.Context, in *elbv2.DeleteRuleInput, opts ...func(*elbv2.Options)) (*elbv2.DeleteRuleOutput, error)
	SetRulePriorities(ctx context.Context, in *elbv2.SetRulePrioritiesInput, opts ...func(*elbv2.Options)) (*elbv2.SetRulePrioritiesOutput, error)
	CreateTargetGroup(ctx context.Context, in *elbv2.CreateTargetGroupInput, opts ...func(*elbv2.Options)) (*elbv2.CreateTargetGroupOutput, error)
	ModifyTargetGroup(ctx context.Context, in *elbv2.ModifyTargetGroupInput, opts ...func(*elbv2.Options)) (*elbv2.ModifyTargetGroupOutput, error)
	DeleteTargetGroup(ctx context.Context, in *elbv2.DeleteTargetGroupInput, opts ...func(*elbv2.Options)) (*elbv2.DeleteTargetGroupOutput, error)
	ModifyTargetGroupAttributes(ctx context.Context, in *elbv2.ModifyTargetGroupAttributesInput, opts ...func(*elbv2.Options)) (*elbv2.ModifyTargetGroupAttributesOutput, error)
	RegisterTargets(ctx context.Context, in *elbv2.RegisterTargetsInput, opts ...func(*elbv2.Options)) (*elbv2.RegisterTargetsOutput, error)
	DeregisterTargets(ctx context.Context, in *elbv2.DeregisterTargetsInput, opts ...func(*elbv2.Options)) (*elbv2.DeregisterTargetsOutput, error)
	AddTags(ctx context.Context, in *elbv2.AddTagsInput, opts ...func(*elbv2.Options)) (*elbv2.AddTagsOutput, error)
	RemoveTags(ctx context.Context, in *elbv2.RemoveTagsInput, opts ...func(*elbv2.Options)) (*elbv2.RemoveTagsOutput, error)
}

var (
	_ API             = (*elbv2.Client)(nil)
	_ API             = (*Fake)(nil)
	_ engineaws.ELBv2 = (*Fake)(nil)
)

// DescribeLoadBalancers is the ELBv2 call of that name.
func (c *client) DescribeLoadBalancers(ctx context.Context, in *elbv2.DescribeLoadBalancersInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeLoadBalancersOutput, error) {
	return call(c, ctx, "DescribeLoadBalancers", in, c.f.describeLoadBalancers)
}

// DescribeListeners is the ELBv2 call of that name.
func (c *client) DescribeListeners(ctx context.Context, in *elbv2.DescribeListenersInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeListenersOutput, error) {
	return call(c, ctx, "DescribeListeners", in, c.f.describeListeners)
}

// DescribeRules is the ELBv2 call of that name.
func (c *client) DescribeRules(ctx context.Context, in *elbv2.DescribeRulesInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeRulesOutput, error) {
	return call(c, ctx, "DescribeRules", in, c.f.describeRules)
}

// DescribeTargetGroups is the ELBv2 call of that name.
func (c *client) DescribeTargetGroups(ctx context.Context, in *elbv2.DescribeTargetGroupsInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error) {
	return call(c, ctx, "DescribeTargetGroups", in, c.f.describeTargetGroups)
}

// DescribeTags is the ELBv2 call of that name.
func (c *client) DescribeTags(ctx context.Context, in *elbv2.DescribeTagsInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTagsOutput, error) {
	return call(c, ctx, "DescribeTags", in, c.f.describeTags)
}

// DescribeTargetHealth is the ELBv2 call of that name.
func (c *client) DescribeTargetHealth(ctx context.Context, in *elbv2.DescribeTargetHealthInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error) {
	return call(c, ctx, "DescribeTargetHealth", in, c.f.describeTargetHealth)
}

// DescribeTargetGroupAttributes is the ELBv2 call of that name.
func (c *client) DescribeTargetGroupAttributes(ctx context.Context, in *elbv2.DescribeTargetGroupAttributesInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupAttributesOutput, error) {
	return call(c, ctx, "DescribeTargetGroupAttributes", in, c.f.describeTargetGroupAttributes)
}

// CreateLoadBalancer is the ELBv2 call of that name.
func (c *client) CreateLoadBalancer(ctx context.Context, in *elbv2.CreateLoadBalancerInput, _ ...func(*elbv2.Options)) (*elbv2.CreateLoadBalancerOutput, error) {
	return call(c, ctx, "CreateLoadBalancer", in, c.f.createLoadBalancer)
}

// DeleteLoadBalancer is the ELBv2 call of that name.
func (c *client) DeleteLoadBalancer(ctx context.Context, in *elbv2.DeleteLoadBalancerInput, _ ...func(*elbv2.Options)) (*elbv2.DeleteLoadBalancerOutput, error) {
	return call(c, ctx, "DeleteLoadBalancer", in, c.f.deleteLoadBalancer)
}

// CreateListener is the ELBv2 call of that name.
func (c *client) CreateListener(ctx context.Context, in *elbv2.CreateListenerInput, _ ...func(*elbv2.Options)) (*elbv2.CreateListenerOutput, error) {
	return call(c, ctx, "CreateListener", in, c.f.createListener)
}

// ModifyListener is the ELBv2 call of that name.
func (c *client) ModifyListener(ctx context.Context, in *elbv2.ModifyListenerInput, _ ...func(*elbv2.Options)) (*elbv2.ModifyListenerOutput, error) {
	return call(c, ctx, "ModifyListener", in, c.f.modifyListener)
}

// DeleteListener is the ELBv2 call of that name.
func (c *client) DeleteListener(ctx context.Context, in *elbv2.DeleteListenerInput, _ ...func(*elbv2.Options)) (*elbv2.DeleteListenerOutput, error) {
	return call(c, ctx, "DeleteListener", in, c.f.deleteListener)
}

// CreateRule is the ELBv2 call of that name.
func (c *client) CreateRule(ctx context.Context, in *elbv2.CreateRuleInput, _ ...func(*elbv2.Options)) (*elbv2.CreateRuleOutput, error) {
	return call(c, ctx, "CreateRule", in, c.f.createRule)
}

// ModifyRule is the ELBv2 call of that name.
func (c *client) ModifyRule(ctx context.Context, in *elbv2.ModifyRuleInput, _ ...func(*elbv2.Options)) (*elbv2.ModifyRuleOutput, error) {
	return call(c, ctx, "ModifyRule", in, c.f.modifyRule)
}

// DeleteRule is the ELBv2 call of that name.
func (c *client) DeleteRule(ctx context.Context, in *elbv2.DeleteRuleInput, _ ...func(*elbv2.Options)) (*elbv2.DeleteRuleOutput, error) {
	return call(c, ctx, "DeleteRule", in, c.f.deleteRule)
}

// SetRulePriorities is the ELBv2 call of that name.
func (c *client) SetRulePriorities(ctx context.Context, in *elbv2.SetRulePrioritiesInput, _ ...func(*elbv2.Options)) (*elbv2.SetRulePrioritiesOutput, error) {
	return call(c, ctx, "SetRulePriorities", in, c.f.setRulePriorities)
}

// CreateTargetGroup is the ELBv2 call of that name.
func (c *client) CreateTargetGroup(ctx context.Context, in *elbv2.CreateTargetGroupInput, _ ...func(*elbv2.Options)) (*elbv2.CreateTargetGroupOutput, error) {
	return call(c, ctx, "CreateTargetGroup", in, c.f.createTargetGroup)
}

// ModifyTargetGroup is the ELBv2 call of that name.
func (c *client) ModifyTargetGroup(ctx context.Context, in *elbv2.ModifyTargetGroupInput, _ ...func(*elbv2.Options)) (*elbv2.ModifyTargetGroupOutput, error) {
	return call(c, ctx, "ModifyTargetGroup", in, c.f.modifyTargetGroup)
}

// DeleteTargetGroup is the ELBv2 call of that name.
func (c *client) DeleteTargetGroup(ctx context.Context, in *elbv2.DeleteTargetGroupInput, _ ...func(*elbv2.Options)) (*elbv2.DeleteTargetGroupOutput, error) {
	return call(c, ctx, "DeleteTargetGroup", in, c.f.deleteTargetGroup)
}

// ModifyTargetGroupAttributes is the ELBv2 call of that name.
func (c *client) ModifyTargetGroupAttributes(ctx context.Context, in *elbv2.ModifyTargetGroupAttributesInput, _ ...func(*elbv2.Options)) (*elbv2.ModifyTargetGroupAttributesOutput, error) {
	return call(c, ctx, "ModifyTargetGroupAttributes", in, c.f.modifyTargetGroupAttributes)
}

// RegisterTargets is the ELBv2 call of that name.
func (c *client) RegisterTargets(ctx context.Context, in *elbv2.RegisterTargetsInput, _ ...func(*elbv2.Options)) (*elbv2.RegisterTargetsOutput, error) {
	return call(c, ctx, "RegisterTargets", in, c.f.registerTargets)
}

// DeregisterTargets is the ELBv2 call of that name.
func (c *client) DeregisterTargets(ctx context.Context, in *elbv2.DeregisterTargetsInput, _ ...func(*elbv2.Options)) (*elbv2.DeregisterTargetsOutput, error) {
	return call(c, ctx, "DeregisterTargets", in, c.f.deregisterTargets)
}

// AddTags is the ELBv2 call of that name.
func (c *client) AddTags(ctx context.Context, in *elbv2.AddTagsInput, _ ...func(*elbv2.Options)) (*elbv2.AddTagsOutput, error) {
	return call(c, ctx, "AddTags", in, c.f.addTags)
}

// RemoveTags is the ELBv2 call of that name.
func (c *client) RemoveTags(ctx context.Context, in *elbv2.RemoveTagsInput, _ ...func(*elbv2.Options)) (*elbv2.RemoveTagsOutput, error) {
	return call(c, ctx, "RemoveTags", in, c.f.removeTags)
}
