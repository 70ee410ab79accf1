package ptpd

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/linuxptp"
	"github.com/roko-network/roko-ptpd/internal/netns"
	"github.com/roko-network/roko-ptpd/internal/testenv"
	"github.com/roko-network/roko-ptpd/phc"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/engine"
)

// Unicast negotiation against linuxptp, in namespaces: grants of the
// minimum unicast_req_duration (10 s), renewed across at least two of
// them while the client stays synchronised.

// ucDuration is the minimum unicast_req_duration, and ucHold how long the
// tests watch the grants being renewed: more than two durations.
const (
	ucDuration = 10 * time.Second
	ucHold     = 25 * time.Second
)

// ucTable is a [unicast_master_table] section (table_id 1,
// logQueryInterval 0) of masters of transport (UDPv4, L2), and the
// global lines that make the port its client.
func ucTable(transport string, masters ...string) string {
	var b strings.Builder
	b.WriteString("unicast_master_table 1\nunicast_req_duration 10\n[unicast_master_table]\ntable_id 1\nlogQueryInterval 0\n")
	for _, m := range masters {
		b.WriteString(transport + " " + m + "\n")
	}
	return b.String()
}

// ucTransports are the transports the interop tests run on: ptp4l's flag
// and the table's keyword, and the address of master's end of the pair
// as the table writes it (for UDPv6, both ends get a unique local
// address first).
var ucTransports = []struct {
	flag, keyword string
	addr          func(t *testing.T, master, client netns.Link) string
}{
	{"-4", "UDPv4", func(_ *testing.T, m, _ netns.Link) string { return m.Addr }},
	{"-6", "UDPv6", func(t *testing.T, m, c netns.Link) string {
		m.NS.IP(t, "-6", "addr", "add", "fd18::1/64", "dev", m.Name, "nodad")
		c.NS.IP(t, "-6", "addr", "add", "fd18::2/64", "dev", c.Name, "nodad")
		return "fd18::1"
	}},
	{"-2", "L2", func(t *testing.T, m, _ netns.Link) string { return macOf(t, m) }},
}

// ucConf writes text as a configuration file for roko-ptpd and returns
// its -f flag.
func ucConf(t *testing.T, text string) []string {
	f := filepath.Join(t.TempDir(), "unicast.conf")
	require.NoError(t, os.WriteFile(f, []byte("[global]\n"+text), 0o644))
	return []string{"-f", f}
}

// unicastMasters reads the client port's unicast master table.
func unicastMasters(t *testing.T, d *Daemon) []engine.UnicastMasterState {
	var ms []engine.UnicastMasterState
	require.True(t, d.Do(context.Background(), func(e *engine.Clock) { ms = e.Port(0).UnicastMasters() }))
	return ms
}

// syncsReceived counts the Syncs the daemon's port 1 received.
func syncsReceived(t *testing.T, d *Daemon) uint64 {
	var n uint64
	require.True(t, d.Do(context.Background(), func(e *engine.Clock) { n = e.Port(0).Stats.Rx[ptp.MessageSync] }))
	return n
}

// TestUnicastClientOfPTP4L, on UDPv4, UDPv6 and L2: a ptp4l grandmaster with unicast_listen 1 and
// inhibit_multicast_service 1 (so nothing reaches the client unasked), a
// roko-ptpd client with a unicast master table: the client negotiates,
// synchronises, and stays SLAVE and within 100 µs while its grants are
// renewed across two and a half durations, Syncs arriving at the granted
// 16 Hz throughout.
func TestUnicastClientOfPTP4L(t *testing.T) {
	t.Parallel()
	for _, tr := range ucTransports {
		t.Run(tr.keyword, func(t *testing.T) {
			t.Parallel() // mostly waiting: 25 s of renewals each
			la, lb := pair(t)
			linuxptp.StartPTP4L(t, la, linuxptp.Options{Flags: []string{tr.flag}, Domain: 24,
				Config: "masterOnly 1\npriority1 1\nunicast_listen 1\ninhibit_multicast_service 1\n"})
			clClock, err := phc.NewVirtual(phc.VirtualConfig{Name: "client", Offset: 37 * time.Millisecond, FrequencyError: 40_000})
			require.NoError(t, err)
			cl, _ := startDaemon(t, lb, clClock, append(ucConf(t, ucTable(tr.keyword, tr.addr(t, la, lb))), "-s", "--domainNumber=24", tr.flag)...)
			unicastClientHolds(t, cl, clClock)
		})
	}
}

