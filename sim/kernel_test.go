package sim

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// ran records which events ran and when.
type ran struct {
	name string
	at   time.Duration
}

func recorder(k *Kernel, log *[]ran) func(name string) func() {
	return func(name string) func() {
		return func() { *log = append(*log, ran{name, k.Elapsed()}) }
	}
}

func TestKernelStart(t *testing.T) {
	k := NewKernel(42)
	if !k.Now().Equal(Epoch) || k.Elapsed() != 0 || k.Events() != 0 || k.Pending() != 0 || k.Seed() != 42 || k.Failed() != nil {
		t.Errorf("new kernel: now %s elapsed %s events %d pending %d seed %d", k.Now(), k.Elapsed(), k.Events(), k.Pending(), k.Seed())
	}
	if k.Step() {
		t.Error("Step on an empty queue reported an event")
	}
	if _, ok := k.NextAt(); ok {
		t.Error("NextAt on an empty queue")
	}
}

func TestKernelOrder(t *testing.T) {
	k := NewKernel(1)
	var log []ran
	ev := recorder(k, &log)
	s := time.Second
	k.After(3*s, "c", "", ev("c"))
	k.After(1*s, "a1", "", ev("a1"))
	k.At(Epoch.Add(2*s), "b", "", ev("b"))
	k.After(1*s, "a2", "", ev("a2")) // same time as a1, scheduled later: runs after it
	k.After(0, "zero", "", func() {
		ev("zero")()
		// Scheduled while running: at the same time it runs after everything queued at that time.
		k.After(0, "zero-child", "", ev("zero-child"))
		k.After(1*s, "a3", "", ev("a3"))
	})
	k.After(10*s, "late", "", func() {
		ev("late")()
		if k.Since(Epoch.Add(4*s)) != 6*s {
			t.Errorf("Since = %s", k.Since(Epoch.Add(4*s)))
		}
	})
	if k.Pending() != 6 {
		t.Errorf("Pending = %d, want 6", k.Pending())
	}
	if next, ok := k.NextAt(); !ok || !next.Equal(Epoch) {
		t.Errorf("NextAt = %s, %v", next, ok)
	}
	n := 0
	for k.Step() {
		n++
	}
	want := []ran{{"zero", 0}, {"zero-child", 0}, {"a1", s}, {"a2", s}, {"a3", s}, {"b", 2 * s}, {"c", 3 * s}, {"late", 10 * s}}
	if !reflect.DeepEqual(log, want) {
		t.Errorf("ran %v\nwant %v", log, want)
	}
	if n != len(want) || k.Events() != uint64(len(want)) {
		t.Errorf("Step reported %d events, Events() = %d, want %d", n, k.Events(), len(want))
	}
	if k.Elapsed() != 10*s || !k.Now().Equal(Epoch.Add(10*s)) {
		t.Errorf("clock at %s after the last event, want 10s", k.Elapsed())
	}
}

