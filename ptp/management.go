package ptp

import (
	"encoding/binary"
	"strconv"
)

// ManagementAction is the actionField of a Management message (IEEE
// 1588-2019 Table 57).
type ManagementAction uint8

// actionField values.
const (
	ActionGet         ManagementAction = 0
	ActionSet         ManagementAction = 1
	ActionResponse    ManagementAction = 2
	ActionCommand     ManagementAction = 3
	ActionAcknowledge ManagementAction = 4
)

// String returns pmc's word for the action ("RESPONSE").
func (a ManagementAction) String() string {
	switch a {
	case ActionGet:
		return "GET"
	case ActionSet:
		return "SET"
	case ActionResponse:
		return "RESPONSE"
	case ActionCommand:
		return "COMMAND"
	case ActionAcknowledge:
		return "ACKNOWLEDGE"
	}
	return "ACTION_" + strconv.Itoa(int(a))
}

// Management is the Management message (IEEE 1588-2019 15.4): a GET, SET or
// COMMAND addressed to TargetPortIdentity, or a RESPONSE or ACKNOWLEDGE to
// one. Its TLVs hold a MANAGEMENT TLV (or, in a response, a
// MANAGEMENT_ERROR_STATUS TLV).
type Management struct {
	Header
	TargetPortIdentity   PortIdentity
	StartingBoundaryHops uint8
	BoundaryHops         uint8
	ActionField          ManagementAction // four bits on the wire
	// reserved keeps the high nibble of octet 46 and octet 47 as received.
	reserved [2]byte
	TLVs     TLVs
}

// Type returns MessageManagement.
func (m *Management) Type() MessageType { return MessageManagement }

// Hdr returns the header.
func (m *Management) Hdr() *Header { return &m.Header }

// Suffix returns the message's TLVs.
func (m *Management) Suffix() *TLVs { return &m.TLVs }

// UnmarshalBinary decodes a Management message. The management TLV's data
// is not decoded here: Data does that for the ID the caller expects.
func (m *Management) UnmarshalBinary(b []byte) error {
	n, ok := decodeHeader(&m.Header, b, MessageManagement, ManagementLen)
	if !ok {
		return headerError(&m.Header, b, MessageManagement, ManagementLen)
	}
	b = b[:n]
	m.TargetPortIdentity.decode(b[HeaderLen : HeaderLen+portIdentityLen])
	m.StartingBoundaryHops = b[44]
	m.BoundaryHops = b[45]
	m.ActionField = ManagementAction(b[46] & 0x0f)
	m.reserved = [2]byte{b[46] & 0xf0, b[47]}
	return m.TLVs.set(b[ManagementLen:], MessageManagement, ManagementLen)
}

// AppendBinary appends the encoded message to b.
func (m *Management) AppendBinary(b []byte) ([]byte, error) {
	n, err := startEncode(MessageManagement, ManagementLen, &m.TLVs)
	if err != nil {
		return b, err
	}
	b = m.Header.append(b, MessageManagement, n)
	b = m.TargetPortIdentity.append(b)
	b = append(b, m.StartingBoundaryHops, m.BoundaryHops,
		m.reserved[0]&0xf0|byte(m.ActionField)&0x0f, m.reserved[1])
	return append(b, m.TLVs.b...), nil
}

// MarshalBinary returns the encoded message.
func (m *Management) MarshalBinary() ([]byte, error) { return marshal(m, ManagementLen+m.TLVs.Len()) }

// ManagementTLV returns the managementId and the dataField of the message's
// MANAGEMENT TLV. It fails with ErrWrongLength if the TLV is too short to
// hold a managementId, and reports false if there is no MANAGEMENT TLV.
func (m *Management) ManagementTLV() (id ManagementID, data []byte, ok bool, err error) {
	tlv, found := m.TLVs.Find(TLVManagement)
	if !found {
		return 0, nil, false, nil
	}
	if len(tlv.Value) < 2 {
		return 0, nil, true, formatErr(MessageManagement, "MANAGEMENT TLV", ManagementLen, ErrWrongLength)
	}
	return ManagementID(binary.BigEndian.Uint16(tlv.Value)), tlv.Value[2:], true, nil
}

// Data decodes the MANAGEMENT TLV's dataField into d, after checking that
// the TLV's managementId is d's.
func (m *Management) Data(d ManagementData) error {
	id, data, ok, err := m.ManagementTLV()
	if err != nil {
		return err
	}
	if !ok {
		return formatErr(MessageManagement, "MANAGEMENT TLV", ManagementLen, ErrTruncated)
	}
	if id != d.ManagementID() {
		return formatErr(MessageManagement, "managementId "+id.String(), ManagementLen+4, ErrWrongMessageType)
	}
	return d.UnmarshalData(data)
}

