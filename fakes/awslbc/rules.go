package awslbc

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// sdkActions turns an action into ELBv2's, with the target groups' ARNs (by name).
func (a actionSpec) sdkActions(arns map[string]string) []types.Action {
	if a.fixed != "" {
		return []types.Action{{Type: types.ActionTypeEnumFixedResponse,
			FixedResponseConfig: &types.FixedResponseActionConfig{StatusCode: aws.String(a.fixed), ContentType: aws.String("text/plain")}}}
	}
	fc := &types.ForwardActionConfig{}
	for _, w := range a.forward {
		fc.TargetGroups = append(fc.TargetGroups, types.TargetGroupTuple{TargetGroupArn: aws.String(arns[w.tg]), Weight: aws.Int32(w.weight)})
	}
	if a.sticky != nil {
		fc.TargetGroupStickinessConfig = &types.TargetGroupStickinessConfig{Enabled: aws.Bool(true), DurationSeconds: aws.Int32(int32(a.sticky.DurationSeconds))}
	}
	return []types.Action{{Type: types.ActionTypeEnumForward, ForwardConfig: fc}}
}

// sdkConditions are a rule's conditions: host header, then path patterns.
func (r ruleSpec) sdkConditions() []types.RuleCondition {
	var out []types.RuleCondition
	if r.host != "" {
		out = append(out, types.RuleCondition{Field: aws.String("host-header"), HostHeaderConfig: &types.HostHeaderConditionConfig{Values: []string{r.host}}})
	}
	return append(out, types.RuleCondition{Field: aws.String("path-pattern"), PathPatternConfig: &types.PathPatternConditionConfig{Values: r.paths}})
}

// actionsKey is a canonical form of actions, so that what AWS describes compares equal to what
// was asked for (AWS fills in defaults: weight 1, stickiness off, a lone group's ARN).
func actionsKey(actions []types.Action) string {
	var b strings.Builder
	for _, a := range actions {
		switch a.Type {
		case types.ActionTypeEnumForward:
			b.WriteString("forward[")
			for _, t := range forwardTuples(a) {
				fmt.Fprintf(&b, "%s=%d ", aws.ToString(t.TargetGroupArn), weightOf(t))
			}
			b.WriteString("]")
			if fc := a.ForwardConfig; fc != nil && fc.TargetGroupStickinessConfig != nil && aws.ToBool(fc.TargetGroupStickinessConfig.Enabled) {
				fmt.Fprintf(&b, "sticky=%d", aws.ToInt32(fc.TargetGroupStickinessConfig.DurationSeconds))
			}
		case types.ActionTypeEnumFixedResponse:
			b.WriteString("fixed=" + aws.ToString(a.FixedResponseConfig.StatusCode))
		default:
			b.WriteString(string(a.Type))
		}
		b.WriteString(";")
	}
	return b.String()
}

func forwardTuples(a types.Action) []types.TargetGroupTuple {
	if a.ForwardConfig != nil && len(a.ForwardConfig.TargetGroups) > 0 {
		return a.ForwardConfig.TargetGroups
	}
	if a.TargetGroupArn != nil {
		return []types.TargetGroupTuple{{TargetGroupArn: a.TargetGroupArn}}
	}
	return nil
}

func weightOf(t types.TargetGroupTuple) int32 {
	if t.Weight == nil {
		return 1
	}
	return *t.Weight
}

// conditionsKey is a canonical form of rule conditions.
func conditionsKey(conds []types.RuleCondition) string {
	var b strings.Builder
	for _, c := range conds {
		vals := c.Values
		switch {
		case c.PathPatternConfig != nil && len(c.PathPatternConfig.Values) > 0:
			vals = c.PathPatternConfig.Values
		case c.HostHeaderConfig != nil && len(c.HostHeaderConfig.Values) > 0:
			vals = c.HostHeaderConfig.Values
		}
		fmt.Fprintf(&b, "%s=%s;", aws.ToString(c.Field), strings.Join(vals, ","))
	}
	return b.String()
}

// describeAction says what an action does in words for the trace: "ns/ing-canary:80=5
// ns/ing-stable:80=95", with the target groups' resource IDs.
func (a actionSpec) describe(resIDs map[string]string) string {
	if a.fixed != "" {
		return "fixed-response " + a.fixed
	}
	parts := make([]string, len(a.forward))
	for i, w := range a.forward {
		parts[i] = fmt.Sprintf("%s=%d", resIDs[w.tg], w.weight)
	}
	return "forward " + strings.Join(parts, " ")
}
