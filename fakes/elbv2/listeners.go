package elbv2

import (
	"fmt"
	"reflect"

	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

func (f *Fake) createListener(in *elbv2.CreateListenerInput) (*elbv2.CreateListenerOutput, error) {
	lb := f.lbs[deref(in.LoadBalancerArn)]
	if lb == nil {
		return nil, errLoadBalancerNotFound(deref(in.LoadBalancerArn))
	}
	if err := checkPort(in.Port); err != nil {
		return nil, err
	}
	proto, err := listenerProtocol(in.Protocol)
	if err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	actions, err := f.checkActions(*lb.desc.LoadBalancerArn, in.DefaultActions)
	if err != nil {
		return nil, err
	}
	if l := f.listenerOnPort(lb, *in.Port); l != nil {
		// Creating the same listener twice succeeds; a different one on the port does not.
		if l.desc.Protocol == proto && reflect.DeepEqual(f.rules[l.defaultRule].desc.Actions, actions) {
			return &elbv2.CreateListenerOutput{Listeners: []types.Listener{f.listenerDesc(l)}}, nil
		}
		return nil, &types.DuplicateListenerException{Message: msg("A listener already exists on port %d", *in.Port)}
	}
	name := *lb.desc.LoadBalancerName
	id, _ := f.newID("listener", fmt.Sprintf("%s:%d", name, *in.Port))
	arn := arnPrefix + "listener/app/" + name + "/" + lb.id + "/" + id
	l := &listener{seq: f.seq, rulePrefix: arnPrefix + "listener-rule/app/" + name + "/" + lb.id + "/" + id + "/", desc: types.Listener{
		ListenerArn:     ptr(arn),
		LoadBalancerArn: lb.desc.LoadBalancerArn,
		Port:            ptr(*in.Port),
		Protocol:        proto,
		SslPolicy:       clone(in.SslPolicy),
		Certificates:    clone(in.Certificates),
		AlpnPolicy:      clone(in.AlpnPolicy),
	}}
	f.listeners[arn] = l
	f.setTags(arn, in.Tags)
	lb.listeners = append(lb.listeners, arn)
	l.defaultRule = f.addRule(l, types.Rule{Priority: ptr("default"), IsDefault: ptr(true),
		Conditions: []types.RuleCondition{}, Actions: actions}, nil)
	f.publish(l)
	return &elbv2.CreateListenerOutput{Listeners: []types.Listener{f.listenerDesc(l)}}, nil
}

func checkPort(p *int32) error {
	if p == nil || *p < 1 || *p > 65535 {
		return invalid("Port must be between 1 and 65535")
	}
	return nil
}

func listenerProtocol(p types.ProtocolEnum) (types.ProtocolEnum, error) {
	switch p {
	case "":
		return types.ProtocolEnumHttp, nil
	case types.ProtocolEnumHttp, types.ProtocolEnumHttps:
		return p, nil
	}
	return "", &types.UnsupportedProtocolException{Message: msg("Protocol '%s' is not supported by application load balancers", p)}
}

func (f *Fake) listenerOnPort(lb *loadBalancer, port int32) *listener {
	for _, arn := range lb.listeners {
		if l := f.listeners[arn]; *l.desc.Port == port {
			return l
		}
	}
	return nil
}

// listenerDesc is the listener as Describe shows it: its default actions are its default rule's.
func (f *Fake) listenerDesc(l *listener) types.Listener {
	d := clone(l.desc)
	d.DefaultActions = clone(f.rules[l.defaultRule].desc.Actions)
	return d
}

func (f *Fake) describeListeners(in *elbv2.DescribeListenersInput) (*elbv2.DescribeListenersOutput, error) {
	var arns []string
	switch {
	case in.LoadBalancerArn != nil && len(in.ListenerArns) > 0:
		return nil, invalid("Listener ARNs and a load balancer ARN cannot be specified at the same time")
	case in.LoadBalancerArn != nil:
		lb := f.lbs[*in.LoadBalancerArn]
		if lb == nil {
			return nil, errLoadBalancerNotFound(*in.LoadBalancerArn)
		}
		arns = lb.listeners
	case len(in.ListenerArns) > 0:
		for _, arn := range in.ListenerArns {
			if f.listeners[arn] == nil {
				return nil, errListenerNotFound(arn)
			}
		}
		arns = in.ListenerArns
	default:
		return nil, invalid("You must specify either listener ARNs or a load balancer ARN")
	}
	items, next, err := page(arns, in.Marker, in.PageSize)
	if err != nil {
		return nil, err
	}
	out := &elbv2.DescribeListenersOutput{Listeners: []types.Listener{}, NextMarker: next}
	for _, arn := range items {
		out.Listeners = append(out.Listeners, f.listenerDesc(f.listeners[arn]))
	}
	return out, nil
}

func (f *Fake) modifyListener(in *elbv2.ModifyListenerInput) (*elbv2.ModifyListenerOutput, error) {
	l := f.listeners[deref(in.ListenerArn)]
	if l == nil {
		return nil, errListenerNotFound(deref(in.ListenerArn))
	}
	lb := f.lbs[*l.desc.LoadBalancerArn]
	if in.Port != nil {
		if err := checkPort(in.Port); err != nil {
			return nil, err
		}
		if other := f.listenerOnPort(lb, *in.Port); other != nil && other != l {
			return nil, &types.DuplicateListenerException{Message: msg("A listener already exists on port %d", *in.Port)}
		}
	}
	proto := l.desc.Protocol
	if in.Protocol != "" {
		var err error
		if proto, err = listenerProtocol(in.Protocol); err != nil {
			return nil, err
		}
	}
	var actions []types.Action
	if in.DefaultActions != nil {
		var err error
		if actions, err = f.checkActions(*lb.desc.LoadBalancerArn, in.DefaultActions); err != nil {
			return nil, err
		}
	}
	if in.Port != nil {
		l.desc.Port = ptr(*in.Port)
	}
	l.desc.Protocol = proto
	if in.SslPolicy != nil {
		l.desc.SslPolicy = clone(in.SslPolicy)
	}
	if in.Certificates != nil {
		l.desc.Certificates = clone(in.Certificates)
	}
	if actions != nil {
		f.rules[l.defaultRule].desc.Actions = actions
	}
	f.publish(l)
	return &elbv2.ModifyListenerOutput{Listeners: []types.Listener{f.listenerDesc(l)}}, nil
}

func (f *Fake) deleteListener(in *elbv2.DeleteListenerInput) (*elbv2.DeleteListenerOutput, error) {
	l := f.listeners[deref(in.ListenerArn)]
	if l == nil {
		return nil, errListenerNotFound(deref(in.ListenerArn))
	}
	f.removeListener(l)
	f.refreshUsage()
	return &elbv2.DeleteListenerOutput{}, nil
}

// removeListener forgets a listener, its rules and its pending changes; the data plane stops
// using it at once.
func (f *Fake) removeListener(l *listener) {
	for _, t := range l.timers {
		t.Cancel()
	}
	for _, r := range l.rules {
		delete(f.rules, r)
		delete(f.tags, r)
	}
	arn := *l.desc.ListenerArn
	delete(f.listeners, arn)
	delete(f.tags, arn)
	if lb := f.lbs[*l.desc.LoadBalancerArn]; lb != nil {
		lb.listeners = filter(lb.listeners, func(a string) bool { return a != arn })
	}
}
