package sim

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/servo"
)

// recorder is a servo that sets a fixed frequency and records what it is
// given.
type recorder struct {
	ppb     float64
	state   servo.State
	offsets []int64
	resets  int
}

func (r *recorder) Sample(offset, _ int64) (float64, servo.State) {
	r.offsets = append(r.offsets, offset)
	return r.ppb, r.state
}
func (r *recorder) SetSyncInterval(float64) {}
func (r *recorder) Reset()                  { r.resets++ }

// quiet is a noiseless scenario: a perfect clock, no noise, a fixed path,
// 16 Hz Sync and Delay_Req, ten seconds.
func quiet() Scenario {
	return Scenario{
		Name:             "quiet",
		SyncRate:         16,
		DelayReqInterval: time.Second / 16,
		Network:          Network{Delay: 10 * time.Microsecond},
		Duration:         10 * time.Second,
	}
}

// TestMasterSwitch: from the switch on, offsets and true errors are
// measured against the new grandmaster, 500 ns ahead; the path delay is
// measured afresh, so the first Sync after the switch is not measured; a
// daemon's MeetNewMaster sees the first offset from the new master, ptp4l
// leaves its servo alone.
func TestMasterSwitch(t *testing.T) {
	var met []int64
	reset := Daemon{MeetNewMaster: func(s servo.Servo, offset int64) { met = append(met, offset); s.Reset() }}
	for _, tc := range []struct {
		daemon Daemon
		resets int
	}{{reset, 1}, {PTP4L, 0}} {
		sc := quiet()
		sc.MasterSwitchAt, sc.MasterSwitchOffset = 2*time.Second, 500*time.Nanosecond
		r := &recorder{state: servo.Locked}
		res, err := RunDaemon(sc, tc.daemon, r)
		require.NoError(t, err)
		assert.Equal(t, tc.resets, r.resets)
		// the first Sync of each master waits for its path delay
		require.Len(t, r.offsets, 158)
		assert.Equal(t, int64(0), r.offsets[30])
		assert.Equal(t, int64(-500), r.offsets[31])
		assert.Equal(t, int64(-500), r.offsets[157])
		assert.Equal(t, 0.0, res.Errors[31])
		assert.Equal(t, -500.0, res.Errors[32])
		// Nothing corrects it: the error never comes back.
		assert.Equal(t, 8*time.Second, res.Recovery)
		assert.Equal(t, 500.0, res.EventMax)
	}
	assert.Equal(t, []int64{-500}, met)
}

// TestDelayStep: a 1 µs longer path both ways leaves the clock alone but
// shows in the offsets until the moving median of 10 has more new delays
// than old ones.
func TestDelayStep(t *testing.T) {
	sc := quiet()
	sc.Network.DelayStep, sc.Network.DelayStepAt = time.Microsecond, 2*time.Second
	r := &recorder{state: servo.Locked}
	res, err := RunDaemon(sc, PTP4L, r)
	require.NoError(t, err)
	// The Sync at 2 s is the first on the longer path; its Delay_Req
	// the first to measure it.
	assert.Equal(t, []int64{0, 1000, 1000, 1000, 1000, 1000, 500, 0, 0}, r.offsets[30:39])
	assert.Equal(t, time.Duration(0), res.Recovery, "the clock itself never left")
	assert.Zero(t, res.EventMax)
	// without a disturbance there is nothing to recover from
	res, err = Run(quiet(), &recorder{state: servo.Locked})
	require.NoError(t, err)
	assert.Equal(t, time.Duration(-1), res.Recovery)
}

// TestResolution: the clock holds the frequency set truncated toward zero
// to its register's step.
func TestResolution(t *testing.T) {
	for _, tc := range []struct{ set, want float64 }{{17, 10}, {-17, -10}, {9.99, 0}, {30, 30}} {
		sc := quiet()
		sc.Oscillator.Resolution = 10
		res, err := Run(sc, &recorder{ppb: tc.set, state: servo.Locked})
		require.NoError(t, err)
		assert.InDelta(t, tc.want, res.FinalFrequencyError, 1e-9, "set %v", tc.set)
	}
}

// TestTemperature: left alone, the clock's frequency follows the sine and
// its time error the sine's integral.
func TestTemperature(t *testing.T) {
	sc := quiet()
	sc.Duration = 5 * time.Minute
	sc.Oscillator.TemperatureSwing, sc.Oscillator.TemperaturePeriod = 10, 20*time.Minute
	res, err := Run(sc, &recorder{state: servo.Unlocked})
	require.NoError(t, err)
	omega := 2 * math.Pi / float64(20*time.Minute)
	last := len(res.Errors) - 1
	tLast := res.Times[last] * 1e9
	assert.InDelta(t, 10/omega*(1-math.Cos(omega*tLast))/1e9, res.Errors[last], 1, "phase: the frequency's integral")
	assert.InDelta(t, 10, res.FinalFrequencyError, 0.01, "a quarter period: the swing's top")

	sc.Oscillator.TemperaturePeriod = 0
	_, err = Run(sc, &recorder{})
	assert.ErrorContains(t, err, "TemperaturePeriod")
}

// TestSyncQueue: queueing on the way to the client only makes the path
// asymmetric: the offsets come out late on average, by more than the half
// that meanPathDelay takes up.
func TestSyncQueue(t *testing.T) {
	sc := quiet()
	sc.Duration = time.Minute
	sc.Network.SyncQueue = 500 * time.Nanosecond
	r := &recorder{state: servo.Locked}
	_, err := Run(sc, r)
	require.NoError(t, err)
	var sum float64
	for _, o := range r.offsets {
		sum += float64(o)
	}
	mean := sum / float64(len(r.offsets))
	assert.Greater(t, mean, 250.0)
	assert.Less(t, mean, 450.0)
}

// shifted is a pairing delay filter that passes path delays through and
// adds 7 ns to a paired one.
type shifted struct{ paired int }

func (f *shifted) Sample(d int64) int64 { return d }
func (f *shifted) Reset()               {}
func (f *shifted) Paired(p int64) int64 { f.paired++; return p + 7 }

// TestPairAge: a Sync within PairAge of the last Delay_Req is measured
// with the filter's Paired delay, which gets the mean of the Sync's own
// delay and the Delay_Req's; beyond it, with the filtered one.
func TestPairAge(t *testing.T) {
	for _, tc := range []struct {
		age    time.Duration
		offset int64
	}{{100 * time.Millisecond, -7}, {10 * time.Millisecond, 0}, {0, 0}} {
		f := &shifted{}
		r := &recorder{state: servo.Locked}
		_, err := RunDaemon(quiet(), Daemon{DelayFilter: func() DelayFilter { return f }, PairAge: tc.age}, r)
		require.NoError(t, err)
		require.Len(t, r.offsets, 159)
		for _, o := range r.offsets {
			require.Equal(t, tc.offset, o, "pair age %v", tc.age)
		}
	}
}
