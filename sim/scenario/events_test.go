package scenario_test

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/rolloutlab/rolloutlab/scenarios"
	"github.com/rolloutlab/rolloutlab/sim/scenario"
)

var update = flag.Bool("update", false, "rewrite golden files")

// The Kubernetes events of the basic guide, in order: the story Argo Rollouts users read with
// `kubectl describe rollout`. A change here is a change of observable behaviour; review the diff
// and rerun with -update if it is intended.
func TestBasicGuideEventsGolden(t *testing.T) {
	res, err := scenario.Run(load(t, scenarios.Default), scenario.Options{})
	if err != nil || !res.Passed() {
		t.Fatal(err, res.Failure)
	}
	var b strings.Builder
	for _, e := range res.World.Recorder.Events {
		fmt.Fprintf(&b, "%-8s %-22s %s\n", e.Type, e.Reason, e.Message)
	}
	const golden = "testdata/basic-canary-guide.events.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Fatalf("events differ from %s:\n%s", golden, b.String())
	}
}
