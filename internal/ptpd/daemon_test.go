package ptpd

import (
	"bytes"
	"context"
	"math"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/linuxptp"
	"github.com/roko-network/roko-ptpd/internal/mgmt"
	"github.com/roko-network/roko-ptpd/internal/netns"
	"github.com/roko-network/roko-ptpd/internal/ptplog"
	"github.com/roko-network/roko-ptpd/internal/testenv"
	"github.com/roko-network/roko-ptpd/phc"
	"github.com/roko-network/roko-ptpd/ptp/engine"
)

// fast are the intervals the tests run at: Announce at 4 Hz, Sync,
// Delay_Req and Pdelay_Req at 16 Hz.
var fast = []string{"--logAnnounceInterval=-2", "--announceReceiptTimeout=3", "--logSyncInterval=-4",
	"--logMinDelayReqInterval=-4", "--logMinPdelayReqInterval=-4", "--clock_servo=linreg"}

// startDaemon runs roko-ptpd in the namespace of link with args and a
// virtual clock, until the test ends or stop is called.
func startDaemon(t *testing.T, link netns.Link, clk *phc.Virtual, args ...string) (*Daemon, *testenv.Buffer) {
	d, out, _ := startStoppable(t, link, clk, args...)
	return d, out
}

func startStoppable(t *testing.T, link netns.Link, clk *phc.Virtual, args ...string) (*Daemon, *testenv.Buffer, func()) {
	t.Helper()
	dir := t.TempDir()
	base := []string{"-i", link.Name, "-S", "-m", "--uds_address=" + filepath.Join(dir, "ptp4l"), "--uds_ro_address=" + filepath.Join(dir, "ptp4lro")}
	cmd, err := ParseArgs(append(append(base, fast...), args...))
	require.NoError(t, err)
	out := &testenv.Buffer{}
	set, err := cmd.Config.Resolve()
	require.NoError(t, err)
	opt := Options{Settings: set, Log: ptplog.New("roko-ptpd", 6, "", out, out)}
	if clk != nil { // nil: the clock the settings name (emulated hardware)
		opt.Clock = clk
	}
	var d *Daemon
	require.NoError(t, link.NS.Do(func() error {
		var err error
		d, err = New(opt)
		return err
	}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		assert.NoError(t, d.Run(ctx))
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			<-done
			d.Close()
		})
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("%s log:\n%s", link.Name, out.String())
		}
	})
	return d, out, stop
}

func pair(t *testing.T) (netns.Link, netns.Link) {
	t.Helper()
	testenv.Short(t)
	a, b := netns.New(t), netns.New(t)
	return netns.Veth(t, a, "198.18.0.1", b, "198.18.0.2")
}

// state reads a port's state through the daemon's event loop.
func state(t *testing.T, d *Daemon) engine.State {
	t.Helper()
	var st engine.State
	require.True(t, d.Do(context.Background(), func(e *engine.Clock) { st = e.Port(0).State() }))
	return st
}

// convergence is what a client achieved: when it reached SLAVE with its
// true error under the bound, and its RMS and worst true error after that.
type convergence struct {
	settled    time.Duration
	rms, worst time.Duration
	samples    int
}

// watchClient waits up to 30 s for the client to be SLAVE with |true
// error| < 100 µs, then samples the true error every 100 ms for measure.
func watchClient(t *testing.T, d *Daemon, v *phc.Virtual, measure time.Duration) convergence {
	t.Helper()
	return watchClients(t, measure, client{d: d, clk: v})[0]
}

// watchClients is watchClient for clients that run side by side: it waits
// until every one has settled, then samples them all at the same
// instants, so that they share this machine's noise.
func watchClients(t *testing.T, measure time.Duration, cs ...client) []convergence {
	t.Helper()
	start := time.Now()
	out := make([]convergence, len(cs))
	for waiting := len(cs); waiting > 0; time.Sleep(100 * time.Millisecond) {
		for i, c := range cs {
			if out[i].settled != 0 {
				continue
			}
			e, err := c.clk.TrueError()
			require.NoError(t, err)
			if state(t, c.d) == engine.Slave && e.Abs() < 100*time.Microsecond {
				out[i].settled = time.Since(start)
				waiting--
				continue
			}
			require.Less(t, time.Since(start), 30*time.Second, "%s: no convergence within 30 s: state %v, true error %v", c.clk.Name(), state(t, c.d), e)
		}
	}
	sum2 := make([]float64, len(cs))
	for end := time.Now().Add(measure); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		for i, c := range cs {
			e, err := c.clk.TrueError()
			require.NoError(t, err)
			sum2[i] += float64(e) * float64(e)
			out[i].worst = max(out[i].worst, e.Abs())
			out[i].samples++
		}
	}
	for i := range out {
		out[i].rms = time.Duration(math.Sqrt(sum2[i] / float64(out[i].samples)))
	}
	return out
}

