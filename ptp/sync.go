package ptp

// Sync is the Sync message (IEEE 1588-2019 13.6). In a one-step Sync,
// OriginTimestamp is the transmit time; in a two-step Sync (FlagTwoStep) it
// is an estimate and the Follow_Up carries the precise time.
type Sync struct {
	Header
	OriginTimestamp Timestamp
	TLVs            TLVs
}

// Type returns MessageSync.
func (m *Sync) Type() MessageType { return MessageSync }

// Hdr returns the header.
func (m *Sync) Hdr() *Header { return &m.Header }

// Suffix returns the TLVs after the fixed fields.
func (m *Sync) Suffix() *TLVs { return &m.TLVs }

// UnmarshalBinary decodes a Sync message; bytes after messageLength are
// ignored.
func (m *Sync) UnmarshalBinary(b []byte) error {
	n, ok := decodeHeader(&m.Header, b, MessageSync, SyncLen)
	if !ok {
		return headerError(&m.Header, b, MessageSync, SyncLen)
	}
	b = b[:n]
	m.OriginTimestamp.decode(b[HeaderLen:SyncLen])
	return m.TLVs.set(b[SyncLen:], MessageSync, SyncLen)
}

// AppendBinary appends the encoded message to b.
func (m *Sync) AppendBinary(b []byte) ([]byte, error) {
	n, err := startEncode(MessageSync, SyncLen, &m.TLVs)
	if err != nil {
		return b, err
	}
	if err := checkTimestamp(MessageSync, "originTimestamp", HeaderLen, m.OriginTimestamp); err != nil {
		return b, err
	}
	b = m.Header.append(b, MessageSync, n)
	b = m.OriginTimestamp.append(b)
	return append(b, m.TLVs.b...), nil
}

// MarshalBinary returns the encoded message.
func (m *Sync) MarshalBinary() ([]byte, error) { return marshal(m, SyncLen+m.TLVs.Len()) }

// DelayReq is the Delay_Req message (IEEE 1588-2019 13.6): same layout as
// Sync. OriginTimestamp may be zero; the sender's transmit timestamp is what
// the delay computation uses.
type DelayReq struct {
	Header
	OriginTimestamp Timestamp
	TLVs            TLVs
}

// Type returns MessageDelayReq.
func (m *DelayReq) Type() MessageType { return MessageDelayReq }

// Hdr returns the header.
func (m *DelayReq) Hdr() *Header { return &m.Header }

// Suffix returns the TLVs after the fixed fields.
func (m *DelayReq) Suffix() *TLVs { return &m.TLVs }

// UnmarshalBinary decodes a Delay_Req message.
func (m *DelayReq) UnmarshalBinary(b []byte) error {
	n, ok := decodeHeader(&m.Header, b, MessageDelayReq, DelayReqLen)
	if !ok {
		return headerError(&m.Header, b, MessageDelayReq, DelayReqLen)
	}
	b = b[:n]
	m.OriginTimestamp.decode(b[HeaderLen:DelayReqLen])
	return m.TLVs.set(b[DelayReqLen:], MessageDelayReq, DelayReqLen)
}

// AppendBinary appends the encoded message to b.
func (m *DelayReq) AppendBinary(b []byte) ([]byte, error) {
	n, err := startEncode(MessageDelayReq, DelayReqLen, &m.TLVs)
	if err != nil {
		return b, err
	}
	if err := checkTimestamp(MessageDelayReq, "originTimestamp", HeaderLen, m.OriginTimestamp); err != nil {
		return b, err
	}
	b = m.Header.append(b, MessageDelayReq, n)
	b = m.OriginTimestamp.append(b)
	return append(b, m.TLVs.b...), nil
}

// MarshalBinary returns the encoded message.
func (m *DelayReq) MarshalBinary() ([]byte, error) { return marshal(m, DelayReqLen+m.TLVs.Len()) }

// FollowUp is the Follow_Up message (IEEE 1588-2019 13.7): the precise
// transmit time of the two-step Sync with the same sequenceId.
type FollowUp struct {
	Header
	PreciseOriginTimestamp Timestamp
	TLVs                   TLVs
}

