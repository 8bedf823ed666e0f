package report

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	tgbv1 "github.com/rolloutlab/rolloutlab/engine/api/elbv2/v1beta1"
	"github.com/rolloutlab/rolloutlab/sim"
	"github.com/rolloutlab/rolloutlab/sim/scenario"
)

// Geometry of every chart, in SVG user units.
const (
	chartW, chartH              = 960, 250
	padL, padR, padTop, padBott = 52, 16, 24, 30
	plotW, plotH                = chartW - padL - padR, chartH - padTop - padBott
)

// chart is an SVG line chart over the virtual time of the run, ready for the template: every
// coordinate and label is computed here.
type chart struct {
	Title, Note    string
	W, H           int
	Left, Top      int
	Right, Bottom  int
	PlotW, PlotH   int
	XTicks, YTicks []tick
	Bands          []band // shaded time spans (seconds with failed requests)
	Marks          []mark // user actions, numbered as in the steps table
	Lines          []line
}

type tick struct {
	Pos   string // x (XTicks) or y (YTicks)
	Label string
}

type band struct{ X, W string }

type mark struct{ X, Label string }

type line struct {
	Label  string
	Color  string
	Dash   string // stroke-dasharray; empty: solid
	Width  string
	Points string
}

// sample is a value that holds from T on.
type sample struct {
	T float64 // seconds since the run began
	V float64
}

// axes maps run time and values onto the plot area.
type axes struct {
	end  float64 // seconds shown
	ymax float64
}

func (a axes) x(t float64) float64 { return padL + t/a.end*plotW }
func (a axes) y(v float64) float64 { return padTop + plotH - v/a.ymax*plotH }

