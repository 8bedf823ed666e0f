package v1alpha1

import (
	"math"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// DurationSeconds returns the pause duration in whole seconds: 0 when no duration is set (pause
// until resumed), -1 when the duration cannot be parsed or does not fit an int32.
//
// Argo accepts a bare int (seconds), a string holding an int (also seconds) or a Go duration
// string ("30s", "1h"); durations below a second truncate to 0.
func (p RolloutPause) DurationSeconds() int32 {
	if p.Duration == nil {
		return 0
	}
	if p.Duration.Type == intstr.Int {
		return p.Duration.IntVal
	}
	if s, err := strconv.ParseInt(p.Duration.StrVal, 10, 32); err == nil {
		return int32(s)
	}
	d, err := time.ParseDuration(p.Duration.StrVal)
	if err != nil {
		return -1
	}
	secs := d / time.Second
	if secs > math.MaxInt32 || secs < math.MinInt32 {
		return -1
	}
	return int32(secs)
}
