package config

import (
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/ptp"
)

// TestResolveDestinations: ptp_dst_mac, p2p_dst_mac, ptp_dst_ipv4,
// p2p_dst_ipv4, ptp_dst_ipv6 and p2p_dst_ipv6 resolve, per port, to typed
// addresses of the port's transport, read as linuxptp reads them; a bad
// one is an error naming the file, line and option.
func TestResolveDestinations(t *testing.T) {
	mac := func(s string) net.HardwareAddr { m, _ := net.ParseMAC(s); return m }
	ip := netip.MustParseAddr
	for _, tc := range []struct {
		name, text string
		want       Destinations
		warn       string
	}{
		{"L2 defaults", "[global]\nnetwork_transport L2\n",
			Destinations{PTPMAC: mac("01:1b:19:00:00:00"), P2PMAC: mac("01:80:c2:00:00:0e")}, ""},
		{"G.8275.1 ptp_dst_mac", "[global]\nnetwork_transport L2\nptp_dst_mac 01:80:C2:00:00:0E\n",
			Destinations{PTPMAC: mac("01:80:c2:00:00:0e"), P2PMAC: mac("01:80:c2:00:00:0e")}, ""},
		{"per port, one hex digit a byte as str2mac", "[global]\nnetwork_transport L2\n[eth0]\np2p_dst_mac 1:1b:19:0:0:e\n",
			Destinations{PTPMAC: mac("01:1b:19:00:00:00"), P2PMAC: mac("01:1b:19:00:00:0e")}, ""},
		{"text after the MAC is ignored, with a warning", "[global]\nnetwork_transport L2\nptp_dst_mac 01:80:C2:00:00:0E G.8275.1\n",
			Destinations{PTPMAC: mac("01:80:c2:00:00:0e"), P2PMAC: mac("01:80:c2:00:00:0e")}, `t.conf:3: option ptp_dst_mac: ptp_dst_mac: "G.8275.1" after the address is ignored, as ptp4l ignores it`},
		{"UDPv4 defaults", "[global]\n", Destinations{PTPIPv4: ip("224.0.1.129"), P2PIPv4: ip("224.0.0.107")}, ""},
		{"UDPv4, per port", "[global]\nptp_dst_ipv4 239.1.1.129\n[eth0]\np2p_dst_ipv4 239.1.1.107\n",
			Destinations{PTPIPv4: ip("239.1.1.129"), P2PIPv4: ip("239.1.1.107")}, ""},
		{"UDPv6 defaults", "[global]\nnetwork_transport UDPv6\n", Destinations{PTPIPv6: ip("ff0e::181"), P2PIPv6: ip("ff02::6b")}, ""},
		{"UDPv6 takes udp6_scope into ptp_dst_ipv6", "[global]\nnetwork_transport UDPv6\nudp6_scope 0x02\nptp_dst_ipv6 FF15::1:181\np2p_dst_ipv6 ff02::1:6b\n",
			Destinations{PTPIPv6: ip("ff02::1:181"), P2PIPv6: ip("ff02::1:6b")}, ""},
		{"only the transport's pair is read, as linuxptp", "[global]\nnetwork_transport L2\nptp_dst_ipv4 x\nptp_dst_ipv6 y\n",
			Destinations{PTPMAC: mac("01:1b:19:00:00:00"), P2PMAC: mac("01:80:c2:00:00:0e")}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(strings.NewReader(tc.text), "t.conf")
			require.NoError(t, err)
			c.AddInterface("eth0")
			s, err := c.Resolve()
			require.NoError(t, err)
			assert.Equal(t, tc.want, s.Ports[0].Dst)
			if tc.warn == "" {
				assert.Empty(t, c.Warnings)
			} else if assert.NotEmpty(t, c.Warnings) {
				assert.Equal(t, tc.warn, c.Warnings[0].String())
			}
		})
	}
	for _, tc := range []struct{ text, want string }{
		{"[global]\nnetwork_transport L2\nptp_dst_mac 01:80:C2:00:00\n", "t.conf:3: [eth0] ptp_dst_mac 01:80:C2:00:00: not a MAC address (six hex bytes separated by colons)"},
		{"[global]\nnetwork_transport L2\n[eth0]\np2p_dst_mac 01:80:C2:00:00:0E0\n", "t.conf:4: [eth0] p2p_dst_mac 01:80:C2:00:00:0E0: not a MAC address (six hex bytes separated by colons)"},
		{"[global]\nptp_dst_ipv4 198.18.0.1\n", "t.conf:2: [eth0] ptp_dst_ipv4 198.18.0.1: not an IPv4 multicast group (224.0.0.0/4)"},
		{"[global]\np2p_dst_ipv4 ff02::6b\n", "t.conf:2: [eth0] p2p_dst_ipv4 ff02::6b: not an IPv4 multicast group (224.0.0.0/4)"},
		{"[global]\nnetwork_transport UDPv6\np2p_dst_ipv6 fe80::1\n", "t.conf:3: [eth0] p2p_dst_ipv6 fe80::1: not an IPv6 multicast group (ff00::/8)"},
		{"[global]\nnetwork_transport UDPv6\nptp_dst_ipv6 ff02::6b x\n", "t.conf:3: [eth0] ptp_dst_ipv6 ff02::6b x: not an IPv6 multicast group (ff00::/8)"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			_, err := resolve(t, tc.text, "eth0")
			require.Error(t, err)
			assert.EqualError(t, err, tc.want)
			var ce *Error
			require.ErrorAs(t, err, &ce)
		})
	}
}

// TestLinuxptpG8275_1 loads linuxptp 4.4's configs/G.8275.1.cfg (the L2
// telecom profile, ptp_dst_mac 01:80:C2:00:00:0E): it resolves, without a
// warning, to a G.8275.x clock on L2 sending everything to the
// non-forwardable address.
func TestLinuxptpG8275_1(t *testing.T) {
	c, err := Load("../../testdata/linuxptp/G.8275.1.cfg")
	require.NoError(t, err)
	c.AddInterface("eth0")
	s, err := c.Resolve()
	require.NoError(t, err)
	assert.Empty(t, c.Warnings)
	assert.Equal(t, uint8(24), s.Clock.DomainNumber)
	require.Len(t, s.Ports, 1)
	p := s.Ports[0]
	assert.Equal(t, ptp.ProtocolIEEE802_3, p.Transport)
	assert.Equal(t, "01:80:c2:00:00:0e", p.Dst.PTPMAC.String())
	assert.Equal(t, "01:80:c2:00:00:0e", p.Dst.P2PMAC.String())
	assert.Equal(t, int8(-4), p.Engine.LogSyncInterval)
}
