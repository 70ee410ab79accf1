package ptp

import (
	"encoding/binary"
	"iter"
	"strconv"
)

// TLVType is the tlvType of IEEE 1588-2019 Table 52.
type TLVType uint16

// tlvType values (IEEE 1588-2019 Table 52, and linuxptp's experimental ones).
const (
	TLVManagement                           TLVType = 0x0001
	TLVManagementErrorStatus                TLVType = 0x0002
	TLVOrganizationExtension                TLVType = 0x0003
	TLVRequestUnicastTransmission           TLVType = 0x0004
	TLVGrantUnicastTransmission             TLVType = 0x0005
	TLVCancelUnicastTransmission            TLVType = 0x0006
	TLVAcknowledgeCancelUnicastTransmission TLVType = 0x0007
	TLVPathTrace                            TLVType = 0x0008
	TLVAlternateTimeOffsetIndicator         TLVType = 0x0009
	TLVAuthentication2008                   TLVType = 0x2000 // IEEE 1588-2008 Annex K, obsolete
	TLVAuthenticationChallenge              TLVType = 0x2001 // IEEE 1588-2008 Annex K, obsolete
	TLVSecurityAssociationUpdate            TLVType = 0x2002 // IEEE 1588-2008 Annex K, obsolete
	TLVCumFreqScaleFactorOffset             TLVType = 0x2003 // IEEE 1588-2008 Annex L, obsolete
	TLVOrganizationExtensionPropagate       TLVType = 0x4000
	TLVEnhancedAccuracyMetrics              TLVType = 0x4001
	TLVOrganizationExtensionDoNotPropagate  TLVType = 0x8000
	TLVL1Sync                               TLVType = 0x8001
	TLVPortCommunicationAvailability        TLVType = 0x8002
	TLVProtocolAddress                      TLVType = 0x8003
	TLVSlaveRxSyncTimingData                TLVType = 0x8004
	TLVSlaveRxSyncComputedData              TLVType = 0x8005
	TLVSlaveTxEventTimestamps               TLVType = 0x8006
	TLVCumulativeRateRatio                  TLVType = 0x8007
	TLVPad                                  TLVType = 0x8008
	TLVAuthentication                       TLVType = 0x8009
)

var tlvTypeNames = map[TLVType]string{
	TLVManagement:                           "MANAGEMENT",
	TLVManagementErrorStatus:                "MANAGEMENT_ERROR_STATUS",
	TLVOrganizationExtension:                "ORGANIZATION_EXTENSION",
	TLVRequestUnicastTransmission:           "REQUEST_UNICAST_TRANSMISSION",
	TLVGrantUnicastTransmission:             "GRANT_UNICAST_TRANSMISSION",
	TLVCancelUnicastTransmission:            "CANCEL_UNICAST_TRANSMISSION",
	TLVAcknowledgeCancelUnicastTransmission: "ACKNOWLEDGE_CANCEL_UNICAST_TRANSMISSION",
	TLVPathTrace:                            "PATH_TRACE",
	TLVAlternateTimeOffsetIndicator:         "ALTERNATE_TIME_OFFSET_INDICATOR",
	TLVAuthentication2008:                   "AUTHENTICATION_2008",
	TLVAuthenticationChallenge:              "AUTHENTICATION_CHALLENGE",
	TLVSecurityAssociationUpdate:            "SECURITY_ASSOCIATION_UPDATE",
	TLVCumFreqScaleFactorOffset:             "CUM_FREQ_SCALE_FACTOR_OFFSET",
	TLVOrganizationExtensionPropagate:       "ORGANIZATION_EXTENSION_PROPAGATE",
	TLVEnhancedAccuracyMetrics:              "ENHANCED_ACCURACY_METRICS",
	TLVOrganizationExtensionDoNotPropagate:  "ORGANIZATION_EXTENSION_DO_NOT_PROPAGATE",
	TLVL1Sync:                               "L1_SYNC",
	TLVPortCommunicationAvailability:        "PORT_COMMUNICATION_AVAILABILITY",
	TLVProtocolAddress:                      "PROTOCOL_ADDRESS",
	TLVSlaveRxSyncTimingData:                "SLAVE_RX_SYNC_TIMING_DATA",
	TLVSlaveRxSyncComputedData:              "SLAVE_RX_SYNC_COMPUTED_DATA",
	TLVSlaveTxEventTimestamps:               "SLAVE_TX_EVENT_TIMESTAMPS",
	TLVCumulativeRateRatio:                  "CUMULATIVE_RATE_RATIO",
	TLVPad:                                  "PAD",
	TLVAuthentication:                       "AUTHENTICATION",
}

// String returns the standard's name, or the value in hex.
func (t TLVType) String() string {
	if s, ok := tlvTypeNames[t]; ok {
		return s
	}
	return "TLV_0x" + strconv.FormatUint(uint64(t), 16)
}

// tlvHeaderLen is the tlvType and lengthField, 4 octets.
const tlvHeaderLen = 4

// TLV is one TLV of a message as it is on the wire: its type and its value
// (the lengthField octets after the 4-octet TLV header). Value aliases the
// memory of the TLVs it came from.
type TLV struct {
	Type  TLVType
	Value []byte
}

// TLVValue is a TLV whose value field the codec can decode and encode. Every
// typed TLV in this package implements it.
type TLVValue interface {
	// TLVType is the tlvType the value is carried under.
	TLVType() TLVType
	// AppendValue appends the value field (without the TLV header).
	AppendValue(b []byte) ([]byte, error)
	// UnmarshalValue decodes a value field.
	UnmarshalValue(v []byte) error
}

