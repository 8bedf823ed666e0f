package scenario_test

import (
	"fmt"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"testing"
	"time"

	"github.com/rolloutlab/rolloutlab/scenarios"
	"github.com/rolloutlab/rolloutlab/sim"
	"github.com/rolloutlab/rolloutlab/sim/scenario"
)

// settled runs the world on until nothing is left to do and describes each rollout's end state
// without timing: what a crash must not change.
func settled(t *testing.T, res *scenario.Result) string {
	t.Helper()
	w := res.World
	if _, err := w.Kernel.RunUntil(w.Kernel.Now().Add(10*time.Minute), nil); err != nil {
		t.Fatal(err)
	}
	out := ""
	for _, key := range []string{"default/rollouts-demo"} {
		ro, err := w.UserRollouts.Rollouts("default").Get(w.Context(), "rollouts-demo", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		st := sim.ObserveState(w.Cluster.Store, ro)
		out += fmt.Sprintf("%s %s %s %v %v abort=%v", key, st.Phase, st.Step, st.Weight, st.Revisions, st.Abort)
	}
	return out
}

// crashRuns plays the basic guide once per crash point and checks each run still passes the
// guide's expectations and settles where the run without a crash settles.
func crashRuns(t *testing.T, points int, inject func(w *sim.World, point int)) {
	sc := load(t, scenarios.Default)
	base, err := scenario.Run(sc, scenario.Options{})
	if err != nil || !base.Passed() {
		t.Fatal(err, base.Failure)
	}
	want := settled(t, base)
	step := 1
	if testing.Short() {
		step = 10
	}
	for p := 1; p <= points; p += step {
		res, err := scenario.Run(sc, scenario.Options{Prepare: func(w *sim.World) { inject(w, p) }})
		if err != nil {
			t.Fatalf("crash point %d: %v", p, err)
		}
		if !res.Passed() {
			t.Fatalf("crash point %d: %s", p, res.Failure)
		}
		if res.World.Engine.Crashes != 1 {
			t.Fatalf("crash point %d: the engine crashed %d times, want 1", p, res.World.Engine.Crashes)
		}
		if got := settled(t, res); got != want {
			t.Fatalf("crash point %d: settled as\n  %s\nwithout the crash:\n  %s", p, got, want)
		}
	}
}

// The controller is killed after every event of the basic guide (and restarted a second later):
// every run still passes the guide and ends in the same state.
func TestCrashRestartAfterEveryEvent(t *testing.T) {
	base, err := scenario.Run(load(t, scenarios.Default), scenario.Options{})
	if err != nil {
		t.Fatal(err)
	}
	crashRuns(t, int(base.Events), func(w *sim.World, point int) {
		w.Kernel.OnRun(func(*sim.Event) {
			if w.Kernel.Events() == uint64(point) && w.Engine.Up() && w.Engine.Crashes == 0 {
				w.Engine.Crash()
				w.Kernel.After(time.Second, "engine/restart", "", w.Engine.Start)
			}
		})
	})
}

// The controller dies in the middle of applying a decision, before each of its writes in turn:
// the half-applied plan is harmless because the next controller decides again from what was written.
func TestCrashRestartBetweenAnyTwoWrites(t *testing.T) {
	base, err := scenario.Run(load(t, scenarios.Default), scenario.Options{})
	if err != nil {
		t.Fatal(err)
	}
	crashRuns(t, base.World.Engine.Writes, func(w *sim.World, point int) {
		w.Engine.DieAtWrite(point, time.Second)
	})
}
