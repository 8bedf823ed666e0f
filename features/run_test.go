package features

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rolloutlab/rolloutlab/sim"
)

// run is one scenario's state. Before each scenario it is reset to nothing but a fresh world, so
// no scenario sees another's leftovers (scenarios run in a shuffled order to prove it).
type run struct {
	name  string // the scenario's name, for replay messages
	seed  uint64
	drv   driver
	acted bool // something happened in the world: too late to change its seed

	// rollout is the one "the rollout" means: the last Rollout applied.
	rollout string

	// noted are the rollout's ReplicaSets just before the last action (or "I note the
	// ReplicaSets"), for "no new ReplicaSet was created"; nil until something was noted.
	noted   []string
	notedAt string

	// failedSeen is how many requests had failed at the last look at the requests, for "no more
	// requests failed".
	failedSeen int
}

func (r *run) reset(name string) error {
	seed, err := defaultSeed()
	if err != nil {
		return err
	}
	*r = run{name: name, seed: seed}
	if clusterKubeconfig() != "" {
		r.drv, err = newClusterDriver(name)
	} else {
		r.drv, err = newSimDriver(seed)
	}
	return err
}

// close ends the scenario: a cluster driver stops its controller and removes its namespace;
// when the scenario failed, the controller's log goes to the test's output.
func (r *run) close(failed error) error {
	cd, ok := r.drv.(*clusterDriver)
	if !ok {
		return nil
	}
	if failed != nil {
		fmt.Fprintf(os.Stderr, "--- the rollout controller's log (scenario %q):\n%s", r.name, cd.ControllerLog())
	}
	return cd.Close()
}

// setSeed replaces the world with one on another seed (and the same set-up), which is only
// meaningful before anything has happened in the first one.
func (r *run) setSeed(seed uint64) error {
	if r.acted {
		return fmt.Errorf("set the simulation seed before anything else happens")
	}
	sd, ok := r.drv.(*simDriver)
	if !ok {
		return fmt.Errorf("a seed means something only in the simulation")
	}
	if err := sd.reseed(seed); err != nil {
		return err
	}
	r.seed = seed
	return nil
}

// configure says what the installation is (an AWS account, the controller's flags): the
// simulation builds its world so, which it can only do before anything happens in it.
func (r *run) configure(what string, do func(d driver) error) error {
	if r.acted {
		return fmt.Errorf("%q must come before anything happens in the world: put it first, or in the Background", what)
	}
	return do(r.drv)
}

// target is the rollout the steps talk about.
func (r *run) target() (string, error) {
	if r.rollout == "" {
		return "", fmt.Errorf("no Rollout has been applied yet")
	}
	return r.rollout, nil
}

// act performs a user action on the rollout, first noting its ReplicaSets so that a later
// "no new ReplicaSet was created" means "by this action".
func (r *run) act(what string, do func(d driver, rollout string) error) error {
	ro, err := r.target()
	if err != nil {
		return err
	}
	r.note(what)
	return do(r.drv, ro)
}

// note remembers the rollout's ReplicaSets (none when it does not exist yet).
func (r *run) note(what string) {
	r.acted = true
	r.noted, r.notedAt = []string{}, what
	if r.rollout == "" {
		return
	}
	if names, err := r.drv.ReplicaSets(r.rollout); err == nil {
		r.noted = names
	}
}

// createdSinceNoted lists the ReplicaSets that did not exist when they were last noted.
func (r *run) createdSinceNoted() ([]string, error) {
	if r.noted == nil {
		return nil, fmt.Errorf(`nothing to compare with: no action was taken and "I note the ReplicaSets" was not said`)
	}
	ro, err := r.target()
	if err != nil {
		return nil, err
	}
	names, err := r.drv.ReplicaSets(ro)
	if err != nil {
		return nil, err
	}
	var created []string
	for _, n := range names {
		if !slices.Contains(r.noted, n) {
			created = append(created, n)
		}
	}
	return created, nil
}

// stepOf spells step index k the way the state reports it ("k/N"): the number of steps comes
// from the rollout, so features need not repeat it.
func (r *run) stepOf(k string) (string, error) {
	ro, err := r.target()
	if err != nil {
		return "", err
	}
	st, err := r.drv.State(ro)
	if err != nil {
		return "", err
	}
	_, n, ok := strings.Cut(st.Step, "/")
	if !ok {
		return "", fmt.Errorf("the rollout reports no step yet (phase %s%s)", st.Phase, inParens(st.Message))
	}
	return k + "/" + n, nil
}

// describe is a one-line picture of a state, like a line of `rolloutlab sim run`.
func describe(st sim.State) string {
	var revs []string
	for _, rv := range st.Revisions {
		s := fmt.Sprintf("r%d %d/%d", rv.Revision, rv.Spec, rv.Available)
		if rv.Role != "" {
			s += " " + rv.Role
		}
		revs = append(revs, s)
	}
	return fmt.Sprintf("%s%s, step %s, weight %d, revisions (spec/available): %s",
		st.Phase, inParens(st.Message), st.Step, st.Weight.Desired, strings.Join(revs, ", "))
}

func inParens(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

// parseDuration reads "10 seconds", "1 minute", "a minute", "500 milliseconds" or Go's "30s".
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	num, unit, ok := strings.Cut(s, " ")
	if !ok {
		return 0, fmt.Errorf("%q is not a duration (say e.g. 10 seconds, 2 minutes)", s)
	}
	n := 1.0
	if num != "a" && num != "an" {
		var err error
		if n, err = strconv.ParseFloat(num, 64); err != nil || n < 0 {
			return 0, fmt.Errorf("%q is not a duration (say e.g. 10 seconds, 2 minutes)", s)
		}
	}
	units := map[string]time.Duration{"millisecond": time.Millisecond, "second": time.Second,
		"minute": time.Minute, "hour": time.Hour}
	u, ok := units[strings.TrimSuffix(unit, "s")]
	if !ok {
		return 0, fmt.Errorf("%q: unknown unit %q (milliseconds, seconds, minutes, hours)", s, unit)
	}
	return time.Duration(n * float64(u)), nil
}
