package sim

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
)

// EventRecord is a Kubernetes event as the simulation keeps it.
type EventRecord struct {
	At      Seconds
	Object  string // namespace/name
	Type    string
	Reason  string
	Message string
}

// Recorder is the engine's record.EventRecorder in the simulation: events are kept in order
// (and traced) instead of being written to the API server.
type Recorder struct {
	w      *World
	Events []EventRecord
}

func newRecorder(w *World) *Recorder { return &Recorder{w: w} }

func (r *Recorder) Event(obj runtime.Object, eventtype, reason, message string) {
	key := ""
	if m, err := meta.Accessor(obj); err == nil {
		key = m.GetNamespace() + "/" + m.GetName()
	}
	e := EventRecord{At: Seconds(r.w.Kernel.Elapsed()), Object: key, Type: eventtype, Reason: reason, Message: message}
	r.Events = append(r.Events, e)
	if r.w.trace != nil {
		r.w.trace.Line(TraceLine{T: e.At, Event: reason, Type: eventtype, Obj: key, Msg: message})
	}
}

func (r *Recorder) Eventf(obj runtime.Object, eventtype, reason, messageFmt string, args ...any) {
	r.Event(obj, eventtype, reason, fmt.Sprintf(messageFmt, args...))
}

func (r *Recorder) AnnotatedEventf(obj runtime.Object, _ map[string]string, eventtype, reason, messageFmt string, args ...any) {
	r.Eventf(obj, eventtype, reason, messageFmt, args...)
}

// Reasons lists the reasons of the events recorded for an object, in order.
func (r *Recorder) Reasons(object string) []string {
	var out []string
	for _, e := range r.Events {
		if e.Object == object {
			out = append(out, e.Reason)
		}
	}
	return out
}
