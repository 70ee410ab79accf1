package ptpd

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/linuxptp"
	"github.com/roko-network/roko-ptpd/internal/mgmt"
	"github.com/roko-network/roko-ptpd/internal/netns"
	"github.com/roko-network/roko-ptpd/internal/testenv"
	"github.com/roko-network/roko-ptpd/phc"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/auth"
	"github.com/roko-network/roko-ptpd/ptp/engine"
	"github.com/roko-network/roko-ptpd/transport"
)

// saFile is the sa_file of the linuxptp 4.4 captures: spp 1 holds
// SHA256-128 (key 1) and SHA256 (key 2), spp 2 AES128 (key 1) and AES256
// (key 2), spp 3 SHA256 with allow_mutable (key 7).
func saFile(t *testing.T) string {
	p, err := filepath.Abs("../../testdata/pcap/linuxptp-auth/sa.cfg")
	require.NoError(t, err)
	return p
}

// wrongSAFile has spp 1 and 2 with the same key IDs and other secrets.
func wrongSAFile(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "wrong.cfg")
	require.NoError(t, os.WriteFile(p, []byte("[security_association]\nspp 1\n1 SHA256-128 ASCII:not-the-key\n"+
		"[security_association]\nspp 2\n1 AES128 ASCII:0123456789abcdef\n"), 0o600))
	return p
}

// authConf is ptp4l 4.4's lines for a port authenticated with spp and
// key: in the interface's section, so that its UNIX socket stays open to
// Debian's pmc.
func authConf(file string, link netns.Link, spp, key int) string {
	return "sa_file " + file + "\n[" + link.Name + "]\nspp " + strconv.Itoa(spp) + "\nactive_key_id " + strconv.Itoa(key) + "\n"
}

func authArgs(file string, spp, key int) []string {
	return []string{"--sa_file=" + file, "--spp=" + strconv.Itoa(spp), "--active_key_id=" + strconv.Itoa(key)}
}

// authFailures reads a port's authentication failures on the loop.
func authFailures(t *testing.T, d *Daemon, f auth.Failure) uint64 {
	var n uint64
	require.True(t, d.Do(context.Background(), func(*engine.Clock) { n = d.AuthFailures(0, f) }))
	return n
}

// TestAuthInterop: linuxptp 4.4 and roko-ptpd with the same security
// association, both ways, with HMAC-SHA256-128 (UDPv4 E2E) and AES-CMAC-128
// (L2 P2P): a roko-ptpd client of ptp4l's grandmaster converges, and a
// ptp4l client of ours follows it, each taking every message of the other
// (no failure counted).
func TestAuthInterop(t *testing.T) {
	testenv.Short(t)
	bin := linuxptp.Build44(t)
	file := saFile(t)
	for _, tc := range []struct {
		name     string
		flags    []string
		spp, key int
	}{
		{"SHA256-128-UDPv4-E2E", []string{"-4", "-E"}, 1, 1},
		{"AES128-L2-P2P", []string{"-2", "-P"}, 2, 1},
	} {
		t.Run("roko-client-of-ptp4l-"+tc.name, func(t *testing.T) {
			t.Parallel()
			c := startClient(t, "client "+tc.name, append(tc.flags, authArgs(file, tc.spp, tc.key)...), func(la netns.Link) {
				linuxptp.StartPTP4L(t, la, linuxptp.Options{Binary: bin + "/ptp4l", Flags: tc.flags, Domain: 24,
					Config: "masterOnly 1\npriority1 1\n" + authConf(file, la, tc.spp, tc.key)})
			})
			conv := watchClient(t, c.d, c.clk, 5*time.Second)
			assert.Less(t, conv.worst, 100*time.Microsecond)
			assert.Contains(t, c.log.String(), "UNCALIBRATED to SLAVE on MASTER_CLOCK_SELECTED")
			for f := auth.FailMalformed; f < auth.NumFailures; f++ {
				assert.Zero(t, authFailures(t, c.d, f), "%v", f)
			}
		})
		t.Run("ptp4l-client-of-roko-"+tc.name, func(t *testing.T) {
			t.Parallel()
			la, lb := pair(t)
			gmClock, err := phc.NewVirtual(phc.VirtualConfig{Name: "gm"})
			require.NoError(t, err)
			gm, _ := startDaemon(t, la, gmClock, append([]string{"--priority1=1", "--serverOnly=1", "--domainNumber=24"},
				append(tc.flags, authArgs(file, tc.spp, tc.key)...)...)...)
			var gmID string
			require.True(t, gm.Do(context.Background(), func(e *engine.Clock) { gmID = e.DefaultDS().ClockIdentity.String() }))
			p := linuxptp.StartPTP4L(t, lb, linuxptp.Options{Binary: bin + "/ptp4l", Flags: tc.flags, Domain: 24,
				Config: "slaveOnly 1\n" + authConf(file, lb, tc.spp, tc.key)})
			median, n, last := p.MasterOffsets(t, 8*time.Second, "GET PARENT_DATA_SET")
			assert.Positive(t, n, "ptp4l measured no offset from our grandmaster:\n%s", last)
			assert.Regexp(t, `grandmasterIdentity\s+`+regexp.QuoteMeta(gmID), last)
			t.Logf("ptp4l 4.4's median |master_offset| from our grandmaster: %.0f ns over %d samples", median, n)
			assert.NotContains(t, p.Output(), "auth: bad message")
			for f := auth.FailMalformed; f < auth.NumFailures; f++ {
				assert.Zero(t, authFailures(t, gm, f), "%v", f)
			}
		})
	}
}

