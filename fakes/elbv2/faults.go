package elbv2

import (
	"sort"
	"strings"
	"time"

	"github.com/rolloutlab/rolloutlab/sim/dist"
)

// Class is an API class: AWS throttles each class of an account with its own token bucket.
type Class string

// The API classes.
const (
	ClassDescribe Class = "describe" // Describe*
	ClassRegister Class = "register" // RegisterTargets, DeregisterTargets
	ClassModify   Class = "modify"   // Create*, Modify*, Delete*, Set*, AddTags, RemoveTags
)

// ClassOf is the class of an operation.
func ClassOf(op string) Class {
	switch {
	case strings.HasPrefix(op, "Describe"):
		return ClassDescribe
	case op == "RegisterTargets" || op == "DeregisterTargets":
		return ClassRegister
	}
	return ClassModify
}

// Bucket is a token bucket: Burst calls at once, refilled at Rate calls per second of virtual
// time. A Rate of 0 or less never throttles.
type Bucket struct {
	Rate  int
	Burst int
}

const nanoPerToken = int64(time.Second) // a bucket's level counts billionths of a call

type bucketState struct {
	level int64
	at    time.Time
}

// take refills the bucket up to now and takes one call from it if it can.
func (b Bucket) take(s *bucketState, now time.Time) bool {
	if b.Rate <= 0 {
		return true
	}
	full := int64(max(b.Burst, 1)) * nanoPerToken
	if s.at.IsZero() {
		s.level = full
	} else if dt := int64(now.Sub(s.at)); dt > 0 {
		if dt >= full/int64(b.Rate) {
			s.level = full
		} else {
			s.level = min(full, s.level+dt*int64(b.Rate))
		}
	}
	s.at = now
	if s.level < nanoPerToken {
		return false
	}
	s.level -= nanoPerToken
	return true
}

// CallStat counts one caller's calls of one operation by outcome.
type CallStat struct {
	Caller, Op string
	OK         int // succeeded
	Errors     int // answered with an API error (not found, validation, ...)
	Throttled  int // refused with Throttling
	Injected   int // failed with an injected fault
}

type injection struct {
	p    dist.PerMille
	code string
}

type faults struct {
	buckets        map[string]*bucketState
	throttledUntil time.Time
	throttled      bool
	inject         map[string]injection
	calls          map[[2]string]*CallStat
}

func (x *faults) init() {
	x.buckets = map[string]*bucketState{}
	x.inject = map[string]injection{}
	x.calls = map[[2]string]*CallStat{}
}

// SetErrorRate makes calls of op ("*" for every operation) fail with an API error of the given
// code with probability p, drawn from the Fake's stream; p = 0 removes the fault. Server codes
// (InternalFailure, ServiceUnavailable) reach the wire as HTTP 5xx, others as 400.
func (f *Fake) SetErrorRate(op string, p dist.PerMille, code string) {
	f.lock()
	defer f.unlock()
	if p <= 0 {
		delete(f.faults.inject, op)
		return
	}
	f.faults.inject[op] = injection{p: p, code: code}
}

// Throttle throttles every call for the next window of virtual time.
func (f *Fake) Throttle(window time.Duration) {
	f.lock()
	defer f.unlock()
	f.faults.throttledUntil = f.now().Add(window)
}

// SetThrottled throttles every call until it is called with false.
func (f *Fake) SetThrottled(on bool) {
	f.lock()
	defer f.unlock()
	f.faults.throttled = on
	if !on {
		f.faults.throttledUntil = time.Time{}
	}
}

// admit decides whether a call runs: forced throttling, then the class's bucket, then injected
// faults (the operation's own, then "*"). Refused calls are counted here.
func (f *Fake) admit(caller, op string) error {
	now := f.now()
	stat := f.stat(caller, op)
	if f.faults.throttled || now.Before(f.faults.throttledUntil) || !f.takeToken(caller, op, now) {
		stat.Throttled++
		return errThrottled()
	}
	for _, key := range []string{op, "*"} {
		if inj, ok := f.faults.inject[key]; ok && inj.p.Happens(f.rand) {
			stat.Injected++
			return errInjected(inj.code)
		}
	}
	return nil
}

func (f *Fake) takeToken(caller, op string, now time.Time) bool {
	class := ClassOf(op)
	var b Bucket
	switch class {
	case ClassDescribe:
		b = f.cfg.Describe
	case ClassRegister:
		b = f.cfg.Register
	default:
		b = f.cfg.Modify
	}
	key := string(class)
	if f.cfg.PerCaller {
		key = caller + "/" + key
	}
	s := f.faults.buckets[key]
	if s == nil {
		s = &bucketState{}
		f.faults.buckets[key] = s
	}
	return b.take(s, now)
}

func (f *Fake) stat(caller, op string) *CallStat {
	k := [2]string{caller, op}
	s := f.faults.calls[k]
	if s == nil {
		s = &CallStat{Caller: caller, Op: op}
		f.faults.calls[k] = s
	}
	return s
}

func (f *Fake) count(caller, op string, err error) {
	if err != nil {
		f.stat(caller, op).Errors++
	} else {
		f.stat(caller, op).OK++
	}
}

// Calls lists the calls made so far, by caller then operation.
func (f *Fake) Calls() []CallStat {
	f.lock()
	defer f.unlock()
	out := make([]CallStat, 0, len(f.faults.calls))
	for _, s := range f.faults.calls {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Caller != out[j].Caller {
			return out[i].Caller < out[j].Caller
		}
		return out[i].Op < out[j].Op
	})
	return out
}
