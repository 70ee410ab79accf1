package ptp

import (
	"encoding/binary"
	"fmt"
	"strconv"
)

// The data sets of IEEE 1588-2019 clause 8 as management carries them
// (15.5.3). Each implements ManagementData; field names are the standard's.

// wrongLength reports a dataField too short for its data set. The offset is
// where a MANAGEMENT TLV's dataField starts in its message.
func wrongLength(id ManagementID, got, want int) error {
	return formatErr(MessageManagement, fmt.Sprintf("%s dataField of %d octets (want %d)", id, got, want), ManagementLen+6, ErrWrongLength)
}

// DefaultDataSet flag bits (IEEE 1588-2019 15.5.3.3.1).
const (
	DefaultDSTwoStep   = 1 << 0 // TSC: twoStepFlag
	DefaultDSSlaveOnly = 1 << 1 // SO: slaveOnly
)

// DefaultDataSet is DEFAULT_DATA_SET: defaultDS (IEEE 1588-2019 8.2.1).
type DefaultDataSet struct {
	Flags         uint8 // DefaultDSTwoStep | DefaultDSSlaveOnly
	reserved1     uint8
	NumberPorts   uint16
	Priority1     uint8
	ClockQuality  ClockQuality
	Priority2     uint8
	ClockIdentity ClockIdentity
	DomainNumber  uint8
	reserved2     uint8
}

// DefaultDataSetLen is the dataField length of DEFAULT_DATA_SET.
const DefaultDataSetLen = 20

// ManagementID returns MIDDefaultDataSet.
func (d *DefaultDataSet) ManagementID() ManagementID { return MIDDefaultDataSet }

// TwoStep reports the TSC flag.
func (d *DefaultDataSet) TwoStep() bool { return d.Flags&DefaultDSTwoStep != 0 }

// SlaveOnly reports the SO flag.
func (d *DefaultDataSet) SlaveOnly() bool { return d.Flags&DefaultDSSlaveOnly != 0 }

// AppendData appends the dataField.
func (d *DefaultDataSet) AppendData(b []byte) ([]byte, error) {
	b = append(b, d.Flags, d.reserved1)
	b = binary.BigEndian.AppendUint16(b, d.NumberPorts)
	b = append(b, d.Priority1)
	b = d.ClockQuality.append(b)
	b = append(b, d.Priority2)
	b = append(b, d.ClockIdentity[:]...)
	return append(b, d.DomainNumber, d.reserved2), nil
}

// UnmarshalData decodes the dataField.
func (d *DefaultDataSet) UnmarshalData(b []byte) error {
	if len(b) < DefaultDataSetLen {
		return wrongLength(MIDDefaultDataSet, len(b), DefaultDataSetLen)
	}
	d.Flags, d.reserved1 = b[0], b[1]
	d.NumberPorts = binary.BigEndian.Uint16(b[2:4])
	d.Priority1 = b[4]
	d.ClockQuality.decode(b[5:9])
	d.Priority2 = b[9]
	copy(d.ClockIdentity[:], b[10:18])
	d.DomainNumber, d.reserved2 = b[18], b[19]
	return nil
}

// CurrentDataSet is CURRENT_DATA_SET: currentDS (IEEE 1588-2019 8.2.2).
type CurrentDataSet struct {
	StepsRemoved     uint16
	OffsetFromMaster TimeInterval
	MeanPathDelay    TimeInterval
}

// CurrentDataSetLen is the dataField length of CURRENT_DATA_SET.
const CurrentDataSetLen = 18

// ManagementID returns MIDCurrentDataSet.
func (d *CurrentDataSet) ManagementID() ManagementID { return MIDCurrentDataSet }

// AppendData appends the dataField.
func (d *CurrentDataSet) AppendData(b []byte) ([]byte, error) {
	b = binary.BigEndian.AppendUint16(b, d.StepsRemoved)
	b = binary.BigEndian.AppendUint64(b, uint64(d.OffsetFromMaster))
	return binary.BigEndian.AppendUint64(b, uint64(d.MeanPathDelay)), nil
}