// TestAuthRefusals: what a client with an association must refuse, on a
// bridge where a ptp4l 4.4 grandmaster signs with spp 1 key 1.
//   - wrong key: a client with another secret under the same IDs never
//     synchronises, and counts bad ICVs;
//   - a forged grandmaster (Debian's ptp4l, priority1 0, no TLV) does not
//     take over a client with the right key, which counts what it drops;
//   - an authenticated Sync and Follow_Up, captured and sent again two
//     seconds later from a third host, are refused as replays.
func TestAuthRefusals(t *testing.T) {
	testenv.Short(t)
	bin := linuxptp.Build44(t)
	testenv.RequireCommand(t, "ptp4l", "linuxptp")
	file := saFile(t)
	sw := netns.New(t)
	var hosts, ports []netns.Link
	for i := range 5 {
		h, p := netns.Veth(t, netns.New(t), "198.18.0."+strconv.Itoa(i+1), sw, "")
		hosts, ports = append(hosts, h), append(ports, p)
	}
	netns.Bridge(t, sw, ports...)
	flags := []string{"-4", "-E"}
	gm := linuxptp.StartPTP4L(t, hosts[0], linuxptp.Options{Binary: bin + "/ptp4l", Flags: flags, Domain: 24,
		Config: "masterOnly 1\npriority1 10\n" + authConf(file, hosts[0], 1, 1)})
	gmOut, err := gm.PMC(t, "GET DEFAULT_DATA_SET")
	require.NoError(t, err)
	gmID := regexp.MustCompile(`clockIdentity\s+(\S+)`).FindStringSubmatch(gmOut)
	require.NotNil(t, gmID, gmOut)

	newClient := func(host netns.Link, name, sa string) client {
		clk, err := phc.NewVirtual(phc.VirtualConfig{Name: name, Offset: 37 * time.Millisecond, FrequencyError: 40_000})
		require.NoError(t, err)
		d, log := startDaemon(t, host, clk, append([]string{"-s", "--domainNumber=24"}, append(flags, authArgs(sa, 1, 1)...)...)...)
		return client{d: d, clk: clk, log: log}
	}
	good := newClient(hosts[1], "right key", file)
	wrong := newClient(hosts[2], "wrong key", wrongSAFile(t))
	watchClient(t, good.d, good.clk, time.Second)

	// The forger: priority1 0, no sa_file, on the same segment.
	linuxptp.StartPTP4L(t, hosts[3], linuxptp.Options{Flags: flags, Domain: 24, Config: "masterOnly 1\npriority1 0\n"})

	// The replayer: catch one authenticated Sync and its Follow_Up.
	var syncMsg, fupMsg []byte
	var ev, gen *net.UDPConn
	hosts[4].NS.IP(t, "route", "add", "224.0.0.0/4", "dev", hosts[4].Name)
	require.NoError(t, hosts[4].NS.Do(func() error {
		ifi, err := net.InterfaceByName(hosts[4].Name)
		if err != nil {
			return err
		}
		group := net.IPv4(224, 0, 1, 129)
		if ev, err = net.ListenMulticastUDP("udp4", ifi, &net.UDPAddr{IP: group, Port: 319}); err != nil {
			return err
		}
		gen, err = net.ListenMulticastUDP("udp4", ifi, &net.UDPAddr{IP: group, Port: 320})
		return err
	}))
	t.Cleanup(func() { ev.Close(); gen.Close() })
	buf := make([]byte, 1500)
	for syncMsg == nil || fupMsg == nil || ptp.MessageType(fupMsg[0]&0xf) != ptp.MessageFollowUp ||
		string(syncMsg[30:32]) != string(fupMsg[30:32]) {
		require.NoError(t, ev.SetReadDeadline(time.Now().Add(5*time.Second)))
		n, err := ev.Read(buf)
		require.NoError(t, err)
		if ptp.MessageType(buf[0]&0xf) != ptp.MessageSync {
			continue
		}
		syncMsg = append([]byte(nil), buf[:n]...)
		require.NoError(t, gen.SetReadDeadline(time.Now().Add(5*time.Second)))
		for {
			n, err := gen.Read(buf)
			require.NoError(t, err)
			if ptp.MessageType(buf[0]&0xf) == ptp.MessageFollowUp {
				fupMsg = append([]byte(nil), buf[:n]...)
				break
			}
		}
	}

	// 8 s: the forger's Announce would have won long since.
	time.Sleep(4 * time.Second)
	replaysBefore := authFailures(t, good.d, auth.FailReplay)
	for _, m := range []struct {
		conn *net.UDPConn
		port int
		msg  []byte
	}{{ev, 319, syncMsg}, {gen, 320, fupMsg}} {
		_, err := m.conn.WriteToUDP(m.msg, &net.UDPAddr{IP: net.IPv4(224, 0, 1, 129), Port: m.port})
		require.NoError(t, err)
	}
	time.Sleep(4 * time.Second)

	// The right key: still SLAVE to the authenticated grandmaster.
	var parent string
	var st engine.State
	require.True(t, good.d.Do(context.Background(), func(e *engine.Clock) {
		parent = e.ParentDS().GrandmasterIdentity.String()
		st = e.Port(0).State()
	}))
	assert.Equal(t, gmID[1], parent, "the forged grandmaster took over")
	assert.Equal(t, engine.Slave, st)
	assert.Positive(t, authFailures(t, good.d, auth.FailMissing), "the forger's messages, dropped")
	assert.Greater(t, authFailures(t, good.d, auth.FailReplay), replaysBefore, "the replayed Sync and Follow_Up")
	assert.Zero(t, authFailures(t, good.d, auth.FailICV))
	assert.Contains(t, good.log.String(), "auth: bad message: no_auth_tlv")

	// The wrong key: never synchronised, its clock never stepped.
	require.True(t, wrong.d.Do(context.Background(), func(e *engine.Clock) { st = e.Port(0).State() }))
	assert.NotEqual(t, engine.Slave, st)
	assert.NotEqual(t, engine.Uncalibrated, st)
	assert.Positive(t, authFailures(t, wrong.d, auth.FailICV))
	e, err := wrong.clk.TrueError()
	require.NoError(t, err)
	assert.Greater(t, e.Abs(), 30*time.Millisecond, "the wrong-key client's clock was steered")
	assert.False(t, strings.Contains(wrong.log.String(), "UNCALIBRATED"), "the wrong-key client followed someone")
}

