package awslbc

import (
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2sdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	k8stypes "k8s.io/apimachinery/pkg/types"
)

// tagBatch is how many ARNs one DescribeTags call takes.
const tagBatch = 20

// stackTargetGroups lists the target groups tagged with a stack (and this cluster), as the LBC
// finds them again: every group of the account, then their tags in batches.
func (c *Controller) stackTargetGroups(id k8stypes.NamespacedName) ([]types.TargetGroup, error) {
	var all []types.TargetGroup
	var marker *string
	for {
		out, err := call(c, "DescribeTargetGroups", c.api.DescribeTargetGroups, &elbv2sdk.DescribeTargetGroupsInput{Marker: marker})
		if err != nil {
			return nil, err
		}
		all = append(all, out.TargetGroups...)
		if marker = out.NextMarker; marker == nil {
			break
		}
	}
	var mine []types.TargetGroup
	for start := 0; start < len(all); start += tagBatch {
		batch := all[start:min(start+tagBatch, len(all))]
		arns := make([]string, len(batch))
		for i, tg := range batch {
			arns[i] = *tg.TargetGroupArn
		}
		out, err := call(c, "DescribeTags", c.api.DescribeTags, &elbv2sdk.DescribeTagsInput{ResourceArns: arns})
		if err != nil {
			return nil, err
		}
		for i, d := range out.TagDescriptions {
			if tag(d.Tags, tagStack) == id.String() && tag(d.Tags, tagCluster) == c.cfg.ClusterName {
				mine = append(mine, batch[i])
			}
		}
	}
	return mine, nil
}

