package ptp

import "encoding/binary"

// PathTrace is the PATH_TRACE TLV (IEEE 1588-2019 16.2): the clock
// identities an Announce passed through, grandmaster first.
type PathTrace struct {
	PathSequence []ClockIdentity
}

// TLVType returns TLVPathTrace.
func (t *PathTrace) TLVType() TLVType { return TLVPathTrace }

// AppendValue appends the TLV's value field.
func (t *PathTrace) AppendValue(b []byte) ([]byte, error) {
	for _, c := range t.PathSequence {
		b = append(b, c[:]...)
	}
	return b, nil
}

// UnmarshalValue decodes the TLV's value field; its length must be a
// multiple of 8. The slice's storage is reused.
func (t *PathTrace) UnmarshalValue(v []byte) error {
	if len(v)%8 != 0 {
		return ErrWrongLength
	}
	t.PathSequence = t.PathSequence[:0]
	for i := 0; i < len(v); i += 8 {
		t.PathSequence = append(t.PathSequence, ClockIdentity(v[i:i+8]))
	}
	return nil
}

// AlternateTimeOffsetIndicator is ALTERNATE_TIME_OFFSET_INDICATOR (IEEE
// 1588-2019 16.3): an alternate timescale's offset from PTP time.
type AlternateTimeOffsetIndicator struct {
	KeyField       uint8
	CurrentOffset  int32  // seconds
	JumpSeconds    int32  // seconds
	TimeOfNextJump uint64 // 48 bits, seconds
	DisplayName    PTPText
}

// TLVType returns TLVAlternateTimeOffsetIndicator.
func (t *AlternateTimeOffsetIndicator) TLVType() TLVType { return TLVAlternateTimeOffsetIndicator }

// AppendValue appends the TLV's value field.
func (t *AlternateTimeOffsetIndicator) AppendValue(b []byte) ([]byte, error) {
	if t.TimeOfNextJump > MaxTimestampSeconds {
		return b, ErrValueRange
	}
	b = append(b, t.KeyField)
	b = binary.BigEndian.AppendUint32(b, uint32(t.CurrentOffset))
	b = binary.BigEndian.AppendUint32(b, uint32(t.JumpSeconds))
	b = binary.BigEndian.AppendUint16(b, uint16(t.TimeOfNextJump>>32))
	b = binary.BigEndian.AppendUint32(b, uint32(t.TimeOfNextJump))
	return t.DisplayName.append(b)
}

// UnmarshalValue decodes the TLV's value field; a pad octet may follow.
func (t *AlternateTimeOffsetIndicator) UnmarshalValue(v []byte) error {
	if len(v) < 16 {
		return ErrWrongLength
	}
	t.KeyField = v[0]
	t.CurrentOffset = int32(binary.BigEndian.Uint32(v[1:5]))
	t.JumpSeconds = int32(binary.BigEndian.Uint32(v[5:9]))
	t.TimeOfNextJump = uint64(binary.BigEndian.Uint16(v[9:11]))<<32 | uint64(binary.BigEndian.Uint32(v[11:15]))
	name, _, err := decodePTPText(v[15:])
	if err != nil {
		return err
	}
	t.DisplayName = name
	return nil
}

// OrganizationExtension is an organization-specific TLV (IEEE 1588-2019
// 14.3): ORGANIZATION_EXTENSION, or its _PROPAGATE and _DO_NOT_PROPAGATE
// variants, chosen by TLV.
type OrganizationExtension struct {
	// TLV is the tlvType to encode under; zero means
	// TLVOrganizationExtension.
	TLV                 TLVType
	OrganizationID      [3]byte
	OrganizationSubType [3]byte
	DataField           []byte
}

// Organizations and subtypes this package knows.
var (
	OrganizationIEEE8021 = [3]byte{0x00, 0x80, 0xc2} // IEEE 802.1 (gPTP)
	OrganizationITUT     = [3]byte{0x00, 0x19, 0xa7} // ITU-T (telecom profiles)
)

// TLVType returns the extension's tlvType.
func (t *OrganizationExtension) TLVType() TLVType {
	if t.TLV == 0 {
		return TLVOrganizationExtension
	}
	return t.TLV
}

// AppendValue appends the TLV's value field.
func (t *OrganizationExtension) AppendValue(b []byte) ([]byte, error) {
	b = append(b, t.OrganizationID[:]...)
	b = append(b, t.OrganizationSubType[:]...)
	return append(b, t.DataField...), nil
}

// UnmarshalValue decodes the TLV's value field. DataField's storage is
// reused. The tlvType is not in the value: set TLV from the TLV header when
// it matters.
func (t *OrganizationExtension) UnmarshalValue(v []byte) error {
	if len(v) < 6 {
		return ErrWrongLength
	}
	copy(t.OrganizationID[:], v[0:3])
	copy(t.OrganizationSubType[:], v[3:6])
	t.DataField = append(t.DataField[:0], v[6:]...)
	return nil
}

