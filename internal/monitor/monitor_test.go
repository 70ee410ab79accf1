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
