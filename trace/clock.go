package trace

import (
	"fmt"
	"sort"
	"time"
)

// HostTSCHz measures the host's TSC frequency against the monotonic clock
// (three 10 ms windows, the median). A KVM guest's TSC runs at the host's
// rate unless the VMM asks KVM to scale it (api.rst, KVM_SET_TSC_KHZ),
// which ukw's VMM does not, so this converts guest timestamps to time.
// It returns 0 where there is no TSC to read.
func HostTSCHz() float64 {
	if !haveTSC {
		return 0
	}
	var rates []float64
	for i := 0; i < 3; i++ {
		t0, c0 := time.Now(), rdtsc()
		time.Sleep(10 * time.Millisecond)
		t1, c1 := time.Now(), rdtsc()
		if dt := t1.Sub(t0).Seconds(); dt > 0 && c1 > c0 {
			rates = append(rates, float64(c1-c0)/dt)
		}
	}
	if len(rates) == 0 {
		return 0
	}
	sort.Float64s(rates)
	return rates[len(rates)/2]
}

// Clock turns TSC ticks into time. Hz 0 means unknown: durations then
// print as ticks.
type Clock struct {
	Hz float64
}

// Duration converts ticks to a time.Duration (0 when Hz is unknown).
func (c Clock) Duration(ticks uint64) time.Duration {
	if c.Hz <= 0 {
		return 0
	}
	return time.Duration(float64(ticks) / c.Hz * 1e9)
}

// Micros converts ticks to microseconds (the ticks themselves when Hz is
// unknown, so exports stay ordered and proportional).
func (c Clock) Micros(ticks uint64) float64 {
	if c.Hz <= 0 {
		return float64(ticks)
	}
	return float64(ticks) / c.Hz * 1e6
}

// Format prints ticks as a duration ("12.3ms") or, with Hz unknown, as
// ticks ("12345tk").
func (c Clock) Format(ticks uint64) string {
	if c.Hz <= 0 {
		return fmt.Sprintf("%dtk", ticks)
	}
	d := float64(ticks) / c.Hz
	switch {
	case d >= 1:
		return fmt.Sprintf("%.3fs", d)
	case d >= 1e-3:
		return fmt.Sprintf("%.3fms", d*1e3)
	default:
		return fmt.Sprintf("%.1fµs", d*1e6)
	}
}
