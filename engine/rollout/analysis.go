package rollout

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/rolloutlab/rolloutlab/engine/analysis"
	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
)

// Analysis in the rollout, as Argo Rollouts' rollout/analysis.go does it: the rollout creates
// AnalysisRuns from its analysis stanzas (an inline `analysis` step, the background
// `canary.analysis` from its startingStep on, blue-green pre- and post-promotion analysis), names
// them in its status, and reads their phase back: a step completes on Successful, Failed or Error
// aborts the update with the run's message, Inconclusive pauses it (InconclusiveAnalysisRun) until
// a person promotes, which starts a new run. Runs are terminated (spec.terminate) when the rollout
// no longer needs them: the step moved on, the update is fully promoted, aborted, or promoted with
// --full. The runs themselves are measured by the analysis controller (engine/analysis.Step).

// Labels on the AnalysisRuns a rollout creates, spelled as Argo spells them.
const (
	// RolloutTypeLabel says which analysis of the rollout a run is.
	RolloutTypeLabel = "rollout-type"
	// RolloutCanaryStepIndexLabel is the step index of an inline analysis run.
	RolloutCanaryStepIndexLabel = "step-index"

	RolloutTypeStep          = "Step"
	RolloutTypeBackground    = "Background"
	RolloutTypePrePromotion  = "PrePromotion"
	RolloutTypePostPromotion = "PostPromotion"
)

// AnalysisRunResource is the resource the engine creates and patches AnalysisRuns through.
var AnalysisRunResource = v1alpha1.AnalysisRunGVR

// terminateAnalysisRunPatch stops a run (Argo's cancelAnalysisRun).
const terminateAnalysisRunPatch = `{"spec":{"terminate":true}}`

// analysisRunRetry is how soon a rollout whose run could not be built is looked at again.
const analysisRunRetry = verifyRetry

// analysisRuns are a rollout's current runs, one per kind of analysis.
type analysisRuns struct {
	step, background, pre, post *v1alpha1.AnalysisRun
}

func (r analysisRuns) all() []*v1alpha1.AnalysisRun {
	var out []*v1alpha1.AnalysisRun
	for _, ar := range []*v1alpha1.AnalysisRun{r.step, r.background, r.pre, r.post} {
		if ar != nil {
			out = append(out, ar)
		}
	}
	return out
}

func (r analysisRuns) has(name string) bool {
	for _, ar := range r.all() {
		if ar.Name == name {
			return true
		}
	}
	return false
}

// analysisState is one reconcile's view of the rollout's AnalysisRuns.
type analysisState struct {
	// current are the runs the status names (as observed), other the rest the rollout controls.
	current analysisRuns
	other   []*v1alpha1.AnalysisRun
	// next are the runs reconcileAnalysisRuns decided on (created ones included); reconciled
	// tells whether it ran.
	next       analysisRuns
	reconciled bool
	// terminated are the runs this plan terminates or deletes already.
	terminated, deleted map[string]bool
	// verified memoizes targetsVerified (which emits events) for this reconcile.
	verified *bool
}

// runs are the current runs: those decided in this reconcile, else those the status names.
func (a *analysisState) runs() analysisRuns {
	if a.reconciled {
		return a.next
	}
	return a.current
}

// classifyAnalysis sorts the observed runs into the ones the status names and the others, and
// carries the status's run entries over (a reconcile that does not look at analysis keeps them).
func (d *decision) classifyAnalysis() {
	st := d.ro.Status
	name := func(s *v1alpha1.RolloutAnalysisRunStatus) string {
		if s == nil {
			return ""
		}
		return s.Name
	}
	for _, ar := range d.in.AnalysisRuns {
		switch ar.Name {
		case name(st.Canary.CurrentStepAnalysisRunStatus):
			d.an.current.step = ar
		case name(st.Canary.CurrentBackgroundAnalysisRunStatus):
			d.an.current.background = ar
		case name(st.BlueGreen.PrePromotionAnalysisRunStatus):
			d.an.current.pre = ar
		case name(st.BlueGreen.PostPromotionAnalysisRunStatus):
			d.an.current.post = ar
		default:
			d.an.other = append(d.an.other, ar)
		}
	}
	d.newStatus.Canary.CurrentStepAnalysisRunStatus = st.Canary.CurrentStepAnalysisRunStatus.DeepCopy()
	d.newStatus.Canary.CurrentBackgroundAnalysisRunStatus = st.Canary.CurrentBackgroundAnalysisRunStatus.DeepCopy()
	d.newStatus.BlueGreen.PrePromotionAnalysisRunStatus = st.BlueGreen.PrePromotionAnalysisRunStatus.DeepCopy()
	d.newStatus.BlueGreen.PostPromotionAnalysisRunStatus = st.BlueGreen.PostPromotionAnalysisRunStatus.DeepCopy()
}

