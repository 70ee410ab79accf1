package monitor

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/ptp"
)

// fake returns offsets from a list, in ns.
type fake struct {
	offsets []float64
	i       int
	state   ptp.PortState
}

func (f *fake) Current() (ptp.CurrentDataSet, error) {
	if f.i >= len(f.offsets) {
		return ptp.CurrentDataSet{}, errors.New("no more")
	}
	v := f.offsets[f.i]
	f.i++
	return ptp.CurrentDataSet{StepsRemoved: 1, OffsetFromMaster: ptp.TimeInterval(v * 65536), MeanPathDelay: ptp.TimeInterval(612 * 65536)}, nil
}
func (f *fake) Port() (ptp.PortState, string, error) { return f.state, "eth0", nil }

func TestQuality(t *testing.T) {
	for _, tc := range []struct {
		ns   float64
		want string
	}{{0, "EXCELLENT"}, {-99.9, "EXCELLENT"}, {100, "GOOD"}, {499, "GOOD"}, {-500, "ACCEPTABLE"}, {999, "ACCEPTABLE"}, {1000, "POOR"}, {-5e6, "POOR"}} {
		assert.Equal(t, tc.want, Quality(tc.ns), "%v", tc.ns)
	}
}

func TestMonitor(t *testing.T) {
	var out bytes.Buffer
	at := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	require.NoError(t, Monitor(&out, &fake{offsets: []float64{42.25, -731}}, 0, 2, func() time.Time { return at }))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 4)
	assert.Equal(t, "Timestamp            Offset (ns)     Delay (ns)      Quality      Steps", lines[0])
	assert.Equal(t, "12:00:00             42.25           612.00          EXCELLENT    1", lines[2], "nanoseconds as the data set says, not times 1e9")
	assert.Equal(t, "12:00:00             -731.00         612.00          ACCEPTABLE   1", lines[3])
}

func TestAccuracy(t *testing.T) {
	s, err := Accuracy(&fake{offsets: []float64{10, 20, 30, 40}}, 4, 0)
	require.NoError(t, err)
	assert.Equal(t, 4, s.Samples)
	assert.Equal(t, 25.0, s.Mean)
	assert.InDelta(t, 12.91, s.StdDev, 0.01, "sample standard deviation")
	assert.Equal(t, 10.0, s.Min)
	assert.Equal(t, 40.0, s.Max)
	assert.True(t, s.Passed())
	var out bytes.Buffer
	WriteAccuracy(&out, s)
	assert.Contains(t, out.String(), "Std deviation: 12.9 ns")
	assert.Contains(t, out.String(), "PASSED")
	s, _ = Accuracy(&fake{offsets: []float64{-500, 500}}, 2, 0)
	assert.False(t, s.Passed())
	_, err = Accuracy(&fake{}, 1, 0)
	assert.Error(t, err)
}

func TestStatus(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, Status(&out, &fake{offsets: []float64{-10, 30, 42.3}, state: ptp.PortStateSlave}, 3, 0))
	assert.Equal(t, "Time Source: PTP (eth0)\nCurrent Offset: 42.3 ns\nMean Deviation: 27.4 ns\nSync Quality: EXCELLENT\n", out.String())
	out.Reset()
	require.NoError(t, Status(&out, &fake{offsets: []float64{0}, state: ptp.PortStateMaster}, 1, 0))
	assert.Contains(t, out.String(), "not synchronised to a master")
}

// fakeGM is a grandmaster: its currentDS offset is zero and it may have a
// time source to report.
type fakeGM struct {
	fake
	ts  ptp.TimeSourceNP
	err error
}

func (f *fakeGM) TimeSource() (ptp.TimeSourceNP, error) { return f.ts, f.err }

func TestStatusOfTimeSource(t *testing.T) {
	locked := ptp.TimeSourceNP{State: ptp.TimeSourceLocked, Fix: 1, PulseInput: ptp.PulseInputEXTTS,
		TimeInState: int64(12*time.Minute + 3*time.Second + 400*time.Millisecond), Offset: -4, RMS: 18, Frequency: -12345,
		LastUTC: 1795521600, LockTime: int64(41 * time.Second), ClockClass: 6, ClockAccuracy: ptp.AccuracyWithin100ns,
		TimeSource: ptp.TimeSourceGNSS, UTCOffset: 37, Pulses: 724, PulsesApplied: 714, PulsesMissed: 1, Reports: 725,
		NoFix: 5, FallingEdges: 700, Steps: 1, Locks: 1}
	holdover := locked
	holdover.State, holdover.TimeInState, holdover.Fix, holdover.ClockClass = ptp.TimeSourceHoldover, int64(90*time.Second), 0, 7
	holdover.PulsesOutOfWindow, holdover.SecondMismatch, holdover.Losses = 2, 1, 1
	freeRun := ptp.TimeSourceNP{Qualifying: 1, Fix: 1, TimeInState: int64(25 * time.Second), Qualified: int64(8 * time.Second),
		PulseInput: ptp.PulseInputPPS, ClockClass: 248, ClockAccuracy: ptp.AccuracyUnknown, TimeSource: ptp.TimeSourceInternalOscillator}
	for _, tc := range []struct {
		name string
		src  *fakeGM
		want []string
	}{
		{"locked", &fakeGM{ts: locked}, []string{
			"Time Source: GPS (LOCKED 12m3s, pulse RMS 18 ns, fix, 0 rejected)\n" +
				"Source State: pulse EXTTS, offset -4 ns, frequency -12.345 ppb, last report 2026-11-24T12:00:00Z, first lock after 41s; " +
				"724 pulses, 714 applied, 1 missed; 725 reports, 5 without fix; 1 steps, 1 locks, 0 losses\n" +
				"Announcing: clockClass 6, clockAccuracy 0x21, timeSource 0x20, currentUtcOffset 37 on eth0 (port MASTER)\n" +
				"Current Offset: -4.0 ns\nMean Deviation: 18.0 ns (pulse RMS)\nSync Quality: EXCELLENT\n"}},
		{"holdover: rejections counted, not graded", &fakeGM{ts: holdover}, []string{
			"Time Source: GPS (HOLDOVER 1m30s, no fix, 3 rejected)\n",
			"1 losses\n", "Sync Quality: POOR (not locked to the time source)\n"}},
		{"free running while qualifying", &fakeGM{ts: freeRun}, []string{
			"Time Source: Internal oscillator (FREERUN 25s, qualifying 8s, fix, 0 rejected)\n",
			"Source State: pulse PPS, offset 0 ns, frequency 0.000 ppb; ", "clockClass 248, clockAccuracy 0xfe, timeSource 0xa0"}},
		{"no time source: as a slave's status", &fakeGM{err: errors.New("mgmt: GET TIME_SOURCE_NP: NOT_SUPPORTED")}, []string{
			"Time Source: PTP (eth0, port MASTER, not synchronised to a master)\nCurrent Offset: 0.0 ns\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.src.fake = fake{offsets: []float64{0, 0, 0}, state: ptp.PortStateMaster}
			var out bytes.Buffer
			require.NoError(t, Status(&out, tc.src, 3, 0))
			for _, w := range tc.want {
				assert.Contains(t, out.String(), w)
			}
		})
	}
}