// UnmarshalData decodes the dataField.
func (d *CurrentDataSet) UnmarshalData(b []byte) error {
	if len(b) < CurrentDataSetLen {
		return wrongLength(MIDCurrentDataSet, len(b), CurrentDataSetLen)
	}
	d.StepsRemoved = binary.BigEndian.Uint16(b[0:2])
	d.OffsetFromMaster = TimeInterval(binary.BigEndian.Uint64(b[2:10]))
	d.MeanPathDelay = TimeInterval(binary.BigEndian.Uint64(b[10:18]))
	return nil
}

// ParentDataSet is PARENT_DATA_SET: parentDS (IEEE 1588-2019 8.2.3).
type ParentDataSet struct {
	ParentPortIdentity                    PortIdentity
	ParentStats                           uint8 // PS flag in bit 0
	reserved                              uint8
	ObservedParentOffsetScaledLogVariance uint16
	ObservedParentClockPhaseChangeRate    int32
	GrandmasterPriority1                  uint8
	GrandmasterClockQuality               ClockQuality
	GrandmasterPriority2                  uint8
	GrandmasterIdentity                   ClockIdentity
}

// ParentDataSetLen is the dataField length of PARENT_DATA_SET.
const ParentDataSetLen = 32

// ManagementID returns MIDParentDataSet.
func (d *ParentDataSet) ManagementID() ManagementID { return MIDParentDataSet }

// AppendData appends the dataField.
func (d *ParentDataSet) AppendData(b []byte) ([]byte, error) {
	b = d.ParentPortIdentity.append(b)
	b = append(b, d.ParentStats, d.reserved)
	b = binary.BigEndian.AppendUint16(b, d.ObservedParentOffsetScaledLogVariance)
	b = binary.BigEndian.AppendUint32(b, uint32(d.ObservedParentClockPhaseChangeRate))
	b = append(b, d.GrandmasterPriority1)
	b = d.GrandmasterClockQuality.append(b)
	b = append(b, d.GrandmasterPriority2)
	return append(b, d.GrandmasterIdentity[:]...), nil
}

// UnmarshalData decodes the dataField.
func (d *ParentDataSet) UnmarshalData(b []byte) error {
	if len(b) < ParentDataSetLen {
		return wrongLength(MIDParentDataSet, len(b), ParentDataSetLen)
	}
	d.ParentPortIdentity.decode(b[0:10])
	d.ParentStats, d.reserved = b[10], b[11]
	d.ObservedParentOffsetScaledLogVariance = binary.BigEndian.Uint16(b[12:14])
	d.ObservedParentClockPhaseChangeRate = int32(binary.BigEndian.Uint32(b[14:18]))
	d.GrandmasterPriority1 = b[18]
	d.GrandmasterClockQuality.decode(b[19:23])
	d.GrandmasterPriority2 = b[23]
	copy(d.GrandmasterIdentity[:], b[24:32])
	return nil
}

// Time-property flag bits of TIME_PROPERTIES_DATA_SET and UTC_PROPERTIES
// (IEEE 1588-2019 15.5.3.6.1): the low octet of the header's flagField.
const (
	TimePropertiesLeap61                = 1 << 0
	TimePropertiesLeap59                = 1 << 1
	TimePropertiesCurrentUTCOffsetValid = 1 << 2
	TimePropertiesPTPTimescale          = 1 << 3
	TimePropertiesTimeTraceable         = 1 << 4
	TimePropertiesFrequencyTraceable    = 1 << 5
)

// TimePropertiesDataSet is TIME_PROPERTIES_DATA_SET: timePropertiesDS
// (IEEE 1588-2019 8.2.4).
type TimePropertiesDataSet struct {
	CurrentUTCOffset int16
	Flags            uint8 // TimeProperties* bits
	TimeSource       TimeSource
}

// TimePropertiesDataSetLen is the dataField length of
// TIME_PROPERTIES_DATA_SET.
const TimePropertiesDataSetLen = 4

// ManagementID returns MIDTimePropertiesDataSet.
func (d *TimePropertiesDataSet) ManagementID() ManagementID { return MIDTimePropertiesDataSet }

// AppendData appends the dataField.
func (d *TimePropertiesDataSet) AppendData(b []byte) ([]byte, error) {
	b = binary.BigEndian.AppendUint16(b, uint16(d.CurrentUTCOffset))
	return append(b, d.Flags, byte(d.TimeSource)), nil
}

