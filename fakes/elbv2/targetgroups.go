package elbv2

import (
	"strconv"

	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// Target group defaults of the AWS API (the AWS Load Balancer Controller sets its own).
const (
	defaultInterval  = 30
	defaultTimeout   = 5
	defaultHealthy   = 5
	defaultUnhealthy = 2
	// AttrDeregistrationDelay is the attribute that sets how long targets drain, in seconds.
	AttrDeregistrationDelay = "deregistration_delay.timeout_seconds"
)

func (f *Fake) createTargetGroup(in *elbv2.CreateTargetGroupInput) (*elbv2.CreateTargetGroupOutput, error) {
	name := deref(in.Name)
	if err := validName("Target group", name); err != nil {
		return nil, err
	}
	tt := in.TargetType
	switch tt {
	case "":
		tt = types.TargetTypeEnumInstance
	case types.TargetTypeEnumInstance, types.TargetTypeEnumIp:
	default:
		return nil, invalid("Target type '%s' is not modelled: only instance and ip are", tt)
	}
	if in.Protocol != types.ProtocolEnumHttp && in.Protocol != types.ProtocolEnumHttps {
		return nil, invalid("Protocol must be HTTP or HTTPS for an application load balancer's target group")
	}
	if err := checkPort(in.Port); err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	desc := types.TargetGroup{
		TargetGroupName:            ptr(name),
		Protocol:                   in.Protocol,
		ProtocolVersion:            ptr("HTTP1"),
		Port:                       ptr(*in.Port),
		TargetType:                 tt,
		VpcId:                      ptr(VpcID),
		IpAddressType:              types.TargetGroupIpAddressTypeEnumIpv4,
		HealthCheckEnabled:         ptr(true),
		HealthCheckProtocol:        in.Protocol,
		HealthCheckPort:            ptr("traffic-port"),
		HealthCheckPath:            ptr("/"),
		HealthCheckIntervalSeconds: ptr(int32(defaultInterval)),
		HealthCheckTimeoutSeconds:  ptr(int32(defaultTimeout)),
		HealthyThresholdCount:      ptr(int32(defaultHealthy)),
		UnhealthyThresholdCount:    ptr(int32(defaultUnhealthy)),
		Matcher:                    &types.Matcher{HttpCode: ptr("200")},
	}
	if in.VpcId != nil {
		desc.VpcId = ptr(*in.VpcId)
	}
	if in.ProtocolVersion != nil {
		desc.ProtocolVersion = ptr(*in.ProtocolVersion)
	}
	err := applyHealthCheck(&desc, healthCheck{in.HealthCheckEnabled, in.HealthCheckIntervalSeconds, in.HealthCheckPath,
		in.HealthCheckPort, in.HealthCheckProtocol, in.HealthCheckTimeoutSeconds, in.HealthyThresholdCount,
		in.Matcher, in.UnhealthyThresholdCount})
	if err != nil {
		return nil, err
	}
	for _, g := range f.sortedTGs() {
		if *g.desc.TargetGroupName != name {
			continue
		}
		// AWS's create is idempotent by name when the settings match.
		if *g.desc.Port == *desc.Port && g.desc.Protocol == desc.Protocol && g.desc.TargetType == desc.TargetType {
			return &elbv2.CreateTargetGroupOutput{TargetGroups: []types.TargetGroup{f.tgDesc(g)}}, nil
		}
		return nil, &types.DuplicateTargetGroupNameException{Message: msg("A target group with the same name '%s' exists, but with different settings", name)}
	}
	id, _ := f.newID("targetgroup", name)
	desc.TargetGroupArn = ptr(arnPrefix + "targetgroup/" + name + "/" + id)
	g := &targetGroup{seq: f.seq, desc: desc, attrs: defaultAttributes(), targets: map[targetKey]*target{}}
	f.tgs[g.arn()] = g
	f.setTags(g.arn(), in.Tags)
	return &elbv2.CreateTargetGroupOutput{TargetGroups: []types.TargetGroup{f.tgDesc(g)}}, nil
}

// healthCheck holds the health-check fields CreateTargetGroup and ModifyTargetGroup share.
type healthCheck struct {
	enabled          *bool
	interval         *int32
	path, port       *string
	protocol         types.ProtocolEnum
	timeout, healthy *int32
	matcher          *types.Matcher
	unhealthy        *int32
}

// applyHealthCheck validates the given fields against the result and sets them on d.
func applyHealthCheck(d *types.TargetGroup, h healthCheck) error {
	next := clone(*d)
	if h.enabled != nil {
		if !*h.enabled {
			return &types.InvalidConfigurationRequestException{Message: msg("Health checks cannot be disabled for instance and ip target groups")}
		}
	}
	set := func(dst **int32, v *int32, lo, hi int32, what string) error {
		if v == nil {
			return nil
		}
		if *v < lo || *v > hi {
			return invalid("%s must be between %d and %d", what, lo, hi)
		}
		*dst = ptr(*v)
		return nil
	}
	for _, err := range []error{
		set(&next.HealthCheckIntervalSeconds, h.interval, 5, 300, "Health check interval"),
		set(&next.HealthCheckTimeoutSeconds, h.timeout, 2, 120, "Health check timeout"),
		set(&next.HealthyThresholdCount, h.healthy, 2, 10, "Healthy threshold count"),
		set(&next.UnhealthyThresholdCount, h.unhealthy, 2, 10, "Unhealthy threshold count"),
	} {
		if err != nil {
			return err
		}
	}
	if *next.HealthCheckTimeoutSeconds >= *next.HealthCheckIntervalSeconds {
		return invalid("Health check timeout must be smaller than the interval")
	}
	if h.path != nil {
		if len(*h.path) == 0 || (*h.path)[0] != '/' {
			return invalid("Health check path must begin with '/'")
		}
		next.HealthCheckPath = ptr(*h.path)
	}
	if h.port != nil {
		if n, err := strconv.Atoi(*h.port); *h.port != "traffic-port" && (err != nil || n < 1 || n > 65535) {
			return invalid("Health check port must be 'traffic-port' or between 1 and 65535")
		}
		next.HealthCheckPort = ptr(*h.port)
	}
	if h.protocol != "" {
		if h.protocol != types.ProtocolEnumHttp && h.protocol != types.ProtocolEnumHttps {
			return invalid("Health check protocol must be HTTP or HTTPS")
		}
		next.HealthCheckProtocol = h.protocol
	}
	if h.matcher != nil {
		next.Matcher = clone(h.matcher)
	}
	*d = next
	return nil
}

// tgDesc is a target group as Describe shows it, with the load balancers that use it.
func (f *Fake) tgDesc(g *targetGroup) types.TargetGroup {
	d := clone(g.desc)
	d.LoadBalancerArns = f.lbsOfTG(g.arn())
	return d
}

func (f *Fake) describeTargetGroups(in *elbv2.DescribeTargetGroupsInput) (*elbv2.DescribeTargetGroupsOutput, error) {
	given := 0
	for _, b := range []bool{in.LoadBalancerArn != nil, len(in.TargetGroupArns) > 0, len(in.Names) > 0} {
		if b {
			given++
		}
	}
	if given > 1 {
		return nil, invalid("Only one of LoadBalancerArn, TargetGroupArns and Names can be specified")
	}
	all := f.sortedTGs()
	sel := all
	switch {
	case in.LoadBalancerArn != nil:
		if f.lbs[*in.LoadBalancerArn] == nil {
			return nil, errLoadBalancerNotFound(*in.LoadBalancerArn)
		}
		sel = filter(all, func(g *targetGroup) bool { return contains(f.lbsOfTG(g.arn()), *in.LoadBalancerArn) })
	case len(in.TargetGroupArns) > 0:
		for _, arn := range in.TargetGroupArns {
			if f.tgs[arn] == nil {
				return nil, errTargetGroupNotFound(arn)
			}
		}
		sel = filter(all, func(g *targetGroup) bool { return contains(in.TargetGroupArns, g.arn()) })
	case len(in.Names) > 0:
		for _, name := range in.Names {
			if !anyOf(all, func(g *targetGroup) bool { return *g.desc.TargetGroupName == name }) {
				return nil, &types.TargetGroupNotFoundException{Message: msg("Target groups '[%s]' not found", name)}
			}
		}
		sel = filter(all, func(g *targetGroup) bool { return contains(in.Names, *g.desc.TargetGroupName) })
	}
	items, next, err := page(sel, in.Marker, in.PageSize)
	if err != nil {
		return nil, err
	}
	out := &elbv2.DescribeTargetGroupsOutput{TargetGroups: []types.TargetGroup{}, NextMarker: next}
	for _, g := range items {
		out.TargetGroups = append(out.TargetGroups, f.tgDesc(g))
	}
	return out, nil
}

func (f *Fake) modifyTargetGroup(in *elbv2.ModifyTargetGroupInput) (*elbv2.ModifyTargetGroupOutput, error) {
	g := f.tgs[deref(in.TargetGroupArn)]
	if g == nil {
		return nil, errTargetGroupNotFound(deref(in.TargetGroupArn))
	}
	interval := *g.desc.HealthCheckIntervalSeconds
	err := applyHealthCheck(&g.desc, healthCheck{in.HealthCheckEnabled, in.HealthCheckIntervalSeconds, in.HealthCheckPath,
		in.HealthCheckPort, in.HealthCheckProtocol, in.HealthCheckTimeoutSeconds, in.HealthyThresholdCount,
		in.Matcher, in.UnhealthyThresholdCount})
	if err != nil {
		return nil, err
	}
	if *g.desc.HealthCheckIntervalSeconds != interval {
		f.stopChecker(g)
		f.ensureChecker(g)
	}
	return &elbv2.ModifyTargetGroupOutput{TargetGroups: []types.TargetGroup{f.tgDesc(g)}}, nil
}

// deleteTargetGroup refuses a group a rule forwards to; deleting an unknown group succeeds, as
// on AWS (the SDK knows no TargetGroupNotFound for this call).
func (f *Fake) deleteTargetGroup(in *elbv2.DeleteTargetGroupInput) (*elbv2.DeleteTargetGroupOutput, error) {
	arn := deref(in.TargetGroupArn)
	g := f.tgs[arn]
	if g == nil {
		if kindOf(arn) != kindTargetGroup {
			return nil, invalid("'%s' is not a valid target group ARN", arn)
		}
		return &elbv2.DeleteTargetGroupOutput{}, nil
	}
	if len(f.lbsOfTG(arn)) > 0 {
		return nil, &types.ResourceInUseException{Message: msg("Target group '%s' is currently in use by a listener or a rule", arn)}
	}
	f.stopChecker(g)
	for _, t := range g.targets {
		if t.drain != nil {
			t.drain.Cancel()
		}
	}
	delete(f.tgs, arn)
	delete(f.tags, arn)
	return &elbv2.DeleteTargetGroupOutput{}, nil
}
