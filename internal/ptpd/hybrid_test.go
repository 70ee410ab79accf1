package ptpd

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	pcapng "github.com/roko-network/roko-ptpd/internal/capture"
	"github.com/roko-network/roko-ptpd/internal/linuxptp"
	"github.com/roko-network/roko-ptpd/internal/netns"
	"github.com/roko-network/roko-ptpd/internal/testenv"
	"github.com/roko-network/roko-ptpd/phc"
	"github.com/roko-network/roko-ptpd/ptp"
)

// delayMessages counts the messages of type mt in a capture: those sent
// by unicast to the end of link to (the unicastFlag set, and its IP
// address or, on L2, its MAC as destination), the others, and of all of
// them those with logMessageInterval 0x7F.
type delayMessages struct {
	unicast, other, interval7F int
}

func countDelayMessages(t *testing.T, pcap string, mt ptp.MessageType, to netns.Link) delayMessages {
	t.Helper()
	mac, err := net.ParseMAC(macOf(t, to))
	require.NoError(t, err)
	ip := netip.MustParseAddr(to.Addr)
	r, err := pcapng.Open(pcap)
	require.NoError(t, err)
	defer r.Close()
	var c delayMessages
	var p pcapng.Packet
	for {
		err := r.Next(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		var h ptp.Header
		if h.UnmarshalBinary(p.Payload) != nil || h.MessageType != mt {
			continue
		}
		toLink := p.DstMAC == [6]byte(mac)
		if p.Transport != pcapng.L2 {
			toLink = toLink && p.Dst.Addr() == ip
		}
		if h.Flags.Has(ptp.FlagUnicast) && toLink {
			c.unicast++
		} else {
			c.other++
		}
		if h.LogMessageInterval == ptp.LogIntervalUnspecified {
			c.interval7F++
		}
	}
	return c
}

// TestHybridE2EInterop, on UDPv4 and L2: hybrid_e2e 1 against linuxptp on
// a multicast network (logMinDelayReqInterval -4, 16 Delay_Req a second).
// Our client of a ptp4l grandmaster synchronises with every Delay_Req it
// sends unicast to the grandmaster's address (or MAC), unicastFlag set; a
// ptp4l client with hybrid_e2e 1 of our grandmaster measures its offset
// throughout, and every Delay_Resp we send it is unicast to it with
// logMessageInterval 0x7F, as linuxptp's process_delay_req answers.
// Captured with tcpdump at the receiving end.
func TestHybridE2EInterop(t *testing.T) {
	t.Parallel()
	tcpdump := testenv.RequireCommand(t, "tcpdump", "tcpdump")
	testenv.RequireCommand(t, "pmc", "linuxptp")
	for _, flag := range []string{"-4", "-2"} {
		t.Run("client of ptp4l "+flag, func(t *testing.T) {
			gmLink, clLink := pair(t)
			pcap, stopCapture := capture(t, tcpdump, gmLink, clLink)
			linuxptp.StartPTP4L(t, gmLink, linuxptp.Options{Flags: []string{flag}, Domain: 24, Config: "masterOnly 1\npriority1 1\n"})
			clClock, err := phc.NewVirtual(phc.VirtualConfig{Name: "client", Offset: 37 * time.Millisecond, FrequencyError: 40_000})
			require.NoError(t, err)
			cl, _ := startDaemon(t, clLink, clClock, "-s", "--domainNumber=24", flag, "--hybrid_e2e=1")
			// Synchronised means answered: an E2E port takes no offset
			// before its first meanPathDelay.
			c := watchClient(t, cl, clClock, 3*time.Second)
			t.Logf("SLAVE and under 100 µs after %v; worst true error then %v", c.settled.Round(time.Millisecond), c.worst)
			assert.Less(t, c.worst, 100*time.Microsecond)
			stopCapture()

			req := countDelayMessages(t, pcap, ptp.MessageDelayReq, gmLink)
			t.Logf("our Delay_Req: %+v", req)
			assert.Greater(t, req.unicast, 16*3, "Delay_Req unicast to the grandmaster")
			assert.Zero(t, req.other, "no Delay_Req by multicast")
		})
		t.Run("ptp4l client of ours "+flag, func(t *testing.T) {
			gmLink, clLink := pair(t)
			pcap, stopCapture := capture(t, tcpdump, clLink, gmLink)
			gmClock, err := phc.NewVirtual(phc.VirtualConfig{Name: "gm"})
			require.NoError(t, err)
			startDaemon(t, gmLink, gmClock, "--priority1=1", "--serverOnly=1", "--domainNumber=24", flag)
			theirs := linuxptp.StartPTP4L(t, clLink, linuxptp.Options{Flags: []string{flag}, Domain: 24, Config: "slaveOnly 1\nhybrid_e2e 1\n"})
			median, n, last := theirs.MasterOffsets(t, 8*time.Second, "GET PORT_DATA_SET")
			t.Logf("ptp4l: median |offset| %.0f ns over %d readings", median, n)
			require.Positive(t, n, "ptp4l measured offsets from our grandmaster:\n%s", last)
			assert.Regexp(t, `portState\s+(SLAVE|UNCALIBRATED)`, last, "ptp4l follows us")
			assert.Less(t, median, float64(100*time.Microsecond))
			stopCapture()

			resp := countDelayMessages(t, pcap, ptp.MessageDelayResp, clLink)
			t.Logf("our Delay_Resp: %+v", resp)
			assert.Greater(t, resp.unicast, 16*3, "Delay_Resp unicast to ptp4l")
			assert.Zero(t, resp.other, "no Delay_Resp by multicast")
			assert.Equal(t, resp.unicast, resp.interval7F, "unicast Delay_Resp carry logMessageInterval 0x7F")
		})
	}
}

// TestUnicastPeerAddressInterop, on UDPv4 and L2: peer_address against
// linuxptp, with delay_mechanism P2P and unicast negotiation (a
// grandmaster with unicast_listen 1, a client with a unicast master table
// naming it as master and as peer). Our client of a ptp4l grandmaster
// synchronises with every Pdelay_Req it sends unicast to the peer,
// unicastFlag set; a ptp4l client of our grandmaster measures its offset
// throughout, and every Pdelay_Resp and Follow_Up we send it is unicast
// to it, as linuxptp's process_pdelay_req answers. Captured with tcpdump
// at the receiving end.
func TestUnicastPeerAddressInterop(t *testing.T) {
	t.Parallel()
	tcpdump := testenv.RequireCommand(t, "tcpdump", "tcpdump")
	testenv.RequireCommand(t, "pmc", "linuxptp")
	for _, tr := range ucTransports {
		if tr.keyword == "UDPv6" {
			continue // as UDPv4, and the table's address needs more setup
		}
		table := func(t *testing.T, gm, cl netns.Link) string {
			a := tr.addr(t, gm, cl)
			return ucTable(tr.keyword, a) + "peer_address " + a + "\n"
		}
		t.Run("client of ptp4l "+tr.keyword, func(t *testing.T) {
			gmLink, clLink := pair(t)
			pcap, stopCapture := capture(t, tcpdump, gmLink, clLink)
			linuxptp.StartPTP4L(t, gmLink, linuxptp.Options{Flags: []string{tr.flag, "-P"}, Domain: 24,
				Config: "masterOnly 1\npriority1 1\nunicast_listen 1\n"})
			clClock, err := phc.NewVirtual(phc.VirtualConfig{Name: "client", Offset: 37 * time.Millisecond, FrequencyError: 40_000})
			require.NoError(t, err)
			cl, _ := startDaemon(t, clLink, clClock, append(ucConf(t, table(t, gmLink, clLink)), "-s", "--domainNumber=24", tr.flag, "-P")...)
			// Synchronised means answered: a P2P port takes no offset
			// before its first peer delay.
			c := watchClient(t, cl, clClock, 3*time.Second)
			t.Logf("SLAVE and under 100 µs after %v; worst true error then %v", c.settled.Round(time.Millisecond), c.worst)
			assert.Less(t, c.worst, 100*time.Microsecond)
			stopCapture()

			req := countDelayMessages(t, pcap, ptp.MessagePdelayReq, gmLink)
			t.Logf("our Pdelay_Req: %+v", req)
			assert.Greater(t, req.unicast, 16*3, "Pdelay_Req unicast to the peer")
			assert.Zero(t, req.other, "no Pdelay_Req by multicast")
		})
		t.Run("ptp4l client of ours "+tr.keyword, func(t *testing.T) {
			gmLink, clLink := pair(t)
			pcap, stopCapture := capture(t, tcpdump, clLink, gmLink)
			gmClock, err := phc.NewVirtual(phc.VirtualConfig{Name: "gm"})
			require.NoError(t, err)
			startDaemon(t, gmLink, gmClock, "--priority1=1", "--serverOnly=1", "--domainNumber=24", tr.flag, "-P", "--unicast_listen=1")
			theirs := linuxptp.StartPTP4L(t, clLink, linuxptp.Options{Flags: []string{tr.flag, "-P"}, Domain: 24,
				Config: "slaveOnly 1\n" + table(t, gmLink, clLink)})
			median, n, last := theirs.MasterOffsets(t, 8*time.Second, "GET PORT_DATA_SET")
			t.Logf("ptp4l: median |offset| %.0f ns over %d readings", median, n)
			require.Positive(t, n, "ptp4l measured offsets from our grandmaster:\n%s", last)
			assert.Regexp(t, `portState\s+(SLAVE|UNCALIBRATED)`, last, "ptp4l follows us")
			assert.Less(t, median, float64(100*time.Microsecond))
			stopCapture()

			for _, mt := range []ptp.MessageType{ptp.MessagePdelayResp, ptp.MessagePdelayRespFollowUp} {
				resp := countDelayMessages(t, pcap, mt, clLink)
				t.Logf("our %v: %+v", mt, resp)
				assert.Greater(t, resp.unicast, 16*3, "%v unicast to ptp4l", mt)
				assert.Zero(t, resp.other, "no %v by multicast", mt)
			}
			assert.NotContains(t, theirs.Output(), "rejected", "our grandmaster granted Pdelay_Resp")
		})
	}
}
