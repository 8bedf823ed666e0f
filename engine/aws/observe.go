package aws

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	tgbv1 "github.com/rolloutlab/rolloutlab/engine/api/elbv2/v1beta1"
)

// DefaultResourceTagKey is the tag the AWS Load Balancer Controller puts on target groups.
const DefaultResourceTagKey = "ingress.k8s.aws/resource"

// pageSize is how many load balancers one DescribeLoadBalancers call asks for (Argo's value).
const pageSize = 300

// tagBatch is the most ARNs DescribeTags accepts.
const tagBatch = 20

// LoadBalancer is what AWS says about the load balancer behind one Ingress: the load balancer
// and, by the controller's resource tag, each target group with the weight the listener rules
// give it (nil when no rule forwards to it).
type LoadBalancer struct {
	Name, ARN, FullName, DNSName string
	TargetGroups                 map[string]TargetGroup // by resource tag value
}

// TargetGroup is a target group and its weight in the listener rules.
type TargetGroup struct {
	Name, ARN, FullName string
	Weight              *int32
}

// FindLoadBalancer looks a load balancer up by DNS name (paging through all of them). It
// returns nil, nil when there is none.
func FindLoadBalancer(ctx context.Context, c ELBv2, dnsName string) (*types.LoadBalancer, error) {
	var marker *string
	for {
		out, err := c.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{PageSize: awssdk.Int32(pageSize), Marker: marker})
		if err != nil {
			return nil, err
		}
		for i := range out.LoadBalancers {
			if awssdk.ToString(out.LoadBalancers[i].DNSName) == dnsName {
				return &out.LoadBalancers[i], nil
			}
		}
		if out.NextMarker == nil || *out.NextMarker == "" {
			return nil, nil
		}
		marker = out.NextMarker
	}
}

// DescribeLoadBalancer reads a load balancer's target groups, their tags and the weights its
// listener rules give them, as Argo's target-group verification does.
func DescribeLoadBalancer(ctx context.Context, c ELBv2, lb *types.LoadBalancer, tagKey string) (*LoadBalancer, error) {
	out := &LoadBalancer{Name: awssdk.ToString(lb.LoadBalancerName), ARN: awssdk.ToString(lb.LoadBalancerArn),
		DNSName: awssdk.ToString(lb.DNSName), TargetGroups: map[string]TargetGroup{}}
	out.FullName = fullName(out.ARN, "loadbalancer/")
	tgs, err := c.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{LoadBalancerArn: lb.LoadBalancerArn})
	if err != nil {
		return nil, err
	}
	arns := make([]string, 0, len(tgs.TargetGroups))
	byARN := map[string]types.TargetGroup{}
	for _, tg := range tgs.TargetGroups {
		arns = append(arns, awssdk.ToString(tg.TargetGroupArn))
		byARN[awssdk.ToString(tg.TargetGroupArn)] = tg
	}
	tagOf := map[string]string{}
	for start := 0; start < len(arns); start += tagBatch {
		end := min(start+tagBatch, len(arns))
		tags, err := c.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: arns[start:end]})
		if err != nil {
			return nil, err
		}
		for _, d := range tags.TagDescriptions {
			for _, t := range d.Tags {
				if awssdk.ToString(t.Key) == tagKey {
					tagOf[awssdk.ToString(d.ResourceArn)] = awssdk.ToString(t.Value)
				}
			}
		}
	}
	weights := map[string]int32{}
	listeners, err := c.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: lb.LoadBalancerArn})
	if err != nil {
		return nil, err
	}
	for _, l := range listeners.Listeners {
		rules, err := c.DescribeRules(ctx, &elbv2.DescribeRulesInput{ListenerArn: l.ListenerArn})
		if err != nil {
			return nil, err
		}
		for _, r := range rules.Rules {
			for _, a := range r.Actions {
				if a.ForwardConfig == nil {
					continue
				}
				for _, tg := range a.ForwardConfig.TargetGroups {
					if tg.Weight != nil {
						weights[awssdk.ToString(tg.TargetGroupArn)] = *tg.Weight
					}
				}
			}
		}
	}
	for _, arn := range arns {
		id, ok := tagOf[arn]
		if !ok {
			continue
		}
		tg := TargetGroup{Name: awssdk.ToString(byARN[arn].TargetGroupName), ARN: arn, FullName: fullName(arn, "targetgroup/")}
		if w, ok := weights[arn]; ok {
			w := w
			tg.Weight = &w
		}
		out.TargetGroups[id] = tg
	}
	return out, nil
}

