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

// syncBuffer is a concurrency-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startDaemon runs roko-ptpd in the namespace of link with args and a
// virtual clock, until the test ends or stop is called.
func startDaemon(t *testing.T, link netns.Link, clk *phc.Virtual, args ...string) (*Daemon, *syncBuffer) {
	d, out, _ := startStoppable(t, link, clk, args...)
	return d, out
}

func startStoppable(t *testing.T, link netns.Link, clk *phc.Virtual, args ...string) (*Daemon, *syncBuffer, func()) {
	t.Helper()
	dir := t.TempDir()
	base := []string{"-i", link.Name, "-S", "-m", "--uds_address=" + filepath.Join(dir, "ptp4l"), "--uds_ro_address=" + filepath.Join(dir, "ptp4lro")}
	cmd, err := ParseArgs(append(append(base, fast...), args...))
	require.NoError(t, err)
	out := &syncBuffer{}
	opt := Options{Config: cmd.Config, Log: ptplog.New("roko-ptpd", 6, "", out, out), Clock: clk}
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
	start := time.Now()
	for {
		e, err := v.TrueError()
		require.NoError(t, err)
		if state(t, d) == engine.Slave && e.Abs() < 100*time.Microsecond {
			break
		}
		require.Less(t, time.Since(start), 30*time.Second, "no convergence within 30 s: state %v, true error %v", state(t, d), e)
		time.Sleep(100 * time.Millisecond)
	}
	c := convergence{settled: time.Since(start)}
	var sum2 float64
	for end := time.Now().Add(measure); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		e, err := v.TrueError()
		require.NoError(t, err)
		sum2 += float64(e) * float64(e)
		c.worst = max(c.worst, e.Abs())
		c.samples++
	}
	c.rms = time.Duration(math.Sqrt(sum2 / float64(c.samples)))
	return c
}

// measureFor is how long the interop tests watch a converged client; the
// issue asks for 30 s, -short for less.
func measureFor() time.Duration {
	if testing.Short() {
		return 5 * time.Second
	}
	return 30 * time.Second
}

// clientCase runs a client on a virtual clock starting 37 ms ahead and
// 40 ppm fast against whatever grandmaster gm starts, and checks what issue
// 7 asks: SLAVE, one step, true error under 100 µs within 30 s and after.
func clientCase(t *testing.T, transportFlags []string, gm func(la netns.Link)) {
	la, lb := pair(t)
	gm(la)
	clClock, err := phc.NewVirtual(phc.VirtualConfig{Name: "client", Offset: 37 * time.Millisecond, FrequencyError: 40_000})
	require.NoError(t, err)
	cl, log := startDaemon(t, lb, clClock, append([]string{"-s", "--domainNumber=24"}, transportFlags...)...)
	c := watchClient(t, cl, clClock, measureFor())
	t.Logf("%v: SLAVE and under 100 µs after %v; then over %d samples: true error RMS %v, worst %v",
		transportFlags, c.settled.Round(time.Millisecond), c.samples, c.rms, c.worst)
	assert.Less(t, c.worst, 100*time.Microsecond)
	assert.Equal(t, 1, bytes.Count([]byte(log.String()), []byte(" s1 freq ")), "exactly one step")
	assert.Contains(t, log.String(), "UNCALIBRATED to SLAVE on MASTER_CLOCK_SELECTED")
}

// TestInteropClients: a linuxptp ptp4l grandmaster (UDPv4 E2E, L2 E2E,
// L2 P2P) and a roko-ptpd grandmaster, each with a roko-ptpd client on a
// virtual clock, domain 24, software timestamps. The cases run in
// parallel, each in namespaces of its own.
func TestInteropClients(t *testing.T) {
	testenv.Short(t)
	testenv.RequireCommand(t, "ptp4l", "linuxptp")
	for _, tc := range []struct {
		name  string
		flags []string
		ours  bool
	}{
		{"ptp4l-UDPv4-E2E", []string{"-4", "-E"}, false},
		{"ptp4l-L2-E2E", []string{"-2", "-E"}, false},
		{"ptp4l-L2-P2P", []string{"-2", "-P"}, false},
		{"roko-UDPv4-E2E", []string{"-4", "-E"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clientCase(t, tc.flags, func(la netns.Link) {
				if tc.ours {
					gmClock, err := phc.NewVirtual(phc.VirtualConfig{Name: "gm"})
					require.NoError(t, err)
					startDaemon(t, la, gmClock, append([]string{"--priority1=1", "--serverOnly=1", "--domainNumber=24"}, tc.flags...)...)
					return
				}
				linuxptp.StartPTP4L(t, la, linuxptp.Options{Flags: tc.flags, Domain: 24, Config: "masterOnly 1\npriority1 1\n"})
			})
		})
	}
}

