package ptp

import "encoding/binary"

// The unicast negotiation TLVs of IEEE 1588-2019 16.1.4, carried in
// Signaling messages. The messageType they name sits in the high nibble of
// their first octet.

// RequestUnicastTransmission is REQUEST_UNICAST_TRANSMISSION (16.1.4.1): a
// request for MessageType messages every 2^LogInterMessagePeriod seconds for
// DurationField seconds.
type RequestUnicastTransmission struct {
	MessageType           MessageType
	reservedNibble        uint8
	LogInterMessagePeriod int8
	DurationField         uint32
}

// TLVType returns TLVRequestUnicastTransmission.
func (t *RequestUnicastTransmission) TLVType() TLVType { return TLVRequestUnicastTransmission }

// AppendValue appends the TLV's value field.
func (t *RequestUnicastTransmission) AppendValue(b []byte) ([]byte, error) {
	b = append(b, byte(t.MessageType)<<4|t.reservedNibble&0x0f, byte(t.LogInterMessagePeriod))
	return binary.BigEndian.AppendUint32(b, t.DurationField), nil
}

// UnmarshalValue decodes the TLV's value field.
func (t *RequestUnicastTransmission) UnmarshalValue(v []byte) error {
	if len(v) < 6 {
		return ErrWrongLength
	}
	t.MessageType, t.reservedNibble = MessageType(v[0]>>4), v[0]&0x0f
	t.LogInterMessagePeriod = int8(v[1])
	t.DurationField = binary.BigEndian.Uint32(v[2:6])
	return nil
}

// GrantUnicastFlagRenewalInvited is the R flag of a grant (16.1.4.2.6).
const GrantUnicastFlagRenewalInvited = 1 << 0

// GrantUnicastTransmission is GRANT_UNICAST_TRANSMISSION (16.1.4.2); a
// DurationField of 0 refuses the request.
type GrantUnicastTransmission struct {
	MessageType           MessageType
	reservedNibble        uint8
	LogInterMessagePeriod int8
	DurationField         uint32
	reserved              uint8
	Flags                 uint8 // GrantUnicastFlagRenewalInvited
}

// TLVType returns TLVGrantUnicastTransmission.
func (t *GrantUnicastTransmission) TLVType() TLVType { return TLVGrantUnicastTransmission }

// AppendValue appends the TLV's value field.
func (t *GrantUnicastTransmission) AppendValue(b []byte) ([]byte, error) {
	b = append(b, byte(t.MessageType)<<4|t.reservedNibble&0x0f, byte(t.LogInterMessagePeriod))
	b = binary.BigEndian.AppendUint32(b, t.DurationField)
	return append(b, t.reserved, t.Flags), nil
}

// UnmarshalValue decodes the TLV's value field.
func (t *GrantUnicastTransmission) UnmarshalValue(v []byte) error {
	if len(v) < 8 {
		return ErrWrongLength
	}
	t.MessageType, t.reservedNibble = MessageType(v[0]>>4), v[0]&0x0f
	t.LogInterMessagePeriod = int8(v[1])
	t.DurationField = binary.BigEndian.Uint32(v[2:6])
	t.reserved, t.Flags = v[6], v[7]
	return nil
}

// Flags of CANCEL and ACKNOWLEDGE_CANCEL, in the low nibble of the first
// octet (linuxptp's maintain-request and maintain-grant bits).
const (
	CancelUnicastMaintainRequest = 1 << 0
	CancelUnicastMaintainGrant   = 1 << 1
)

// CancelUnicastTransmission is CANCEL_UNICAST_TRANSMISSION (16.1.4.3).
type CancelUnicastTransmission struct {
	MessageType MessageType
	Flags       uint8 // the low nibble of the first octet
	reserved    uint8
}

// TLVType returns TLVCancelUnicastTransmission.
func (t *CancelUnicastTransmission) TLVType() TLVType { return TLVCancelUnicastTransmission }

// AppendValue appends the TLV's value field.
func (t *CancelUnicastTransmission) AppendValue(b []byte) ([]byte, error) {
	return append(b, byte(t.MessageType)<<4|t.Flags&0x0f, t.reserved), nil
}

// UnmarshalValue decodes the TLV's value field.
func (t *CancelUnicastTransmission) UnmarshalValue(v []byte) error {
	if len(v) < 2 {
		return ErrWrongLength
	}
	t.MessageType, t.Flags, t.reserved = MessageType(v[0]>>4), v[0]&0x0f, v[1]
	return nil
}

// AcknowledgeCancelUnicastTransmission is
// ACKNOWLEDGE_CANCEL_UNICAST_TRANSMISSION (16.1.4.4).
type AcknowledgeCancelUnicastTransmission struct {
	MessageType MessageType
	Flags       uint8 // the low nibble of the first octet
	reserved    uint8
}

// TLVType returns TLVAcknowledgeCancelUnicastTransmission.
func (t *AcknowledgeCancelUnicastTransmission) TLVType() TLVType {
	return TLVAcknowledgeCancelUnicastTransmission
}

// AppendValue appends the TLV's value field.
func (t *AcknowledgeCancelUnicastTransmission) AppendValue(b []byte) ([]byte, error) {
	return append(b, byte(t.MessageType)<<4|t.Flags&0x0f, t.reserved), nil
}

// UnmarshalValue decodes the TLV's value field.
func (t *AcknowledgeCancelUnicastTransmission) UnmarshalValue(v []byte) error {
	if len(v) < 2 {
		return ErrWrongLength
	}
	t.MessageType, t.Flags, t.reserved = MessageType(v[0]>>4), v[0]&0x0f, v[1]
	return nil
}
