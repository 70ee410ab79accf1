package servo

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sec = int64(time.Second)

func newPI(t *testing.T, mutate func(*Config)) *PI {
	t.Helper()
	cfg := DefaultConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := NewPI(cfg, 0)
	require.NoError(t, err)
	s.SetSyncInterval(1)
	return s
}

func TestPIGains(t *testing.T) {
	for _, tc := range []struct {
		name     string
		pc       func(*PIConfig)
		interval float64
		kp, ki   float64
	}{
		{"hardware, 1 s", nil, 1, 0.7, 0.3},
		{"hardware, 1/16 s", nil, 1.0 / 16, 0.7 * math.Pow(1.0/16, -0.3), 0.3 * math.Pow(1.0/16, 0.4)},
		{"software, 1 s", func(p *PIConfig) { p.SoftwareTimestamps = true }, 1, 0.1, 0.001},
		// At long intervals the caps bind: kp = 0.7·8^−0.3 = 0.38 is
		// capped at 0.7/8, ki = 0.3·8^0.4 = 0.69 at 0.3/8.
		{"hardware, 8 s", nil, 8, 0.7 / 8, 0.3 / 8},
		{"hardware, 1/2 s", nil, 0.5, 0.7 * math.Pow(0.5, -0.3), 0.3 * math.Pow(0.5, 0.4)},
		{"explicit constants", func(p *PIConfig) { p.ProportionalConst, p.IntegralConst = 0.5, 0.05 }, 1.0 / 16, 0.5, 0.05},
		{"explicit constants capped", func(p *PIConfig) { p.ProportionalConst, p.IntegralConst = 5, 5 }, 1, 1.0, 2.0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newPI(t, func(c *Config) {
				if tc.pc != nil {
					tc.pc(&c.PI)
				}
			})
			s.SetSyncInterval(tc.interval)
			kp, ki := s.Gains()
			assert.InDelta(t, tc.kp, kp, 1e-12)
			assert.InDelta(t, tc.ki, ki, 1e-12)
		})
	}
}

func TestPIStartUp(t *testing.T) {
	t.Run("step when the offset passes first_step_threshold", func(t *testing.T) {
		s := newPI(t, nil)
		ppb, st := s.Sample(1_000_000, 100*sec)
		assert.Equal(t, Unlocked, st)
		assert.Zero(t, ppb)
		// 1000 ns more after one second: the clock is 1000 ppb fast.
		ppb, st = s.Sample(1_001_000, 101*sec)
		assert.Equal(t, Jump, st)
		assert.InDelta(t, -1000, ppb, 1e-9)
	})
	t.Run("lock without a step below it", func(t *testing.T) {
		s := newPI(t, nil)
		s.Sample(0, 100*sec)
		ppb, st := s.Sample(-500, 101*sec)
		assert.Equal(t, Locked, st)
		assert.InDelta(t, 500, ppb, 1e-9)
		// Running: kp·o + drift + ki·o in linuxptp's sign, negated.
		ppb, st = s.Sample(100, 102*sec)
		assert.Equal(t, Locked, st)
		assert.InDelta(t, -(0.7*100 - 500 + 0.3*100), ppb, 1e-9)
	})
	t.Run("second sample too soon waits", func(t *testing.T) {
		s := newPI(t, nil)
		s.Sample(0, 100*sec)
		// 0.016/ki = 53 ms at the hardware default: 10 ms is too soon.
		_, st := s.Sample(10, 100*sec+10e6)
		assert.Equal(t, Unlocked, st)
		_, st = s.Sample(60, 100*sec+60e6)
		assert.Equal(t, Locked, st)
	})
	t.Run("software timestamps wait 16 s", func(t *testing.T) {
		s := newPI(t, func(c *Config) { c.PI.SoftwareTimestamps = true })
		s.Sample(0, 100*sec)
		_, st := s.Sample(10, 115*sec)
		assert.Equal(t, Unlocked, st)
		_, st = s.Sample(10, 116*sec)
		assert.Equal(t, Locked, st)
	})
	t.Run("time going backwards restarts", func(t *testing.T) {
		s := newPI(t, nil)
		s.Sample(0, 100*sec)
		_, st := s.Sample(0, 99*sec)
		assert.Equal(t, Unlocked, st)
		_, st = s.Sample(0, 101*sec)
		assert.Equal(t, Unlocked, st, "the restart takes this as its first sample")
	})
	t.Run("first_step_threshold only before the first correction", func(t *testing.T) {
		s := newPI(t, nil)
		s.Sample(0, 100*sec)
		_, st := s.Sample(0, 101*sec)
		require.Equal(t, Locked, st)
		s.Reset()
		s.Sample(50_000, 102*sec)
		_, st = s.Sample(50_000, 103*sec)
		assert.Equal(t, Locked, st, "50 µs is beyond first_step_threshold, but a correction was made")
	})
}