// UnmarshalData decodes the dataField.
func (d *TimePropertiesDataSet) UnmarshalData(b []byte) error {
	if len(b) < TimePropertiesDataSetLen {
		return wrongLength(MIDTimePropertiesDataSet, len(b), TimePropertiesDataSetLen)
	}
	d.CurrentUTCOffset = int16(binary.BigEndian.Uint16(b[0:2]))
	d.Flags, d.TimeSource = b[2], TimeSource(b[3])
	return nil
}

// PortState is the portState enumeration of IEEE 1588-2019 Table 20.
type PortState uint8

// portState values.
const (
	PortStateInitializing PortState = 1
	PortStateFaulty       PortState = 2
	PortStateDisabled     PortState = 3
	PortStateListening    PortState = 4
	PortStatePreMaster    PortState = 5
	PortStateMaster       PortState = 6
	PortStatePassive      PortState = 7
	PortStateUncalibrated PortState = 8
	PortStateSlave        PortState = 9
)

var portStateNames = [...]string{"NONE", "INITIALIZING", "FAULTY", "DISABLED", "LISTENING",
	"PRE_MASTER", "MASTER", "PASSIVE", "UNCALIBRATED", "SLAVE"}

// String returns linuxptp's name for the state ("UNCALIBRATED").
func (s PortState) String() string {
	if int(s) < len(portStateNames) {
		return portStateNames[s]
	}
	return "PORT_STATE_" + strconv.Itoa(int(s))
}

// DelayMechanism is the delayMechanism enumeration of IEEE 1588-2019
// Table 21.
type DelayMechanism uint8

// delayMechanism values.
const (
	DelayMechanismE2E         DelayMechanism = 0x01
	DelayMechanismP2P         DelayMechanism = 0x02
	DelayMechanismCommonP2P   DelayMechanism = 0x03
	DelayMechanismSpecial     DelayMechanism = 0x04
	DelayMechanismNoMechanism DelayMechanism = 0xfe
)

// PortDataSet is PORT_DATA_SET: portDS (IEEE 1588-2019 8.2.15).
type PortDataSet struct {
	PortIdentity            PortIdentity
	PortState               PortState
	LogMinDelayReqInterval  int8
	PeerMeanPathDelay       TimeInterval
	LogAnnounceInterval     int8
	AnnounceReceiptTimeout  uint8
	LogSyncInterval         int8
	DelayMechanism          DelayMechanism
	LogMinPdelayReqInterval int8
	// VersionNumber is the octet as on the wire: minorVersionNumber in the
	// high nibble (IEEE 1588-2019), versionNumber in the low one.
	VersionNumber uint8
}

// PortDataSetLen is the dataField length of PORT_DATA_SET.
const PortDataSetLen = 26

// ManagementID returns MIDPortDataSet.
func (d *PortDataSet) ManagementID() ManagementID { return MIDPortDataSet }

// AppendData appends the dataField.
func (d *PortDataSet) AppendData(b []byte) ([]byte, error) {
	b = d.PortIdentity.append(b)
	b = append(b, byte(d.PortState), byte(d.LogMinDelayReqInterval))
	b = binary.BigEndian.AppendUint64(b, uint64(d.PeerMeanPathDelay))
	return append(b, byte(d.LogAnnounceInterval), d.AnnounceReceiptTimeout, byte(d.LogSyncInterval),
		byte(d.DelayMechanism), byte(d.LogMinPdelayReqInterval), d.VersionNumber), nil
}

// UnmarshalData decodes the dataField.
func (d *PortDataSet) UnmarshalData(b []byte) error {
	if len(b) < PortDataSetLen {
		return wrongLength(MIDPortDataSet, len(b), PortDataSetLen)
	}
	d.PortIdentity.decode(b[0:10])
	d.PortState, d.LogMinDelayReqInterval = PortState(b[10]), int8(b[11])
	d.PeerMeanPathDelay = TimeInterval(binary.BigEndian.Uint64(b[12:20]))
	d.LogAnnounceInterval, d.AnnounceReceiptTimeout, d.LogSyncInterval = int8(b[20]), b[21], int8(b[22])
	d.DelayMechanism, d.LogMinPdelayReqInterval, d.VersionNumber = DelayMechanism(b[23]), int8(b[24]), b[25]
	return nil
}

