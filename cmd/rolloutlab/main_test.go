package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run executes the CLI with args and returns its output and exit code.
func run(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	code := 0
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		code = ee.code
	case err != nil:
		code = 2
	}
	if err != nil {
		out.WriteString(err.Error())
	}
	return out.String(), code
}

func TestSimRunDefaultIsTheBasicGuide(t *testing.T) {
	out, code := run(t, "sim", "run")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, want := range []string{
		"scenario basic-canary-guide (seed 1)",
		"> set image rollouts-demo=argoproj/rollouts-demo:yellow",
		"Paused       1/8   20      r1 4/4 stable, r2 1/1 canary  · CanaryPauseStep",
		"Degraded", "RolloutAborted: Rollout aborted update to revision 3",
		"final: rollouts-demo Healthy, stable revision 4 (argoproj/rollouts-demo:yellow)",
		"result: PASSED",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func TestSimRunJSONLines(t *testing.T) {
	out, code := run(t, "sim", "run", "--json", "promote-full")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	actions, states := 0, 0
	for i, l := range lines {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("line %d is not JSON: %s", i+1, l)
		}
		if _, ok := v["action"]; ok {
			actions++
		}
		if _, ok := v["state"]; ok {
			states++
		}
	}
	if actions != 3 || states < 10 {
		t.Fatalf("%d action lines (want 3: apply, set image, promote --full), %d state lines", actions, states)
	}
	if !strings.Contains(lines[len(lines)-1], `"passed":true`) {
		t.Fatalf("last line is not a passing summary: %s", lines[len(lines)-1])
	}
}

func TestTraceReplays(t *testing.T) {
	dir := t.TempDir()
	trace := filepath.Join(dir, "run.jsonl")
	if out, code := run(t, "sim", "run", "abort", "--seed", "42", "--trace", trace); code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	out, code := run(t, "sim", "replay", trace)
	if code != 0 || !strings.Contains(out, "trace reproduced") || !strings.Contains(out, "seed 42") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	// Tamper with one line: replay must say where the runs part.
	b, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	lines[40] = strings.Replace(lines[40], `"t":`, `"t":1`, 1)
	tampered := filepath.Join(dir, "tampered.jsonl")
	if err := os.WriteFile(tampered, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code = run(t, "sim", "replay", tampered)
	if code != 1 || !strings.Contains(out, "trace differs at line 41") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

func TestSimRunErrors(t *testing.T) {
	if out, code := run(t, "sim", "run", "no-such-scenario"); code != 2 || !strings.Contains(out, `no scenario file "no-such-scenario"`) {
		t.Fatalf("exit %d: %s", code, out)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("name: x\ntimeline:\n- promot: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := run(t, "sim", "run", bad); code != 2 || !strings.Contains(out, `bad.yaml: line 3: timeline[0]: unknown step "promot"`) {
		t.Fatalf("exit %d: %s", code, out)
	}
	failing := filepath.Join(dir, "failing.yaml")
	if err := os.WriteFile(failing, []byte("name: x\ntimeline:\n- after: 1s\nexpect: {phase: Healthy}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := run(t, "sim", "run", failing); code != 1 || !strings.Contains(out, "result: FAILED") {
		t.Fatalf("exit %d: %s", code, out)
	}
}

func TestSimList(t *testing.T) {
	out, code := run(t, "sim", "list")
	if code != 0 || !strings.Contains(out, "basic-canary-guide") || !strings.Contains(out, "update-mid-canary") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}
