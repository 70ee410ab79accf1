// Package pmc renders management messages as linuxptp's pmc prints them,
// byte for byte, so that scripts written against pmc's output keep working
// with roko-pmc: the same header line (with its trailing space), the same
// field names, tab indentation and column alignment, offsets in
// nanoseconds with one decimal.
//
// It formats values it is given; it never sends or receives anything.
package pmc

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/roko-network/roko-ptpd/ptp"
)

// indent starts each field line, as pmc's IFMT does.
const indent = "\n\t\t"

// AppendText appends pmc's rendering of m to b: "\t<source> seq <n>
// <ACTION> MANAGEMENT <ID> " and one indented line per field, then a
// newline.
func AppendText(b []byte, m *ptp.Management) []byte {
	b = fmt.Appendf(b, "\t%s seq %d %s ", m.SourcePortIdentity, m.SequenceID, m.ActionField)
	b = appendBody(b, m)
	return append(b, '\n')
}

// Text returns AppendText's rendering as a string.
func Text(m *ptp.Management) string { return string(AppendText(nil, m)) }

func appendBody(b []byte, m *ptp.Management) []byte {
	var first ptp.TLV
	n := 0
	for t := range m.TLVs.All() {
		if n == 0 {
			first = t
		}
		n++
	}
	// pmc shows a message with one TLV, or two when the second is an
	// AUTHENTICATION TLV; anything else gets the header line alone.
	if n == 0 || n > 2 {
		return b
	}
	if n == 2 {
		last := ptp.TLV{}
		for t := range m.TLVs.All() {
			last = t
		}
		if last.Type != ptp.TLVAuthentication {
			return b
		}
	}
	switch first.Type {
	case ptp.TLVManagement:
		b = append(b, "MANAGEMENT "...)
	case ptp.TLVManagementErrorStatus:
		return append(b, "MANAGEMENT_ERROR_STATUS "...)
	default:
		return append(b, "unknown-tlv "...)
	}
	if len(first.Value) < 2 {
		return b
	}
	id := ptp.ManagementID(binary.BigEndian.Uint16(first.Value))
	data := first.Value[2:]
	if len(data) == 0 && id != ptp.MIDNullManagement {
		return append(b, "empty-tlv "...)
	}
	if id == ptp.MIDNullManagement {
		// pmc has no case for NULL_MANAGEMENT: it prints no name.
		return b
	}
	d := ptp.NewManagementData(id)
	if d == nil || d.UnmarshalData(data) != nil {
		return b
	}
	return appendData(b, id, d)
}

// field appends one "\n\t\t" line.
func field(b []byte, format string, args ...any) []byte {
	b = append(b, indent...)
	return fmt.Appendf(b, format, args...)
}

func flag(v, bit uint8) int {
	if v&bit != 0 {
		return 1
	}
	return 0
}

