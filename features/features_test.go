package features

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cucumber/godog"
)

// defaultTags runs every scenario that works in the simulation except work in progress.
// GODOG_TAGS replaces it (godog's syntax: "@a,@b" is or, "@a && ~@b" is and-not).
const defaultTags = "@sim && ~@wip"

// clusterTags is the default against a real cluster (FEATURES_KUBECONFIG, clusterdriver_test.go).
const clusterTags = "@cluster && ~@wip"

// TestFeatures runs every feature file of this directory, one subtest per scenario, so
// `go test ./features/ -run '^TestFeatures$/^Scenario_name$'` runs one of them.
func TestFeatures(t *testing.T) {
	tags := defaultTags
	if clusterKubeconfig() != "" {
		tags = clusterTags
	}
	if v, ok := os.LookupEnv("GODOG_TAGS"); ok {
		tags = v
	}
	// Scenarios run in a shuffled order so that state leaking from one to the next shows up;
	// the order's seed is printed so a failing order can be replayed with GODOG_RANDOM.
	order := time.Now().UnixNano()%1_000_000 + 1
	if v := os.Getenv("GODOG_RANDOM"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n == 0 {
			t.Fatalf("GODOG_RANDOM=%q: want a non-zero integer", v)
		}
		order = n
	}
	t.Logf("tags %q, scenario order GODOG_RANDOM=%d", tags, order)

	suite := godog.TestSuite{
		Name:                "rolloutlab",
		ScenarioInitializer: initializeScenario,
		Options: &godog.Options{
			Format:    "pretty",
			Paths:     []string{"."},
			TestingT:  t,
			Strict:    true,
			NoColors:  true,
			Tags:      tags,
			Randomize: order,
		},
	}
	if suite.Run() != 0 {
		t.Fatalf("feature suite failed (tags %q, GODOG_RANDOM=%d)", tags, order)
	}
}

// initializeScenario gives each scenario its own run and registers the vocabulary on it.
func initializeScenario(sc *godog.ScenarioContext) {
	r := &run{}
	sc.Before(func(ctx context.Context, s *godog.Scenario) (context.Context, error) {
		return ctx, r.reset(s.Name)
	})
	sc.After(func(ctx context.Context, _ *godog.Scenario, failed error) (context.Context, error) {
		return ctx, r.close(failed)
	})
	registerSteps(sc, r)
}

// defaultSeed is the simulation seed of a scenario that does not set one. FEATURES_SEED changes
// it, to look for seed-dependent failures: `FEATURES_SEED=42 go test ./features/`.
func defaultSeed() (uint64, error) {
	v := os.Getenv("FEATURES_SEED")
	if v == "" {
		return 1, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("FEATURES_SEED=%q: want a non-negative integer", v)
	}
	return n, nil
}

// replayable wraps a step function (keeping its signature, which godog reads to convert the
// step's arguments) so that its error says how to replay the failure: the scenario and the seed.
func replayable(r *run, fn any) any {
	v := reflect.ValueOf(fn)
	t := v.Type()
	errType := reflect.TypeFor[error]()
	if t.NumOut() != 1 || t.Out(0) != errType {
		panic(fmt.Sprintf("step function %T must return only an error", fn))
	}
	return reflect.MakeFunc(t, func(args []reflect.Value) []reflect.Value {
		out := v.Call(args)
		if err, _ := out[0].Interface().(error); err != nil {
			out[0] = reflect.ValueOf(r.explain(err)).Convert(errType)
		}
		return out
	}).Interface()
}

// explain adds what is needed to replay a failed step.
func (r *run) explain(err error) error {
	how := fmt.Sprintf("sim seed %d", r.seed)
	if r.drv != nil {
		how = r.drv.Replay()
	}
	env := ""
	for _, k := range []string{"FEATURES_SEED", "GODOG_TAGS"} {
		if v, ok := os.LookupEnv(k); ok {
			env += k + "=" + strconv.Quote(v) + " "
		}
	}
	return fmt.Errorf("%w\n  (scenario %q, %s; replay: %sgo test ./features/ -run '^TestFeatures$/^%s$')",
		err, r.name, how, env, regexp.QuoteMeta(subtestName(r.name)))
}

// subtestName is the name `go test -run` matches for a scenario (testing replaces spaces).
func subtestName(s string) string {
	return strings.Map(func(c rune) rune {
		if c == ' ' || c == '\t' {
			return '_'
		}
		return c
	}, s)
}
