package selftest

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/netns"
	"github.com/roko-network/roko-ptpd/phc"
	"github.com/roko-network/roko-ptpd/ptp"
)

// TestOnVeth: on a veth, which has no PHC, the self-test fails at its
// first check, says exactly what is missing and what to do, and tries
// nothing that needs the missing hardware.
func TestOnVeth(t *testing.T) {
	a, b := netns.New(t), netns.New(t)
	la, _ := netns.Veth(t, a, "198.18.0.1", b, "198.18.0.2")
	var r *Report
	require.NoError(t, la.NS.Do(func() error { r = Run(la.Name, Kernel()); return nil }))
	require.True(t, r.Failed())
	first := r.Checks[0]
	assert.Equal(t, Fail, first.Status)
	assert.Equal(t, "the driver of "+la.Name+" reports no hardware-transmit, no hardware-receive, no hardware-raw-clock, no PTP hardware clock (ethtool -T "+la.Name+")", first.Detail)
	assert.Contains(t, first.Fix, "run roko-ptpd with software timestamps (-S")
	require.Len(t, r.Checks, 9)
	for _, c := range r.Checks[1:] {
		assert.Equal(t, Skip, c.Status, c.Name)
	}

	var text bytes.Buffer
	r.WriteText(&text)
	assert.Contains(t, text.String(), "FAIL  timestamping")
	assert.Contains(t, text.String(), "FAILED: roko-ptpd cannot use hardware timestamping on "+la.Name)
	var js bytes.Buffer
	require.NoError(t, r.WriteJSON(&js))
	var back Report
	require.NoError(t, json.Unmarshal(js.Bytes(), &back), "--json parses")
	assert.Equal(t, *r, back)
}

// TestUnknownInterface: a name that is no interface fails with the
// kernel's answer and the fix.
func TestUnknownInterface(t *testing.T) {
	h := Host{Timestamping: func(string) (phc.TimestampingInfo, error) {
		return phc.TimestampingInfo{}, errors.New("interface nosuch0: no such clock: check the name with 'ip link'")
	}}
	r := Run("nosuch0", h)
	require.True(t, r.Failed())
	assert.Contains(t, r.Checks[0].Detail, "check the name with 'ip link'")
	var text bytes.Buffer
	r.WriteText(&text)
	assert.Equal(t, 1, strings.Count(text.String(), "FAIL "))
}

// TestOnEmulatedHardware: on roko-ptpd's emulated hardware (an emulated
// PHC with cross timestamping, EXTTS and PEROUT, and an emulated card on
// a veth) every check passes, through the same code as on a real NIC.
func TestOnEmulatedHardware(t *testing.T) {
	a, b := netns.New(t), netns.New(t)
	la, _ := netns.Veth(t, a, "198.18.0.1", b, "198.18.0.2")
	path := filepath.Join(t.TempDir(), la.Name)
	cfg := phc.DefaultEmulatedConfig()
	cfg.CrossTimestamping = true
	cfg.Offset, cfg.FrequencyError = 3*time.Millisecond, 5_000
	emu, err := phc.CreateEmulated(path, cfg)
	require.NoError(t, err)
	defer emu.Close()
	h, err := Emulated(path)
	require.NoError(t, err)
	h.Samples = 20
	var r *Report
	require.NoError(t, la.NS.Do(func() error { r = Run(la.Name, h); return nil }))
	var text bytes.Buffer
	r.WriteText(&text)
	t.Logf("\n%s", text.String())
	require.Len(t, r.Checks, 9)
	for _, c := range r.Checks {
		assert.Equal(t, Pass, c.Status, "%s: %s %s", c.Name, c.Detail, c.Fix)
	}
	assert.False(t, r.Failed())
	assert.Contains(t, text.String(), "every check passed")
	f, err := emu.Rate()
	require.NoError(t, err)
	assert.InDelta(t, 5_000, f, 1, "the PHC's frequency was put back")
}

// TestProbe: the frames the self-test sends are Delay_Req in domain 255
// with majorSdoId 0xF, which no PTP clock on the link follows.
func TestProbe(t *testing.T) {
	b, err := probe(7)
	require.NoError(t, err)
	m, err := ptp.Decode(b)
	require.NoError(t, err)
	require.IsType(t, &ptp.DelayReq{}, m)
	h := m.Hdr()
	assert.Equal(t, uint8(255), h.DomainNumber)
	assert.Equal(t, uint8(0xF), h.MajorSdoID)
	assert.Equal(t, uint16(7), h.SequenceID)
}
