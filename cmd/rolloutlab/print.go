package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/rolloutlab/rolloutlab/sim"
	"github.com/rolloutlab/rolloutlab/sim/scenario"
)

// printer shows a run as it happens: a table of state changes and user actions, or JSON lines.
type printer struct {
	out  io.Writer
	json bool
	enc  *json.Encoder
}

func newPrinter(out io.Writer, asJSON bool) *printer {
	return &printer{out: out, json: asJSON, enc: json.NewEncoder(out)}
}

func (p *printer) header(sc *scenario.Scenario, opt scenario.Options) {
	if p.json {
		return
	}
	seed := sc.Seed
	if opt.Seed != nil {
		seed = *opt.Seed
	}
	fmt.Fprintf(p.out, "scenario %s (seed %d)\n", sc.Name, seed)
	if d := strings.Join(strings.Fields(sc.Description), " "); d != "" {
		fmt.Fprintf(p.out, "%s\n", wrap(d, 100))
	}
	fmt.Fprintf(p.out, "\n%9s  %-13s %-12s %-5s %-7s %s\n", "TIME", "ROLLOUT", "PHASE", "STEP", "WEIGHT", "REVISIONS (spec/available)")
}

func (p *printer) step(st scenario.Step, at sim.Seconds) {
	switch st.Kind {
	case scenario.KindWait, scenario.KindExpect:
		return
	}
	what := describeStep(st)
	if p.json {
		_ = p.enc.Encode(struct {
			T      sim.Seconds `json:"t"`
			Action string      `json:"action"`
		}{at, what})
		return
	}
	fmt.Fprintf(p.out, "%9s  > %s\n", clock(at), what)
}

func describeStep(st scenario.Step) string {
	switch st.Kind {
	case scenario.KindApply:
		return "kubectl apply " + strings.Join(st.Manifests, ", ")
	case scenario.KindSetImage:
		return "set image " + st.Container + "=" + st.Image
	case scenario.KindPromote:
		if st.Full {
			return "promote --full"
		}
		return "promote"
	case scenario.KindUndo:
		if st.ToRevision > 0 {
			return fmt.Sprintf("undo --to-revision %d", st.ToRevision)
		}
		return "undo"
	case scenario.KindAfter:
		return "wait " + st.For.String()
	case scenario.KindCrashEngine:
		return fmt.Sprintf("crash the controller (down %s)", st.For)
	case scenario.KindLBCOutage:
		return fmt.Sprintf("AWS Load Balancer Controller down for %s", st.For)
	case scenario.KindAWSThrottle:
		return fmt.Sprintf("AWS throttles every ELBv2 call for %s", st.For)
	case scenario.KindAWSErrors:
		return fmt.Sprintf("ELBv2 %s fails %d‰ of the time (%s)", st.Operation, st.Rate, st.ErrorCode)
	case scenario.KindStartTraffic:
		who := ""
		if st.Traffic.Name != "" {
			who = " (" + st.Traffic.Name + ")"
		}
		for _, k := range keysOf(st.Traffic.Headers) {
			who += fmt.Sprintf(" with %s: %s", k, st.Traffic.Headers[k])
		}
		if st.Traffic.Host != "" {
			return fmt.Sprintf("start %d requests/s to %s%s", st.Traffic.Rate, st.Traffic.Host, who)
		}
		return fmt.Sprintf("start %d requests/s through %s%s", st.Traffic.Rate, st.Traffic.Ingress, who)
	case scenario.KindEditApisixRoute:
		return fmt.Sprintf("someone edits ApisixRoute %s: canary weight %d", st.Object, st.Weight)
	case scenario.KindEditVirtualService:
		return fmt.Sprintf("someone edits VirtualService %s: canary weight %d", st.Object, st.Weight)
	case scenario.KindPrometheusDown:
		return fmt.Sprintf("Prometheus down for %s", st.For)
	case scenario.KindPrometheusSlow:
		return fmt.Sprintf("Prometheus queries time out for %s", st.For)
	case scenario.KindRejectRouteWrites:
		return fmt.Sprintf("admission rejects VirtualService and DestinationRule writes for %s", st.For)
	case scenario.KindStopTraffic:
		if st.Traffic.Name != "" {
			return "stop the traffic (" + st.Traffic.Name + ")"
		}
		return "stop the traffic"
	}
	return st.Kind
}

