package main

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// snapshot is a rollout with the ReplicaSets and pods that may belong to it.
type snapshot struct {
	rollout     *v1alpha1.Rollout
	replicaSets []*appsv1.ReplicaSet
	pods        []*corev1.Pod
}

// childSelector selects the ReplicaSets and pods a rollout may own: its spec.selector (the
// ReplicaSets and pods carry the template's labels), or everything if it has none.
func childSelector(ro *v1alpha1.Rollout) labels.Selector {
	if ro.Spec.Selector == nil {
		return labels.Everything()
	}
	sel, err := metav1.LabelSelectorAsSelector(ro.Spec.Selector)
	if err != nil {
		return labels.Everything()
	}
	return sel
}

// getSnapshot reads the rollout and its children once.
func getSnapshot(ctx context.Context, cl *clients, name string, children bool) (*snapshot, error) {
	ro, err := cl.rollouts.Rollouts(cl.namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, rolloutError(err, cl.namespace, name)
	}
	s := &snapshot{rollout: ro}
	if !children {
		return s, nil
	}
	opts := metav1.ListOptions{LabelSelector: childSelector(ro).String()}
	rss, err := cl.kube.AppsV1().ReplicaSets(cl.namespace).List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("listing the ReplicaSets of rollout %q in namespace %q: %w", name, cl.namespace, err)
	}
	for i := range rss.Items {
		s.replicaSets = append(s.replicaSets, &rss.Items[i])
	}
	pods, err := cl.kube.CoreV1().Pods(cl.namespace).List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("listing the pods of rollout %q in namespace %q: %w", name, cl.namespace, err)
	}
	for i := range pods.Items {
		s.pods = append(s.pods, &pods.Items[i])
	}
	return s, nil
}

// view keeps a rollout (and, for the tree, its ReplicaSets and pods) in informer caches, and
// signals on changed whenever any of them changes.
type view struct {
	namespace, name string
	rollouts        cache.SharedIndexInformer
	replicaSets     cache.SharedIndexInformer // nil without children
	pods            cache.SharedIndexInformer
	changed         chan struct{}
}

// startView starts the informers and waits for their caches to fill. The rollout must exist:
// its selector scopes the ReplicaSet and pod informers. A first read, with plain requests, makes
// a missing rollout or a forbidden list an error at once rather than an informer retrying forever.
func startView(ctx context.Context, cl *clients, name string, children bool) (*view, error) {
	first, err := getSnapshot(ctx, cl, name, children)
	if err != nil {
		return nil, err
	}
	v := &view{namespace: cl.namespace, name: name, changed: make(chan struct{}, 1)}
	ros := cl.rollouts.Rollouts(cl.namespace)
	byName := fields.OneTermEqualSelector("metadata.name", name).String()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			opts.FieldSelector = byName
			return ros.List(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			opts.FieldSelector = byName
			return ros.Watch(ctx, opts)
		},
	}
	v.rollouts = cache.NewSharedIndexInformer(cache.ToListWatcherWithWatchListSemantics(lw, cl.rollouts), &v1alpha1.Rollout{}, 0, cache.Indexers{})
	informerList := []cache.SharedIndexInformer{v.rollouts}
	if children {
		sel := childSelector(first.rollout).String()
		factory := informers.NewSharedInformerFactoryWithOptions(cl.kube, 0,
			informers.WithNamespace(cl.namespace),
			informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = sel }))
		v.replicaSets = factory.Apps().V1().ReplicaSets().Informer()
		v.pods = factory.Core().V1().Pods().Informer()
		informerList = append(informerList, v.replicaSets, v.pods)
	}
	notify := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { v.notify() },
		UpdateFunc: func(any, any) { v.notify() },
		DeleteFunc: func(any) { v.notify() },
	}
	var synced []cache.InformerSynced
	for _, inf := range informerList {
		if _, err := inf.AddEventHandler(notify); err != nil {
			return nil, err
		}
		go inf.RunWithContext(ctx)
		synced = append(synced, inf.HasSynced)
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("rollout %q in namespace %q: caches did not sync", name, cl.namespace)
	}
	return v, nil
}

func (v *view) notify() {
	select {
	case v.changed <- struct{}{}:
	default: // a signal is already pending
	}
}

// snapshot reads the caches; it reports false once the rollout is gone.
func (v *view) snapshot() (*snapshot, bool) {
	obj, ok, err := v.rollouts.GetStore().GetByKey(v.namespace + "/" + v.name)
	if err != nil || !ok {
		return nil, false
	}
	s := &snapshot{rollout: obj.(*v1alpha1.Rollout)}
	if v.replicaSets != nil {
		for _, o := range v.replicaSets.GetStore().List() {
			s.replicaSets = append(s.replicaSets, o.(*appsv1.ReplicaSet))
		}
		for _, o := range v.pods.GetStore().List() {
			s.pods = append(s.pods, o.(*corev1.Pod))
		}
	}
	return s, true
}

// minRefresh rate-limits redraws, so a burst of events does not make the terminal flicker.
const minRefresh = 200 * time.Millisecond

// run calls show with a snapshot at once, then after each change (at most every minRefresh) and
// every second (ages move on), until show returns done, ctx ends, or the rollout is deleted.
func (v *view) run(ctx context.Context, show func(*snapshot) (done bool)) error {
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	var last time.Time
	var wait <-chan time.Time
	for {
		s, ok := v.snapshot()
		if !ok {
			return fmt.Errorf("rollout %q not found in namespace %q", v.name, v.namespace)
		}
		if show(s) {
			return nil
		}
		last = time.Now()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-ticker.C:
			case <-v.changed:
				if d := time.Since(last); d < minRefresh {
					wait = time.After(minRefresh - d)
					continue
				}
			case <-wait:
			}
			wait = nil
			break
		}
	}
}
