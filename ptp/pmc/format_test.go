package pmc

import (
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/capture"
	"github.com/roko-network/roko-ptpd/ptp"
)

// captures are the repository's copies of the shared linuxptp captures.
const captures = "../../testdata/pcap/linuxptp/"

// responseBlocks splits pmc's output into the blocks of each response: its
// header line (one tab) and its field lines (two tabs), newline-terminated.
func responseBlocks(text string) []string {
	var blocks []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			blocks = append(blocks, cur.String())
			cur.Reset()
		}
	}
	for _, line := range strings.SplitAfter(text, "\n") {
		switch {
		case strings.HasPrefix(line, "\t\t"):
			cur.WriteString(line)
		case strings.HasPrefix(line, "\t"):
			flush()
			cur.WriteString(line)
		default:
			flush()
		}
	}
	flush()
	return blocks
}

// Our rendering of ptp4l's own responses is byte-identical to what
// linuxptp's pmc printed for them.
func TestTextMatchesLinuxptpPmc(t *testing.T) {
	want, err := os.ReadFile(captures + "udp4-mgmt.pmc.txt")
	require.NoError(t, err)
	blocks := responseBlocks(string(want))
	require.Len(t, blocks, 9)

	r, err := capture.Open(captures + "udp4-mgmt.pcap")
	require.NoError(t, err)
	defer r.Close()
	var got []string
	var pkt capture.Packet
	for {
		err := r.Next(&pkt)
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		var m ptp.Management
		if m.UnmarshalBinary(pkt.Payload) != nil || m.ActionField != ptp.ActionResponse {
			continue
		}
		got = append(got, Text(&m))
		if len(got) == len(blocks) {
			break
		}
	}
	require.Len(t, got, len(blocks))
	for i := range blocks {
		assert.Equal(t, blocks[i], got[i], "response %d", i)
	}
}

func TestTextOfOtherData(t *testing.T) {
	pid := ptp.PortIdentity{ClockIdentity: ptp.ClockIdentity{0x32, 0x80, 0x31, 0xff, 0xfe, 0x54, 0xc4, 0x4b}, PortNumber: 1}
	mk := func(d ptp.ManagementData) *ptp.Management {
		m := &ptp.Management{ActionField: ptp.ActionResponse}
		m.VersionPTP = 2
		m.SourcePortIdentity = pid
		m.SequenceID = 3
		require.NoError(t, m.SetData(d))
		return m
	}
	cds := &ptp.CurrentDataSet{StepsRemoved: 1, OffsetFromMaster: 243 << 16, MeanPathDelay: 1781<<16 | 0x8000}
	assert.Equal(t, "\t328031.fffe.54c44b-1 seq 3 RESPONSE MANAGEMENT CURRENT_DATA_SET "+
		"\n\t\tstepsRemoved     1\n\t\toffsetFromMaster 243.0\n\t\tmeanPathDelay    1781.5\n", Text(mk(cds)))

	neg := &ptp.CurrentDataSet{OffsetFromMaster: -(12 << 16)}
	assert.Contains(t, Text(mk(neg)), "offsetFromMaster -12.0")

	ppn := &ptp.PortPropertiesNP{PortIdentity: pid, PortState: ptp.PortStateSlave, Timestamping: ptp.TimestampingSoftware, Interface: "veth1"}
	assert.Equal(t, "\t328031.fffe.54c44b-1 seq 3 RESPONSE MANAGEMENT PORT_PROPERTIES_NP "+
		"\n\t\tportIdentity            328031.fffe.54c44b-1\n\t\tportState               SLAVE"+
		"\n\t\ttimestamping            SOFTWARE\n\t\tinterface               veth1\n", Text(mk(ppn)))

	stats := &ptp.PortStatsNP{PortIdentity: pid}
	stats.RxMsgType[ptp.MessagePdelayRespFollowUp] = 7
	out := Text(mk(stats))
	assert.Contains(t, out, "\n\t\trx_Pdelay_Resp_Follow_Up  7\n")
	assert.Contains(t, out, "\n\t\ttx_Management             0\n")
	assert.Equal(t, 21, strings.Count(out, "\n\t\t"))

	sub := &ptp.SubscribeEventsNP{Duration: 180}
	sub.Subscribe(ptp.NotifyTimeSync)
	assert.Contains(t, Text(mk(sub)), "NOTIFY_PORT_STATE      off\n\t\tNOTIFY_TIME_SYNC       on")

	p1 := &ptp.Datum{ID: ptp.MIDLogSyncInterval, Value: 0xfc}
	assert.Contains(t, Text(mk(p1)), "LOG_SYNC_INTERVAL \n\t\tlogSyncInterval -4\n")

	// Error status, empty TLVs, and messages pmc cannot show.
	m := &ptp.Management{ActionField: ptp.ActionResponse}
	m.SourcePortIdentity = pid
	require.NoError(t, m.TLVs.Add(&ptp.ManagementErrorStatus{ManagementErrorID: ptp.ErrorNoSuchID, ManagementID: 0x1234}))
	assert.Equal(t, "\t328031.fffe.54c44b-1 seq 0 RESPONSE MANAGEMENT_ERROR_STATUS \n", Text(m))
	require.NoError(t, m.SetEmpty(ptp.MIDCurrentDataSet))
	assert.Equal(t, "\t328031.fffe.54c44b-1 seq 0 RESPONSE MANAGEMENT empty-tlv \n", Text(m))
	m.TLVs.Reset()
	assert.Equal(t, "\t328031.fffe.54c44b-1 seq 0 RESPONSE \n", Text(m))
}

