package config

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/timesource"
)

// The operator guide's gm.conf names /dev/pps0 with G.8275.x in its
// section: a kernel PPS input, the system clock's seconds as the time of
// day, G.8275 classes, and the configured GPS quality for when it locks.
func TestResolveTimeSourceSeedGM(t *testing.T) {
	b, err := os.ReadFile("../../testdata/seed/gm.conf")
	require.NoError(t, err)
	c, err := Parse(strings.NewReader(string(b)), "gm.conf")
	require.NoError(t, err)
	c.AddInterface("eth0")
	s, err := c.Resolve()
	require.NoError(t, err)
	require.NotNil(t, s.TimeSource)
	ts := s.TimeSource
	assert.Equal(t, "/dev/pps0", ts.PPSDevice)
	assert.Equal(t, ToDGeneric, ts.ToD)
	assert.True(t, ts.Source.Generic)
	assert.Equal(t, timesource.ProfileG8275, ts.Source.Profile)
	assert.Equal(t, ptp.TimeSourceGNSS, ts.Source.TimeSource)
	assert.EqualValues(t, 0x4e5d, ts.Source.Variance)
	assert.Equal(t, 100*time.Microsecond, ts.Source.PulseWindow, "a kernel PPS gets the wider window")
	assert.Equal(t, 10*time.Second, ts.Source.Qualification)
	assert.False(t, ts.Source.UTCClock, "served on the port's PHC")
}

func TestResolveTimeSource(t *testing.T) {
	s, err := resolve(t, `[global]
pps_input extts
ts2phc.tod_source nmea
ts2phc.nmea_serialport /dev/ttyUSB0
ts2phc.pulsewidth 100000000
time_source_qualification 3
leapfile /usr/share/zoneinfo/leap-seconds.list
[eth0]
ts2phc.pin_index 1
ts2phc.channel 1
ts2phc.extts_polarity both
ts2phc.extts_correction -120
ts2phc.holdover 60
ts2phc.nmea_baudrate 115200
`, "eth0")
	require.NoError(t, err)
	ts := s.TimeSource
	require.NotNil(t, ts)
	assert.Empty(t, ts.PPSDevice)
	assert.Equal(t, uint32(1), ts.PinIndex)
	assert.Equal(t, uint32(1), ts.Channel)
	assert.Equal(t, PolarityBoth, ts.Polarity)
	assert.Equal(t, ToDNMEA, ts.ToD)
	assert.Equal(t, "/dev/ttyUSB0", ts.NMEASerial)
	assert.Equal(t, 115200, ts.NMEABaud)
	assert.Equal(t, "/usr/share/zoneinfo/leap-seconds.list", ts.Leapfile)
	assert.Equal(t, timesource.ProfileDefault, ts.Source.Profile)
	assert.Equal(t, -120*time.Nanosecond, ts.Source.Correction)
	assert.Equal(t, 60*time.Second, ts.Source.Holdover)
	assert.Equal(t, 3*time.Second, ts.Source.Qualification)
	assert.True(t, ts.Source.BothEdges)
	assert.Equal(t, 100*time.Millisecond, ts.Source.PulseWidth)
	assert.Zero(t, ts.Source.PulseWindow, "the timesource default for EXTTS")

	s, err = resolve(t, "[global]\npps_input /dev/pps1\nts2phc.tod_source gpsd\ngpsd_address [::1]:2947\nts2phc.nmea_remote_host gps\nts2phc.nmea_remote_port 5000\n", "eth0")
	require.NoError(t, err)
	assert.Equal(t, ToDGPSD, s.TimeSource.ToD)
	assert.Equal(t, "[::1]:2947", s.TimeSource.GPSDAddress)

	s, err = resolve(t, "[global]\npps_input /dev/pps1\nts2phc.tod_source nmea\nts2phc.nmea_remote_host gps\nts2phc.nmea_remote_port 5000\nvirtual_clock 1\n", "eth0")
	require.NoError(t, err)
	assert.Equal(t, "gps:5000", s.TimeSource.NMEARemote)
	assert.True(t, s.TimeSource.Source.UTCClock, "the virtual clock keeps UTC")

	s, err = resolve(t, "[global]\n", "eth0")
	require.NoError(t, err)
	assert.Nil(t, s.TimeSource, "no PPS input, no time source")
}