func (p *printer) moment(m sim.Moment) {
	if p.json {
		_ = p.enc.Encode(m)
		return
	}
	s := m.State
	name := strings.TrimPrefix(s.Rollout, "default/")
	step := s.Step
	if step == "" {
		step = "-"
	}
	weight := fmt.Sprintf("%d", s.Weight.Desired)
	if s.Weight.Actual != s.Weight.Desired {
		weight = fmt.Sprintf("%d (%d)", s.Weight.Desired, s.Weight.Actual)
	}
	var revs []string
	for _, r := range s.Revisions {
		rev := fmt.Sprintf("r%d %d/%d", r.Revision, r.Spec, r.Available)
		if r.Role != "" {
			rev += " " + r.Role
		}
		revs = append(revs, rev)
	}
	line := fmt.Sprintf("%9s  %-13s %-12s %-5s %-7s %s", clock(m.T), name, s.Phase, step, weight, strings.Join(revs, ", "))
	if s.Message != "" {
		line += "  · " + s.Message
	}
	fmt.Fprintln(p.out, line)
}

func (p *printer) summary(res *scenario.Result, wall time.Duration) {
	if p.json {
		_ = p.enc.Encode(map[string]any{"summary": map[string]any{
			"scenario": res.Scenario.Name, "seed": res.Seed, "passed": res.Passed(), "failure": res.Failure,
			"virtualSeconds": res.Virtual.Seconds(), "events": res.Events, "reconciles": res.Reconciles,
			"apiCalls": res.APICalls, "final": res.Final, "traffic": res.Traffic, "findings": res.Findings,
		}})
		return
	}
	fmt.Fprintln(p.out)
	for key, st := range res.Final {
		fmt.Fprintf(p.out, "final: %s %s", strings.TrimPrefix(key, "default/"), st.Phase)
		for _, r := range st.Revisions {
			if r.Role == "stable" {
				fmt.Fprintf(p.out, ", stable revision %d (%s)", r.Revision, r.Image)
			}
		}
		fmt.Fprintln(p.out)
	}
	if res.Traffic != nil {
		for _, l := range res.Traffic.Report() {
			fmt.Fprintln(p.out, l)
		}
	}
	for _, name := range keysOf(res.Sources) {
		fmt.Fprintf(p.out, "  of which %s: %s\n", name, res.Sources[name].Summary())
	}
	for _, f := range res.Findings {
		fmt.Fprintf(p.out, "safety: at %s, %s: %s\n", clock(f.T), f.Rule, f.What)
	}
	if res.Passed() {
		fmt.Fprintln(p.out, "result: PASSED, every expectation held")
	} else {
		fmt.Fprintf(p.out, "result: FAILED, %s\n", res.Failure)
	}
	speed := ""
	if wall > 0 {
		speed = fmt.Sprintf(" (%.0f× real time)", res.Virtual.Seconds()/wall.Seconds())
	}
	fmt.Fprintf(p.out, "ran %s of virtual time in %s%s: %d events, %d reconciles, %d API calls\n",
		res.Virtual.Round(time.Millisecond), wall.Round(time.Microsecond), speed, res.Events, res.Reconciles, res.APICalls)
}

// clock formats virtual time like 1m02.345s.
func clock(s sim.Seconds) string {
	d := time.Duration(s)
	if d < time.Minute {
		return fmt.Sprintf("%.3fs", d.Seconds())
	}
	return fmt.Sprintf("%dm%06.3fs", int(d.Minutes()), d.Seconds()-60*float64(int(d.Minutes())))
}

func wrap(s string, width int) string {
	var b strings.Builder
	col := 0
	for _, w := range strings.Fields(s) {
		if col > 0 && col+1+len(w) > width {
			b.WriteString("\n")
			col = 0
		} else if col > 0 {
			b.WriteString(" ")
			col++
		}
		b.WriteString(w)
		col += len(w)
	}
	return b.String()
}

// keysOf lists a map's keys in order.
func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
