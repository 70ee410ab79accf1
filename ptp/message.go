package ptp

import (
	"encoding"
	"encoding/binary"
)

// Packet is implemented by the value of every message type: *Sync,
// *DelayReq, *PdelayReq, *PdelayResp, *FollowUp, *DelayResp,
// *PdelayRespFollowUp, *Announce, *Signaling and *Management.
type Packet interface {
	// Type is the message type the value encodes as.
	Type() MessageType
	// Hdr returns the message's common header.
	Hdr() *Header
	// Suffix returns the TLVs after the message's fixed fields (for
	// Signaling and Management, every TLV of the message).
	Suffix() *TLVs
	encoding.BinaryAppender
	encoding.BinaryMarshaler
	encoding.BinaryUnmarshaler
}

// Fixed lengths of each message type up to its TLVs (IEEE 1588-2019 13.5 to
// 13.13).
const (
	SyncLen               = HeaderLen + timestampLen                                               // 44
	DelayReqLen           = HeaderLen + timestampLen                                               // 44
	FollowUpLen           = HeaderLen + timestampLen                                               // 44
	DelayRespLen          = HeaderLen + timestampLen + portIdentityLen                             // 54
	PdelayReqLen          = HeaderLen + timestampLen + 10                                          // 54
	PdelayRespLen         = HeaderLen + timestampLen + portIdentityLen                             // 54
	PdelayRespFollowUpLen = HeaderLen + timestampLen + portIdentityLen                             // 54
	AnnounceLen           = HeaderLen + timestampLen + 2 + 1 + 1 + clockQualityLen + 1 + 8 + 2 + 1 // 64
	SignalingLen          = HeaderLen + portIdentityLen                                            // 44
	ManagementLen         = HeaderLen + portIdentityLen + 4                                        // 48
)

// MinLength returns the fixed length of a message type, or 0 for a type the
// standard does not define.
func MinLength(t MessageType) int {
	switch t {
	case MessageSync, MessageDelayReq, MessageFollowUp:
		return SyncLen
	case MessageDelayResp, MessagePdelayReq, MessagePdelayResp, MessagePdelayRespFollowUp:
		return DelayRespLen
	case MessageAnnounce:
		return AnnounceLen
	case MessageSignaling:
		return SignalingLen
	case MessageManagement:
		return ManagementLen
	}
	return 0
}

// decodeHeader decodes the header into h and reports whether it is a
// version 2 header of type want, with a messageLength of at least fixed
// octets that fits in b; n is that messageLength. It runs for every message
// received, so it is a leaf: no calls, no error values (the caller asks
// headerError why on the cold path), and one bounds check for all loads.
func decodeHeader(h *Header, b []byte, want MessageType, fixed int) (n int, ok bool) {
	if len(b) < HeaderLen {
		return 0, false
	}
	a := b[:HeaderLen]
	h.MajorSdoID = a[0] >> 4
	h.MessageType = MessageType(a[0] & 0x0f)
	h.MinorVersionPTP = a[1] >> 4
	h.VersionPTP = a[1] & 0x0f
	h.MessageLength = binary.BigEndian.Uint16(a[2:4])
	h.DomainNumber = a[4]
	h.MinorSdoID = a[5]
	h.Flags = Flags(binary.BigEndian.Uint16(a[6:8]))
	h.CorrectionField = TimeInterval(binary.BigEndian.Uint64(a[8:16]))
	h.MessageTypeSpecific = binary.BigEndian.Uint32(a[16:20])
	h.SourcePortIdentity.ClockIdentity = ClockIdentity(a[20:28])
	h.SourcePortIdentity.PortNumber = binary.BigEndian.Uint16(a[28:30])
	h.SequenceID = binary.BigEndian.Uint16(a[30:32])
	h.ControlField = a[32]
	h.LogMessageInterval = int8(a[33])
	n = int(h.MessageLength)
	return n, h.VersionPTP == VersionPTP2 && h.MessageType == want && n >= fixed && n <= len(b)
}

// headerError says why decodeHeader refused b, checking in the order a
// reader would: the header itself, then the type, then the length.
func headerError(h *Header, b []byte, want MessageType, fixed int) error {
	if _, err := PeekMessageType(b); err != nil {
		return err
	}
	if h.MessageType != want {
		return formatErr(h.MessageType, "messageType", 0, ErrWrongMessageType)
	}
	return formatErr(want, "messageLength", 2, ErrShortMessage)
}

// startEncode checks what every encoder checks and returns the message
// length to write in the header.
func startEncode(t MessageType, fixed int, tlvs *TLVs) (int, error) {
	n := fixed + len(tlvs.b)
	if n > 0xffff {
		return 0, formatErr(t, "messageLength", 2, ErrMessageTooLong)
	}
	return n, nil
}

func checkTimestamp(t MessageType, field string, off int, ts Timestamp) error {
	if ts.Seconds > MaxTimestampSeconds {
		return formatErr(t, field, off, ErrValueRange)
	}
	return nil
}

func marshal(p Packet, size int) ([]byte, error) {
	return p.AppendBinary(make([]byte, 0, size))
}

// Decode decodes any PTP message into a new value of its type. It allocates;
// a receive loop that must not uses a Decoder or the message types'
// UnmarshalBinary directly.
func Decode(b []byte) (Packet, error) {
	t, err := PeekMessageType(b)
	if err != nil {
		return nil, err
	}
	p := newPacket(t)
	if err := p.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	return p, nil
}

func newPacket(t MessageType) Packet {
	switch t {
	case MessageSync:
		return new(Sync)
	case MessageDelayReq:
		return new(DelayReq)
	case MessagePdelayReq:
		return new(PdelayReq)
	case MessagePdelayResp:
		return new(PdelayResp)
	case MessageFollowUp:
		return new(FollowUp)
	case MessageDelayResp:
		return new(DelayResp)
	case MessagePdelayRespFollowUp:
		return new(PdelayRespFollowUp)
	case MessageAnnounce:
		return new(Announce)
	case MessageSignaling:
		return new(Signaling)
	case MessageManagement:
		return new(Management)
	}
	return nil
}

// Decoder decodes any message type without allocating: it holds one value
// of each type and decodes into the one the header names. The Packet it
// returns points into the Decoder and is valid until the next Decode. A
// Decoder is not safe for concurrent use; give each receive loop its own.
type Decoder struct {
	Sync               Sync
	DelayReq           DelayReq
	PdelayReq          PdelayReq
	PdelayResp         PdelayResp
	FollowUp           FollowUp
	DelayResp          DelayResp
	PdelayRespFollowUp PdelayRespFollowUp
	Announce           Announce
	Signaling          Signaling
	Management         Management
}

// Decode decodes b into the Decoder's value of b's message type.
func (d *Decoder) Decode(b []byte) (Packet, error) {
	t, err := PeekMessageType(b)
	if err != nil {
		return nil, err
	}
	var p Packet
	switch t {
	case MessageSync:
		p = &d.Sync
	case MessageDelayReq:
		p = &d.DelayReq
	case MessagePdelayReq:
		p = &d.PdelayReq
	case MessagePdelayResp:
		p = &d.PdelayResp
	case MessageFollowUp:
		p = &d.FollowUp
	case MessageDelayResp:
		p = &d.DelayResp
	case MessagePdelayRespFollowUp:
		p = &d.PdelayRespFollowUp
	case MessageAnnounce:
		p = &d.Announce
	case MessageSignaling:
		p = &d.Signaling
	case MessageManagement:
		p = &d.Management
	}
	if err := p.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	return p, nil
}
