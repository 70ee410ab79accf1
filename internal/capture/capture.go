// Package capture reads PTP messages out of packet captures (pcap and
// pcapng): the frames' link, VLAN, IP and UDP headers are peeled off and
// each PTP message comes back with its capture time and addresses. The file
// formats are read by gopacket's pcapgo; this package only walks headers.
//
// It is for tests, replay and analysis. It must never open a live socket.
package capture

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Transport is how a PTP message travelled.
type Transport uint8

// Transports.
const (
	L2    Transport = iota + 1 // IEEE 802.3, EtherType 0x88F7 (Annex E)
	UDPv4                      // UDP over IPv4, ports 319/320 (Annex C)
	UDPv6                      // UDP over IPv6, ports 319/320 (Annex D)
)

func (t Transport) String() string {
	switch t {
	case L2:
		return "L2"
	case UDPv4:
		return "UDPv4"
	case UDPv6:
		return "UDPv6"
	}
	return "unknown"
}

// EtherTypePTP is the EtherType of PTP over IEEE 802.3.
const EtherTypePTP = 0x88f7

// PTP's UDP ports.
const (
	PortEvent   = 319
	PortGeneral = 320
)

// Packet is one PTP message found in a capture.
type Packet struct {
	Frame     int       // 1-based frame number in the file, as Wireshark counts
	Time      time.Time // capture timestamp
	Transport Transport
	SrcMAC    [6]byte // zero for link types without MAC addresses
	DstMAC    [6]byte
	VLAN      int            // 802.1Q VLAN ID, or -1 when untagged
	Src, Dst  netip.AddrPort // for UDP transports
	// Payload is the PTP message: the UDP payload, or for L2 the rest of the
	// frame (which may include Ethernet padding after messageLength). It
	// aliases the reader's buffer and is valid until the next call to Next.
	Payload []byte
}

// Reader returns the PTP messages of a capture one by one.
type Reader struct {
	src     packetSource
	close   func() error
	link    layers.LinkType
	frame   int
	skipped int
	damaged int
}

type packetSource interface {
	ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// Open opens a pcap or pcapng file.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	r.close = f.Close
	return r, nil
}

// NewReader reads a capture from rd, telling pcap and pcapng apart by their
// magic numbers.
func NewReader(rd io.Reader) (*Reader, error) {
	br := bufio.NewReaderSize(rd, 1<<16)
	magic, err := br.Peek(4)
	if err != nil {
		return nil, fmt.Errorf("capture: reading the file header: %w", err)
	}
	r := &Reader{}
	if bytes.Equal(magic, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		ng, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return nil, fmt.Errorf("capture: pcapng: %w", err)
		}
		r.src, r.link = ng, ng.LinkType()
		return r, nil
	}
	pr, err := pcapgo.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("capture: pcap: %w", err)
	}
	r.src, r.link = pr, pr.LinkType()
	return r, nil
}

// Close closes the file Open opened.
func (r *Reader) Close() error {
	if r.close == nil {
		return nil
	}
	return r.close()
}

// Frames returns how many frames were read so far.
func (r *Reader) Frames() int { return r.frame }

// Skipped returns how many frames held no PTP message.
func (r *Reader) Skipped() int { return r.skipped }

// Damaged returns how many frames were cut short inside their link, IP or
// UDP headers.
func (r *Reader) Damaged() int { return r.damaged }

// ErrTruncatedFile is returned when a capture ends inside a record.
var ErrTruncatedFile = errors.New("capture: file ends inside a packet record")

// Next fills p with the next PTP message. It returns io.EOF at the end of
// the capture, and ErrTruncatedFile when the file was cut inside a record.
func (r *Reader) Next(p *Packet) error {
	for {
		data, ci, err := r.src.ReadPacketData()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return io.EOF
			}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return ErrTruncatedFile
			}
			return fmt.Errorf("capture: frame %d: %w", r.frame+1, err)
		}
		r.frame++
		*p = Packet{Frame: r.frame, Time: ci.Timestamp, VLAN: -1}
		switch ok, damaged := parseFrame(r.link, data, p); {
		case ok:
			return nil
		case damaged:
			r.damaged++
		default:
			r.skipped++
		}
	}
}

