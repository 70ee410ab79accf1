package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/mgmt/mgmttest"
	"github.com/roko-network/roko-ptpd/ptp"
)

// slaveDaemon is a stand-in roko-ptpd whose port is SLAVE to a GPS
// grandmaster, 42 ns off it.
func slaveDaemon(t *testing.T) string {
	gm := ptp.ClockIdentity{0xaa, 0xbb, 0xcc, 0xff, 0xfe, 0xdd, 0xee, 0xff}
	me := ptp.ClockIdentity{0x00, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55}
	return fakeDaemon(t, map[ptp.ManagementID]ptp.ManagementData{
		ptp.MIDPortPropertiesNP: &ptp.PortPropertiesNP{PortIdentity: ptp.PortIdentity{ClockIdentity: me, PortNumber: 1},
			PortState: ptp.PortStateSlave, Timestamping: ptp.TimestampingHardware, Interface: "eth0"},
		ptp.MIDCurrentDataSet: &ptp.CurrentDataSet{StepsRemoved: 1, OffsetFromMaster: 42 << 16, MeanPathDelay: 1500 << 16},
		ptp.MIDParentDataSet: &ptp.ParentDataSet{ParentPortIdentity: ptp.PortIdentity{ClockIdentity: gm, PortNumber: 1},
			GrandmasterPriority1: 128, GrandmasterPriority2: 128, GrandmasterIdentity: gm,
			GrandmasterClockQuality: ptp.ClockQuality{ClockClass: 6, ClockAccuracy: ptp.AccuracyWithin100ns, OffsetScaledLogVariance: 0x4e5d}},
		ptp.MIDDefaultDataSet:        &ptp.DefaultDataSet{DomainNumber: 24, ClockIdentity: me},
		ptp.MIDTimePropertiesDataSet: &ptp.TimePropertiesDataSet{CurrentUTCOffset: 37, Flags: 0x3c, TimeSource: ptp.TimeSourceGNSS},
	})
}

// TestAttestPicksPort: on a clock of several ports the statement is about
// the one synchronising it (SLAVE, else UNCALIBRATED), wherever it is
// among the answers; without one, the first port.
func TestAttestPicksPort(t *testing.T) {
	me := ptp.ClockIdentity{0x00, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55}
	port := func(n uint16, st ptp.PortState) ptp.ManagementData {
		return &ptp.PortPropertiesNP{PortIdentity: ptp.PortIdentity{ClockIdentity: me, PortNumber: n},
			PortState: st, Timestamping: ptp.TimestampingHardware, Interface: ptp.PTPText(fmt.Sprintf("eth%d", n-1))}
	}
	key := filepath.Join(t.TempDir(), "attestation.key")
	for _, tc := range []struct {
		name   string
		states []ptp.PortState
		want   string // interface and state
	}{
		{"slave second", []ptp.PortState{ptp.PortStateMaster, ptp.PortStateSlave}, "eth1 SLAVE"},
		{"slave first", []ptp.PortState{ptp.PortStateSlave, ptp.PortStatePassive}, "eth0 SLAVE"},
		{"uncalibrated", []ptp.PortState{ptp.PortStateListening, ptp.PortStateMaster, ptp.PortStateUncalibrated}, "eth2 UNCALIBRATED"},
		{"slave before uncalibrated", []ptp.PortState{ptp.PortStateUncalibrated, ptp.PortStateSlave}, "eth1 SLAVE"},
		{"none: the first", []ptp.PortState{ptp.PortStateMaster, ptp.PortStatePassive}, "eth0 MASTER"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := map[ptp.ManagementID]ptp.ManagementData{
				ptp.MIDCurrentDataSet:        &ptp.CurrentDataSet{StepsRemoved: 1, OffsetFromMaster: 42 << 16},
				ptp.MIDParentDataSet:         &ptp.ParentDataSet{GrandmasterIdentity: me},
				ptp.MIDDefaultDataSet:        &ptp.DefaultDataSet{DomainNumber: 24, ClockIdentity: me},
				ptp.MIDTimePropertiesDataSet: &ptp.TimePropertiesDataSet{CurrentUTCOffset: 37},
			}
			uds := mgmttest.Ports(t, func(req *ptp.Management, id ptp.ManagementID, _ []byte) ([]ptp.ManagementData, bool) {
				if req.ActionField != ptp.ActionGet {
					return nil, false
				}
				if id == ptp.MIDPortPropertiesNP {
					var ds []ptp.ManagementData
					for i, st := range tc.states {
						ds = append(ds, port(uint16(i+1), st))
					}
					return ds, true
				}
				return []ptp.ManagementData{data[id]}, true
			})
			var doc bytes.Buffer
			require.NoError(t, attestCmd([]string{"-s", uds, "--key", key, "--nonce", nonce, "--samples", "1"}, &doc))
			iface, state, _ := strings.Cut(tc.want, " ")
			assert.Contains(t, doc.String(), "\ninterface: "+iface+"\n")
			assert.Contains(t, doc.String(), "\nportState: "+state+"\n")
		})
	}
}

