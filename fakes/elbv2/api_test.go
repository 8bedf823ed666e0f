package elbv2

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

const (
	missingLB   = arnPrefix + "loadbalancer/app/missing/0000000000000000"
	missingL    = arnPrefix + "listener/app/missing/0000000000000000/0000000000000000"
	missingRule = arnPrefix + "listener-rule/app/missing/0000000000000000/0000000000000000/0000000000000000"
	missingTG   = arnPrefix + "targetgroup/missing/0000000000000000"
)

var notFound = []types.Action{{Type: types.ActionTypeEnumFixedResponse,
	FixedResponseConfig: &types.FixedResponseActionConfig{StatusCode: aws.String("404")}}}

// notFoundCalls are calls on unknown ARNs, with the typed error each must return.
func notFoundCalls(api API) []struct {
	name string
	call func() error
	want any
} {
	ctx := context.Background()
	return []struct {
		name string
		call func() error
		want any
	}{
		{"DescribeLoadBalancers", func() error {
			_, err := api.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{missingLB}})
			return err
		}, new(*types.LoadBalancerNotFoundException)},
		{"DescribeListeners", func() error {
			_, err := api.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(missingLB)})
			return err
		}, new(*types.LoadBalancerNotFoundException)},
		{"DescribeListeners/arn", func() error {
			_, err := api.DescribeListeners(ctx, &elbv2.DescribeListenersInput{ListenerArns: []string{missingL}})
			return err
		}, new(*types.ListenerNotFoundException)},
		{"DescribeRules", func() error {
			_, err := api.DescribeRules(ctx, &elbv2.DescribeRulesInput{ListenerArn: aws.String(missingL)})
			return err
		}, new(*types.ListenerNotFoundException)},
		{"DescribeRules/arn", func() error {
			_, err := api.DescribeRules(ctx, &elbv2.DescribeRulesInput{RuleArns: []string{missingRule}})
			return err
		}, new(*types.RuleNotFoundException)},
		{"DescribeTargetGroups", func() error {
			_, err := api.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{TargetGroupArns: []string{missingTG}})
			return err
		}, new(*types.TargetGroupNotFoundException)},
		{"DescribeTargetGroups/lb", func() error {
			_, err := api.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{LoadBalancerArn: aws.String(missingLB)})
			return err
		}, new(*types.LoadBalancerNotFoundException)},
		{"DescribeTags", func() error {
			_, err := api.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{missingTG}})
			return err
		}, new(*types.TargetGroupNotFoundException)},
		{"DescribeTags/rule", func() error {
			_, err := api.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{missingRule}})
			return err
		}, new(*types.RuleNotFoundException)},
		{"DescribeTargetHealth", func() error {
			_, err := api.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(missingTG)})
			return err
		}, new(*types.TargetGroupNotFoundException)},
		{"RegisterTargets", func() error {
			_, err := api.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(missingTG), Targets: targets("10.0.0.1")})
			return err
		}, new(*types.TargetGroupNotFoundException)},
		{"ModifyRule", func() error {
			_, err := api.ModifyRule(ctx, &elbv2.ModifyRuleInput{RuleArn: aws.String(missingRule)})
			return err
		}, new(*types.RuleNotFoundException)},
		{"ModifyListener", func() error {
			_, err := api.ModifyListener(ctx, &elbv2.ModifyListenerInput{ListenerArn: aws.String(missingL)})
			return err
		}, new(*types.ListenerNotFoundException)},
		{"CreateListener", func() error {
			_, err := api.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: aws.String(missingLB), DefaultActions: notFound})
			return err
		}, new(*types.LoadBalancerNotFoundException)},
		{"CreateRule", func() error {
			_, err := api.CreateRule(ctx, &elbv2.CreateRuleInput{ListenerArn: aws.String(missingL), Priority: aws.Int32(5),
				Conditions: []types.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/*"}}}, Actions: notFound})
			return err
		}, new(*types.ListenerNotFoundException)},
		{"DeleteRule", func() error {
			_, err := api.DeleteRule(ctx, &elbv2.DeleteRuleInput{RuleArn: aws.String(missingRule)})
			return err
		}, new(*types.RuleNotFoundException)},
		{"ModifyTargetGroupAttributes", func() error {
			_, err := api.ModifyTargetGroupAttributes(ctx, &elbv2.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(missingTG),
				Attributes: []types.TargetGroupAttribute{{Key: aws.String(AttrDeregistrationDelay), Value: aws.String("0")}}})
			return err
		}, new(*types.TargetGroupNotFoundException)},
		{"AddTags", func() error {
			_, err := api.AddTags(ctx, &elbv2.AddTagsInput{ResourceArns: []string{missingLB}, Tags: []types.Tag{tag("a", "b")}})
			return err
		}, new(*types.LoadBalancerNotFoundException)},
	}
}

func TestUnknownARNsGiveTypedErrors(t *testing.T) {
	x := newFixture(t, Config{})
	for _, c := range notFoundCalls(x.f) {
		if err := c.call(); err == nil || !errors.As(err, c.want) {
			t.Errorf("%s: %v (%T), want %T", c.name, err, err, reflect.ValueOf(c.want).Elem().Interface())
		}
	}
}

func TestDescribeTagsTakesAtMost20ARNs(t *testing.T) {
	x := newFixture(t, Config{})
	arns := []string{x.lb, x.listener, x.rule, x.stable, x.canary}
	for len(arns) < 20 {
		arns = append(arns, x.stable)
	}
	out := must(x.f.DescribeTags(context.Background(), &elbv2.DescribeTagsInput{ResourceArns: arns}))(t)
	if len(out.TagDescriptions) != 20 || *out.TagDescriptions[3].ResourceArn != x.stable {
		t.Fatalf("%d descriptions, want 20 in the order asked", len(out.TagDescriptions))
	}
	want := []types.Tag{tag("ingress.k8s.aws/resource", stableResource), tag("ingress.k8s.aws/stack", "default/ingress")}
	if got := out.TagDescriptions[3].Tags; !reflect.DeepEqual(got, want) {
		t.Fatalf("stable tags %v, want %v sorted by key", got, want)
	}
	_, err := x.f.DescribeTags(context.Background(), &elbv2.DescribeTagsInput{ResourceArns: append(arns, x.lb)})
	if errorCode(err) != "ValidationError" {
		t.Fatalf("21 ARNs: %v, want ValidationError", err)
	}
}

func TestDescribeLoadBalancersPages(t *testing.T) {
	x := newFixture(t, Config{})
	ctx := context.Background()
	for i := 0; i < 6; i++ {
		must(x.f.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String(fmt.Sprintf("lb-%d", i))}))(t)
	}
	var names []string
	var marker *string
	pages := 0
	for {
		out := must(x.f.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{PageSize: aws.Int32(3), Marker: marker}))(t)
		pages++
		for _, lb := range out.LoadBalancers {
			names = append(names, *lb.LoadBalancerName)
		}
		if marker = out.NextMarker; marker == nil {
			break
		}
	}
	want := "k8s-default-ingress-1a2b3c4d5e lb-0 lb-1 lb-2 lb-3 lb-4 lb-5"
	if pages != 3 || strings.Join(names, " ") != want {
		t.Fatalf("%d pages of %v, want 3 pages of %s", pages, names, want)
	}
	out := must(x.f.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{"lb-4", "lb-1"}}))(t)
	if len(out.LoadBalancers) != 2 || out.NextMarker != nil {
		t.Fatalf("by names: %d, want 2 on one page", len(out.LoadBalancers))
	}
	for _, in := range []*elbv2.DescribeLoadBalancersInput{
		{PageSize: aws.Int32(401)}, {PageSize: aws.Int32(0)}, {Marker: aws.String("garbage")},
		{Names: []string{"lb-1"}, LoadBalancerArns: []string{x.lb}},
	} {
		if _, err := x.f.DescribeLoadBalancers(ctx, in); errorCode(err) != "ValidationError" {
			t.Errorf("%+v: %v, want ValidationError", in, err)
		}
	}
	if _, err := x.f.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{"nope"}}); !errors.As(err, new(*types.LoadBalancerNotFoundException)) {
		t.Fatalf("unknown name: %v", err)
	}
}

func TestLoadBalancerLooksLikeAWSs(t *testing.T) {
	x := newFixture(t, Config{})
	out := must(x.f.DescribeLoadBalancers(context.Background(), &elbv2.DescribeLoadBalancersInput{Names: []string{"k8s-default-ingress-1a2b3c4d5e"}}))(t)
	lb := out.LoadBalancers[0]
	if !strings.HasPrefix(*lb.LoadBalancerArn, "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/k8s-default-ingress-1a2b3c4d5e/") ||
		!strings.HasPrefix(*lb.DNSName, "k8s-default-ingress-1a2b3c4d5e-") || !strings.HasSuffix(*lb.DNSName, ".us-east-1.elb.amazonaws.com") ||
		lb.State.Code != types.LoadBalancerStateEnumActive || lb.Scheme != types.LoadBalancerSchemeEnumInternetFacing ||
		len(lb.AvailabilityZones) != 2 || *lb.AvailabilityZones[1].ZoneName != "us-east-1b" {
		t.Fatalf("load balancer %+v", lb)
	}
	if !strings.HasPrefix(x.rule, strings.Replace(x.lb, ":loadbalancer/", ":listener-rule/", 1)+"/") {
		t.Fatalf("rule ARN %s does not extend the load balancer's %s", x.rule, x.lb)
	}
}

func TestDescribeTargetGroupsOfALoadBalancer(t *testing.T) {
	x := newFixture(t, Config{})
	x.targetGroup(x.f, "k8s-default-unused-0a1b2c3d4e", "default/ingress-unused:80")
	out := must(x.f.DescribeTargetGroups(context.Background(), &elbv2.DescribeTargetGroupsInput{LoadBalancerArn: aws.String(x.lb)}))(t)
	if len(out.TargetGroups) != 2 {
		t.Fatalf("%d target groups, want stable and canary", len(out.TargetGroups))
	}
	for _, g := range out.TargetGroups {
		if !reflect.DeepEqual(g.LoadBalancerArns, []string{x.lb}) || *g.HealthCheckIntervalSeconds != 15 ||
			*g.HealthCheckPort != "traffic-port" || g.TargetType != types.TargetTypeEnumIp {
			t.Fatalf("target group %+v", g)
		}
	}
	attrs := must(x.f.DescribeTargetGroupAttributes(context.Background(), &elbv2.DescribeTargetGroupAttributesInput{TargetGroupArn: aws.String(x.stable)}))(t)
	if a := attrs.Attributes[0]; *a.Key != AttrDeregistrationDelay || *a.Value != "300" {
		t.Fatalf("first attribute %s=%s, want the 300s deregistration delay", *a.Key, *a.Value)
	}
}

func TestForwardActionsAreDescribedAsAWSStoresThem(t *testing.T) {
	x := newFixture(t, Config{})
	must(x.f.ModifyRule(context.Background(), &elbv2.ModifyRuleInput{RuleArn: aws.String(x.rule),
		Actions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(x.stable)}}}))(t)
	out := must(x.f.DescribeRules(context.Background(), &elbv2.DescribeRulesInput{RuleArns: []string{x.rule}}))(t)
	a := out.Rules[0].Actions[0]
	want := types.Action{Type: types.ActionTypeEnumForward, Order: aws.Int32(1), TargetGroupArn: aws.String(x.stable),
		ForwardConfig: &types.ForwardActionConfig{
			TargetGroups:                []types.TargetGroupTuple{{TargetGroupArn: aws.String(x.stable), Weight: aws.Int32(1)}},
			TargetGroupStickinessConfig: &types.TargetGroupStickinessConfig{Enabled: aws.Bool(false)}}}
	if !reflect.DeepEqual(a, want) {
		t.Fatalf("described %+v\nwant      %+v", a, want)
	}
	c := out.Rules[0].Conditions[0]
	if !reflect.DeepEqual(c.Values, []string{"/*"}) || !reflect.DeepEqual(c.PathPatternConfig.Values, []string{"/*"}) {
		t.Fatalf("path condition %+v, want the values in both forms", c)
	}
}

func TestRuleAndListenerValidation(t *testing.T) {
	x := newFixture(t, Config{})
	ctx := context.Background()
	fwd := func(w int32, stick *types.TargetGroupStickinessConfig) []types.Action {
		return []types.Action{{Type: types.ActionTypeEnumForward, ForwardConfig: &types.ForwardActionConfig{
			TargetGroups:                []types.TargetGroupTuple{{TargetGroupArn: aws.String(x.stable), Weight: aws.Int32(w)}},
			TargetGroupStickinessConfig: stick}}}
	}
	for name, c := range map[string]struct {
		actions []types.Action
		code    string
	}{
		"weight 1000":        {fwd(1000, nil), "ValidationError"},
		"stickiness 0s":      {fwd(1, &types.TargetGroupStickinessConfig{Enabled: aws.Bool(true), DurationSeconds: aws.Int32(0)}), "ValidationError"},
		"no actions":         {[]types.Action{}, "ValidationError"},
		"unknown group":      {[]types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(missingTG)}}, "TargetGroupNotFound"},
		"bad fixed response": {[]types.Action{{Type: types.ActionTypeEnumFixedResponse, FixedResponseConfig: &types.FixedResponseActionConfig{StatusCode: aws.String("302")}}}, "ValidationError"},
		"terminal first": {[]types.Action{{Type: types.ActionTypeEnumForward, Order: aws.Int32(1), TargetGroupArn: aws.String(x.stable)},
			{Type: types.ActionTypeEnumAuthenticateOidc, Order: aws.Int32(2)}}, "InvalidLoadBalancerAction"},
	} {
		_, err := x.f.ModifyRule(ctx, &elbv2.ModifyRuleInput{RuleArn: aws.String(x.rule), Actions: c.actions})
		if errorCode(err) != c.code {
			t.Errorf("%s: %v, want %s", name, err, c.code)
		}
	}
	_, err := x.f.CreateRule(ctx, &elbv2.CreateRuleInput{ListenerArn: aws.String(x.listener), Priority: aws.Int32(1),
		Conditions: []types.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/x"}}}, Actions: fwd(1, nil)})
	if !errors.As(err, new(*types.PriorityInUseException)) {
		t.Errorf("priority 1 twice: %v, want PriorityInUse", err)
	}
	_, err = x.f.DeleteRule(ctx, &elbv2.DeleteRuleInput{RuleArn: aws.String(x.defaultRule)})
	if !errors.As(err, new(*types.OperationNotPermittedException)) {
		t.Errorf("deleting the default rule: %v, want OperationNotPermitted", err)
	}
	_, err = x.f.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: aws.String(x.lb), Port: aws.Int32(80),
		DefaultActions: fwd(1, nil)})
	if !errors.As(err, new(*types.DuplicateListenerException)) {
		t.Errorf("second listener on port 80: %v, want DuplicateListener", err)
	}
	// The rule is unchanged by the failed calls.
	if w := x.describedCanaryWeight(); w != 0 {
		t.Fatalf("canary weight %d after failed modifications, want 0", w)
	}
}

func TestDeleteTargetGroupInUseIsRefused(t *testing.T) {
	x := newFixture(t, Config{})
	ctx := context.Background()
	_, err := x.f.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(x.canary)})
	if !errors.As(err, new(*types.ResourceInUseException)) {
		t.Fatalf("canary still in the rule: %v, want ResourceInUse", err)
	}
	must(x.f.ModifyRule(ctx, &elbv2.ModifyRuleInput{RuleArn: aws.String(x.rule),
		Actions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(x.stable)}}}))(t)
	must(x.f.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(x.canary)}))(t)
	must(x.f.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(x.canary)}))(t) // idempotent
	if _, err := x.f.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{x.canary}}); err == nil {
		t.Fatal("tags of a deleted group are still described")
	}
}

func TestATargetGroupServesOneLoadBalancer(t *testing.T) {
	x := newFixture(t, Config{})
	ctx := context.Background()
	lb := must(x.f.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("other")}))(t)
	_, err := x.f.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn,
		Port: aws.Int32(80), DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(x.stable)}}})
	if !errors.As(err, new(*types.TargetGroupAssociationLimitException)) {
		t.Fatalf("%v, want TargetGroupAssociationLimit", err)
	}
}

func TestCreatesAreIdempotentByName(t *testing.T) {
	x := newFixture(t, Config{})
	if again := x.targetGroup(x.f, "k8s-default-stable-0a1b2c3d4e", stableResource); again != x.stable {
		t.Fatalf("same target group again: %s, want %s", again, x.stable)
	}
	_, err := x.f.CreateTargetGroup(context.Background(), &elbv2.CreateTargetGroupInput{Name: aws.String("k8s-default-stable-0a1b2c3d4e"),
		Port: aws.Int32(81), Protocol: types.ProtocolEnumHttp, TargetType: types.TargetTypeEnumIp})
	if !errors.As(err, new(*types.DuplicateTargetGroupNameException)) {
		t.Fatalf("same name, other port: %v, want DuplicateTargetGroupName", err)
	}
}

func TestDeleteLoadBalancerTakesItsListenersAlong(t *testing.T) {
	x := newFixture(t, Config{})
	x.healthyTargets(x.stable, "10.0.0.1")
	ctx := context.Background()
	must(x.f.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(x.lb)}))(t)
	if _, err := x.f.DescribeRules(ctx, &elbv2.DescribeRulesInput{ListenerArn: aws.String(x.listener)}); !errors.As(err, new(*types.ListenerNotFoundException)) {
		t.Fatalf("listener of a deleted LB: %v", err)
	}
	x.wantState(x.stable, "10.0.0.1", unused)
	must(x.f.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(x.stable)}))(t)
}

func TestOutputsDoNotAliasTheModel(t *testing.T) {
	x := newFixture(t, Config{})
	out := must(x.f.DescribeRules(context.Background(), &elbv2.DescribeRulesInput{RuleArns: []string{x.rule}}))(t)
	*out.Rules[0].Actions[0].ForwardConfig.TargetGroups[0].Weight = 77
	in := x.forward(50, 50)
	must(x.f.ModifyRule(context.Background(), &elbv2.ModifyRuleInput{RuleArn: aws.String(x.rule), Actions: []types.Action{in}}))(t)
	*in.ForwardConfig.TargetGroups[0].Weight = 99
	if w := x.describedCanaryWeight(); w != 50 {
		t.Fatalf("canary weight %d, want 50 whatever callers do with their values", w)
	}
}

func TestSameCallsGiveTheSameModel(t *testing.T) {
	run := func() string {
		x := newFixture(t, Config{})
		x.register(x.stable, "10.0.0.1", "10.0.0.2")
		x.net.unhealthy[key("10.0.0.2", 8080)] = true
		x.s.runFor(time.Minute)
		var b strings.Builder
		for _, e := range x.events {
			fmt.Fprintf(&b, "%v %v\n", e.At.Sub(epoch), e)
		}
		fmt.Fprintf(&b, "%+v", x.f.Snapshot())
		return b.String()
	}
	if a, b := run(), run(); a != b {
		t.Fatalf("two runs differ:\n%s\n---\n%s", a, b)
	}
}

func TestTagsCanBeAddedAndRemoved(t *testing.T) {
	x := newFixture(t, Config{})
	ctx := context.Background()
	must(x.f.AddTags(ctx, &elbv2.AddTagsInput{ResourceArns: []string{x.rule, x.listener}, Tags: []types.Tag{tag("team", "a"), tag("empty", "")}}))(t)
	must(x.f.RemoveTags(ctx, &elbv2.RemoveTagsInput{ResourceArns: []string{x.listener}, TagKeys: []string{"team"}}))(t)
	out := must(x.f.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{x.rule, x.listener}}))(t)
	if len(out.TagDescriptions[0].Tags) != 2 || len(out.TagDescriptions[1].Tags) != 1 {
		t.Fatalf("tags %+v", out.TagDescriptions)
	}
	_, err := x.f.AddTags(ctx, &elbv2.AddTagsInput{ResourceArns: []string{x.rule}, Tags: []types.Tag{tag("a", "1"), tag("a", "2")}})
	if !errors.As(err, new(*types.DuplicateTagKeysException)) {
		t.Fatalf("duplicate keys: %v", err)
	}
}

func TestListenerAndRuleLifecycle(t *testing.T) {
	x := newFixture(t, Config{})
	ctx := context.Background()
	x.healthyTargets(x.stable, "10.0.0.1")
	r := rand.New(rand.NewPCG(1, 1))

	// A host rule on priority 2, then the default action forwards to the canary group.
	host := must(x.f.CreateRule(ctx, &elbv2.CreateRuleInput{ListenerArn: aws.String(x.listener), Priority: aws.Int32(2),
		Conditions: []types.RuleCondition{{Field: aws.String("host-header"),
			HostHeaderConfig: &types.HostHeaderConditionConfig{Values: []string{"*.example.com"}}}},
		Actions: []types.Action{{Type: types.ActionTypeEnumRedirect, RedirectConfig: &types.RedirectActionConfig{
			StatusCode: types.RedirectActionStatusCodeEnumHttp302}}}}))(t)
	hostArn := host.Rules[0].RuleArn
	_, err := x.f.SetRulePriorities(ctx, &elbv2.SetRulePrioritiesInput{RulePriorities: []types.RulePriorityPair{
		{RuleArn: hostArn, Priority: aws.Int32(1)}}})
	if !errors.As(err, new(*types.PriorityInUseException)) {
		t.Fatalf("moving onto rule 1's priority alone: %v, want PriorityInUse", err)
	}
	must(x.f.ModifyRule(ctx, &elbv2.ModifyRuleInput{RuleArn: aws.String(x.rule),
		Conditions: []types.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/api/*"}}}}))(t)
	if resp := x.f.Send(HTTPRequest{Host: x.dns, Headers: map[string]string{"host": "www.Example.com"}}, r); resp.Code != 302 || resp.RuleArn != *hostArn {
		t.Fatalf("host rule: %+v, want 302", resp)
	}
	must(x.f.ModifyListener(ctx, &elbv2.ModifyListenerInput{ListenerArn: aws.String(x.listener), Port: aws.Int32(8080),
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(x.stable)}}}))(t)
	if resp := x.f.Send(HTTPRequest{Host: x.dns, Port: 8080, Path: "/web"}, r); resp.Code != 200 || resp.RuleArn != x.defaultRule {
		t.Fatalf("default action after ModifyListener: %+v, want 200 from the default rule", resp)
	}
	ls := must(x.f.DescribeListeners(ctx, &elbv2.DescribeListenersInput{ListenerArns: []string{x.listener}}))(t)
	if l := ls.Listeners[0]; *l.Port != 8080 || *l.DefaultActions[0].TargetGroupArn != x.stable {
		t.Fatalf("listener %+v", l)
	}
	if _, err := x.f.ModifyListener(ctx, &elbv2.ModifyListenerInput{ListenerArn: aws.String(x.listener), Protocol: "TCP"}); !errors.As(err, new(*types.UnsupportedProtocolException)) {
		t.Fatalf("TCP listener: %v, want UnsupportedProtocol", err)
	}

	must(x.f.DeleteRule(ctx, &elbv2.DeleteRuleInput{RuleArn: hostArn}))(t)
	if resp := x.f.Send(HTTPRequest{Host: x.dns, Headers: map[string]string{"Host": "www.example.com"}}, r); resp.Code != 200 {
		t.Fatalf("host rule deleted: %+v, want the default action", resp)
	}
	rules := must(x.f.DescribeRules(ctx, &elbv2.DescribeRulesInput{ListenerArn: aws.String(x.listener)}))(t)
	if len(rules.Rules) != 2 {
		t.Fatalf("%d rules, want rule 1 and the default", len(rules.Rules))
	}
}

func TestHealthCheckSettingsAreValidated(t *testing.T) {
	x := newFixture(t, Config{})
	ctx := context.Background()
	for name, in := range map[string]*elbv2.ModifyTargetGroupInput{
		"interval 4":         {HealthCheckIntervalSeconds: aws.Int32(4)},
		"timeout ≥ interval": {HealthCheckTimeoutSeconds: aws.Int32(15)},
		"threshold 11":       {HealthyThresholdCount: aws.Int32(11)},
		"path":               {HealthCheckPath: aws.String("health")},
		"port":               {HealthCheckPort: aws.String("70000")},
		"protocol":           {HealthCheckProtocol: types.ProtocolEnumTcp},
		"disabled":           {HealthCheckEnabled: aws.Bool(false)},
	} {
		in.TargetGroupArn = aws.String(x.stable)
		if _, err := x.f.ModifyTargetGroup(ctx, in); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	out := must(x.f.ModifyTargetGroup(ctx, &elbv2.ModifyTargetGroupInput{TargetGroupArn: aws.String(x.stable),
		HealthCheckPath: aws.String("/healthz"), HealthCheckPort: aws.String("9090"), Matcher: &types.Matcher{HttpCode: aws.String("200-299")}}))(t)
	if g := out.TargetGroups[0]; *g.HealthCheckPath != "/healthz" || *g.HealthCheckPort != "9090" || *g.HealthCheckIntervalSeconds != 15 {
		t.Fatalf("target group %+v", g)
	}
	x.register(x.stable, "10.0.0.1")
	th := must(x.f.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(x.stable)}))(t)
	if p := *th.TargetHealthDescriptions[0].HealthCheckPort; p != "9090" {
		t.Fatalf("health-check port %s, want 9090", p)
	}
}