func appendData(b []byte, id ptp.ManagementID, d ptp.ManagementData) []byte {
	b = append(b, id.String()...)
	b = append(b, ' ')
	switch v := d.(type) {
	case *ptp.ClockDescription:
		b = field(b, "clockType             0x%x", v.ClockType)
		b = field(b, "physicalLayerProtocol %s", v.PhysicalLayerProtocol)
		b = field(b, "physicalAddress       %s", hexColons(v.PhysicalAddress))
		b = field(b, "protocolAddress       %d %s", v.ProtocolAddress.NetworkProtocol, portAddress(v.ProtocolAddress))
		b = field(b, "manufacturerId        %s", hexColons(v.ManufacturerIdentity[:]))
		b = field(b, "productDescription    %s", v.ProductDescription)
		b = field(b, "revisionData          %s", v.RevisionData)
		b = field(b, "userDescription       %s", v.UserDescription)
		b = field(b, "profileId             %s", hexColons(v.ProfileIdentity[:]))
	case *ptp.UserDescription:
		b = field(b, "userDescription  %s", v.UserDescription)
	case *ptp.DefaultDataSet:
		b = field(b, "twoStepFlag             %d", flag(v.Flags, ptp.DefaultDSTwoStep))
		b = field(b, "slaveOnly               %d", flag(v.Flags, ptp.DefaultDSSlaveOnly))
		b = field(b, "numberPorts             %d", v.NumberPorts)
		b = field(b, "priority1               %d", v.Priority1)
		b = field(b, "clockClass              %d", v.ClockQuality.ClockClass)
		b = field(b, "clockAccuracy           0x%02x", uint8(v.ClockQuality.ClockAccuracy))
		b = field(b, "offsetScaledLogVariance 0x%04x", v.ClockQuality.OffsetScaledLogVariance)
		b = field(b, "priority2               %d", v.Priority2)
		b = field(b, "clockIdentity           %s", v.ClockIdentity)
		b = field(b, "domainNumber            %d", v.DomainNumber)
	case *ptp.CurrentDataSet:
		b = field(b, "stepsRemoved     %d", int16(v.StepsRemoved))
		b = field(b, "offsetFromMaster %.1f", v.OffsetFromMaster.Nanoseconds())
		b = field(b, "meanPathDelay    %.1f", v.MeanPathDelay.Nanoseconds())
	case *ptp.ParentDataSet:
		b = field(b, "parentPortIdentity                    %s", v.ParentPortIdentity)
		b = field(b, "parentStats                           %d", v.ParentStats)
		b = field(b, "observedParentOffsetScaledLogVariance 0x%04x", v.ObservedParentOffsetScaledLogVariance)
		b = field(b, "observedParentClockPhaseChangeRate    0x%08x", uint32(v.ObservedParentClockPhaseChangeRate))
		b = field(b, "grandmasterPriority1                  %d", v.GrandmasterPriority1)
		b = field(b, "gm.ClockClass                         %d", v.GrandmasterClockQuality.ClockClass)
		b = field(b, "gm.ClockAccuracy                      0x%02x", uint8(v.GrandmasterClockQuality.ClockAccuracy))
		b = field(b, "gm.OffsetScaledLogVariance            0x%04x", v.GrandmasterClockQuality.OffsetScaledLogVariance)
		b = field(b, "grandmasterPriority2                  %d", v.GrandmasterPriority2)
		b = field(b, "grandmasterIdentity                   %s", v.GrandmasterIdentity)
	case *ptp.TimePropertiesDataSet:
		b = field(b, "currentUtcOffset      %d", v.CurrentUTCOffset)
		b = field(b, "leap61                %d", flag(v.Flags, ptp.TimePropertiesLeap61))
		b = field(b, "leap59                %d", flag(v.Flags, ptp.TimePropertiesLeap59))
		b = field(b, "currentUtcOffsetValid %d", flag(v.Flags, ptp.TimePropertiesCurrentUTCOffsetValid))
		b = field(b, "ptpTimescale          %d", flag(v.Flags, ptp.TimePropertiesPTPTimescale))
		b = field(b, "timeTraceable         %d", flag(v.Flags, ptp.TimePropertiesTimeTraceable))
		b = field(b, "frequencyTraceable    %d", flag(v.Flags, ptp.TimePropertiesFrequencyTraceable))
		b = field(b, "timeSource            0x%02x", uint8(v.TimeSource))
	case *ptp.PortDataSet:
		b = field(b, "portIdentity            %s", v.PortIdentity)
		b = field(b, "portState               %s", portState(v.PortState))
		b = field(b, "logMinDelayReqInterval  %d", v.LogMinDelayReqInterval)
		b = field(b, "peerMeanPathDelay       %d", int64(v.PeerMeanPathDelay)>>16)
		b = field(b, "logAnnounceInterval     %d", v.LogAnnounceInterval)
		b = field(b, "announceReceiptTimeout  %d", v.AnnounceReceiptTimeout)
		b = field(b, "logSyncInterval         %d", v.LogSyncInterval)
		b = field(b, "delayMechanism          %d", v.DelayMechanism)
		b = field(b, "logMinPdelayReqInterval %d", v.LogMinPdelayReqInterval)
		b = field(b, "versionNumber           %d", v.VersionNumber&0x0f)
	case *ptp.TimeStatusNP:
		b = field(b, "master_offset              %d", v.MasterOffset)
		b = field(b, "ingress_time               %d", v.IngressTime)
		b = field(b, "cumulativeScaledRateOffset %+.9f", float64(v.CumulativeScaledRateOffset)/(1<<41))
		b = field(b, "scaledLastGmPhaseChange    %d", v.ScaledLastGmPhaseChange)
		b = field(b, "gmTimeBaseIndicator        %d", v.GmTimeBaseIndicator)
		b = field(b, "lastGmPhaseChange          %s", v.LastGmPhaseChange)
		b = field(b, "gmPresent                  %t", v.GmPresent != 0)
		b = field(b, "gmIdentity                 %s", v.GmIdentity)
	case *ptp.GrandmasterSettingsNP:
		b = field(b, "clockClass              %d", v.ClockQuality.ClockClass)
		b = field(b, "clockAccuracy           0x%02x", uint8(v.ClockQuality.ClockAccuracy))
		b = field(b, "offsetScaledLogVariance 0x%04x", v.ClockQuality.OffsetScaledLogVariance)
		b = field(b, "currentUtcOffset        %d", v.UTCOffset)
		b = field(b, "leap61                  %d", flag(v.TimeFlags, ptp.TimePropertiesLeap61))
		b = field(b, "leap59                  %d", flag(v.TimeFlags, ptp.TimePropertiesLeap59))
		b = field(b, "currentUtcOffsetValid   %d", flag(v.TimeFlags, ptp.TimePropertiesCurrentUTCOffsetValid))
		b = field(b, "ptpTimescale            %d", flag(v.TimeFlags, ptp.TimePropertiesPTPTimescale))
		b = field(b, "timeTraceable           %d", flag(v.TimeFlags, ptp.TimePropertiesTimeTraceable))
		b = field(b, "frequencyTraceable      %d", flag(v.TimeFlags, ptp.TimePropertiesFrequencyTraceable))
		b = field(b, "timeSource              0x%02x", uint8(v.TimeSource))
	case *ptp.SubscribeEventsNP:
		b = field(b, "duration               %d", v.Duration)
		b = field(b, "NOTIFY_PORT_STATE      %s", onOff(v.Subscribed(ptp.NotifyPortState)))
		b = field(b, "NOTIFY_TIME_SYNC       %s", onOff(v.Subscribed(ptp.NotifyTimeSync)))
		b = field(b, "NOTIFY_PARENT_DATA_SET %s", onOff(v.Subscribed(ptp.NotifyParentDataSet)))
		b = field(b, "NOTIFY_CMLDS           %s", onOff(v.Subscribed(ptp.NotifyCMLDS)))
	case *ptp.PortDataSetNP:
		as := 0
		if v.AsCapable != 0 {
			as = 1
		}
		b = field(b, "neighborPropDelayThresh %d", v.NeighborPropDelayThresh)
		b = field(b, "asCapable               %d", as)
	case *ptp.PortPropertiesNP:
		b = field(b, "portIdentity            %s", v.PortIdentity)
		b = field(b, "portState               %s", portState(v.PortState))
		b = field(b, "timestamping            %s", timestamping(v.Timestamping))
		b = field(b, "interface               %s", v.Interface)
	case *ptp.PortStatsNP:
		b = field(b, "portIdentity              %s", v.PortIdentity)
		for _, dir := range []struct {
			name string
			c    *[16]uint64
		}{{"rx", &v.RxMsgType}, {"tx", &v.TxMsgType}} {
			for _, t := range statsOrder {
				name := dir.name + "_" + statsName(t)
				b = field(b, "%-25s %d", name, dir.c[t])
			}
		}
	case *ptp.PortServiceStatsNP:
		b = field(b, "portIdentity              %s", v.PortIdentity)
		for _, c := range []struct {
			name string
			v    uint64
		}{
			{"announce_timeout", v.AnnounceTimeout}, {"sync_timeout", v.SyncTimeout},
			{"delay_timeout", v.DelayTimeout}, {"unicast_service_timeout", v.UnicastServiceTimeout},
			{"unicast_request_timeout", v.UnicastRequestTimeout}, {"master_announce_timeout", v.MasterAnnounceTimeout},
			{"master_sync_timeout", v.MasterSyncTimeout}, {"qualification_timeout", v.QualificationTimeout},
			{"sync_mismatch", v.SyncMismatch}, {"followup_mismatch", v.FollowUpMismatch},
		} {
			b = field(b, "%-25s %d", c.name, c.v)
		}
	case *ptp.VirtualClockNP:
		b = field(b, "true_error %d", v.TrueError)
		b = field(b, "frequency  %d", v.Frequency)
	case *ptp.TimeSourceNP:
		b = appendTimeSource(b, v)
	case *ptp.UnicastMasterTableNP:
		b = field(b, "actual_table_size %d", len(v.Entries))
		b = field(b, "%s  %-24s %-34s %-9s %s %s %s %s  %s", "BM", "identity", "address", "state",
			"clockClass", "clockQuality", "offsetScaledLogVariance", "p1", "p2")
		for _, e := range v.Entries {
			sel := "no "
			if e.Selected {
				sel = "yes"
			}
			b = field(b, "%s %-24s %-34s %-9s %-10d 0x%02x         0x%04x                  %-3d %-3d",
				sel, e.PortIdentity, portAddrString(e.Address), e.State, e.ClockQuality.ClockClass,
				uint8(e.ClockQuality.ClockAccuracy), e.ClockQuality.OffsetScaledLogVariance, e.Priority1, e.Priority2)
		}
	case *ptp.PortHWClockNP:
		b = field(b, "portIdentity            %s", v.PortIdentity)
		b = field(b, "phcIndex                %d", v.PHCIndex)
		b = field(b, "flags                   %d", v.Flags)
	case *ptp.TimescaleProperties:
		b = field(b, "ptpTimescale %d", flag(v.Flags, ptp.TimePropertiesPTPTimescale))
	case *ptp.Datum:
		b = appendDatum(b, v)
	}
	return b
}

