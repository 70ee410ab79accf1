package ptp

import "encoding/binary"

// Announce is the Announce message (IEEE 1588-2019 13.5): what a master says
// about its grandmaster, for the best master clock algorithm.
type Announce struct {
	Header
	OriginTimestamp         Timestamp
	CurrentUTCOffset        int16
	reserved                uint8
	GrandmasterPriority1    uint8
	GrandmasterClockQuality ClockQuality
	GrandmasterPriority2    uint8
	GrandmasterIdentity     ClockIdentity
	StepsRemoved            uint16
	TimeSource              TimeSource
	// TLVs holds the suffix, for example a PATH_TRACE or an
	// ALTERNATE_TIME_OFFSET_INDICATOR.
	TLVs TLVs
}

// Type returns MessageAnnounce.
func (m *Announce) Type() MessageType { return MessageAnnounce }

// Hdr returns the header.
func (m *Announce) Hdr() *Header { return &m.Header }

// Suffix returns the TLVs after the fixed fields.
func (m *Announce) Suffix() *TLVs { return &m.TLVs }

// UnmarshalBinary decodes an Announce message.
func (m *Announce) UnmarshalBinary(b []byte) error {
	n, ok := decodeHeader(&m.Header, b, MessageAnnounce, AnnounceLen)
	if !ok {
		return headerError(&m.Header, b, MessageAnnounce, AnnounceLen)
	}
	b = b[:n]
	body := b[HeaderLen:AnnounceLen]
	_ = body[29]
	m.OriginTimestamp.decode(body[0:10])
	m.CurrentUTCOffset = int16(binary.BigEndian.Uint16(body[10:12]))
	m.reserved = body[12]
	m.GrandmasterPriority1 = body[13]
	m.GrandmasterClockQuality.decode(body[14:18])
	m.GrandmasterPriority2 = body[18]
	copy(m.GrandmasterIdentity[:], body[19:27])
	m.StepsRemoved = binary.BigEndian.Uint16(body[27:29])
	m.TimeSource = TimeSource(body[29])
	return m.TLVs.set(b[AnnounceLen:], MessageAnnounce, AnnounceLen)
}

// AppendBinary appends the encoded message to b.
func (m *Announce) AppendBinary(b []byte) ([]byte, error) {
	n, err := startEncode(MessageAnnounce, AnnounceLen, &m.TLVs)
	if err != nil {
		return b, err
	}
	if err := checkTimestamp(MessageAnnounce, "originTimestamp", HeaderLen, m.OriginTimestamp); err != nil {
		return b, err
	}
	b = m.Header.append(b, MessageAnnounce, n)
	b = m.OriginTimestamp.append(b)
	b = binary.BigEndian.AppendUint16(b, uint16(m.CurrentUTCOffset))
	b = append(b, m.reserved, m.GrandmasterPriority1)
	b = m.GrandmasterClockQuality.append(b)
	b = append(b, m.GrandmasterPriority2)
	b = append(b, m.GrandmasterIdentity[:]...)
	b = binary.BigEndian.AppendUint16(b, m.StepsRemoved)
	b = append(b, byte(m.TimeSource))
	return append(b, m.TLVs.b...), nil
}

// MarshalBinary returns the encoded message.
func (m *Announce) MarshalBinary() ([]byte, error) { return marshal(m, AnnounceLen+m.TLVs.Len()) }