func TestKernelManyTies(t *testing.T) {
	// The heap must keep insertion order among equal times however many there are.
	k := NewKernel(1)
	var got []int
	for i := 0; i < 200; i++ {
		k.After(time.Duration(i%3)*time.Millisecond, "e", "", func() { got = append(got, i) })
	}
	for k.Step() {
	}
	var want []int
	for r := 0; r < 3; r++ {
		for i := r; i < 200; i += 3 {
			want = append(want, i)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order %v", got)
	}
}

func TestKernelCancel(t *testing.T) {
	k := NewKernel(1)
	var log []ran
	ev := recorder(k, &log)
	a := k.After(time.Second, "a", "", ev("a"))
	b := k.After(2*time.Second, "b", "", ev("b"))
	c := k.After(3*time.Second, "c", "", ev("c"))
	k.After(500*time.Millisecond, "cancel-c", "", func() { c.Cancel() })
	a.Cancel()
	a.Cancel() // twice is fine
	var nilEvent *Event
	nilEvent.Cancel() // a nil event is fine
	if k.Pending() != 4 {
		t.Errorf("Pending = %d, want 4 (cancelled events stay queued)", k.Pending())
	}
	if _, err := k.RunUntil(Epoch.Add(time.Hour), nil); err != nil {
		t.Fatal(err)
	}
	b.Cancel() // after it ran: no effect
	if want := []ran{{"b", 2 * time.Second}}; !reflect.DeepEqual(log, want) {
		t.Errorf("ran %v, want %v", log, want)
	}
	if k.Events() != 2 {
		t.Errorf("Events = %d, want 2 (cancelled events are not counted)", k.Events())
	}

	// NextAt skips cancelled events.
	k2 := NewKernel(1)
	k2.After(time.Second, "x", "", func() {}).Cancel()
	k2.After(2*time.Second, "y", "", func() {})
	if next, ok := k2.NextAt(); !ok || !next.Equal(Epoch.Add(2*time.Second)) {
		t.Errorf("NextAt = %s %v, want 2s", next.Sub(Epoch), ok)
	}
	k3 := NewKernel(1)
	k3.After(time.Second, "x", "", func() { t.Error("a cancelled event ran") }).Cancel()
	k3.After(2*time.Second, "y", "", func() {}).Cancel()
	if k3.Step() {
		t.Error("Step ran a cancelled event")
	}
	k3.After(time.Second, "x", "", func() { t.Error("a cancelled event ran") }).Cancel()
	if _, ok := k3.NextAt(); ok {
		t.Error("NextAt found a cancelled event")
	}
	if k3.Pending() != 0 {
		t.Errorf("Pending = %d after NextAt dropped the cancelled events", k3.Pending())
	}
}

func TestKernelAtInThePast(t *testing.T) {
	k := NewKernel(1)
	var log []ran
	ev := recorder(k, &log)
	k.After(10*time.Second, "now", "", func() {
		ev("now")()
		e := k.At(Epoch.Add(5*time.Second), "past", "", ev("past"))
		if !e.At.Equal(k.Now()) {
			t.Errorf("an event in the past is set at %s, want now", e.At.Sub(Epoch))
		}
		k.After(-time.Second, "negative", "", ev("negative"))
	})
	k.After(10*time.Second, "queued-before", "", ev("queued-before"))
	k.After(11*time.Second, "later", "", ev("later"))
	for k.Step() {
	}
	want := []ran{{"now", 10 * time.Second}, {"queued-before", 10 * time.Second}, {"past", 10 * time.Second},
		{"negative", 10 * time.Second}, {"later", 11 * time.Second}}
	if !reflect.DeepEqual(log, want) {
		t.Errorf("ran %v\nwant %v", log, want)
	}
}

func TestKernelRunUntil(t *testing.T) {
	s := time.Second
	tests := []struct {
		name     string
		events   []time.Duration
		deadline time.Duration
		doneAt   int // done() holds once this many events ran; -1: never
		nilDone  bool
		wantRan  int
		wantDone bool
		wantNow  time.Duration
	}{
		{"deadline stops the run and moves the clock", []time.Duration{s, 2 * s, 5 * s}, 3 * s, -1, false, 2, false, 3 * s},
		{"an event at the deadline runs", []time.Duration{s, 3 * s, 5 * s}, 3 * s, -1, false, 2, false, 3 * s},
		{"empty queue moves the clock to the deadline", []time.Duration{s}, time.Minute, -1, false, 1, false, time.Minute},
		{"nil done", []time.Duration{s, 2 * s}, time.Minute, 0, true, 2, false, time.Minute},
		{"done before the first event", []time.Duration{s, 2 * s}, time.Minute, 0, false, 0, true, 0},
		{"done after the second event", []time.Duration{s, 2 * s, 3 * s}, time.Minute, 2, false, 2, true, 2 * s},
		{"done by the last event before the deadline", []time.Duration{s, 2 * s}, 2 * s, 2, false, 2, true, 2 * s},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := NewKernel(1)
			n := 0
			for _, at := range tt.events {
				k.After(at, "e", "", func() { n++ })
			}
			var done func() bool
			checks := 0
			if !tt.nilDone {
				done = func() bool {
					checks++
					return tt.doneAt >= 0 && n >= tt.doneAt
				}
			}
			ok, err := k.RunUntil(Epoch.Add(tt.deadline), done)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.wantDone || n != tt.wantRan || k.Elapsed() != tt.wantNow {
				t.Errorf("RunUntil = %v after %d events at %s, want %v after %d at %s", ok, n, k.Elapsed(), tt.wantDone, tt.wantRan, tt.wantNow)
			}
			if !tt.nilDone && checks < n+1 {
				t.Errorf("done() checked %d times for %d events, want before each", checks, n)
			}
		})
	}

	// done() is asked again once the clock has reached the deadline.
	k0 := NewKernel(1)
	k0.After(s, "e", "", func() {})
	if ok, err := k0.RunUntil(Epoch.Add(90*s), func() bool { return k0.Elapsed() >= 90*s }); !ok || err != nil {
		t.Errorf("RunUntil = %v, %v: done() not checked at the deadline", ok, err)
	}

	// The clock never moves back.
	k := NewKernel(1)
	k.After(time.Minute, "e", "", func() {})
	if _, err := k.RunUntil(Epoch.Add(time.Hour), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := k.RunUntil(Epoch.Add(time.Second), nil); err != nil {
		t.Fatal(err)
	}
	if k.Elapsed() != time.Hour {
		t.Errorf("clock at %s after a RunUntil with a past deadline, want 1h", k.Elapsed())
	}
}

