package phc

import (
	"fmt"
	"math"
	"sync"
	"time"
)

// Virtual is a software clock that behaves like a PHC, for machines
// without one. It runs on CLOCK_MONOTONIC, from a chosen offset to
// CLOCK_REALTIME and with a chosen frequency error, and is steered through
// Clock exactly as a PHC is. Because it knows how it relates to
// CLOCK_REALTIME it can turn the kernel's software timestamps into its
// own timebase, and report its true error at any instant: that is how
// tests and the demo prove synchronisation without hardware.
//
// CLOCK_MONOTONIC is the base because the kernel runs it at exactly
// CLOCK_REALTIME's rate, whatever frequency correction CLOCK_REALTIME has
// (NTP's, chrony's, phc2sys's: the two clocks share one steered readout,
// monotonic.go), and keeps the two a constant apart. So a free virtual
// clock with no frequency error keeps CLOCK_REALTIME's rate, a timestamp
// converts by that constant, and the true error has no noise of its own:
// no reading of two clocks "at once", and no estimate of the kernel's
// frequency. (On CLOCK_MONOTONIC_RAW, which takes no correction, a clock
// with no error would drift from CLOCK_REALTIME, and from a ptp4l that
// serves it, by CLOCK_REALTIME's correction: 1 µs a second per ppm.)
//
// A step of CLOCK_REALTIME (settimeofday, an ADJ_SETOFFSET, a leap
// second) does not move the virtual clock, as it would not move a PHC:
// its true error changes by minus the step, and timestamps taken after
// the step convert with the new constant, which the kernel announces
// through a timerfd. A timestamp taken before a step and converted after
// it is off by the step, once, as any CLOCK_REALTIME timestamp is.
//
// Its time is v(m) = v0 + (m − m0)·(1 + (err + adj)/1e9) for monotonic
// time m, with err the simulated oscillator error and adj the steering;
// every change of adj re-anchors (m0, v0) at the current instant so the
// clock is continuous.
type Virtual struct {
	name    string
	maxFreq float64

	mu sync.Mutex
	m0 int64 // CLOCK_MONOTONIC anchor, ns
	// v0 + v0frac is the clock's value at m0, ns since the epoch. A
	// float64 alone would round today's epoch nanoseconds to 256 ns.
	v0     int64
	v0frac float64
	err    float64 // oscillator frequency error, ppb
	adj    float64 // steering, ppb
}

// VirtualConfig sets up a virtual clock.
type VirtualConfig struct {
	// Name appears in messages ("virtual" if empty).
	Name string
	// Offset is the clock's initial offset from CLOCK_REALTIME.
	Offset time.Duration
	// FrequencyError is how fast the free-running clock runs against
	// CLOCK_REALTIME, in ppb.
	FrequencyError float64
	// MaxFrequency is the steering limit in ppb (default 62,499,999,
	// an Intel i210's max_adj).
	MaxFrequency float64
}

// NewVirtual starts a virtual clock.
func NewVirtual(cfg VirtualConfig) (*Virtual, error) {
	if cfg.Name == "" {
		cfg.Name = "virtual"
	}
	if cfg.MaxFrequency == 0 {
		cfg.MaxFrequency = 62_499_999
	}
	if math.IsNaN(cfg.FrequencyError) || math.Abs(cfg.FrequencyError) > 1e8 {
		return nil, fmt.Errorf("%s: frequency error %v ppb: must be within ±10%%", cfg.Name, cfg.FrequencyError)
	}
	off, err := realtimeOffset()
	if err != nil {
		return nil, err
	}
	m := readMono()
	return &Virtual{
		name: cfg.Name, maxFreq: cfg.MaxFrequency,
		m0: m, v0: m + off + int64(cfg.Offset), err: cfg.FrequencyError,
	}, nil
}

// at returns the clock's value at monotonic time m as whole nanoseconds
// and a fraction in [0, 1). The caller holds mu.
func (v *Virtual) at(m int64) (int64, float64) {
	return extrapolate(m, v.m0, v.v0, v.v0frac, v.err+v.adj)
}