// reconcileAnalysisRuns creates, keeps or terminates the runs the rollout's analyses need now,
// records them in the status, and turns a finished run into a pause (Inconclusive) or an abort
// (Failed, Error). An aborted update, promote --full, a rollback within the scale-down delay or
// the rollback window, and the first deploy run no analysis: their runs are terminated.
func (d *decision) reconcileAnalysisRuns() {
	a := &d.an
	a.reconciled = true
	if d.aborted() || d.ro.Status.PromoteFull || hasDeadline(d.newRS) || d.ro.Status.StableRS == "" || d.rollbackWithinWindow() {
		a.next = a.current
		d.terminateRuns(a.current.all()...)
		d.terminateRuns(a.other...)
		d.setAnalysisRunStatuses()
		return
	}
	var next analysisRuns
	if d.ro.Spec.Strategy.Canary != nil {
		next.step = d.reconcileStepRun()
		if d.plan.Err != nil {
			return
		}
		next.background = d.reconcileBackgroundRun()
		if d.plan.Err != nil {
			return
		}
	}
	if d.ro.Spec.Strategy.BlueGreen != nil {
		next.pre = d.reconcilePrePromotionRun()
		if d.plan.Err != nil {
			return
		}
		d.pauseOrAbort(next.pre)
		next.post = d.reconcilePostPromotionRun()
		if d.plan.Err != nil {
			return
		}
		d.pauseOrAbort(next.post)
	}
	a.next = next
	d.setAnalysisRunStatuses()
	var others []*v1alpha1.AnalysisRun
	for _, ar := range a.other {
		if !next.has(ar.Name) {
			others = append(others, ar)
		}
	}
	d.terminateRuns(others...)
	d.deleteOldRuns(others)
	d.emitAnalysisRunEvents()
}

// reconcileStepRun is the run of an inline analysis step: created when the step is reached,
// terminated when the index moves on.
func (d *decision) reconcileStepRun() *v1alpha1.AnalysisRun {
	step, idx := CurrentStep(d.ro)
	cur := d.an.current.step
	if len(d.ro.Status.PauseConditions) > 0 || d.ro.Status.Abort {
		return cur
	}
	fromPreviousStep := step != nil && step.Analysis != nil && cur != nil && cur.Labels[RolloutCanaryStepIndexLabel] != strconv.Itoa(int(*idx))
	if step == nil || step.Analysis == nil || idx == nil || fromPreviousStep {
		d.terminateRuns(cur)
		return nil
	}
	if d.needsNewAnalysisRun(cur) {
		labels := d.runLabels(RolloutTypeStep)
		labels[RolloutCanaryStepIndexLabel] = strconv.Itoa(int(*idx))
		return d.createAnalysisRun(step.Analysis, strconv.Itoa(int(*idx)), labels)
	}
	d.pauseOrAbort(cur)
	return cur
}

// reconcileBackgroundRun is the run of canary.analysis: from startingStep until the update is
// fully promoted.
func (d *decision) reconcileBackgroundRun() *v1alpha1.AnalysisRun {
	c := d.ro.Spec.Strategy.Canary
	cur := d.an.current.background
	if c.Analysis == nil || len(c.Analysis.Templates) == 0 {
		d.terminateRuns(cur)
		return nil
	}
	if d.fullyPromoted() || d.ro.Status.StableRS == "" || d.ro.Status.CurrentPodHash == "" || beforeStartingStep(d.ro) {
		return nil // no longer named in the status: terminated by the next reconcile
	}
	if pauseCondition(d.ro, v1alpha1.PauseReasonInconclusiveAnalysis) != nil {
		return cur
	}
	if d.needsNewAnalysisRun(cur) {
		return d.createAnalysisRun(&c.Analysis.RolloutAnalysis, "", d.runLabels(RolloutTypeBackground))
	}
	d.pauseOrAbort(cur)
	return cur
}