// measureFor is how long the interop tests watch a converged client; the
// issue asks for 30 s, -short for less.
func measureFor() time.Duration {
	if testing.Short() {
		return 5 * time.Second
	}
	return 30 * time.Second
}

// client is a roko-ptpd client on a virtual clock.
type client struct {
	d   *Daemon
	clk *phc.Virtual
	log *testenv.Buffer
}

// startClient starts a client on a virtual clock starting 37 ms ahead and
// 40 ppm fast, in a pair of namespaces of its own, against whatever
// grandmaster gm starts on the other end of its link.
func startClient(t *testing.T, name string, transportFlags []string, gm func(la netns.Link)) client {
	t.Helper()
	la, lb := pair(t)
	gm(la)
	clk, err := phc.NewVirtual(phc.VirtualConfig{Name: name, Offset: 37 * time.Millisecond, FrequencyError: 40_000})
	require.NoError(t, err)
	d, log := startDaemon(t, lb, clk, append([]string{"-s", "--domainNumber=24"}, transportFlags...)...)
	return client{d: d, clk: clk, log: log}
}

// checkClient checks what issue 7 asks of a client: SLAVE, one step, true
// error under 100 µs within 30 s and after.
func checkClient(t *testing.T, c client, conv convergence) {
	t.Helper()
	t.Logf("%s: SLAVE and under 100 µs after %v; then over %d samples: true error RMS %v, worst %v",
		c.clk.Name(), conv.settled.Round(time.Millisecond), conv.samples, conv.rms, conv.worst)
	assert.Less(t, conv.worst, 100*time.Microsecond, c.clk.Name())
	assert.Equal(t, 1, bytes.Count([]byte(c.log.String()), []byte(" s1 freq ")), "%s: exactly one step", c.clk.Name())
	assert.Contains(t, c.log.String(), "UNCALIBRATED to SLAVE on MASTER_CLOCK_SELECTED", c.clk.Name())
}

// ptp4lGM starts linuxptp's ptp4l as grandmaster on a link, domain 24.
func ptp4lGM(t *testing.T, flags []string) func(la netns.Link) {
	return func(la netns.Link) {
		linuxptp.StartPTP4L(t, la, linuxptp.Options{Flags: flags, Domain: 24, Config: "masterOnly 1\npriority1 1\n"})
	}
}

// rokoGM starts a roko-ptpd grandmaster on a virtual clock that keeps
// CLOCK_REALTIME, as ptp4l's does, on a link, domain 24.
func rokoGM(t *testing.T, flags []string) func(la netns.Link) {
	return func(la netns.Link) {
		gmClock, err := phc.NewVirtual(phc.VirtualConfig{Name: "gm"})
		require.NoError(t, err)
		startDaemon(t, la, gmClock, append([]string{"--priority1=1", "--serverOnly=1", "--domainNumber=24"}, flags...)...)
	}
}

// rmsMargin is how much more true error (RMS) a roko-ptpd client may have
// under a roko-ptpd grandmaster than beside it under ptp4l's.
const rmsMargin = 2 * time.Microsecond

// TestInteropClients: roko-ptpd clients on virtual clocks, domain 24,
// software timestamps, under a linuxptp ptp4l grandmaster (L2 E2E, L2 P2P)
// and, side by side over UDPv4 E2E, under a ptp4l and a roko-ptpd
// grandmaster. Each must do what issue 7 asks (checkClient); under ours,
// the client's true error RMS may exceed its twin's under ptp4l, measured
// at the same instants on this machine, by rmsMargin only: both carry
// this machine's software timestamp noise, whatever its load. The cases
// run in parallel, each in namespaces of its own.
func TestInteropClients(t *testing.T) {
	testenv.Short(t)
	testenv.RequireCommand(t, "ptp4l", "linuxptp")
	for _, tc := range []struct {
		name  string
		flags []string
	}{
		{"ptp4l-L2-E2E", []string{"-2", "-E"}},
		{"ptp4l-L2-P2P", []string{"-2", "-P"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := startClient(t, "client "+tc.name, tc.flags, ptp4lGM(t, tc.flags))
			checkClient(t, c, watchClient(t, c.d, c.clk, measureFor()))
		})
	}
	t.Run("UDPv4-E2E", func(t *testing.T) {
		t.Parallel()
		flags := []string{"-4", "-E"}
		theirs := startClient(t, "client of ptp4l", flags, ptp4lGM(t, flags))
		ours := startClient(t, "client of roko-ptpd", flags, rokoGM(t, flags))
		conv := watchClients(t, measureFor(), theirs, ours)
		checkClient(t, theirs, conv[0])
		checkClient(t, ours, conv[1])
		assert.LessOrEqual(t, conv[1].rms, conv[0].rms+rmsMargin,
			"true error RMS under our grandmaster %v, under ptp4l's %v (same instants): more than %v worse", conv[1].rms, conv[0].rms, rmsMargin)
	})
}

