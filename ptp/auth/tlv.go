package auth

import (
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/roko-network/roko-ptpd/ptp"
)

// The AUTHENTICATION TLV (IEEE 1588-2019 16.14.3, Table 129) as linuxptp
// 4.4 writes it:
//
//	tlvType            2  0x8009
//	lengthField        2  6 + the ICV's length
//	SPP                1
//	secParamIndicator  1  0: immediate processing, no RES, no sequenceNo
//	keyID              4
//	ICV                16 or 32
//
// It is the last TLV of the message, after any other (a Follow_Up's, a
// management or signaling message's own), and messageLength counts it.
// The ICV covers the message from its first octet up to the ICV: the
// header with the final messageLength and the TLV's own fields before the
// ICV. With allow_mutable, correctionField is hashed as eight zero octets.
// linuxptp does not set the header's securityFlag, and neither does this.
const (
	// TLVLen is the TLV's length without its ICV: tlvType, lengthField,
	// SPP, secParamIndicator and keyID.
	TLVLen = 10
	// offsets in the message's header
	offMessageLength = 2
	offCorrection    = 8
	offSourcePort    = 20
	offSequenceID    = 30
	offAction        = 46 // a management message's actionField
)

// secParamIndicator bits (IEEE 1588-2019 Table 130): a RES field, a
// sequenceNo field, and delayed (not immediate) processing. linuxptp
// supports none of them.
const (
	secParamRES     = 0x1
	secParamSeqNo   = 0x2
	secParamDelayed = 0x4
)

// ErrMessage is returned by Append for octets that are not one whole PTP
// message.
var ErrMessage = errors.New("not one whole PTP message")

// Append appends an AUTHENTICATION TLV for sa under key k to msg, which
// holds exactly one PTP message (messageLength == len(msg)), updates
// messageLength, and returns the extended slice. It allocates only when
// msg lacks the capacity for the TLV.
func Append(msg []byte, sa *SecurityAssociation, k *Key) ([]byte, error) {
	if len(msg) < ptp.HeaderLen || int(binary.BigEndian.Uint16(msg[offMessageLength:])) != len(msg) {
		return msg, ErrMessage
	}
	fixed := ptp.MinLength(ptp.MessageType(msg[0] & 0x0f))
	if fixed == 0 || len(msg) < fixed {
		return msg, ErrMessage
	}
	icvLen := k.Algorithm.ICVLen()
	total := len(msg) + TLVLen + icvLen
	if total > 0xffff {
		return msg, fmt.Errorf("%w: %d octets with the AUTHENTICATION TLV", ptp.ErrMessageTooLong, total)
	}
	msg = binary.BigEndian.AppendUint16(msg, uint16(ptp.TLVAuthentication))
	msg = binary.BigEndian.AppendUint16(msg, uint16(TLVLen-4+icvLen))
	msg = append(msg, sa.SPP, 0)
	msg = binary.BigEndian.AppendUint32(msg, k.ID)
	binary.BigEndian.PutUint16(msg[offMessageLength:], uint16(total))
	icv := sa.icv(k, msg)
	return append(msg, icv...), nil
}

var zeroCorrection [8]byte

// icv computes k's ICV over covered, with correctionField as zero when
// the association allows it to change on the way.
func (sa *SecurityAssociation) icv(k *Key, covered []byte) []byte {
	if sa.AllowMutable {
		return k.icv3(covered[:offCorrection], zeroCorrection[:], covered[offCorrection+8:])
	}
	return k.icv3(covered, nil, nil)
}

// Failure is why a received message failed authentication.
type Failure uint8

// The reasons, each counted on its own.
const (
	// OK is no failure.
	OK Failure = iota
	// FailMalformed is a message whose header or TLVs cannot be read.
	FailMalformed
	// FailMissing is a message without an AUTHENTICATION TLV, or whose
	// last TLV is not one.
	FailMissing
	// FailSPP is a TLV naming another security association.
	FailSPP
	// FailParameters is a secParamIndicator asking for delayed
	// processing or fields that are not supported.
	FailParameters
	// FailKey is a keyID the association does not have.
	FailKey
	// FailLength is a TLV whose length does not fit its key's ICV.
	FailLength
	// FailICV is an ICV that does not match: a wrong key or a changed
	// message.
	FailICV
	// FailReplay is a Sync or Follow_Up whose sequenceId is not within
	// the window after the last one accepted from its sender.
	FailReplay
	// NumFailures is the number of Failure values, OK included.
	NumFailures
)

