// Package sim is rolloutlab's discrete-event simulation: a virtual clock, an event queue ordered by
// (time, sequence), seeded random streams per component, invariant checks after every event and a
// trace of everything that happened. One goroutine runs it; the same scenario and seed give the same
// run, byte for byte.
package sim

import (
	"container/heap"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"time"
)

// Epoch is virtual time zero. It is fixed so that timestamps written into objects are reproducible.
var Epoch = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// Event is one scheduled piece of work.
type Event struct {
	At   time.Time
	Seq  uint64
	Name string // what happens, e.g. "kubelet/ready"
	Obj  string // what it happens to, e.g. "default/rollouts-demo-6cf78c66c5-x8h2k"

	fn       func()
	index    int
	canceled bool
}

// Cancel keeps a scheduled event from running. Cancelling a run or cancelled event is a no-op.
func (e *Event) Cancel() {
	if e != nil {
		e.canceled = true
	}
}

// Check is an invariant evaluated after every event; a non-nil error stops the run.
type Check struct {
	Name string
	Fn   func() error
}

// Kernel owns virtual time and the event queue.
type Kernel struct {
	seed   uint64
	now    time.Time
	seq    uint64
	ran    uint64
	queue  eventQueue
	checks []Check
	onRun  []func(*Event)
	failed error
}

// NewKernel returns a kernel at Epoch whose random streams derive from seed.
func NewKernel(seed uint64) *Kernel {
	return &Kernel{seed: seed, now: Epoch}
}

// Seed is the seed the random streams derive from.
func (k *Kernel) Seed() uint64 { return k.seed }

// Now is the current virtual time (k8s.io/utils/clock.PassiveClock).
func (k *Kernel) Now() time.Time { return k.now }

// Since is Now minus t (k8s.io/utils/clock.PassiveClock).
func (k *Kernel) Since(t time.Time) time.Duration { return k.now.Sub(t) }

// Elapsed is the virtual time since Epoch.
func (k *Kernel) Elapsed() time.Duration { return k.now.Sub(Epoch) }

// Events is how many events have run.
func (k *Kernel) Events() uint64 { return k.ran }

// Pending is how many events are queued, cancelled ones included.
func (k *Kernel) Pending() int { return len(k.queue) }

// At schedules fn at virtual time t (never in the past: an earlier t runs now, after what is queued now).
func (k *Kernel) At(t time.Time, name, obj string, fn func()) *Event {
	if t.Before(k.now) {
		t = k.now
	}
	k.seq++
	e := &Event{At: t, Seq: k.seq, Name: name, Obj: obj, fn: fn}
	heap.Push(&k.queue, e)
	return e
}

// After schedules fn d after now.
func (k *Kernel) After(d time.Duration, name, obj string, fn func()) *Event {
	return k.At(k.now.Add(d), name, obj, fn)
}

// Stream returns the random stream of a component. Streams derive from (seed, name), so adding a
// component never shifts the draws of another. Each call returns a fresh stream at its start: call
// it once per component and keep the result.
func (k *Kernel) Stream(name string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(name))
	return rand.New(rand.NewPCG(k.seed, h.Sum64()))
}

// AddCheck registers an invariant evaluated after every event.
func (k *Kernel) AddCheck(c Check) { k.checks = append(k.checks, c) }

// OnRun registers a hook called after each event has run and before the checks.
func (k *Kernel) OnRun(f func(*Event)) { k.onRun = append(k.onRun, f) }

// Failed is the invariant violation that stopped the run, if any.
func (k *Kernel) Failed() error { return k.failed }

// Step runs the next event. It reports false when there is nothing left to run or the run failed.
func (k *Kernel) Step() bool {
	if k.failed != nil {
		return false
	}
	for len(k.queue) > 0 {
		e := heap.Pop(&k.queue).(*Event)
		if e.canceled {
			continue
		}
		k.now = e.At
		k.ran++
		e.fn()
		for _, f := range k.onRun {
			f(e)
		}
		for _, c := range k.checks {
			if err := c.Fn(); err != nil {
				k.failed = &InvariantError{Check: c.Name, Event: k.ran, At: k.Elapsed(), What: e.Name + " " + e.Obj, Seed: k.seed, Err: err}
				return false
			}
		}
		return true
	}
	return false
}

// NextAt is the time of the next live event, or false when none is queued.
func (k *Kernel) NextAt() (time.Time, bool) {
	for len(k.queue) > 0 {
		if k.queue[0].canceled {
			heap.Pop(&k.queue)
			continue
		}
		return k.queue[0].At, true
	}
	return time.Time{}, false
}

// RunUntil runs events until done() holds (checked before each event), the next event lies beyond
// deadline, or the queue is empty. When it stops because of the deadline or an empty queue the
// clock is moved to the deadline, as real time would pass. It reports whether done() held.
func (k *Kernel) RunUntil(deadline time.Time, done func() bool) (bool, error) {
	for {
		if k.failed != nil {
			return false, k.failed
		}
		if done != nil && done() {
			return true, nil
		}
		next, ok := k.NextAt()
		if !ok || next.After(deadline) {
			if deadline.After(k.now) {
				k.now = deadline
			}
			return done != nil && done(), nil
		}
		k.Step()
	}
}

// InvariantError says which invariant broke, where, and how to replay it.
type InvariantError struct {
	Check string
	Event uint64
	At    time.Duration
	What  string
	Seed  uint64
	Err   error
}

func (e *InvariantError) Error() string {
	return fmt.Sprintf("invariant %q violated after event %d (%s at t=%s, seed %d): %v",
		e.Check, e.Event, e.What, e.At, e.Seed, e.Err)
}

func (e *InvariantError) Unwrap() error { return e.Err }

type eventQueue []*Event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if !q[i].At.Equal(q[j].At) {
		return q[i].At.Before(q[j].At)
	}
	return q[i].Seq < q[j].Seq
}
func (q eventQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index = i
	q[j].index = j
}
func (q *eventQueue) Push(x any) {
	e := x.(*Event)
	e.index = len(*q)
	*q = append(*q, e)
}
func (q *eventQueue) Pop() any {
	old := *q
	n := len(old)
	e := old[n-1]
	old[n-1] = nil
	*q = old[:n-1]
	return e
}