// unicastClientHolds waits for the client to settle, then watches it
// for ucHold: SLAVE, within 100 µs, Syncs at 16 Hz, grants held.
func unicastClientHolds(t *testing.T, cl *Daemon, clClock *phc.Virtual) {

	c := watchClient(t, cl, clClock, 2*time.Second)
	t.Logf("SLAVE and under 100 µs after %v", c.settled.Round(time.Millisecond))
	ms := unicastMasters(t, cl)
	require.Len(t, ms, 1)
	assert.Equal(t, "HAVE_SYDY", ms[0].State)

	before := syncsReceived(t, cl)
	var worst time.Duration
	for end := time.Now().Add(ucHold); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		e, err := clClock.TrueError()
		require.NoError(t, err)
		worst = max(worst, e.Abs())
		require.Equal(t, engine.Slave, state(t, cl), "the client left SLAVE")
	}
	syncs := syncsReceived(t, cl) - before
	t.Logf("over %v (%.1f grant durations): %d Syncs, worst true error %v", ucHold, ucHold.Seconds()/ucDuration.Seconds(), syncs, worst)
	assert.Less(t, worst, 100*time.Microsecond)
	assert.InDelta(t, 16*ucHold.Seconds(), float64(syncs), 16*ucHold.Seconds()/10, "Syncs at the granted 16 Hz throughout")
	ms = unicastMasters(t, cl)
	assert.Equal(t, "HAVE_SYDY", ms[0].State, "grants still held")
	assert.ElementsMatch(t, []ptp.MessageType{ptp.MessageAnnounce, ptp.MessageSync, ptp.MessageDelayResp}, ms[0].Granted)
}

// TestPTP4LUnicastClientOfOurs, on UDPv4, UDPv6 and L2: our grandmaster with unicast_listen 1 and
// inhibit_multicast_service 1, and ptp4l as a unicast client in
// UNICAST-SLAVE.cfg's style: ptp4l (free_running 1, so UNCALIBRATED
// at best) measures its offset from us throughout and our grant table holds it across two and a
// half durations with nothing expired.
func TestPTP4LUnicastClientOfOurs(t *testing.T) {
	t.Parallel()
	testenv.RequireCommand(t, "pmc", "linuxptp")
	for _, tr := range ucTransports {
		t.Run(tr.keyword, func(t *testing.T) {
			t.Parallel() // mostly waiting: 25 s of renewals each
			la, lb := pair(t)
			gmClock, err := phc.NewVirtual(phc.VirtualConfig{Name: "gm"})
			require.NoError(t, err)
			gm, _ := startDaemon(t, la, gmClock, "--priority1=1", "--serverOnly=1", "--domainNumber=24", tr.flag,
				"--unicast_listen=1", "--inhibit_multicast_service=1")
			theirs := linuxptp.StartPTP4L(t, lb, linuxptp.Options{Flags: []string{tr.flag}, Domain: 24,
				Config: "slaveOnly 1\n" + ucTable(tr.keyword, tr.addr(t, la, lb))})
			ptp4lClientHolds(t, gm, theirs)
		})
	}
}

// ptp4lClientHolds watches a ptp4l unicast client of gm for ucHold: it
// measures its offset from gm throughout, and gm's grants hold.
func ptp4lClientHolds(t *testing.T, gm *Daemon, theirs *linuxptp.PTP4L) {
	var gmID string
	require.True(t, gm.Do(context.Background(), func(e *engine.Clock) { gmID = e.DefaultDS().ClockIdentity.String() }))

	median, n, last := theirs.MasterOffsets(t, 5*time.Second, "GET PARENT_DATA_SET", "GET PORT_DATA_SET")
	require.Positive(t, n, "ptp4l measured offsets from our grandmaster:\n%s", last)
	assert.Regexp(t, regexp.MustCompile(`grandmasterIdentity\s+`+regexp.QuoteMeta(gmID)), last)
	t.Logf("ptp4l settled: median |offset| %.0f ns over %d readings", median, n)

	median, n, last = theirs.MasterOffsets(t, ucHold, "GET PORT_DATA_SET")
	t.Logf("over %v (%.1f grant durations): ptp4l median |offset| %.0f ns over %d readings", ucHold, ucHold.Seconds()/ucDuration.Seconds(), median, n)
	assert.Regexp(t, regexp.MustCompile(`portState\s+(SLAVE|UNCALIBRATED)`), last, "ptp4l still follows us")
	// A reading every 250 ms plus pmc's own time: about 70 in 25 s.
	assert.Greater(t, n, int(ucHold/(250*time.Millisecond))/2, "ptp4l kept measuring")
	assert.Less(t, median, float64(100*time.Microsecond))
	var clients int
	var st engine.UnicastServiceStats
	require.True(t, gm.Do(context.Background(), func(e *engine.Clock) {
		clients, st = e.Port(0).UnicastClients(), e.Port(0).UnicastServiceStats()
	}))
	t.Logf("our grandmaster: %d client, %+v", clients, st)
	assert.Equal(t, 1, clients)
	assert.Zero(t, st.Expired, "ptp4l renewed every grant in time")
	assert.Zero(t, st.Denied)
	assert.GreaterOrEqual(t, st.Granted, uint64(3*3), "first grants and at least two renewals of three")
	assert.NotContains(t, theirs.Output(), "rejected")
}

