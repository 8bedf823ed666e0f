package sim

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/traffic/alb"
	"github.com/rolloutlab/rolloutlab/fakes/kube"
)

// Finding is a traffic-safety rule broken during a run. Unlike an invariant it does not stop the
// run: unverified configurations break these rules on purpose, and the finding says why their
// requests fail.
type Finding struct {
	T    Seconds `json:"t"`
	Rule string  `json:"rule"`
	What string  `json:"what"`
}

func (f Finding) String() string {
	return fmt.Sprintf("%s %s: %s", time.Duration(f.T), f.Rule, f.What)
}

// RuleScaledDownWhileRouted: a ReplicaSet was scaled to zero while a target group whose rules in
// effect give it weight still had its pods as live targets (field notes §5).
const RuleScaledDownWhileRouted = "scaled down while routed"

// watchSafety records findings as the store changes.
func (w *World) watchSafety() {
	w.Cluster.Store.Watch(func(ch kube.Change) {
		if ch.GVR != kube.ReplicaSets || ch.Type != watch.Modified {
			return
		}
		rs := ch.Object.(*appsv1.ReplicaSet)
		if rs.Spec.Replicas == nil || *rs.Spec.Replicas != 0 || rs.Status.Replicas == 0 {
			return
		}
		if what := w.AWS.routedPods(rs); what != "" {
			f := Finding{T: Seconds(w.Kernel.Elapsed()), Rule: RuleScaledDownWhileRouted, What: what}
			w.AWS.Findings = append(w.AWS.Findings, f)
			w.tracef("safety", rs.Namespace+"/"+rs.Name, "%s: %s", f.Rule, f.What)
		}
	})
}

// routedPods describes the pods of rs that are live targets of a target group with weight in
// effect ("" when none are).
func (a *AWS) routedPods(rs *appsv1.ReplicaSet) string {
	ips := map[string]bool{}
	hash := rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
	for _, o := range a.store.PeekList(kube.Pods, rs.Namespace) {
		p := o.(*corev1.Pod)
		if hash != "" && p.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] == hash && p.Status.PodIP != "" {
			ips[p.Status.PodIP] = true
		}
	}
	if len(ips) == 0 {
		return ""
	}
	s := a.ELB.Snapshot()
	weighted := map[string]bool{}
	for _, lb := range s.LoadBalancers {
		for _, l := range lb.Listeners {
			for _, r := range l.InEffect {
				for _, f := range r.Forward {
					if f.Weight > 0 {
						weighted[f.TargetGroupArn] = true
					}
				}
			}
		}
	}
	var hits []string
	for _, g := range s.TargetGroups {
		if !weighted[g.ARN] {
			continue
		}
		n := 0
		for _, t := range g.Targets {
			if ips[t.ID] && t.State != types.TargetHealthStateEnumDraining {
				n++
			}
		}
		if n > 0 {
			hits = append(hits, fmt.Sprintf("%d of its pods are live targets of %s", n, a.label(g.ARN, s)))
		}
	}
	sort.Strings(hits)
	if len(hits) == 0 {
		return ""
	}
	return rs.Name + " scaled to 0 while " + strings.Join(hits, "; ")
}

// albWeightsChecker: every ALB action a rollout manages forwards with weights summing to 100.
// An Ingress is checked again only when its resourceVersion changed (the check runs after every
// event).
func albWeightsChecker(w *World) func() error {
	checked := map[string]string{}
	return func() error {
		for _, o := range w.Cluster.Store.PeekList(kube.Ingresses, "") {
			ing := o.(*networkingv1.Ingress)
			key := ing.Namespace + "/" + ing.Name
			if checked[key] == ing.ResourceVersion {
				continue
			}
			if err := checkALBWeights(ing); err != nil {
				return err
			}
			checked[key] = ing.ResourceVersion
		}
		return nil
	}
}

func checkALBWeights(ing *networkingv1.Ingress) error {
	managed, err := alb.Managed(ing)
	if err != nil {
		return fmt.Errorf("ingress %s/%s: %w", ing.Namespace, ing.Name, err)
	}
	for _, keys := range managed {
		for _, key := range keys {
			v, ok := ing.Annotations[key]
			if !ok {
				continue
			}
			weights, err := alb.Weights(v)
			if err != nil {
				return fmt.Errorf("ingress %s/%s: %s: %w", ing.Namespace, ing.Name, key, err)
			}
			sum := int64(0)
			for _, wt := range weights {
				sum += wt
			}
			if sum != 100 {
				return fmt.Errorf("ingress %s/%s: %s: weights sum to %d, not 100", ing.Namespace, ing.Name, key, sum)
			}
		}
	}
	return nil
}
