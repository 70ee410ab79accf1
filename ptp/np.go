package ptp

import (
	"encoding/binary"
	"fmt"
)

// linuxptp's implementation-specific management data (managementId 0xC000
// and up, "_NP" for "not portable"), laid out exactly as ptp4l puts them on
// the wire so that pmc and phc2sys understand us and we understand ptp4l.

// ScaledNs is the ScaledNs type of IEEE 802.1AS: a 96-bit signed count of
// 2^-16 nanoseconds, split as linuxptp carries it.
type ScaledNs struct {
	NanosecondsMSB        uint16
	NanosecondsLSB        uint64
	FractionalNanoseconds uint16
}

// String prints the value as pmc does: "0x0000'0000000000000000.0000".
func (s ScaledNs) String() string {
	return fmt.Sprintf("0x%04x'%016x.%04x", s.NanosecondsMSB, s.NanosecondsLSB, s.FractionalNanoseconds)
}

func (s *ScaledNs) decode(b []byte) {
	_ = b[11]
	s.NanosecondsMSB = binary.BigEndian.Uint16(b[0:2])
	s.NanosecondsLSB = binary.BigEndian.Uint64(b[2:10])
	s.FractionalNanoseconds = binary.BigEndian.Uint16(b[10:12])
}

func (s ScaledNs) append(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, s.NanosecondsMSB)
	b = binary.BigEndian.AppendUint64(b, s.NanosecondsLSB)
	return binary.BigEndian.AppendUint16(b, s.FractionalNanoseconds)
}

// TimeStatusNP is TIME_STATUS_NP: the clock's last offset from its master,
// and gPTP-style grandmaster information.
type TimeStatusNP struct {
	MasterOffset               int64 // nanoseconds
	IngressTime                int64 // nanoseconds, time of the last Sync reception
	CumulativeScaledRateOffset int32 // (rateRatio - 1) * 2^41
	ScaledLastGmPhaseChange    int32
	GmTimeBaseIndicator        uint16
	LastGmPhaseChange          ScaledNs
	GmPresent                  int32 // 1 when a remote grandmaster is followed
	GmIdentity                 ClockIdentity
}

// TimeStatusNPLen is the dataField length of TIME_STATUS_NP.
const TimeStatusNPLen = 50

// ManagementID returns MIDTimeStatusNP.
func (d *TimeStatusNP) ManagementID() ManagementID { return MIDTimeStatusNP }

// AppendData appends the dataField.
func (d *TimeStatusNP) AppendData(b []byte) ([]byte, error) {
	b = binary.BigEndian.AppendUint64(b, uint64(d.MasterOffset))
	b = binary.BigEndian.AppendUint64(b, uint64(d.IngressTime))
	b = binary.BigEndian.AppendUint32(b, uint32(d.CumulativeScaledRateOffset))
	b = binary.BigEndian.AppendUint32(b, uint32(d.ScaledLastGmPhaseChange))
	b = binary.BigEndian.AppendUint16(b, d.GmTimeBaseIndicator)
	b = d.LastGmPhaseChange.append(b)
	b = binary.BigEndian.AppendUint32(b, uint32(d.GmPresent))
	return append(b, d.GmIdentity[:]...), nil
}

// UnmarshalData decodes the dataField.
func (d *TimeStatusNP) UnmarshalData(b []byte) error {
	if len(b) < TimeStatusNPLen {
		return wrongLength(MIDTimeStatusNP, len(b), TimeStatusNPLen)
	}
	d.MasterOffset = int64(binary.BigEndian.Uint64(b[0:8]))
	d.IngressTime = int64(binary.BigEndian.Uint64(b[8:16]))
	d.CumulativeScaledRateOffset = int32(binary.BigEndian.Uint32(b[16:20]))
	d.ScaledLastGmPhaseChange = int32(binary.BigEndian.Uint32(b[20:24]))
	d.GmTimeBaseIndicator = binary.BigEndian.Uint16(b[24:26])
	d.LastGmPhaseChange.decode(b[26:38])
	d.GmPresent = int32(binary.BigEndian.Uint32(b[38:42]))
	copy(d.GmIdentity[:], b[42:50])
	return nil
}