// beforeStartingStep: the background analysis starts at a later step.
func beforeStartingStep(ro *v1alpha1.Rollout) bool {
	c := ro.Spec.Strategy.Canary
	if c == nil || c.Analysis == nil || c.Analysis.StartingStep == nil {
		return false
	}
	_, idx := CurrentStep(ro)
	return idx != nil && *idx < *c.Analysis.StartingStep
}

// reconcilePrePromotionRun is the blue-green run that must succeed before the active Service
// switches: it starts once the new ReplicaSet is saturated behind the preview.
func (d *decision) reconcilePrePromotionRun() *v1alpha1.AnalysisRun {
	cur := d.an.current.pre
	spec := d.bg().PrePromotionAnalysis
	if spec == nil {
		d.terminateRuns(cur)
		return nil
	}
	if d.skipPrePromotionRun() {
		d.terminateRuns(cur)
		return cur
	}
	if pauseCondition(d.ro, v1alpha1.PauseReasonInconclusiveAnalysis) != nil {
		return cur
	}
	if d.needsNewAnalysisRun(cur) {
		return d.createAnalysisRun(spec, "pre", d.runLabels(RolloutTypePrePromotion))
	}
	return cur
}

// skipPrePromotionRun: the switch happened (or there is nothing to switch from), or the new
// ReplicaSet is not up yet.
func (d *decision) skipPrePromotionRun() bool {
	hash := podHash(d.newRS)
	active := d.ro.Status.BlueGreen.ActiveSelector
	if d.ro.Status.StableRS == hash || active == "" || active == hash || hash == "" {
		return true
	}
	if prc := d.bg().PreviewReplicaCount; prc != nil {
		return specReplicas(d.newRS) != *prc || available(d.newRS) != *prc
	}
	return !d.saturated(d.newRS)
}

// reconcilePostPromotionRun is the blue-green run that must succeed before the new version is
// marked stable: it starts once the active Service switched (and, with verification, AWS has the
// new pods registered).
func (d *decision) reconcilePostPromotionRun() *v1alpha1.AnalysisRun {
	cur := d.an.current.post
	spec := d.bg().PostPromotionAnalysis
	if spec == nil {
		d.terminateRuns(cur)
		return nil
	}
	if d.skipPostPromotionRun() || !d.targetsVerifiedOnce() {
		d.terminateRuns(cur)
		return cur
	}
	if pauseCondition(d.ro, v1alpha1.PauseReasonInconclusiveAnalysis) != nil {
		return cur
	}
	if d.needsNewAnalysisRun(cur) {
		return d.createAnalysisRun(spec, "post", d.runLabels(RolloutTypePostPromotion))
	}
	return cur
}

func (d *decision) skipPostPromotionRun() bool {
	hash := podHash(d.newRS)
	return d.ro.Status.StableRS == hash || d.ro.Status.BlueGreen.ActiveSelector != hash || hash == "" || !d.saturated(d.newRS)
}

// targetsVerifiedOnce is targetsVerified, asked at most once per reconcile (it emits events).
func (d *decision) targetsVerifiedOnce() bool {
	if d.an.verified == nil {
		v := d.targetsVerified()
		d.an.verified = &v
	}
	return *d.an.verified
}

// needsNewAnalysisRun: there is no run yet, a person resumed the rollout after an inconclusive
// run, or the update was retried after an abort.
func (d *decision) needsNewAnalysisRun(cur *v1alpha1.AnalysisRun) bool {
	if cur == nil {
		return true
	}
	if d.ro.Status.ControllerPause && pauseCondition(d.ro, v1alpha1.PauseReasonCanaryPauseStep) == nil &&
		pauseCondition(d.ro, v1alpha1.PauseReasonBlueGreenPause) == nil {
		return cur.Status.Phase == v1alpha1.AnalysisPhaseInconclusive
	}
	return d.ro.Status.AbortedAt != nil
}