// TestAuthManagement: with spp in [global], the management socket takes
// only authenticated requests and signs its answers, as ptp4l's does:
// linuxptp 4.4's pmc with the association gets its answers over the
// socket and over the network; Debian's pmc without it gets none.
func TestAuthManagement(t *testing.T) {
	testenv.Short(t)
	bin := linuxptp.Build44(t)
	plainPMC := testenv.RequireCommand(t, "pmc", "linuxptp")
	file := saFile(t)
	la, lb := pair(t)
	gmClock, err := phc.NewVirtual(phc.VirtualConfig{Name: "gm"})
	require.NoError(t, err)
	dir := t.TempDir()
	uds := filepath.Join(dir, "roko")
	gm, _ := startDaemon(t, la, gmClock, append([]string{"--priority1=1", "--serverOnly=1", "--domainNumber=24", "-4",
		"--uds_address=" + uds}, authArgs(file, 1, 2)...)...)
	var gmID string
	require.True(t, gm.Do(context.Background(), func(e *engine.Clock) { gmID = e.DefaultDS().ClockIdentity.String() }))

	conf := filepath.Join(dir, "pmc.conf")
	require.NoError(t, os.WriteFile(conf, []byte("[global]\nsa_file "+file+"\nspp 1\nactive_key_id 2\n"), 0o600))
	run := func(ns *netns.NS, pmc string, args ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cmd := ns.Command(pmc, args...)
		cmd = exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
		out, _ := cmd.CombinedOutput()
		t.Logf("%s %s:\n%s", filepath.Base(pmc), strings.Join(args, " "), out)
		return string(out)
	}
	idRe := regexp.MustCompile(`clockIdentity\s+` + regexp.QuoteMeta(gmID))

	out := run(la.NS, bin+"/pmc", "-u", "-f", conf, "-b", "0", "-d", "24", "-s", uds, "GET DEFAULT_DATA_SET")
	assert.Regexp(t, idRe, out, "pmc 4.4 with the association, over the socket")

	out = run(la.NS, plainPMC, "-u", "-b", "0", "-d", "24", "-s", uds, "GET DEFAULT_DATA_SET")
	assert.NotRegexp(t, idRe, out, "Debian's pmc without the association was answered")
	var failed uint64
	require.True(t, gm.Do(context.Background(), func(*engine.Clock) { failed = gm.udsVerify.Failures(auth.FailMissing) }))
	assert.Positive(t, failed)

	out = run(lb.NS, bin+"/pmc", "-4", "-i", lb.Name, "-f", conf, "-b", "1", "-d", "24", "GET DEFAULT_DATA_SET")
	assert.Regexp(t, idRe, out, "pmc 4.4 with the association, over the network")
}