func num(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

func newChart(title, note string, a axes, yticks []float64, marks []mark) chart {
	c := chart{Title: title, Note: note, W: chartW, H: chartH, Left: padL, Top: padTop,
		Right: padL + plotW, Bottom: padTop + plotH, PlotW: plotW, PlotH: plotH, Marks: marks}
	for _, t := range timeTicks(a.end) {
		c.XTicks = append(c.XTicks, tick{num(a.x(t)), mmss(t)})
	}
	for _, v := range yticks {
		c.YTicks = append(c.YTicks, tick{num(a.y(v)), strconv.FormatFloat(v, 'f', -1, 64)})
	}
	return c
}

// stepLine draws samples as a step function up to end: each value holds until the next sample.
func (a axes) stepLine(label, color, dash string, width float64, ss []sample, end float64) line {
	var pts []string
	add := func(t, v float64) { pts = append(pts, num(a.x(t))+","+num(a.y(v))) }
	for i, s := range ss {
		switch {
		case i == 0:
			add(s.T, s.V)
		case s.V != ss[i-1].V:
			add(s.T, ss[i-1].V)
			add(s.T, s.V)
		}
	}
	if n := len(ss); n > 0 {
		add(math.Max(end, ss[n-1].T), ss[n-1].V)
	}
	return line{Label: label, Color: color, Dash: dash, Width: num(width), Points: strings.Join(pts, " ")}
}

var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#17becf", "#e377c2", "#bcbd22", "#7f7f7f"}

func color(i int) string { return palette[i%len(palette)] }

func seconds(s sim.Seconds) float64 { return time.Duration(s).Seconds() }

// weightChart: the canary weight each rollout asks for, and what the ALB's rules in effect give
// each Service's target group (or, without a cloud, the weight the rollout reports as served).
func weightChart(res *scenario.Result, a axes, marks []mark) chart {
	a.ymax = 100
	note := "Dashed: the canary weight the rollout's steps ask for (100 once promoted). "
	if res.World == nil || res.World.AWS == nil {
		note += "Dotted: the weight the rollout reports as served (without a traffic router: its share of available pods). This world has no ALB."
	} else {
		note += "Solid: each Service's target group's share of the forward weights in the ALB's listener rules in effect " +
			"(a forward to a single group is 100)."
	}
	c := newChart("Canary weight (%)", note, a, []float64{0, 25, 50, 75, 100}, marks)
	desired, actual := map[string][]sample{}, map[string][]sample{}
	for _, m := range res.Moments {
		t := seconds(m.T)
		desired[m.State.Rollout] = append(desired[m.State.Rollout], sample{t, float64(m.State.Weight.Desired)})
		actual[m.State.Rollout] = append(actual[m.State.Rollout], sample{t, float64(m.State.Weight.Actual)})
	}
	i := 0
	for _, ro := range sortedKeys(desired) {
		c.Lines = append(c.Lines, a.stepLine(short(ro)+" desired", color(i), "7 4", 2.5, desired[ro], a.end))
		i++
		if res.World == nil || res.World.AWS == nil {
			c.Lines = append(c.Lines, a.stepLine(short(ro)+" actual", color(i), "2 3", 2, actual[ro], a.end))
			i++
		}
	}
	if res.World != nil && res.World.AWS != nil {
		alias := groupServices(res.World)
		series := map[string][]sample{}
		for _, w := range res.World.AWS.Weights {
			t := seconds(w.T)
			cur, sum := map[string]int32{}, 0.0
			for name, v := range w.Weights {
				if svc, ok := alias[name]; ok {
					name = svc
				}
				cur[name] = max(cur[name], v)
			}
			for _, v := range cur {
				sum += float64(v)
			}
			for svc := range series {
				if _, ok := cur[svc]; !ok {
					series[svc] = append(series[svc], sample{t, 0}) // no rule forwards to it any more
				}
			}
			for svc, v := range cur {
				series[svc] = append(series[svc], sample{t, 100 * float64(v) / sum}) // sum > 0: weights are relative
			}
		}
		for _, svc := range sortedKeys(series) {
			c.Lines = append(c.Lines, a.stepLine("ALB → "+short(svc), color(i), "", 2, series[svc], a.end))
			i++
		}
	}
	return c
}

// groupServices maps target group names to the Service their binding serves: the ALB's weights
// name a group by its own name until a TargetGroupBinding names its Service, so without this
// one group could show as two lines.
func groupServices(w *sim.World) map[string]string {
	arnService := map[string]string{}
	for _, o := range w.Cluster.Store.PeekList(tgbv1.Resource, "") {
		b := o.(*tgbv1.TargetGroupBinding)
		arnService[b.Spec.TargetGroupARN] = b.Namespace + "/" + b.Spec.ServiceRef.Name
	}
	out := map[string]string{}
	for _, g := range w.AWS.ELB.Snapshot().TargetGroups {
		if svc, ok := arnService[g.ARN]; ok {
			out[g.Name] = svc
		}
	}
	return out
}

// replicaChart: available replicas of each revision.
func replicaChart(res *scenario.Result, a axes, marks []mark) chart {
	type key struct {
		rollout string
		rev     int64
	}
	series := map[key][]sample{}
	images := map[key]string{}
	rollouts := map[string]bool{}
	var keys []key
	top := 1.0
	for _, m := range res.Moments {
		t := seconds(m.T)
		rollouts[m.State.Rollout] = true
		seen := map[key]bool{}
		for _, r := range m.State.Revisions {
			k := key{m.State.Rollout, r.Revision}
			if _, ok := series[k]; !ok {
				keys = append(keys, k)
				images[k] = r.Image
			}
			seen[k] = true
			series[k] = append(series[k], sample{t, float64(r.Available)})
			top = math.Max(top, float64(r.Available))
		}
		for _, k := range keys {
			if k.rollout == m.State.Rollout && !seen[k] {
				series[k] = append(series[k], sample{t, 0}) // scaled down and out of the picture
			}
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].rollout != keys[j].rollout {
			return keys[i].rollout < keys[j].rollout
		}
		return keys[i].rev < keys[j].rev
	})
	step, ymax := niceScale(top)
	a.ymax = ymax
	c := newChart("Available replicas per revision", "", a, ticksUpTo(step, ymax), marks)
	for i, k := range keys {
		label := fmt.Sprintf("r%d %s", k.rev, images[k])
		if len(rollouts) > 1 {
			label = short(k.rollout) + " " + label
		}
		c.Lines = append(c.Lines, a.stepLine(label, color(i), "", 2, series[k], a.end))
	}
	return c
}