// appendTimeSource renders roko-ptpd's TIME_SOURCE_NP, which pmc does
// not know, in pmc's manner: one aligned field per line, durations in
// seconds and the frequency in ppb with three decimals, the counters by
// the snake_case names of their timesource.Counters fields.
func appendTimeSource(b []byte, v *ptp.TimeSourceNP) []byte {
	secs := func(ns int64) string { return strconv.FormatFloat(float64(ns)/1e9, 'f', 3, 64) }
	lastUTC := "none" // no report yet
	if v.LastUTC > 0 {
		lastUTC = time.Unix(v.LastUTC, 0).UTC().Format(time.RFC3339)
	}
	d := func(n uint64) string { return strconv.FormatUint(n, 10) }
	for _, f := range []struct{ name, value string }{
		{"state", v.State.String()},
		{"qualifying", strconv.Itoa(int(v.Qualifying))},
		{"qualified", secs(v.Qualified)},
		{"fix", strconv.Itoa(int(v.Fix))},
		{"pulse_input", v.PulseInput.String()},
		{"time_in_state", secs(v.TimeInState)},
		{"offset", strconv.FormatInt(v.Offset, 10)},
		{"rms", strconv.FormatInt(v.RMS, 10)},
		{"frequency", strconv.FormatFloat(float64(v.Frequency)/1000, 'f', 3, 64)},
		{"last_utc", lastUTC},
		{"lock_time", secs(v.LockTime)},
		{"clockClass", strconv.Itoa(int(v.ClockClass))},
		{"clockAccuracy", fmt.Sprintf("0x%02x", uint8(v.ClockAccuracy))},
		{"timeSource", fmt.Sprintf("0x%02x", uint8(v.TimeSource))},
		{"currentUtcOffset", strconv.Itoa(int(v.UTCOffset))},
		{"flags", fmt.Sprintf("0x%02x", v.Flags)},
		{"pulses", d(v.Pulses)},
		{"pulses_applied", d(v.PulsesApplied)},
		{"pulses_missed", d(v.PulsesMissed)},
		{"pulses_out_of_window", d(v.PulsesOutOfWindow)},
		{"pulses_wrong_phase", d(v.PulsesWrongPhase)},
		{"falling_edges", d(v.FallingEdges)},
		{"reports", d(v.Reports)},
		{"no_fix", d(v.NoFix)},
		{"unpaired", d(v.Unpaired)},
		{"second_mismatch", d(v.SecondMismatch)},
		{"time_jumps", d(v.TimeJumps)},
		{"malformed", d(v.Malformed)},
		{"steps", d(v.Steps)},
		{"locks", d(v.Locks)},
		{"losses", d(v.Losses)},
	} {
		b = field(b, "%-20s %s", f.name, f.value)
	}
	return b
}

