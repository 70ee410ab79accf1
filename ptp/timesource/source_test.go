package timesource_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/engine"
	"github.com/roko-network/roko-ptpd/ptp/timesource"
	"github.com/roko-network/roko-ptpd/servo"
)

// The cold start: the clock 0.3 s and 50 ppm off, pulses with
// 20 ns jitter. After lock the true error stays under 50 ns RMS, and the
// quality announced is the locked one.
func TestColdStartLocks(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		w := newWorld(t, timesource.Config{Name: "sim"}, 300*time.Millisecond, 50_000, seed)
		w.jitter = 20
		took := w.runUntil(timesource.Locked, 120)
		w.trueErrors, w.actions = nil, nil
		w.run(120)
		st := w.src.Status()
		changes := 0
		for _, a := range w.actions {
			if a.QualityChanged {
				changes++
			}
		}
		assert.LessOrEqual(t, changes, 3, "the announced quality settles")
		rms := rmsOf(w.trueErrors)
		t.Logf("seed %d: locked after %d s (LockTime %v), true error %.1f ns RMS, %.0f max, %d steps",
			seed, took, st.LockTime, rms, maxAbs(w.trueErrors), st.Steps)
		assert.Less(t, rms, 50.0, "true error RMS after lock")
		assert.Equal(t, timesource.Locked, w.src.State(), "stays locked")
		assert.LessOrEqual(t, w.stepsSeen, 2, "a step at qualification, and perhaps the servo's first")
		assert.NotZero(t, st.LockTime)
		q := w.src.Quality()
		assert.Equal(t, timesource.ClassLocked, q.ClockQuality.ClockClass)
		assert.LessOrEqual(t, q.ClockQuality.ClockAccuracy, ptp.AccuracyWithin100ns)
		assert.Equal(t, ptp.TimeSourceGNSS, q.TimeSource)
		assert.True(t, q.Flags.Has(ptp.FlagTimeTraceable) && q.Flags.Has(ptp.FlagFrequencyTraceable) && q.Flags.Has(ptp.FlagPTPTimescale))
	}
}

// Nothing is applied, and nothing better than FREERUN is announced,
// before the qualification period has passed.
func TestNothingAppliedBeforeQualification(t *testing.T) {
	w := newWorld(t, timesource.Config{Name: "sim", Qualification: 8 * time.Second}, 300*time.Millisecond, 50_000, 1)
	w.run(7)
	for _, a := range w.actions {
		assert.Zero(t, a.Step)
		assert.False(t, a.Adjust)
	}
	assert.Equal(t, timesource.FreeRun, w.src.State())
	assert.Equal(t, timesource.ClassDefaultFreeRun, w.src.Quality().ClockQuality.ClockClass)
	assert.Equal(t, ptp.TimeSourceInternalOscillator, w.src.Quality().TimeSource)
	assert.True(t, w.src.Status().Qualifying)
}

// The pairing rule holds whether the report comes early or late in the
// second, with jitter around its phase.
func TestPairingEarlyAndLate(t *testing.T) {
	for _, phase := range []time.Duration{30 * time.Millisecond, 500 * time.Millisecond, 960 * time.Millisecond} {
		t.Run(phase.String(), func(t *testing.T) {
			w := newWorld(t, timesource.Config{Name: "sim"}, 300*time.Millisecond, 50_000, 2)
			w.phase, w.phaseJit = phase, 10*time.Millisecond
			w.runUntil(timesource.Locked, 120)
			w.run(30)
			st := w.src.Status()
			assert.Zero(t, st.SecondMismatch)
			assert.Equal(t, timesource.Locked, w.src.State())
			assert.Less(t, maxAbs(w.trueErrors[len(w.trueErrors)-20:]), 1000.0)
		})
	}
}

// lockedWorld is a world locked for 30 s.
func lockedWorld(t *testing.T, cfg timesource.Config) *world {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "sim"
	}
	cfg.Logf = func(_ engine.LogLevel, format string, args ...any) { t.Logf(format, args...) }
	w := newWorld(t, cfg, 300*time.Millisecond, 50_000, 7)
	w.jitter = 20
	w.runUntil(timesource.Locked, 120)
	w.run(30)
	w.trueErrors = nil
	return w
}