// fullName is the part of an ARN after marker ("app/<name>/<id>", "<name>/<id>").
func fullName(arn, marker string) string {
	if i := strings.Index(arn, marker); i >= 0 {
		return arn[i+len(marker):]
	}
	return ""
}

// Registration is what a target group behind a Service has registered, and in which state.
type Registration struct {
	Binding        string // TargetGroupBinding name
	TargetGroupARN string
	// Want are the endpoint addresses (ip:port) that should be registered.
	Want []string
	// Targets maps each registered ip:port to its health state (initial, healthy, draining, ...).
	Targets map[string]string
}

// Missing lists the wanted addresses that are not registered, and, when healthy is set, those
// registered but not yet healthy.
func (r Registration) Missing(healthy bool) []string {
	var out []string
	for _, addr := range r.Want {
		state, ok := r.Targets[addr]
		if !ok || (healthy && state != string(types.TargetHealthStateEnumHealthy)) {
			out = append(out, addr)
		}
	}
	return out
}

// Registrations reads, for each TargetGroupBinding of the Service (IP targets only), which of
// the Service's ready endpoints are registered in its target group and how healthy they are.
func Registrations(ctx context.Context, c ELBv2, svc *corev1.Service, ep *corev1.Endpoints, bindings []*tgbv1.TargetGroupBinding) ([]Registration, error) {
	var out []Registration
	for _, b := range BindingsFor(svc, bindings) {
		if b.Spec.TargetType == nil || *b.Spec.TargetType != tgbv1.TargetTypeIP {
			continue
		}
		reg := Registration{Binding: b.Name, TargetGroupARN: b.Spec.TargetGroupARN, Want: endpointAddresses(svc, ep, b.Spec.ServiceRef.Port), Targets: map[string]string{}}
		health, err := c.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: awssdk.String(b.Spec.TargetGroupARN)})
		if err != nil {
			return nil, err
		}
		for _, d := range health.TargetHealthDescriptions {
			if d.Target == nil {
				continue
			}
			addr := awssdk.ToString(d.Target.Id) + ":" + strconv.Itoa(int(awssdk.ToInt32(d.Target.Port)))
			state := ""
			if d.TargetHealth != nil {
				state = string(d.TargetHealth.State)
			}
			reg.Targets[addr] = state
		}
		out = append(out, reg)
	}
	return out, nil
}

// BindingsFor returns the bindings that reference a port of the Service, sorted by name.
func BindingsFor(svc *corev1.Service, bindings []*tgbv1.TargetGroupBinding) []*tgbv1.TargetGroupBinding {
	var out []*tgbv1.TargetGroupBinding
	for _, b := range bindings {
		if b.Namespace != svc.Namespace || b.Spec.ServiceRef.Name != svc.Name {
			continue
		}
		if servicePort(svc, b.Spec.ServiceRef.Port) != nil {
			out = append(out, b)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func servicePort(svc *corev1.Service, ref intstr.IntOrString) *corev1.ServicePort {
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		if (ref.Type == intstr.Int && p.Port == ref.IntVal) || (ref.Type == intstr.String && p.Name == ref.StrVal) {
			return p
		}
	}
	return nil
}

// endpointAddresses are the ready ip:port pairs of a Service port, sorted.
func endpointAddresses(svc *corev1.Service, ep *corev1.Endpoints, ref intstr.IntOrString) []string {
	sp := servicePort(svc, ref)
	if ep == nil || sp == nil {
		return nil
	}
	var out []string
	for _, s := range ep.Subsets {
		port := int32(0)
		for _, p := range s.Ports {
			if p.Name == sp.Name {
				port = p.Port
			}
		}
		if port == 0 {
			if sp.TargetPort.Type == intstr.Int && sp.TargetPort.IntVal != 0 {
				port = sp.TargetPort.IntVal
			} else {
				continue
			}
		}
		for _, a := range s.Addresses {
			out = append(out, fmt.Sprintf("%s:%d", a.IP, port))
		}
	}
	sort.Strings(out)
	return out
}
