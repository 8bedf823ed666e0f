package features

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"

	"github.com/rolloutlab/rolloutlab/engine/actions"
	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/fakes/kube"
	"github.com/rolloutlab/rolloutlab/sim"
	"github.com/rolloutlab/rolloutlab/sim/dist"
	"github.com/rolloutlab/rolloutlab/sim/scenario"
)

// simDriver runs the steps in a simulated world. Waiting runs the world's events on its virtual
// clock up to the deadline, so a scenario that covers minutes of a rollout takes milliseconds and
// never sleeps; the seed fixes every random draw, so a failure replays exactly.
type simDriver struct {
	w    *sim.World
	seed uint64
	cfg  sim.Config
	// used: something happened in the world (an object applied, an action, time passed), so it
	// can no longer be rebuilt with another seed or configuration.
	used bool
}

func newSimDriver(seed uint64) (*simDriver, error) {
	d := &simDriver{}
	return d, d.build(seed, sim.DefaultConfig())
}

func (d *simDriver) build(seed uint64, cfg sim.Config) error {
	if d.used {
		return fmt.Errorf("the simulated world is already in use: say how it is set up (seed, AWS, controller flags) before anything happens in it")
	}
	w, err := sim.NewWorld(seed, cfg, nil)
	if err != nil {
		return err
	}
	d.w, d.seed, d.cfg = w, seed, cfg
	return nil
}

// reseed rebuilds the world on another seed, keeping its configuration.
func (d *simDriver) reseed(seed uint64) error { return d.build(seed, d.cfg) }

// configure rebuilds the world with a changed configuration.
func (d *simDriver) configure(change func(*sim.Config)) error {
	cfg := d.cfg
	change(&cfg)
	return d.build(d.seed, cfg)
}

func (d *simDriver) Replay() string { return fmt.Sprintf("sim seed %d", d.seed) }

func (d *simDriver) UseAWS() error {
	return d.configure(func(c *sim.Config) {
		if c.AWS == nil { // said twice, or after a knob of the cloud: keep what was set
			aws := sim.DefaultAWSConfig()
			c.AWS = &aws
		}
	})
}

// lbcLag sets how late the AWS Load Balancer Controller reconciles a change it has heard of,
// drawn evenly from lag (a knob of the simulation only: a real controller lags as it does).
func (d *simDriver) lbcLag(lag dist.Delay) error {
	if d.cfg.AWS == nil {
		return fmt.Errorf(`the world has no AWS account: say "Given an AWS account with the AWS Load Balancer Controller" first`)
	}
	return d.configure(func(c *sim.Config) {
		aws := *c.AWS
		aws.LBC.ReconcileLag = lag
		c.AWS = &aws
	})
}

func (d *simDriver) VerifyTargetGroups(on bool) error {
	return d.configure(func(c *sim.Config) { c.Engine.Controller.VerifyTargetGroup = on })
}

func (d *simDriver) Apply(file string, yaml []byte) ([]string, error) {
	d.used = true
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
	d.used = true
	ns, name := split(rollout)
	_, err := actions.SetImage(d.w.Context(), d.w.UserRollouts, ns, name, container, image)
	return err
}

func (d *simDriver) Promote(rollout string, full bool) error {
	d.used = true
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
	d.used = true
	ns, name := split(rollout)
	_, err := actions.Abort(d.w.Context(), d.w.UserRollouts, ns, name)
	return err
}

func (d *simDriver) Retry(rollout string) error {
	d.used = true
	ns, name := split(rollout)
	_, err := actions.Retry(d.w.Context(), d.w.UserRollouts, ns, name)
	return err
}

func (d *simDriver) Pause(rollout string) error {
	d.used = true
	ns, name := split(rollout)
	_, err := actions.Pause(d.w.Context(), d.w.UserRollouts, ns, name)
	return err
}

func (d *simDriver) Resume(rollout string) error {
	d.used = true
	ns, name := split(rollout)
	_, err := actions.Resume(d.w.Context(), d.w.UserRollouts, ns, name)
	return err
}

func (d *simDriver) Undo(rollout string, toRevision int64) error {
	d.used = true
	ns, name := split(rollout)
	_, err := actions.Undo(d.w.Context(), d.w.UserRollouts, d.w.UserKube, ns, name, toRevision)
	return err
}

