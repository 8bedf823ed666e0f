package rollout

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// A Plan is everything one reconcile decided to do, in order. Decide computes it from observed
// state only; Apply carries it out. Nothing in a plan depends on what an earlier reconcile did, so
// a controller restarted between any two writes decides the same next step.
type Plan struct {
	Actions []Action
	// Status is the rollout status to write (nil: unchanged); StatusPatch is the JSON merge patch
	// from the observed status to it, sent to the status subresource.
	Status      *v1alpha1.RolloutStatus
	StatusPatch []byte
	// Events are emitted once the status is written.
	Events       []Event
	RequeueAfter time.Duration
	// Why is a one-line summary of the decision, for logs and traces.
	Why string
	// Err is a failure the reconcile reports after applying what was planned before it (a
	// router that cannot be configured, say); the work queue retries with back-off.
	Err error
}

// Event is a Kubernetes event on the rollout.
type Event struct {
	Type    string // corev1.EventTypeNormal or Warning
	Reason  string
	Message string
}

// ActionKind names a write the engine makes.
type ActionKind string

const (
	CreateReplicaSet ActionKind = "CreateReplicaSet"
	UpdateReplicaSet ActionKind = "UpdateReplicaSet"
	DeleteReplicaSet ActionKind = "DeleteReplicaSet"
	PatchService     ActionKind = "PatchService"
	UpdateRollout    ActionKind = "UpdateRollout" // metadata only (the revision annotation)
	PatchIngress     ActionKind = "PatchIngress"  // the ALB actions annotations
	// Istio's objects, by merge patch (they may live in other namespaces).
	PatchVirtualService  ActionKind = "PatchVirtualService"
	PatchDestinationRule ActionKind = "PatchDestinationRule"
	// APISIX's route objects: the user's by merge patch; the header routes are created and deleted.
	PatchApisixRoute  ActionKind = "PatchApisixRoute"
	CreateApisixRoute ActionKind = "CreateApisixRoute"
	DeleteApisixRoute ActionKind = "DeleteApisixRoute"
	// AnalysisRuns, through the dynamic client: created, terminated (merge patch), deleted.
	CreateAnalysisRun ActionKind = "CreateAnalysisRun"
	PatchAnalysisRun  ActionKind = "PatchAnalysisRun"
	DeleteAnalysisRun ActionKind = "DeleteAnalysisRun"
	// DeletePod restarts a pod older than spec.restartAt: its ReplicaSet replaces it.
	DeletePod ActionKind = "DeletePod"
)

// Action is one write. Exactly the fields its kind needs are set.
type Action struct {
	Kind       ActionKind
	ReplicaSet *appsv1.ReplicaSet // Create/Update: the whole object as it should be stored
	Rollout    *v1alpha1.Rollout  // UpdateRollout
	Name       string             // Delete/Patch: the object's name
	Namespace  string             // Patch of an Istio object, any APISIX action: its namespace
	// Object is the ApisixRoute to create (CreateApisixRoute), or the one to delete as observed
	// (DeleteApisixRoute, whose UID is the delete's precondition).
	Object    *unstructured.Unstructured
	Patch     []byte // PatchService
	PatchType types.PatchType
	// Events are emitted right after the write succeeds.
	Events []Event

	// AnalysisRun is the run to create (CreateAnalysisRun).
	AnalysisRun *v1alpha1.AnalysisRun
	// Pod is the pod to delete as observed (DeletePod): its UID is the delete's precondition.
	Pod *corev1.Pod
}

func (a Action) String() string {
	switch a.Kind {
	case CreateReplicaSet:
		return fmt.Sprintf("create ReplicaSet %s (replicas %d)", a.ReplicaSet.Name, specReplicas(a.ReplicaSet))
	case UpdateReplicaSet:
		return fmt.Sprintf("update ReplicaSet %s (replicas %d)", a.ReplicaSet.Name, specReplicas(a.ReplicaSet))
	case DeleteReplicaSet:
		return "delete ReplicaSet " + a.Name
	case PatchService:
		return fmt.Sprintf("patch Service %s %s", a.Name, a.Patch)
	case PatchIngress:
		return fmt.Sprintf("patch Ingress %s %s", a.Name, a.Patch)
	case UpdateRollout:
		return "update Rollout " + a.Rollout.Name + " metadata"
	case PatchVirtualService:
		return fmt.Sprintf("patch VirtualService %s/%s %s", a.Namespace, a.Name, a.Patch)
	case PatchDestinationRule:
		return fmt.Sprintf("patch DestinationRule %s/%s %s", a.Namespace, a.Name, a.Patch)
	case PatchApisixRoute:
		return fmt.Sprintf("patch ApisixRoute %s/%s %s", a.Namespace, a.Name, a.Patch)
	case CreateApisixRoute:
		return fmt.Sprintf("create ApisixRoute %s/%s", a.Namespace, a.Name)
	case DeleteApisixRoute:
		return fmt.Sprintf("delete ApisixRoute %s/%s", a.Namespace, a.Name)
	case CreateAnalysisRun:
		return "create AnalysisRun " + a.AnalysisRun.Name
	case PatchAnalysisRun:
		return fmt.Sprintf("patch AnalysisRun %s %s", a.Name, a.Patch)
	case DeleteAnalysisRun:
		return "delete AnalysisRun " + a.Name
	case DeletePod:
		return "delete Pod " + a.Name + " (restart)"
	}
	return string(a.Kind)
}

func (p *Plan) add(a Action) { p.Actions = append(p.Actions, a) }

func (p *Plan) event(reason, format string, args ...any) {
	p.Events = append(p.Events, Event{Type: corev1.EventTypeNormal, Reason: reason, Message: fmt.Sprintf(format, args...)})
}

func (p *Plan) warn(reason, format string, args ...any) {
	p.Events = append(p.Events, Event{Type: corev1.EventTypeWarning, Reason: reason, Message: fmt.Sprintf(format, args...)})
}

// requeue asks for another reconcile after d, keeping the earliest request.
func (p *Plan) requeue(d time.Duration) {
	if d <= 0 {
		d = time.Millisecond
	}
	if p.RequeueAfter == 0 || d < p.RequeueAfter {
		p.RequeueAfter = d
	}
}