// TIME_SOURCE_NP, roko-ptpd's own, is printed in pmc's manner: one
// aligned field per line, durations in seconds, counters by name.
func TestTextOfTimeSourceNP(t *testing.T) {
	pid := ptp.PortIdentity{ClockIdentity: ptp.ClockIdentity{0x32, 0x80, 0x31, 0xff, 0xfe, 0x54, 0xc4, 0x4b}, PortNumber: 0}
	ts := &ptp.TimeSourceNP{State: ptp.TimeSourceLocked, Fix: 1, PulseInput: ptp.PulseInputEXTTS,
		TimeInState: 723_456_789_000, Qualified: 10e9, Offset: -4, RMS: 18, Frequency: -12345, LastUTC: 1795521600,
		LockTime: 41_500_000_000, ClockClass: 6, ClockAccuracy: ptp.AccuracyWithin100ns, TimeSource: ptp.TimeSourceGNSS,
		UTCOffset: 37, Flags: uint8(ptp.FlagPTPTimescale | ptp.FlagCurrentUTCOffsetValid),
		Pulses: 724, PulsesApplied: 714, PulsesMissed: 1, PulsesOutOfWindow: 2, PulsesWrongPhase: 3, FallingEdges: 4,
		Reports: 725, NoFix: 5, Unpaired: 6, SecondMismatch: 7, TimeJumps: 8, Malformed: 9, Steps: 1, Locks: 1, Losses: 0}
	m := &ptp.Management{ActionField: ptp.ActionResponse}
	m.VersionPTP = 2
	m.SourcePortIdentity = pid
	m.SequenceID = 5
	require.NoError(t, m.SetData(ts))
	want := "\t328031.fffe.54c44b-0 seq 5 RESPONSE MANAGEMENT TIME_SOURCE_NP " +
		"\n\t\tstate                LOCKED" +
		"\n\t\tqualifying           0" +
		"\n\t\tqualified            10.000" +
		"\n\t\tfix                  1" +
		"\n\t\tpulse_input          EXTTS" +
		"\n\t\ttime_in_state        723.457" +
		"\n\t\toffset               -4" +
		"\n\t\trms                  18" +
		"\n\t\tfrequency            -12.345" +
		"\n\t\tlast_utc             2026-11-24T12:00:00Z" +
		"\n\t\tlock_time            41.500" +
		"\n\t\tclockClass           6" +
		"\n\t\tclockAccuracy        0x21" +
		"\n\t\ttimeSource           0x20" +
		"\n\t\tcurrentUtcOffset     37" +
		"\n\t\tflags                0x0c" +
		"\n\t\tpulses               724" +
		"\n\t\tpulses_applied       714" +
		"\n\t\tpulses_missed        1" +
		"\n\t\tpulses_out_of_window 2" +
		"\n\t\tpulses_wrong_phase   3" +
		"\n\t\tfalling_edges        4" +
		"\n\t\treports              725" +
		"\n\t\tno_fix               5" +
		"\n\t\tunpaired             6" +
		"\n\t\tsecond_mismatch      7" +
		"\n\t\ttime_jumps           8" +
		"\n\t\tmalformed            9" +
		"\n\t\tsteps                1" +
		"\n\t\tlocks                1" +
		"\n\t\tlosses               0\n"
	assert.Equal(t, want, Text(m))

	for _, tc := range []struct {
		name string
		d    ptp.TimeSourceNP
		want []string
	}{
		{"no report yet", ptp.TimeSourceNP{}, []string{"\n\t\tlast_utc             none\n"}},
		{"free running, qualifying", ptp.TimeSourceNP{Qualifying: 1, Qualified: 3_250_000_000},
			[]string{"\n\t\tstate                FREERUN\n\t\tqualifying           1\n\t\tqualified            3.250\n"}},
		{"holdover, kernel PPS", ptp.TimeSourceNP{State: ptp.TimeSourceHoldover, PulseInput: ptp.PulseInputPPS},
			[]string{"\n\t\tstate                HOLDOVER\n", "\n\t\tpulse_input          PPS\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, m.SetData(&tc.d))
			for _, w := range tc.want {
				assert.Contains(t, Text(m), w)
			}
		})
	}
}

