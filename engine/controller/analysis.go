package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/rolloutlab/rolloutlab/engine/analysis"
	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/mergepatch"
)

// analysisWorker measures AnalysisRuns, Argo's analysis controller: on a run's creation or
// change, and when analysis.Step asks to come back, it steps the run at the engine's time and
// writes the status it computed. The rollout that owns the run hears of it through the
// AnalysisRun informer.
type analysisWorker struct {
	c         *Controller
	queue     *workQueue
	providers analysis.ProviderFactory
}

func newAnalysisWorker(c *Controller, providers analysis.ProviderFactory) *analysisWorker {
	if providers == nil {
		providers = analysis.DefaultProviders{}
	}
	return &analysisWorker{c: c, queue: newWorkQueue("AnalysisRuns", c.opts.Clock), providers: providers}
}

func (w *analysisWorker) add(key string) { w.queue.Add(key) }

// sync steps one run ("namespace/name") and returns when it wants the next step.
func (w *analysisWorker) sync(ctx context.Context, key string) (time.Duration, error) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return 0, nil
	}
	c := w.c
	run, err := get[*v1alpha1.AnalysisRun](c.reader.analysisRuns, v1alpha1.AnalysisRunGVR, ns, name)
	if apierrors.IsNotFound(err) {
		c.metrics.forgetRun(ns, name)
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if run.DeletionTimestamp != nil || run.Status.Phase.Completed() || !w.mine(run) {
		return 0, nil
	}
	now := c.opts.Clock.Now()
	start := c.opts.Stopwatch.Now()
	res := analysis.Step(ctx, run, now, analysis.Options{Providers: w.providers, Secrets: w.secret(ctx)})
	defer func() {
		c.metrics.runReconcile.WithLabelValues(ns, name).Observe(c.opts.Stopwatch.Since(start).Seconds())
	}()
	if !apiequality.Semantic.DeepEqual(run.Status, res.Run.Status) {
		if err := w.writeStatus(ctx, run, res.Run.Status); err != nil {
			c.metrics.runError.WithLabelValues(ns, name).Inc()
			return 0, err
		}
		if run.Status.Phase != res.Run.Status.Phase {
			c.log.Info("analysis run phase", "run", key, "from", run.Status.Phase, "to", res.Run.Status.Phase, "message", res.Run.Status.Message)
		}
	}
	if res.Next == nil {
		return 0, nil
	}
	return max(res.Next.Sub(now), time.Millisecond), nil
}

// mine says whether this controller instance measures the run: a rollout's run when the rollout
// is this instance's (the engine does not label the runs it creates), any other run by its own
// instance-id label, as Argo selects runs.
func (w *analysisWorker) mine(run *v1alpha1.AnalysisRun) bool {
	if ref := metav1.GetControllerOf(run); ref != nil && ref.Kind == v1alpha1.RolloutGVK.Kind {
		ro, err := w.c.reader.Rollout(run.Namespace, ref.Name)
		return err == nil && ro.UID == ref.UID
	}
	return InstanceIDSelector(w.c.opts.InstanceID).Matches(labels.Set(run.Labels))
}

// writeStatus sends the change from the cached status to the new one as a merge patch of the
// run itself (Argo's AnalysisRun CRD has no status subresource), guarded by the cached
// resourceVersion: a run that changed meanwhile answers 409 and is stepped again from its newer
// state rather than overwritten.
func (w *analysisWorker) writeStatus(ctx context.Context, run *v1alpha1.AnalysisRun, status v1alpha1.AnalysisRunStatus) error {
	from, err := json.Marshal(map[string]any{"status": run.Status})
	if err != nil {
		return err
	}
	to, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		return err
	}
	patch, err := mergepatch.Create(from, to)
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := json.Unmarshal(patch, &doc); err != nil {
		return err
	}
	if run.ResourceVersion != "" {
		doc["metadata"] = map[string]any{"resourceVersion": run.ResourceVersion}
		if patch, err = json.Marshal(doc); err != nil {
			return err
		}
	}
	_, err = w.c.clients.Dynamic.Resource(v1alpha1.AnalysisRunGVR).Namespace(run.Namespace).
		Patch(ctx, run.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return fmt.Errorf("write status of AnalysisRun %s/%s: %w", run.Namespace, run.Name, err)
	}
	return nil
}

// secret reads one key of a Secret, for secretKeyRef args.
func (w *analysisWorker) secret(ctx context.Context) analysis.SecretGetter {
	return func(namespace, name, key string) (string, error) {
		s, err := w.c.clients.Kube.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		if v, ok := s.Data[key]; ok {
			return string(v), nil
		}
		if v, ok := s.StringData[key]; ok {
			return v, nil
		}
		return "", fmt.Errorf("key %q not found in secret %s/%s", key, namespace, name)
	}
}