const nonce = "00112233445566778899aabbccddeeff"

// attest → verify: the statement carries what the daemon said, verifies
// against the host's public key and nonce, and fails for any changed
// byte, another key, or another nonce.
func TestAttestVerify(t *testing.T) {
	uds := slaveDaemon(t)
	dir := t.TempDir()
	key := filepath.Join(dir, "state", "attestation.key")
	pub := filepath.Join(dir, "host.pub")

	var pem bytes.Buffer
	require.NoError(t, attestCmd([]string{"--key", key, "--public-key"}, &pem))
	assert.True(t, strings.HasPrefix(pem.String(), "-----BEGIN PUBLIC KEY-----\n"))
	require.NoError(t, os.WriteFile(pub, pem.Bytes(), 0o644))
	fi, err := os.Stat(key)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	var doc bytes.Buffer
	require.NoError(t, attestCmd([]string{"-s", uds, "--key", key, "--nonce", nonce, "--samples", "3", "--interval", "1ms"}, &doc))
	for _, want := range []string{
		"roko-ptpd attestation v1\n", "\ninterface: eth0\n", "\nportIdentity: 001122.fffe.334455-1\n",
		"\nportState: SLAVE\n", "\ndomainNumber: 24\n", "\ngrandmasterIdentity: aabbcc.fffe.ddeeff\n",
		"\ngrandmasterClockClass: 6\n", "\ngrandmasterClockAccuracy: 0x21\n", "\nstepsRemoved: 1\n",
		"\ncurrentUtcOffset: 37\n", "\ntimeSource: 0x20\n", "\ntimeSourceState: none\n", "\nsamples: 3\n",
		"\noffsetMean: 42.0 ns\n", "\noffsetStdDev: 0.0 ns\n", "\nmeanPathDelay: 1500.0 ns\n", "\nnonce: " + nonce + "\n",
	} {
		assert.Contains(t, doc.String(), want)
	}
	stmt := filepath.Join(dir, "statement")
	require.NoError(t, os.WriteFile(stmt, doc.Bytes(), 0o644))

	var out bytes.Buffer
	require.NoError(t, verifyCmd([]string{"--pub", pub, "--nonce", nonce, "--max-age", "1m", stmt}, &out))
	assert.Contains(t, out.String(), "VALID: ")
	assert.Contains(t, out.String(), "grandmaster aabbcc.fffe.ddeeff class 6 accuracy 0x21")
	assert.Contains(t, out.String(), "mean 42.0 ns")

	// Any changed byte.
	b := doc.Bytes()
	for i := 0; i < len(b); i += 7 {
		bad := bytes.Clone(b)
		bad[i] ^= 0x04
		require.NoError(t, os.WriteFile(stmt, bad, 0o644))
		out.Reset()
		require.Error(t, verifyCmd([]string{"--pub", pub, "--nonce", nonce, stmt}, &out), "byte %d", i)
		assert.True(t, strings.HasPrefix(out.String(), "INVALID: "), "byte %d: %s", i, out.String())
	}
	require.NoError(t, os.WriteFile(stmt, b, 0o644))

	// Another key: a second host's.
	other := filepath.Join(dir, "other.key")
	var otherPEM bytes.Buffer
	require.NoError(t, attestCmd([]string{"--key", other, "--public-key"}, &otherPEM))
	otherPub := filepath.Join(dir, "other.pub")
	require.NoError(t, os.WriteFile(otherPub, otherPEM.Bytes(), 0o644))
	out.Reset()
	assert.Error(t, verifyCmd([]string{"--pub", otherPub, "--nonce", nonce, stmt}, &out))
	assert.Contains(t, out.String(), "not by the enrolled key")

	// Another nonce: a replay of this statement to another question.
	out.Reset()
	assert.Error(t, verifyCmd([]string{"--pub", pub, "--nonce", "ffeeddccbbaa99887766554433221100", stmt}, &out))
	assert.Contains(t, out.String(), "another nonce")

	// Usage errors are errors, not INVALID.
	assert.ErrorContains(t, verifyCmd([]string{"--nonce", nonce, stmt}, &out), "usage")
	assert.ErrorContains(t, attestCmd([]string{"-s", uds, "--key", key}, &out), "--nonce HEX is required")
	assert.ErrorContains(t, attestCmd([]string{"-s", uds, "--key", key, "--nonce", "abcd"}, &out), "nonce of 2 bytes")
}

