package ptp_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/ptp"
)

// decodeResponse decodes a management fixture and its data set.
func decodeResponse(t *testing.T, name string, d ptp.ManagementData) *ptp.Management {
	t.Helper()
	var m ptp.Management
	require.NoError(t, m.UnmarshalBinary(fixture(name)))
	require.Equal(t, ptp.ActionResponse, m.ActionField)
	require.NoError(t, m.Data(d))
	return &m
}

// The values below are what linuxptp's pmc printed for these very responses
// (../shared/testdata/pcap/linuxptp/udp4-mgmt.pmc.txt): our decoding of
// ptp4l's bytes must read the same.
func TestManagementResponsesMatchPmc(t *testing.T) {
	gm, err := ptp.ParseClockIdentity("328031.fffe.54c44b")
	require.NoError(t, err)

	t.Run("DEFAULT_DATA_SET", func(t *testing.T) {
		var d ptp.DefaultDataSet
		m := decodeResponse(t, "RespDefaultDataSet", &d)
		assert.Equal(t, "328031.fffe.54c44b-1", m.SourcePortIdentity.String())
		assert.Equal(t, "668004.fffe.7d3b88-1", m.TargetPortIdentity.String())
		assert.True(t, d.TwoStep())
		assert.False(t, d.SlaveOnly())
		assert.EqualValues(t, 1, d.NumberPorts)
		assert.EqualValues(t, 1, d.Priority1)
		assert.EqualValues(t, 6, d.ClockQuality.ClockClass)
		assert.Equal(t, "0x20", d.ClockQuality.ClockAccuracy.String())
		assert.EqualValues(t, 0x4e5d, d.ClockQuality.OffsetScaledLogVariance)
		assert.EqualValues(t, 1, d.Priority2)
		assert.Equal(t, gm, d.ClockIdentity)
		assert.EqualValues(t, 24, d.DomainNumber)
	})
	t.Run("CURRENT_DATA_SET", func(t *testing.T) {
		var d ptp.CurrentDataSet
		decodeResponse(t, "RespCurrentDataSet", &d)
		assert.Equal(t, ptp.CurrentDataSet{}, d) // a grandmaster: all zero
	})
	t.Run("PARENT_DATA_SET", func(t *testing.T) {
		var d ptp.ParentDataSet
		decodeResponse(t, "RespParentDataSet", &d)
		assert.Equal(t, "328031.fffe.54c44b-0", d.ParentPortIdentity.String())
		assert.EqualValues(t, 0, d.ParentStats)
		assert.EqualValues(t, 0xffff, d.ObservedParentOffsetScaledLogVariance)
		assert.EqualValues(t, 0x7fffffff, d.ObservedParentClockPhaseChangeRate)
		assert.EqualValues(t, 1, d.GrandmasterPriority1)
		assert.Equal(t, ptp.ClockQuality{ClockClass: 6, ClockAccuracy: 0x20, OffsetScaledLogVariance: 0x4e5d}, d.GrandmasterClockQuality)
		assert.EqualValues(t, 1, d.GrandmasterPriority2)
		assert.Equal(t, gm, d.GrandmasterIdentity)
	})
	t.Run("TIME_PROPERTIES_DATA_SET", func(t *testing.T) {
		var d ptp.TimePropertiesDataSet
		decodeResponse(t, "RespTimePropertiesDataSet", &d)
		assert.EqualValues(t, 37, d.CurrentUTCOffset)
		assert.EqualValues(t, 0, d.Flags)
		assert.Equal(t, ptp.TimeSourceGNSS, d.TimeSource)
	})
	t.Run("PORT_DATA_SET", func(t *testing.T) {
		var d ptp.PortDataSet
		decodeResponse(t, "RespPortDataSet", &d)
		assert.Equal(t, "328031.fffe.54c44b-1", d.PortIdentity.String())
		assert.Equal(t, ptp.PortStateMaster, d.PortState)
		assert.Equal(t, "MASTER", d.PortState.String())
		assert.EqualValues(t, 0, d.LogMinDelayReqInterval)
		assert.EqualValues(t, 0, d.PeerMeanPathDelay)
		assert.EqualValues(t, 0, d.LogAnnounceInterval)
		assert.EqualValues(t, 3, d.AnnounceReceiptTimeout)
		assert.EqualValues(t, -4, d.LogSyncInterval)
		assert.Equal(t, ptp.DelayMechanismE2E, d.DelayMechanism)
		assert.EqualValues(t, 0, d.LogMinPdelayReqInterval)
		assert.EqualValues(t, 2, d.VersionNumber)
	})
	t.Run("TIME_STATUS_NP", func(t *testing.T) {
		var d ptp.TimeStatusNP
		decodeResponse(t, "RespTimeStatusNP", &d)
		assert.EqualValues(t, 0, d.MasterOffset)
		assert.EqualValues(t, 0, d.IngressTime)
		assert.Equal(t, "0x0000'0000000000000000.0000", d.LastGmPhaseChange.String())
		assert.EqualValues(t, 0, d.GmPresent) // pmc: gmPresent false
		assert.Equal(t, gm, d.GmIdentity)
	})
	t.Run("PRIORITY1", func(t *testing.T) {
		d := ptp.Datum{ID: ptp.MIDPriority1}
		decodeResponse(t, "RespPriority1", &d)
		assert.EqualValues(t, 1, d.Value)
	})
	t.Run("DOMAIN", func(t *testing.T) {
		d := ptp.Datum{ID: ptp.MIDDomain}
		decodeResponse(t, "RespDomain", &d)
		assert.EqualValues(t, 24, d.Value)
	})
	t.Run("CLOCK_DESCRIPTION", func(t *testing.T) {
		var d ptp.ClockDescription
		decodeResponse(t, "RespClockDescription", &d)
		assert.EqualValues(t, 0x8000, d.ClockType)
		assert.EqualValues(t, "IEEE 802.3", d.PhysicalLayerProtocol)
		assert.Equal(t, []byte{0x32, 0x80, 0x31, 0x54, 0xc4, 0x4b}, d.PhysicalAddress)
		addr, ok := d.ProtocolAddress.Addr()
		require.True(t, ok)
		assert.Equal(t, "198.18.0.1", addr.String())
		assert.Equal(t, ptp.ProtocolUDPIPv4, d.ProtocolAddress.NetworkProtocol)
		assert.Equal(t, [3]byte{}, d.ManufacturerIdentity)
		assert.EqualValues(t, ";;", d.ProductDescription)
		assert.EqualValues(t, ";;", d.RevisionData)
		assert.EqualValues(t, "", d.UserDescription)
		assert.Equal(t, [6]byte{0x00, 0x1b, 0x19, 0x00, 0x01, 0x00}, d.ProfileIdentity)
	})
}

