package engine

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/servo"
)

// TestWindowedDelayFilter: the estimate averages the window, keeps
// spikes out, and follows a change of path after delay_change_count
// outliers in a row.
func TestWindowedDelayFilter(t *testing.T) {
	f, err := NewWindowedDelayFilter(1024, 3)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(1, 2))
	raw := func(base float64) int64 { return int64(math.Round(base + 5*rng.NormFloat64())) }
	var est int64
	for range 1000 {
		est = f.Sample(raw(10_000))
	}
	assert.InDelta(t, 10_000, est, 1, "a mean of 1000 delays with 5 ns noise")

	// Spikes, alone or two in a row, stay out.
	for _, spike := range []int64{35_000, 35_000, 10_000, 60_000, 9_990} {
		got := f.Sample(spike)
		assert.InDelta(t, 10_000, got, 1)
	}
	assert.EqualValues(t, 3, f.Outliers)
	assert.Zero(t, f.Changes)

	// A reroute: 1 µs longer. Two exchanges keep the old estimate, the
	// third restarts the window on the new path.
	assert.InDelta(t, 10_000, f.Sample(raw(11_000)), 1)
	assert.InDelta(t, 10_000, f.Sample(raw(11_000)), 1)
	assert.InDelta(t, 11_000, f.Sample(raw(11_000)), 10)
	assert.EqualValues(t, 1, f.Changes)
	for range 100 {
		est = f.Sample(raw(11_000))
	}
	assert.InDelta(t, 11_000, est, 2)

	// Paired: a pair within the bound is used as it is; one beyond it
	// gets the estimate.
	assert.EqualValues(t, 11_004, f.Paired(11_004))
	assert.Equal(t, est, f.Paired(13_000))

	f.Reset()
	assert.EqualValues(t, 7, f.Sample(7))
	assert.EqualValues(t, 7, f.Paired(9), "too few delays to judge a pair: the estimate")

	_, err = NewWindowedDelayFilter(0, 3)
	assert.Error(t, err)
	_, err = NewWindowedDelayFilter(8, 0)
	assert.Error(t, err)
}

// TestNewPathDelayFilter: a DelayWindow chooses roko-ptpd's estimate;
// none, linuxptp's filter.
func TestNewPathDelayFilter(t *testing.T) {
	cfg := DefaultPortConfig("eth0")
	f, err := NewPathDelayFilter(cfg)
	require.NoError(t, err)
	assert.IsType(t, &movingMedian{}, f)
	cfg.DelayWindow, cfg.DelayChangeCount = 64, 3
	f, err = NewPathDelayFilter(cfg)
	require.NoError(t, err)
	assert.IsType(t, &WindowedDelayFilter{}, f)
}

// TestMeetNewMaster: a new master's first offset within
// first_step_threshold leaves the servo's frequency and resets only the
// spike filter, which then takes the new offsets; beyond it the servo
// starts over.
func TestMeetNewMaster(t *testing.T) {
	newLocked := func() *servo.Filter {
		s, err := servo.NewPI(servo.DefaultConfig(), 0)
		require.NoError(t, err)
		f := servo.NewFilter(s, servo.DefaultFilterConfig())
		f.SetSyncInterval(1)
		var st servo.State
		for i := range 40 {
			_, st = f.Sample(int64(3-i%7), int64(i+1)*1e9)
		}
		require.Equal(t, servo.Locked, st)
		return f
	}
	f := newLocked()
	MeetNewMaster(f, 20_000, 500)
	_, st := f.Sample(500, 41e9)
	assert.Equal(t, servo.Locked, st, "kept: locked at once")
	assert.Zero(t, f.Dropped, "the new master's offset is no spike")

	f = newLocked()
	MeetNewMaster(f, 20_000, 50_000)
	_, st = f.Sample(50_000, 41e9)
	assert.Equal(t, servo.Unlocked, st, "reset: PI starts over, its first sample only learns")
}

// meetRecorder records what MeetNewMaster asks of a servo.
type meetRecorder struct {
	servo.Servo
	calls []string
}

func (m *meetRecorder) Reset()       { m.calls = append(m.calls, "Reset") }
func (m *meetRecorder) Rebase()      { m.calls = append(m.calls, "Rebase") }
func (m *meetRecorder) ResetFilter() { m.calls = append(m.calls, "ResetFilter") }

// TestMeetNewMasterRebases: within first_step_threshold the servo is told
// of the new reference (linreg then meets its time as a time error, not a
// step in its history) and its spike filter reset; beyond it, only reset.
func TestMeetNewMasterRebases(t *testing.T) {
	for _, tc := range []struct {
		name   string
		offset int64
		want   []string
	}{
		{"kept", 500, []string{"Rebase", "ResetFilter"}},
		{"kept, behind", -19_999, []string{"Rebase", "ResetFilter"}},
		{"beyond first_step_threshold", 20_001, []string{"Reset"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &meetRecorder{}
			MeetNewMaster(m, 20_000, tc.offset)
			assert.Equal(t, tc.want, m.calls)
		})
	}
}