func (d *simDriver) WaitFor(rollout string, x scenario.Expectation, within time.Duration) error {
	d.used = true
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
	d.used = true
	_, err := d.w.Kernel.RunUntil(d.w.Kernel.Now().Add(dur), nil)
	return err
}

func (d *simDriver) CrashController(down time.Duration) error {
	d.used = true
	if !d.w.Engine.Up() {
		return fmt.Errorf("the controller is already down")
	}
	d.w.Engine.Crash()
	d.w.Kernel.After(down, "engine/restart", "", d.w.Engine.Start)
	return nil
}

func (d *simDriver) Await(within time.Duration, cond func() error) error {
	k := d.w.Kernel
	if within <= 0 {
		if err := cond(); err != nil {
			return fmt.Errorf("at t=%s %w", k.Elapsed(), err)
		}
		return nil
	}
	d.used = true
	var last error
	held, err := k.RunUntil(k.Now().Add(within), func() bool { last = cond(); return last == nil })
	if err != nil {
		return err // an invariant broke: the run cannot go on
	}
	if !held {
		return fmt.Errorf("after %s (at t=%s) still %w", within, k.Elapsed(), last)
	}
	return nil
}

// aws is the world's cloud, or an error that says how to get one.
func (d *simDriver) aws() (*sim.AWS, error) {
	if d.w.AWS == nil {
		return nil, fmt.Errorf("the world has no AWS account: say \"Given an AWS account with the AWS Load Balancer Controller\" first")
	}
	return d.w.AWS, nil
}

func (d *simDriver) StopLoadBalancerController(down time.Duration) error {
	a, err := d.aws()
	if err != nil {
		return err
	}
	if a.LBC.Down() {
		return fmt.Errorf("the AWS Load Balancer Controller is already down")
	}
	d.used = true
	if down > 0 {
		a.LBC.Outage(down)
	} else {
		a.LBC.SetDown(true)
	}
	return nil
}

func (d *simDriver) StartLoadBalancerController() error {
	a, err := d.aws()
	if err != nil {
		return err
	}
	if !a.LBC.Down() {
		return fmt.Errorf("the AWS Load Balancer Controller is already running")
	}
	d.used = true
	a.LBC.SetDown(false)
	return nil
}

func (d *simDriver) StartTraffic(ingress string, perSecond int) error {
	if _, err := d.aws(); err != nil {
		return err
	}
	d.used = true
	ns, name := split(ingress)
	return d.w.StartTraffic(sim.TrafficConfig{Rate: perSecond, Ingress: ns + "/" + name})
}

func (d *simDriver) Requests() (sim.TrafficStats, error) {
	if t := d.w.RequestTotals(); t != nil {
		return *t, nil
	}
	return sim.TrafficStats{}, nil
}

// ALB reads the rules in effect at each listener's data plane and turns each forward action's
// weights into shares of that rule's requests.
func (d *simDriver) ALB() (ALB, error) {
	a, err := d.aws()
	if err != nil {
		return ALB{}, err
	}
	return ALB{Shares: a.Shares(), NotReady: a.NotReady()}, nil
}

func (d *simDriver) IngressAnnotations(ingress string) (map[string]string, error) {
	ns, name := split(ingress)
	o, ok := d.w.Cluster.Store.Peek(kube.Ingresses, ns, name)
	if !ok {
		return nil, fmt.Errorf("ingress %s/%s does not exist", ns, name)
	}
	return o.(*networkingv1.Ingress).Annotations, nil
}

func (d *simDriver) Rollout(rollout string) (*v1alpha1.Rollout, error) {
	ro, err := d.rollout(rollout)
	if err != nil {
		return nil, err
	}
	return ro.DeepCopy(), nil
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
	return newRevision(ro, sim.OwnedReplicaSets(d.w.Cluster.Store, ro))
}

// newRevision is the revision of the ReplicaSet (of those the rollout owns) whose pod template is
// the rollout's, 0 when none is.
func newRevision(ro *v1alpha1.Rollout, owned []*appsv1.ReplicaSet) (int64, error) {
	for _, rs := range owned {
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