// refuser answers every REQUEST_UNICAST_TRANSMISSION that reaches link's
// general port with a GRANT of durationField 0, as a master that will
// not serve would, until the test ends. It counts what it refused.
func refuser(t *testing.T, link netns.Link) *atomic.Int64 {
	var conn *net.UDPConn
	require.NoError(t, link.NS.Do(func() error {
		var err error
		conn, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(link.Addr), Port: 320})
		return err
	}))
	t.Cleanup(func() { conn.Close() })
	var refused atomic.Int64
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			var req, reply ptp.Signaling
			if req.UnmarshalBinary(buf[:n]) != nil {
				continue
			}
			reply.Header = req.Header
			reply.SourcePortIdentity = ptp.PortIdentity{ClockIdentity: ptp.ClockIdentity{0x02, 0, 0, 0xff, 0xfe, 0, 0, 4}, PortNumber: 1}
			reply.TargetPortIdentity = req.SourcePortIdentity
			for tlv := range req.TLVs.All() {
				var r ptp.RequestUnicastTransmission
				if tlv.Type != ptp.TLVRequestUnicastTransmission || r.UnmarshalValue(tlv.Value) != nil {
					continue
				}
				_ = reply.TLVs.Add(&ptp.GrantUnicastTransmission{MessageType: r.MessageType, LogInterMessagePeriod: r.LogInterMessagePeriod})
				refused.Add(1)
			}
			if reply.TLVs.Len() == 0 {
				continue
			}
			if b, err := reply.MarshalBinary(); err == nil {
				_, _ = conn.WriteToUDP(b, from)
			}
		}
	}()
	return &refused
}

// TestUnicastTableFallback: the first entry of the table is absent
// (nothing answers at 198.18.0.9) and the second refuses (198.18.0.4
// grants nothing, durationField 0): a roko-ptpd and a ptp4l client both
// go on to the third, our unicast grandmaster, and synchronise, and both
// say they were refused.
func TestUnicastTableFallback(t *testing.T) {
	t.Parallel()
	testenv.Short(t)
	sw := netns.New(t)
	var hosts, ports []netns.Link
	for i := range 4 {
		h, p := netns.Veth(t, netns.New(t), "198.18.0."+strconv.Itoa(i+1), sw, "")
		hosts, ports = append(hosts, h), append(ports, p)
	}
	netns.Bridge(t, sw, ports...)
	refused := refuser(t, hosts[3])
	gmClock, err := phc.NewVirtual(phc.VirtualConfig{Name: "gm"})
	require.NoError(t, err)
	startDaemon(t, hosts[0], gmClock, "--priority1=1", "--serverOnly=1", "--domainNumber=24", "-4",
		"--unicast_listen=1", "--inhibit_multicast_service=1")
	table := ucTable("UDPv4", "198.18.0.9", "198.18.0.4", "198.18.0.1")
	theirs := linuxptp.StartPTP4L(t, hosts[2], linuxptp.Options{Flags: []string{"-4"}, Domain: 24, Config: "slaveOnly 1\n" + table})
	clClock, err := phc.NewVirtual(phc.VirtualConfig{Name: "client", Offset: 37 * time.Millisecond, FrequencyError: 40_000})
	require.NoError(t, err)
	cl, out := startDaemon(t, hosts[1], clClock, append(ucConf(t, table), "-s", "--domainNumber=24", "-4")...)

	c := watchClient(t, cl, clClock, 2*time.Second)
	t.Logf("ours: SLAVE and under 100 µs after %v", c.settled.Round(time.Millisecond))
	ms := unicastMasters(t, cl)
	require.Len(t, ms, 3)
	assert.Equal(t, "WAIT", ms[0].State, "the absent master is still asked for Announce")
	assert.Equal(t, "WAIT", ms[1].State, "the refusing master is still asked for Announce")
	assert.Equal(t, "HAVE_SYDY", ms[2].State)
	assert.Contains(t, out.String(), "unicast grant of ANNOUNCE rejected")

	median, n, last := theirs.MasterOffsets(t, 5*time.Second, "GET PORT_DATA_SET")
	t.Logf("ptp4l: median |offset| %.0f ns over %d readings; %d requests refused", median, n, refused.Load())
	assert.Positive(t, n)
	assert.Regexp(t, regexp.MustCompile(`portState\s+(SLAVE|UNCALIBRATED)`), last)
	assert.Contains(t, theirs.Output(), "unicast grant of ANNOUNCE rejected")
	assert.GreaterOrEqual(t, refused.Load(), int64(4), "both clients were refused, more than once")
}