// offsetMargin is how much larger ptp4l's offset from our grandmaster may
// be than a twin ptp4l's offset from a ptp4l grandmaster beside it.
const offsetMargin = 5 * time.Microsecond

// TestPTP4LClientOfOurs: our grandmaster, a ptp4l client running free.
// Its pmc must show our clock as grandmaster and its port following it,
// and Wireshark's dissector must find nothing malformed in anything we
// sent. Its measured offset from us (median of |master_offset| over the
// last 4 of 8 s) may exceed by offsetMargin only what a twin ptp4l client
// measures, at the same instants, from a ptp4l grandmaster in namespaces
// of their own beside it: software timestamps through veth carry this
// machine's scheduling noise, whatever its load.
func TestPTP4LClientOfOurs(t *testing.T) {
	testenv.RequireCommand(t, "pmc", "linuxptp")
	tcpdump := testenv.RequireCommand(t, "tcpdump", "tcpdump")
	tshark := testenv.RequireCommand(t, "tshark", "tshark")
	for _, flag := range []string{"-4", "-2"} {
		t.Run(flag, func(t *testing.T) {
			la, lb := pair(t)
			pcap, stopCapture := capture(t, tcpdump, lb, la)

			gmClock, err := phc.NewVirtual(phc.VirtualConfig{Name: "gm"})
			require.NoError(t, err)
			gm, _ := startDaemon(t, la, gmClock, "--priority1=1", "--serverOnly=1", "--domainNumber=24", flag)
			var gmID string
			require.True(t, gm.Do(context.Background(), func(e *engine.Clock) { gmID = e.DefaultDS().ClockIdentity.String() }))
			theirGM, theirLink := pair(t)
			linuxptp.StartPTP4L(t, theirGM, linuxptp.Options{Flags: []string{flag}, Domain: 24, Config: "masterOnly 1\npriority1 1\n"})

			client := func(l netns.Link) *linuxptp.PTP4L {
				return linuxptp.StartPTP4L(t, l, linuxptp.Options{Flags: []string{flag}, Domain: 24, Config: "slaveOnly 1\n"})
			}
			ours, twin := client(lb), client(theirLink)
			re := regexp.MustCompile(`master_offset\s+(-?\d+)`)
			var offsets [2][]float64
			var status string
			for end := time.Now().Add(8 * time.Second); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
				for i, p := range []*linuxptp.PTP4L{ours, twin} {
					cmds := []string{"GET TIME_STATUS_NP"}
					if p == ours {
						cmds = append(cmds, "GET PARENT_DATA_SET", "GET PORT_DATA_SET")
					}
					out, err := p.PMC(t, cmds...)
					if err != nil {
						continue
					}
					if p == ours {
						status = out
					}
					if m := re.FindStringSubmatch(out); m != nil {
						if v, _ := strconv.ParseFloat(m[1], 64); v != 0 {
							offsets[i] = append(offsets[i], math.Abs(v))
						}
					}
				}
			}
			assert.Regexp(t, regexp.MustCompile(`grandmasterIdentity\s+`+regexp.QuoteMeta(gmID)), status, "pmc shows our grandmaster")
			assert.Regexp(t, regexp.MustCompile(`portState\s+(SLAVE|UNCALIBRATED)`), status, "its port follows us")
			var median [2]float64
			for i, o := range offsets {
				require.GreaterOrEqual(t, len(o), 8, "ptp4l measured offsets from %s", []string{"ours", "ptp4l's"}[i])
				tail := o[len(o)/2:]
				slices.Sort(tail)
				median[i] = tail[len(tail)/2]
			}
			t.Logf("ptp4l (%s) offset: from our grandmaster, median %.0f ns over %d readings; from ptp4l's beside it, %.0f ns over %d",
				flag, median[0], len(offsets[0])-len(offsets[0])/2, median[1], len(offsets[1])-len(offsets[1])/2)
			assert.LessOrEqual(t, median[0], median[1]+float64(offsetMargin),
				"ptp4l's offset from our grandmaster more than %v above its offset from ptp4l's", offsetMargin)
			assert.Contains(t, ours.Output(), "UNCALIBRATED on RS_SLAVE")

			stopCapture()
			b, err := exec.Command(tshark, "-n", "-r", pcap, "-Y", "ptp").Output()
			require.NoError(t, err)
			lines := strings.Count(string(b), "\n")
			require.Greater(t, lines, 50, "our packets were captured")
			bad, err := exec.Command(tshark, "-n", "-r", pcap, "-Y", "_ws.malformed || _ws.expert.severity >= warning").Output()
			require.NoError(t, err)
			assert.Empty(t, strings.TrimSpace(string(bad)), "tshark warnings on our packets")
		})
	}
}

