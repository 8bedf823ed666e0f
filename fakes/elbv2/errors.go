package elbv2

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
)

// The errors are the SDK's own types, so callers handle the fake's errors exactly as AWS's; the
// Query protocol sends their ErrorCode and the SDK rebuilds the same types.

func invalid(format string, args ...any) error {
	return &smithy.GenericAPIError{Code: "ValidationError", Message: fmt.Sprintf(format, args...), Fault: smithy.FaultClient}
}

func msg(format string, args ...any) *string {
	s := fmt.Sprintf(format, args...)
	return &s
}

func errLoadBalancerNotFound(arn string) error {
	return &types.LoadBalancerNotFoundException{Message: msg("Load balancers '[%s]' not found", arn)}
}

func errListenerNotFound(arn string) error {
	return &types.ListenerNotFoundException{Message: msg("Listeners '[%s]' not found", arn)}
}

func errRuleNotFound(arn string) error {
	return &types.RuleNotFoundException{Message: msg("Rules '[%s]' not found", arn)}
}

func errTargetGroupNotFound(arn string) error {
	return &types.TargetGroupNotFoundException{Message: msg("Target groups '[%s]' not found", arn)}
}

// errNotFound is the NotFound error of the kind of resource an ARN names.
func errNotFound(arn string) error {
	switch kindOf(arn) {
	case kindLoadBalancer:
		return errLoadBalancerNotFound(arn)
	case kindListener:
		return errListenerNotFound(arn)
	case kindRule:
		return errRuleNotFound(arn)
	case kindTargetGroup:
		return errTargetGroupNotFound(arn)
	}
	return invalid("'%s' is not a valid load balancer, listener, rule or target group ARN", arn)
}

// errThrottled is what AWS answers when a bucket is empty; the SDK's retryers classify the code
// "Throttling" as a throttle (retry.DefaultThrottleErrorCodes).
func errThrottled() error {
	return &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded", Fault: smithy.FaultClient}
}

// errInjected is an injected fault: server codes are server faults (HTTP 5xx on the wire).
func errInjected(code string) error {
	fault := smithy.FaultClient
	if code == "InternalFailure" || code == "ServiceUnavailable" || code == "InternalError" {
		fault = smithy.FaultServer
	}
	return &smithy.GenericAPIError{Code: code, Message: "injected fault", Fault: fault}
}