// A key others could read is refused, and not replaced.
func TestAttestKeyPermissions(t *testing.T) {
	uds := slaveDaemon(t)
	key := filepath.Join(t.TempDir(), "attestation.key")
	var out bytes.Buffer
	require.NoError(t, attestCmd([]string{"--key", key, "--public-key"}, &out))
	before, err := os.ReadFile(key)
	require.NoError(t, err)
	require.NoError(t, os.Chmod(key, 0o644))
	err = attestCmd([]string{"-s", uds, "--key", key, "--nonce", nonce, "--samples", "1"}, &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "mode 0644")
	assert.Contains(t, err.Error(), "refused")
	after, err := os.ReadFile(key)
	require.NoError(t, err)
	assert.Equal(t, before, after)

	out.Reset()
	require.NoError(t, monitorCmd("status", []string{"-s", uds, "--samples", "1", "--key", key}, &out))
	assert.Contains(t, out.String(), "\nAttestation: INVALID (attest: key "+key+" has mode 0644")
}

// status ends with the guide's Attestation line.
func TestStatusAttestation(t *testing.T) {
	uds := slaveDaemon(t)
	dir := t.TempDir()
	key := filepath.Join(dir, "attestation.key")
	var out bytes.Buffer
	require.NoError(t, monitorCmd("status", []string{"-s", uds, "--samples", "1", "--key", key}, &out))
	assert.Contains(t, out.String(), "\nAttestation: NONE (no key at "+key)

	require.NoError(t, attestCmd([]string{"--key", key, "--public-key"}, &bytes.Buffer{}))
	out.Reset()
	require.NoError(t, monitorCmd("status", []string{"-s", uds, "--samples", "1", "--key", key}, &out))
	assert.Regexp(t, `\nSync Quality: EXCELLENT\nAttestation: VALID \(key SHA256:[0-9a-f]{16}\)\n$`, out.String())

	require.NoError(t, os.WriteFile(key, []byte("junk"), 0o600))
	out.Reset()
	require.NoError(t, monitorCmd("status", []string{"-s", uds, "--samples", "1", "--key", key}, &out))
	assert.Contains(t, out.String(), "\nAttestation: INVALID (attest: key "+key+": not a PEM")
}