// TestPTP4LClientOfOurs: our grandmaster, a ptp4l client running free.
// Its pmc must show our clock as grandmaster and its port following it,
// its measured offset from us must be small, and Wireshark's dissector must
// find nothing malformed in anything we sent.
func TestPTP4LClientOfOurs(t *testing.T) {
	testenv.RequireCommand(t, "pmc", "linuxptp")
	tcpdump := testenv.RequireCommand(t, "tcpdump", "tcpdump")
	tshark := testenv.RequireCommand(t, "tshark", "tshark")
	for _, flag := range []string{"-4", "-2"} {
		t.Run(flag, func(t *testing.T) {
			la, lb := pair(t)
			pcap := filepath.Join(t.TempDir(), "ours.pcap")
			ctx, cancel := context.WithCancel(context.Background())
			c := lb.NS.Command(tcpdump, "-i", lb.Name, "-U", "-w", pcap, "ether", "src", macOf(t, la))
			dump := exec.CommandContext(ctx, c.Path, c.Args[1:]...)
			require.NoError(t, dump.Start())
			defer func() { cancel(); _ = dump.Wait() }()
			time.Sleep(300 * time.Millisecond) // let tcpdump attach

			gmClock, err := phc.NewVirtual(phc.VirtualConfig{Name: "gm"})
			require.NoError(t, err)
			gm, _ := startDaemon(t, la, gmClock, "--priority1=1", "--serverOnly=1", "--domainNumber=24", flag)
			var gmID string
			require.True(t, gm.Do(context.Background(), func(e *engine.Clock) { gmID = e.DefaultDS().ClockIdentity.String() }))

			client := linuxptp.StartPTP4L(t, lb, linuxptp.Options{Flags: []string{flag}, Domain: 24, Config: "slaveOnly 1\n"})
			re := regexp.MustCompile(`master_offset\s+(-?\d+)`)
			var offsets []float64
			var status string
			for end := time.Now().Add(8 * time.Second); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
				out, err := client.PMC(t, "GET TIME_STATUS_NP", "GET PARENT_DATA_SET", "GET PORT_DATA_SET")
				if err != nil {
					continue
				}
				status = out
				if m := re.FindStringSubmatch(status); m != nil {
					if v, _ := strconv.ParseFloat(m[1], 64); v != 0 {
						offsets = append(offsets, math.Abs(v))
					}
				}
			}
			assert.Regexp(t, regexp.MustCompile(`grandmasterIdentity\s+`+regexp.QuoteMeta(gmID)), status, "pmc shows our grandmaster")
			assert.Regexp(t, regexp.MustCompile(`portState\s+(SLAVE|UNCALIBRATED)`), status, "its port follows us")
			require.GreaterOrEqual(t, len(offsets), 8, "ptp4l measured offsets from us")
			tail := offsets[len(offsets)/2:]
			slices.Sort(tail)
			t.Logf("ptp4l (%s) offset from our grandmaster: median %v ns over %d readings", flag, tail[len(tail)/2], len(tail))
			assert.Less(t, tail[len(tail)/2], 20_000.0)
			assert.Contains(t, client.Output(), "UNCALIBRATED on RS_SLAVE")

			cancel()
			_ = dump.Wait()
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
	// not, and returns it with how long that took.
	agree := func(not string, within time.Duration) (string, time.Duration) {
		start := time.Now()
		for time.Since(start) < within {
			a, b := theirView(), ourView()
			if a != "" && a == b && a != not {
				return a, time.Since(start)
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("clients disagree after %v: ptp4l's follows %q, ours %q", within, theirView(), ourView())
		return "", 0
	}
	first, _ := agree("", 10*time.Second)
	assert.Equal(t, ourID, first, "both follow the better grandmaster, ours")

	stopOurGM()
	// announceReceiptTimeout 3 × 250 ms, + 2 s.
	second, took := agree(ourID, 2750*time.Millisecond)
	t.Logf("both clients moved to ptp4l's grandmaster %s %v after ours stopped", second, took.Round(time.Millisecond))

	startDaemon(t, hosts[1], ourGMClock, gmArgs...)
	third, took := agree(second, 10*time.Second)
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
	assert.Greater(t, wakes, int64(400), "128 Hz Sync and 64 Hz Delay_Req wake the loops")
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
