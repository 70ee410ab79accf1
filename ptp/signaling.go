package ptp

// Signaling is the Signaling message (IEEE 1588-2019 13.12): a carrier of
// TLVs addressed to a port, such as unicast negotiation requests and grants.
type Signaling struct {
	Header
	TargetPortIdentity PortIdentity
	// TLVs holds every TLV of the message.
	TLVs TLVs
}

// Type returns MessageSignaling.
func (m *Signaling) Type() MessageType { return MessageSignaling }

// Hdr returns the header.
func (m *Signaling) Hdr() *Header { return &m.Header }

// Suffix returns the message's TLVs.
func (m *Signaling) Suffix() *TLVs { return &m.TLVs }

// UnmarshalBinary decodes a Signaling message.
func (m *Signaling) UnmarshalBinary(b []byte) error {
	n, ok := decodeHeader(&m.Header, b, MessageSignaling, SignalingLen)
	if !ok {
		return headerError(&m.Header, b, MessageSignaling, SignalingLen)
	}
	b = b[:n]
	m.TargetPortIdentity.decode(b[HeaderLen:SignalingLen])
	return m.TLVs.set(b[SignalingLen:], MessageSignaling, SignalingLen)
}

// AppendBinary appends the encoded message to b.
func (m *Signaling) AppendBinary(b []byte) ([]byte, error) {
	n, err := startEncode(MessageSignaling, SignalingLen, &m.TLVs)
	if err != nil {
		return b, err
	}
	b = m.Header.append(b, MessageSignaling, n)
	b = m.TargetPortIdentity.append(b)
	return append(b, m.TLVs.b...), nil
}

// MarshalBinary returns the encoded message.
func (m *Signaling) MarshalBinary() ([]byte, error) { return marshal(m, SignalingLen+m.TLVs.Len()) }