// Loss of the pulse: LOCKED → HOLDOVER within 2 s, → FREERUN after the
// holdover time, and back to LOCKED only after qualification.
func TestHoldoverAndRequalification(t *testing.T) {
	for _, tc := range []struct {
		profile     timesource.Profile
		freeRun     uint8
		holdover    time.Duration
		lostAt, ret int64
	}{
		{timesource.ProfileDefault, 248, 10 * time.Second, 0, 0},
		{timesource.ProfileG8275, 140, 10 * time.Second, 0, 0},
		{timesource.ProfileDefault, 248, 0, 0, 0},
	} {
		w := lockedWorld(t, timesource.Config{Profile: tc.profile, Holdover: tc.holdover})
		lost := w.sec
		w.pulses = func(sec int64) bool { return sec < lost || sec >= lost+20 }
		// Find when each state was entered, to the second.
		var holdAt, freeAt int64 = -1, -1
		for w.sec < lost+20 {
			w.run(1)
			st := w.src.State()
			if st == timesource.Holdover && holdAt < 0 {
				holdAt = w.sec - 1 - lost
			}
			if st == timesource.FreeRun && freeAt < 0 {
				freeAt = w.sec - 1 - lost
				assert.Equal(t, tc.freeRun, w.src.Quality().ClockQuality.ClockClass)
			}
			if st == timesource.Holdover {
				assert.Equal(t, timesource.ClassHoldover, w.src.Quality().ClockQuality.ClockClass)
			}
		}
		if tc.holdover > 0 {
			assert.True(t, holdAt >= 0 && holdAt <= 1, "holdover within 2 s of the last pulse, not %d s", holdAt)
			assert.InDelta(t, float64(holdAt+int64(tc.holdover/time.Second)), float64(freeAt), 1, "freerun after the holdover")
		} else {
			assert.Equal(t, int64(-1), holdAt, "no holdover configured")
			assert.True(t, freeAt >= 0 && freeAt <= 1, "freerun within 2 s of the last pulse, not %d s", freeAt)
		}
		// Holdover keeps the frequency: 19 s without pulses stay within a
		// microsecond.
		assert.Less(t, maxAbs(w.trueErrors), 1000.0)
		back := w.runUntil(timesource.Locked, 60)
		assert.GreaterOrEqual(t, back, 10, "locks again only after the qualification period")
		assert.Equal(t, timesource.ClassLocked, w.src.Quality().ClockQuality.ClockClass)
		assert.Equal(t, uint64(1), w.src.Status().Losses)
	}
}

// Each bad input is counted and never applied: the served clock never
// moves by a millisecond, and the counter for that input shows it.
func TestBadInputsNeverApplied(t *testing.T) {
	for _, tc := range []struct {
		name    string
		setup   func(w *world, from int64)
		counter func(timesource.Counters) uint64
		// state is the state at the end; lost says the source was lost
		// (and qualified again if state is Locked).
		state timesource.State
		lost  bool
	}{
		{"no fix", func(w *world, from int64) {
			w.report = func(sec int64) *reportChange {
				if sec >= from && sec < from+5 {
					return &reportChange{invalid: true}
				}
				return nil
			}
		}, func(c timesource.Counters) uint64 { return c.NoFix }, timesource.Locked, true},
		{"second disagrees with the pulse count", func(w *world, from int64) {
			w.report = func(sec int64) *reportChange {
				if sec == from || sec == from+3 {
					return &reportChange{shift: 1}
				}
				return nil
			}
		}, func(c timesource.Counters) uint64 { return c.SecondMismatch }, timesource.Locked, false},
		{"time jump that persists", func(w *world, from int64) {
			w.report = func(sec int64) *reportChange {
				if sec >= from {
					return &reportChange{shift: 3600}
				}
				return nil
			}
		}, func(c timesource.Counters) uint64 { return c.TimeJumps }, timesource.Holdover, true},
		{"pulse too far from the edge", func(w *world, from int64) {
			w.extra = func(sec int64) []int64 {
				if sec == from || sec == from+4 {
					return []int64{25_000} // 25 µs after the true edge
				}
				return nil
			}
		}, func(c timesource.Counters) uint64 { return c.PulsesOutOfWindow }, timesource.Locked, false},
		{"pulse at the wrong phase", func(w *world, from int64) {
			w.extra = func(sec int64) []int64 {
				if sec >= from && sec < from+2 {
					return []int64{500_000_000}
				}
				return nil
			}
		}, func(c timesource.Counters) uint64 { return c.PulsesWrongPhase }, timesource.Locked, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := lockedWorld(t, timesource.Config{Holdover: 60 * time.Second})
			before := tc.counter(w.src.Status().Counters)
			steps := w.stepsSeen
			tc.setup(w, w.sec+2)
			w.run(40)
			c := w.src.Status().Counters
			assert.Greater(t, tc.counter(c), before, "counted")
			assert.Less(t, maxAbs(w.trueErrors), float64(time.Millisecond), "the served time never moves by 1 ms")
			assert.Less(t, maxAbs(w.trueErrors), 2000.0, "nor by 2 µs")
			assert.Equal(t, steps, w.stepsSeen, "never stepped")
			assert.Equal(t, tc.state, w.src.State())
			assert.Equal(t, tc.lost, c.Losses > 0, "losses")
		})
	}
}

