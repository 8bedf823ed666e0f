// Package actions holds what a user does to a rollout — promote, promote --full, abort, retry,
// pause, resume, set image, undo — as the exact writes Argo Rollouts' kubectl plugin makes. The
// simulation timeline, the godog steps and the kubectl plugin all call these, so a scenario
// exercises the same code a person runs.
package actions

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/rolloutlab/rolloutlab/engine/api/client"
	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/rollout"
)

// conflictRetries bounds how often a read-modify-write is retried after a 409; it re-reads at once
// (no sleeping: the caller may run on a virtual clock).
const conflictRetries = 5

// Promote moves a paused rollout on: it clears spec.paused and the pause conditions, or, when the
// rollout is not paused but mid-way through a step (waiting on a setWeight, say), skips that step.
func Promote(ctx context.Context, c client.Interface, ns, name string) (*v1alpha1.Rollout, error) {
	ros := c.Rollouts(ns)
	ro, err := ros.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	var status string
	if len(ro.Status.PauseConditions) > 0 {
		status = `{"status":{"pauseConditions":null}}`
	} else if _, idx := rollout.CurrentStep(ro); idx != nil {
		next := *idx
		if int(next) < len(ro.Spec.Strategy.Canary.Steps) {
			next++
		}
		status = fmt.Sprintf(`{"status":{"pauseConditions":null,"currentStepIndex":%d}}`, next)
	}
	if status != "" {
		if ro, err = ros.Patch(ctx, name, types.MergePatchType, []byte(status), metav1.PatchOptions{}, "status"); err != nil {
			return nil, err
		}
	}
	if ro.Spec.Paused {
		return unpause(ctx, c, ns, name)
	}
	return ro, nil
}

// PromoteFull skips the remaining steps, pauses and analyses: the new version goes to 100%.
func PromoteFull(ctx context.Context, c client.Interface, ns, name string) (*v1alpha1.Rollout, error) {
	ros := c.Rollouts(ns)
	ro, err := ros.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	if ro.Status.CurrentPodHash != ro.Status.StableRS {
		if ro, err = ros.Patch(ctx, name, types.MergePatchType, []byte(`{"status":{"promoteFull":true}}`), metav1.PatchOptions{}, "status"); err != nil {
			return nil, err
		}
	}
	if ro.Spec.Paused {
		return unpause(ctx, c, ns, name)
	}
	return ro, nil
}

// Abort stops the update and sends everything back to the stable version.
func Abort(ctx context.Context, c client.Interface, ns, name string) (*v1alpha1.Rollout, error) {
	return c.Rollouts(ns).Patch(ctx, name, types.MergePatchType, []byte(`{"status":{"abort":true}}`), metav1.PatchOptions{}, "status")
}

// Retry restarts an aborted update from its first step.
func Retry(ctx context.Context, c client.Interface, ns, name string) (*v1alpha1.Rollout, error) {
	return c.Rollouts(ns).Patch(ctx, name, types.MergePatchType, []byte(`{"status":{"abort":false}}`), metav1.PatchOptions{}, "status")
}

// Pause sets spec.paused: the rollout holds where it is.
func Pause(ctx context.Context, c client.Interface, ns, name string) (*v1alpha1.Rollout, error) {
	return c.Rollouts(ns).Patch(ctx, name, types.MergePatchType, []byte(`{"spec":{"paused":true}}`), metav1.PatchOptions{})
}

// Resume clears spec.paused.
func Resume(ctx context.Context, c client.Interface, ns, name string) (*v1alpha1.Rollout, error) {
	return unpause(ctx, c, ns, name)
}

func unpause(ctx context.Context, c client.Interface, ns, name string) (*v1alpha1.Rollout, error) {
	return c.Rollouts(ns).Patch(ctx, name, types.MergePatchType, []byte(`{"spec":{"paused":false}}`), metav1.PatchOptions{})
}

