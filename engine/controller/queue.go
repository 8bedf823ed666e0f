package controller

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
)

// workQueue is a rate-limited work queue of keys plus requeues on the engine's clock.
//
// Two clocks pace it. Back-off after a failed sync (AddRateLimited: per key, 1ms doubling to 10s,
// as Argo's queues) runs on the wall clock: it spaces out API calls, it is not part of what the
// engine decides. Requeues the engine asks for (Result.RequeueAfter: a pause that ends, a
// deadline) run on Options.Clock, so that a test moving a fake clock past a pause sees the rollout
// go on, exactly when it would.
type workQueue struct {
	workqueue.TypedRateLimitingInterface[string]
	clock clock.WithDelayedExecution

	mu      sync.Mutex
	pending map[string]pendingRequeue
	busy    atomic.Int64 // keys being synced
}

type pendingRequeue struct {
	at    time.Time
	timer clock.Timer
}

func newWorkQueue(name string, engineClock clock.WithDelayedExecution) *workQueue {
	limiter := workqueue.NewTypedItemExponentialFailureRateLimiter[string](time.Millisecond, 10*time.Second)
	return &workQueue{
		TypedRateLimitingInterface: workqueue.NewTypedRateLimitingQueueWithConfig(limiter,
			workqueue.TypedRateLimitingQueueConfig[string]{Name: name}),
		clock:   engineClock,
		pending: map[string]pendingRequeue{},
	}
}

// requeueAt adds key once the engine's clock reads at. Of several requests for one key, the
// earliest wins (a reconcile that asks for a later time does not postpone an earlier one).
func (q *workQueue) requeueAt(key string, at time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if p, ok := q.pending[key]; ok {
		if !p.at.After(at) {
			return
		}
		p.timer.Stop()
		delete(q.pending, key)
	}
	d := at.Sub(q.clock.Now())
	if d <= 0 {
		q.Add(key)
		return
	}
	var t clock.Timer
	t = q.clock.AfterFunc(d, func() {
		// A fake clock runs this under its own lock: never take q.mu (held around AfterFunc and
		// Stop above) on its goroutine.
		go func() {
			q.mu.Lock()
			if p, ok := q.pending[key]; ok && p.timer == t {
				delete(q.pending, key)
			}
			q.mu.Unlock()
			q.Add(key)
		}()
	})
	q.pending[key] = pendingRequeue{at: at, timer: t}
}

// idle says whether nothing is queued or being synced (pending requeues aside).
func (q *workQueue) idle() bool { return q.Len() == 0 && q.busy.Load() == 0 }

// shutDown stops the queue and every pending requeue.
func (q *workQueue) shutDown() {
	q.mu.Lock()
	for k, p := range q.pending {
		p.timer.Stop()
		delete(q.pending, k)
	}
	q.mu.Unlock()
	q.ShutDown()
}

// process takes one key and runs sync on it: on success the key's back-off is forgotten and
// the returned delay (if any) requeues it; on error (or a panic) it is retried with back-off.
// It returns false once the queue is shut down.
func (q *workQueue) process(log *slog.Logger, sync func(key string) (time.Duration, error)) bool {
	key, quit := q.Get()
	if quit {
		return false
	}
	defer q.Done(key)
	q.busy.Add(1)
	defer q.busy.Add(-1)
	// A delay counts from the time the sync decided at, not from when it returned.
	now := q.clock.Now()
	after, err := safeSync(key, sync)
	if err != nil {
		log.Warn("sync failed; retrying with back-off", "key", key, "err", err)
		q.AddRateLimited(key)
		return true
	}
	q.Forget(key)
	if after > 0 {
		q.requeueAt(key, now.Add(after))
	}
	return true
}

// safeSync turns a panic in sync into an error, as Argo's workers do: one bad rollout must not
// take the controller down.
func safeSync(key string, sync func(string) (time.Duration, error)) (after time.Duration, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &panicError{key: key, value: r, stack: debug.Stack()}
		}
	}()
	return sync(key)
}

type panicError struct {
	key   string
	value any
	stack []byte
}

func (e *panicError) Error() string {
	return fmt.Sprintf("panic while syncing %s: %v\n%s", e.key, e.value, e.stack)
}