func TestKernelInvariant(t *testing.T) {
	k := NewKernel(99)
	bad := errors.New("two stable ReplicaSets")
	n := 0
	var hooks []string
	k.OnRun(func(e *Event) { hooks = append(hooks, "first "+e.Name) })
	k.OnRun(func(e *Event) { hooks = append(hooks, "second "+e.Name) })
	k.AddCheck(Check{Name: "fine", Fn: func() error {
		hooks = append(hooks, "check")
		return nil
	}})
	k.AddCheck(Check{Name: "one-stable", Fn: func() error {
		if n == 3 {
			return bad
		}
		return nil
	}})
	later := false
	for i := 1; i <= 5; i++ {
		k.After(time.Duration(i)*1500*time.Millisecond, fmt.Sprintf("step-%d", i), "default/demo", func() {
			n++
			if i > 3 {
				later = true
			}
		})
	}
	ok, err := k.RunUntil(Epoch.Add(time.Hour), func() bool { return false })
	if ok {
		t.Error("RunUntil reported done")
	}
	var ie *InvariantError
	if !errors.As(err, &ie) {
		t.Fatalf("err = %v, want an *InvariantError", err)
	}
	want := &InvariantError{Check: "one-stable", Event: 3, At: 4500 * time.Millisecond, What: "step-3 default/demo", Seed: 99, Err: bad}
	if !reflect.DeepEqual(ie, want) {
		t.Errorf("error %+v\nwant %+v", ie, want)
	}
	if !errors.Is(err, bad) {
		t.Error("the error does not unwrap to the check's error")
	}
	msg := err.Error()
	for _, part := range []string{`"one-stable"`, "event 3", "step-3 default/demo", "t=4.5s", "seed 99", "two stable ReplicaSets"} {
		if !strings.Contains(msg, part) {
			t.Errorf("message %q lacks %q", msg, part)
		}
	}
	if later || n != 3 {
		t.Errorf("%d events ran, want the run to stop after the third", n)
	}
	if k.Elapsed() != 4500*time.Millisecond {
		t.Errorf("a failed run moved the clock to %s", k.Elapsed())
	}
	if k.Failed() != err {
		t.Errorf("Failed() = %v", k.Failed())
	}
	if k.Step() {
		t.Error("Step ran after the failure")
	}
	if _, err2 := k.RunUntil(Epoch.Add(time.Hour), nil); err2 != err {
		t.Errorf("second RunUntil = %v, want the same failure", err2)
	}
	if n != 3 {
		t.Error("events ran after the failure")
	}
	if want := []string{"first step-1", "second step-1", "check"}; !reflect.DeepEqual(hooks[:3], want) {
		t.Errorf("hooks ran %v, want OnRun hooks in order, then checks", hooks[:3])
	}
}

func TestKernelStream(t *testing.T) {
	draw := func(k *Kernel, name string, n int) []uint64 {
		r := k.Stream(name)
		out := make([]uint64, n)
		for i := range out {
			out[i] = r.Uint64()
		}
		return out
	}
	a := draw(NewKernel(7), "kubelet", 5)
	if b := draw(NewKernel(7), "kubelet", 5); !reflect.DeepEqual(a, b) {
		t.Error("the same (seed, name) gave different draws")
	}
	k := NewKernel(7)
	if b := draw(k, "kubelet", 5); !reflect.DeepEqual(a, b) {
		t.Error("not reproducible")
	}
	if b := draw(k, "kubelet", 5); !reflect.DeepEqual(a, b) {
		t.Error("a second Stream call does not start the stream afresh")
	}
	if b := draw(NewKernel(8), "kubelet", 5); reflect.DeepEqual(a, b) {
		t.Error("another seed gave the same draws")
	}
	if b := draw(NewKernel(7), "engine", 5); reflect.DeepEqual(a, b) {
		t.Error("another name gave the same draws")
	}

	// Drawing from one stream leaves another's draws unchanged, however they interleave.
	alone := draw(NewKernel(7), "engine", 10)
	k = NewKernel(7)
	kubelet, engine := k.Stream("kubelet"), k.Stream("engine")
	var mixed []uint64
	for i := 0; i < 10; i++ {
		for j := 0; j < i; j++ {
			kubelet.Uint64()
		}
		mixed = append(mixed, engine.Uint64())
	}
	if !reflect.DeepEqual(alone, mixed) {
		t.Error("draws from the kubelet stream shifted the engine stream")
	}
}
