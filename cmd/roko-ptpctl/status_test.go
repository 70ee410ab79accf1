package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roko-network/roko-ptpd/internal/mgmt/mgmttest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/ptp"
)

// fakeDaemon answers management GETs with data[id], or NOT_SUPPORTED
// for an ID it has no data for, as roko-ptpd's engine does.
func fakeDaemon(t *testing.T, data map[ptp.ManagementID]ptp.ManagementData) string {
	return mgmttest.Daemon(t, func(req *ptp.Management, id ptp.ManagementID, _ []byte) (ptp.ManagementData, bool) {
		if req.ActionField != ptp.ActionGet {
			return nil, false
		}
		return data[id], true
	})
}

// status shows a grandmaster's time source when the daemon reports one,
// and what it always showed when it does not.
func TestStatusCmd(t *testing.T) {
	port := &ptp.PortPropertiesNP{PortState: ptp.PortStateMaster, Timestamping: ptp.TimestampingHardware, Interface: "eth0"}
	slave := &ptp.PortPropertiesNP{PortState: ptp.PortStateSlave, Timestamping: ptp.TimestampingHardware, Interface: "eth0"}
	cds := &ptp.CurrentDataSet{StepsRemoved: 1, OffsetFromMaster: 42 << 16}
	ts := &ptp.TimeSourceNP{State: ptp.TimeSourceLocked, Fix: 1, PulseInput: ptp.PulseInputEXTTS, TimeInState: 723e9,
		RMS: 18, Offset: 3, ClockClass: 6, ClockAccuracy: ptp.AccuracyWithin100ns, TimeSource: ptp.TimeSourceGNSS, UTCOffset: 37}
	for _, tc := range []struct {
		name string
		data map[ptp.ManagementID]ptp.ManagementData
		want []string
		// exact: the whole output is want[0].
		exact bool
	}{
		{"grandmaster with a GPS source", map[ptp.ManagementID]ptp.ManagementData{
			ptp.MIDPortPropertiesNP: port, ptp.MIDCurrentDataSet: &ptp.CurrentDataSet{}, ptp.MIDTimeSourceNP: ts},
			[]string{"Time Source: GPS (LOCKED 12m3s, pulse RMS 18 ns, fix, 0 rejected)\n", "\nSource State: pulse EXTTS, ",
				"\nAnnouncing: clockClass 6, clockAccuracy 0x21, timeSource 0x20, currentUtcOffset 37 on eth0 (port MASTER)\n",
				"\nCurrent Offset: 3.0 ns\nMean Deviation: 18.0 ns (pulse RMS)\nSync Quality: EXCELLENT\nAttestation: NONE"}, false},
		{"slave: no time source, as before", map[ptp.ManagementID]ptp.ManagementData{
			ptp.MIDPortPropertiesNP: slave, ptp.MIDCurrentDataSet: cds},
			[]string{"Time Source: PTP (eth0)\nCurrent Offset: 42.0 ns\nMean Deviation: 42.0 ns\nSync Quality: EXCELLENT\nAttestation: NONE (no key at KEY; `roko-ptpctl attest --public-key` makes one)\n"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			uds := fakeDaemon(t, tc.data)
			key := filepath.Join(t.TempDir(), "attestation.key")
			var out bytes.Buffer
			require.NoError(t, monitorCmd("status", []string{"-s", uds, "--samples", "2", "--interval", "1ms", "--key", key}, &out))
			if tc.exact {
				assert.Equal(t, strings.ReplaceAll(tc.want[0], "KEY", key), out.String())
				return
			}
			for _, w := range tc.want {
				assert.Contains(t, out.String(), w)
			}
		})
	}
}

