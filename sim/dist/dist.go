// Package dist holds the random quantities the simulated world draws from its seeded streams:
// delays and probabilities. It has no state of its own; every draw takes the caller's stream.
package dist

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Delay is a random duration. Its text form is a fixed duration ("2s"), a uniform range
// ("1s..3s"), or a heavy-tailed range ("1s..3s~tail"): log-uniform, so most draws are near the low
// end and a few near the high end, the way controller lag behaves.
type Delay struct {
	Min, Max time.Duration
	Tail     bool
}

// Fixed is a Delay that always draws d.
func Fixed(d time.Duration) Delay { return Delay{Min: d, Max: d} }

// Draw returns a duration in [Min, Max], rounded to the millisecond so traces stay readable.
func (d Delay) Draw(r *rand.Rand) time.Duration {
	if d.Max <= d.Min {
		return d.Min
	}
	var v time.Duration
	if d.Tail {
		lo := math.Log(float64(max(d.Min, time.Millisecond)))
		hi := math.Log(float64(d.Max))
		v = time.Duration(math.Exp(lo + r.Float64()*(hi-lo)))
	} else {
		v = d.Min + time.Duration(r.Int64N(int64(d.Max-d.Min)+1))
	}
	return v.Round(time.Millisecond)
}

func (d Delay) String() string {
	if d.Max <= d.Min {
		return d.Min.String()
	}
	s := d.Min.String() + ".." + d.Max.String()
	if d.Tail {
		s += "~tail"
	}
	return s
}

// ParseDelay reads the text form of a Delay.
func ParseDelay(s string) (Delay, error) {
	s = strings.TrimSpace(s)
	var d Delay
	if rest, ok := strings.CutSuffix(s, "~tail"); ok {
		d.Tail, s = true, rest
	}
	lo, hi, isRange := strings.Cut(s, "..")
	min, err := parseDuration(lo)
	if err != nil {
		return Delay{}, err
	}
	d.Min, d.Max = min, min
	if isRange {
		if d.Max, err = parseDuration(hi); err != nil {
			return Delay{}, err
		}
		if d.Max < d.Min {
			return Delay{}, fmt.Errorf("delay range %q runs backwards", s)
		}
	} else if d.Tail {
		return Delay{}, fmt.Errorf("delay %q: ~tail needs a range like 1s..2m~tail", s)
	}
	return d, nil
}

func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil && n == 0 {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (want e.g. 500ms, 2s, 1m30s)", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("duration %q is negative", s)
	}
	return d, nil
}

// MarshalText writes the text form.
func (d Delay) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads the text form.
func (d *Delay) UnmarshalText(b []byte) error {
	v, err := ParseDelay(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// PerMille is a probability in thousandths, so scenario files never hold floats.
type PerMille int

// Happens draws whether the event happens.
func (p PerMille) Happens(r *rand.Rand) bool {
	return p > 0 && (p >= 1000 || r.IntN(1000) < int(p))
}