// atNs is at rounded to a nanosecond.
func (v *Virtual) atNs(m int64) int64 { return nearestNs(v.at(m)) }

// extrapolate is a clock anchored at value v0 + v0frac at monotonic time
// m0, running ppb fast against CLOCK_MONOTONIC, read at monotonic time m:
// whole nanoseconds and a fraction in [0, 1). A float64 alone would round
// today's epoch nanoseconds to 256 ns, hence the split. The virtual and
// the emulated clocks both keep their time this way.
func extrapolate(m, m0, v0 int64, v0frac, ppb float64) (int64, float64) {
	d := float64(m-m0)*(1+ppb/1e9) + v0frac
	whole := math.Floor(d)
	return v0 + int64(whole), d - whole
}

// nearestNs rounds extrapolate's result to a nanosecond.
func nearestNs(n int64, frac float64) int64 {
	if frac >= 0.5 {
		n++
	}
	return n
}

// Name implements Clock.
func (v *Virtual) Name() string { return v.name }

// Now implements Clock.
func (v *Virtual) Now() (time.Time, error) {
	return time.Unix(0, v.NowNs()), nil
}

// NowNs returns the clock's time in ns since the epoch.
func (v *Virtual) NowNs() int64 {
	m := readMono()
	v.mu.Lock()
	x := v.atNs(m)
	v.mu.Unlock()
	return x
}

// MaxFrequency implements Clock.
func (v *Virtual) MaxFrequency() float64 { return v.maxFreq }

// AdjustFrequency implements Clock.
func (v *Virtual) AdjustFrequency(ppb float64) error {
	if math.IsNaN(ppb) || math.Abs(ppb) > v.maxFreq {
		return fmt.Errorf("%s: %.0f ppb: %w (max_adj %.0f)", v.name, ppb, ErrFrequencyRange, v.maxFreq)
	}
	m := readMono()
	v.mu.Lock()
	v.v0, v.v0frac = v.at(m)
	v.m0 = m
	v.adj = ppb
	v.mu.Unlock()
	return nil
}

// Frequency implements Clock.
func (v *Virtual) Frequency() (float64, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.adj, nil
}

// Step implements Clock.
func (v *Virtual) Step(d time.Duration) error {
	v.mu.Lock()
	v.v0 += int64(d)
	v.mu.Unlock()
	return nil
}

// FromRealtime converts a CLOCK_REALTIME time (a kernel software
// timestamp) to this clock's timebase: the value this clock had at that
// instant. CLOCK_REALTIME and CLOCK_MONOTONIC differ by a constant, so
// the conversion is exact whatever CLOCK_REALTIME's frequency and however
// old the timestamp, unless CLOCK_REALTIME was stepped since it was taken.
func (v *Virtual) FromRealtime(rt int64) (int64, error) {
	off, err := realtimeOffset()
	if err != nil {
		return 0, err
	}
	v.mu.Lock()
	x := v.atNs(rt - off)
	v.mu.Unlock()
	return x, nil
}

// TrueError returns how far the clock is from CLOCK_REALTIME now (clock
// minus realtime). With CLOCK_REALTIME as the reference the grandmaster
// serves, this is the real synchronisation error. It has no noise of its
// own: it reads one clock, CLOCK_MONOTONIC, and takes CLOCK_REALTIME as
// that plus the kernel's constant difference. That constant is measured
// once, to within a system call's length; FromRealtime and NewVirtual's
// Offset use the same value, so a clock synchronised through timestamps
// shows no error from it.
func (v *Virtual) TrueError() (time.Duration, error) {
	off, err := realtimeOffset()
	if err != nil {
		return 0, err
	}
	m := readMono()
	v.mu.Lock()
	x := v.atNs(m)
	v.mu.Unlock()
	return time.Duration(x - (m + off)), nil
}

var (
	_ Clock = (*Virtual)(nil)
	_ Clock = (*System)(nil)
)
