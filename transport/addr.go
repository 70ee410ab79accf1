package transport

import (
	"fmt"
	"net"
	"net/netip"
)

// Addr is where a message came from or goes to: an IP address and port for
// UDP, a MAC address for L2. It is a value, so receiving one allocates
// nothing.
type Addr struct {
	IP   netip.Addr // UDP
	Port uint16     // UDP
	MAC  [6]byte    // L2
	L2   bool       // MAC is meaningful
}

// String formats the address as ptp4l prints peers.
func (a Addr) String() string {
	if a.L2 {
		return net.HardwareAddr(a.MAC[:]).String()
	}
	if !a.IP.IsValid() {
		return "<none>"
	}
	return netip.AddrPortFrom(a.IP, a.Port).String()
}

// MACAddr returns the L2 address of mac.
func MACAddr(mac net.HardwareAddr) (Addr, error) {
	if len(mac) != 6 {
		return Addr{}, fmt.Errorf("transport: %q is not a 48-bit MAC address", mac.String())
	}
	var a Addr
	copy(a.MAC[:], mac)
	a.L2 = true
	return a, nil
}

// Well-known PTP destinations (IEEE 1588-2019 Annexes C, D and E).
var (
	// L2PrimaryMAC is the default destination of all messages but peer
	// delay ones (ptp_dst_mac).
	L2PrimaryMAC = net.HardwareAddr{0x01, 0x1b, 0x19, 0x00, 0x00, 0x00}
	// L2PeerDelayMAC is the non-forwardable destination of peer delay
	// messages (p2p_dst_mac).
	L2PeerDelayMAC = net.HardwareAddr{0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e}
	// IPv4Primary and IPv4PeerDelay are the UDPv4 multicast groups.
	IPv4Primary   = netip.MustParseAddr("224.0.1.129")
	IPv4PeerDelay = netip.MustParseAddr("224.0.0.107")
	// IPv6PeerDelay is the link-local UDPv6 peer delay group; the primary
	// group is ff0X::181 with X from udp6_scope (IPv6Primary).
	IPv6PeerDelay = netip.MustParseAddr("ff02::6b")
)

// IPv6Primary returns ff0X::181 for the multicast scope X (udp6_scope,
// 0x0E by default: global).
func IPv6Primary(scope uint8) netip.Addr {
	b := netip.MustParseAddr("ff0e::181").As16()
	b[1] = scope & 0x0f
	return netip.AddrFrom16(b)
}

// PTP's UDP ports (Annex C and D).
const (
	EventPort   = 319
	GeneralPort = 320
)

// EtherType is PTP's EtherType (Annex E).
const EtherType = 0x88f7