// pauseOrAbort turns a finished run into a pause (Inconclusive) or an abort (Failed, Error).
func (d *decision) pauseOrAbort(ar *v1alpha1.AnalysisRun) {
	if ar == nil {
		return
	}
	switch ar.Status.Phase {
	case v1alpha1.AnalysisPhaseInconclusive:
		d.pause.add = append(d.pause.add, v1alpha1.PauseReasonInconclusiveAnalysis)
	case v1alpha1.AnalysisPhaseError, v1alpha1.AnalysisPhaseFailed:
		d.pause.addAbort, d.pause.abortMessage = true, ar.Status.Message
	}
}

// runLabels are the controller's labels of a run of the new ReplicaSet.
func (d *decision) runLabels(rolloutType string) map[string]string {
	return map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: podHash(d.newRS), RolloutTypeLabel: rolloutType}
}

// createAnalysisRun plans the run an analysis asks for, named <rollout>-<hash>-<revision>[-infix]
// (with .N appended when another run holds the name), or adopts the run of that name when it is
// ours, still going and the same. A run that cannot be built is reported and retried.
func (d *decision) createAnalysisRun(spec *v1alpha1.RolloutAnalysis, infix string, labels map[string]string) *v1alpha1.AnalysisRun {
	hash := podHash(d.newRS)
	if hash == "" {
		d.analysisError(fmt.Errorf("Latest ReplicaSet has no pod hash in the labels"))
		return nil
	}
	rev := d.ro.Annotations[v1alpha1.RevisionAnnotation]
	parts := []string{d.ro.Name, hash, rev}
	if infix != "" {
		parts = append(parts, infix)
	}
	base := strings.Join(parts, "-")
	run, err := analysis.NewRun(analysis.RunRequest{
		Name: base, Analysis: *spec, Labels: labels,
		Refs: analysis.RolloutRefs{Rollout: d.ro, StableHash: podHash(d.stableRS), LatestHash: hash},
	}, observedTemplates{d.in})
	if err != nil {
		d.analysisError(err)
		return nil
	}
	// Argo's precedence: the controller's labels, the analysis's own, then the rollout's selector.
	if run.Labels == nil {
		run.Labels = map[string]string{}
	}
	if d.ro.Spec.Selector != nil {
		for k, v := range d.ro.Spec.Selector.MatchLabels {
			run.Labels[k] = v
		}
	}
	annotations := map[string]string{v1alpha1.RevisionAnnotation: rev}
	for k, v := range spec.AnalysisRunMetadata.Annotations {
		annotations[k] = v
	}
	run.Annotations = annotations
	for n := 1; ; n++ {
		existing := d.observedRun(run.Name)
		if existing == nil && !d.in.TakenAnalysisRunNames[run.Name] {
			break
		}
		if existing != nil && !existing.Status.Phase.Completed() && !existing.Spec.Terminate &&
			apiequality.Semantic.DeepEqual(existing.Spec, run.Spec) {
			return existing // ours already (created by a reconcile whose status write was lost)
		}
		run.Name = fmt.Sprintf("%s.%d", base, n)
	}
	d.plan.add(Action{Kind: CreateAnalysisRun, AnalysisRun: run, Name: run.Name})
	if d.plan.Why == "" {
		d.plan.Why = "create AnalysisRun " + run.Name
	}
	return run
}

func (d *decision) observedRun(name string) *v1alpha1.AnalysisRun {
	for _, ar := range d.in.AnalysisRuns {
		if ar.Name == name {
			return ar
		}
	}
	return nil
}

// analysisError reports a run that cannot be built; the reconcile writes nothing more and retries.
func (d *decision) analysisError(err error) {
	d.plan.warn("AnalysisRunError", "Failed to create AnalysisRun: %v", err)
	d.plan.Err = err
	d.plan.requeue(analysisRunRetry)
	if d.plan.Why == "" {
		d.plan.Why = "cannot create AnalysisRun: " + err.Error()
	}
}

// terminateRuns plans spec.terminate for each run that is still going.
func (d *decision) terminateRuns(runs ...*v1alpha1.AnalysisRun) {
	for _, ar := range runs {
		if ar == nil || ar.Spec.Terminate || ar.Status.Phase.Completed() || d.an.terminated[ar.Name] {
			continue
		}
		if d.an.terminated == nil {
			d.an.terminated = map[string]bool{}
		}
		d.an.terminated[ar.Name] = true
		d.plan.add(Action{Kind: PatchAnalysisRun, Name: ar.Name, Namespace: ar.Namespace,
			Patch: []byte(terminateAnalysisRunPatch), PatchType: types.MergePatchType})
	}
}

