package config

import (
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/roko-network/roko-ptpd/ptp"
)

// Destinations are where a port sends its messages and the multicast
// groups it joins to hear its peers: ptp_dst_* for every message but the
// peer delay ones, p2p_dst_* for Pdelay_Req, Pdelay_Resp and
// Pdelay_Resp_Follow_Up. Only the pair of the port's network_transport is
// set, as linuxptp reads only that pair (raw.c, udp.c, udp6.c).
type Destinations struct {
	// PTPMAC and P2PMAC are ptp_dst_mac and p2p_dst_mac (L2).
	PTPMAC, P2PMAC net.HardwareAddr
	// PTPIPv4 and P2PIPv4 are ptp_dst_ipv4 and p2p_dst_ipv4 (UDPv4).
	PTPIPv4, P2PIPv4 netip.Addr
	// PTPIPv6 is ptp_dst_ipv6 with udp6_scope written into its second
	// byte (flags and scope), as linuxptp's udp6.c does: ff0e::181 with
	// udp6_scope 0x02 is ff02::181. P2PIPv6 is p2p_dst_ipv6 (UDPv6).
	PTPIPv6, P2PIPv6 netip.Addr
}

// destinations reads the pair of destination options of the port's
// transport. linuxptp parses MAC addresses with sscanf (one or two hex
// digits a byte) and IPv4 addresses with inet_aton, both of which ignore
// what follows the address after a blank; roko-ptpd does the same but
// warns. IPv6 addresses, read with inet_pton there, must be exact. An
// address that is not a multicast group of the transport's family is an
// error, where ptp4l would fail to join it when it opens the port.
func (c *Config) destinations(name string, transport ptp.NetworkProtocol, scope uint8) (Destinations, error) {
	var d Destinations
	switch transport {
	case ptp.ProtocolIEEE802_3:
		for _, o := range []struct {
			opt string
			to  *net.HardwareAddr
		}{{"ptp_dst_mac", &d.PTPMAC}, {"p2p_dst_mac", &d.P2PMAC}} {
			mac, ok := parseMAC(c.leading(name, o.opt))
			if !ok {
				return d, c.errorAt(name, o.opt, "[%s] %s %s: not a MAC address (six hex bytes separated by colons)", name, o.opt, c.str(name, o.opt))
			}
			*o.to = mac
		}
	case ptp.ProtocolUDPIPv4:
		for _, o := range []struct {
			opt string
			to  *netip.Addr
		}{{"ptp_dst_ipv4", &d.PTPIPv4}, {"p2p_dst_ipv4", &d.P2PIPv4}} {
			a, err := netip.ParseAddr(c.leading(name, o.opt))
			if err != nil || !a.Is4() || !a.IsMulticast() {
				return d, c.errorAt(name, o.opt, "[%s] %s %s: not an IPv4 multicast group (224.0.0.0/4)", name, o.opt, c.str(name, o.opt))
			}
			*o.to = a
		}
	case ptp.ProtocolUDPIPv6:
		for _, o := range []struct {
			opt string
			to  *netip.Addr
		}{{"ptp_dst_ipv6", &d.PTPIPv6}, {"p2p_dst_ipv6", &d.P2PIPv6}} {
			a, err := netip.ParseAddr(c.str(name, o.opt))
			if err != nil || !a.Is6() || a.Is4In6() || a.Zone() != "" || !a.IsMulticast() {
				return d, c.errorAt(name, o.opt, "[%s] %s %s: not an IPv6 multicast group (ff00::/8)", name, o.opt, c.str(name, o.opt))
			}
			*o.to = a
		}
		b := d.PTPIPv6.As16()
		b[1] = scope
		d.PTPIPv6 = netip.AddrFrom16(b)
	}
	return d, nil
}

// leading returns a string option's value up to its first blank, warning
// when something follows it: linuxptp's sscanf and inet_aton stop there.
func (c *Config) leading(section, option string) string {
	v := c.str(section, option)
	if i := strings.IndexAny(v, " \t"); i >= 0 {
		c.warn(c.value(section, option).Line, option, "%s: %q after the address is ignored, as ptp4l ignores it", option, strings.TrimSpace(v[i:]))
		return v[:i]
	}
	return v
}

// parseMAC reads a 48-bit address as linuxptp's str2mac does: six fields
// of one or two hex digits separated by colons.
func parseMAC(s string) (net.HardwareAddr, bool) {
	f := strings.Split(s, ":")
	if len(f) != 6 {
		return nil, false
	}
	mac := make(net.HardwareAddr, 6)
	for i, x := range f {
		if len(x) < 1 || len(x) > 2 {
			return nil, false
		}
		b, err := strconv.ParseUint(x, 16, 8)
		if err != nil {
			return nil, false
		}
		mac[i] = byte(b)
	}
	return mac, true
}