func TestResolveTimeSourceErrors(t *testing.T) {
	for _, tc := range []struct{ conf, want string }{
		{"[global]\npps_input eth0\n", "t.conf:2: pps_input eth0: want extts"},
		{"[global]\npps_input extts\ntime_stamping software\n", "pps_input extts needs a PHC"},
		{"[global]\npps_input /dev/pps3\n[/dev/pps0]\n", "name two PPS inputs"},
		{"[global]\n[/dev/pps0]\n[/dev/pps1]\n", "t.conf:3: [/dev/pps1]: roko-ptpd takes one PPS input"},
		{"[global]\npps_input extts\nts2phc.tod_source /dev/ptp1\n", "t.conf:3: ts2phc.tod_source /dev/ptp1: roko-ptpd reads generic, nmea and gpsd"},
		{"[global]\npps_input extts\nts2phc.tod_source nmea\nts2phc.nmea_remote_host gps\n", "go together"},
		{"[global]\npps_input extts\nts2phc.tod_source gpsd\ngpsd_address gpsd\n", "gpsd_address gpsd: want host:port"},
		{"[global]\npps_input extts\nts2phc.tod_source nmea\nts2phc.nmea_remote_port 5000\n", "t.conf:4: ts2phc.nmea_remote_host and ts2phc.nmea_remote_port go together"},
		{"[global]\npps_input extts\nclientOnly 1\n", "t.conf:3: clientOnly 1 with a PPS input"},
		{"[global]\npps_input extts\n[eth0]\nboundary_clock_jbod 1\n[eth1]\n", "t.conf:4: boundary_clock_jbod with a PPS input"},
		{"[global]\n[/dev/pps0]\nts2phc.extts_polarity falling\n", "t.conf:3: ts2phc.extts_polarity falling with /dev/pps0: a kernel PPS source's assert edge is used"},
	} {
		_, err := resolve(t, tc.conf, "eth0")
		require.Error(t, err, tc.conf)
		assert.Contains(t, err.Error(), tc.want)
	}
}

func TestResolveTimeSourceWarnings(t *testing.T) {
	c, err := Parse(strings.NewReader("[global]\npps_input extts\n[eth0]\nts2phc.master 1\n"), "t.conf")
	require.NoError(t, err)
	_, err = c.Resolve()
	require.NoError(t, err)
	var got []string
	for _, w := range c.Warnings {
		got = append(got, w.String())
	}
	assert.Contains(t, strings.Join(got, "\n"), "t.conf:4: option ts2phc.master: accepted and ignored: roko-ptpd's time source reads one pulse per second")

	c, err = Parse(strings.NewReader("[global]\nleapfile /x\n"), "t.conf")
	require.NoError(t, err)
	c.AddInterface("eth0")
	_, err = c.Resolve()
	require.NoError(t, err)
	require.Len(t, c.Warnings, 1)
	assert.Contains(t, c.Warnings[0].String(), "leapfile has no effect without a PPS input")

	for _, tc := range []struct{ conf, want string }{
		{"[global]\nts2phc.holdover 5\n[eth0]\nts2phc.extts_correction 10\n", "t.conf:2: option ts2phc.holdover: ts2phc.holdover has no effect without a PPS input"},
		{"[global]\nts2phc.holdover 5\n[eth0]\nts2phc.extts_correction 10\n", "t.conf:4: option ts2phc.extts_correction: ts2phc.extts_correction has no effect without a PPS input"},
		{"[global]\ntime_source_qualification 3\n", "time_source_qualification has no effect without a PPS input"},
		{"[global]\n[/dev/pps0]\nts2phc.pin_index 2\n", "t.conf:3: option ts2phc.pin_index: ts2phc.pin_index has no effect with /dev/pps0"},
		{"[global]\nfree_running 1\n[/dev/pps0]\n", "t.conf:2: option free_running: free_running has no effect with a PPS input"},
	} {
		c, err := Parse(strings.NewReader(tc.conf), "t.conf")
		require.NoError(t, err)
		c.AddInterface("eth0")
		_, err = c.Resolve()
		require.NoError(t, err, tc.conf)
		var got []string
		for _, w := range c.Warnings {
			got = append(got, w.String())
		}
		assert.Contains(t, strings.Join(got, "\n"), tc.want, tc.conf)
	}
	// Every option of the time source says so, in [global] or a port's
	// section, once.
	c, err = Parse(strings.NewReader("[global]\nts2phc.holdover 5\ntime_source_window 100\n[eth0]\nts2phc.pin_index 1\n[eth1]\nts2phc.pin_index 2\n"), "t.conf")
	require.NoError(t, err)
	_, err = c.Resolve()
	require.NoError(t, err)
	got = nil
	for _, w := range c.Warnings {
		got = append(got, w.String())
	}
	assert.Equal(t, []string{
		"t.conf:5: option ts2phc.pin_index: ts2phc.pin_index has no effect without a PPS input (a [/dev/ppsN] section or pps_input)",
		"t.conf:2: option ts2phc.holdover: ts2phc.holdover has no effect without a PPS input (a [/dev/ppsN] section or pps_input)",
		"t.conf:3: option time_source_window: time_source_window has no effect without a PPS input (a [/dev/ppsN] section or pps_input)",
	}, got)
}