// Every data set the codec knows must rebuild, through SetData, the exact
// MANAGEMENT TLV ptp4l sent (padding included).
func TestManagementSetDataReproducesPtp4l(t *testing.T) {
	for _, name := range []string{"RespDefaultDataSet", "RespCurrentDataSet", "RespParentDataSet",
		"RespTimePropertiesDataSet", "RespPortDataSet", "RespTimeStatusNP", "RespPriority1",
		"RespDomain", "RespClockDescription"} {
		t.Run(name, func(t *testing.T) {
			want := fixture(name)
			var m ptp.Management
			require.NoError(t, m.UnmarshalBinary(want))
			id, _, ok, err := m.ManagementTLV()
			require.NoError(t, err)
			require.True(t, ok)
			d := ptp.NewManagementData(id)
			require.NotNil(t, d, "no type for %s", id)
			require.NoError(t, m.Data(d))
			require.NoError(t, m.SetData(d))
			got, err := m.MarshalBinary()
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
}

func TestManagementGetRequest(t *testing.T) {
	var m ptp.Management
	require.NoError(t, m.UnmarshalBinary(fixture("GetCurrentDataSet")))
	assert.Equal(t, ptp.ActionGet, m.ActionField)
	assert.Equal(t, ptp.WildcardPortIdentity, m.TargetPortIdentity)
	assert.EqualValues(t, 1, m.StartingBoundaryHops)
	assert.EqualValues(t, 1, m.BoundaryHops)
	id, data, ok, err := m.ManagementTLV()
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, ptp.MIDCurrentDataSet, id)
	assert.Len(t, data, ptp.CurrentDataSetLen) // pmc sends a zeroed data set with GET

	// pmc -z sends the managementId alone.
	require.NoError(t, m.SetEmpty(ptp.MIDCurrentDataSet))
	id, data, ok, err = m.ManagementTLV()
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, ptp.MIDCurrentDataSet, id)
	assert.Empty(t, data)
	var cds ptp.CurrentDataSet
	assert.ErrorIs(t, m.Data(&cds), ptp.ErrWrongLength)
	var dds ptp.DefaultDataSet
	assert.ErrorIs(t, m.Data(&dds), ptp.ErrWrongMessageType, "a data set of another ID")
}

func TestManagementErrorStatus(t *testing.T) {
	var m ptp.Management
	m.VersionPTP = 2
	m.ActionField = ptp.ActionResponse
	es := ptp.ManagementErrorStatus{ManagementErrorID: ptp.ErrorNoSuchID, ManagementID: 0x1234, DisplayData: "no"}
	require.NoError(t, m.TLVs.Add(&es))
	b, err := m.MarshalBinary()
	require.NoError(t, err)
	assert.Len(t, b, ptp.ManagementLen+4+8+1+2+1) // header, TLV header, fixed fields, PTPText, pad

	var back ptp.Management
	require.NoError(t, back.UnmarshalBinary(b))
	got, ok, err := back.ErrorStatus()
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, ptp.ErrorNoSuchID, got.ManagementErrorID)
	assert.Equal(t, "NO_SUCH_ID", got.ManagementErrorID.String())
	assert.EqualValues(t, 0x1234, got.ManagementID)
	assert.EqualValues(t, "no", got.DisplayData)
	_, _, ok, _ = back.ManagementTLV()
	assert.False(t, ok)
}

