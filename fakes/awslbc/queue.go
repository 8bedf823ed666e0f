package awslbc

import (
	"errors"
	"sort"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/rolloutlab/rolloutlab/fakes/sched"
)

// queue is one kind's work queue, as controller-runtime's: a key waits for its time, adding a
// key that already waits keeps the earlier time (changes coalesce, and one object is never
// reconciled twice at once), and a failing key backs off exponentially until it succeeds.
type queue struct {
	kind     string
	c        *Controller
	sync     func(types.NamespacedName) (time.Duration, error)
	waiting  map[types.NamespacedName]*entry
	failures map[types.NamespacedName]int
}

type entry struct {
	at    time.Time
	timer sched.Timer
}

func newQueue(c *Controller, kind string, sync func(types.NamespacedName) (time.Duration, error)) *queue {
	return &queue{kind: kind, c: c, sync: sync, waiting: map[types.NamespacedName]*entry{}, failures: map[types.NamespacedName]int{}}
}

// add makes key due after d, unless it is already due sooner.
func (q *queue) add(key types.NamespacedName, d time.Duration) {
	at := q.c.now().Add(d)
	if e, ok := q.waiting[key]; ok {
		if !at.Before(e.at) {
			return
		}
		e.timer.Cancel()
	}
	e := &entry{at: at}
	e.timer = q.c.sched.After(d, "awslbc/"+q.kind, key.String(), func() { q.run(key, e) })
	q.waiting[key] = e
}

// run reconciles a due key and requeues it as the outcome asks.
func (q *queue) run(key types.NamespacedName, e *entry) {
	if q.waiting[key] != e {
		return
	}
	delete(q.waiting, key)
	if q.c.down {
		return // listed again when the controller is back
	}
	requeue, err := q.sync(key)
	var wait *waitError
	switch {
	case errors.As(err, &wait):
		q.c.stats.ThrottledWaits++
		q.c.emit(Event{Kind: EventThrottled, Object: key.String(), Delay: wait.wait, Message: wait.op})
		q.add(key, wait.wait)
	case err != nil:
		q.failures[key]++
		d := q.backoff(q.failures[key])
		q.c.stats.Failures++
		if isAWSThrottled(err) {
			q.c.stats.AWSThrottled++
		}
		q.c.emit(Event{Kind: EventBackoff, Object: key.String(), Delay: d, Message: err.Error()})
		q.add(key, d)
	default:
		delete(q.failures, key)
		if requeue > 0 {
			q.add(key, requeue)
		}
	}
}

// backoff is the delay after the n-th failure in a row: base, doubling, capped.
func (q *queue) backoff(n int) time.Duration {
	d := q.c.cfg.BackoffBase
	for i := 1; i < n && d < q.c.cfg.BackoffMax; i++ {
		d *= 2
	}
	return min(d, q.c.cfg.BackoffMax)
}

// clear forgets every waiting key and failure count, as a stopped controller does.
func (q *queue) clear() {
	for _, k := range q.keys() {
		q.waiting[k].timer.Cancel()
	}
	q.waiting = map[types.NamespacedName]*entry{}
	q.failures = map[types.NamespacedName]int{}
}

// keys lists the waiting keys, sorted.
func (q *queue) keys() []types.NamespacedName {
	out := make([]types.NamespacedName, 0, len(q.waiting))
	for k := range q.waiting {
		out = append(out, k)
	}
	sortKeys(out)
	return out
}

func sortKeys(keys []types.NamespacedName) {
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
}