// TLVs is the TLV area of a message: every TLV after the fixed part of the
// message, up to messageLength, kept as the raw octets they were received
// as. That is how unknown TLVs pass through unchanged. A TLVs holds only
// well-formed TLVs: each decoder checks the layout before it keeps the
// octets, and Add builds them correctly, so iterating never fails.
//
// The octets are copied into storage the TLVs value owns and reuses, so
// decoding into the same message again does not allocate once the storage is
// large enough.
type TLVs struct {
	b []byte
}

// ParseTLVs checks that b is a sequence of well-formed TLVs and returns the
// number of TLVs. offset is where b starts in its message, for the error.
func ParseTLVs(b []byte, t MessageType, offset int) (int, error) {
	n := 0
	for i := 0; i < len(b); {
		if len(b)-i < tlvHeaderLen {
			return n, formatErr(t, "TLV header", offset+i, ErrTLVTruncated)
		}
		l := int(binary.BigEndian.Uint16(b[i+2 : i+4]))
		if l > len(b)-i-tlvHeaderLen {
			return n, formatErr(t, TLVType(binary.BigEndian.Uint16(b[i:i+2])).String(), offset+i, ErrTLVOverrun)
		}
		if l%2 != 0 {
			return n, formatErr(t, TLVType(binary.BigEndian.Uint16(b[i:i+2])).String(), offset+i, ErrTLVOddLength)
		}
		i += tlvHeaderLen + l
		n++
	}
	return n, nil
}

// set checks b and stores a copy of it. Most messages carry no TLVs, so
// that case is small enough to inline.
func (ts *TLVs) set(b []byte, t MessageType, offset int) error {
	if len(b) == 0 {
		ts.b = ts.b[:0]
		return nil
	}
	return ts.setChecked(b, t, offset)
}

func (ts *TLVs) setChecked(b []byte, t MessageType, offset int) error {
	if _, err := ParseTLVs(b, t, offset); err != nil {
		ts.b = ts.b[:0]
		return err
	}
	ts.b = append(ts.b[:0], b...)
	return nil
}

// Bytes returns the TLV area as it is on the wire. The slice aliases the
// TLVs' storage.
func (ts *TLVs) Bytes() []byte { return ts.b }

// Len returns the length of the TLV area in octets.
func (ts *TLVs) Len() int { return len(ts.b) }

// Reset removes every TLV and keeps the storage for reuse.
func (ts *TLVs) Reset() { ts.b = ts.b[:0] }

// Count returns the number of TLVs.
func (ts *TLVs) Count() int {
	n := 0
	for range ts.All() {
		n++
	}
	return n
}

// All yields each TLV in wire order. The values alias the TLVs' storage and
// are valid until it is next changed.
func (ts *TLVs) All() iter.Seq[TLV] {
	return func(yield func(TLV) bool) {
		b := ts.b
		for len(b) >= tlvHeaderLen {
			l := int(binary.BigEndian.Uint16(b[2:4]))
			if tlvHeaderLen+l > len(b) { // cannot happen for checked storage
				return
			}
			if !yield(TLV{Type: TLVType(binary.BigEndian.Uint16(b[0:2])), Value: b[tlvHeaderLen : tlvHeaderLen+l]}) {
				return
			}
			b = b[tlvHeaderLen+l:]
		}
	}
}

// Find returns the first TLV of type t.
func (ts *TLVs) Find(t TLVType) (TLV, bool) {
	for tlv := range ts.All() {
		if tlv.Type == t {
			return tlv, true
		}
	}
	return TLV{}, false
}

// AddRaw appends a TLV with the given type and value. A value of odd length
// gets one zero pad octet, because lengthField must be even; values over
// 65534 octets are refused.
func (ts *TLVs) AddRaw(t TLVType, value []byte) error {
	padded := len(value) + len(value)%2
	if padded > 0xfffe {
		return ErrValueRange
	}
	ts.b = binary.BigEndian.AppendUint16(ts.b, uint16(t))
	ts.b = binary.BigEndian.AppendUint16(ts.b, uint16(padded))
	ts.b = append(ts.b, value...)
	if len(value)%2 != 0 {
		ts.b = append(ts.b, 0)
	}
	return nil
}

// Add encodes v and appends it as one TLV, padded to an even length.
func (ts *TLVs) Add(v TLVValue) error {
	start := len(ts.b)
	ts.b = append(ts.b, 0, 0, 0, 0)
	var err error
	ts.b, err = v.AppendValue(ts.b)
	if err != nil {
		ts.b = ts.b[:start]
		return err
	}
	l := len(ts.b) - start - tlvHeaderLen
	if l%2 != 0 {
		ts.b = append(ts.b, 0)
		l++
	}
	if l > 0xfffe {
		ts.b = ts.b[:start]
		return ErrValueRange
	}
	binary.BigEndian.PutUint16(ts.b[start:], uint16(v.TLVType()))
	binary.BigEndian.PutUint16(ts.b[start+2:], uint16(l))
	return nil
}

// Decode finds the first TLV of v's type and decodes it into v. It reports
// false when there is none.
func (ts *TLVs) Decode(v TLVValue) (bool, error) {
	tlv, ok := ts.Find(v.TLVType())
	if !ok {
		return false, nil
	}
	return true, v.UnmarshalValue(tlv.Value)
}