// FollowUpInformation is IEEE 802.1AS's Follow_Up information TLV
// (802.1AS-2020 11.4.4.3): an ORGANIZATION_EXTENSION from IEEE 802.1,
// subtype 1, on every gPTP Follow_Up.
type FollowUpInformation struct {
	CumulativeScaledRateOffset int32
	GmTimeBaseIndicator        uint16
	LastGmPhaseChange          ScaledNs
	ScaledLastGmPhaseChange    int32
}

// FollowUpInformationSubType is the organizationSubType of the TLV.
var FollowUpInformationSubType = [3]byte{0, 0, 1}

// TLVType returns TLVOrganizationExtension.
func (t *FollowUpInformation) TLVType() TLVType { return TLVOrganizationExtension }

// AppendValue appends the TLV's value field.
func (t *FollowUpInformation) AppendValue(b []byte) ([]byte, error) {
	b = append(b, OrganizationIEEE8021[:]...)
	b = append(b, FollowUpInformationSubType[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(t.CumulativeScaledRateOffset))
	b = binary.BigEndian.AppendUint16(b, t.GmTimeBaseIndicator)
	b = t.LastGmPhaseChange.append(b)
	return binary.BigEndian.AppendUint32(b, uint32(t.ScaledLastGmPhaseChange)), nil
}

// UnmarshalValue decodes the TLV's value field; it fails with
// ErrWrongMessageType for an organization extension of another kind.
func (t *FollowUpInformation) UnmarshalValue(v []byte) error {
	if len(v) < 6 {
		return ErrWrongLength
	}
	if [3]byte(v[0:3]) != OrganizationIEEE8021 || [3]byte(v[3:6]) != FollowUpInformationSubType {
		return ErrWrongMessageType
	}
	if len(v) < 28 {
		return ErrWrongLength
	}
	t.CumulativeScaledRateOffset = int32(binary.BigEndian.Uint32(v[6:10]))
	t.GmTimeBaseIndicator = binary.BigEndian.Uint16(v[10:12])
	t.LastGmPhaseChange.decode(v[12:24])
	t.ScaledLastGmPhaseChange = int32(binary.BigEndian.Uint32(v[24:28]))
	return nil
}

// Pad is the PAD TLV (IEEE 1588-2019 14.4): Length octets of padding, used
// to make messages a fixed size.
type Pad struct {
	Length int
}

// TLVType returns TLVPad.
func (t *Pad) TLVType() TLVType { return TLVPad }

// AppendValue appends Length zero octets.
func (t *Pad) AppendValue(b []byte) ([]byte, error) {
	if t.Length < 0 || t.Length > 0xfffe {
		return b, ErrValueRange
	}
	return append(b, make([]byte, t.Length)...), nil
}

// UnmarshalValue records the padding's length; its content is ignored.
func (t *Pad) UnmarshalValue(v []byte) error {
	t.Length = len(v)
	return nil
}

// Authentication is the AUTHENTICATION TLV (IEEE 1588-2019 16.14.3). Only
// the fixed fields are decoded; what follows (disclosedKey, sequenceNo, RES,
// ICV) has lengths set by the security association, so it stays in Rest for
// the security layer to split. No cryptography is done here.
type Authentication struct {
	SPP               uint8
	SecParamIndicator uint8
	KeyID             uint32
	Rest              []byte
}

// TLVType returns TLVAuthentication.
func (t *Authentication) TLVType() TLVType { return TLVAuthentication }

// AppendValue appends the TLV's value field.
func (t *Authentication) AppendValue(b []byte) ([]byte, error) {
	b = append(b, t.SPP, t.SecParamIndicator)
	b = binary.BigEndian.AppendUint32(b, t.KeyID)
	return append(b, t.Rest...), nil
}

// UnmarshalValue decodes the TLV's value field; Rest's storage is reused.
func (t *Authentication) UnmarshalValue(v []byte) error {
	if len(v) < 6 {
		return ErrWrongLength
	}
	t.SPP, t.SecParamIndicator = v[0], v[1]
	t.KeyID = binary.BigEndian.Uint32(v[2:6])
	t.Rest = append(t.Rest[:0], v[6:]...)
	return nil
}

// ICV returns the last icvLength octets of Rest: the integrity check value,
// whose length the security association's algorithm fixes.
func (t *Authentication) ICV(icvLength int) ([]byte, bool) {
	if icvLength < 0 || icvLength > len(t.Rest) {
		return nil, false
	}
	return t.Rest[len(t.Rest)-icvLength:], true
}
