package phc

import (
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Virtual is a software clock that behaves like a PHC, for machines
// without one. It runs on CLOCK_MONOTONIC_RAW (which nothing steers), from
// a chosen offset to CLOCK_REALTIME and with a chosen frequency error, and
// is steered through Clock exactly as a PHC is. Because it knows how it
// relates to CLOCK_REALTIME it can turn the kernel's software timestamps
// into its own timebase, and report its true error at any instant: that is
// how tests and the demo prove synchronisation without hardware.
//
// Its time is v(r) = v0 + (r − r0)·(1 + (err + adj)/1e9) for raw time r,
// with err the simulated oscillator error and adj the steering; every
// change of adj re-anchors (r0, v0) at the current instant so the clock is
// continuous.
type Virtual struct {
	name    string
	maxFreq float64

	mu sync.Mutex
	r0 int64 // raw anchor, ns
	// v0 + v0frac is the clock's value at r0, ns since the epoch. A
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
	// FrequencyError is how fast the free-running clock runs, in ppb.
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
	raw, rt, err := rawAndRealtime()
	if err != nil {
		return nil, err
	}
	return &Virtual{
		name: cfg.Name, maxFreq: cfg.MaxFrequency,
		r0: raw, v0: rt + int64(cfg.Offset), err: cfg.FrequencyError,
	}, nil
}

// rawAndRealtime reads CLOCK_MONOTONIC_RAW and CLOCK_REALTIME at (nearly)
// one instant: realtime between two raw reads, the raw time taken as
// their midpoint.
func rawAndRealtime() (raw, rt int64, err error) {
	var a, b, r unix.Timespec
	best := int64(math.MaxInt64)
	// Two tries: the narrower window wins; a third rarely helps and each
	// read is a system call (CLOCK_MONOTONIC_RAW has no vDSO path in Go).
	for range 2 {
		if err = clockGettime(unix.CLOCK_MONOTONIC_RAW, &a); err != nil {
			break
		}
		if err = clockGettime(unix.CLOCK_REALTIME, &r); err != nil {
			break
		}
		if err = clockGettime(unix.CLOCK_MONOTONIC_RAW, &b); err != nil {
			break
		}
		if w := b.Nano() - a.Nano(); w < best {
			best = w
			raw, rt = a.Nano()+w/2, r.Nano()
		}
	}
	if err != nil {
		return 0, 0, fmt.Errorf("virtual clock: clock_gettime: %w", err)
	}
	return raw, rt, nil
}

// realtimeFrequency returns CLOCK_REALTIME's frequency correction in ppb
// (0 if it cannot be read).
func realtimeFrequency() float64 {
	// Read at most every 100 ms: steering changes it a few times a second
	// at most, and over a timestamp's milliseconds of age a stale value
	// costs picoseconds.
	rtFreq.mu.Lock()
	defer rtFreq.mu.Unlock()
	t := readRaw()
	if rtFreq.at != 0 && t-rtFreq.at < 100e6 {
		return rtFreq.ppb
	}
	var tx unix.Timex
	if _, err := clockAdjtime(unix.CLOCK_REALTIME, &tx); err != nil {
		return 0
	}
	rtFreq.ppb = (&System{hz: userHZ, nominalTick: (1_000_000 + userHZ/2) / userHZ}).joinFrequency(tx.Tick, tx.Freq)
	rtFreq.at = t
	return rtFreq.ppb
}

// rtFreq caches realtimeFrequency.
var rtFreq struct {
	mu  sync.Mutex
	at  int64
	ppb float64
}

func readRaw() int64 {
	var ts unix.Timespec
	// CLOCK_MONOTONIC_RAW cannot fail on Linux ≥ 2.6.28.
	_ = clockGettime(unix.CLOCK_MONOTONIC_RAW, &ts)
	return ts.Nano()
}

// at returns the clock's value at raw time r as whole nanoseconds and a
// fraction in [0, 1). The caller holds mu.
func (v *Virtual) at(r int64) (int64, float64) {
	d := float64(r-v.r0)*(1+(v.err+v.adj)/1e9) + v.v0frac
	whole := math.Floor(d)
	return v.v0 + int64(whole), d - whole
}

// atNs is at rounded to a nanosecond.
func (v *Virtual) atNs(r int64) int64 {
	n, frac := v.at(r)
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
	r := readRaw()
	v.mu.Lock()
	x := v.atNs(r)
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
	r := readRaw()
	v.mu.Lock()
	v.v0, v.v0frac = v.at(r)
	v.r0 = r
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
// instant.
func (v *Virtual) FromRealtime(rt int64) (int64, error) {
	raw, rtNow, err := rawAndRealtime()
	if err != nil {
		return 0, err
	}
	// The instant rt happened at, in raw time. CLOCK_REALTIME runs at the
	// raw rate times its frequency correction (NTP's or phc2sys's, up to
	// ±10 % with the tick), which is read back so that even a steered
	// system clock converts exactly over the milliseconds a timestamp is
	// old.
	r := raw - int64(float64(rtNow-rt)/(1+realtimeFrequency()/1e9))
	v.mu.Lock()
	x := v.atNs(r)
	v.mu.Unlock()
	return x, nil
}

// TrueError returns how far the clock is from CLOCK_REALTIME now (clock
// minus realtime). With CLOCK_REALTIME as the reference the grandmaster
// serves, this is the real synchronisation error.
func (v *Virtual) TrueError() (time.Duration, error) {
	raw, rt, err := rawAndRealtime()
	if err != nil {
		return 0, err
	}
	v.mu.Lock()
	x := v.atNs(raw)
	v.mu.Unlock()
	return time.Duration(x - rt), nil
}

var (
	_ Clock = (*Virtual)(nil)
	_ Clock = (*System)(nil)
)