// Type returns MessageFollowUp.
func (m *FollowUp) Type() MessageType { return MessageFollowUp }

// Hdr returns the header.
func (m *FollowUp) Hdr() *Header { return &m.Header }

// Suffix returns the TLVs after the fixed fields (gPTP's Follow_Up
// information TLV, for one).
func (m *FollowUp) Suffix() *TLVs { return &m.TLVs }

// UnmarshalBinary decodes a Follow_Up message.
func (m *FollowUp) UnmarshalBinary(b []byte) error {
	n, ok := decodeHeader(&m.Header, b, MessageFollowUp, FollowUpLen)
	if !ok {
		return headerError(&m.Header, b, MessageFollowUp, FollowUpLen)
	}
	b = b[:n]
	m.PreciseOriginTimestamp.decode(b[HeaderLen:FollowUpLen])
	return m.TLVs.set(b[FollowUpLen:], MessageFollowUp, FollowUpLen)
}

// AppendBinary appends the encoded message to b.
func (m *FollowUp) AppendBinary(b []byte) ([]byte, error) {
	n, err := startEncode(MessageFollowUp, FollowUpLen, &m.TLVs)
	if err != nil {
		return b, err
	}
	if err := checkTimestamp(MessageFollowUp, "preciseOriginTimestamp", HeaderLen, m.PreciseOriginTimestamp); err != nil {
		return b, err
	}
	b = m.Header.append(b, MessageFollowUp, n)
	b = m.PreciseOriginTimestamp.append(b)
	return append(b, m.TLVs.b...), nil
}

// MarshalBinary returns the encoded message.
func (m *FollowUp) MarshalBinary() ([]byte, error) { return marshal(m, FollowUpLen+m.TLVs.Len()) }

// DelayResp is the Delay_Resp message (IEEE 1588-2019 13.8): when the master
// received the Delay_Req of RequestingPortIdentity with the same sequenceId.
type DelayResp struct {
	Header
	ReceiveTimestamp       Timestamp
	RequestingPortIdentity PortIdentity
	TLVs                   TLVs
}

// Type returns MessageDelayResp.
func (m *DelayResp) Type() MessageType { return MessageDelayResp }

// Hdr returns the header.
func (m *DelayResp) Hdr() *Header { return &m.Header }

// Suffix returns the TLVs after the fixed fields.
func (m *DelayResp) Suffix() *TLVs { return &m.TLVs }

// UnmarshalBinary decodes a Delay_Resp message.
func (m *DelayResp) UnmarshalBinary(b []byte) error {
	n, ok := decodeHeader(&m.Header, b, MessageDelayResp, DelayRespLen)
	if !ok {
		return headerError(&m.Header, b, MessageDelayResp, DelayRespLen)
	}
	b = b[:n]
	m.ReceiveTimestamp.decode(b[HeaderLen : HeaderLen+timestampLen])
	m.RequestingPortIdentity.decode(b[HeaderLen+timestampLen : DelayRespLen])
	return m.TLVs.set(b[DelayRespLen:], MessageDelayResp, DelayRespLen)
}

// AppendBinary appends the encoded message to b.
func (m *DelayResp) AppendBinary(b []byte) ([]byte, error) {
	n, err := startEncode(MessageDelayResp, DelayRespLen, &m.TLVs)
	if err != nil {
		return b, err
	}
	if err := checkTimestamp(MessageDelayResp, "receiveTimestamp", HeaderLen, m.ReceiveTimestamp); err != nil {
		return b, err
	}
	b = m.Header.append(b, MessageDelayResp, n)
	b = m.ReceiveTimestamp.append(b)
	b = m.RequestingPortIdentity.append(b)
	return append(b, m.TLVs.b...), nil
}

// MarshalBinary returns the encoded message.
func (m *DelayResp) MarshalBinary() ([]byte, error) { return marshal(m, DelayRespLen+m.TLVs.Len()) }
