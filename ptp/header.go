package ptp

import (
	"encoding/binary"
	"strconv"
	"strings"
)

// MessageType is the messageType of IEEE 1588-2019 Table 36.
type MessageType uint8

// messageType values. Types 0x0 to 0x3 are event messages, timestamped on
// transmission and reception; the rest are general messages.
const (
	MessageSync               MessageType = 0x0
	MessageDelayReq           MessageType = 0x1
	MessagePdelayReq          MessageType = 0x2
	MessagePdelayResp         MessageType = 0x3
	MessageFollowUp           MessageType = 0x8
	MessageDelayResp          MessageType = 0x9
	MessagePdelayRespFollowUp MessageType = 0xa
	MessageAnnounce           MessageType = 0xb
	MessageSignaling          MessageType = 0xc
	MessageManagement         MessageType = 0xd
)

// IsEvent reports whether messages of this type are event messages, which
// travel on the event port (319) and carry hardware timestamps.
func (t MessageType) IsEvent() bool { return t <= MessagePdelayResp }

// Known reports whether IEEE 1588-2019 defines the type.
func (t MessageType) Known() bool {
	return t <= MessagePdelayResp || (t >= MessageFollowUp && t <= MessageManagement)
}

var messageTypeNames = [16]string{
	MessageSync:               "SYNC",
	MessageDelayReq:           "DELAY_REQ",
	MessagePdelayReq:          "PDELAY_REQ",
	MessagePdelayResp:         "PDELAY_RESP",
	MessageFollowUp:           "FOLLOW_UP",
	MessageDelayResp:          "DELAY_RESP",
	MessagePdelayRespFollowUp: "PDELAY_RESP_FOLLOW_UP",
	MessageAnnounce:           "ANNOUNCE",
	MessageSignaling:          "SIGNALING",
	MessageManagement:         "MANAGEMENT",
}

// String returns the standard's name in linuxptp's spelling ("FOLLOW_UP").
func (t MessageType) String() string {
	if t < 16 && messageTypeNames[t] != "" {
		return messageTypeNames[t]
	}
	return "MESSAGE_TYPE_0x" + strconv.FormatUint(uint64(t), 16)
}

// Flags is the flagField of IEEE 1588-2019 Table 37, as the 16-bit value
// octet 0 << 8 | octet 1.
type Flags uint16

// flagField bits (IEEE 1588-2019 Table 37). Which bits are meaningful
// depends on the message type; all are kept as they are received.
const (
	FlagAlternateMaster          Flags = 1 << 8  // alternateMasterFlag (octet 0 bit 0)
	FlagTwoStep                  Flags = 1 << 9  // twoStepFlag (octet 0 bit 1)
	FlagUnicast                  Flags = 1 << 10 // unicastFlag (octet 0 bit 2)
	FlagProfileSpecific1         Flags = 1 << 13 // PTP profile Specific 1 (octet 0 bit 5)
	FlagProfileSpecific2         Flags = 1 << 14 // PTP profile Specific 2 (octet 0 bit 6)
	FlagSecurity                 Flags = 1 << 15 // reserved in 2008; security in 2019 (octet 0 bit 7)
	FlagLeap61                   Flags = 1 << 0  // leap61 (octet 1 bit 0)
	FlagLeap59                   Flags = 1 << 1  // leap59 (octet 1 bit 1)
	FlagCurrentUTCOffsetValid    Flags = 1 << 2  // currentUtcOffsetValid (octet 1 bit 2)
	FlagPTPTimescale             Flags = 1 << 3  // ptpTimescale (octet 1 bit 3)
	FlagTimeTraceable            Flags = 1 << 4  // timeTraceable (octet 1 bit 4)
	FlagFrequencyTraceable       Flags = 1 << 5  // frequencyTraceable (octet 1 bit 5)
	FlagSynchronizationUncertain Flags = 1 << 6  // synchronizationUncertain (octet 1 bit 6)
)

var flagNames = []struct {
	f    Flags
	name string
}{
	{FlagAlternateMaster, "ALTERNATE_MASTER"},
	{FlagTwoStep, "TWO_STEP"},
	{FlagUnicast, "UNICAST"},
	{FlagProfileSpecific1, "PROFILE_SPECIFIC_1"},
	{FlagProfileSpecific2, "PROFILE_SPECIFIC_2"},
	{FlagSecurity, "SECURITY"},
	{FlagLeap61, "LEAP_61"},
	{FlagLeap59, "LEAP_59"},
	{FlagCurrentUTCOffsetValid, "UTC_OFF_VALID"},
	{FlagPTPTimescale, "PTP_TIMESCALE"},
	{FlagTimeTraceable, "TIME_TRACEABLE"},
	{FlagFrequencyTraceable, "FREQ_TRACEABLE"},
	{FlagSynchronizationUncertain, "SYNC_UNCERTAIN"},
}

// Has reports whether every bit of g is set in f.
func (f Flags) Has(g Flags) bool { return f&g == g }