// A leap second: the receiver says 23:59:60; the clock, on TAI, runs
// straight through it, the offset becomes 38 and leap61 is announced
// beforehand.
func TestLeapSecond(t *testing.T) {
	midnight := time.Unix(worldStart/1e9, 0).UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	tbl := &fakeLeap{at: midnight}
	// Start 150 s (TAI) before the leap: locked well before it.
	start := (midnight.Unix() + 37 - 150) * 1e9
	w := newWorldAt(t, start, timesource.Config{Name: "sim", Leap: tbl, UTCOffsetValid: true}, 300*time.Millisecond, 50_000, 3)
	w.jitter = 20
	w.leapAt = midnight.Unix() // the Unix number the sim gives 23:59:60
	w.runUntil(timesource.Locked, 120)
	assert.True(t, w.src.Quality().Flags.Has(ptp.FlagLeap61), "leap61 announced before the leap")
	assert.Equal(t, int16(37), w.src.Quality().UTCOffset)
	w.trueErrors = nil
	w.run(200)
	st := w.src.Status()
	assert.Equal(t, timesource.Locked, w.src.State())
	assert.Less(t, maxAbs(w.trueErrors), 1000.0, "the TAI clock runs straight through the leap")
	assert.Zero(t, st.SecondMismatch, "23:59:60 names the second between 23:59:59 and 00:00:00")
	assert.Zero(t, st.TimeJumps)
	assert.Equal(t, int16(38), w.src.Quality().UTCOffset)
	assert.False(t, w.src.Quality().Flags.Has(ptp.FlagLeap61), "leap61 cleared after the leap")
	assert.True(t, w.src.Quality().Flags.Has(ptp.FlagCurrentUTCOffsetValid))
}

type fakeLeap struct{ at time.Time }

func (f *fakeLeap) Offset(utc time.Time) int {
	if utc.Before(f.at) {
		return 37
	}
	return 38
}

func (f *fakeLeap) Pending(utc time.Time) int {
	if utc.Before(f.at) && f.at.Sub(utc) <= 12*time.Hour {
		return 1
	}
	return 0
}

// The generic source labels pulses from the system clock's seconds.
func TestGenericSource(t *testing.T) {
	w := newWorld(t, timesource.Config{Name: "sim", Generic: true}, 300*time.Millisecond, 50_000, 4)
	w.report = func(int64) *reportChange { return &reportChange{skip: true} }
	w.jitter = 20
	w.runUntil(timesource.Locked, 120)
	w.trueErrors = nil
	w.run(30)
	assert.Less(t, rmsOf(w.trueErrors), 50.0)
}

