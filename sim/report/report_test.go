package report

import (
	"bytes"
	"encoding/xml"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rolloutlab/rolloutlab/scenarios"
	"github.com/rolloutlab/rolloutlab/sim/scenario"
)

func run(t *testing.T, file string, change func(*scenario.Scenario)) *scenario.Result {
	t.Helper()
	sc, err := scenario.Load(scenarios.FS, file)
	if err != nil {
		t.Fatal(err)
	}
	if change != nil {
		change(sc)
	}
	res, err := scenario.Run(sc, scenario.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func render(t *testing.T, res *scenario.Result) string {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, res); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func contains(t *testing.T, html string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(html, w) {
			t.Errorf("the report lacks %q", w)
		}
	}
}

var svgRE = regexp.MustCompile(`(?s)<figure>\s*<figcaption>[^<]*</figcaption>\s*(<svg.*?</svg>)`)

// charts returns the charts' SVG, checking each is well-formed XML.
func charts(t *testing.T, html string) []string {
	t.Helper()
	var out []string
	for _, m := range svgRE.FindAllStringSubmatch(html, -1) {
		d := xml.NewDecoder(strings.NewReader(m[1]))
		for {
			_, err := d.Token()
			if err != nil {
				if err != io.EOF {
					t.Errorf("a chart is not well-formed SVG: %v", err)
				}
				break
			}
		}
		out = append(out, m[1])
	}
	return out
}

// selfContained: no script, nothing fetched (the only URL is the SVG namespace).
func selfContained(t *testing.T, html string) {
	t.Helper()
	if strings.Contains(html, "<script") || strings.Contains(html, "src=") || strings.Contains(html, "href=") {
		t.Error("the report has a script or loads something")
	}
	if n, ns := strings.Count(html, "://"), strings.Count(html, `xmlns="http://www.w3.org/2000/svg"`); n != ns {
		t.Errorf("the report names %d URLs besides the SVG namespace", n-ns)
	}
}

func lineLabelled(t *testing.T, c chart, label string) line {
	t.Helper()
	for _, l := range c.Lines {
		if l.Label == label {
			return l
		}
	}
	t.Fatalf("chart %q has no line %q", c.Title, label)
	return line{}
}

// ys returns the distinct y coordinates of a line's points.
func ys(l line) map[string]bool {
	out := map[string]bool{}
	for _, p := range strings.Fields(l.Points) {
		_, y, _ := strings.Cut(p, ",")
		out[y] = true
	}
	return out
}

func TestALBCanaryGuide(t *testing.T) {
	res := run(t, "alb-canary-guide.yaml", nil)
	html := render(t, res)
	if again := render(t, res); again != html {
		t.Fatal("writing the same result twice gave different bytes")
	}
	if other := render(t, run(t, "alb-canary-guide.yaml", nil)); other != html {
		t.Fatal("a second run of the same scenario and seed gave a different report")
	}
	selfContained(t, html)
	if n := len(charts(t, html)); n != 3 {
		t.Fatalf("%d charts, want 3 (weights, replicas, requests)", n)
	}
	contains(t, html,
		"<h1>alb-canary-guide</h1>", "The Argo Rollouts ALB getting-started guide",
		`<span class="pass">PASSED</span>`, "<dt>Seed</dt><dd>1</dd>", "<dd>3m39.332s</dd>",
		"rollouts-demo desired", "ALB → rollouts-demo-canary", "ALB → rollouts-demo-stable",
		"r1 argoproj/rollouts-demo:blue", "r2 argoproj/rollouts-demo:yellow",
		"<li>", " 200</li>", "No request failed.",
		// steps, with when they ran
		`<td class="n">12</td><td class="n">2:29.162</td><td class="n"></td><td>promote</td>`,
		"<pre>setImage: rollouts-demo=argoproj/rollouts-demo:yellow</pre>",
		"<td>expect (final)</td>",
		// traffic totals
		"20400 requests, none failed.",
		`<td>200</td><td class="n">20400</td><td class="n">100.0%</td>`,
		`<td>r1 argoproj/rollouts-demo:blue</td><td class="n">13329</td>`,
		`<td>r2 argoproj/rollouts-demo:yellow</td><td class="n">7071</td>`,
		`<td>rollouts-demo-canary</td><td class="n">1081</td>`,
		`<td>rollouts-demo-stable</td><td class="n">19319</td>`,
	)
	if strings.Contains(html, "k8s-default-") {
		t.Error("a target group shows under its own name, not its Service's")
	}

	// The ALB gives the canary 5% during the pause, and the desired weight says so too.
	a := axes{end: res.Virtual.Seconds(), ymax: 100}
	w := weightChart(res, a, nil)
	five, hundred := num(a.y(5)), num(a.y(100))
	if y := ys(lineLabelled(t, w, "ALB → rollouts-demo-canary")); !y[five] || !y[hundred] {
		t.Errorf("the canary's ALB weight never reads 5 and 100 (y %s, %s): %v", five, hundred, y)
	}
	if y := ys(lineLabelled(t, w, "rollouts-demo desired")); !y[five] || !y[hundred] {
		t.Errorf("the desired weight never reads 5 and 100: %v", y)
	}
	if m := actionMarks(steps(res), a); len(m) != 3 || m[1].Label != "6,7" {
		t.Errorf("action markers %+v, want apply, start traffic + set image (together), promote", m)
	}
}

func TestFailedRequestsAreShaded(t *testing.T) {
	res := run(t, "canary-alb-flip.yaml", nil)
	html := render(t, res)
	c := requestChart(res.Traffic, axes{end: res.Virtual.Seconds()}, nil)
	if len(c.Bands) == 0 {
		t.Fatal("no shaded seconds, though requests failed")
	}
	if l := lineLabelled(t, c, "502"); l.Color != "#d62728" {
		t.Errorf("502s are drawn in %s, want red", l.Color)
	}
	if l := lineLabelled(t, c, "200"); l.Color != "#2ca02c" {
		t.Errorf("200s are drawn in %s, want green", l.Color)
	}
	contains(t, html, `<rect class="fail"`, `<span class="bad">2757 failed</span>`,
		"2757 failed, in 67 distinct seconds, from 2:15.433 to 3:21.533",
		`<td class="bad">502</td><td class="n">2757</td>`)
}

func TestWithoutCloudOrTraffic(t *testing.T) {
	res := run(t, "basic-canary-guide.yaml", nil)
	if res.World.AWS != nil || res.Traffic != nil {
		t.Fatal("the basic guide was expected to have neither a cloud nor traffic")
	}
	html := render(t, res)
	selfContained(t, html)
	if n := len(charts(t, html)); n != 2 {
		t.Fatalf("%d charts, want 2 (weights, replicas)", n)
	}
	contains(t, html, "rollouts-demo actual", "This world has no ALB.", "No client traffic in this run.",
		"r3 argoproj/rollouts-demo:red", "r4 argoproj/rollouts-demo:yellow")
	if strings.Contains(html, "<h2>Traffic</h2>") {
		t.Error("a traffic section without traffic")
	}
}

func TestFailedRun(t *testing.T) {
	res := run(t, "basic-canary-guide.yaml", func(sc *scenario.Scenario) {
		sc.Description = "<b>escaped</b> & shown"
		never := scenario.Step{Kind: scenario.KindWait, Path: "timeline[2]", Line: 13, Within: 30 * time.Second,
			Expect: scenario.Expectation{Phase: "Paused"}}
		sc.Timeline = append(sc.Timeline[:2:2], never)
	})
	if res.Passed() {
		t.Fatal("the run was meant to fail")
	}
	html := render(t, res)
	contains(t, html, `<span class="failed">FAILED</span>`, "&lt;b&gt;escaped&lt;/b&gt; &amp; shown",
		`<tr class="failedstep"><td class="n">3</td>`, "phase is Healthy, want Paused")
}

func TestSourceOf(t *testing.T) {
	src := strings.Split("timeline:\n# a comment\n- wait:\n    phase: Healthy\n\n    # inside\n    within: 2m\n- promote: {}\nexpect:\n  phase: Healthy\n", "\n")
	for line, want := range map[int]string{
		3:  "wait:\n    phase: Healthy\n    within: 2m",
		8:  "promote: {}",
		9:  "expect:\n  phase: Healthy",
		99: "",
	} {
		if got := sourceOf(src, line); got != want {
			t.Errorf("line %d: %q, want %q", line, got, want)
		}
	}
}
