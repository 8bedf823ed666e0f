package awslbc

import (
	"strings"
	"time"
)

// nanoPerToken: a bucket's level counts billionths of a call, so refills stay exact in integers.
const nanoPerToken = int64(time.Second)

// throttle is the client-side rate limiting of the AWS SDK middleware the LBC installs: every
// bucket matching an operation must give a token. The real middleware blocks the worker until
// the tokens come; here the reconcile is requeued for when they will have.
type throttle struct {
	rules   []Throttle
	buckets []bucket
}

type bucket struct {
	level int64
	at    time.Time
}

func newThrottle(rules []Throttle) *throttle {
	return &throttle{rules: rules, buckets: make([]bucket, len(rules))}
}

// reset refills every bucket: a restarted controller starts with full buckets.
func (t *throttle) reset() { t.buckets = make([]bucket, len(t.rules)) }

// take takes a token for op from every matching bucket and returns 0, or takes nothing and
// returns how long until every matching bucket has one.
func (t *throttle) take(op string, now time.Time) time.Duration {
	var wait time.Duration
	for i, r := range t.rules {
		if r.Rate > 0 && matchOp(r.Ops, op) {
			wait = max(wait, t.refill(i, now))
		}
	}
	if wait > 0 {
		return wait
	}
	for i, r := range t.rules {
		if r.Rate > 0 && matchOp(r.Ops, op) {
			t.buckets[i].level -= nanoPerToken
		}
	}
	return 0
}

// refill brings bucket i up to now and returns how long until it holds one token.
func (t *throttle) refill(i int, now time.Time) time.Duration {
	r, b := t.rules[i], &t.buckets[i]
	full := int64(max(r.Burst, 1)) * nanoPerToken
	switch dt := int64(now.Sub(b.at)); {
	case b.at.IsZero():
		b.level = full
	case dt >= full/int64(r.Rate):
		b.level = full
	case dt > 0:
		b.level = min(full, b.level+dt*int64(r.Rate))
	}
	b.at = now
	if b.level >= nanoPerToken {
		return 0
	}
	need := nanoPerToken - b.level
	return time.Duration((need + int64(r.Rate) - 1) / int64(r.Rate))
}

// matchOp reports whether a Throttle's Ops matches an operation.
func matchOp(ops, op string) bool {
	for _, p := range strings.Split(ops, "|") {
		if p == "*" || p == op {
			return true
		}
		if prefix, ok := strings.CutSuffix(p, "*"); ok && strings.HasPrefix(op, prefix) {
			return true
		}
	}
	return false
}