func TestAccuracyFor(t *testing.T) {
	for _, tc := range []struct {
		e    float64
		want ptp.ClockAccuracy
	}{
		{0.5, ptp.AccuracyWithin1ns}, {2.4, ptp.AccuracyWithin2_5ns}, {20, ptp.AccuracyWithin25ns},
		{25, ptp.AccuracyWithin25ns}, {26, ptp.AccuracyWithin100ns}, {900, ptp.AccuracyWithin1us},
		{2e9, ptp.AccuracyWithin10s}, {2e10, ptp.AccuracyBeyond10s}, {-1, ptp.AccuracyUnknown},
	} {
		assert.Equal(t, tc.want, timesource.AccuracyFor(tc.e), "%v ns", tc.e)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	_, err := timesource.New(timesource.Config{})
	require.Error(t, err)
}

// ts2phc.extts_correction takes out the cable's delay, and with both
// edges timestamped (ts2phc.extts_polarity both) the falling edge, a
// pulse width after the rising one, is skipped.
func TestCorrectionAndBothEdges(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   timesource.Config
		cable time.Duration
		width time.Duration
	}{
		{"cable delay corrected", timesource.Config{Correction: -850 * time.Nanosecond}, 850 * time.Nanosecond, 0},
		{"both edges", timesource.Config{BothEdges: true, PulseWidth: 100 * time.Millisecond}, 0, 100 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Name = "sim"
			w := newWorld(t, tc.cfg, 300*time.Millisecond, 50_000, 6)
			w.jitter, w.cable, w.width = 20, tc.cable, tc.width
			w.runUntil(timesource.Locked, 120)
			w.trueErrors = nil
			w.run(60)
			st := w.src.Status()
			assert.Less(t, rmsOf(w.trueErrors), 50.0, "true error RMS")
			assert.Zero(t, st.PulsesWrongPhase+st.PulsesOutOfWindow)
			if tc.width > 0 {
				assert.Greater(t, st.FallingEdges, uint64(60), "falling edges skipped")
			}
		})
	}
	// Without the correction the clock sits a cable delay behind GPS time.
	w := newWorld(t, timesource.Config{Name: "sim"}, 300*time.Millisecond, 50_000, 6)
	w.jitter, w.cable = 20, 850*time.Nanosecond
	w.runUntil(timesource.Locked, 120)
	w.trueErrors = nil
	w.run(30)
	var mean float64
	for _, e := range w.trueErrors {
		mean += e / float64(len(w.trueErrors))
	}
	assert.InDelta(t, -850, mean, 60)
}

// A clock already on time and frequency: the servo's learning samples
// (s0), with offsets inside the window, must not count towards the lock
// (they once did, and the lock then read offsets it did not have).
func TestClockAlreadyRight(t *testing.T) {
	for _, servoKind := range []string{"pi", "linreg"} {
		t.Run(servoKind, func(t *testing.T) {
			sc := servo.DefaultConfig()
			sc.MaxFrequency = 62_499_999
			sv, err := servo.New(servo.Kind(servoKind), sc, 0)
			require.NoError(t, err)
			w := newWorld(t, timesource.Config{Name: "sim", Servo: sv}, 0, 0, 8)
			w.jitter = 20
			w.runUntil(timesource.Locked, 60)
			w.trueErrors = nil
			w.run(30)
			assert.Less(t, rmsOf(w.trueErrors), 50.0)
			assert.Zero(t, w.stepsSeen, "nothing to step")
		})
	}
}

// A clock that keeps UTC (the virtual clock, CLOCK_REALTIME) is stepped
// back a second at a leap second, as the kernel steps CLOCK_REALTIME, and
// stays locked and within a microsecond of UTC either side of it.
func TestLeapSecondUTCClock(t *testing.T) {
	midnight := time.Unix(worldStart/1e9, 0).UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	start := (midnight.Unix() + 37 - 150) * 1e9
	w := newWorldAt(t, start, timesource.Config{Name: "sim", Leap: &fakeLeap{at: midnight}, UTCOffsetValid: true, UTCClock: true},
		-37*time.Second+300*time.Millisecond, 50_000, 3)
	w.jitter, w.utcClock, w.leapAt = 20, true, midnight.Unix()
	w.runUntil(timesource.Locked, 120)
	w.trueErrors = nil
	steps := w.stepsSeen
	w.run(200)
	st := w.src.Status()
	assert.Equal(t, timesource.Locked, w.src.State())
	assert.Equal(t, steps+1, w.stepsSeen, "one step: the leap second")
	assert.Equal(t, int16(38), w.src.Quality().UTCOffset)
	var worst float64
	for i, e := range w.trueErrors {
		if i < 2 || math.Abs(e) < 0.5e9 {
			worst = math.Max(worst, math.Abs(e))
		}
	}
	assert.Less(t, worst, 1000.0, "within a microsecond of UTC except in the leap second itself")
	assert.Less(t, math.Abs(w.trueErrors[len(w.trueErrors)-1]), 1000.0, "on UTC after it")
	assert.Zero(t, st.Losses)
}