func TestManagementDataRoundTrip(t *testing.T) {
	cid := ptp.ClockIdentity{1, 2, 3, 4, 5, 6, 7, 8}
	pid := ptp.PortIdentity{ClockIdentity: cid, PortNumber: 3}
	cases := []ptp.ManagementData{
		&ptp.GrandmasterSettingsNP{ClockQuality: ptp.ClockQuality{ClockClass: 6, ClockAccuracy: 0x20, OffsetScaledLogVariance: 0x4e5d}, UTCOffset: 37, TimeFlags: ptp.TimePropertiesPTPTimescale, TimeSource: ptp.TimeSourceGNSS},
		&ptp.PortDataSetNP{NeighborPropDelayThresh: 20000000, AsCapable: 1},
		&ptp.PortPropertiesNP{PortIdentity: pid, PortState: ptp.PortStateSlave, Timestamping: ptp.TimestampingHardware, Interface: "eth0"},
		&ptp.PortStatsNP{PortIdentity: pid, RxMsgType: [16]uint64{0: 1, 8: 7, 11: 9}, TxMsgType: [16]uint64{1: 5}},
		&ptp.PortServiceStatsNP{PortIdentity: pid, AnnounceTimeout: 1, SyncMismatch: 2, FollowUpMismatch: 3},
		&ptp.PortHWClockNP{PortIdentity: pid, PHCIndex: 2, Flags: 1},
		&ptp.VirtualClockNP{TrueError: -31, Frequency: 12},
		timeSourceNP(),
		&ptp.UserDescription{UserDescription: "validator-7;rack 3"},
		&ptp.UTCProperties{CurrentUTCOffset: 37, Flags: ptp.TimePropertiesCurrentUTCOffsetValid},
		&ptp.TimescaleProperties{Flags: ptp.TimePropertiesPTPTimescale, TimeSource: ptp.TimeSourceGNSS},
		&ptp.Datum{ID: ptp.MIDLogSyncInterval, Value: 0xfc},
	}
	sub := &ptp.SubscribeEventsNP{Duration: 180}
	sub.Subscribe(ptp.NotifyPortState)
	sub.Subscribe(ptp.NotifyTimeSync)
	cases = append(cases, sub)
	for _, d := range cases {
		t.Run(d.ManagementID().String(), func(t *testing.T) {
			var m ptp.Management
			m.VersionPTP = 2
			require.NoError(t, m.SetData(d))
			b, err := m.MarshalBinary()
			require.NoError(t, err)
			require.Zero(t, len(b)%2, "management TLVs are padded to even length")
			var back ptp.Management
			require.NoError(t, back.UnmarshalBinary(b))
			e := ptp.NewManagementData(d.ManagementID())
			if dt, ok := d.(*ptp.Datum); ok {
				e = &ptp.Datum{ID: dt.ID}
			}
			require.NoError(t, back.Data(e))
			assert.Equal(t, d, e)
		})
	}
	assert.True(t, sub.Subscribed(ptp.NotifyTimeSync))
	assert.False(t, sub.Subscribed(ptp.NotifyParentDataSet))
	assert.Equal(t, byte(0b11), sub.Bitmask[0])
}

// PORT_STATS_NP is little-endian on the wire in linuxptp, unlike the rest.
func TestPortStatsNPIsLittleEndian(t *testing.T) {
	d := ptp.PortStatsNP{RxMsgType: [16]uint64{0: 0x0102}}
	b, err := d.AppendData(nil)
	require.NoError(t, err)
	assert.Equal(t, []byte{0x02, 0x01, 0, 0, 0, 0, 0, 0}, b[10:18])
}