// deleteOldRuns deletes the runs of ReplicaSets that are gone, and finished runs beyond the
// rollout's history limits (5 successful, 5 unsuccessful by default), oldest first.
func (d *decision) deleteOldRuns(runs []*v1alpha1.AnalysisRun) {
	hashes := map[string]bool{} // pod hash → its ReplicaSet is being deleted
	for _, rs := range d.allRSs {
		if h, ok := rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]; ok {
			hashes[h] = rs.DeletionTimestamp != nil
		}
	}
	sorted := append([]*v1alpha1.AnalysisRun(nil), runs...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i].CreationTimestamp, sorted[j].CreationTimestamp
		if !a.Equal(&b) {
			return b.Before(&a)
		}
		return sorted[i].Name > sorted[j].Name
	})
	limitOK, limitBad := v1alpha1.SuccessfulRunHistoryLimit(d.ro), v1alpha1.UnsuccessfulRunHistoryLimit(d.ro)
	var keptOK, keptBad int32
	for _, ar := range sorted {
		del := false
		h, ok := ar.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
		deleting, exists := hashes[h]
		switch {
		case !ok || !exists || deleting:
			del = true
		case ar.Status.Phase == v1alpha1.AnalysisPhaseSuccessful:
			del = keptOK >= limitOK
			keptOK++
		case ar.Status.Phase.Completed():
			del = keptBad >= limitBad
			keptBad++
		}
		if del && ar.DeletionTimestamp == nil && !d.an.deleted[ar.Name] {
			if d.an.deleted == nil {
				d.an.deleted = map[string]bool{}
			}
			d.an.deleted[ar.Name] = true
			d.plan.add(Action{Kind: DeleteAnalysisRun, Name: ar.Name, Namespace: ar.Namespace})
		}
	}
}

// setAnalysisRunStatuses names the current runs in the status with their phase and message.
func (d *decision) setAnalysisRunStatuses() {
	r := d.an.next
	if d.ro.Spec.Strategy.Canary != nil {
		d.newStatus.Canary.CurrentStepAnalysisRunStatus = runStatus(r.step)
		d.newStatus.Canary.CurrentBackgroundAnalysisRunStatus = runStatus(r.background)
	} else if d.ro.Spec.Strategy.BlueGreen != nil {
		d.newStatus.BlueGreen.PrePromotionAnalysisRunStatus = runStatus(r.pre)
		d.newStatus.BlueGreen.PostPromotionAnalysisRunStatus = runStatus(r.post)
	}
}

func runStatus(ar *v1alpha1.AnalysisRun) *v1alpha1.RolloutAnalysisRunStatus {
	if ar == nil {
		return nil
	}
	return &v1alpha1.RolloutAnalysisRunStatus{Name: ar.Name, Status: ar.Status.Phase, Message: ar.Status.Message}
}

// emitAnalysisRunEvents emits AnalysisRun<Phase> when a current run's phase changed, as Argo does.
func (d *decision) emitAnalysisRunEvents() {
	st, r := d.ro.Status, d.an.next
	d.emitRunEvent(st.BlueGreen.PostPromotionAnalysisRunStatus, r.post, RolloutTypePostPromotion)
	d.emitRunEvent(st.BlueGreen.PrePromotionAnalysisRunStatus, r.pre, RolloutTypePrePromotion)
	d.emitRunEvent(st.Canary.CurrentStepAnalysisRunStatus, r.step, RolloutTypeStep)
	d.emitRunEvent(st.Canary.CurrentBackgroundAnalysisRunStatus, r.background, RolloutTypeBackground)
}