// GrandmasterSettingsNP is GRANDMASTER_SETTINGS_NP: what the clock
// announces while it is the grandmaster.
type GrandmasterSettingsNP struct {
	ClockQuality ClockQuality
	UTCOffset    int16
	TimeFlags    uint8 // TimeProperties* bits
	TimeSource   TimeSource
}

// GrandmasterSettingsNPLen is the dataField length of
// GRANDMASTER_SETTINGS_NP.
const GrandmasterSettingsNPLen = 8

// ManagementID returns MIDGrandmasterSettingsNP.
func (d *GrandmasterSettingsNP) ManagementID() ManagementID { return MIDGrandmasterSettingsNP }

// AppendData appends the dataField.
func (d *GrandmasterSettingsNP) AppendData(b []byte) ([]byte, error) {
	b = d.ClockQuality.append(b)
	b = binary.BigEndian.AppendUint16(b, uint16(d.UTCOffset))
	return append(b, d.TimeFlags, byte(d.TimeSource)), nil
}

// UnmarshalData decodes the dataField.
func (d *GrandmasterSettingsNP) UnmarshalData(b []byte) error {
	if len(b) < GrandmasterSettingsNPLen {
		return wrongLength(MIDGrandmasterSettingsNP, len(b), GrandmasterSettingsNPLen)
	}
	d.ClockQuality.decode(b[0:4])
	d.UTCOffset = int16(binary.BigEndian.Uint16(b[4:6]))
	d.TimeFlags, d.TimeSource = b[6], TimeSource(b[7])
	return nil
}

// PortDataSetNP is PORT_DATA_SET_NP: gPTP port settings.
type PortDataSetNP struct {
	NeighborPropDelayThresh uint32 // nanoseconds
	AsCapable               int32
}

// PortDataSetNPLen is the dataField length of PORT_DATA_SET_NP.
const PortDataSetNPLen = 8

// ManagementID returns MIDPortDataSetNP.
func (d *PortDataSetNP) ManagementID() ManagementID { return MIDPortDataSetNP }

// AppendData appends the dataField.
func (d *PortDataSetNP) AppendData(b []byte) ([]byte, error) {
	b = binary.BigEndian.AppendUint32(b, d.NeighborPropDelayThresh)
	return binary.BigEndian.AppendUint32(b, uint32(d.AsCapable)), nil
}

// UnmarshalData decodes the dataField.
func (d *PortDataSetNP) UnmarshalData(b []byte) error {
	if len(b) < PortDataSetNPLen {
		return wrongLength(MIDPortDataSetNP, len(b), PortDataSetNPLen)
	}
	d.NeighborPropDelayThresh = binary.BigEndian.Uint32(b[0:4])
	d.AsCapable = int32(binary.BigEndian.Uint32(b[4:8]))
	return nil
}

// Notification bits of SUBSCRIBE_EVENTS_NP's bitmask (linuxptp's
// notification.h): bit n is octet n/8, bit n%8.
const (
	NotifyPortState     = 0
	NotifyTimeSync      = 1
	NotifyParentDataSet = 2
	NotifyCMLDS         = 3
)

// SubscribeEventsNP is SUBSCRIBE_EVENTS_NP: a management client's request
// to be sent push notifications for Duration seconds.
type SubscribeEventsNP struct {
	Duration uint16 // seconds
	Bitmask  [64]byte
}

// SubscribeEventsNPLen is the dataField length of SUBSCRIBE_EVENTS_NP.
const SubscribeEventsNPLen = 66

// ManagementID returns MIDSubscribeEventsNP.
func (d *SubscribeEventsNP) ManagementID() ManagementID { return MIDSubscribeEventsNP }

// Subscribed reports whether notification bit n is set.
func (d *SubscribeEventsNP) Subscribed(n int) bool {
	return n >= 0 && n < 8*len(d.Bitmask) && d.Bitmask[n/8]&(1<<(n%8)) != 0
}