// String lists the set flags by name, joined with '|', and any bit the
// standard does not name in hex.
func (f Flags) String() string {
	if f == 0 {
		return "0"
	}
	var parts []string
	rest := f
	for _, n := range flagNames {
		if f&n.f != 0 {
			parts = append(parts, n.name)
			rest &^= n.f
		}
	}
	if rest != 0 {
		parts = append(parts, "0x"+strconv.FormatUint(uint64(rest), 16))
	}
	return strings.Join(parts, "|")
}

// Header is the common message header of IEEE 1588-2019 13.3 (Table 35),
// 34 octets at the start of every message.
type Header struct {
	// MajorSdoID is majorSdoId (transportSpecific in IEEE 1588-2008): 0 for
	// the default profiles, 1 for gPTP (IEEE 802.1AS). Four bits.
	MajorSdoID uint8
	// MessageType is the type from the wire. The message values
	// (Sync, Announce, …) write their own type when encoded.
	MessageType MessageType
	// MinorVersionPTP is 1 for IEEE 1588-2019, 0 for 2008. Four bits.
	MinorVersionPTP uint8
	// VersionPTP is 2; the decoders reject anything else.
	VersionPTP uint8
	// MessageLength is the whole message's length in octets, TLVs included,
	// as received. Encoders compute it from what they write.
	MessageLength uint16
	DomainNumber  uint8
	// MinorSdoID is minorSdoId (reserved in 2008).
	MinorSdoID uint8
	Flags      Flags
	// CorrectionField is the accumulated residence and path correction, in
	// scaled nanoseconds.
	CorrectionField TimeInterval
	// MessageTypeSpecific is the four octets IEEE 1588-2019 13.3.2.10 gives
	// to message-type-specific uses (reserved in 2008); kept as received.
	MessageTypeSpecific uint32
	SourcePortIdentity  PortIdentity
	SequenceID          uint16
	// ControlField is the IEEE 1588-2008 controlField (Table 42 of the
	// 2019 edition keeps it for compatibility).
	ControlField uint8
	// LogMessageInterval is logMessageInterval; 0x7F means "not applicable".
	LogMessageInterval int8
}

// HeaderLen is the length of the common header in octets.
const HeaderLen = 34

// Version octet values for the header's versionPTP/minorVersionPTP.
const (
	VersionPTP2      = 2
	MinorVersion2019 = 1
)

// LogIntervalUnspecified is the logMessageInterval value 0x7F.
const LogIntervalUnspecified int8 = 0x7f

// ControlFieldFor returns the controlField IEEE 1588-2008 Table 23 assigns
// to a message type, which 2019 senders still set for older receivers.
func ControlFieldFor(t MessageType) uint8 {
	switch t {
	case MessageSync:
		return 0
	case MessageDelayReq:
		return 1
	case MessageFollowUp:
		return 2
	case MessageDelayResp:
		return 3
	case MessageManagement:
		return 4
	}
	return 5
}

// UnmarshalBinary decodes the 34-octet header at the start of b and checks
// what every message needs: versionPTP 2, a known messageType, and a
// messageLength that covers the header and fits in b. It does not look at the
// body: use it to learn a message's type before decoding the message. When a
// check fails the fields are still decoded, for the error's context.
func (h *Header) UnmarshalBinary(b []byte) error {
	if len(b) >= HeaderLen {
		decodeHeader(h, b, 0, HeaderLen)
	}
	_, err := PeekMessageType(b)
	return err
}

// appendHeader writes h with messageType t and messageLength n.
func (h *Header) append(b []byte, t MessageType, n int) []byte {
	b = append(b,
		h.MajorSdoID<<4|byte(t)&0x0f,
		h.MinorVersionPTP<<4|h.VersionPTP&0x0f,
		byte(n>>8), byte(n),
		h.DomainNumber,
		h.MinorSdoID,
		byte(h.Flags>>8), byte(h.Flags))
	b = binary.BigEndian.AppendUint64(b, uint64(h.CorrectionField))
	b = binary.BigEndian.AppendUint32(b, h.MessageTypeSpecific)
	b = h.SourcePortIdentity.append(b)
	b = binary.BigEndian.AppendUint16(b, h.SequenceID)
	return append(b, h.ControlField, byte(h.LogMessageInterval))
}

// PeekMessageType returns the messageType of the message in b after the
// same checks as Header.UnmarshalBinary, without decoding the rest.
func PeekMessageType(b []byte) (MessageType, error) {
	if len(b) < HeaderLen {
		return 0, formatErr(MessageType(0xff), "header", 0, ErrTruncated)
	}
	t := MessageType(b[0] & 0x0f)
	if b[1]&0x0f != VersionPTP2 {
		return t, formatErr(t, "versionPTP", 1, ErrUnsupportedVersion)
	}
	if !t.Known() {
		return t, formatErr(t, "messageType", 0, ErrUnknownMessageType)
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if n < HeaderLen {
		return t, formatErr(t, "messageLength", 2, ErrShortMessage)
	}
	if n > len(b) {
		return t, formatErr(t, "messageLength", 2, ErrTruncated)
	}
	return t, nil
}
