// Package dataplane holds what the simulated proxies and gateways (fakes/istio, fakes/apisix)
// share: route configuration pushed to them late and in order, and delivery of a request to a
// ready pod of a Service.
package dataplane

import (
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/rolloutlab/rolloutlab/fakes/kube"
	"github.com/rolloutlab/rolloutlab/fakes/sched"
	"github.com/rolloutlab/rolloutlab/sim/dist"
)

// Network reaches pods by IP (the simulation's pod network).
type Network interface {
	Serve(ip string, port int32) (code int, version string)
}

// Pusher delivers configuration changes to a data plane after a drawn delay, in the order they
// were written (a later change never overtakes an earlier one).
type Pusher struct {
	Delay dist.Delay
	sched sched.Scheduler
	rand  *rand.Rand
	last  time.Time
	// Pushes counts the changes delivered.
	Pushes int
}

// NewPusher draws delays from r and schedules on s.
func NewPusher(d dist.Delay, s sched.Scheduler, r *rand.Rand) *Pusher {
	return &Pusher{Delay: d, sched: s, rand: r}
}

// Push runs apply once the change reaches the data plane; name and obj label the event.
func (p *Pusher) Push(name, obj string, apply func()) {
	now := p.sched.Now()
	at := now.Add(p.Delay.Draw(p.rand))
	if at.Before(p.last) {
		at = p.last
	}
	p.last = at
	p.sched.After(at.Sub(now), name, obj, func() {
		p.Pushes++
		apply()
	})
}

// Send delivers a request to a ready pod of the Service namespace/name whose labels also match
// extra (a subset's): 503 when the Service is missing or has no such pod.
func Send(store *kube.Store, net Network, ns, name string, extra map[string]string, r *rand.Rand) (int, string) {
	o, ok := store.Peek(kube.Services, ns, name)
	if !ok {
		return 503, ""
	}
	set := labels.Set{}
	for k, v := range o.(*corev1.Service).Spec.Selector {
		set[k] = v
	}
	for k, v := range extra {
		set[k] = v
	}
	sel := labels.SelectorFromSet(set)
	var ready []*corev1.Pod
	for _, o := range store.PeekList(kube.Pods, ns) {
		p := o.(*corev1.Pod)
		if p.DeletionTimestamp == nil && podReady(p) && sel.Matches(labels.Set(p.Labels)) {
			ready = append(ready, p)
		}
	}
	if len(ready) == 0 {
		return 503, ""
	}
	p := ready[r.IntN(len(ready))]
	return net.Serve(p.Status.PodIP, 0)
}

func podReady(p *corev1.Pod) bool {
	if p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Header looks a request header up by name, case-insensitively.
func Header(h map[string]string, name string) (string, bool) {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// Number reads a decoded JSON number (int64 from YAML, float64 from JSON).
func Number(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case float64:
		return n, true
	case int:
		return float64(n), true
	}
	return 0, false
}

// Objects are route objects as pushed to a data plane, kept in "namespace/name" order so that
// routing can look through them deterministically without sorting on every request.
type Objects struct {
	byKey  map[types.NamespacedName]*unstructured.Unstructured
	sorted []types.NamespacedName
}

// NewObjects returns an empty set.
func NewObjects() *Objects {
	return &Objects{byKey: map[types.NamespacedName]*unstructured.Unstructured{}}
}

// Set stores obj, or forgets it when deleted.
func (o *Objects) Set(obj *unstructured.Unstructured, deleted bool) {
	key := types.NamespacedName{Namespace: obj.GetNamespace(), Name: obj.GetName()}
	_, had := o.byKey[key]
	if deleted {
		delete(o.byKey, key)
	} else {
		o.byKey[key] = obj
	}
	if had == deleted { // added or removed: the order changes
		o.sorted = o.sorted[:0]
		for k := range o.byKey {
			o.sorted = append(o.sorted, k)
		}
		sort.Slice(o.sorted, func(i, j int) bool { return o.sorted[i].String() < o.sorted[j].String() })
	}
}

// Get returns the object namespace/name (nil: none).
func (o *Objects) Get(namespace, name string) *unstructured.Unstructured {
	return o.byKey[types.NamespacedName{Namespace: namespace, Name: name}]
}

// Each calls fn for every object in "namespace/name" order until it returns false.
func (o *Objects) Each(fn func(key types.NamespacedName, obj *unstructured.Unstructured) bool) {
	for _, k := range o.sorted {
		if !fn(k, o.byKey[k]) {
			return
		}
	}
}