func TestPIStepThreshold(t *testing.T) {
	s := newPI(t, func(c *Config) { c.StepThreshold = time.Millisecond })
	s.Sample(0, 100*sec)
	_, st := s.Sample(0, 101*sec)
	require.Equal(t, Locked, st)
	_, st = s.Sample(999_999, 102*sec)
	assert.Equal(t, Locked, st, "at the threshold: no step")
	_, st = s.Sample(2_000_000, 103*sec)
	assert.Equal(t, Unlocked, st, "beyond: start over")
	_, st = s.Sample(2_000_000, 104*sec)
	assert.Equal(t, Unlocked, st, "the restart's first sample")
	_, st = s.Sample(2_000_000, 105*sec)
	assert.Equal(t, Jump, st, "the restart's second sample steps")
}

func TestPIClampWithoutWindup(t *testing.T) {
	s := newPI(t, func(c *Config) { c.MaxFrequency = 1000 })
	s.Sample(0, 100*sec)
	_, st := s.Sample(0, 101*sec)
	require.Equal(t, Locked, st)
	ppb, _ := s.Sample(1_000_000, 102*sec)
	assert.Equal(t, -1000.0, ppb, "clamped")
	ppb, _ = s.Sample(-1_000_000, 103*sec)
	assert.Equal(t, 1000.0, ppb, "clamped")
	// Had the integrator absorbed the clamped samples it would not be
	// back at kp·o + ki·o for a small offset.
	ppb, _ = s.Sample(10, 104*sec)
	assert.InDelta(t, -(0.7*10 + 0.3*10), ppb, 1e-9)
}

func TestLockedStable(t *testing.T) {
	const U, L, S = Unlocked, Locked, LockedStable
	offsets := []int64{0, 0, 0, 0, 10, 10, 10, 10, 500, 10, 10, 10}
	for _, tc := range []struct {
		kind Kind
		want []State
	}{
		// Three small offsets while locked earn s3; a large one drops back
		// to s2, and three more small ones are needed. linreg needs four
		// points before it locks, PI two.
		{KindPI, []State{U, L, L, S, S, S, S, S, L, L, L, S}},
		{KindLinReg, []State{U, U, U, L, L, S, S, S, L, L, L, S}},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.OffsetThreshold, cfg.NumOffsetValues = 100, 3
			s, err := New(tc.kind, cfg, 0)
			require.NoError(t, err)
			s.SetSyncInterval(1)
			var states []State
			for i, o := range offsets {
				_, st := s.Sample(o, 100*sec+int64(i)*sec)
				states = append(states, st)
			}
			assert.Equal(t, tc.want, states)
		})
	}
}

func TestNew(t *testing.T) {
	_, err := New("kalman", DefaultConfig(), 0)
	assert.ErrorContains(t, err, `clock_servo "kalman": not one of pi, linreg`)
	cfg := DefaultConfig()
	cfg.MaxFrequency = 0
	_, err = New(KindPI, cfg, 0)
	assert.ErrorContains(t, err, "max_frequency")
	cfg = DefaultConfig()
	cfg.PI.ProportionalConst = -1
	_, err = New(KindPI, cfg, 0)
	assert.ErrorContains(t, err, "pi_proportional_const -1")
	assert.Equal(t, "LOCKED_STABLE", LockedStable.String())
	assert.Equal(t, "State(9)", State(9).String())
}

func TestStartingFrequencyKept(t *testing.T) {
	for _, kind := range []Kind{KindPI, KindLinReg} {
		s, err := New(kind, DefaultConfig(), 1234)
		require.NoError(t, err)
		s.SetSyncInterval(1)
		ppb, st := s.Sample(0, 100*sec)
		assert.Equal(t, Unlocked, st)
		assert.Equal(t, 1234.0, ppb, "%s: the frequency already set stays until the servo knows better", kind)
	}
}
