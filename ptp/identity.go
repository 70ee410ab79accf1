package ptp

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// ClockIdentity identifies a PTP instance (IEEE 1588-2019 5.3.4, 7.5.2.2):
// eight octets, on Ethernet usually the EUI-48 MAC with FF:FE inserted in the
// middle (an EUI-64).
type ClockIdentity [8]byte

// ClockIdentityFromMAC derives a ClockIdentity from a 48-bit MAC address the
// way linuxptp and most implementations do: the OUI, then FF FE, then the
// lower three octets. Other lengths yield the zero identity and false.
func ClockIdentityFromMAC(mac net.HardwareAddr) (ClockIdentity, bool) {
	var c ClockIdentity
	if len(mac) != 6 {
		return c, false
	}
	c[0], c[1], c[2] = mac[0], mac[1], mac[2]
	c[3], c[4] = 0xff, 0xfe
	c[5], c[6], c[7] = mac[3], mac[4], mac[5]
	return c, true
}

// String formats the identity as linuxptp prints it: "328031.fffe.54c44b".
func (c ClockIdentity) String() string {
	var b [18]byte
	return string(c.appendText(b[:0]))
}

func (c ClockIdentity) appendText(b []byte) []byte {
	b = hex.AppendEncode(b, c[0:3])
	b = append(b, '.')
	b = hex.AppendEncode(b, c[3:5])
	b = append(b, '.')
	return hex.AppendEncode(b, c[5:8])
}

// ParseClockIdentity parses linuxptp's "328031.fffe.54c44b" form, and also
// sixteen hex digits with or without colons or dashes between octets.
func ParseClockIdentity(s string) (ClockIdentity, error) {
	var c ClockIdentity
	clean := strings.NewReplacer(".", "", ":", "", "-", "").Replace(s)
	if len(clean) != 16 {
		return c, fmt.Errorf("ptp: clock identity %q: want 8 octets in hex", s)
	}
	if _, err := hex.Decode(c[:], []byte(clean)); err != nil {
		return c, fmt.Errorf("ptp: clock identity %q: %w", s, err)
	}
	return c, nil
}

// PortIdentity names one PTP port (IEEE 1588-2019 5.3.5): the clock and the
// port number within it, 1-based; 0 names the clock itself (management), and
// 0xFFFF means all ports.
type PortIdentity struct {
	ClockIdentity ClockIdentity
	PortNumber    uint16
}

// AllPorts is the portNumber wildcard of IEEE 1588-2019 15.5.1.2.
const AllPorts uint16 = 0xffff

// WildcardPortIdentity is the all-ones targetPortIdentity that addresses
// every clock and port (IEEE 1588-2019 15.5.1.2).
var WildcardPortIdentity = PortIdentity{
	ClockIdentity: ClockIdentity{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	PortNumber:    AllPorts,
}

// String formats the identity as linuxptp does: "328031.fffe.54c44b-1".
func (p PortIdentity) String() string {
	var b [24]byte
	out := p.ClockIdentity.appendText(b[:0])
	out = append(out, '-')
	return string(strconv.AppendUint(out, uint64(p.PortNumber), 10))
}

// ParsePortIdentity parses linuxptp's "328031.fffe.54c44b-1" form.
func ParsePortIdentity(s string) (PortIdentity, error) {
	i := strings.LastIndexByte(s, '-')
	if i < 0 {
		return PortIdentity{}, fmt.Errorf("ptp: port identity %q: want CLOCKIDENTITY-PORTNUMBER", s)
	}
	c, err := ParseClockIdentity(s[:i])
	if err != nil {
		return PortIdentity{}, err
	}
	n, err := strconv.ParseUint(s[i+1:], 10, 16)
	if err != nil {
		return PortIdentity{}, fmt.Errorf("ptp: port identity %q: port number: %w", s, err)
	}
	return PortIdentity{ClockIdentity: c, PortNumber: uint16(n)}, nil
}

// Matches reports whether p, used as a targetPortIdentity, addresses port q:
// the all-ones clock identity and portNumber 0xFFFF are wildcards.
func (p PortIdentity) Matches(q PortIdentity) bool {
	if p.ClockIdentity != WildcardPortIdentity.ClockIdentity && p.ClockIdentity != q.ClockIdentity {
		return false
	}
	return p.PortNumber == AllPorts || p.PortNumber == q.PortNumber
}

const portIdentityLen = 10

func (p *PortIdentity) decode(b []byte) {
	_ = b[9]
	copy(p.ClockIdentity[:], b[0:8])
	p.PortNumber = binary.BigEndian.Uint16(b[8:10])
}

func (p PortIdentity) append(b []byte) []byte {
	b = append(b, p.ClockIdentity[:]...)
	return binary.BigEndian.AppendUint16(b, p.PortNumber)
}
