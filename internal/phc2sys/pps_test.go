package phc2sys

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"golang.org/x/sys/unix"

	"github.com/roko-network/roko-ptpd/phc"
	"github.com/roko-network/roko-ptpd/servo"
)

// world is simulated true time, in ns, shared by the simulated clocks.
type world struct{ now int64 }

// simClock is a clock in simulated time: it runs at (1+err+adj) and can
// be stepped, so that a PPS loop of many minutes runs in milliseconds.
type simClock struct {
	w          *world
	name       string
	err, adj   float64 // ppb
	at, value0 int64   // true time and value at the last re-anchoring
}

func (c *simClock) value() int64 {
	return c.value0 + int64(math.Round(float64(c.w.now-c.at)*(1+(c.err+c.adj)/1e9)))
}
func (c *simClock) anchor()                 { c.value0, c.at = c.value(), c.w.now }
func (c *simClock) Name() string            { return c.name }
func (c *simClock) Now() (time.Time, error) { return time.Unix(0, c.value()), nil }
func (c *simClock) MaxFrequency() float64   { return 500_000 }
func (c *simClock) AdjustFrequency(ppb float64) error {
	c.anchor()
	c.adj = ppb
	return nil
}
func (c *simClock) Frequency() (float64, error) { return c.adj, nil }
func (c *simClock) Step(d time.Duration) error {
	c.anchor()
	c.value0 += int64(d)
	return nil
}

// simPPS pulses at each whole second of true time (a perfect GPS) and
// timestamps the pulse on the target with jitter ns of noise.
type simPPS struct {
	w      *world
	target *simClock
	jitter float64
	rng    *rand.Rand
	seq    uint32
}

func (p *simPPS) Fetch(time.Duration) (phc.PPSEvent, error) {
	sec := int64(time.Second)
	p.w.now = (p.w.now/sec + 1) * sec
	p.seq++
	ts := p.target.value() + int64(p.rng.NormFloat64()*p.jitter)
	// The loop reads the clocks a few ms after the pulse.
	p.w.now += 3 * int64(time.Millisecond)
	return phc.PPSEvent{AssertSequence: p.seq, Assert: ts}, nil
}

// TestPPS: -d keeps the system clock on a pulse per second. Without -s
// the clock must start within half a second; with -s (a PHC 37 s ahead, on
// TAI, and -O -37) the whole seconds come from the PHC, so a clock 5.3 s
// off is put right. The error against true time, not the servo's view, is
// what is asserted.
func TestPPS(t *testing.T) {
	for _, tc := range []struct {
		name      string
		start     time.Duration
		withPHC   bool
		offset    time.Duration
		freqError float64
	}{
		{"pulse only, 0.4 s off", 400 * time.Millisecond, false, 0, 40_000},
		{"pulse only, -0.3 s off", -300 * time.Millisecond, false, 0, -25_000},
		{"with the PHC's seconds, 5.3 s off", 5300 * time.Millisecond, true, -37 * time.Second, 60_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &world{now: 1_700_000_000 * int64(time.Second)}
			target := &simClock{w: w, name: "CLOCK_REALTIME", err: tc.freqError, at: w.now, value0: w.now + int64(tc.start)}
			s := &PPSSyncer{Target: target, Readings: 1, OffsetNs: int64(tc.offset),
				PPS: &simPPS{w: w, target: target, jitter: 50, rng: rand.New(rand.NewPCG(1, 2))}}
			if tc.withPHC {
				s.Source = &simClock{w: w, name: "/dev/ptp0", at: w.now, value0: w.now + 37*int64(time.Second)}
			}
			cfg := servo.DefaultConfig()
			cfg.MaxFrequency = target.MaxFrequency()
			cfg.FirstStepThreshold = 20 * time.Microsecond
			sv, err := servo.New(servo.KindPI, cfg, 0)
			require.NoError(t, err)
			sv.SetSyncInterval(1)
			s.Servo = sv
			var worst float64
			for i := range 120 {
				smp, err := s.Update()
				require.NoError(t, err)
				if i >= 60 {
					// True error of the target against true time at
					// this instant (the reference is true time).
					e := float64(target.value()-w.now) - float64(tc.offset+37*time.Second)*b2f(tc.withPHC)
					worst = max(worst, math.Abs(e))
					assert.Equal(t, servo.Locked, smp.State)
				}
			}
			t.Logf("worst true error over the last minute: %.0f ns", worst)
			assert.Less(t, worst, 300.0, "true error after a minute")
			assert.InDelta(t, -tc.freqError, target.adj, 50, "the frequency error is cancelled")
		})
	}
}

// A pulse that does not come is an error that says so.
func TestPPSMissingPulse(t *testing.T) {
	w := &world{}
	target := &simClock{w: w}
	s := &PPSSyncer{Target: target, PPS: stuckPPS{}, Servo: servo.NewFilter(must(servo.New(servo.KindPI, servo.DefaultConfig(), 0)), servo.DefaultFilterConfig())}
	_, err := s.Update()
	require.NoError(t, err)
	_, err = s.Update()
	assert.ErrorIs(t, err, ErrNoPulse)
	assert.ErrorContains(t, err, "is the PPS signal connected?")
}

type stuckPPS struct{}

func (stuckPPS) Fetch(time.Duration) (phc.PPSEvent, error) {
	return phc.PPSEvent{AssertSequence: 7, Assert: 1e9}, nil
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestPPSLine(t *testing.T) {
	assert.Equal(t, "CLOCK_REALTIME pps offset       -12 s2 freq    +340",
		Line("CLOCK_REALTIME", "pps", Sample{Offset: -12, Delay: PPSNoDelay, State: servo.Locked, PPB: -340}))
}

type errPPS struct{ err error }

func (p errPPS) Fetch(time.Duration) (phc.PPSEvent, error) { return phc.PPSEvent{}, p.err }

// A timed-out fetch is a missing pulse; any other fetch error is not.
func TestPPSFetchErrors(t *testing.T) {
	s := &PPSSyncer{Target: &simClock{w: &world{}}, PPS: errPPS{fmt.Errorf("/dev/pps0: no pulse within 2s: %w", unix.ETIMEDOUT)}}
	_, err := s.Update()
	assert.ErrorIs(t, err, ErrNoPulse)
	s.PPS = errPPS{unix.EBADF}
	_, err = s.Update()
	assert.ErrorIs(t, err, unix.EBADF)
	assert.NotErrorIs(t, err, ErrNoPulse)
}

// TestReporter: a line per update, or with -u N a summary every N.
func TestReporter(t *testing.T) {
	var lines []string
	logf := func(_ int, format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
	r := Reporter{Logf: logf, Target: "CLOCK_REALTIME", Label: "phc"}
	r.Report(Sample{Offset: 5, Delay: 700, State: servo.Locked})
	assert.Equal(t, []string{"CLOCK_REALTIME phc offset         5 s2 freq      +0 delay    700"}, lines)
	lines = nil
	r = Reporter{Logf: logf, Target: "CLOCK_REALTIME", Label: "phc", Every: 3}
	for _, o := range []int64{3, -4, 0, 12} {
		r.Report(Sample{Offset: o, Delay: 700, State: servo.Locked})
	}
	require.Len(t, lines, 1)
	assert.Equal(t, "CLOCK_REALTIME rms    3 max    4 freq     +0 +/-   0 delay   700 +/-   0", lines[0])
}
