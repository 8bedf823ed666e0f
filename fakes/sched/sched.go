// Package sched is the one thing every fake needs from the simulation kernel: running work at a
// later virtual time. The kernel implements it; tests can use a queue of their own.
package sched

import "time"

// Scheduler runs work at later virtual times.
type Scheduler interface {
	Now() time.Time
	After(d time.Duration, name, obj string, fn func()) Timer
}

// Timer is a scheduled piece of work that can still be cancelled.
type Timer interface{ Cancel() }