func TestParseManagementID(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ptp.ManagementID
		err  string
	}{
		{"CURRENT_DATA_SET", ptp.MIDCurrentDataSet, ""},
		{"current_data_set", ptp.MIDCurrentDataSet, ""},
		{"curr", ptp.MIDCurrentDataSet, ""},
		{"TIME_STATUS_NP", ptp.MIDTimeStatusNP, ""},
		{"TIME_SOURCE_NP", ptp.MIDTimeSourceNP, ""},
		{"time_source", ptp.MIDTimeSourceNP, ""},
		{"TIME_S", 0, "ambiguous"},                // TIME_STATUS_NP, TIME_SOURCE_NP
		{"PORT_DATA_SET", ptp.MIDPortDataSet, ""}, // exact beats PORT_DATA_SET_NP
		{"PORT_DATA", 0, "ambiguous"},
		{"BOGUS", 0, "no management ID"},
		{"", 0, "no management ID"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ptp.ParseManagementID(tc.in)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
	assert.Equal(t, ptp.ScopeClock, ptp.MIDCurrentDataSet.Scope())
	assert.Equal(t, ptp.ScopePort, ptp.MIDPortDataSet.Scope())
	assert.Equal(t, ptp.ScopeClock, ptp.MIDTimeSourceNP.Scope())
	assert.Equal(t, "MANAGEMENT_ID_0x7777", ptp.ManagementID(0x7777).String())
	assert.Nil(t, ptp.NewManagementData(0x7777))
}

// timeSourceNP is a TIME_SOURCE_NP with every field set to a distinct
// value, so that a field misplaced on the wire shows.
func timeSourceNP() *ptp.TimeSourceNP {
	return &ptp.TimeSourceNP{State: ptp.TimeSourceLocked, Qualifying: 1, Fix: 1, PulseInput: ptp.PulseInputEXTTS,
		TimeInState: 723e9, Qualified: 10e9, Offset: -4, RMS: 18, Frequency: -12345, LastUTC: 1795521600,
		LockTime: 41e9, ClockClass: 6, ClockAccuracy: ptp.AccuracyWithin100ns, TimeSource: ptp.TimeSourceGNSS,
		UTCOffset: 37, Flags: uint8(ptp.FlagPTPTimescale | ptp.FlagCurrentUTCOffsetValid | ptp.FlagTimeTraceable),
		Pulses: 1, PulsesApplied: 2, PulsesMissed: 3, PulsesOutOfWindow: 4, PulsesWrongPhase: 5, FallingEdges: 6,
		Reports: 7, NoFix: 8, Unpaired: 9, SecondMismatch: 10, TimeJumps: 11, Malformed: 12, Steps: 13, Locks: 14,
		Losses: 15}
}

// TIME_SOURCE_NP is big-endian and fixed-length, fields in the documented
// order; it is even, as a management dataField must be, and a short one
// is refused.
func TestTimeSourceNPLayout(t *testing.T) {
	b, err := timeSourceNP().AppendData(nil)
	require.NoError(t, err)
	require.Len(t, b, ptp.TimeSourceNPLen)
	assert.Equal(t, 188, ptp.TimeSourceNPLen)
	assert.Zero(t, ptp.TimeSourceNPLen%2)
	for _, tc := range []struct {
		name string
		at   int
		want []byte
	}{
		{"state, qualifying, fix, pulse input", 0, []byte{1, 1, 1, 1}},
		{"time in state", 4, []byte{0, 0, 0, 0xa8, 0x56, 0x28, 0x7e, 0x00}},
		{"offset, negative", 20, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfc}},
		{"quality", 60, []byte{6, 0x21, 0x20, 0, 0, 37, 0x1c, 0}},
		{"first counter", 68, []byte{0, 0, 0, 0, 0, 0, 0, 1}},
		{"last counter", 180, []byte{0, 0, 0, 0, 0, 0, 0, 15}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, b[tc.at:tc.at+len(tc.want)])
		})
	}
	var d ptp.TimeSourceNP
	require.ErrorIs(t, d.UnmarshalData(b[:ptp.TimeSourceNPLen-1]), ptp.ErrWrongLength)
	require.NoError(t, d.UnmarshalData(b))
	assert.Equal(t, timeSourceNP(), &d)
}

func TestTimeSourceNames(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{ptp.TimeSourceFreeRun.String(), "FREERUN"},
		{ptp.TimeSourceLocked.String(), "LOCKED"},
		{ptp.TimeSourceHoldover.String(), "HOLDOVER"},
		{ptp.TimeSourceState(9).String(), "STATE_9"},
		{ptp.PulseInputNone.String(), "none"},
		{ptp.PulseInputEXTTS.String(), "EXTTS"},
		{ptp.PulseInputPPS.String(), "PPS"},
		{ptp.PulseInput(7).String(), "INPUT_7"},
		{ptp.MIDTimeSourceNP.String(), "TIME_SOURCE_NP"},
	} {
		assert.Equal(t, tc.want, tc.got)
	}
}
