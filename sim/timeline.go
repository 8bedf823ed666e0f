package sim

import (
	"reflect"
	"sort"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/rollout"
	"github.com/rolloutlab/rolloutlab/fakes/kube"
)

// State is the observable state of one rollout: what a person watching `kubectl argo rollouts get
// rollout --watch` sees. Every world (simulation, cluster) reports the same shape.
type State struct {
	Rollout   string           `json:"rollout"`
	Phase     string           `json:"phase"`
	Message   string           `json:"message,omitempty"`
	Step      string           `json:"step,omitempty"` // "1/8"
	Paused    []string         `json:"paused,omitempty"`
	Abort     bool             `json:"abort,omitempty"`
	Weight    Weight           `json:"weight"`
	Services  map[string]int64 `json:"services,omitempty"` // Service → revision it selects
	Revisions []RevisionState  `json:"revisions"`
}

// Weight is the canary's share of traffic: as the steps ask (desired) and as served (actual; by
// ready pods when no router splits traffic).
type Weight struct {
	Desired int32 `json:"desired"`
	Actual  int32 `json:"actual"`
}

// RevisionState is one ReplicaSet.
type RevisionState struct {
	Revision  int64  `json:"revision"`
	Role      string `json:"role,omitempty"` // stable, canary
	Image     string `json:"image,omitempty"`
	Spec      int32  `json:"spec"`
	Available int32  `json:"available"`
}

// Moment is a State at a virtual time.
type Moment struct {
	T     Seconds `json:"t"`
	State State   `json:"state"`
}

// Timeline records each rollout's observable state whenever it changes (settled per virtual
// instant: several events at the same time show as one change).
type Timeline struct {
	w         *World
	last      map[string]State
	Moments   []Moment
	listeners []func(Moment)
}

func newTimeline(w *World) *Timeline { return &Timeline{w: w, last: map[string]State{}} }

// Listen registers a function called with every new moment.
func (t *Timeline) Listen(f func(Moment)) { t.listeners = append(t.listeners, f) }

func (t *Timeline) observe() {
	for _, o := range t.w.Cluster.Store.PeekList(Rollouts, "") {
		st := ObserveState(t.w.Cluster.Store, o.(*v1alpha1.Rollout))
		if reflect.DeepEqual(t.last[st.Rollout], st) {
			continue
		}
		t.last[st.Rollout] = st
		m := Moment{T: Seconds(t.w.Kernel.Elapsed()), State: st}
		t.Moments = append(t.Moments, m)
		if t.w.trace != nil {
			t.w.trace.Line(TraceLine{T: m.T, State: &m.State})
		}
		for _, f := range t.listeners {
			f(m)
		}
	}
}

// ObserveState reads a rollout's observable state from the store.
func ObserveState(store *kube.Store, ro *v1alpha1.Rollout) State {
	var rss []*appsv1.ReplicaSet
	for _, o := range store.PeekList(kube.ReplicaSets, ro.Namespace) {
		rss = append(rss, o.(*appsv1.ReplicaSet))
	}
	return StateOf(ro, rss, func(name string) *corev1.Service {
		if o, ok := store.Peek(kube.Services, ro.Namespace, name); ok {
			return o.(*corev1.Service)
		}
		return nil
	})
}

