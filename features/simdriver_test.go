package features

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"

	"github.com/rolloutlab/rolloutlab/engine/actions"
	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/sim"
	"github.com/rolloutlab/rolloutlab/sim/scenario"
)

// simDriver runs the steps in a simulated world. Waiting runs the world's events on its virtual
// clock up to the deadline, so a scenario that covers minutes of a rollout takes milliseconds and
// never sleeps; the seed fixes every random draw, so a failure replays exactly.
type simDriver struct {
	w    *sim.World
	seed uint64
}

func newSimDriver(seed uint64) (*simDriver, error) {
	w, err := sim.NewWorld(seed, sim.DefaultConfig(), nil)
	if err != nil {
		return nil, err
	}
	return &simDriver{w: w, seed: seed}, nil
}

func (d *simDriver) Replay() string { return fmt.Sprintf("sim seed %d", d.seed) }

func (d *simDriver) Apply(file string, yaml []byte) ([]string, error) {
	docs, err := d.w.Decoder.Decode(file, yaml)
	if err != nil {
		return nil, err
	}
	if err := d.w.Apply(docs); err != nil {
		return nil, err
	}
	var rollouts []string
	for _, doc := range docs {
		if ro, ok := doc.Object.(*v1alpha1.Rollout); ok {
			ns := ro.Namespace
			if ns == "" {
				ns = "default"
			}
			rollouts = append(rollouts, ns+"/"+ro.Name)
		}
	}
	return rollouts, nil
}

func (d *simDriver) SetImage(rollout, container, image string) error {
	ns, name := split(rollout)
	_, err := actions.SetImage(d.w.Context(), d.w.UserRollouts, ns, name, container, image)
	return err
}

func (d *simDriver) Promote(rollout string, full bool) error {
	ns, name := split(rollout)
	var err error
	if full {
		_, err = actions.PromoteFull(d.w.Context(), d.w.UserRollouts, ns, name)
	} else {
		_, err = actions.Promote(d.w.Context(), d.w.UserRollouts, ns, name)
	}
	return err
}

func (d *simDriver) Abort(rollout string) error {
	ns, name := split(rollout)
	_, err := actions.Abort(d.w.Context(), d.w.UserRollouts, ns, name)
	return err
}

func (d *simDriver) Retry(rollout string) error {
	ns, name := split(rollout)
	_, err := actions.Retry(d.w.Context(), d.w.UserRollouts, ns, name)
	return err
}

func (d *simDriver) Pause(rollout string) error {
	ns, name := split(rollout)
	_, err := actions.Pause(d.w.Context(), d.w.UserRollouts, ns, name)
	return err
}

func (d *simDriver) Resume(rollout string) error {
	ns, name := split(rollout)
	_, err := actions.Resume(d.w.Context(), d.w.UserRollouts, ns, name)
	return err
}

func (d *simDriver) Undo(rollout string, toRevision int64) error {
	ns, name := split(rollout)
	_, err := actions.Undo(d.w.Context(), d.w.UserRollouts, d.w.UserKube, ns, name, toRevision)
	return err
}

func (d *simDriver) WaitFor(rollout string, x scenario.Expectation, within time.Duration) error {
	k := d.w.Kernel
	held, err := k.RunUntil(k.Now().Add(within), func() bool { return d.mismatch(rollout, x) == "" })
	if err != nil {
		return err // an invariant broke: the run cannot go on
	}
	if !held {
		return fmt.Errorf("after %s (at t=%s) still %s", within, k.Elapsed(), d.mismatch(rollout, x))
	}
	return nil
}

func (d *simDriver) Check(rollout string, x scenario.Expectation) error {
	if m := d.mismatch(rollout, x); m != "" {
		return fmt.Errorf("at t=%s %s", d.w.Kernel.Elapsed(), m)
	}
	return nil
}

func (d *simDriver) mismatch(rollout string, x scenario.Expectation) string {
	ro, err := d.rollout(rollout)
	if err != nil {
		return err.Error()
	}
	return scenario.Mismatch(d.w, ro, x)
}

func (d *simDriver) Advance(dur time.Duration) error {
	_, err := d.w.Kernel.RunUntil(d.w.Kernel.Now().Add(dur), nil)
	return err
}

func (d *simDriver) CrashController(down time.Duration) error {
	if !d.w.Engine.Up() {
		return fmt.Errorf("the controller is already down")
	}
	d.w.Engine.Crash()
	d.w.Kernel.After(down, "engine/restart", "", d.w.Engine.Start)
	return nil
}

func (d *simDriver) State(rollout string) (sim.State, error) {
	ro, err := d.rollout(rollout)
	if err != nil {
		return sim.State{}, err
	}
	return sim.ObserveState(d.w.Cluster.Store, ro), nil
}

// NewRevision compares pod templates rather than trusting the engine's template hash, so a
// hashing bug in the engine cannot hide from the check.
func (d *simDriver) NewRevision(rollout string) (int64, error) {
	ro, err := d.rollout(rollout)
	if err != nil {
		return 0, err
	}
	for _, rs := range sim.OwnedReplicaSets(d.w.Cluster.Store, ro) {
		tmpl := rs.Spec.Template.DeepCopy()
		delete(tmpl.Labels, v1alpha1.DefaultRolloutUniqueLabelKey)
		if apiequality.Semantic.DeepEqual(*tmpl, ro.Spec.Template) {
			return strconv.ParseInt(rs.Annotations[v1alpha1.RevisionAnnotation], 10, 64)
		}
	}
	return 0, nil
}

func (d *simDriver) ReplicaSets(rollout string) ([]string, error) {
	ro, err := d.rollout(rollout)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, rs := range sim.OwnedReplicaSets(d.w.Cluster.Store, ro) {
		names = append(names, rs.Name)
	}
	sort.Strings(names)
	return names, nil
}

func (d *simDriver) Events(rollout string) ([]string, error) {
	ns, name := split(rollout)
	var out []string
	for _, e := range d.w.Recorder.Events {
		if e.Object == ns+"/"+name {
			out = append(out, e.Reason+": "+e.Message)
		}
	}
	return out, nil
}

func (d *simDriver) rollout(rollout string) (*v1alpha1.Rollout, error) {
	ns, name := split(rollout)
	o, ok := d.w.Cluster.Store.Peek(sim.Rollouts, ns, name)
	if !ok {
		return nil, fmt.Errorf("rollout %s/%s does not exist", ns, name)
	}
	return o.(*v1alpha1.Rollout), nil
}

// split reads "namespace/name", or "name" in the default namespace.
func split(rollout string) (ns, name string) {
	if ns, name, ok := strings.Cut(rollout, "/"); ok {
		return ns, name
	}
	return "default", rollout
}