// TestStatusCmdJSON: status --json gives the text's facts as one JSON
// object with stable names: for a slave, its offset samples; for a
// grandmaster with a GPS source, the source's state and counters too.
func TestStatusCmdJSON(t *testing.T) {
	slave := &ptp.PortPropertiesNP{PortState: ptp.PortStateSlave, Timestamping: ptp.TimestampingHardware, Interface: "eth0"}
	master := &ptp.PortPropertiesNP{PortState: ptp.PortStateMaster, Timestamping: ptp.TimestampingHardware, Interface: "eth0"}
	ts := &ptp.TimeSourceNP{State: ptp.TimeSourceLocked, Fix: 1, PulseInput: ptp.PulseInputEXTTS, TimeInState: 723e9,
		RMS: 18, Offset: 3, Frequency: -49981001, LastUTC: 1795000000, LockTime: 16e9, ClockClass: 6,
		ClockAccuracy: ptp.AccuracyWithin100ns, TimeSource: ptp.TimeSourceGNSS, UTCOffset: 37,
		Pulses: 32, PulsesApplied: 25, PulsesOutOfWindow: 2, Reports: 62, NoFix: 1, Steps: 2, Locks: 1}
	for _, tc := range []struct {
		name string
		data map[ptp.ManagementID]ptp.ManagementData
		want string
	}{
		{"slave", map[ptp.ManagementID]ptp.ManagementData{
			ptp.MIDPortPropertiesNP: slave, ptp.MIDCurrentDataSet: &ptp.CurrentDataSet{StepsRemoved: 1, OffsetFromMaster: -250 << 16}},
			`{
  "time_source": "PTP",
  "interface": "eth0",
  "port_state": "SLAVE",
  "synchronized": true,
  "current_offset_ns": -250,
  "mean_deviation_ns": 250,
  "mean_deviation_of": "offset_from_master",
  "samples": 2,
  "sync_quality": "GOOD",
  "attestation": "NONE",
  "attestation_detail": "no key at KEY; ` + "`roko-ptpctl attest --public-key`" + ` makes one"
}
`},
		{"grandmaster with a GPS source", map[ptp.ManagementID]ptp.ManagementData{
			ptp.MIDPortPropertiesNP: master, ptp.MIDCurrentDataSet: &ptp.CurrentDataSet{}, ptp.MIDTimeSourceNP: ts},
			`{
  "time_source": "GPS",
  "interface": "eth0",
  "port_state": "MASTER",
  "synchronized": true,
  "current_offset_ns": 3,
  "mean_deviation_ns": 18,
  "mean_deviation_of": "pulse_rms",
  "samples": 0,
  "sync_quality": "EXCELLENT",
  "grandmaster_time_source": {
    "source": "GPS",
    "state": "LOCKED",
    "time_in_state_s": 723,
    "qualifying": false,
    "qualified_for_s": 0,
    "fix": true,
    "pulse_input": "EXTTS",
    "offset_ns": 3,
    "rms_ns": 18,
    "frequency_ppb": -49981.001,
    "last_report": "2026-11-18T11:06:40Z",
    "first_lock_after_s": 16,
    "pulses": 32,
    "pulses_applied": 25,
    "pulses_missed": 0,
    "reports": 62,
    "reports_without_fix": 1,
    "rejected": 2,
    "steps": 2,
    "locks": 1,
    "losses": 0,
    "clock_class": 6,
    "clock_accuracy": "0x21",
    "time_source_code": "0x20",
    "current_utc_offset_s": 37
  },
  "attestation": "NONE",
  "attestation_detail": "no key at KEY; ` + "`roko-ptpctl attest --public-key`" + ` makes one"
}
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			uds := fakeDaemon(t, tc.data)
			key := filepath.Join(t.TempDir(), "attestation.key")
			want := strings.ReplaceAll(tc.want, "KEY", key)
			var out bytes.Buffer
			require.NoError(t, monitorCmd("status", []string{"-s", uds, "--samples", "2", "--interval", "1ms", "--json", "--key", key}, &out))
			assert.JSONEq(t, want, out.String())
			assert.Equal(t, want, out.String(), "the fields in their documented order")
		})
	}
	err := monitorCmd("monitor", []string{"--json"}, &bytes.Buffer{})
	assert.ErrorContains(t, err, "--json: only status has a JSON form")
}