func appendDatum(b []byte, v *ptp.Datum) []byte {
	switch v.ID {
	case ptp.MIDPriority1:
		return field(b, "priority1 %d", v.Value)
	case ptp.MIDPriority2:
		return field(b, "priority2 %d", v.Value)
	case ptp.MIDDomain:
		return field(b, "domainNumber %d", v.Value)
	case ptp.MIDSlaveOnly:
		return field(b, "slaveOnly %d", v.Value)
	case ptp.MIDClockAccuracy:
		return field(b, "clockAccuracy 0x%02x", v.Value)
	case ptp.MIDTraceabilityProperties:
		b = field(b, "timeTraceable      %d", flag(v.Value, ptp.TimePropertiesTimeTraceable))
		return field(b, "frequencyTraceable %d", flag(v.Value, ptp.TimePropertiesFrequencyTraceable))
	case ptp.MIDMasterOnly:
		return field(b, "masterOnly %d", v.Value)
	case ptp.MIDSynchronizationUncertainNP:
		return field(b, "uncertain %d", v.Value)
	case ptp.MIDLogAnnounceInterval:
		return field(b, "logAnnounceInterval %d", int8(v.Value))
	case ptp.MIDAnnounceReceiptTimeout:
		return field(b, "announceReceiptTimeout %d", v.Value)
	case ptp.MIDLogSyncInterval:
		return field(b, "logSyncInterval %d", int8(v.Value))
	case ptp.MIDVersionNumber:
		return field(b, "versionNumber %d", v.Value&0x0f)
	case ptp.MIDDelayMechanism:
		return field(b, "delayMechanism %d", v.Value)
	case ptp.MIDLogMinPdelayReqInterval:
		return field(b, "logMinPdelayReqInterval %d", int8(v.Value))
	}
	return b
}

