package features

import (
	"time"

	"github.com/rolloutlab/rolloutlab/sim"
	"github.com/rolloutlab/rolloutlab/sim/scenario"
)

// driver is everything the steps may do to, or ask of, an installation. The steps speak only
// through it, so the same feature files can later run against a real API server (a cluster
// driver reading a kubeconfig) as well as inside the simulation (simDriver). Rollouts are named
// "namespace/name", or "name" in the default namespace.
//
// Its types are plain data: sim.State is the shape every world reports (what `kubectl argo
// rollouts get rollout` shows) and scenario.Expectation is the set of facts a scenario file can
// state, compared by scenario.Mismatch.
type driver interface {
	// Apply creates or updates every object of a YAML manifest (one or more documents), like
	// `kubectl apply -f file`, and returns the Rollouts it held.
	Apply(file string, yaml []byte) (rollouts []string, err error)

	// The user's actions, as `kubectl argo rollouts` performs them (engine/actions).
	SetImage(rollout, container, image string) error
	Promote(rollout string, full bool) error
	Abort(rollout string) error
	Retry(rollout string) error
	Pause(rollout string) error
	Resume(rollout string) error
	Undo(rollout string, toRevision int64) error

	// WaitFor lets time pass until the rollout matches x. After within, it fails with what still
	// differs. Check compares now, without letting time pass.
	WaitFor(rollout string, x scenario.Expectation, within time.Duration) error
	Check(rollout string, x scenario.Expectation) error
	// Advance lets d pass.
	Advance(d time.Duration) error

	// CrashController kills the rollout controller at once (it loses everything it held in
	// memory) and starts it again after down; the writes it already made stay.
	CrashController(down time.Duration) error

	// State is the rollout's observable state now.
	State(rollout string) (sim.State, error)
	// NewRevision is the revision of the ReplicaSet that runs the rollout's current pod template,
	// 0 while there is none.
	NewRevision(rollout string) (int64, error)
	// ReplicaSets names the ReplicaSets the rollout owns, history included.
	ReplicaSets(rollout string) ([]string, error)
	// Events lists the events recorded for the rollout, oldest first, as "Reason: message".
	Events(rollout string) ([]string, error)

	// Replay says how to run the same thing again, for failure messages (the seed in sim).
	Replay() string
}
