package ptp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// PTPText is the PTPText type of IEEE 1588-2019 5.3.9: a length octet and up
// to 255 octets of UTF-8. The codec keeps the octets as received, valid
// UTF-8 or not.
type PTPText string

// decodePTPText reads a PTPText from the start of b and returns it with the
// number of octets it took.
func decodePTPText(b []byte) (PTPText, int, error) {
	if len(b) < 1 {
		return "", 0, ErrWrongLength
	}
	n := int(b[0])
	if len(b) < 1+n {
		return "", 0, ErrWrongLength
	}
	return PTPText(b[1 : 1+n]), 1 + n, nil
}

func (t PTPText) append(b []byte) ([]byte, error) {
	if len(t) > 255 {
		return b, fmt.Errorf("ptp: PTPText of %d octets: %w", len(t), ErrValueRange)
	}
	b = append(b, byte(len(t)))
	return append(b, t...), nil
}

// NetworkProtocol is the networkProtocol enumeration of IEEE 1588-2019
// Table 3, used in PortAddress.
type NetworkProtocol uint16

// networkProtocol values.
const (
	ProtocolUDPIPv4    NetworkProtocol = 1
	ProtocolUDPIPv6    NetworkProtocol = 2
	ProtocolIEEE802_3  NetworkProtocol = 3
	ProtocolDeviceNet  NetworkProtocol = 4
	ProtocolControlNet NetworkProtocol = 5
	ProtocolPROFINET   NetworkProtocol = 6
)

// String names the protocol as pmc prints it in CLOCK_DESCRIPTION.
func (p NetworkProtocol) String() string {
	switch p {
	case ProtocolUDPIPv4:
		return "UDPv4"
	case ProtocolUDPIPv6:
		return "UDPv6"
	case ProtocolIEEE802_3:
		return "IEEE 802.3"
	case ProtocolDeviceNet:
		return "DeviceNet"
	case ProtocolControlNet:
		return "ControlNet"
	case ProtocolPROFINET:
		return "PROFINET"
	}
	return fmt.Sprintf("protocol %d", uint16(p))
}

// PortAddress is the PortAddress type of IEEE 1588-2019 5.3.6: a protocol
// and the address octets in that protocol's form (4 for IPv4, 16 for IPv6,
// 6 for Ethernet).
type PortAddress struct {
	NetworkProtocol NetworkProtocol
	Address         []byte
}

// Addr returns the address as an IP address for the UDP protocols.
func (a PortAddress) Addr() (netip.Addr, bool) {
	switch {
	case a.NetworkProtocol == ProtocolUDPIPv4 && len(a.Address) == 4,
		a.NetworkProtocol == ProtocolUDPIPv6 && len(a.Address) == 16:
		return netip.AddrFromSlice(a.Address)
	}
	return netip.Addr{}, false
}

func decodePortAddress(b []byte) (PortAddress, int, error) {
	if len(b) < 4 {
		return PortAddress{}, 0, ErrWrongLength
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if len(b) < 4+n {
		return PortAddress{}, 0, ErrWrongLength
	}
	return PortAddress{
		NetworkProtocol: NetworkProtocol(binary.BigEndian.Uint16(b[0:2])),
		Address:         append([]byte(nil), b[4:4+n]...),
	}, 4 + n, nil
}

func (a PortAddress) append(b []byte) ([]byte, error) {
	if len(a.Address) > 0xffff {
		return b, ErrValueRange
	}
	b = binary.BigEndian.AppendUint16(b, uint16(a.NetworkProtocol))
	b = binary.BigEndian.AppendUint16(b, uint16(len(a.Address)))
	return append(b, a.Address...), nil
}
