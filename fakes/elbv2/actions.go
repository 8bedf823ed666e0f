package elbv2

import (
	"reflect"
	"sort"

	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// checkActions validates a rule's actions for a load balancer and returns them as AWS stores and
// describes them: sorted by Order (set to 1 for a lone action), every forward with a
// ForwardConfig that has weights (default 1) and a stickiness config, and a TargetGroupArn when
// it forwards to a single group.
func (f *Fake) checkActions(lbArn string, actions []types.Action) ([]types.Action, error) {
	if len(actions) == 0 {
		return nil, invalid("At least one action must be specified")
	}
	out := clone(actions)
	for i := range out {
		if out[i].Order == nil {
			if len(out) > 1 {
				return nil, invalid("Order must be specified for every action when there are several")
			}
			out[i].Order = ptr(int32(1))
		}
		if o := *out[i].Order; o < 1 || o > 50000 {
			return nil, invalid("Action order must be between 1 and 50000")
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return *out[i].Order < *out[j].Order })
	for i := range out {
		a := &out[i]
		if i > 0 && *a.Order == *out[i-1].Order {
			return nil, invalid("Action order %d is used twice", *a.Order)
		}
		terminal := isTerminal(a.Type)
		if terminal != (i == len(out)-1) {
			return nil, &types.InvalidLoadBalancerActionException{Message: msg(
				"The last action must be forward, redirect or fixed-response, and only the last")}
		}
		var err error
		switch a.Type {
		case types.ActionTypeEnumForward:
			err = f.checkForward(lbArn, a)
		case types.ActionTypeEnumFixedResponse:
			err = checkFixedResponse(a.FixedResponseConfig)
		case types.ActionTypeEnumRedirect:
			if a.RedirectConfig == nil || (a.RedirectConfig.StatusCode != types.RedirectActionStatusCodeEnumHttp301 &&
				a.RedirectConfig.StatusCode != types.RedirectActionStatusCodeEnumHttp302) {
				err = invalid("A redirect action needs a RedirectConfig with StatusCode HTTP_301 or HTTP_302")
			}
		case types.ActionTypeEnumAuthenticateOidc, types.ActionTypeEnumAuthenticateCognito, types.ActionTypeEnumJwtValidation:
		default:
			err = invalid("Action type '%s' must be one of forward, redirect, fixed-response, authenticate-oidc, authenticate-cognito, jwt-validation", a.Type)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func isTerminal(t types.ActionTypeEnum) bool {
	return t == types.ActionTypeEnumForward || t == types.ActionTypeEnumRedirect || t == types.ActionTypeEnumFixedResponse
}

func checkFixedResponse(c *types.FixedResponseActionConfig) error {
	code := deref(deref(c).StatusCode)
	if c == nil || len(code) != 3 || (code[0] != '2' && code[0] != '4' && code[0] != '5') ||
		code[1] < '0' || code[1] > '9' || code[2] < '0' || code[2] > '9' {
		return invalid("A fixed-response action needs a StatusCode of the form 2XX, 4XX or 5XX")
	}
	return nil
}

// checkForward validates and normalises a forward action in place.
func (f *Fake) checkForward(lbArn string, a *types.Action) error {
	var tuples []types.TargetGroupTuple
	switch {
	case a.ForwardConfig != nil && len(a.ForwardConfig.TargetGroups) > 0:
		tuples = a.ForwardConfig.TargetGroups
		if a.TargetGroupArn != nil && (len(tuples) != 1 || deref(tuples[0].TargetGroupArn) != *a.TargetGroupArn) {
			return invalid("TargetGroupArn and ForwardConfig must name the same single target group when both are given")
		}
	case a.TargetGroupArn != nil:
		tuples = []types.TargetGroupTuple{{TargetGroupArn: a.TargetGroupArn}}
	default:
		return invalid("A forward action needs a TargetGroupArn or a ForwardConfig with target groups")
	}
	if len(tuples) > 5 {
		return invalid("A forward action can have at most 5 target groups")
	}
	seen := map[string]bool{}
	for i := range tuples {
		arn := deref(tuples[i].TargetGroupArn)
		if f.tgs[arn] == nil {
			return errTargetGroupNotFound(arn)
		}
		if seen[arn] {
			return invalid("Target group '%s' appears twice in one forward action", arn)
		}
		seen[arn] = true
		if tuples[i].Weight == nil {
			tuples[i].Weight = ptr(int32(1))
		}
		if w := *tuples[i].Weight; w < 0 || w > 999 {
			return invalid("Target group weight must be between 0 and 999")
		}
		for _, other := range f.lbsOfTG(arn) {
			if other != lbArn {
				return &types.TargetGroupAssociationLimitException{Message: msg(
					"The target group '%s' is already associated with load balancer '%s'", arn, other)}
			}
		}
	}
	var stick *types.TargetGroupStickinessConfig
	if a.ForwardConfig != nil {
		stick = a.ForwardConfig.TargetGroupStickinessConfig
	}
	if stick == nil {
		stick = &types.TargetGroupStickinessConfig{Enabled: ptr(false)}
	}
	if deref(stick.Enabled) {
		if d := deref(stick.DurationSeconds); d < 1 || d > 604800 {
			return invalid("Stickiness duration must be between 1 and 604800 seconds")
		}
	}
	a.ForwardConfig = &types.ForwardActionConfig{TargetGroups: tuples, TargetGroupStickinessConfig: stick}
	a.TargetGroupArn = nil
	if len(tuples) == 1 {
		a.TargetGroupArn = tuples[0].TargetGroupArn
	}
	return nil
}

// forwardGroups lists the target groups an action forwards to.
func forwardGroups(a types.Action) []string {
	if a.Type != types.ActionTypeEnumForward {
		return nil
	}
	var out []string
	if a.ForwardConfig != nil {
		for _, t := range a.ForwardConfig.TargetGroups {
			out = append(out, deref(t.TargetGroupArn))
		}
	} else if a.TargetGroupArn != nil {
		out = append(out, *a.TargetGroupArn)
	}
	return out
}

// checkConditions validates a rule's conditions and returns them as AWS describes them: path
// and host patterns both in Values and in their config.
func checkConditions(conds []types.RuleCondition) ([]types.RuleCondition, error) {
	if len(conds) == 0 {
		return nil, invalid("At least one condition must be specified")
	}
	out := clone(conds)
	for i := range out {
		c := &out[i]
		var err error
		switch deref(c.Field) {
		case "path-pattern":
			if c.PathPatternConfig == nil {
				c.PathPatternConfig = &types.PathPatternConditionConfig{}
			}
			c.Values, err = patternValues(c.Values, &c.PathPatternConfig.Values)
		case "host-header":
			if c.HostHeaderConfig == nil {
				c.HostHeaderConfig = &types.HostHeaderConditionConfig{}
			}
			c.Values, err = patternValues(c.Values, &c.HostHeaderConfig.Values)
		case "http-header":
			h := c.HttpHeaderConfig
			if h == nil || deref(h.HttpHeaderName) == "" || len(h.Values) == 0 {
				err = invalid("An http-header condition needs an HttpHeaderConfig with a name and values")
			}
		case "http-request-method", "query-string", "source-ip":
		default:
			err = invalid("Condition field '%s' must be one of path-pattern, host-header, http-header, "+
				"http-request-method, query-string, source-ip", deref(c.Field))
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// patternValues merges the legacy Values with the config's values: either may be given, not
// two different lists.
func patternValues(legacy []string, cfg *[]string) ([]string, error) {
	vals := *cfg
	if len(vals) == 0 {
		vals = legacy
	} else if len(legacy) > 0 && !reflect.DeepEqual(legacy, vals) {
		return nil, invalid("Values and the condition config cannot both be given")
	}
	if len(vals) == 0 {
		return nil, invalid("A pattern condition needs at least one value")
	}
	for _, v := range vals {
		if v == "" || len(v) > 128 {
			return nil, invalid("Pattern values must have 1 to 128 characters")
		}
	}
	*cfg = clone(vals)
	return clone(vals), nil
}
