package sim

import (
	"bufio"
	"encoding/json"
	"io"
	"strconv"
	"time"
)

// Trace writes the run as JSON lines: a header, then every event the kernel ran, every write
// to the store, every reconcile decision, Kubernetes event, user action and observable state.
// The same scenario, seed and build give the same bytes.
type Trace struct {
	w   *bufio.Writer
	enc *json.Encoder
	err error
}

// NewTrace writes to w; call Close to flush.
func NewTrace(w io.Writer) *Trace {
	b := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	return &Trace{w: b, enc: enc}
}

// Seconds is virtual time since Epoch, written with microsecond precision.
type Seconds time.Duration

func (s Seconds) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(time.Duration(s).Seconds(), 'f', 6, 64)), nil
}

// TraceLine is one line of a trace. Exactly one of the groups of fields is set.
type TraceLine struct {
	N uint64  `json:"n,omitempty"`
	T Seconds `json:"t"`

	Header *TraceHeader `json:"header,omitempty"`

	Ev  string `json:"ev,omitempty"`  // a kernel event that ran
	Obj string `json:"obj,omitempty"` // what it concerned

	Write string `json:"write,omitempty"` // ADDED, MODIFIED, DELETED
	Res   string `json:"res,omitempty"`
	RV    string `json:"rv,omitempty"`

	Reconcile string   `json:"reconcile,omitempty"`
	Why       string   `json:"why,omitempty"`
	Actions   []string `json:"actions,omitempty"`
	Status    bool     `json:"status,omitempty"`
	Requeue   string   `json:"requeue,omitempty"`
	Err       string   `json:"err,omitempty"`

	Event  string `json:"event,omitempty"` // a Kubernetes event's reason
	Type   string `json:"type,omitempty"`
	Msg    string `json:"msg,omitempty"`
	Action string `json:"action,omitempty"` // a user action or fault
	Who    string `json:"who,omitempty"`
	State  *State `json:"state,omitempty"`
}

// TraceHeader makes a trace replayable: what ran, with which seed and build.
type TraceHeader struct {
	Scenario string            `json:"scenario"`        // name
	Source   string            `json:"source"`          // the scenario file's text
	Files    map[string]string `json:"files,omitempty"` // manifests it loaded, by path
	Seed     uint64            `json:"seed"`
	Version  string            `json:"version"`
}

func (t *Trace) line(l *TraceLine) {
	if t.err == nil {
		t.err = t.enc.Encode(l)
	}
}

// Header writes the first line.
func (t *Trace) Header(h TraceHeader) { t.line(&TraceLine{Header: &h}) }

func (t *Trace) event(k *Kernel, e *Event) {
	t.line(&TraceLine{N: k.Events(), T: Seconds(k.Elapsed()), Ev: e.Name, Obj: e.Obj})
}

func (t *Trace) write(k *Kernel, kind, res, obj, rv string) {
	t.line(&TraceLine{T: Seconds(k.Elapsed()), Write: kind, Res: res, Obj: obj, RV: rv})
}

func (t *Trace) note(k *Kernel, who, obj, msg string) {
	t.line(&TraceLine{T: Seconds(k.Elapsed()), Who: who, Obj: obj, Msg: msg})
}

// Line writes an arbitrary line (decisions, actions, states).
func (t *Trace) Line(l TraceLine) { t.line(&l) }

// Close flushes the trace and reports the first write error.
func (t *Trace) Close() error {
	if err := t.w.Flush(); t.err == nil {
		t.err = err
	}
	return t.err
}
