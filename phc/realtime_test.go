package phc

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/roko-network/roko-ptpd/internal/testenv"
)

func TestSystemFrequencySplit(t *testing.T) {
	s := &System{hz: 100, nominalTick: 10000, maxFreq: 100_000_000}
	for _, ppb := range []float64{0, 1, -1, 499_999, 500_000, 12_345_678, -87_654_321, 100_000_000} {
		tick, freq := s.splitFrequency(ppb)
		// What stays in the frequency word is within its ±500 ppm.
		assert.LessOrEqual(t, math.Abs(float64(freq)/65.536), 50_001.0, "%v", ppb)
		assert.InDelta(t, ppb, s.joinFrequency(tick, freq), 0.02, "%v: tick %d freq %d", ppb, tick, freq)
	}
	tick, freq := s.splitFrequency(0)
	assert.Equal(t, int64(10000), tick)
	assert.Zero(t, freq)

	// A frequency read back, printed as roko-ptpctl prints it (%f) and
	// set again gives the kernel the same words: what
	// scripts/with-realtime-freq.sh relies on to restore the clock.
	for _, word := range []int64{0, 1, -1, 2, 655, -655, 655_360, -655_360, 1_234_567, -3_276_799} {
		ppb, err := strconv.ParseFloat(fmt.Sprintf("%f", s.joinFrequency(10000, word)), 64)
		require.NoError(t, err)
		tick, freq := s.splitFrequency(ppb)
		assert.Equal(t, int64(10000), tick, "word %d", word)
		assert.Equal(t, word, freq, "word %d (%f ppb)", word, ppb)
	}
}

func TestStepTimeval(t *testing.T) {
	for _, tc := range []struct {
		d         time.Duration
		sec, nsec int64
	}{
		{1500 * time.Millisecond, 1, 500_000_000},
		{-1500 * time.Millisecond, -2, 500_000_000},
		{-1, -1, 999_999_999},
		{-2 * time.Second, -2, 0},
		{0, 0, 0},
	} {
		tv := stepTimeval(tc.d)
		assert.Equal(t, tc.sec, tv.Sec, "%v", tc.d)
		assert.Equal(t, tc.nsec, tv.Usec, "%v", tc.d)
	}
}

func TestSystemReadOnly(t *testing.T) {
	s, err := NewSystem()
	require.NoError(t, err)
	assert.Equal(t, "CLOCK_REALTIME", s.Name())
	assert.Equal(t, 100_000_000.0, s.MaxFrequency(), "±10 % with the tick")
	now, err := s.Now()
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), now, time.Second)
	_, err = s.Frequency()
	require.NoError(t, err)
	st, err := s.Status()
	require.NoError(t, err)
	assert.GreaterOrEqual(t, st.TAIOffset, 0)
	err = s.AdjustFrequency(2e8)
	assert.ErrorIs(t, err, ErrFrequencyRange)
}

// realtimeSlope measures CLOCK_REALTIME's rate against CLOCK_MONOTONIC_RAW
// over d, in ppb.
func realtimeSlope(d time.Duration) float64 {
	read := func() (raw, rt int64) {
		best := int64(math.MaxInt64)
		for range 20 {
			var a, b, r unix.Timespec
			_ = unix.ClockGettime(unix.CLOCK_MONOTONIC_RAW, &a)
			_ = unix.ClockGettime(unix.CLOCK_REALTIME, &r)
			_ = unix.ClockGettime(unix.CLOCK_MONOTONIC_RAW, &b)
			if w := b.Nano() - a.Nano(); w < best {
				best, raw, rt = w, a.Nano()+w/2, r.Nano()
			}
		}
		return
	}
	r1, t1 := read()
	time.Sleep(d)
	r2, t2 := read()
	return (float64(t2-t1)/float64(r2-r1) - 1) * 1e9
}

// TestSystemFrequencySteering is the one test allowed to touch this
// machine's CLOCK_REALTIME, and only its frequency: it saves the current
// frequency (also to a file, for a run killed before it restores), adds
// 10 ppm for about a second, checks the slope against CLOCK_MONOTONIC_RAW,
// and restores the saved frequency in a defer that runs on failure too.
// It never steps the clock.
func TestSystemFrequencySteering(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Missing(t, "needs root to adjust CLOCK_REALTIME's frequency")
	}
	s, err := NewSystem()
	require.NoError(t, err)
	saved, err := s.Frequency()
	require.NoError(t, err)
	// Should this process be killed before the deferred restore, the next
	// run puts the value back (TestMain).
	require.NoError(t, os.WriteFile(savedFrequencyFile, []byte(strconv.FormatFloat(saved, 'f', -1, 64)), 0o600))
	defer func() {
		require.NoError(t, s.AdjustFrequency(saved), "restoring CLOCK_REALTIME's frequency")
		back, err := s.Frequency()
		require.NoError(t, err)
		assert.InDelta(t, saved, back, 1, "restored")
		require.NoError(t, os.Remove(savedFrequencyFile))
	}()
	base := realtimeSlope(500 * time.Millisecond)
	require.NoError(t, s.AdjustFrequency(saved+10_000))
	got, err := s.Frequency()
	require.NoError(t, err)
	assert.InDelta(t, saved+10_000, got, 1)
	steered := realtimeSlope(time.Second)
	assert.InDelta(t, 10_000, steered-base, 500, "slope change in ppb (baseline %.0f, steered %.0f)", base, steered)
}

// TestCheckSteerable reads CAP_SYS_TIME from a status file, and says what
// to do when it is missing.
func TestCheckSteerable(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, status, err string
	}{
		{"root", "Name:\tx\nCapEff:\t000001ffffffffff\n", ""},
		{"only CAP_SYS_TIME", "CapEff:\t0000000002000000\n", ""},
		{"unprivileged", "CapInh:\t0000000000000000\nCapEff:\t0000000000000000\n", "needs CAP_SYS_TIME"},
		{"other capabilities", "CapEff:\t0000000001ffffff\n", "needs CAP_SYS_TIME"},
		{"garbage", "CapEff:\tzz\n", `CapEff "zz"`},
		{"no line", "Name:\tx\n", "no CapEff line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name)
			require.NoError(t, os.WriteFile(p, []byte(tc.status), 0o644))
			err := CheckSteerable(p)
			if tc.err == "" {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, tc.err)
			}
		})
	}
	assert.ErrorContains(t, CheckSteerable(filepath.Join(dir, "absent")), "reading capabilities")
}