// requestChart: client requests per second by status code; seconds with 5xx answers are shaded.
func requestChart(ts *sim.TrafficStats, a axes, marks []mark) chart {
	byCode := map[int][]sample{}
	top := 1.0
	for _, s := range ts.PerSecond {
		for code, n := range s.ByCode {
			byCode[code] = nil
			top = math.Max(top, float64(n))
		}
	}
	codes := make([]int, 0, len(byCode))
	for c := range byCode {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	step, ymax := niceScale(top)
	a.ymax = ymax
	note := "Shaded: seconds in which requests failed (5xx). "
	if ts.Failed == 0 {
		note = "No request failed. "
	} else {
		note += fmt.Sprintf("%d failed, in %d distinct seconds, from %s to %s. ", ts.Failed, len(ts.FailedSeconds),
			clock(ts.FirstFailure), clock(ts.LastFailure))
	}
	c := newChart("Requests per second by status code", note+"Each point is one virtual second.", a, ticksUpTo(step, ymax), marks)
	var last int64 = -1
	var failing [][2]int64 // runs of seconds with failures: [from, to)
	for _, s := range ts.PerSecond {
		failed := false
		for _, code := range codes {
			if last >= 0 && s.T > last+1 {
				byCode[code] = append(byCode[code], sample{float64(last + 1), 0}) // a quiet gap
			}
			byCode[code] = append(byCode[code], sample{float64(s.T), float64(s.ByCode[code])})
			failed = failed || (code >= 500 && s.ByCode[code] > 0)
		}
		if n := len(failing); failed && n > 0 && failing[n-1][1] == s.T {
			failing[n-1][1] = s.T + 1
		} else if failed {
			failing = append(failing, [2]int64{s.T, s.T + 1})
		}
		last = s.T
	}
	for _, f := range failing {
		x0, x1 := a.x(float64(f[0])), a.x(math.Min(float64(f[1]), a.end))
		c.Bands = append(c.Bands, band{X: num(x0), W: num(math.Max(x1-x0, 2))})
	}
	class := map[int]int{}
	for _, code := range codes {
		end := math.Min(float64(last+1), a.end)
		c.Lines = append(c.Lines, a.stepLine(strconv.Itoa(code), codeColor(code, class[code/100]), "", 2, byCode[code], end))
		class[code/100]++
	}
	return c
}

// codeColor: greens for success, blue for redirects, orange for client errors, reds for failures.
func codeColor(code, i int) string {
	var cs []string
	switch {
	case code < 300:
		cs = []string{"#2ca02c", "#98c379"}
	case code < 400:
		cs = []string{"#1f77b4"}
	case code < 500:
		cs = []string{"#ff7f0e", "#c76b00"}
	default:
		cs = []string{"#d62728", "#8c1c13", "#e377c2", "#ff6b6b"}
	}
	return cs[i%len(cs)]
}

// niceScale picks a tick step of 1, 2 or 5 × 10ⁿ giving about five ticks, and the axis top.
func niceScale(top float64) (step, ymax float64) {
	raw := top / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step = mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	if step < 1 {
		step = 1
	}
	return step, math.Ceil(top/step) * step
}

func ticksUpTo(step, top float64) []float64 {
	var out []float64
	for v := 0.0; v <= top+step/2; v += step {
		out = append(out, v)
	}
	return out
}

// timeTicks are round times (at most about ten) from 0 to end.
func timeTicks(end float64) []float64 {
	step := 3600.0
	for _, s := range []float64{1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600} {
		if end/s <= 10 {
			step = s
			break
		}
	}
	for end/step > 10 {
		step *= 2
	}
	var out []float64
	for t := 0.0; t <= end+1e-9; t += step {
		out = append(out, t)
	}
	return out
}

// mmss labels an axis time: 2:30.
func mmss(t float64) string {
	s := int64(math.Round(t))
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// clock labels an instant to the millisecond: 2:29.162.
func clock(s sim.Seconds) string {
	ms := time.Duration(s).Milliseconds()
	return fmt.Sprintf("%d:%02d.%03d", ms/60000, ms/1000%60, ms%1000)
}

// actionMarks are the user actions of the run as vertical markers, numbered as in the steps
// table; actions too close to tell apart share a marker ("6,7").
func actionMarks(steps []stepRow, a axes) []mark {
	var out []mark
	lastX := math.Inf(-1)
	width := func(label string) float64 { return 6.5 * float64(len(label)) } // at 11px, bold
	for _, s := range steps {
		if !s.Action {
			continue
		}
		x, label := a.x(s.start), strconv.Itoa(s.N)
		if n := len(out); n > 0 && x-lastX < (width(out[n-1].Label)+width(label))/2+4 {
			out[n-1].Label += "," + label
			continue
		}
		out = append(out, mark{X: num(x), Label: label})
		lastX = x
	}
	return out
}

func short(key string) string { return strings.TrimPrefix(key, "default/") }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