// Datum is the dataField of the management IDs that carry one octet and a
// reserved octet (IEEE 1588-2019 15.5.3): PRIORITY1, PRIORITY2, DOMAIN,
// SLAVE_ONLY, LOG_ANNOUNCE_INTERVAL, ANNOUNCE_RECEIPT_TIMEOUT,
// LOG_SYNC_INTERVAL, VERSION_NUMBER, CLOCK_ACCURACY, TRACEABILITY_PROPERTIES,
// DELAY_MECHANISM, LOG_MIN_PDELAY_REQ_INTERVAL, MASTER_ONLY, and linuxptp's
// SYNCHRONIZATION_UNCERTAIN_NP. Value is the octet; read it as int8 for the
// log intervals and as flag bits for SLAVE_ONLY (bit 0), MASTER_ONLY (bit 0)
// and TRACEABILITY_PROPERTIES (TimePropertiesTimeTraceable and
// TimePropertiesFrequencyTraceable).
type Datum struct {
	ID       ManagementID
	Value    uint8
	Reserved uint8
}

// DatumIDs are the management IDs whose dataField is a Datum.
var DatumIDs = []ManagementID{
	MIDPriority1, MIDPriority2, MIDDomain, MIDSlaveOnly, MIDLogAnnounceInterval,
	MIDAnnounceReceiptTimeout, MIDLogSyncInterval, MIDVersionNumber, MIDClockAccuracy,
	MIDTraceabilityProperties, MIDDelayMechanism, MIDLogMinPdelayReqInterval, MIDMasterOnly,
	MIDSynchronizationUncertainNP,
}

// ManagementID returns the datum's ID.
func (d *Datum) ManagementID() ManagementID { return d.ID }

// AppendData appends the dataField.
func (d *Datum) AppendData(b []byte) ([]byte, error) { return append(b, d.Value, d.Reserved), nil }

// UnmarshalData decodes the dataField.
func (d *Datum) UnmarshalData(b []byte) error {
	if len(b) < 2 {
		return wrongLength(d.ID, len(b), 2)
	}
	d.Value, d.Reserved = b[0], b[1]
	return nil
}

// TimescaleProperties is TIMESCALE_PROPERTIES (IEEE 1588-2019 15.5.3.7.3).
type TimescaleProperties struct {
	Flags      uint8 // TimePropertiesPTPTimescale
	TimeSource TimeSource
}

// ManagementID returns MIDTimescaleProperties.
func (d *TimescaleProperties) ManagementID() ManagementID { return MIDTimescaleProperties }

// AppendData appends the dataField.
func (d *TimescaleProperties) AppendData(b []byte) ([]byte, error) {
	return append(b, d.Flags, byte(d.TimeSource)), nil
}

// UnmarshalData decodes the dataField.
func (d *TimescaleProperties) UnmarshalData(b []byte) error {
	if len(b) < 2 {
		return wrongLength(MIDTimescaleProperties, len(b), 2)
	}
	d.Flags, d.TimeSource = b[0], TimeSource(b[1])
	return nil
}

// UTCProperties is UTC_PROPERTIES (IEEE 1588-2019 15.5.3.7.1).
type UTCProperties struct {
	CurrentUTCOffset int16
	Flags            uint8 // TimePropertiesLeap61, Leap59, CurrentUTCOffsetValid
	reserved         uint8
}

// ManagementID returns MIDUTCProperties.
func (d *UTCProperties) ManagementID() ManagementID { return MIDUTCProperties }

// AppendData appends the dataField.
func (d *UTCProperties) AppendData(b []byte) ([]byte, error) {
	b = binary.BigEndian.AppendUint16(b, uint16(d.CurrentUTCOffset))
	return append(b, d.Flags, d.reserved), nil
}

// UnmarshalData decodes the dataField.
func (d *UTCProperties) UnmarshalData(b []byte) error {
	if len(b) < 4 {
		return wrongLength(MIDUTCProperties, len(b), 4)
	}
	d.CurrentUTCOffset = int16(binary.BigEndian.Uint16(b[0:2]))
	d.Flags, d.reserved = b[2], b[3]
	return nil
}

