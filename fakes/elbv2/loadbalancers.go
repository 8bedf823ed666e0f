package elbv2

import (
	"fmt"
	"strings"
	"time"

	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

func (f *Fake) createLoadBalancer(in *elbv2.CreateLoadBalancerInput) (*elbv2.CreateLoadBalancerOutput, error) {
	name := deref(in.Name)
	if err := validName("Load balancer", name); err != nil {
		return nil, err
	}
	if strings.HasPrefix(name, "internal-") {
		return nil, invalid("Load balancer name '%s' cannot begin with 'internal-'", name)
	}
	if in.Type != "" && in.Type != types.LoadBalancerTypeEnumApplication {
		return nil, invalid("Load balancer type '%s' is not modelled: only application load balancers are", in.Type)
	}
	scheme := in.Scheme
	switch scheme {
	case "":
		scheme = types.LoadBalancerSchemeEnumInternetFacing
	case types.LoadBalancerSchemeEnumInternetFacing, types.LoadBalancerSchemeEnumInternal:
	default:
		return nil, invalid("Scheme '%s' must be 'internet-facing' or 'internal'", scheme)
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	for _, lb := range f.sortedLBs() {
		if *lb.desc.LoadBalancerName == name { // AWS's create is idempotent by name
			return &elbv2.CreateLoadBalancerOutput{LoadBalancers: []types.LoadBalancer{clone(lb.desc)}}, nil
		}
	}
	id, sum := f.newID("loadbalancer", name)
	dns := fmt.Sprintf("%s-%d.%s.elb.amazonaws.com", name, 1_000_000_000+sum%9_000_000_000, Region)
	if scheme == types.LoadBalancerSchemeEnumInternal {
		dns = "internal-" + dns
	}
	ipType := in.IpAddressType
	if ipType == "" {
		ipType = types.IpAddressTypeIpv4
	}
	lb := &loadBalancer{seq: f.seq, id: id, desc: types.LoadBalancer{
		LoadBalancerArn:       ptr(arnPrefix + "loadbalancer/app/" + name + "/" + id),
		LoadBalancerName:      ptr(name),
		DNSName:               ptr(dns),
		CanonicalHostedZoneId: ptr(hostedZone),
		CreatedTime:           ptr(f.now().UTC().Truncate(time.Millisecond)), // the wire carries milliseconds
		Scheme:                scheme,
		Type:                  types.LoadBalancerTypeEnumApplication,
		IpAddressType:         ipType,
		VpcId:                 ptr(VpcID),
		State:                 &types.LoadBalancerState{Code: types.LoadBalancerStateEnumActive},
		SecurityGroups:        clone(in.SecurityGroups),
		AvailabilityZones:     zones(in.Subnets),
	}}
	f.lbs[*lb.desc.LoadBalancerArn] = lb
	f.setTags(*lb.desc.LoadBalancerArn, in.Tags)
	return &elbv2.CreateLoadBalancerOutput{LoadBalancers: []types.LoadBalancer{clone(lb.desc)}}, nil
}

// zones places the subnets in consecutive zones; without subnets it invents two, as an ALB
// needs two zones.
func zones(subnets []string) []types.AvailabilityZone {
	if len(subnets) == 0 {
		subnets = []string{"subnet-0a00000000000000a", "subnet-0b00000000000000b"}
	}
	out := make([]types.AvailabilityZone, len(subnets))
	for i, s := range subnets {
		out[i] = types.AvailabilityZone{SubnetId: ptr(s), ZoneName: ptr(fmt.Sprintf("%s%c", Region, 'a'+i%6))}
	}
	return out
}

func (f *Fake) describeLoadBalancers(in *elbv2.DescribeLoadBalancersInput) (*elbv2.DescribeLoadBalancersOutput, error) {
	if len(in.LoadBalancerArns) > 0 && len(in.Names) > 0 {
		return nil, invalid("Load balancer names and load balancer ARNs cannot be specified at the same time")
	}
	all := f.sortedLBs()
	var sel []*loadBalancer
	switch {
	case len(in.LoadBalancerArns) > 0:
		for _, arn := range in.LoadBalancerArns {
			if f.lbs[arn] == nil {
				return nil, errLoadBalancerNotFound(arn)
			}
		}
		sel = filter(all, func(lb *loadBalancer) bool { return contains(in.LoadBalancerArns, *lb.desc.LoadBalancerArn) })
	case len(in.Names) > 0:
		for _, name := range in.Names {
			if !anyOf(all, func(lb *loadBalancer) bool { return *lb.desc.LoadBalancerName == name }) {
				return nil, &types.LoadBalancerNotFoundException{Message: msg("Load balancers '[%s]' not found", name)}
			}
		}
		sel = filter(all, func(lb *loadBalancer) bool { return contains(in.Names, *lb.desc.LoadBalancerName) })
	default:
		sel = all
	}
	items, next, err := page(sel, in.Marker, in.PageSize)
	if err != nil {
		return nil, err
	}
	out := &elbv2.DescribeLoadBalancersOutput{LoadBalancers: []types.LoadBalancer{}, NextMarker: next}
	for _, lb := range items {
		out.LoadBalancers = append(out.LoadBalancers, clone(lb.desc))
	}
	return out, nil
}

// deleteLoadBalancer removes the LB with its listeners and rules; deleting an unknown LB
// succeeds, as on AWS.
func (f *Fake) deleteLoadBalancer(in *elbv2.DeleteLoadBalancerInput) (*elbv2.DeleteLoadBalancerOutput, error) {
	arn := deref(in.LoadBalancerArn)
	lb := f.lbs[arn]
	if lb == nil {
		if kindOf(arn) != kindLoadBalancer {
			return nil, invalid("'%s' is not a valid load balancer ARN", arn)
		}
		return &elbv2.DeleteLoadBalancerOutput{}, nil
	}
	for _, l := range append([]string(nil), lb.listeners...) {
		f.removeListener(f.listeners[l])
	}
	delete(f.lbs, arn)
	delete(f.tags, arn)
	f.refreshUsage()
	return &elbv2.DeleteLoadBalancerOutput{}, nil
}

func filter[T any](xs []T, keep func(T) bool) []T {
	var out []T
	for _, x := range xs {
		if keep(x) {
			out = append(out, x)
		}
	}
	return out
}

func anyOf[T any](xs []T, pred func(T) bool) bool {
	for _, x := range xs {
		if pred(x) {
			return true
		}
	}
	return false
}

func contains(xs []string, s string) bool {
	return anyOf(xs, func(x string) bool { return x == s })
}
