package awslbc

import (
	"context"
	"errors"
	"fmt"
	"time"

	elbv2sdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
)

// waitError stops a reconcile whose next call has no client-side token yet; the reconcile is
// requeued for when it will have one. What the reconcile did before stays done.
type waitError struct {
	op   string
	wait time.Duration
}

func (e *waitError) Error() string {
	return fmt.Sprintf("client-side throttle: %s waits %s", e.op, e.wait)
}

// call makes one AWS call through the client-side throttle and counts it.
func call[In, Out any](c *Controller, op string, fn func(context.Context, *In, ...func(*elbv2sdk.Options)) (*Out, error), in *In) (*Out, error) {
	if d := c.throttle.take(op, c.now()); d > 0 {
		return nil, &waitError{op: op, wait: d}
	}
	c.stats.Calls[op]++
	out, err := fn(c.ctx, in)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return out, nil
}

// isNotFound reports an ELBv2 NotFound exception of any resource kind.
func isNotFound(err error) bool {
	var lb *types.LoadBalancerNotFoundException
	var tg *types.TargetGroupNotFoundException
	var l *types.ListenerNotFoundException
	var r *types.RuleNotFoundException
	return errors.As(err, &lb) || errors.As(err, &tg) || errors.As(err, &l) || errors.As(err, &r)
}

// isAWSThrottled reports AWS refusing a call for its rate.
func isAWSThrottled(err error) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	switch api.ErrorCode() {
	case "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException":
		return true
	}
	return false
}
