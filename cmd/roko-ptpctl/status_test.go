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