// TestAuthMetrics: a client with spp 1 on a segment with an authenticated
// grandmaster and a forger without the TLV counts, on /metrics, the
// messages that passed and those it dropped by reason; its management
// socket ([global] spp) has its own series (port 0, the socket's path),
// which count an unsigned request.
func TestAuthMetrics(t *testing.T) {
	file := saFile(t)
	seg := transport.NewSegment()
	gmClock := virtual(t, "gm", 0, 0)
	clClock := virtual(t, "client", 3*time.Millisecond, 10_000)
	startOnSegment(t, seg, gmClock, false, append([]string{"-S", "--priority1=10", "--serverOnly=1"}, authArgs(file, 1, 1)...)...)
	forger := startOnSegment(t, seg, virtual(t, "forger", 0, 0), false, "-S", "--priority1=0", "--serverOnly=1")
	cl := startOnSegment(t, seg, clClock, false, append([]string{"-S", "-s", "--metrics_address=127.0.0.1:0"}, authArgs(file, 1, 2)...)...)

	c, err := mgmt.Dial(cl.uds, 0)
	require.NoError(t, err)
	c.Timeout = 100 * time.Millisecond
	_, err = c.Get(ptp.MIDDefaultDataSet)
	c.Close()
	require.ErrorIs(t, err, mgmt.ErrNoAnswer, "an unsigned request, answered")

	port := []string{"port=1", "interface=client"}
	uds := []string{"port=0", "interface=" + cl.uds}
	var fams map[string]*dto.MetricFamily
	for start := time.Now(); ; time.Sleep(200 * time.Millisecond) {
		require.Less(t, time.Since(start), 10*time.Second, "no verified and refused messages on /metrics")
		fams = scrape(t, cl.d)
		verified, _ := sample(fams, "roko_ptp_auth_verified_total", port...)
		missing, _ := sample(fams, "roko_ptp_auth_failures_total", append(port, "reason=no_auth_tlv")...)
		udsMissing, _ := sample(fams, "roko_ptp_auth_failures_total", append(uds, "reason=no_auth_tlv")...)
		if verified >= 10 && missing >= 2 && udsMissing >= 1 {
			break
		}
	}
	for f := auth.FailMalformed; f < auth.NumFailures; f++ {
		_, ok := sample(fams, "roko_ptp_auth_failures_total", append(port, "reason="+f.String())...)
		assert.True(t, ok, "every reason has a series: %v", f)
	}
	v, _ := sample(fams, "roko_ptp_auth_failures_total", append(port, "reason=bad_icv")...)
	assert.Zero(t, v)
	v, ok := sample(fams, "roko_ptp_auth_verified_total", uds...)
	assert.True(t, ok)
	assert.Zero(t, v, "no signed request was sent to the socket")
	var parent, forged ptp.ClockIdentity
	require.True(t, cl.d.Do(context.Background(), func(e *engine.Clock) { parent = e.ParentDS().GrandmasterIdentity }))
	require.True(t, forger.d.Do(context.Background(), func(e *engine.Clock) { forged = e.DefaultDS().ClockIdentity }))
	assert.NotEqual(t, forged, parent, "the forger took over")
}
