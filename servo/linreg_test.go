package servo

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// idealClock is a noiseless clock with a constant frequency error, steered
// by a servo: the linreg must find the error exactly.
type idealClock struct {
	phase, osc, adj float64 // ns, ppb, ppb
}

func (c *idealClock) run(dt float64) { c.phase += dt * ((1+c.osc/1e9)*(1+c.adj/1e9) - 1) }

func TestLinRegFindsFrequencyAndPhase(t *testing.T) {
	for _, tc := range []struct {
		name     string
		order    int
		osc      float64
		phase    float64
		interval float64
	}{
		{"linuxptp window, 1 Hz", LinRegLinuxPTPOrder, 12_345, 25_000, 1},
		{"long window, 16 Hz", LinRegMaxOrder, -50_000, -15_000, 1.0 / 16},
		{"long window, 128 Hz, slow clock", LinRegMaxOrder, -250_000, 30_000, 1.0 / 128},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.LinRegMaxOrder = tc.order
			s := NewLinReg(cfg, 0)
			s.SetSyncInterval(tc.interval)
			c := &idealClock{phase: tc.phase, osc: tc.osc}
			local := int64(1_700_000_000) * 1e9
			var states []State
			var meanFreq float64
			const tail = 1024
			for i := range 3000 {
				offset := int64(math.Round(c.phase))
				ppb, st := s.Sample(offset, local+int64(math.Round(c.phase)))
				states = append(states, st)
				if st == Jump {
					c.phase -= float64(offset)
				}
				if st != Unlocked {
					c.adj = ppb
				}
				if i >= 3000-tail {
					meanFreq += ((1+c.osc/1e9)*(1+c.adj/1e9) - 1) * 1e9 / tail
				}
				c.run(tc.interval * 1e9)
				local += int64(tc.interval * 1e9)
			}
			assert.Equal(t, []State{Unlocked, Unlocked, Unlocked}, states[:3], "4 points are needed")
			assert.Equal(t, Jump, states[3], "the offset is beyond first_step_threshold by the fourth point")
			assert.NotContains(t, states[4:], Jump, "one step only")
			// The correction cancels the oscillator, (1+osc)(1+adj) = 1, on
			// average: each answer also corrects the phase left by
			// rounding timestamps to whole nanoseconds.
			assert.InDelta(t, 0, meanFreq, 0.2, "residual frequency, ppb")
			assert.Less(t, math.Abs(c.phase), 2.0, "residual phase %.3f ns", c.phase)
			assert.GreaterOrEqual(t, s.Window(), 64, "nearly noiseless: long windows predict as well as short ones")
			assert.InDelta(t, 1, s.RateRatio(), 1e-7)
		})
	}
}

func TestLinRegSteps(t *testing.T) {
	cfg := DefaultConfig()
	s := NewLinReg(cfg, 0)
	s.SetSyncInterval(1)
	var st State
	for i := range 4 {
		_, st = s.Sample(1_000_000, 100*sec+int64(i)*sec)
	}
	assert.Equal(t, Jump, st, "1 ms is beyond first_step_threshold (20 µs)")
	// After the step the history moved with the clock: a zero offset now
	// is consistent with it and needs no further step.
	for i := 4; i < 8; i++ {
		_, st = s.Sample(0, 100*sec+int64(i)*sec-1_000_000)
		assert.Equal(t, Locked, st, "sample %d", i)
	}
	// step_threshold applies after the first correction.
	cfg.StepThreshold = 10 * time.Microsecond
	s = NewLinReg(cfg, 0)
	s.SetSyncInterval(1)
	for i := range 8 {
		_, st = s.Sample(0, 100*sec+int64(i)*sec)
	}
	require.Equal(t, Locked, st)
	for i := 8; i < 16; i++ {
		_, st = s.Sample(1_000_000, 100*sec+int64(i)*sec)
		if st == Jump {
			break
		}
	}
	assert.Equal(t, Jump, st, "a sustained 1 ms offset passes step_threshold once the fit sees it")
}

func TestLinRegClampAndReset(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxFrequency = 500
	s := NewLinReg(cfg, 0)
	s.SetSyncInterval(1)
	var ppb float64
	for i := range 6 {
		// 10 µs more each second: 10 ppm fast, beyond the 500 ppb limit.
		ppb, _ = s.Sample(int64(i)*10_000, 100*sec+int64(i)*sec)
	}
	assert.Equal(t, -500.0, ppb)
	s.Reset()
	assert.Zero(t, s.Window())
	_, st := s.Sample(0, 200*sec)
	assert.Equal(t, Unlocked, st)
}

// TestLinRegRebase: a locked linreg meets a reference 500 ns ahead. Told
// of the new reference (Rebase, through the spike filter as roko-ptpd
// runs it), it removes the 500 ns without overshoot; not told, the short
// windows that take over tilt with the step and the clock overshoots.
func TestLinRegRebase(t *testing.T) {
	for _, tc := range []struct {
		name      string
		rebase    bool
		overshoot func(t assert.TestingT, e1, e2 any, msg ...any) bool
	}{
		{"rebased", true, assert.Less},
		{"not told", false, assert.Greater},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const interval = 1.0 / 16
			s := NewFilter(NewLinReg(DefaultConfig(), 0), DefaultFilterConfig())
			s.SetSyncInterval(interval)
			c := &idealClock{phase: 3_000, osc: 20_000}
			local := int64(1_700_000_000) * 1e9
			master := 0.0
			var after []float64
			for i := range 3000 {
				if i == 2000 {
					master = 500
					if tc.rebase {
						s.Rebase()
					}
					s.ResetFilter()
				}
				offset := int64(math.Round(c.phase - master))
				ppb, st := s.Sample(offset, local+int64(math.Round(c.phase)))
				if st == Jump {
					c.phase -= float64(offset)
				}
				if st != Unlocked {
					c.adj = ppb
				}
				if i >= 2000 {
					after = append(after, c.phase-master)
				}
				c.run(interval * 1e9)
				local += int64(interval * 1e9)
			}
			require.InDelta(t, -500, after[0], 2, "the new reference's time error")
			var peak float64
			for _, e := range after {
				peak = max(peak, e)
			}
			t.Logf("peak %.2f ns", peak)
			tc.overshoot(t, peak, 5.0, "largest error past the new reference's time, ns")
			assert.InDelta(t, 0, after[len(after)-1], 2, "settled on the new reference")
		})
	}
}