// SetImage sets the image of the named container ("*" for all) in the pod template — init and
// ephemeral containers included — like `kubectl argo rollouts set image NAME CONTAINER=IMAGE`.
func SetImage(ctx context.Context, c client.Interface, ns, name, container, image string) (*v1alpha1.Rollout, error) {
	return updateRollout(ctx, c, ns, name, func(ro *v1alpha1.Rollout) error {
		found := false
		spec := &ro.Spec.Template.Spec
		for _, list := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
			for i := range list {
				if container == "*" || list[i].Name == container {
					list[i].Image = image
					found = true
				}
			}
		}
		for i := range spec.EphemeralContainers {
			if container == "*" || spec.EphemeralContainers[i].Name == container {
				spec.EphemeralContainers[i].Image = image
				found = true
			}
		}
		if !found {
			return fmt.Errorf("unable to find container named %q in rollout %s", container, name)
		}
		return nil
	})
}

// ParseImageArg splits "container=image".
func ParseImageArg(arg string) (container, image string, err error) {
	container, image, ok := strings.Cut(arg, "=")
	if !ok || container == "" || image == "" {
		return "", "", fmt.Errorf("invalid argument %q: want CONTAINER=IMAGE", arg)
	}
	return container, image, nil
}

// Undo rolls the pod template back to a revision (0: the one before the current), like
// `kubectl argo rollouts undo`. It reports false when the template already matches.
func Undo(ctx context.Context, c client.Interface, kube kubernetes.Interface, ns, name string, toRevision int64) (bool, error) {
	ro, err := c.Rollouts(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return false, err
	}
	list, err := kube.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return false, err
	}
	var owned []*appsv1.ReplicaSet
	for i := range list.Items {
		if ref := metav1.GetControllerOf(&list.Items[i]); ref != nil && ref.UID == ro.UID {
			owned = append(owned, &list.Items[i])
		}
	}
	target, err := revisionToRestore(owned, toRevision)
	if err != nil {
		return false, err
	}
	tmpl := target.Spec.Template.DeepCopy()
	delete(tmpl.Labels, v1alpha1.DefaultRolloutUniqueLabelKey)
	if apiequality.Semantic.DeepEqual(*tmpl, ro.Spec.Template) {
		return false, nil
	}
	_, err = updateRollout(ctx, c, ns, name, func(ro *v1alpha1.Rollout) error {
		ro.Spec.Template = *tmpl
		return nil
	})
	return err == nil, err
}

func revisionToRestore(rss []*appsv1.ReplicaSet, to int64) (*appsv1.ReplicaSet, error) {
	type revRS struct {
		rev int64
		rs  *appsv1.ReplicaSet
	}
	var revs []revRS
	for _, rs := range rss {
		if n, err := strconv.ParseInt(rs.Annotations[v1alpha1.RevisionAnnotation], 10, 64); err == nil {
			revs = append(revs, revRS{n, rs})
		}
	}
	sort.Slice(revs, func(i, j int) bool { return revs[i].rev > revs[j].rev })
	if to == 0 {
		if len(revs) < 2 {
			return nil, fmt.Errorf("no rollout history found")
		}
		return revs[1].rs, nil
	}
	for _, r := range revs {
		if r.rev == to {
			return r.rs, nil
		}
	}
	return nil, fmt.Errorf("unable to find specified revision %d in history", to)
}

// updateRollout is a read-modify-write of the rollout, retried on conflict.
func updateRollout(ctx context.Context, c client.Interface, ns, name string, mutate func(*v1alpha1.Rollout) error) (*v1alpha1.Rollout, error) {
	ros := c.Rollouts(ns)
	var err error
	for i := 0; i < conflictRetries; i++ {
		var ro *v1alpha1.Rollout
		if ro, err = ros.Get(ctx, name, metav1.GetOptions{}); err != nil {
			return nil, err
		}
		if err = mutate(ro); err != nil {
			return nil, err
		}
		var out *v1alpha1.Rollout
		if out, err = ros.Update(ctx, ro, metav1.UpdateOptions{}); err == nil {
			return out, nil
		}
		if !apierrors.IsConflict(err) {
			return nil, err
		}
	}
	return nil, err
}
