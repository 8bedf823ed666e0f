package controller

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"

	"github.com/rolloutlab/rolloutlab/engine/api/client"
	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// EventComponent is the source component of the controller's events, as Argo names it.
const EventComponent = "rollouts-controller"

// eventBurst is how many events one rollout may record at once before client-go's spam filter
// drops the rest (it then lets one through every 5 minutes). Argo keeps client-go's 25, which a
// single 8-step canary update nearly uses up: the guide's update, promotion and abort lost their
// last events on a real API server, SkipSteps and RolloutCompleted among them.
const eventBurst = 200

// newEventBroadcaster records events to the API server, as Kubernetes events on the object
// (the Rollout, or an Ingress handed back), with the scheme that knows the Rollout kinds.
func newEventBroadcaster(kube kubernetes.Interface) (record.EventBroadcaster, record.EventRecorder) {
	b := record.NewBroadcasterWithCorrelatorOptions(record.CorrelatorOptions{BurstSize: eventBurst})
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: kube.CoreV1().Events("")})
	return b, b.NewRecorder(client.Scheme, corev1.EventSource{Component: EventComponent})
}

// countingRecorder passes events on and counts them (rollout_events_total and the router-error
// counter), as Argo's recorder does.
type countingRecorder struct {
	next    record.EventRecorder
	metrics *Metrics
}

var _ record.EventRecorder = countingRecorder{}

func (r countingRecorder) Event(obj runtime.Object, eventType, reason, message string) {
	r.count(obj, eventType, reason)
	r.next.Event(obj, eventType, reason, message)
}

func (r countingRecorder) Eventf(obj runtime.Object, eventType, reason, format string, args ...any) {
	r.count(obj, eventType, reason)
	r.next.Event(obj, eventType, reason, fmt.Sprintf(format, args...))
}

func (r countingRecorder) AnnotatedEventf(obj runtime.Object, annotations map[string]string, eventType, reason, format string, args ...any) {
	r.count(obj, eventType, reason)
	r.next.AnnotatedEventf(obj, annotations, eventType, reason, format, args...)
}

// count counts the events on rollouts (the Ingress reconcile records on Ingresses).
func (r countingRecorder) count(obj runtime.Object, eventType, reason string) {
	if _, ok := obj.(*v1alpha1.Rollout); !ok {
		return
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return
	}
	r.metrics.event(m.GetNamespace(), m.GetName(), eventType, reason)
}