// Subscribe sets notification bit n.
func (d *SubscribeEventsNP) Subscribe(n int) {
	if n >= 0 && n < 8*len(d.Bitmask) {
		d.Bitmask[n/8] |= 1 << (n % 8)
	}
}

// AppendData appends the dataField.
func (d *SubscribeEventsNP) AppendData(b []byte) ([]byte, error) {
	b = binary.BigEndian.AppendUint16(b, d.Duration)
	return append(b, d.Bitmask[:]...), nil
}

// UnmarshalData decodes the dataField.
func (d *SubscribeEventsNP) UnmarshalData(b []byte) error {
	if len(b) < SubscribeEventsNPLen {
		return wrongLength(MIDSubscribeEventsNP, len(b), SubscribeEventsNPLen)
	}
	d.Duration = binary.BigEndian.Uint16(b[0:2])
	copy(d.Bitmask[:], b[2:66])
	return nil
}

// Timestamping is the timestamping enumeration of PORT_PROPERTIES_NP
// (linuxptp's enum timestamp_type).
type Timestamping uint8

// Timestamping values.
const (
	TimestampingSoftware Timestamping = 0
	TimestampingHardware Timestamping = 1
	TimestampingLegacyHW Timestamping = 2
	TimestampingOneStep  Timestamping = 3
	TimestampingP2P1Step Timestamping = 4
)

// String names the mode as pmc prints it.
func (t Timestamping) String() string {
	switch t {
	case TimestampingSoftware:
		return "software"
	case TimestampingHardware:
		return "hardware"
	case TimestampingLegacyHW:
		return "legacy hardware"
	case TimestampingOneStep:
		return "one-step"
	case TimestampingP2P1Step:
		return "p2p one-step"
	}
	return fmt.Sprintf("timestamping %d", uint8(t))
}

// PortPropertiesNP is PORT_PROPERTIES_NP: a port's state, timestamping mode
// and interface name.
type PortPropertiesNP struct {
	PortIdentity PortIdentity
	PortState    PortState
	Timestamping Timestamping
	Interface    PTPText
}

// ManagementID returns MIDPortPropertiesNP.
func (d *PortPropertiesNP) ManagementID() ManagementID { return MIDPortPropertiesNP }

// AppendData appends the dataField.
func (d *PortPropertiesNP) AppendData(b []byte) ([]byte, error) {
	b = d.PortIdentity.append(b)
	b = append(b, byte(d.PortState), byte(d.Timestamping))
	return d.Interface.append(b)
}

// UnmarshalData decodes the dataField.
func (d *PortPropertiesNP) UnmarshalData(b []byte) error {
	if len(b) < 13 {
		return wrongLength(MIDPortPropertiesNP, len(b), 13)
	}
	d.PortIdentity.decode(b[0:10])
	d.PortState, d.Timestamping = PortState(b[10]), Timestamping(b[11])
	t, _, err := decodePTPText(b[12:])
	if err != nil {
		return wrongLength(MIDPortPropertiesNP, len(b), 13+int(b[12]))
	}
	d.Interface = t
	return nil
}

// PortStatsNP is PORT_STATS_NP: messages received and sent per message
// type. linuxptp sends the counters little-endian, unlike everything else
// on the wire; this type does the same.
type PortStatsNP struct {
	PortIdentity PortIdentity
	RxMsgType    [16]uint64
	TxMsgType    [16]uint64
}

// PortStatsNPLen is the dataField length of PORT_STATS_NP.
const PortStatsNPLen = 10 + 2*16*8

// ManagementID returns MIDPortStatsNP.
func (d *PortStatsNP) ManagementID() ManagementID { return MIDPortStatsNP }

