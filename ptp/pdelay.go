package ptp

// PdelayReq is the Pdelay_Req message (IEEE 1588-2019 13.9) of the
// peer-to-peer delay mechanism.
type PdelayReq struct {
	Header
	OriginTimestamp Timestamp
	// reserved holds the ten octets the standard reserves so that Pdelay_Req
	// is as long as Pdelay_Resp (symmetric frames through bridges); kept as
	// received so the message re-encodes unchanged.
	reserved [10]byte
	TLVs     TLVs
}

// Type returns MessagePdelayReq.
func (m *PdelayReq) Type() MessageType { return MessagePdelayReq }

// Hdr returns the header.
func (m *PdelayReq) Hdr() *Header { return &m.Header }

// Suffix returns the TLVs after the fixed fields.
func (m *PdelayReq) Suffix() *TLVs { return &m.TLVs }

// UnmarshalBinary decodes a Pdelay_Req message.
func (m *PdelayReq) UnmarshalBinary(b []byte) error {
	n, ok := decodeHeader(&m.Header, b, MessagePdelayReq, PdelayReqLen)
	if !ok {
		return headerError(&m.Header, b, MessagePdelayReq, PdelayReqLen)
	}
	b = b[:n]
	m.OriginTimestamp.decode(b[HeaderLen : HeaderLen+timestampLen])
	copy(m.reserved[:], b[HeaderLen+timestampLen:PdelayReqLen])
	return m.TLVs.set(b[PdelayReqLen:], MessagePdelayReq, PdelayReqLen)
}

// AppendBinary appends the encoded message to b.
func (m *PdelayReq) AppendBinary(b []byte) ([]byte, error) {
	n, err := startEncode(MessagePdelayReq, PdelayReqLen, &m.TLVs)
	if err != nil {
		return b, err
	}
	if err := checkTimestamp(MessagePdelayReq, "originTimestamp", HeaderLen, m.OriginTimestamp); err != nil {
		return b, err
	}
	b = m.Header.append(b, MessagePdelayReq, n)
	b = m.OriginTimestamp.append(b)
	b = append(b, m.reserved[:]...)
	return append(b, m.TLVs.b...), nil
}

// MarshalBinary returns the encoded message.
func (m *PdelayReq) MarshalBinary() ([]byte, error) { return marshal(m, PdelayReqLen+m.TLVs.Len()) }

// PdelayResp is the Pdelay_Resp message (IEEE 1588-2019 13.10): when the
// responder received the Pdelay_Req of RequestingPortIdentity (t2), or, in a
// one-step responder, the turnaround time in correctionField.
type PdelayResp struct {
	Header
	RequestReceiptTimestamp Timestamp
	RequestingPortIdentity  PortIdentity
	TLVs                    TLVs
}

// Type returns MessagePdelayResp.
func (m *PdelayResp) Type() MessageType { return MessagePdelayResp }

// Hdr returns the header.
func (m *PdelayResp) Hdr() *Header { return &m.Header }

// Suffix returns the TLVs after the fixed fields.
func (m *PdelayResp) Suffix() *TLVs { return &m.TLVs }

// UnmarshalBinary decodes a Pdelay_Resp message.
func (m *PdelayResp) UnmarshalBinary(b []byte) error {
	n, ok := decodeHeader(&m.Header, b, MessagePdelayResp, PdelayRespLen)
	if !ok {
		return headerError(&m.Header, b, MessagePdelayResp, PdelayRespLen)
	}
	b = b[:n]
	m.RequestReceiptTimestamp.decode(b[HeaderLen : HeaderLen+timestampLen])
	m.RequestingPortIdentity.decode(b[HeaderLen+timestampLen : PdelayRespLen])
	return m.TLVs.set(b[PdelayRespLen:], MessagePdelayResp, PdelayRespLen)
}

// AppendBinary appends the encoded message to b.
func (m *PdelayResp) AppendBinary(b []byte) ([]byte, error) {
	n, err := startEncode(MessagePdelayResp, PdelayRespLen, &m.TLVs)
	if err != nil {
		return b, err
	}
	if err := checkTimestamp(MessagePdelayResp, "requestReceiptTimestamp", HeaderLen, m.RequestReceiptTimestamp); err != nil {
		return b, err
	}
	b = m.Header.append(b, MessagePdelayResp, n)
	b = m.RequestReceiptTimestamp.append(b)
	b = m.RequestingPortIdentity.append(b)
	return append(b, m.TLVs.b...), nil
}

// MarshalBinary returns the encoded message.
func (m *PdelayResp) MarshalBinary() ([]byte, error) { return marshal(m, PdelayRespLen+m.TLVs.Len()) }

// PdelayRespFollowUp is the Pdelay_Resp_Follow_Up message (IEEE 1588-2019
// 13.11): when a two-step responder sent its Pdelay_Resp (t3).
type PdelayRespFollowUp struct {
	Header
	ResponseOriginTimestamp Timestamp
	RequestingPortIdentity  PortIdentity
	TLVs                    TLVs
}

// Type returns MessagePdelayRespFollowUp.
func (m *PdelayRespFollowUp) Type() MessageType { return MessagePdelayRespFollowUp }

// Hdr returns the header.
func (m *PdelayRespFollowUp) Hdr() *Header { return &m.Header }

// Suffix returns the TLVs after the fixed fields.
func (m *PdelayRespFollowUp) Suffix() *TLVs { return &m.TLVs }

// UnmarshalBinary decodes a Pdelay_Resp_Follow_Up message.
func (m *PdelayRespFollowUp) UnmarshalBinary(b []byte) error {
	n, ok := decodeHeader(&m.Header, b, MessagePdelayRespFollowUp, PdelayRespFollowUpLen)
	if !ok {
		return headerError(&m.Header, b, MessagePdelayRespFollowUp, PdelayRespFollowUpLen)
	}
	b = b[:n]
	m.ResponseOriginTimestamp.decode(b[HeaderLen : HeaderLen+timestampLen])
	m.RequestingPortIdentity.decode(b[HeaderLen+timestampLen : PdelayRespFollowUpLen])
	return m.TLVs.set(b[PdelayRespFollowUpLen:], MessagePdelayRespFollowUp, PdelayRespFollowUpLen)
}

// AppendBinary appends the encoded message to b.
func (m *PdelayRespFollowUp) AppendBinary(b []byte) ([]byte, error) {
	n, err := startEncode(MessagePdelayRespFollowUp, PdelayRespFollowUpLen, &m.TLVs)
	if err != nil {
		return b, err
	}
	if err := checkTimestamp(MessagePdelayRespFollowUp, "responseOriginTimestamp", HeaderLen, m.ResponseOriginTimestamp); err != nil {
		return b, err
	}
	b = m.Header.append(b, MessagePdelayRespFollowUp, n)
	b = m.ResponseOriginTimestamp.append(b)
	b = m.RequestingPortIdentity.append(b)
	return append(b, m.TLVs.b...), nil
}

// MarshalBinary returns the encoded message.
func (m *PdelayRespFollowUp) MarshalBinary() ([]byte, error) {
	return marshal(m, PdelayRespFollowUpLen+m.TLVs.Len())
}
