package tree

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rolloutlab/rolloutlab/engine/api/v1alpha1"
	"github.com/rolloutlab/rolloutlab/engine/rollout"
)

// The columns of `list rollouts`. Values are padded to about the width of their header (wider for
// STATUS), so lines printed one at a time while watching still line up.
const (
	listHeader = "NAME\tSTRATEGY\tSTATUS\tSTEP\tSET-WEIGHT\tREADY\tDESIRED\tUP-TO-DATE\tAVAILABLE"
	listFormat = "%-10s\t%-9s\t%-12s\t%-4s\t%-10s\t%-5s\t%-7d\t%-10d\t%-9d"
)

// ListOptions selects the optional columns of `list rollouts`.
type ListOptions struct {
	Namespace  bool // a NAMESPACE column (--all-namespaces)
	Timestamps bool // a TIMESTAMP column (--timestamps), showing Now
	Now        time.Time
}

// ListRow is one line of `list rollouts`.
type ListRow struct {
	Namespace, Name, Strategy, Status, Step, SetWeight, Ready string
	Desired, UpToDate, Available                              int32
}

// NewListRow summarises a rollout as `list rollouts` shows it.
func NewListRow(ro *v1alpha1.Rollout) ListRow {
	r := ListRow{Namespace: ro.Namespace, Name: ro.Name, Strategy: "unknown", Step: "-", SetWeight: "-"}
	if c := ro.Spec.Strategy.Canary; c != nil {
		r.Strategy = "Canary"
		if ro.Status.CurrentStepIndex != nil && len(c.Steps) > 0 {
			r.Step = fmt.Sprintf("%d/%d", *ro.Status.CurrentStepIndex, len(c.Steps))
		}
		r.SetWeight = strconv.Itoa(int(rollout.CurrentSetWeight(ro)))
	} else if ro.Spec.Strategy.BlueGreen != nil {
		r.Strategy = "BlueGreen"
	}
	phase, _ := rollout.ObservedPhase(ro)
	r.Status = string(phase)
	r.Desired = 1
	if ro.Spec.Replicas != nil {
		r.Desired = *ro.Spec.Replicas
	}
	r.Ready = fmt.Sprintf("%d/%d", ro.Status.ReadyReplicas, ro.Status.Replicas)
	r.UpToDate = ro.Status.UpdatedReplicas
	r.Available = ro.Status.AvailableReplicas
	return r
}

func (o ListOptions) header() string {
	h := listHeader
	if o.Namespace {
		h = "NAMESPACE\t" + h
	}
	if o.Timestamps {
		h = "TIMESTAMP\t" + h
	}
	return h
}

func (o ListOptions) line(r ListRow) string {
	format := listFormat
	args := []any{r.Name, r.Strategy, r.Status, r.Step, r.SetWeight, r.Ready, r.Desired, r.UpToDate, r.Available}
	if o.Namespace {
		format = "%-9s\t" + format
		args = append([]any{r.Namespace}, args...)
	}
	if o.Timestamps {
		format = "%-20s\t" + format
		args = append([]any{o.Now.UTC().Truncate(time.Second).Format("2006-01-02T15:04:05Z")}, args...)
	}
	return fmt.Sprintf(format, args...)
}

// ListTable returns the table of `list rollouts`: a header and one line per row, aligned.
func ListTable(rows []ListRow, o ListOptions) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, o.header())
	for _, r := range rows {
		fmt.Fprintln(w, o.line(r))
	}
	_ = w.Flush()
	return trimLines(b.String())
}

// ListLine returns one row as a line on its own, as `list rollouts --watch` prints updates.
func ListLine(r ListRow, o ListOptions) string {
	return strings.TrimRight(strings.ReplaceAll(o.line(r), "\t", "  "), " ") + "\n"
}

func trimLines(s string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if strings.HasSuffix(l, "\n") {
			lines[i] = strings.TrimRight(l[:len(l)-1], " ") + "\n"
		}
	}
	return strings.Join(lines, "")
}
