package config

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/ptp/engine"
)

// linuxptp's UNICAST-MASTER.cfg and UNICAST-SLAVE.cfg resolve into the
// engine's unicast server and client: the port's table by table_id, its
// entries of the port's transport, the others warned of.
func TestResolveUnicast(t *testing.T) {
	s, err := resolve(t, `[global]
unicast_req_duration 60
[unicast_master_table]
table_id 1
logQueryInterval 2
UDPv4 198.18.0.1
UDPv4 198.18.0.2
L2 02:00:00:00:00:01
[unicast_master_table]
table_id 2
logQueryInterval -1
L2 02:00:00:00:00:02
[eth0]
unicast_master_table 1
[eth1]
network_transport L2
unicast_master_table 2
[eth2]
unicast_listen 1
inhibit_multicast_service 1
`)
	require.NoError(t, err)
	require.Len(t, s.Ports, 3)
	p0, p1, p2 := s.Ports[0].Engine, s.Ports[1].Engine, s.Ports[2].Engine
	ip := func(a string) engine.Addr { return engine.Addr{IP: netip.AddrPortFrom(netip.MustParseAddr(a), 0)} }
	assert.Equal(t, []engine.Addr{ip("198.18.0.1"), ip("198.18.0.2")}, p0.UnicastMasters)
	assert.EqualValues(t, 2, p0.LogQueryInterval)
	assert.EqualValues(t, 60, p0.UnicastReqDuration)
	assert.False(t, p0.UnicastListen)
	assert.Equal(t, []engine.Addr{{MAC: [6]byte{2, 0, 0, 0, 0, 2}}}, p1.UnicastMasters)
	assert.EqualValues(t, -1, p1.LogQueryInterval)
	assert.True(t, p2.UnicastListen)
	assert.True(t, p2.InhibitMulticastService)
	assert.Empty(t, p2.UnicastMasters)
	assert.EqualValues(t, 3600, engine.DefaultPortConfig("x").UnicastReqDuration)
	assert.Zero(t, p0.UnicastPeer, "no peer_address: Pdelay_Req by multicast")

	// peer_address, read as an address of the port's transport; with
	// E2E it does nothing, and says so.
	for _, tc := range []struct {
		name, text string
		want       engine.Addr
		warning    string
	}{
		{"UDPv4", "[unicast_master_table]\ntable_id 1\npeer_address 198.18.0.9\nUDPv4 198.18.0.1\n[eth0]\ndelay_mechanism P2P\nunicast_master_table 1\n", ip("198.18.0.9"), ""},
		{"L2", "[unicast_master_table]\ntable_id 1\npeer_address 02:00:00:00:00:09\nL2 02:00:00:00:00:01\n[eth0]\nnetwork_transport L2\ndelay_mechanism P2P\nunicast_master_table 1\n", engine.Addr{MAC: [6]byte{2, 0, 0, 0, 0, 9}}, ""},
		{"E2E", "[unicast_master_table]\ntable_id 1\npeer_address 198.18.0.9\nUDPv4 198.18.0.1\n[eth0]\nunicast_master_table 1\n", ip("198.18.0.9"),
			"t.conf:2: option unicast_master_table: [eth0] unicast_master_table 1: peer_address has no effect with delay_mechanism E2E"},
	} {
		t.Run("peer_address "+tc.name, func(t *testing.T) {
			c, err := Parse(strings.NewReader(tc.text), "t.conf")
			require.NoError(t, err)
			s, err := c.Resolve()
			require.NoError(t, err)
			assert.Equal(t, tc.want, s.Ports[0].Engine.UnicastPeer)
			var warnings []string
			for _, w := range c.Warnings {
				warnings = append(warnings, w.String())
			}
			if tc.warning == "" {
				assert.Empty(t, warnings)
			} else {
				assert.Equal(t, []string{tc.warning}, warnings)
			}
		})
	}

	for _, tc := range []struct{ name, text, want string }{
		{"no such table", "[unicast_master_table]\ntable_id 1\nUDPv4 198.18.0.1\n[eth0]\nunicast_master_table 2\n", "no table with id 2"},
		{"bad address", "[unicast_master_table]\ntable_id 1\nUDPv4 198.18.0.300\n[eth0]\nunicast_master_table 1\n", "bad UDPv4 address"},
		{"v6 as v4", "[unicast_master_table]\ntable_id 1\nUDPv4 2001:db8::1\n[eth0]\nunicast_master_table 1\n", "bad UDPv4 address"},
		{"no master of the transport", "[unicast_master_table]\ntable_id 1\nL2 02:00:00:00:00:01\n[eth0]\nunicast_master_table 1\n", "no UDPv4 master"},
		{"peer_address of another transport", "[unicast_master_table]\ntable_id 1\npeer_address 02:00:00:00:00:01\nUDPv4 198.18.0.1\n[eth0]\nunicast_master_table 1\n", "bad peer_address 02:00:00:00:00:01 for UDPv4"},
		{"short duration", "[eth0]\nunicast_req_duration 9\n", "unicast_req_duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(strings.NewReader(tc.text), "t.conf")
			if err == nil {
				_, err = c.Resolve()
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
