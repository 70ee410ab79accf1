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