// statsOrder is the order pmc lists PORT_STATS_NP counters in.
var statsOrder = []ptp.MessageType{ptp.MessageSync, ptp.MessageDelayReq, ptp.MessagePdelayReq,
	ptp.MessagePdelayResp, ptp.MessageFollowUp, ptp.MessageDelayResp, ptp.MessagePdelayRespFollowUp,
	ptp.MessageAnnounce, ptp.MessageSignaling, ptp.MessageManagement}

// statsName spells a message type as PORT_STATS_NP's lines do
// ("Pdelay_Resp_Follow_Up").
func statsName(t ptp.MessageType) string {
	parts := strings.Split(strings.ToLower(t.String()), "_")
	for i, p := range parts {
		parts[i] = strings.ToUpper(p[:1]) + p[1:]
	}
	return strings.Join(parts, "_")
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// portState names a state as pmc does, NONE for values past SLAVE.
func portState(s ptp.PortState) string {
	if s > ptp.PortStateSlave {
		s = 0
	}
	return s.String()
}

func timestamping(t ptp.Timestamping) string {
	switch t {
	case ptp.TimestampingSoftware:
		return "SOFTWARE"
	case ptp.TimestampingHardware:
		return "HARDWARE"
	case ptp.TimestampingLegacyHW:
		return "LEGACY_HW"
	case ptp.TimestampingOneStep:
		return "ONESTEP"
	case ptp.TimestampingP2P1Step:
		return "P2P1STEP"
	}
	return "unknown"
}

// hexColons prints octets as pmc's bin2str does: "32:80:31:54:c4:4b".
func hexColons(b []byte) string {
	var s strings.Builder
	for i, c := range b {
		if i > 0 {
			s.WriteByte(':')
		}
		s.WriteString(strconv.FormatUint(uint64(c)|0x100, 16)[1:])
	}
	return s.String()
}

// portAddress prints an address as pmc does: dotted or colon IP for the UDP
// protocols, octets otherwise.
func portAddress(a ptp.PortAddress) string {
	if ip, ok := a.Addr(); ok {
		return netip.Addr.String(ip)
	}
	return hexColons(a.Address)
}

// portAddrString prints a PortAddress as linuxptp's portaddr2str: an IP
// address for the UDP protocols, otherwise the octets in hex separated by
// colons.
func portAddrString(a ptp.PortAddress) string {
	if ip, ok := a.Addr(); ok {
		return ip.String()
	}
	var b []byte
	for i, o := range a.Address {
		if i > 0 {
			b = append(b, ':')
		}
		b = fmt.Appendf(b, "%02x", o)
	}
	return string(b)
}