// UNICAST_MASTER_TABLE_NP is printed as linuxptp 4.4's pmc printed our
// daemon's answer (a client of two masters, neither answering yet), and
// a selected entry with its master's quality as pmc's format has it.
func TestTextOfUnicastMasterTableNP(t *testing.T) {
	pid := ptp.PortIdentity{ClockIdentity: ptp.ClockIdentity{0x56, 0xad, 0x6f, 0xff, 0xfe, 0x89, 0xf7, 0x9f}, PortNumber: 1}
	all := ptp.PortIdentity{ClockIdentity: ptp.ClockIdentity{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, PortNumber: 0xffff}
	m := &ptp.Management{ActionField: ptp.ActionResponse}
	m.VersionPTP = 2
	m.SourcePortIdentity = pid
	require.NoError(t, m.SetData(&ptp.UnicastMasterTableNP{Entries: []ptp.UnicastMasterEntry{
		{PortIdentity: all, Address: ptp.PortAddress{NetworkProtocol: ptp.ProtocolUDPIPv4, Address: []byte{198, 18, 0, 1}}},
		{PortIdentity: all, Address: ptp.PortAddress{NetworkProtocol: ptp.ProtocolUDPIPv4, Address: []byte{198, 18, 0, 2}}},
	}}))
	assert.Equal(t, "\t56ad6f.fffe.89f79f-1 seq 0 RESPONSE MANAGEMENT UNICAST_MASTER_TABLE_NP "+
		"\n\t\tactual_table_size 2"+
		"\n\t\tBM  identity                 address                            state     clockClass clockQuality offsetScaledLogVariance p1  p2"+
		"\n\t\tno  ffffff.ffff.ffffff-65535 198.18.0.1                         WAIT      0          0x00         0x0000                  0   0  "+
		"\n\t\tno  ffffff.ffff.ffffff-65535 198.18.0.2                         WAIT      0          0x00         0x0000                  0   0  \n", Text(m))

	require.NoError(t, m.SetData(&ptp.UnicastMasterTableNP{Entries: []ptp.UnicastMasterEntry{{
		PortIdentity: pid, Selected: true, State: ptp.UnicastHaveSydy, Priority1: 1, Priority2: 128,
		ClockQuality: ptp.ClockQuality{ClockClass: 6, ClockAccuracy: 0x21, OffsetScaledLogVariance: 0x4e5d},
		Address:      ptp.PortAddress{NetworkProtocol: ptp.ProtocolIEEE802_3, Address: []byte{2, 0, 0, 0, 0, 0x1a}},
	}}}))
	assert.Contains(t, Text(m), "\n\t\tyes 56ad6f.fffe.89f79f-1     02:00:00:00:00:1a                  HAVE_SYDY 6          0x21         0x4e5d                  1   128\n")
}