func tag(tags []types.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

// ensureTargetGroups creates the stack's missing target groups and brings the settings of
// the others to what the annotations say.
func (r *ingressRun) ensureTargetGroups() error {
	for _, tg := range r.spec.tgs {
		if cur, ok := r.tgs[tg.name]; ok {
			r.arns[tg.name] = *cur.TargetGroupArn
			if err := r.updateTargetGroup(cur, tg); err != nil {
				return err
			}
			continue
		}
		if err := r.createTargetGroup(tg); err != nil {
			return err
		}
	}
	return nil
}

func (r *ingressRun) createTargetGroup(tg tgSpec) error {
	c := r.c
	out, err := call(c, "CreateTargetGroup", c.api.CreateTargetGroup, &elbv2sdk.CreateTargetGroupInput{
		Name: aws.String(tg.name), Protocol: types.ProtocolEnumHttp, ProtocolVersion: aws.String("HTTP1"),
		Port: aws.Int32(tg.tgPort), TargetType: types.TargetTypeEnumIp,
		HealthCheckProtocol: types.ProtocolEnumHttp, HealthCheckPort: aws.String("traffic-port"),
		HealthCheckPath: aws.String(tg.hc.path), HealthCheckIntervalSeconds: aws.Int32(tg.hc.interval),
		HealthCheckTimeoutSeconds: aws.Int32(tg.hc.timeout), HealthyThresholdCount: aws.Int32(tg.hc.healthy),
		UnhealthyThresholdCount: aws.Int32(tg.hc.unhealth), Matcher: &types.Matcher{HttpCode: aws.String("200")},
		Tags: c.stackTags(r.spec.id, types.Tag{Key: aws.String(tagResource), Value: aws.String(tg.resID)}),
	})
	if err != nil {
		return err
	}
	created := out.TargetGroups[0]
	r.arns[tg.name] = *created.TargetGroupArn
	r.change(Event{Kind: EventCreated, Resource: *created.TargetGroupArn}, "created target group "+tg.resID)
	if len(tg.attrs) == 0 {
		return nil
	}
	return r.setAttributes(*created.TargetGroupArn, tg.attrs)
}

// updateTargetGroup modifies the health check or the attributes of an existing group when
// they differ from what is asked for.
func (r *ingressRun) updateTargetGroup(cur types.TargetGroup, tg tgSpec) error {
	c := r.c
	have := healthCheck{path: aws.ToString(cur.HealthCheckPath), interval: aws.ToInt32(cur.HealthCheckIntervalSeconds),
		timeout: aws.ToInt32(cur.HealthCheckTimeoutSeconds), healthy: aws.ToInt32(cur.HealthyThresholdCount),
		unhealth: aws.ToInt32(cur.UnhealthyThresholdCount)}
	if have != tg.hc {
		_, err := call(c, "ModifyTargetGroup", c.api.ModifyTargetGroup, &elbv2sdk.ModifyTargetGroupInput{
			TargetGroupArn: cur.TargetGroupArn, HealthCheckPath: aws.String(tg.hc.path),
			HealthCheckIntervalSeconds: aws.Int32(tg.hc.interval), HealthCheckTimeoutSeconds: aws.Int32(tg.hc.timeout),
			HealthyThresholdCount: aws.Int32(tg.hc.healthy), UnhealthyThresholdCount: aws.Int32(tg.hc.unhealth),
		})
		if err != nil {
			return err
		}
		r.change(Event{Kind: EventUpdated, Resource: *cur.TargetGroupArn}, "modified health check of "+tg.resID)
	}
	if len(tg.attrs) == 0 {
		return nil
	}
	out, err := call(c, "DescribeTargetGroupAttributes", c.api.DescribeTargetGroupAttributes,
		&elbv2sdk.DescribeTargetGroupAttributesInput{TargetGroupArn: cur.TargetGroupArn})
	if err != nil {
		return err
	}
	diff := map[string]string{}
	for k, v := range tg.attrs {
		if attribute(out.Attributes, k) != v {
			diff[k] = v
		}
	}
	if len(diff) == 0 {
		return nil
	}
	if err := r.setAttributes(*cur.TargetGroupArn, diff); err != nil {
		return err
	}
	r.change(Event{Kind: EventUpdated, Resource: *cur.TargetGroupArn}, "modified attributes of "+tg.resID)
	return nil
}

func attribute(attrs []types.TargetGroupAttribute, key string) string {
	for _, a := range attrs {
		if aws.ToString(a.Key) == key {
			return aws.ToString(a.Value)
		}
	}
	return ""
}

func (r *ingressRun) setAttributes(arn string, attrs map[string]string) error {
	var in []types.TargetGroupAttribute
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		in = append(in, types.TargetGroupAttribute{Key: aws.String(k), Value: aws.String(attrs[k])})
	}
	_, err := call(r.c, "ModifyTargetGroupAttributes", r.c.api.ModifyTargetGroupAttributes,
		&elbv2sdk.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(arn), Attributes: in})
	return err
}

// deleteUnusedTargetGroups deletes the stack's groups no backend uses any more (the rules
// stopped forwarding to them earlier in the reconcile).
func (r *ingressRun) deleteUnusedTargetGroups() error {
	want := map[string]bool{}
	for _, tg := range r.spec.tgs {
		want[tg.name] = true
	}
	for _, name := range slices.Sorted(maps.Keys(r.tgs)) {
		if want[name] {
			continue
		}
		if err := r.c.deleteTargetGroup(r.spec.id, r.tgs[name]); err != nil {
			return err
		}
		r.changes = append(r.changes, "deleted target group "+name)
	}
	return nil
}

func (c *Controller) deleteTargetGroup(id k8stypes.NamespacedName, tg types.TargetGroup) error {
	if _, err := call(c, "DeleteTargetGroup", c.api.DeleteTargetGroup, &elbv2sdk.DeleteTargetGroupInput{TargetGroupArn: tg.TargetGroupArn}); err != nil {
		return err
	}
	c.emit(Event{Kind: EventDeleted, Object: id.String(), Resource: *tg.TargetGroupArn, Message: "target group " + aws.ToString(tg.TargetGroupName)})
	return nil
}