// StateOf is a rollout's observable state from its namespace's ReplicaSets (those it does not
// own are skipped) and a lookup of its namespace's Services (nil when there is none): what any
// world, simulated or a real cluster, reports.
func StateOf(ro *v1alpha1.Rollout, replicaSets []*appsv1.ReplicaSet, service func(name string) *corev1.Service) State {
	st := State{Rollout: ro.Namespace + "/" + ro.Name}
	phase, msg := rollout.ObservedPhase(ro)
	st.Phase, st.Message = string(phase), msg
	if c := ro.Spec.Strategy.Canary; c != nil && len(c.Steps) > 0 && ro.Status.CurrentStepIndex != nil {
		st.Step = strconv.Itoa(int(*ro.Status.CurrentStepIndex)) + "/" + strconv.Itoa(len(c.Steps))
	}
	for _, p := range ro.Status.PauseConditions {
		st.Paused = append(st.Paused, string(p.Reason))
	}
	if ro.Spec.Paused {
		st.Paused = append(st.Paused, "manually paused")
	}
	st.Abort = ro.Status.Abort
	var canaryAvail, totalAvail int32
	byHash := map[string]int64{}
	for _, rs := range replicaSets {
		if ref := metav1.GetControllerOf(rs); ref == nil || ref.UID != ro.UID {
			continue
		}
		hash := rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
		rev, _ := strconv.ParseInt(rs.Annotations[v1alpha1.RevisionAnnotation], 10, 64)
		byHash[hash] = rev
		r := RevisionState{Revision: rev, Spec: replicasOf(rs), Available: rs.Status.AvailableReplicas}
		if len(rs.Spec.Template.Spec.Containers) > 0 {
			r.Image = rs.Spec.Template.Spec.Containers[0].Image
		}
		switch hash {
		case ro.Status.StableRS:
			r.Role = "stable"
		case ro.Status.CurrentPodHash:
			r.Role = "canary"
		}
		if r.Spec == 0 && r.Available == 0 && r.Role == "" {
			continue // history, not part of the picture
		}
		if hash == ro.Status.CurrentPodHash {
			canaryAvail += r.Available
		}
		totalAvail += r.Available
		st.Revisions = append(st.Revisions, r)
	}
	sort.Slice(st.Revisions, func(i, j int) bool { return st.Revisions[i].Revision < st.Revisions[j].Revision })
	promoted := ro.Status.StableRS == "" || ro.Status.StableRS == ro.Status.CurrentPodHash
	switch {
	case ro.Spec.Strategy.BlueGreen != nil:
		// All or nothing: the new version gets the traffic once the active Service selects it.
		if ro.Status.BlueGreen.ActiveSelector == ro.Status.CurrentPodHash {
			st.Weight.Desired = 100
		}
		if svc := service(ro.Spec.Strategy.BlueGreen.ActiveService); svc != nil &&
			svc.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey] == ro.Status.CurrentPodHash {
			st.Weight.Actual = 100
		}
	case promoted:
		// The first revision, and a finished update, get all the traffic.
		st.Weight.Desired, st.Weight.Actual = 100, 100
		if ro.Spec.Strategy.Canary.TrafficRouting == nil && totalAvail > 0 {
			st.Weight.Actual = (canaryAvail*100 + totalAvail/2) / totalAvail
		}
	default:
		st.Weight.Desired = rollout.CurrentSetWeight(ro)
		if ro.Spec.Strategy.Canary.TrafficRouting != nil {
			if w := ro.Status.Canary.Weights; w != nil {
				st.Weight.Actual = w.Canary.Weight // as written to the router; the traffic report shows what the load balancer did
			}
		} else if totalAvail > 0 {
			st.Weight.Actual = (canaryAvail*100 + totalAvail/2) / totalAvail
		}
	}
	for _, name := range serviceNames(ro) {
		if name == "" {
			continue
		}
		if svc := service(name); svc != nil {
			if st.Services == nil {
				st.Services = map[string]int64{}
			}
			st.Services[name] = byHash[svc.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey]]
		}
	}
	return st
}

// serviceNames are the Services a rollout switches between revisions.
func serviceNames(ro *v1alpha1.Rollout) []string {
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		return []string{bg.ActiveService, bg.PreviewService}
	}
	c := ro.Spec.Strategy.Canary
	names := []string{c.CanaryService, c.StableService}
	if pp := c.PingPong; pp != nil {
		names = append(names, pp.PingService, pp.PongService)
	}
	return names
}

func replicasOf(rs *appsv1.ReplicaSet) int32 {
	if rs.Spec.Replicas == nil {
		return 1
	}
	return *rs.Spec.Replicas
}
