package elbv2

import (
	"strconv"
	"time"

	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// attributeRules are the target group attributes of an ALB target group with their check.
var attributeRules = map[string]func(string) bool{
	AttrDeregistrationDelay:                       intIn(0, 3600),
	"stickiness.enabled":                          oneOf("true", "false"),
	"stickiness.type":                             oneOf("lb_cookie", "app_cookie"),
	"stickiness.lb_cookie.duration_seconds":       intIn(1, 604800),
	"stickiness.app_cookie.cookie_name":           func(string) bool { return true },
	"stickiness.app_cookie.duration_seconds":      intIn(1, 604800),
	"load_balancing.algorithm.type":               oneOf("round_robin", "least_outstanding_requests", "weighted_random"),
	"load_balancing.algorithm.anomaly_mitigation": oneOf("on", "off"),
	"load_balancing.cross_zone.enabled":           oneOf("true", "false", "use_load_balancer_configuration"),
	"slow_start.duration_seconds":                 func(v string) bool { return v == "0" || intIn(30, 900)(v) },
	"target_group_health.dns_failover.minimum_healthy_targets.count": func(v string) bool {
		return v == "off" || intIn(1, 1<<20)(v)
	},
}

func defaultAttributes() map[string]string {
	return map[string]string{
		AttrDeregistrationDelay:                                          "300",
		"stickiness.enabled":                                             "false",
		"stickiness.type":                                                "lb_cookie",
		"stickiness.lb_cookie.duration_seconds":                          "86400",
		"stickiness.app_cookie.cookie_name":                              "",
		"stickiness.app_cookie.duration_seconds":                         "86400",
		"load_balancing.algorithm.type":                                  "round_robin",
		"load_balancing.algorithm.anomaly_mitigation":                    "off",
		"load_balancing.cross_zone.enabled":                              "use_load_balancer_configuration",
		"slow_start.duration_seconds":                                    "0",
		"target_group_health.dns_failover.minimum_healthy_targets.count": "1",
	}
}

func intIn(lo, hi int) func(string) bool {
	return func(v string) bool {
		n, err := strconv.Atoi(v)
		return err == nil && n >= lo && n <= hi
	}
}

func oneOf(vals ...string) func(string) bool {
	return func(v string) bool { return contains(vals, v) }
}

// deregistrationDelay is how long a deregistered target of g drains.
func (g *targetGroup) deregistrationDelay() time.Duration {
	n, _ := strconv.Atoi(g.attrs[AttrDeregistrationDelay])
	return time.Duration(n) * time.Second
}

func (g *targetGroup) attributeList() []types.TargetGroupAttribute {
	out := make([]types.TargetGroupAttribute, 0, len(g.attrs))
	for _, k := range sortedKeys(g.attrs) {
		out = append(out, types.TargetGroupAttribute{Key: ptr(k), Value: ptr(g.attrs[k])})
	}
	return out
}

func (f *Fake) describeTargetGroupAttributes(in *elbv2.DescribeTargetGroupAttributesInput) (*elbv2.DescribeTargetGroupAttributesOutput, error) {
	g := f.tgs[deref(in.TargetGroupArn)]
	if g == nil {
		return nil, errTargetGroupNotFound(deref(in.TargetGroupArn))
	}
	return &elbv2.DescribeTargetGroupAttributesOutput{Attributes: g.attributeList()}, nil
}

func (f *Fake) modifyTargetGroupAttributes(in *elbv2.ModifyTargetGroupAttributesInput) (*elbv2.ModifyTargetGroupAttributesOutput, error) {
	g := f.tgs[deref(in.TargetGroupArn)]
	if g == nil {
		return nil, errTargetGroupNotFound(deref(in.TargetGroupArn))
	}
	if len(in.Attributes) == 0 {
		return nil, invalid("Attributes must not be empty")
	}
	for _, a := range in.Attributes {
		ok, known := attributeRules[deref(a.Key)]
		if !known {
			return nil, invalid("Target group attribute key '%s' is not recognized", deref(a.Key))
		}
		if !ok(deref(a.Value)) {
			return nil, invalid("'%s' is not a valid value for target group attribute '%s'", deref(a.Value), *a.Key)
		}
	}
	for _, a := range in.Attributes {
		g.attrs[*a.Key] = deref(a.Value)
	}
	return &elbv2.ModifyTargetGroupAttributesOutput{Attributes: g.attributeList()}, nil
}