// parseFrame finds a PTP message in one frame. damaged reports a frame cut
// inside its headers.
func parseFrame(link layers.LinkType, b []byte, p *Packet) (ok, damaged bool) {
	var etherType uint16
	switch link {
	case layers.LinkTypeEthernet:
		if len(b) < 14 {
			return false, true
		}
		copy(p.DstMAC[:], b[0:6])
		copy(p.SrcMAC[:], b[6:12])
		etherType, b = binary.BigEndian.Uint16(b[12:14]), b[14:]
	case layers.LinkTypeLinuxSLL: // 16-octet cooked header
		if len(b) < 16 {
			return false, true
		}
		if binary.BigEndian.Uint16(b[4:6]) == 6 {
			copy(p.SrcMAC[:], b[6:12])
		}
		etherType, b = binary.BigEndian.Uint16(b[14:16]), b[16:]
	case layers.LinkTypeLinuxSLL2: // 20-octet cooked header, protocol first
		if len(b) < 20 {
			return false, true
		}
		if b[11] == 6 {
			copy(p.SrcMAC[:], b[12:18])
		}
		etherType, b = binary.BigEndian.Uint16(b[0:2]), b[20:]
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6:
		if len(b) < 1 {
			return false, true
		}
		switch b[0] >> 4 {
		case 4:
			etherType = 0x0800
		case 6:
			etherType = 0x86dd
		default:
			return false, false
		}
	default:
		return false, false
	}
	for etherType == 0x8100 || etherType == 0x88a8 { // 802.1Q / 802.1ad tags
		if len(b) < 4 {
			return false, true
		}
		if p.VLAN < 0 {
			p.VLAN = int(binary.BigEndian.Uint16(b[0:2]) & 0x0fff)
		}
		etherType, b = binary.BigEndian.Uint16(b[2:4]), b[4:]
	}
	switch etherType {
	case EtherTypePTP:
		p.Transport, p.Payload = L2, b
		return true, false
	case 0x0800:
		return parseIPv4(b, p)
	case 0x86dd:
		return parseIPv6(b, p)
	}
	return false, false
}

func parseIPv4(b []byte, p *Packet) (ok, damaged bool) {
	if len(b) < 20 {
		return false, true
	}
	ihl := int(b[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(b[2:4]))
	if ihl < 20 || len(b) < ihl || total < ihl {
		return false, true
	}
	if b[9] != 17 { // not UDP
		return false, false
	}
	if binary.BigEndian.Uint16(b[6:8])&0x1fff != 0 { // a later fragment
		return false, false
	}
	src, _ := netip.AddrFromSlice(b[12:16])
	dst, _ := netip.AddrFromSlice(b[16:20])
	if total < len(b) {
		b = b[:total] // drop Ethernet padding
	}
	p.Transport = UDPv4
	return parseUDP(b[ihl:], src, dst, p)
}

func parseIPv6(b []byte, p *Packet) (ok, damaged bool) {
	if len(b) < 40 {
		return false, true
	}
	src, _ := netip.AddrFromSlice(b[8:24])
	dst, _ := netip.AddrFromSlice(b[24:40])
	next, payload := b[6], b[40:]
	if n := int(binary.BigEndian.Uint16(b[4:6])); n < len(payload) {
		payload = payload[:n]
	}
	// Skip the extension headers that can precede UDP.
	for next == 0 || next == 43 || next == 60 {
		if len(payload) < 8 {
			return false, true
		}
		l := 8 + int(payload[1])*8
		if len(payload) < l {
			return false, true
		}
		next, payload = payload[0], payload[l:]
	}
	if next != 17 {
		return false, false
	}
	p.Transport = UDPv6
	return parseUDP(payload, src, dst, p)
}

func parseUDP(b []byte, src, dst netip.Addr, p *Packet) (ok, damaged bool) {
	if len(b) < 8 {
		return false, true
	}
	sport, dport := binary.BigEndian.Uint16(b[0:2]), binary.BigEndian.Uint16(b[2:4])
	if !isPTPPort(sport) && !isPTPPort(dport) {
		return false, false
	}
	l := int(binary.BigEndian.Uint16(b[4:6]))
	if l < 8 {
		return false, true
	}
	payload := b[8:]
	if l-8 < len(payload) {
		payload = payload[:l-8]
	}
	p.Src, p.Dst = netip.AddrPortFrom(src, sport), netip.AddrPortFrom(dst, dport)
	p.Payload = payload
	return true, false
}

func isPTPPort(port uint16) bool { return port == PortEvent || port == PortGeneral }
