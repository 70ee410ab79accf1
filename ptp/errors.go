package ptp

import (
	"errors"
	"fmt"
)

// Errors returned by the decoders. They are matched with errors.Is; a
// decoder may wrap them in a *FormatError that says where the problem was.
var (
	// ErrTruncated: the buffer ends before the message (or a field inside it)
	// does, for example a buffer shorter than its messageLength.
	ErrTruncated = errors.New("message truncated")
	// ErrShortMessage: messageLength is smaller than the fixed part of the
	// message type needs.
	ErrShortMessage = errors.New("messageLength too small for the message type")
	// ErrUnsupportedVersion: versionPTP is not 2 (PTPv1 is one such case).
	ErrUnsupportedVersion = errors.New("unsupported PTP version")
	// ErrUnknownMessageType: a messageType that IEEE 1588-2019 reserves.
	ErrUnknownMessageType = errors.New("unknown messageType")
	// ErrWrongMessageType: the bytes hold another message type than the value
	// they are decoded into (a Follow_Up decoded as a Sync).
	ErrWrongMessageType = errors.New("messageType does not match the message being decoded")
	// ErrTLVOverrun: a TLV's lengthField runs past the end of the message.
	ErrTLVOverrun = errors.New("TLV length runs past the end of the message")
	// ErrTLVOddLength: a TLV's lengthField is odd; IEEE 1588-2019 14.1.2
	// requires an even length.
	ErrTLVOddLength = errors.New("TLV lengthField is odd")
	// ErrTLVTruncated: fewer than the 4 octets of a TLV header remain.
	ErrTLVTruncated = errors.New("TLV header truncated")
	// ErrWrongLength: a TLV or management data field has a length that does
	// not fit its type (MANAGEMENT_ERROR_STATUS WRONG_LENGTH in the
	// management protocol).
	ErrWrongLength = errors.New("wrong length for the TLV or data set")
	// ErrValueRange: a value cannot be represented on the wire, for example
	// seconds beyond 48 bits or a PTPText longer than 255 octets.
	ErrValueRange = errors.New("value out of range for its wire field")
	// ErrMessageTooLong: the encoded message would exceed 65535 octets, the
	// most messageLength can say.
	ErrMessageTooLong = errors.New("message longer than messageLength can hold")
)

// FormatError says where in a message a decoding error was found. Its Err is
// one of the package's sentinel errors, so errors.Is sees through it.
type FormatError struct {
	MessageType MessageType // the message type from the header, when known
	Field       string      // the field or TLV where decoding stopped
	Offset      int         // octet offset of that field from the start of the message
	Err         error       // one of the Err* sentinels
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("ptp: %s: %s at offset %d: %v", e.MessageType, e.Field, e.Offset, e.Err)
}

// Unwrap returns the sentinel error.
func (e *FormatError) Unwrap() error { return e.Err }

func formatErr(t MessageType, field string, off int, err error) error {
	return &FormatError{MessageType: t, Field: field, Offset: off, Err: err}
}