// NullManagement is NULL_MANAGEMENT: no data.
type NullManagement struct{}

// ManagementID returns MIDNullManagement.
func (NullManagement) ManagementID() ManagementID { return MIDNullManagement }

// AppendData appends nothing.
func (NullManagement) AppendData(b []byte) ([]byte, error) { return b, nil }

// UnmarshalData accepts any (ignored) data.
func (NullManagement) UnmarshalData([]byte) error { return nil }

// UserDescription is USER_DESCRIPTION (IEEE 1588-2019 15.5.3.1.3): a PTPText
// naming the device and its location.
type UserDescription struct {
	UserDescription PTPText
}

// ManagementID returns MIDUserDescription.
func (d *UserDescription) ManagementID() ManagementID { return MIDUserDescription }

// AppendData appends the dataField.
func (d *UserDescription) AppendData(b []byte) ([]byte, error) { return d.UserDescription.append(b) }

// UnmarshalData decodes the dataField.
func (d *UserDescription) UnmarshalData(b []byte) error {
	t, _, err := decodePTPText(b)
	if err != nil {
		return wrongLength(MIDUserDescription, len(b), 1)
	}
	d.UserDescription = t
	return nil
}

// ClockDescription is CLOCK_DESCRIPTION (IEEE 1588-2019 15.5.3.1.2).
type ClockDescription struct {
	ClockType             uint16
	PhysicalLayerProtocol PTPText
	PhysicalAddress       []byte
	ProtocolAddress       PortAddress
	ManufacturerIdentity  [3]byte
	reserved              uint8
	ProductDescription    PTPText
	RevisionData          PTPText
	UserDescription       PTPText
	ProfileIdentity       [6]byte
}

// ManagementID returns MIDClockDescription.
func (d *ClockDescription) ManagementID() ManagementID { return MIDClockDescription }

// AppendData appends the dataField.
func (d *ClockDescription) AppendData(b []byte) ([]byte, error) {
	var err error
	b = binary.BigEndian.AppendUint16(b, d.ClockType)
	if b, err = d.PhysicalLayerProtocol.append(b); err != nil {
		return b, err
	}
	if len(d.PhysicalAddress) > 0xffff {
		return b, ErrValueRange
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(d.PhysicalAddress)))
	b = append(b, d.PhysicalAddress...)
	if b, err = d.ProtocolAddress.append(b); err != nil {
		return b, err
	}
	b = append(b, d.ManufacturerIdentity[:]...)
	b = append(b, d.reserved)
	for _, t := range []PTPText{d.ProductDescription, d.RevisionData, d.UserDescription} {
		if b, err = t.append(b); err != nil {
			return b, err
		}
	}
	return append(b, d.ProfileIdentity[:]...), nil
}

// UnmarshalData decodes the dataField.
func (d *ClockDescription) UnmarshalData(b []byte) error {
	bad := wrongLength(MIDClockDescription, len(b), 0)
	if len(b) < 2 {
		return bad
	}
	d.ClockType = binary.BigEndian.Uint16(b)
	b = b[2:]
	var n int
	var err error
	if d.PhysicalLayerProtocol, n, err = decodePTPText(b); err != nil {
		return bad
	}
	b = b[n:]
	if len(b) < 2 || len(b) < 2+int(binary.BigEndian.Uint16(b)) {
		return bad
	}
	n = int(binary.BigEndian.Uint16(b))
	d.PhysicalAddress = append(d.PhysicalAddress[:0], b[2:2+n]...)
	b = b[2+n:]
	if d.ProtocolAddress, n, err = decodePortAddress(b); err != nil {
		return bad
	}
	b = b[n:]
	if len(b) < 4 {
		return bad
	}
	copy(d.ManufacturerIdentity[:], b[0:3])
	d.reserved = b[3]
	b = b[4:]
	for _, t := range []*PTPText{&d.ProductDescription, &d.RevisionData, &d.UserDescription} {
		if *t, n, err = decodePTPText(b); err != nil {
			return bad
		}
		b = b[n:]
	}
	if len(b) < 6 {
		return bad
	}
	copy(d.ProfileIdentity[:], b[0:6])
	return nil
}
