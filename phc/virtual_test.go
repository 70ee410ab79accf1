package phc

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// rawPair reads the virtual clock between two raw reads and returns the
// raw midpoint, the clock's value and the window's width, keeping the
// narrowest of a few tries so that scheduling noise does not enter a slope.
// The raw instant the clock was read at lies within width/2 of raw.
func rawPair(v *Virtual) (raw, val, width int64) {
	width = int64(math.MaxInt64)
	for range 50 {
		a := readRaw()
		x := v.NowNs()
		b := readRaw()
		if b-a < width {
			width, raw, val = b-a, a+(b-a)/2, x
		}
	}
	return raw, val, width
}

// slopePPB measures the virtual clock's rate against CLOCK_MONOTONIC_RAW
// over d, in ppb, and the measurement's own uncertainty in ppb: each end's
// raw instant is known only to half its read window, which on a loaded
// machine (CI runs this under -race beside other packages) is a few hundred
// nanoseconds.
func slopePPB(t *testing.T, v *Virtual, d time.Duration) (slope, uncertainty float64) {
	r1, v1, w1 := rawPair(v)
	time.Sleep(d)
	r2, v2, w2 := rawPair(v)
	// A window of more than 20 µs means the reads were descheduled; the
	// bound would still hold but would no longer test anything.
	require.Less(t, max(w1, w2), int64(20_000), "read windows %d ns and %d ns", w1, w2)
	span := float64(r2 - r1)
	return (float64(v2-v1)/span - 1) * 1e9, float64(w1+w2) / 2 / span * 1e9
}

func TestVirtualOffset(t *testing.T) {
	for _, off := range []time.Duration{0, 5 * time.Millisecond, -37 * time.Second, 10 * time.Hour} {
		v, err := NewVirtual(VirtualConfig{Offset: off})
		require.NoError(t, err)
		e, err := v.TrueError()
		require.NoError(t, err)
		assert.InDelta(t, float64(off), float64(e), 1000, "offset %v: true error %v", off, e)
	}
}

// TestVirtualFrequency: a frequency request shows up as the clock's slope
// against CLOCK_MONOTONIC_RAW, within the measurement's uncertainty (plus
// 2 ppb for nanosecond rounding) over 0.7 s, and the simulated oscillator
// error adds to it.
func TestVirtualFrequency(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err, adj float64
	}{
		{"steered +50 ppm", 0, 50_000},
		{"oscillator +20 ppm cancelled", 20_000, -20_000},
		{"oscillator -3 ppm, steered -100 ppm", -3_000, -100_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := NewVirtual(VirtualConfig{FrequencyError: tc.err})
			require.NoError(t, err)
			require.NoError(t, v.AdjustFrequency(tc.adj))
			f, err := v.Frequency()
			require.NoError(t, err)
			assert.Equal(t, tc.adj, f)
			got, unc := slopePPB(t, v, 700*time.Millisecond)
			// The clock runs at (1+err+adj).
			want := tc.err + tc.adj
			assert.InDelta(t, want, got, unc+2, "slope in ppb (measurement uncertainty %.1f ppb)", unc)
		})
	}
}

// TestVirtualRate checks the clock's definition without a live clock: the
// value at two raw instants an hour apart differs by the hour times
// (1+err+adj), to a nanosecond.
func TestVirtualRate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err, adj float64
	}{
		{"free", 0, 0},
		{"steered +50 ppm", 0, 50_000},
		{"oscillator -3 ppm, steered -100 ppm", -3_000, -100_000},
		{"sub-ppb", 0.25, 0.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := NewVirtual(VirtualConfig{FrequencyError: tc.err})
			require.NoError(t, err)
			require.NoError(t, v.AdjustFrequency(tc.adj))
			v.mu.Lock()
			r0 := v.r0
			a := v.atNs(r0)
			b := v.atNs(r0 + int64(time.Hour))
			v.mu.Unlock()
			want := float64(time.Hour) * (1 + (tc.err+tc.adj)/1e9)
			assert.InDelta(t, want, float64(b-a), 1, "ns elapsed on the clock in one raw hour")
		})
	}
}

