package config

import (
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/ptp"
)

func TestEngineConfig(t *testing.T) {
	mac := net.HardwareAddr{0x02, 0x42, 0xac, 0x11, 0x00, 0x02}
	c, err := Parse(strings.NewReader(`[global]
priority1 10
domainNumber 24
clientOnly 1
logSyncInterval -3
delay_mechanism P2P
[eth0]
logSyncInterval -4
delayAsymmetry 120
[eth1]
serverOnly 1
`), "t.conf")
	require.NoError(t, err)
	cc, ports, err := c.Engine(mac)
	require.NoError(t, err)
	assert.Equal(t, "0242ac.fffe.110002", cc.ClockIdentity.String(), "EUI-64 from the MAC, as linuxptp")
	assert.Equal(t, uint8(10), cc.Priority1)
	assert.Equal(t, uint8(128), cc.Priority2)
	assert.Equal(t, uint8(24), cc.DomainNumber)
	assert.True(t, cc.SlaveOnly)
	assert.Equal(t, int64(20_000), cc.FirstStepThreshold)
	require.Len(t, ports, 2)
	assert.Equal(t, "eth0", ports[0].Name)
	assert.Equal(t, int8(-4), ports[0].LogSyncInterval, "the interface's section wins")
	assert.Equal(t, int8(-3), ports[1].LogSyncInterval, "global for the other")
	assert.Equal(t, int64(120), ports[0].DelayAsymmetry)
	assert.Equal(t, ptp.DelayMechanismP2P, ports[1].DelayMechanism)
	assert.True(t, ports[1].MasterOnly)
	assert.False(t, ports[0].MasterOnly)

	c, err = Parse(strings.NewReader("[global]\nclockIdentity 001122.3344.556677\n"), "t.conf")
	require.NoError(t, err)
	c.AddInterface("eth0")
	cc, _, err = c.Engine(nil)
	require.NoError(t, err)
	assert.Equal(t, "001122.3344.556677", cc.ClockIdentity.String())

	c, err = Parse(strings.NewReader("[global]\n"), "t.conf")
	require.NoError(t, err)
	_, _, err = c.Engine(mac)
	assert.ErrorContains(t, err, "no interface")
}
