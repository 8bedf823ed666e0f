// Package report writes an HTML report of one scenario run: the scenario and its result, charts
// of the canary weight (asked for, and in effect at the ALB), the available replicas per
// revision and the client requests per second by status code, the steps of the timeline with
// the virtual times they ran, and the traffic totals. The page is self-contained (inline CSS and
// SVG, no script) and deterministic: the same run gives the same bytes.
package report

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rolloutlab/rolloutlab/sim"
	"github.com/rolloutlab/rolloutlab/sim/scenario"
)

//go:embed report.html.tmpl
var pageSource string

var page = template.Must(template.New("report").Parse(pageSource))

// view is everything the template shows, formatted.
type view struct {
	Name, File, Description string
	Seed                    uint64
	Passed                  bool
	Failure                 string
	Virtual                 string
	Events                  uint64
	Reconciles, APICalls    int
	Charts                  []chart
	NoTraffic               bool
	Steps                   []stepRow
	Traffic                 *trafficView
}

type stepRow struct {
	N            int
	At, Took     string
	Kind, Source string
	Action       bool // a user action or fault, marked on the charts
	Failed       bool
	start        float64
}

type trafficView struct {
	Total, Failed int
	Codes         []count
	Versions      []count
	BackendCodes  []string // column headings
	Backends      []backendRow
}

type count struct {
	Name  string
	N     int
	Share string
	Bad   bool
}

type backendRow struct {
	Name  string
	Cells []string // per BackendCodes
	Total int
}

// Write renders the report of a run.
func Write(w io.Writer, res *scenario.Result) error {
	if res == nil || res.Scenario == nil {
		return errors.New("report: no run to report")
	}
	sc := res.Scenario
	v := view{Name: sc.Name, File: sc.File, Description: strings.Join(strings.Fields(sc.Description), " "),
		Seed: res.Seed, Passed: res.Passed(), Failure: res.Failure, Virtual: res.Virtual.Round(time.Millisecond).String(),
		Events: res.Events, Reconciles: res.Reconciles, APICalls: res.APICalls}
	v.Steps = steps(res)
	a := axes{end: math.Max(res.Virtual.Seconds(), 1)}
	marks := actionMarks(v.Steps, a)
	v.Charts = []chart{weightChart(res, a, marks), replicaChart(res, a, marks)}
	if res.Traffic != nil && res.Traffic.Total > 0 {
		v.Charts = append(v.Charts, requestChart(res.Traffic, a, marks))
		v.Traffic = traffic(res.Traffic)
	} else {
		v.NoTraffic = true
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, v); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// steps lists the timeline steps that ran, with their YAML as written in the scenario.
func steps(res *scenario.Result) []stepRow {
	src := strings.Split(res.Scenario.Source, "\n")
	var out []stepRow
	for i, s := range res.Steps {
		r := stepRow{N: i + 1, At: clock(s.Start), Kind: s.Step.Kind, Source: sourceOf(src, s.Step.Line),
			start: seconds(s.Start)}
		if d := time.Duration(s.End - s.Start); d > 0 {
			r.Took = d.Round(time.Millisecond).String()
		}
		if i >= len(res.Scenario.Timeline) {
			r.Kind = "expect (final)"
		}
		switch s.Step.Kind {
		case scenario.KindWait, scenario.KindExpect, scenario.KindAfter:
		default:
			r.Action = true
		}
		out = append(out, r)
	}
	if n := len(out); n > 0 && !res.Passed() {
		out[n-1].Failed = true // the run stops at the step that failed
	}
	return out
}

// sourceOf returns the YAML of the item that begins at line (1-based): that line, and the lines
// after it indented deeper, without comments.
func sourceOf(lines []string, line int) string {
	if line < 1 || line > len(lines) {
		return ""
	}
	first := lines[line-1]
	indent := len(first) - len(strings.TrimLeft(first, " "))
	out := []string{strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(first), "- "))}
	for _, l := range lines[line:] {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if len(l)-len(strings.TrimLeft(l, " ")) <= indent {
			break
		}
		out = append(out, strings.TrimRight(l[indent:], " "))
	}
	return strings.Join(out, "\n")
}

func traffic(ts *sim.TrafficStats) *trafficView {
	v := &trafficView{Total: ts.Total, Failed: ts.Failed}
	share := func(n, of int) string {
		if of == 0 {
			return ""
		}
		return strconv.FormatFloat(100*float64(n)/float64(of), 'f', 1, 64) + "%"
	}
	for _, c := range sortedInts(ts.ByCode) {
		v.Codes = append(v.Codes, count{Name: strconv.Itoa(c), N: ts.ByCode[c], Share: share(ts.ByCode[c], ts.Total), Bad: c >= 500})
	}
	answered := 0
	for _, n := range ts.ByVersion {
		answered += n
	}
	for _, name := range sortedKeys(ts.ByVersion) {
		v.Versions = append(v.Versions, count{Name: name, N: ts.ByVersion[name], Share: share(ts.ByVersion[name], answered)})
	}
	all := map[int]int{}
	for _, codes := range ts.ByBackend {
		for c, n := range codes {
			all[c] += n
		}
	}
	cols := sortedInts(all)
	for _, c := range cols {
		v.BackendCodes = append(v.BackendCodes, strconv.Itoa(c))
	}
	for _, b := range sortedKeys(ts.ByBackend) {
		row := backendRow{Name: short(b)}
		for _, c := range cols {
			n := ts.ByBackend[b][c]
			row.Total += n
			cell := ""
			if n > 0 {
				cell = strconv.Itoa(n)
			}
			row.Cells = append(row.Cells, cell)
		}
		v.Backends = append(v.Backends, row)
	}
	return v
}

func sortedInts(m map[int]int) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}
