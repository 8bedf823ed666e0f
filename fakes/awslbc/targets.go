package awslbc

import (
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2sdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	corev1 "k8s.io/api/core/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"

	tgbv1 "github.com/rolloutlab/rolloutlab/engine/api/elbv2/v1beta1"
)

// syncBinding reconciles one TargetGroupBinding (the LBC's targetgroupbinding controller), or
// cleans up after a deleted one.
func (c *Controller) syncBinding(key k8stypes.NamespacedName) (time.Duration, error) {
	c.stats.BindingReconciles++
	o, ok := c.store.Peek(tgbv1.Resource, key.Namespace, key.Name)
	if !ok {
		gone := c.cleanups[key]
		if gone == nil {
			return 0, nil
		}
		if err := c.cleanupBinding(gone); err != nil {
			return 0, err
		}
		delete(c.cleanups, key)
		return 0, nil
	}
	return c.syncTargets(o.(*tgbv1.TargetGroupBinding))
}

// target is a registered target as DescribeTargetHealth reports it.
type target struct {
	key    string
	desc   types.TargetDescription
	health types.TargetHealth
}

// syncTargets makes the target group hold the Service's endpoints, then moves the readiness
// gates of its pods. Deregistration comes first, as in the LBC; the result asks for a requeue
// while a gated target is not healthy yet or an endpoint may still qualify.
func (c *Controller) syncTargets(b *tgbv1.TargetGroupBinding) (time.Duration, error) {
	if b.Spec.TargetType == nil || *b.Spec.TargetType != tgbv1.TargetTypeIP {
		return 0, fmt.Errorf("binding %s/%s: only ip targets are modelled", b.Namespace, b.Name)
	}
	svc := c.service(b.Namespace, b.Spec.ServiceRef.Name)
	var sp *corev1.ServicePort
	if svc != nil {
		sp = servicePort(svc, b.Spec.ServiceRef.Port)
	}
	if sp == nil { // the LBC's BackendNotFound: the binding is cleaned up
		return 0, c.cleanupBinding(b)
	}
	gate := corev1.PodConditionType(gateType(b.Name))
	eps, potential := c.resolveEndpoints(svc, sp, gate)
	targets, err := c.listTargets(b.Spec.TargetGroupARN)
	if err != nil {
		return 0, err
	}
	byKey := map[string]target{}
	for _, t := range targets {
		if t.health.State != types.TargetHealthStateEnumDraining {
			byKey[t.key] = t
		}
	}
	want := map[string]bool{}
	var missing []endpoint
	for _, e := range eps {
		want[e.key()] = true
		if _, ok := byKey[e.key()]; !ok {
			missing = append(missing, e)
		}
	}
	var extra []types.TargetDescription
	for _, t := range targets {
		if _, live := byKey[t.key]; live && !want[t.key] {
			extra = append(extra, t.desc)
		}
	}
	if err := c.changeTargets(b, "DeregisterTargets", extra); err != nil {
		return 0, err
	}
	if err := c.changeTargets(b, "RegisterTargets", targetDescriptions(missing)); err != nil {
		return 0, err
	}
	probe, err := c.updateGates(gate, eps, byKey)
	if err != nil {
		return 0, err
	}
	if probe || potential {
		return c.cfg.RequeueAfter, nil
	}
	return 0, nil
}

func targetDescriptions(eps []endpoint) []types.TargetDescription {
	out := make([]types.TargetDescription, len(eps))
	for i, e := range eps {
		out[i] = types.TargetDescription{Id: aws.String(e.ip), Port: aws.Int32(e.port)}
	}
	return out
}

// listTargets reads a target group's targets and their health.
func (c *Controller) listTargets(arn string) ([]target, error) {
	out, err := call(c, "DescribeTargetHealth", c.api.DescribeTargetHealth, &elbv2sdk.DescribeTargetHealthInput{TargetGroupArn: aws.String(arn)})
	if err != nil {
		return nil, err
	}
	ts := make([]target, 0, len(out.TargetHealthDescriptions))
	for _, d := range out.TargetHealthDescriptions {
		if d.Target == nil {
			continue
		}
		t := target{key: aws.ToString(d.Target.Id) + ":" + fmt.Sprint(aws.ToInt32(d.Target.Port)), desc: *d.Target}
		if d.TargetHealth != nil {
			t.health = *d.TargetHealth
		}
		ts = append(ts, t)
	}
	return ts, nil
}

// changeTargets registers or deregisters targets in chunks, reporting each call that succeeds
// (a later chunk may wait for a token or fail; what is done stays done).
func (c *Controller) changeTargets(b *tgbv1.TargetGroupBinding, op string, ts []types.TargetDescription) error {
	for start := 0; start < len(ts); start += c.cfg.ChunkSize {
		chunk := ts[start:min(start+c.cfg.ChunkSize, len(ts))]
		arn := aws.String(b.Spec.TargetGroupARN)
		var err error
		if op == "RegisterTargets" {
			_, err = call(c, op, c.api.RegisterTargets, &elbv2sdk.RegisterTargetsInput{TargetGroupArn: arn, Targets: chunk})
		} else {
			_, err = call(c, op, c.api.DeregisterTargets, &elbv2sdk.DeregisterTargetsInput{TargetGroupArn: arn, Targets: chunk})
		}
		if err != nil {
			return err
		}
		keys := make([]string, len(chunk))
		for i, t := range chunk {
			keys[i] = aws.ToString(t.Id) + ":" + fmt.Sprint(aws.ToInt32(t.Port))
		}
		e := Event{Kind: EventRegistered, Object: b.Namespace + "/" + b.Name, Resource: b.Spec.TargetGroupARN, Targets: keys}
		if op == "RegisterTargets" {
			c.stats.Registered += len(chunk)
		} else {
			e.Kind = EventDeregistered
			c.stats.Deregistered += len(chunk)
		}
		c.emit(e)
	}
	return nil
}

// cleanupBinding is what the LBC does before it lets a binding go: deregister every target,
// then mark the gates of its pods True so that they do not wait for a group that is gone.
func (c *Controller) cleanupBinding(b *tgbv1.TargetGroupBinding) error {
	targets, err := c.listTargets(b.Spec.TargetGroupARN)
	if err != nil && !isNotFound(err) {
		return err
	}
	var live []types.TargetDescription
	for _, t := range targets {
		if t.health.State != types.TargetHealthStateEnumDraining {
			live = append(live, t.desc)
		}
	}
	if err := c.changeTargets(b, "DeregisterTargets", live); err != nil && !isNotFound(err) {
		return err
	}
	return c.releaseGates(b)
}
