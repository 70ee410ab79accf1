package ptpd

import (
	"context"
	"math"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/mgmt"
	"github.com/roko-network/roko-ptpd/internal/monitor"
	"github.com/roko-network/roko-ptpd/internal/testenv"
	"github.com/roko-network/roko-ptpd/phc"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/engine"
	pmctext "github.com/roko-network/roko-ptpd/ptp/pmc"
	"github.com/roko-network/roko-ptpd/transport"
)

// udsPath returns the daemon's uds_address.
// udsPath is the daemon's read-write management socket.
func udsPath(d *Daemon) string { return d.set.UDS[0].Path }

// TestPMCAgainstUs: linuxptp's pmc reads a running roko-ptpd client over
// its UNIX socket, and what it prints matches the daemon's state.
func TestPMCAgainstUs(t *testing.T) {
	pmc := testenv.RequireCommand(t, "pmc", "linuxptp")
	la, lb := pair(t)
	gmClock, err := phc.NewVirtual(phc.VirtualConfig{Name: "gm"})
	require.NoError(t, err)
	gm, _ := startDaemon(t, la, gmClock, "--priority1=1", "--serverOnly=1", "--domainNumber=24")
	clClock, err := phc.NewVirtual(phc.VirtualConfig{Name: "client", Offset: time.Millisecond})
	require.NoError(t, err)
	cl, _ := startDaemon(t, lb, clClock, "-s", "--domainNumber=24", "--priority2=77")
	watchClient(t, cl, clClock, 0)

	var gmID, clID string
	gm.Do(context.Background(), func(e *engine.Clock) { gmID = e.DefaultDS().ClockIdentity.String() })
	cl.Do(context.Background(), func(e *engine.Clock) { clID = e.DefaultDS().ClockIdentity.String() })

	run := func(sock string, cmds ...string) string {
		args := append([]string{"-u", "-b", "0", "-d", "24", "-s", sock}, cmds...)
		out, err := exec.Command(pmc, args...).CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}
	out := run(udsPath(cl), "GET DEFAULT_DATA_SET", "GET CURRENT_DATA_SET", "GET PARENT_DATA_SET",
		"GET TIME_PROPERTIES_DATA_SET", "GET PORT_DATA_SET", "GET TIME_STATUS_NP", "GET PORT_PROPERTIES_NP",
		"GET PORT_STATS_NP", "GET CLOCK_DESCRIPTION", "GET USER_DESCRIPTION")
	for _, re := range []string{
		regexp.QuoteMeta(clID) + `-0 seq \d+ RESPONSE MANAGEMENT DEFAULT_DATA_SET`,
		`slaveOnly\s+1`, `priority2\s+77`, `domainNumber\s+24`, `clockIdentity\s+` + regexp.QuoteMeta(clID),
		`RESPONSE MANAGEMENT CURRENT_DATA_SET\s+stepsRemoved\s+1`,
		`grandmasterIdentity\s+` + regexp.QuoteMeta(gmID), `grandmasterPriority1\s+1`,
		`RESPONSE MANAGEMENT TIME_PROPERTIES_DATA_SET`, `currentUtcOffset\s+37`,
		regexp.QuoteMeta(clID) + `-1 seq \d+ RESPONSE MANAGEMENT PORT_DATA_SET`, `portState\s+SLAVE`,
		`gmPresent\s+true`, `gmIdentity\s+` + regexp.QuoteMeta(gmID),
		`RESPONSE MANAGEMENT PORT_PROPERTIES_NP`, `timestamping\s+(?i:software)`, `interface\s+` + regexp.QuoteMeta(lb.Name),
		`RESPONSE MANAGEMENT PORT_STATS_NP`, `rx_Sync\s+[1-9]\d*`, `tx_Delay_Req\s+[1-9]\d*`,
		`RESPONSE MANAGEMENT CLOCK_DESCRIPTION`, `productDescription\s+;roko-ptpd;`, `RESPONSE MANAGEMENT USER_DESCRIPTION`,
	} {
		assert.Regexp(t, regexp.MustCompile(re), out)
	}
	// offsetFromMaster is printed in nanoseconds, and small.
	m := regexp.MustCompile(`offsetFromMaster\s+(-?[\d.]+)`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	assert.Less(t, len(strings.TrimLeft(m[1], "-")), 9, "offset %s ns", m[1])

	// SET PRIORITY2 on the read-write socket takes effect; the read-only
	// socket refuses it.
	out = run(udsPath(cl), "SET PRIORITY2 42", "GET PRIORITY2")
	assert.Regexp(t, regexp.MustCompile(`RESPONSE MANAGEMENT PRIORITY2\s+priority2 42`), out)
	var p2 uint8
	cl.Do(context.Background(), func(e *engine.Clock) { p2 = e.DefaultDS().Priority2 })
	assert.Equal(t, uint8(42), p2)
	ro := cl.set.UDS[1].Path
	out = run(ro, "SET PRIORITY2 9")
	assert.Contains(t, out, "MANAGEMENT_ERROR_STATUS")
	cl.Do(context.Background(), func(e *engine.Clock) { p2 = e.DefaultDS().Priority2 })
	assert.Equal(t, uint8(42), p2, "unchanged through the read-only socket")
}

// TestHostileManagement: wrong lengths, unknown IDs and a flood of 100,000
// GETs over the UNIX socket are answered or refused, never a crash, and
// the client keeps synchronising.
func TestHostileManagement(t *testing.T) {
	testenv.Short(t)
	la, lb := pair(t)
	gmClock, err := phc.NewVirtual(phc.VirtualConfig{Name: "gm"})
	require.NoError(t, err)
	startDaemon(t, la, gmClock, "--priority1=1", "--serverOnly=1")
	clClock, err := phc.NewVirtual(phc.VirtualConfig{Name: "client", Offset: time.Millisecond})
	require.NoError(t, err)
	cl, _ := startDaemon(t, lb, clClock, "-s")
	watchClient(t, cl, clClock, 0)

	cli, err := transport.DialUDS(t.TempDir()+"/client", udsPath(cl))
	require.NoError(t, err)
	defer cli.Close()
	me := ptp.PortIdentity{ClockIdentity: ptp.ClockIdentity{1, 2, 3, 4, 5, 6, 7, 8}, PortNumber: 1}
	get := func(id ptp.ManagementID, seq uint16) []byte {
		m := &ptp.Management{Header: ptp.Header{VersionPTP: 2, SourcePortIdentity: me, SequenceID: seq, ControlField: 4, LogMessageInterval: 0x7f},
			TargetPortIdentity: ptp.PortIdentity{ClockIdentity: ptp.ClockIdentity{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, PortNumber: 0xffff},
			ActionField:        ptp.ActionGet}
		require.NoError(t, m.SetEmpty(id))
		b, err := m.AppendBinary(nil)
		require.NoError(t, err)
		return b
	}
	buf := make([]byte, 1500)
	recv := func() *ptp.Management {
		require.NoError(t, cli.SetReadDeadline(time.Now().Add(2*time.Second)))
		n, _, err := cli.Receive(buf)
		require.NoError(t, err)
		var m ptp.Management
		require.NoError(t, m.UnmarshalBinary(buf[:n]))
		return &m
	}
	// Unknown management ID: NO_SUCH_ID.
	require.NoError(t, cli.Send(get(0x7777, 1)))
	es, ok, err := recv().ErrorStatus()
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, ptp.ErrorNoSuchID, es.ManagementErrorID)
	// A MANAGEMENT TLV too short to hold its ID: dropped as malformed, and
	// garbage is dropped too; the next good request is still answered.
	bad := get(ptp.MIDDefaultDataSet, 2)
	bad[len(bad)-3] = 1 // lengthField 1: the TLV no longer holds its managementId
	require.NoError(t, cli.Send(bad))
	require.NoError(t, cli.Send([]byte{0xde, 0xad}))
	require.NoError(t, cli.Send(get(ptp.MIDDefaultDataSet, 3)))
	r := recv()
	for r.SequenceID != 3 {
		r = recv()
	}
	id, _, _, _ := r.ManagementTLV()
	assert.Equal(t, ptp.MIDDefaultDataSet, id)

	// The flood: 100,000 GETs, reading answers as they come so the socket
	// buffers never fill.
	const n = 100_000
	done := make(chan int)
	go func() {
		got := 0
		rb := make([]byte, 1500)
		for got < n {
			_ = cli.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, _, err := cli.Receive(rb); err != nil {
				break
			}
			got++
		}
		done <- got
	}()
	req := get(ptp.MIDCurrentDataSet, 9)
	start := time.Now()
	for range n {
		require.NoError(t, cli.Send(req))
	}
	got := <-done
	t.Logf("%d GETs answered in %v", got, time.Since(start).Round(time.Millisecond))
	assert.Equal(t, n, got)
	e, err := clClock.TrueError()
	require.NoError(t, err)
	assert.Less(t, e.Abs(), 100*time.Microsecond, "still synchronised after the flood")
	assert.Equal(t, engine.Slave, state(t, cl))
}

// TestMonitorJobs: the operator guide's monitoring jobs read a running
// roko-ptpd client over its socket.
func TestMonitorJobs(t *testing.T) {
	la, lb := pair(t)
	gmClock, err := phc.NewVirtual(phc.VirtualConfig{Name: "gm"})
	require.NoError(t, err)
	startDaemon(t, la, gmClock, "--priority1=1", "--serverOnly=1")
	clClock, err := phc.NewVirtual(phc.VirtualConfig{Name: "client", Offset: time.Millisecond})
	require.NoError(t, err)
	cl, _ := startDaemon(t, lb, clClock, "-s")
	watchClient(t, cl, clClock, 0)

	c, err := mgmt.Dial(udsPath(cl), 0)
	require.NoError(t, err)
	defer c.Close()

	// The status query for the virtual clock's true error.
	rs, err := c.Get(ptp.MIDVirtualClockNP)
	require.NoError(t, err)
	var vc ptp.VirtualClockNP
	require.NoError(t, rs[0].Data(&vc))
	direct, err := clClock.TrueError()
	require.NoError(t, err)
	assert.InDelta(t, float64(direct.Nanoseconds()), float64(vc.TrueError), 20_000, "the query agrees with the clock")
	assert.Contains(t, pmctext.Text(rs[0]), "VIRTUAL_CLOCK_NP \n\t\ttrue_error ")

	var out strings.Builder
	require.NoError(t, monitor.Status(&out, c, 5, 50*time.Millisecond))
	assert.Contains(t, out.String(), "Time Source: PTP ("+lb.Name+")")
	assert.Regexp(t, regexp.MustCompile(`Current Offset: -?\d+\.\d ns`), out.String())
	s, err := monitor.Accuracy(c, 20, 50*time.Millisecond)
	require.NoError(t, err)
	assert.Equal(t, 20, s.Samples)
	assert.Less(t, math.Abs(s.Mean), 100_000.0, "software timestamps on veth: microseconds, in ns")
	out.Reset()
	require.NoError(t, monitor.Monitor(&out, c, 10*time.Millisecond, 3, time.Now))
	assert.Equal(t, 5, strings.Count(out.String(), "\n"), "header, rule, three rows")
}

// TestPMCOverNetwork: linuxptp's pmc -4 from another namespace reads our
// grandmaster over UDP; SET is refused over the network unless
// allow_network_set.
func TestPMCOverNetwork(t *testing.T) {
	pmc := testenv.RequireCommand(t, "pmc", "linuxptp")
	la, lb := pair(t)
	gmClock, err := phc.NewVirtual(phc.VirtualConfig{Name: "gm"})
	require.NoError(t, err)
	gm, _ := startDaemon(t, la, gmClock, "--priority1=1", "--serverOnly=1", "--domainNumber=24")
	var id string
	gm.Do(context.Background(), func(e *engine.Clock) { id = e.DefaultDS().ClockIdentity.String() })
	run := func(cmds ...string) string {
		c := lb.NS.Command(pmc, append([]string{"-4", "-i", lb.Name, "-b", "1", "-d", "24", "-t", "0"}, cmds...)...)
		out, err := c.CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}
	var out string
	for i := 0; i < 20; i++ { // until the daemon is up and answering
		out = run("GET DEFAULT_DATA_SET")
		if strings.Contains(out, "RESPONSE MANAGEMENT DEFAULT_DATA_SET") {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	assert.Regexp(t, regexp.MustCompile(regexp.QuoteMeta(id)+`-1 seq \d+ RESPONSE MANAGEMENT DEFAULT_DATA_SET`), out, "answered from port 1")
	assert.Regexp(t, regexp.MustCompile(`priority1\s+1`), out)
	out = run("SET PRIORITY2 9")
	assert.Contains(t, out, "MANAGEMENT_ERROR_STATUS", "SET over the network is refused by default")
	var p2 uint8
	gm.Do(context.Background(), func(e *engine.Clock) { p2 = e.DefaultDS().Priority2 })
	assert.Equal(t, uint8(128), p2)
}

// TestSubscribeEvents: a client of the UNIX socket subscribes to port state
// and time sync events (SUBSCRIBE_EVENTS_NP) and is sent PORT_DATA_SET as
// the port goes to SLAVE and TIME_STATUS_NP with each new offset, and a GET
// returns the subscription.
func TestSubscribeEvents(t *testing.T) {
	la, lb := pair(t)
	clClock, err := phc.NewVirtual(phc.VirtualConfig{Name: "client", Offset: time.Millisecond})
	require.NoError(t, err)
	cl, _ := startDaemon(t, lb, clClock, "-s")
	for i := 0; i < 50; i++ {
		if _, err := os.Stat(udsPath(cl)); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cli, err := transport.DialUDS(t.TempDir()+"/sub", udsPath(cl))
	require.NoError(t, err)
	defer cli.Close()
	me := ptp.PortIdentity{ClockIdentity: ptp.ClockIdentity{9, 9, 9, 9, 9, 9, 9, 9}, PortNumber: 1}
	var ev ptp.SubscribeEventsNP
	ev.Duration = 60
	ev.Subscribe(ptp.NotifyPortState)
	ev.Subscribe(ptp.NotifyTimeSync)
	m := &ptp.Management{Header: ptp.Header{VersionPTP: 2, SourcePortIdentity: me, SequenceID: 1, ControlField: 4, LogMessageInterval: 0x7f},
		TargetPortIdentity: ptp.PortIdentity{ClockIdentity: ptp.ClockIdentity{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, PortNumber: 0xffff},
		ActionField:        ptp.ActionSet}
	require.NoError(t, m.SetData(&ev))
	b, err := m.AppendBinary(nil)
	require.NoError(t, err)
	require.NoError(t, cli.Send(b))

	// Now a grandmaster appears: the client's port will change state.
	gmClock, err := phc.NewVirtual(phc.VirtualConfig{Name: "gm"})
	require.NoError(t, err)
	startDaemon(t, la, gmClock, "--priority1=1", "--serverOnly=1")

	seen := map[ptp.ManagementID]int{}
	var slave bool
	buf := make([]byte, 1500)
	for end := time.Now().Add(6 * time.Second); time.Now().Before(end) && !(slave && seen[ptp.MIDTimeStatusNP] >= 5); {
		require.NoError(t, cli.SetReadDeadline(end))
		n, _, err := cli.Receive(buf)
		if err != nil {
			break
		}
		var r ptp.Management
		require.NoError(t, r.UnmarshalBinary(buf[:n]))
		id, _, ok, _ := r.ManagementTLV()
		if !ok {
			continue
		}
		seen[id]++
		if id == ptp.MIDPortDataSet {
			var pds ptp.PortDataSet
			require.NoError(t, r.Data(&pds))
			slave = slave || pds.PortState == ptp.PortStateSlave
		}
	}
	assert.Equal(t, 1, seen[ptp.MIDSubscribeEventsNP], "the SET is answered")
	assert.True(t, slave, "a PORT_DATA_SET notification says SLAVE: %v", seen)
	assert.GreaterOrEqual(t, seen[ptp.MIDTimeStatusNP], 5, "TIME_STATUS_NP with each offset")
}

// TestBoundaryHops: pmc -u -b 1 asks the daemon and, through it, the clock
// on the far side of its port: the request is forwarded with one hop
// less, and the remote answer relayed back to the UNIX socket, as ptp4l
// does. With -b 0 only the local clock answers.
func TestBoundaryHops(t *testing.T) {
	pmc := testenv.RequireCommand(t, "pmc", "linuxptp")
	la, lb := pair(t)
	gmClock, err := phc.NewVirtual(phc.VirtualConfig{Name: "gm"})
	require.NoError(t, err)
	gm, _ := startDaemon(t, la, gmClock, "--priority1=1", "--serverOnly=1")
	clClock, err := phc.NewVirtual(phc.VirtualConfig{Name: "client"})
	require.NoError(t, err)
	cl, _ := startDaemon(t, lb, clClock, "-s")
	watchClient(t, cl, clClock, 0)
	var gmID, clID string
	gm.Do(context.Background(), func(e *engine.Clock) { gmID = e.DefaultDS().ClockIdentity.String() })
	cl.Do(context.Background(), func(e *engine.Clock) { clID = e.DefaultDS().ClockIdentity.String() })
	get := func(hops string) string {
		out, err := exec.Command(pmc, "-u", "-b", hops, "-s", udsPath(cl), "GET DEFAULT_DATA_SET").CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}
	out := get("0")
	assert.Contains(t, out, clID+"-0 seq 0 RESPONSE MANAGEMENT DEFAULT_DATA_SET")
	assert.NotContains(t, out, gmID)
	out = get("1")
	assert.Contains(t, out, clID+"-0 seq 0 RESPONSE MANAGEMENT DEFAULT_DATA_SET", "the local answer")
	assert.Contains(t, out, gmID+"-1 seq 0 RESPONSE MANAGEMENT DEFAULT_DATA_SET", "and the grandmaster's, relayed")
}