// Between qualification and lock the servo is converging; a glitch then
// (an edge at 0.4 s) is counted and not applied, as it would be once
// locked.
func TestGlitchWhileConverging(t *testing.T) {
	w := newWorld(t, timesource.Config{Name: "sim", Qualification: 5 * time.Second}, 300*time.Millisecond, 50_000, 2)
	w.jitter = 20
	glitchAt := w.sec + 9 // qualification done (5 s and a report), not yet locked
	w.extra = func(sec int64) []int64 {
		if sec == glitchAt {
			return []int64{400_000_000}
		}
		return nil
	}
	w.run(10)
	require.NotEqual(t, timesource.Locked, w.src.State())
	w.trueErrors = nil
	w.run(5)
	assert.Less(t, maxAbs(w.trueErrors), 200_000.0, "no tens of milliseconds from a glitch")
	assert.Equal(t, uint64(1), w.src.Status().PulsesWrongPhase)
	w.runUntil(timesource.Locked, 60)
}

// Reports that stop (or never pair) after qualification keep the source
// from locking: Locked needs a recent time of day that agreed.
func TestNoLockWithoutTimeOfDay(t *testing.T) {
	w := newWorld(t, timesource.Config{Name: "sim", Qualification: 3 * time.Second}, 300*time.Millisecond, 50_000, 2)
	w.jitter = 20
	stop := w.sec + 5
	w.report = func(sec int64) *reportChange {
		if sec >= stop {
			return &reportChange{skip: true}
		}
		return nil
	}
	w.run(60)
	assert.NotEqual(t, timesource.Locked, w.src.State())
	assert.Zero(t, w.src.Status().Locks)
	assert.NotEqual(t, timesource.ClassLocked, w.src.Quality().ClockQuality.ClockClass)
}

// A current leap table is believed over a receiver's UTC offset (a
// firmware default before the almanac is read); without one the
// receiver's is used.
func TestReceiverOffsetAgainstTable(t *testing.T) {
	tbl := &fakeLeap{at: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)}
	for _, tc := range []struct {
		valid bool
		want  int16
	}{{true, 37}, {false, 36}} {
		src, err := timesource.New(timesource.Config{Servo: newPI(t), Leap: tbl, UTCOffsetValid: tc.valid, UTCOffset: 37})
		require.NoError(t, err)
		src.Pulse(timesource.Pulse{Edge: 1_790_000_000e9, Host: 1e9, System: 1_790_000_000e9})
		src.TimeOfDay(timesource.TimeOfDay{UTC: time.Unix(1_790_000_000-37, 0), Valid: true, Received: 1.2e9, UTCOffset: 36, UTCOffsetKnown: true})
		src.Tick(1.3e9)
		assert.Equal(t, tc.want, src.Quality().UTCOffset, "table valid %v", tc.valid)
	}
}

// A time of day before this build's earliest (a receiver after a GPS
// week-number rollover names a day 19.6 years back) is refused and never
// qualifies, however consistent.
func TestImplausibleTimeRefused(t *testing.T) {
	w := newWorld(t, timesource.Config{Name: "sim", Qualification: 3 * time.Second}, 300*time.Millisecond, 50_000, 2)
	w.report = func(int64) *reportChange { return &reportChange{shift: -1024 * 7 * 86400} }
	w.run(30)
	assert.Equal(t, timesource.FreeRun, w.src.State())
	assert.Zero(t, w.stepsSeen)
	assert.Greater(t, w.src.Status().TimeJumps, uint64(20))
}

func newPI(t *testing.T) servo.Servo {
	t.Helper()
	sc := servo.DefaultConfig()
	sc.MaxFrequency = 62_499_999
	sv, err := servo.New(servo.KindPI, sc, 0)
	require.NoError(t, err)
	return sv
}