func (d *decision) emitRunEvent(prev *v1alpha1.RolloutAnalysisRunStatus, ar *v1alpha1.AnalysisRun, kind string) {
	if ar == nil || ar.Status.Phase == "" {
		return
	}
	if prev != nil && (prev.Name != ar.Name || prev.Status == ar.Status.Phase) {
		return
	}
	prevPhase := "NoPreviousStatus"
	if prev != nil {
		prevPhase = string(prev.Status)
	}
	e := Event{Type: corev1.EventTypeNormal, Reason: "AnalysisRun" + string(ar.Status.Phase),
		Message: fmt.Sprintf("%s Analysis Run '%s' Status New: '%s' Previous: '%s'", kind, ar.Name, ar.Status.Phase, prevPhase)}
	if ar.Status.Phase == v1alpha1.AnalysisPhaseFailed || ar.Status.Phase == v1alpha1.AnalysisPhaseError {
		e.Type = corev1.EventTypeWarning
	}
	d.plan.Events = append(d.plan.Events, e)
}

// completedStepAnalysis: the current step's run ended Successful.
func (d *decision) completedStepAnalysis() bool {
	ar := d.an.runs().step
	return ar != nil && ar.Status.Phase == v1alpha1.AnalysisPhaseSuccessful
}

// completedPrePromotionAnalysis: there is no pre-promotion analysis, or its run succeeded.
func (d *decision) completedPrePromotionAnalysis() bool {
	if d.bg() == nil || d.bg().PrePromotionAnalysis == nil {
		return true
	}
	ar := d.an.runs().pre
	return ar != nil && ar.Status.Phase == v1alpha1.AnalysisPhaseSuccessful
}

// postPromotionHold says whether post-promotion analysis keeps the new version from becoming
// stable, and the promotion reason when a rollback within the scale-down delay skips it.
func (d *decision) postPromotionHold() (hold bool, reason string) {
	if d.bg().PostPromotionAnalysis == nil {
		return false, ""
	}
	if hasDeadline(d.newRS) {
		return false, fmt.Sprintf("Rollback to '%s' within scaleDownDelay", d.newRS.Name)
	}
	ar := d.an.runs().post
	return ar == nil || ar.Status.Phase != v1alpha1.AnalysisPhaseSuccessful, ""
}

// holdOldForPostPromotion: without scaleDownDelaySeconds, old ReplicaSets stay while
// post-promotion analysis has not succeeded.
func (d *decision) holdOldForPostPromotion() bool {
	bg := d.bg()
	if bg.PostPromotionAnalysis == nil || bg.ScaleDownDelaySeconds != nil || d.skipPostPromotionRun() {
		return false
	}
	ar := d.an.runs().post
	return ar == nil || ar.Status.Phase != v1alpha1.AnalysisPhaseSuccessful
}

// rolloutAnalyses lists a rollout's analysis stanzas with the field path of their templates and
// whether they run in the background.
type rolloutAnalysisRef struct {
	spec       *v1alpha1.RolloutAnalysis
	path       *field.Path
	background bool
}

func rolloutAnalyses(ro *v1alpha1.Rollout) []rolloutAnalysisRef {
	p := field.NewPath("spec", "strategy")
	var out []rolloutAnalysisRef
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		if bg.PrePromotionAnalysis != nil {
			out = append(out, rolloutAnalysisRef{bg.PrePromotionAnalysis, p.Child("blueGreen", "prePromotionAnalysis", "templates"), false})
		}
		if bg.PostPromotionAnalysis != nil {
			out = append(out, rolloutAnalysisRef{bg.PostPromotionAnalysis, p.Child("blueGreen", "postPromotionAnalysis", "templates"), false})
		}
	} else if c := ro.Spec.Strategy.Canary; c != nil {
		for i := range c.Steps {
			if a := c.Steps[i].Analysis; a != nil {
				out = append(out, rolloutAnalysisRef{a, p.Child("canary", "steps").Index(i).Child("analysis", "templates"), false})
			}
		}
		if c.Analysis != nil {
			out = append(out, rolloutAnalysisRef{&c.Analysis.RolloutAnalysis, p.Child("canary", "analysis", "templates"), true})
		}
	}
	return out
}

