package tree

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/duration"
)

// Options controls rendering.
type Options struct {
	// Now is the time ages are measured against.
	Now time.Time
	// NoColor leaves out the ANSI colour codes.
	NoColor bool
}

// ANSI colours of icons and tags, as Argo's plugin uses them.
const (
	fgRed    = 31
	fgGreen  = 32
	fgYellow = 33
	fgHiBlue = 94
)

var colors = map[string]int{
	IconWaiting:     fgYellow,
	IconProgressing: fgHiBlue,
	IconWarning:     fgRed,
	IconUnknown:     fgYellow,
	IconOK:          fgGreen,
	IconBad:         fgRed,
	TagCanary:       fgYellow,
	TagStable:       fgGreen,
	TagActive:       fgGreen,
	TagPreview:      fgHiBlue,
}

// colorize wraps a known word in its colour. Like Argo, a word without a colour still gets the
// reset sequence, so every cell of a column carries the same invisible bytes.
func (o Options) colorize(s string) string {
	return o.colorizeAs(s, s)
}

func (o Options) colorizeAs(s, key string) string {
	if o.NoColor {
		return s
	}
	return fmt.Sprintf("\x1b[%dm%s\x1b[0m", colors[key], s)
}

// Age formats the time since t as kubectl does ("5m", "3h2m", "7d").
func (o Options) Age(t time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(o.Now.Sub(t))
}

// Render returns the text of `kubectl argo rollouts get rollout`: the summary lines, then the
// tree of revisions, ReplicaSets and pods.
func Render(info *RolloutInfo, o Options) string {
	var b strings.Builder
	field := func(name string, value any) { fmt.Fprintf(&b, "%-17s%v\n", name, value) }
	field("Name:", info.Name)
	field("Namespace:", info.Namespace)
	field("Status:", o.colorize(info.Icon)+" "+info.Status)
	if info.Message != "" {
		field("Message:", info.Message)
	}
	field("Strategy:", info.Strategy)
	if info.Strategy == "Canary" {
		field("  Step:", info.Step)
		field("  SetWeight:", info.SetWeight)
		field("  ActualWeight:", info.ActualWeight)
	}
	for i, img := range info.Images() {
		name := ""
		if i == 0 {
			name = "Images:"
		}
		field(name, o.formatImage(img))
	}
	b.WriteString("Replicas:\n")
	field("  Desired:", info.Desired)
	field("  Current:", info.Current)
	field("  Updated:", info.Updated)
	field("  Ready:", info.Ready)
	field("  Available:", info.Available)
	b.WriteString("\n")
	b.WriteString(RenderTree(info, o))
	return b.String()
}

func (o Options) formatImage(img ImageInfo) string {
	if len(img.Tags) == 0 {
		return img.Image
	}
	tags := make([]string, len(img.Tags))
	for i, t := range img.Tags {
		tags[i] = o.colorize(t)
	}
	return fmt.Sprintf("%s (%s)", img.Image, strings.Join(tags, ", "))
}

// RenderTree returns the NAME KIND STATUS AGE INFO table of the rollout's tree.
func RenderTree(info *RolloutInfo, o Options) string {
	t := &table{}
	t.add("NAME", "KIND", "STATUS", "AGE", "INFO")
	t.add(IconRollout+" "+info.Name, "Rollout", o.colorize(info.Icon)+" "+info.Status, o.Age(info.Created), "")
	revs := info.Revisions()
	for i, rev := range revs {
		prefix, sub := branch(i == len(revs)-1, "")
		t.add(fmt.Sprintf("%s%s revision:%d", prefix, IconRevision, rev), "", " ", "", "")
		var inRev []ReplicaSetInfo
		for _, rs := range info.ReplicaSets {
			if rs.Revision == rev {
				inRev = append(inRev, rs)
			}
		}
		for j, rs := range inRev {
			rsPrefix, rsSub := branch(j == len(inRev)-1, sub)
			o.addReplicaSet(t, rs, rsPrefix, rsSub)
		}
	}
	return t.String()
}

func (o Options) addReplicaSet(t *table, rs ReplicaSetInfo, prefix, sub string) {
	name := rs.Name
	var cols []string
	for _, tag := range rs.tags() {
		cols = append(cols, o.colorize(tag))
		name = o.colorizeAs(rs.Name, tag)
	}
	if rs.ScaleDownDeadline != "" {
		cols = append(cols, "delay:"+o.scaleDownDelay(rs.ScaleDownDeadline))
	}
	t.add(prefix+IconReplicaSet+" "+name, "ReplicaSet", o.colorize(rs.Icon)+" "+rs.Status, o.Age(rs.Created), strings.Join(cols, ","))
	for i, pod := range rs.Pods {
		podPrefix, _ := branch(i == len(rs.Pods)-1, sub)
		podCols := []string{"ready:" + pod.Ready}
		if pod.Restarts > 0 {
			podCols = append(podCols, fmt.Sprintf("restarts:%d", pod.Restarts))
		}
		t.add(podPrefix+IconPod+" "+pod.Name, "Pod", o.colorize(pod.Icon)+" "+pod.Status, o.Age(pod.Created), strings.Join(podCols, ","))
	}
}

func (o Options) scaleDownDelay(deadline string) string {
	d, err := time.Parse(time.RFC3339, deadline)
	if err != nil {
		return ""
	}
	if d.Before(o.Now) {
		return "passed"
	}
	return duration.HumanDuration(d.Sub(o.Now))
}

// branch returns the prefix of a tree node and the prefix its children continue with.
func branch(last bool, parent string) (node, children string) {
	if last {
		return parent + "└──", parent + "   "
	}
	return parent + "├──", parent + "│  "
}

// table aligns cells in columns two spaces apart, measuring cells in runes and ignoring ANSI
// escape sequences (text/tabwriter counts those bytes, which misaligns coloured columns). The
// last cell of a row is not padded, and trailing blanks are trimmed.
type table struct {
	rows [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) String() string {
	var widths []int
	for _, row := range t.rows {
		for i, cell := range row[:len(row)-1] {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], visibleWidth(cell))
		}
	}
	var b strings.Builder
	for _, row := range t.rows {
		var line strings.Builder
		for i, cell := range row {
			line.WriteString(cell)
			if i < len(row)-1 {
				line.WriteString(strings.Repeat(" ", widths[i]-visibleWidth(cell)+2))
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
	}
	return b.String()
}

// visibleWidth counts the runes of s outside ANSI CSI sequences (ESC [ ... letter).
func visibleWidth(s string) int {
	n := 0
	for i := 0; i < len(s); {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			i += 2
			for i < len(s) && !(s[i] >= 0x40 && s[i] <= 0x7e) {
				i++
			}
			i++ // the final byte
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		n++
	}
	return n
}