// capture records with tcpdump, on link l, what its peer sends, into a
// pcap in the test's directory. stop ends it and waits until the file is
// complete; it is also called when the test ends.
func capture(t *testing.T, tcpdump string, l, peer netns.Link) (pcap string, stop func()) {
	t.Helper()
	pcap = filepath.Join(t.TempDir(), "capture.pcap")
	ctx, cancel := context.WithCancel(context.Background())
	c := l.NS.Command(tcpdump, "-i", l.Name, "-U", "-w", pcap, "ether", "src", macOf(t, peer))
	dump := exec.CommandContext(ctx, c.Path, c.Args[1:]...)
	require.NoError(t, dump.Start())
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); _ = dump.Wait() }) }
	t.Cleanup(stop)
	time.Sleep(300 * time.Millisecond) // let tcpdump attach
	return pcap, stop
}

// macOf returns the MAC address of a link, from inside its namespace.
func macOf(t *testing.T, l netns.Link) string {
	t.Helper()
	var mac string
	require.NoError(t, l.NS.Do(func() error {
		ifi, err := net.InterfaceByName(l.Name)
		if err != nil {
			return err
		}
		mac = ifi.HardwareAddr.String()
		return nil
	}))
	return mac
}

// TestMixedBMCA: a linuxptp and a roko-ptpd grandmaster (priority1 2 and
// 1) and a client of each kind, all on one bridge. Both clients follow our
// grandmaster; when it stops, both move to ptp4l's within the announce
// timeout plus 2 s; when it comes back, both return to it.
func TestMixedBMCA(t *testing.T) {
	testenv.Short(t)
	sw := netns.New(t)
	var hosts, ports []netns.Link
	for i := range 4 {
		h, p := netns.Veth(t, netns.New(t), "198.18.0."+strconv.Itoa(i+1), sw, "")
		hosts, ports = append(hosts, h), append(ports, p)
	}
	netns.Bridge(t, sw, ports...)
	common := []string{"--domainNumber=24", "-4"}

	linuxptp.StartPTP4L(t, hosts[0], linuxptp.Options{Flags: []string{"-4"}, Domain: 24, Config: "masterOnly 1\npriority1 2\n"})
	ourGMClock, err := phc.NewVirtual(phc.VirtualConfig{Name: "gm"})
	require.NoError(t, err)
	gmArgs := append([]string{"--priority1=1", "--serverOnly=1"}, common...)
	ourGM, _, stopOurGM := startStoppable(t, hosts[1], ourGMClock, gmArgs...)
	var ourID string
	require.True(t, ourGM.Do(context.Background(), func(e *engine.Clock) { ourID = e.DefaultDS().ClockIdentity.String() }))

	theirClient := linuxptp.StartPTP4L(t, hosts[2], linuxptp.Options{Flags: []string{"-4"}, Domain: 24, Config: "slaveOnly 1\n"})
	clClock, err := phc.NewVirtual(phc.VirtualConfig{Name: "client"})
	require.NoError(t, err)
	ourClient, _ := startDaemon(t, hosts[3], clClock, append([]string{"-s"}, common...)...)

	gmRe := regexp.MustCompile(`grandmasterIdentity\s+(\S+)`)
	theirView := func() string {
		out, err := theirClient.PMC(t, "GET PARENT_DATA_SET")
		if err != nil {
			return ""
		}
		if m := gmRe.FindStringSubmatch(out); m != nil {
			return string(m[1])
		}
		return ""
	}
	ourView := func() string {
		var id string
		ourClient.Do(context.Background(), func(e *engine.Clock) { id = e.ParentDS().GrandmasterIdentity.String() })
		return id
	}
	// agree waits until both clients name the same grandmaster, other than
	// not (and want, when given), and returns it with how long that took.
	agree := func(not, want string, within time.Duration) (string, time.Duration) {
		start := time.Now()
		for time.Since(start) < within {
			a, b := theirView(), ourView()
			if a != "" && a == b && a != not && (want == "" || a == want) {
				return a, time.Since(start)
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("clients disagree after %v: ptp4l's follows %q, ours %q", within, theirView(), ourView())
		return "", 0
	}
	// On a busy host the clients may agree on ptp4l's grandmaster for a
	// moment, before ours is heard: wait for the BMCA's answer.
	first, _ := agree("", ourID, 10*time.Second)
	assert.Equal(t, ourID, first, "both follow the better grandmaster, ours")

	stopOurGM()
	// announceReceiptTimeout 3 × 250 ms, + 2 s.
	second, took := agree(ourID, "", 2750*time.Millisecond)
	t.Logf("both clients moved to ptp4l's grandmaster %s %v after ours stopped", second, took.Round(time.Millisecond))

	startDaemon(t, hosts[1], ourGMClock, gmArgs...)
	third, took := agree(second, ourID, 10*time.Second)
	assert.Equal(t, ourID, third, "and back when ours returns")
	t.Logf("both clients returned to ours %v after it restarted", took.Round(time.Millisecond))
}

// TestBusyLoop: two daemons' event loops at 128 Hz Sync in one process
// keep a client converging, wake one thread each time (the runtime's
// sysmon stays asleep: nothing on a wake-up is a system call through
// syscall.Syscall, transport.Poller), answer management on their UNIX
// socket promptly, and stop at once when asked.
func TestBusyLoop(t *testing.T) {
	la, lb := pair(t)
	gmClock, err := phc.NewVirtual(phc.VirtualConfig{Name: "gm"})
	require.NoError(t, err)
	gm, _, stopGM := startStoppable(t, la, gmClock, "--priority1=1", "--serverOnly=1", "--logSyncInterval=-7", "--logMinDelayReqInterval=-6")
	clClock, err := phc.NewVirtual(phc.VirtualConfig{Name: "client", Offset: 37 * time.Millisecond, FrequencyError: 40_000})
	require.NoError(t, err)
	cl, _, _ := startStoppable(t, lb, clClock, "-s")
	c := watchClient(t, cl, clClock, 3*time.Second)
	t.Logf("SLAVE and under 100 µs after %v; true error RMS %v, worst %v", c.settled.Round(time.Millisecond), c.rms, c.worst)
	assert.Less(t, c.worst, 100*time.Microsecond)

	// Over a second of the loops alone: the test's goroutine sleeps.
	wakes := gm.wakeups.Load() + cl.wakeups.Load()
	sleeps := testenv.ThreadSleeps(t)
	time.Sleep(time.Second)
	wakes = gm.wakeups.Load() + cl.wakeups.Load() - wakes
	sleeps = testenv.ThreadSleeps(t) - sleeps
	t.Logf("%d loop wake-ups, %d thread sleeps", wakes, sleeps)
	// About 570 a second on an idle host (the grandmaster's 128 Syncs and
	// 64 Delay_Req, the client's 256 Sync and Follow_Up, 64 Delay_Req
	// and Delay_Resp); a host busy enough to starve the loops batches
	// some (378 seen beside a full test suite), so the bound is the
	// grandmaster's Sync timer and the client's Syncs alone.
	assert.Greater(t, wakes, int64(256), "128 Hz Sync and 64 Hz Delay_Req wake the loops")
	assert.Less(t, sleeps, wakes, "more than one thread woke per wake-up")

	// Management answers promptly beside 128 Hz.
	mc, err := mgmt.Dial(gm.uds[0].sock.Path(), 0)
	require.NoError(t, err)
	defer mc.Close()
	// Get waits 20 ms for more answers after the first; the rest is
	// the daemon's.
	mc.Timeout = 250 * time.Millisecond
	var took []time.Duration
	for range 20 {
		start := time.Now()
		_, err := mc.Current()
		require.NoError(t, err)
		took = append(took, time.Since(start)-20*time.Millisecond)
		time.Sleep(37 * time.Millisecond)
	}
	slices.Sort(took)
	t.Logf("GET CURRENT_DATA_SET answered in %v (median), %v (slowest of 20)", took[10], took[19])
	assert.Less(t, took[19], 50*time.Millisecond)

	start := time.Now()
	stopGM()
	assert.Less(t, time.Since(start), time.Second, "the loop stops when asked")
}