// validateAnalysis checks the rollout's analyses against the templates, as Argo's validation of
// referenced resources does: every template exists, the run can be built from them (args
// resolve, metrics are valid), and no metric of an inline or blue-green analysis runs forever.
func (d *decision) validateAnalysis() *field.Error {
	src := observedTemplates{d.in}
	for _, ref := range rolloutAnalyses(d.ro) {
		templates, clusterTemplates, err := analysis.ResolveTemplates(ref.spec.Templates, d.ro.Namespace, src)
		if err != nil {
			var nf templateNotFound
			if errors.As(err, &nf) {
				return field.Invalid(ref.path, nf.name, nf.Error())
			}
			return field.Invalid(ref.path, "", err.Error())
		}
		var names []string
		for _, t := range templates {
			names = append(names, t.Name)
		}
		for _, t := range clusterTemplates {
			names = append(names, t.Name)
		}
		_, err = analysis.NewRun(analysis.RunRequest{Name: d.ro.Name, Analysis: *ref.spec, Refs: analysis.RolloutRefs{
			Rollout: d.ro, StableHash: "dummy-stable-hash", LatestHash: "dummy-new-hash"}}, src)
		if err != nil {
			return field.Invalid(ref.path, fmt.Sprintf("templateNames: %v", names), err.Error())
		}
		if ref.background {
			continue
		}
		check := func(name string, spec v1alpha1.AnalysisTemplateSpec) *field.Error {
			for _, m := range spec.Metrics {
				if runsForever(m) {
					count := "<nil>"
					if m.Count != nil {
						count = m.Count.String()
					}
					return field.Invalid(ref.path, name, fmt.Sprintf(
						"AnalysisTemplate %s has metric %s which runs indefinitely. Invalid value for count: %s", name, m.Name, count))
				}
			}
			return nil
		}
		for _, t := range templates {
			if err := check(t.Name, t.Spec); err != nil {
				return err
			}
		}
		for _, t := range clusterTemplates {
			if err := check(t.Name, t.Spec); err != nil {
				return err
			}
		}
	}
	return nil
}

// runsForever: a metric with an interval and no count (a count from an arg is not judged here).
func runsForever(m v1alpha1.Metric) bool {
	if m.Interval == "" {
		return false
	}
	return m.Count == nil || (m.Count.Type == intstr.Int && m.Count.IntVal == 0)
}

// templateNotFound is a missing template, in Argo's words.
type templateNotFound struct{ kind, name string }

func (e templateNotFound) Error() string { return fmt.Sprintf("%s '%s' not found", e.kind, e.name) }

// observedTemplates serves the templates a reconcile observed.
type observedTemplates struct{ in Observed }

func (s observedTemplates) AnalysisTemplate(_, name string) (*v1alpha1.AnalysisTemplate, error) {
	if t := s.in.AnalysisTemplates[name]; t != nil {
		return t, nil
	}
	return nil, templateNotFound{"AnalysisTemplate", name}
}

func (s observedTemplates) ClusterAnalysisTemplate(name string) (*v1alpha1.ClusterAnalysisTemplate, error) {
	if t := s.in.ClusterAnalysisTemplates[name]; t != nil {
		return t, nil
	}
	return nil, templateNotFound{"ClusterAnalysisTemplate", name}
}