var failureNames = [NumFailures]string{
	OK:             "ok",
	FailMalformed:  "malformed",
	FailMissing:    "no_auth_tlv",
	FailSPP:        "wrong_spp",
	FailParameters: "bad_parameters",
	FailKey:        "unknown_key",
	FailLength:     "bad_length",
	FailICV:        "bad_icv",
	FailReplay:     "replay",
}

// String returns the reason as a metrics label ("bad_icv").
func (f Failure) String() string {
	if f < NumFailures {
		return failureNames[f]
	}
	return fmt.Sprintf("Failure(%d)", uint8(f))
}

// check verifies the AUTHENTICATION TLVs of the message at the start of
// b as linuxptp's immediate processing does: there must be at least one,
// the last TLV must be one, and each must name sa, a key of sa and its
// length, and carry the ICV of the message up to it. Octets after
// messageLength (padding, a UDPv6 trailer) are not looked at. hasTLV says
// whether any AUTHENTICATION TLV was found.
func (sa *SecurityAssociation) check(b []byte) (f Failure, hasTLV bool) {
	if len(b) < ptp.HeaderLen {
		return FailMalformed, false
	}
	n := int(binary.BigEndian.Uint16(b[offMessageLength:]))
	fixed := ptp.MinLength(ptp.MessageType(b[0] & 0x0f))
	if fixed == 0 || n < fixed || n > len(b) {
		return FailMalformed, false
	}
	var last ptp.TLVType
	count := 0
	for i := fixed; i < n; {
		if n-i < 4 {
			return FailMalformed, hasTLV
		}
		t := ptp.TLVType(binary.BigEndian.Uint16(b[i:]))
		l := int(binary.BigEndian.Uint16(b[i+2:]))
		if l > n-i-4 {
			return FailMalformed, hasTLV
		}
		count++
		last = t
		if t == ptp.TLVAuthentication {
			hasTLV = true
			if f := sa.checkTLV(b, i, l); f != OK {
				return f, true
			}
		}
		i += 4 + l
	}
	if count == 0 || last != ptp.TLVAuthentication {
		return FailMissing, hasTLV
	}
	return OK, true
}

// checkTLV checks the AUTHENTICATION TLV at b[i:], whose lengthField is l.
func (sa *SecurityAssociation) checkTLV(b []byte, i, l int) Failure {
	if l < TLVLen-4 {
		return FailLength
	}
	if b[i+4] != sa.SPP {
		return FailSPP
	}
	if b[i+5]&(secParamRES|secParamSeqNo|secParamDelayed) != 0 {
		return FailParameters
	}
	k := sa.Key(binary.BigEndian.Uint32(b[i+6:]))
	if k == nil {
		return FailKey
	}
	icvLen := k.Algorithm.ICVLen()
	if l != TLVLen-4+icvLen {
		return FailLength
	}
	start := i + TLVLen
	want := sa.icv(k, b[:start])
	if subtle.ConstantTimeCompare(want, b[start:start+icvLen]) != 1 {
		return FailICV
	}
	return OK
}

// Strip removes every AUTHENTICATION TLV from the message at the start of
// b, in place, and returns the message without them (and without what
// followed messageLength), its messageLength updated. A receiver strips a
// message once it is verified, so that what reads it next sees the
// message as its sender's engine built it. b must hold a message that
// Verify accepted; anything else is returned unchanged.
func Strip(b []byte) []byte {
	if len(b) < ptp.HeaderLen {
		return b
	}
	n := int(binary.BigEndian.Uint16(b[offMessageLength:]))
	fixed := ptp.MinLength(ptp.MessageType(b[0] & 0x0f))
	if fixed == 0 || n < fixed || n > len(b) {
		return b
	}
	w := fixed
	for i := fixed; i+4 <= n; {
		l := int(binary.BigEndian.Uint16(b[i+2:]))
		end := i + 4 + l
		if end > n {
			return b
		}
		if ptp.TLVType(binary.BigEndian.Uint16(b[i:])) != ptp.TLVAuthentication {
			w += copy(b[w:], b[i:end])
		}
		i = end
	}
	binary.BigEndian.PutUint16(b[offMessageLength:], uint16(w))
	return b[:w]
}