func TestVirtualContinuousAcrossAdjustments(t *testing.T) {
	v, err := NewVirtual(VirtualConfig{})
	require.NoError(t, err)
	before := v.NowNs()
	require.NoError(t, v.AdjustFrequency(1_000_000))
	after := v.NowNs()
	assert.GreaterOrEqual(t, after, before, "re-anchoring never moves the clock back")
	assert.Less(t, after-before, int64(time.Millisecond))
}

func TestVirtualStep(t *testing.T) {
	v, err := NewVirtual(VirtualConfig{Offset: time.Second})
	require.NoError(t, err)
	require.NoError(t, v.Step(-1500*time.Millisecond))
	e, err := v.TrueError()
	require.NoError(t, err)
	assert.InDelta(t, float64(-500*time.Millisecond), float64(e), 1000)
}

// TestVirtualFromRealtime: kernel software timestamps (CLOCK_REALTIME)
// convert to the clock's own timebase with an error far below a
// microsecond, also for a timestamp taken a while ago on a clock with a
// large frequency error.
func TestVirtualFromRealtime(t *testing.T) {
	v, err := NewVirtual(VirtualConfig{Offset: 123 * time.Millisecond, FrequencyError: 80_000})
	require.NoError(t, err)
	var worst int64
	for i := range 50 {
		// The clock's value and CLOCK_REALTIME at one instant.
		var rt unix.Timespec
		a := v.NowNs()
		require.NoError(t, unix.ClockGettime(unix.CLOCK_REALTIME, &rt))
		b := v.NowNs()
		if i%10 == 0 {
			time.Sleep(20 * time.Millisecond) // convert an old timestamp
		}
		got, err := v.FromRealtime(rt.Nano())
		require.NoError(t, err)
		mid := a + (b-a)/2
		e := got - mid
		if e < 0 {
			e = -e
		}
		worst = max(worst, e-(b-a)/2)
	}
	assert.Less(t, worst, int64(500), "conversion error beyond the read window, ns")
}

func TestVirtualLimits(t *testing.T) {
	v, err := NewVirtual(VirtualConfig{Name: "vclock0", MaxFrequency: 1000})
	require.NoError(t, err)
	err = v.AdjustFrequency(1001)
	require.ErrorIs(t, err, ErrFrequencyRange)
	assert.Contains(t, err.Error(), "vclock0")
	assert.NoError(t, v.AdjustFrequency(-1000))
	_, err = NewVirtual(VirtualConfig{FrequencyError: 2e8})
	assert.Error(t, err)
	assert.Equal(t, "vclock0", v.Name())
	assert.Equal(t, 1000.0, v.MaxFrequency())
}

func TestReadsAllocateNothing(t *testing.T) {
	v, err := NewVirtual(VirtualConfig{})
	require.NoError(t, err)
	s, err := NewSystem()
	require.NoError(t, err)
	assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = v.Now() }))
	assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = s.Now() }))
}

func BenchmarkNow(b *testing.B) {
	v, err := NewVirtual(VirtualConfig{})
	require.NoError(b, err)
	s, err := NewSystem()
	require.NoError(b, err)
	for _, c := range []Clock{v, s} {
		b.Run(c.Name(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Now(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestKeepsUTC: CLOCK_REALTIME and the virtual clock keep UTC; a PHC does
// not.
func TestKeepsUTC(t *testing.T) {
	v, err := NewVirtual(VirtualConfig{Name: "v"})
	require.NoError(t, err)
	assert.True(t, KeepsUTC(&System{}))
	assert.True(t, KeepsUTC(v))
	assert.False(t, KeepsUTC((*Device)(nil)))
}