// AppendData appends the dataField.
func (d *PortStatsNP) AppendData(b []byte) ([]byte, error) {
	b = d.PortIdentity.append(b)
	for _, v := range d.RxMsgType {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	for _, v := range d.TxMsgType {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return b, nil
}

// UnmarshalData decodes the dataField.
func (d *PortStatsNP) UnmarshalData(b []byte) error {
	if len(b) < PortStatsNPLen {
		return wrongLength(MIDPortStatsNP, len(b), PortStatsNPLen)
	}
	d.PortIdentity.decode(b[0:10])
	for i := range d.RxMsgType {
		d.RxMsgType[i] = binary.LittleEndian.Uint64(b[10+8*i:])
	}
	for i := range d.TxMsgType {
		d.TxMsgType[i] = binary.LittleEndian.Uint64(b[10+128+8*i:])
	}
	return nil
}

// PortServiceStatsNP is PORT_SERVICE_STATS_NP: a port's timeout and mismatch
// counters, little-endian like PORT_STATS_NP.
type PortServiceStatsNP struct {
	PortIdentity          PortIdentity
	AnnounceTimeout       uint64
	SyncTimeout           uint64
	DelayTimeout          uint64
	UnicastServiceTimeout uint64
	UnicastRequestTimeout uint64
	MasterAnnounceTimeout uint64
	MasterSyncTimeout     uint64
	QualificationTimeout  uint64
	SyncMismatch          uint64
	FollowUpMismatch      uint64
}

// PortServiceStatsNPLen is the dataField length of PORT_SERVICE_STATS_NP.
const PortServiceStatsNPLen = 10 + 10*8

// ManagementID returns MIDPortServiceStatsNP.
func (d *PortServiceStatsNP) ManagementID() ManagementID { return MIDPortServiceStatsNP }

func (d *PortServiceStatsNP) counters() [10]*uint64 {
	return [10]*uint64{&d.AnnounceTimeout, &d.SyncTimeout, &d.DelayTimeout, &d.UnicastServiceTimeout,
		&d.UnicastRequestTimeout, &d.MasterAnnounceTimeout, &d.MasterSyncTimeout,
		&d.QualificationTimeout, &d.SyncMismatch, &d.FollowUpMismatch}
}

// AppendData appends the dataField.
func (d *PortServiceStatsNP) AppendData(b []byte) ([]byte, error) {
	b = d.PortIdentity.append(b)
	for _, c := range d.counters() {
		b = binary.LittleEndian.AppendUint64(b, *c)
	}
	return b, nil
}

// UnmarshalData decodes the dataField.
func (d *PortServiceStatsNP) UnmarshalData(b []byte) error {
	if len(b) < PortServiceStatsNPLen {
		return wrongLength(MIDPortServiceStatsNP, len(b), PortServiceStatsNPLen)
	}
	d.PortIdentity.decode(b[0:10])
	for i, c := range d.counters() {
		*c = binary.LittleEndian.Uint64(b[10+8*i:])
	}
	return nil
}

// PortHWClockNP is PORT_HWCLOCK_NP: which PHC a port timestamps with.
type PortHWClockNP struct {
	PortIdentity PortIdentity
	PHCIndex     int32
	Flags        uint8 // bit 0: the PHC is a virtual clock
	reserved     uint8
}

// PortHWClockNPLen is the dataField length of PORT_HWCLOCK_NP.
const PortHWClockNPLen = 16

// ManagementID returns MIDPortHWClockNP.
func (d *PortHWClockNP) ManagementID() ManagementID { return MIDPortHWClockNP }

// AppendData appends the dataField.
func (d *PortHWClockNP) AppendData(b []byte) ([]byte, error) {
	b = d.PortIdentity.append(b)
	b = binary.BigEndian.AppendUint32(b, uint32(d.PHCIndex))
	return append(b, d.Flags, d.reserved), nil
}

// UnmarshalData decodes the dataField.
func (d *PortHWClockNP) UnmarshalData(b []byte) error {
	if len(b) < PortHWClockNPLen {
		return wrongLength(MIDPortHWClockNP, len(b), PortHWClockNPLen)
	}
	d.PortIdentity.decode(b[0:10])
	d.PHCIndex = int32(binary.BigEndian.Uint32(b[10:14]))
	d.Flags, d.reserved = b[14], b[15]
	return nil
}

// VirtualClockNP is VIRTUAL_CLOCK_NP, roko-ptpd's own: the true error of
// the virtual clock the daemon steers, against CLOCK_REALTIME, and the
// frequency it has set.
type VirtualClockNP struct {
	TrueError int64 // ns
	Frequency int64 // ppb, rounded
}

// VirtualClockNPLen is the dataField length of VIRTUAL_CLOCK_NP.
const VirtualClockNPLen = 16

// ManagementID returns MIDVirtualClockNP.
func (d *VirtualClockNP) ManagementID() ManagementID { return MIDVirtualClockNP }

// AppendData appends the dataField.
func (d *VirtualClockNP) AppendData(b []byte) ([]byte, error) {
	b = binary.BigEndian.AppendUint64(b, uint64(d.TrueError))
	return binary.BigEndian.AppendUint64(b, uint64(d.Frequency)), nil
}

// UnmarshalData decodes the dataField.
func (d *VirtualClockNP) UnmarshalData(b []byte) error {
	if len(b) < VirtualClockNPLen {
		return wrongLength(MIDVirtualClockNP, len(b), VirtualClockNPLen)
	}
	d.TrueError = int64(binary.BigEndian.Uint64(b[0:8]))
	d.Frequency = int64(binary.BigEndian.Uint64(b[8:16]))
	return nil
}

// TimeSourceState is where a grandmaster's time source stands, as
// TIME_SOURCE_NP carries it. The values are those of ptp/timesource's
// State, which this package must not import (timesource imports ptp).
type TimeSourceState uint8

// Time source states.
const (
	// TimeSourceFreeRun: no qualified source; the clock runs on its own.
	TimeSourceFreeRun TimeSourceState = 0
	// TimeSourceLocked: the clock follows a qualified pulse and time of
	// day.
	TimeSourceLocked TimeSourceState = 1
	// TimeSourceHoldover: the source was lost; the clock keeps the
	// frequency it had while locked.
	TimeSourceHoldover TimeSourceState = 2
)

var timeSourceStateNames = [...]string{"FREERUN", "LOCKED", "HOLDOVER"}

// String names the state as timesource.State does ("LOCKED"), so that
// pmc, status and the daemon's logs agree.
func (s TimeSourceState) String() string {
	if int(s) < len(timeSourceStateNames) {
		return timeSourceStateNames[s]
	}
	return fmt.Sprintf("STATE_%d", uint8(s))
}

// PulseInput says how a time source's pulse per second reaches the
// clock, as TIME_SOURCE_NP carries it.
type PulseInput uint8

// Pulse inputs.
const (
	PulseInputNone  PulseInput = 0 // no pulse: the time of day alone
	PulseInputEXTTS PulseInput = 1 // a PHC's external timestamp channel
	PulseInputPPS   PulseInput = 2 // the kernel's PPS device (/dev/ppsN)
)

// String names the input as pmc and status print it ("EXTTS").
func (p PulseInput) String() string {
	switch p {
	case PulseInputNone:
		return "none"
	case PulseInputEXTTS:
		return "EXTTS"
	case PulseInputPPS:
		return "PPS"
	}
	return fmt.Sprintf("INPUT_%d", uint8(p))
}

// TimeSourceNP is TIME_SOURCE_NP, roko-ptpd's own: a grandmaster's time
// source (a GNSS receiver's pulse per second and time of day), its state,
// what the clock announces because of it, and why pulses and reports were
// not used. It mirrors timesource.Status, Quality and Counters in
// fixed-size integers so that it needs no codec of its own for floats.
type TimeSourceNP struct {
	State TimeSourceState
	// Qualifying is 1 while the pulses and reports agree and the source
	// is being qualified; Fix is 1 when the last time-of-day report had a
	// fix.
	Qualifying uint8
	Fix        uint8
	PulseInput PulseInput
	// TimeInState is how long the source has been in State, ns;
	// Qualified how long it has been qualifying, ns.
	TimeInState int64
	Qualified   int64
	// Offset is the last pulse's offset, ns; RMS the RMS of the last
	// applied ones, ns, rounded.
	Offset int64
	RMS    int64
	// Frequency is the last frequency set, in ppb × 1000, rounded: a
	// disciplined oscillator sits well under a ppb of its mean.
	Frequency int64
	// LastUTC is the UTC second (Unix seconds) the last report named; 0
	// before any report.
	LastUTC int64
	// LockTime is how long the first lock took, ns; 0 before it.
	LockTime int64
	// ClockClass, ClockAccuracy and TimeSource are what the clock
	// announces as grandmaster because of the source.
	ClockClass    uint8
	ClockAccuracy ClockAccuracy
	TimeSource    TimeSource
	reserved      uint8
	// UTCOffset is currentUtcOffset (TAI − UTC, s); Flags the announced
	// flagField's low octet (Flags & 0xff: leap61, leap59,
	// currentUtcOffsetValid, ptpTimescale, timeTraceable,
	// frequencyTraceable).
	UTCOffset int16
	Flags     uint8
	reserved2 uint8
	// The counters of timesource.Counters, in its order.
	Pulses, PulsesApplied, PulsesMissed, PulsesOutOfWindow, PulsesWrongPhase, FallingEdges uint64
	Reports, NoFix, Unpaired, SecondMismatch, TimeJumps, Malformed                         uint64
	Steps, Locks, Losses                                                                   uint64
}

// TimeSourceNPLen is the dataField length of TIME_SOURCE_NP: four octets,
// seven int64s, eight octets of quality, fifteen counters.
const TimeSourceNPLen = 4 + 7*8 + 8 + 15*8

// ManagementID returns MIDTimeSourceNP.
func (d *TimeSourceNP) ManagementID() ManagementID { return MIDTimeSourceNP }

func (d *TimeSourceNP) times() [7]*int64 {
	return [7]*int64{&d.TimeInState, &d.Qualified, &d.Offset, &d.RMS, &d.Frequency, &d.LastUTC, &d.LockTime}
}

func (d *TimeSourceNP) counters() [15]*uint64 {
	return [15]*uint64{&d.Pulses, &d.PulsesApplied, &d.PulsesMissed, &d.PulsesOutOfWindow,
		&d.PulsesWrongPhase, &d.FallingEdges, &d.Reports, &d.NoFix, &d.Unpaired, &d.SecondMismatch,
		&d.TimeJumps, &d.Malformed, &d.Steps, &d.Locks, &d.Losses}
}

// AppendData appends the dataField.
func (d *TimeSourceNP) AppendData(b []byte) ([]byte, error) {
	b = append(b, byte(d.State), d.Qualifying, d.Fix, byte(d.PulseInput))
	for _, v := range d.times() {
		b = binary.BigEndian.AppendUint64(b, uint64(*v))
	}
	b = append(b, d.ClockClass, byte(d.ClockAccuracy), byte(d.TimeSource), d.reserved)
	b = binary.BigEndian.AppendUint16(b, uint16(d.UTCOffset))
	b = append(b, d.Flags, d.reserved2)
	for _, c := range d.counters() {
		b = binary.BigEndian.AppendUint64(b, *c)
	}
	return b, nil
}

// UnmarshalData decodes the dataField.
func (d *TimeSourceNP) UnmarshalData(b []byte) error {
	if len(b) < TimeSourceNPLen {
		return wrongLength(MIDTimeSourceNP, len(b), TimeSourceNPLen)
	}
	d.State, d.Qualifying, d.Fix, d.PulseInput = TimeSourceState(b[0]), b[1], b[2], PulseInput(b[3])
	for i, v := range d.times() {
		*v = int64(binary.BigEndian.Uint64(b[4+8*i:]))
	}
	q := b[4+7*8:]
	d.ClockClass, d.ClockAccuracy, d.TimeSource, d.reserved = q[0], ClockAccuracy(q[1]), TimeSource(q[2]), q[3]
	d.UTCOffset = int16(binary.BigEndian.Uint16(q[4:6]))
	d.Flags, d.reserved2 = q[6], q[7]
	for i, c := range d.counters() {
		*c = binary.BigEndian.Uint64(q[8+8*i:])
	}
	return nil
}