// SetData replaces the message's TLVs with one MANAGEMENT TLV holding d,
// padded to an even length as linuxptp does.
func (m *Management) SetData(d ManagementData) error {
	// Written in place rather than through TLVs.Add so that no adapter value
	// escapes: building a response allocates nothing.
	b := append(m.TLVs.b[:0], 0, 0, 0, 0)
	binary.BigEndian.PutUint16(b[0:2], uint16(TLVManagement))
	b = binary.BigEndian.AppendUint16(b, uint16(d.ManagementID()))
	b, err := d.AppendData(b)
	if err != nil {
		m.TLVs.Reset()
		return err
	}
	if len(b)%2 != 0 {
		b = append(b, 0)
	}
	if len(b)-tlvHeaderLen > 0xfffe {
		m.TLVs.Reset()
		return formatErr(MessageManagement, "MANAGEMENT TLV", ManagementLen, ErrValueRange)
	}
	binary.BigEndian.PutUint16(b[2:4], uint16(len(b)-tlvHeaderLen))
	m.TLVs.b = b
	return nil
}

// SetEmpty replaces the message's TLVs with a MANAGEMENT TLV that carries
// the managementId and no data, as a GET (and pmc -z) may.
func (m *Management) SetEmpty(id ManagementID) error {
	m.TLVs.Reset()
	var v [2]byte
	binary.BigEndian.PutUint16(v[:], uint16(id))
	return m.TLVs.AddRaw(TLVManagement, v[:])
}

// ErrorStatus returns the message's MANAGEMENT_ERROR_STATUS TLV, if any.
func (m *Management) ErrorStatus() (ManagementErrorStatus, bool, error) {
	var es ManagementErrorStatus
	ok, err := m.TLVs.Decode(&es)
	return es, ok, err
}

// ManagementData is the dataField of one management ID: the data sets and
// linuxptp's _NP extensions implement it.
type ManagementData interface {
	// ManagementID is the managementId the data belongs to.
	ManagementID() ManagementID
	// AppendData appends the dataField (without padding).
	AppendData(b []byte) ([]byte, error)
	// UnmarshalData decodes a dataField. Trailing pad octets are allowed;
	// a field too short for the data set is ErrWrongLength.
	UnmarshalData(d []byte) error
}

// ManagementErrorID is the managementErrorId of IEEE 1588-2019 Table 109.
type ManagementErrorID uint16

// managementErrorId values.
const (
	ErrorResponseTooBig ManagementErrorID = 0x0001
	ErrorNoSuchID       ManagementErrorID = 0x0002
	ErrorWrongLength    ManagementErrorID = 0x0003
	ErrorWrongValue     ManagementErrorID = 0x0004
	ErrorNotSetable     ManagementErrorID = 0x0005
	ErrorNotSupported   ManagementErrorID = 0x0006
	ErrorUnpopulated    ManagementErrorID = 0x0007
	ErrorGeneralError   ManagementErrorID = 0xfffe
)

// String returns the standard's name, as pmc prints it.
func (e ManagementErrorID) String() string {
	switch e {
	case ErrorResponseTooBig:
		return "RESPONSE_TOO_BIG"
	case ErrorNoSuchID:
		return "NO_SUCH_ID"
	case ErrorWrongLength:
		return "WRONG_LENGTH"
	case ErrorWrongValue:
		return "WRONG_VALUE"
	case ErrorNotSetable:
		return "NOT_SETABLE"
	case ErrorNotSupported:
		return "NOT_SUPPORTED"
	case ErrorUnpopulated:
		return "UNPOPULATED"
	case ErrorGeneralError:
		return "GENERAL_ERROR"
	}
	return "ERROR_0x" + strconv.FormatUint(uint64(e), 16)
}

// ManagementErrorStatus is the MANAGEMENT_ERROR_STATUS TLV (IEEE 1588-2019
// 15.5.4): why a management request was refused.
type ManagementErrorStatus struct {
	ManagementErrorID ManagementErrorID
	ManagementID      ManagementID
	reserved          [4]byte
	DisplayData       PTPText // optional; empty when absent
	hasDisplayData    bool
}

// TLVType returns TLVManagementErrorStatus.
func (e *ManagementErrorStatus) TLVType() TLVType { return TLVManagementErrorStatus }

// AppendValue appends the TLV's value field.
func (e *ManagementErrorStatus) AppendValue(b []byte) ([]byte, error) {
	b = binary.BigEndian.AppendUint16(b, uint16(e.ManagementErrorID))
	b = binary.BigEndian.AppendUint16(b, uint16(e.ManagementID))
	b = append(b, e.reserved[:]...)
	if e.DisplayData == "" && !e.hasDisplayData {
		return b, nil
	}
	return e.DisplayData.append(b)
}

// UnmarshalValue decodes the TLV's value field.
func (e *ManagementErrorStatus) UnmarshalValue(v []byte) error {
	if len(v) < 8 {
		return ErrWrongLength
	}
	e.ManagementErrorID = ManagementErrorID(binary.BigEndian.Uint16(v[0:2]))
	e.ManagementID = ManagementID(binary.BigEndian.Uint16(v[2:4]))
	copy(e.reserved[:], v[4:8])
	e.DisplayData, e.hasDisplayData = "", false
	if len(v) > 8 {
		t, _, err := decodePTPText(v[8:])
		if err != nil {
			return err
		}
		e.DisplayData, e.hasDisplayData = t, true
	}
	return nil
}