// observeAnalysis reads the rollout's AnalysisRuns (a run its status names that the cache lacks
// is read from the API, as Argo does) and the templates its analyses reference, transitively.
func (r *Reconciler) observeAnalysis(ctx context.Context, in *Observed) error {
	ro := in.Rollout
	runs, err := r.deps.Reader.AnalysisRuns(ro.Namespace)
	if err != nil {
		return err
	}
	in.TakenAnalysisRunNames = map[string]bool{}
	seen := map[string]bool{}
	for _, ar := range runs {
		if ref := metav1.GetControllerOf(ar); ref != nil && ref.UID == ro.UID {
			in.AnalysisRuns = append(in.AnalysisRuns, ar)
			seen[ar.Name] = true
		} else {
			in.TakenAnalysisRunNames[ar.Name] = true
		}
	}
	st := ro.Status
	for _, s := range []*v1alpha1.RolloutAnalysisRunStatus{st.Canary.CurrentBackgroundAnalysisRunStatus, st.Canary.CurrentStepAnalysisRunStatus,
		st.BlueGreen.PrePromotionAnalysisRunStatus, st.BlueGreen.PostPromotionAnalysisRunStatus} {
		if s == nil || seen[s.Name] || r.deps.Dynamic == nil {
			continue
		}
		u, err := r.deps.Dynamic.Resource(AnalysisRunResource).Namespace(ro.Namespace).Get(ctx, s.Name, metav1.GetOptions{})
		if err != nil {
			continue // not there (yet): decide as if it did not exist
		}
		ar, err := AnalysisRunFromUnstructured(u)
		if err != nil {
			return err
		}
		if ref := metav1.GetControllerOf(ar); ref != nil && ref.UID == ro.UID {
			in.AnalysisRuns = append(in.AnalysisRuns, ar)
			seen[ar.Name] = true
		}
	}
	var refs []v1alpha1.RolloutAnalysisTemplate
	for _, a := range rolloutAnalyses(ro) {
		refs = append(refs, a.spec.Templates...)
	}
	if len(refs) == 0 {
		return nil
	}
	in.AnalysisTemplates = map[string]*v1alpha1.AnalysisTemplate{}
	in.ClusterAnalysisTemplates = map[string]*v1alpha1.ClusterAnalysisTemplate{}
	visited := map[v1alpha1.RolloutAnalysisTemplate]bool{}
	for len(refs) > 0 {
		ref := refs[0]
		refs = refs[1:]
		if visited[ref] {
			continue
		}
		visited[ref] = true
		if ref.ClusterScope {
			t, err := r.deps.Reader.ClusterAnalysisTemplate(ref.TemplateName)
			if apierrors.IsNotFound(err) {
				continue
			}
			if err != nil {
				return err
			}
			in.ClusterAnalysisTemplates[t.Name] = t
			refs = append(refs, t.Spec.Templates...)
			continue
		}
		t, err := r.deps.Reader.AnalysisTemplate(ro.Namespace, ref.TemplateName)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		in.AnalysisTemplates[t.Name] = t
		refs = append(refs, t.Spec.Templates...)
	}
	return nil
}

// AnalysisRunFromUnstructured converts an AnalysisRun as a dynamic client returns it.
func AnalysisRunFromUnstructured(u *unstructured.Unstructured) (*v1alpha1.AnalysisRun, error) {
	ar := &v1alpha1.AnalysisRun{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, ar); err != nil {
		return nil, fmt.Errorf("AnalysisRun %s: %w", u.GetName(), err)
	}
	return ar, nil
}

// writeAnalysisRun creates, terminates or deletes a run through the dynamic client. A create that
// finds the name taken by the very run it meant to create (ours, going, the same spec: an earlier
// reconcile's, whose status write was lost or not yet seen) succeeds, as Argo's collision check does.
func (r *Reconciler) writeAnalysisRun(ctx context.Context, ns string, a Action) error {
	if r.deps.Dynamic == nil {
		return fmt.Errorf("no dynamic client to write AnalysisRun %s/%s", ns, a.Name)
	}
	runs := r.deps.Dynamic.Resource(AnalysisRunResource).Namespace(ns)
	switch a.Kind {
	case CreateAnalysisRun:
		obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(a.AnalysisRun)
		if err != nil {
			return err
		}
		u := &unstructured.Unstructured{Object: obj}
		u.SetGroupVersionKind(v1alpha1.AnalysisRunGVK)
		_, err = runs.Create(ctx, u, metav1.CreateOptions{})
		if !apierrors.IsAlreadyExists(err) {
			return err
		}
		cur, getErr := runs.Get(ctx, a.AnalysisRun.Name, metav1.GetOptions{})
		if getErr != nil {
			return err
		}
		existing, convErr := AnalysisRunFromUnstructured(cur)
		if convErr != nil {
			return err
		}
		want := metav1.GetControllerOf(a.AnalysisRun)
		ref := metav1.GetControllerOf(existing)
		if ref != nil && want != nil && ref.UID == want.UID && !existing.Status.Phase.Completed() &&
			apiequality.Semantic.DeepEqual(existing.Spec, a.AnalysisRun.Spec) {
			return nil
		}
		return err
	case PatchAnalysisRun:
		_, err := runs.Patch(ctx, a.Name, a.PatchType, a.Patch, metav1.PatchOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	case DeleteAnalysisRun:
		err := runs.Delete(ctx, a.Name, metav1.DeleteOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}
	return fmt.Errorf("unknown AnalysisRun action %q", a.Kind)
}
