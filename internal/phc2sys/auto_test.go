package phc2sys

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/linuxptp"
	"github.com/roko-network/roko-ptpd/internal/mgmt"
	"github.com/roko-network/roko-ptpd/internal/netns"
	"github.com/roko-network/roko-ptpd/internal/ptpd"
	"github.com/roko-network/roko-ptpd/internal/ptplog"
	"github.com/roko-network/roko-ptpd/internal/testenv"
	"github.com/roko-network/roko-ptpd/phc"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/config"
	"github.com/roko-network/roko-ptpd/servo"
)

// logLines collects log lines safely across goroutines.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logf(_ int, format string, args ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
	l.mu.Unlock()
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// TestAutoPlan: -a picks its source and targets from the port states by
// linuxptp's rules, with its log lines.
func TestAutoPlan(t *testing.T) {
	const (
		S = ptp.PortStateSlave
		M = ptp.PortStateMaster
		U = ptp.PortStateUncalibrated
		L = ptp.PortStateListening
		I = ptp.PortStateInitializing
	)
	for _, tc := range []struct {
		name   string
		states []ptp.PortState
		rt     int // -r count
		src    string
		dsts   []string
		log    string
	}{
		{"slave and master: boundary clock", []ptp.PortState{S, M}, 0, "eth0", []string{"eth1"}, "selecting eth0 as the master clock"},
		{"slave with -r", []ptp.PortState{S}, 1, "eth0", []string{"CLOCK_REALTIME"}, "selecting CLOCK_REALTIME for synchronization"},
		{"slave alone", []ptp.PortState{S}, 0, "", nil, "nothing to synchronize"},
		{"grandmaster without -rr", []ptp.PortState{M}, 1, "", nil, "nothing to synchronize"},
		{"grandmaster with -rr", []ptp.PortState{M}, 2, "CLOCK_REALTIME", []string{"eth0"}, "selecting CLOCK_REALTIME as the master clock"},
		{"listening with -rr", []ptp.PortState{L, L}, 2, "CLOCK_REALTIME", []string{"eth0", "eth1"}, "selecting eth1 for synchronization"},
		{"uncalibrated holds back", []ptp.PortState{U, M}, 1, "", nil, "master clock not ready, waiting..."},
		{"two slaves", []ptp.PortState{S, S}, 0, "", nil, "multiple master clocks available, postponing sync..."},
		{"no port ready", []ptp.PortState{I}, 2, "", nil, "no PHC ready, waiting..."},
		{"masters without a source", []ptp.PortState{M, M, M}, 0, "eth2", []string{"eth0", "eth1"}, "no source, selecting eth2 as the default clock"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log logLines
			rt, err := phc.NewVirtual(phc.VirtualConfig{Name: "rt"})
			require.NoError(t, err)
			a := &Auto{Realtime: rt, RealtimeTarget: tc.rt >= 1, RealtimeSource: tc.rt >= 2, Logf: log.logf,
				Resolve: func(p AutoPort) (phc.Clock, error) { return phc.NewVirtual(phc.VirtualConfig{Name: p.Interface}) }}
			a.clocks, a.names = map[uint16]phc.Clock{}, map[phc.Clock]string{rt: "CLOCK_REALTIME"}
			var ports []AutoPort
			for i, st := range tc.states {
				ports = append(ports, AutoPort{Number: uint16(i + 1), Interface: fmt.Sprintf("eth%d", i), State: st})
			}
			require.NoError(t, a.setPorts(ports))
			src, dsts := a.plan()
			var names []string
			for _, d := range dsts {
				names = append(names, a.names[d])
			}
			assert.Equal(t, tc.src, a.names[src], "source")
			assert.ElementsMatch(t, tc.dsts, names, "targets")
			assert.Contains(t, log.String(), tc.log)
		})
	}

	// Two ports on one PHC: the clock is steered once.
	var log logLines
	shared, err := phc.NewVirtual(phc.VirtualConfig{Name: "ptp0"})
	require.NoError(t, err)
	up, err := phc.NewVirtual(phc.VirtualConfig{Name: "ptp1"})
	require.NoError(t, err)
	a := &Auto{Logf: log.logf, Resolve: func(p AutoPort) (phc.Clock, error) {
		if p.Interface == "eth0" {
			return up, nil
		}
		return shared, nil
	}}
	a.clocks, a.names = map[uint16]phc.Clock{}, map[phc.Clock]string{}
	require.NoError(t, a.setPorts([]AutoPort{{1, "eth0", S, ptp.TimestampingHardware}, {2, "eth1", M, ptp.TimestampingHardware}, {3, "eth2", M, ptp.TimestampingHardware}}))
	src, dsts := a.plan()
	assert.Equal(t, phc.Clock(up), src)
	assert.Equal(t, []phc.Clock{shared}, dsts)
	assert.Contains(t, log.String(), "skipping eth2: eth1 has the same clock and is already selected")
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// daemon is a roko-ptpd running in-process in a namespace.
type daemon struct {
	d    *ptpd.Daemon
	set  *config.Settings
	uds  string
	stop func()
	out  *logLines
}

// startPtpd runs roko-ptpd on link with a virtual clock until stop or the
// end of the test. It uses the linreg servo: the PI servo with software
// timestamps waits, as linuxptp's does, 0.016/ki (48 s at 16 Hz) before
// its first frequency estimate.
func startPtpd(t *testing.T, link netns.Link, clk phc.Clock, args ...string) *daemon {
	t.Helper()
	return startPtpdAt(t, link, clk, filepath.Join(t.TempDir(), "ptp4l"), args...)
}

// startPtpdAt is startPtpd with the UNIX socket at uds.
func startPtpdAt(t *testing.T, link netns.Link, clk phc.Clock, uds string, args ...string) *daemon {
	t.Helper()
	cmd, err := ptpd.ParseArgs(append([]string{"-i", link.Name, "-S", "-q", "--uds_address=" + uds, "--uds_ro_address=" + uds + "ro",
		"--logAnnounceInterval=-2", "--announceReceiptTimeout=3", "--logSyncInterval=-4", "--logMinDelayReqInterval=-4", "--clock_servo=linreg"}, args...))
	require.NoError(t, err)
	set, err := cmd.Config.Resolve()
	require.NoError(t, err)
	var d *ptpd.Daemon
	out := &logLines{}
	w := writerFunc(func(b []byte) (int, error) { out.logf(0, "%s", strings.TrimRight(string(b), "\n")); return len(b), nil })
	require.NoError(t, link.NS.Do(func() error {
		var err error
		d, err = ptpd.New(ptpd.Options{Settings: set, Log: ptplog.New("roko-ptpd", 6, "", w, w), Clock: clk})
		return err
	}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = d.Run(ctx) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done; d.Close() }) }
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("roko-ptpd on %s:\n%s", link.Name, out.String())
		}
	})
	waitForFile(t, uds)
	return &daemon{d: d, set: set, uds: uds, stop: stop, out: out}
}

func waitForFile(t *testing.T, path string) {
	t.Helper()
	for range 100 {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s did not appear", path)
}

// autoRun runs an Auto with -rr against the daemon at uds, the port's
// clock resolved to port and CLOCK_REALTIME played by a virtual clock,
// and records which clock was the target of each update.
type autoRun struct {
	a       *Auto
	log     logLines
	mu      sync.Mutex
	targets []string
	last    map[string]Sample
}

func startAuto(t *testing.T, uds string, port, realtime phc.Clock, setup func(*Auto)) *autoRun {
	t.Helper()
	c, err := mgmt.Dial(uds, 0)
	require.NoError(t, err)
	r := &autoRun{last: map[string]Sample{}}
	r.a = &Auto{Client: c, Realtime: realtime, RealtimeSource: true, Readings: 5, Logf: r.log.logf,
		Resolve: func(AutoPort) (phc.Clock, error) { return port, nil },
		NewServo: func(target phc.Clock) (servo.Servo, error) {
			f, err := target.Frequency()
			if err != nil {
				return nil, err
			}
			cfg := servo.DefaultConfig()
			cfg.MaxFrequency = target.MaxFrequency()
			s, err := servo.New(servo.KindPI, cfg, f)
			if err == nil {
				s.SetSyncInterval(1.0 / 32)
			}
			return s, err
		},
		OnUpdate: func(target string, s Sample) {
			r.mu.Lock()
			if n := len(r.targets); n == 0 || r.targets[n-1] != target {
				r.targets = append(r.targets, target)
			}
			r.last[target] = s
			r.mu.Unlock()
		}}
	if setup != nil {
		setup(r.a)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); assert.NoError(t, r.a.Run(ctx, 32)) }()
	t.Cleanup(func() {
		cancel()
		<-done
		r.a.Client.Close() // Run may have replaced c
		if t.Failed() {
			t.Logf("roko-phc2sys -a log:\n%s", r.log.String())
		}
	})
	return r
}

// waitTarget waits until the updates go to target and its offset is
// within tol, and returns how long that took.
func (r *autoRun) waitTarget(t *testing.T, target string, tol int64, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < within {
		r.mu.Lock()
		n := len(r.targets)
		cur := n > 0 && r.targets[n-1] == target
		s := r.last[target]
		r.mu.Unlock()
		if cur && s.State >= servo.Locked && s.Offset > -tol && s.Offset < tol {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t.Fatalf("no locked update of %s within %d ns after %v; targets so far %v, last %+v", target, tol, within, r.targets, r.last[target])
	return 0
}

// TestAutoFollowsPortStates: roko-phc2sys -a -rr against roko-ptpd. While
// the port is SLAVE the system clock follows the port's clock; when the
// grandmaster goes away and the port becomes MASTER, the port's clock
// follows the system clock; when the grandmaster returns, the system clock
// follows the port again. The state changes arrive as SUBSCRIBE_EVENTS_NP
// notifications.
func TestAutoFollowsPortStates(t *testing.T) {
	testenv.Short(t)
	gmLink, clLink := netns.Veth(t, netns.New(t), "198.18.0.1", netns.New(t), "198.18.0.2")
	gmClock := func() *phc.Virtual {
		v, err := phc.NewVirtual(phc.VirtualConfig{Name: "gm"})
		require.NoError(t, err)
		return v
	}
	gm := startPtpd(t, gmLink, gmClock(), "--priority1=10")
	port, err := phc.NewVirtual(phc.VirtualConfig{Name: "port", Offset: 2 * time.Millisecond, FrequencyError: 30_000})
	require.NoError(t, err)
	// The client may become MASTER (no -s) but loses to the grandmaster.
	client := startPtpd(t, clLink, port, "--priority1=200", "--slaveOnly=0")
	realtime, err := phc.NewVirtual(phc.VirtualConfig{Name: "realtime", Offset: -3 * time.Millisecond, FrequencyError: -20_000})
	require.NoError(t, err)
	r := startAuto(t, client.uds, port, realtime, nil)

	took := r.waitTarget(t, "CLOCK_REALTIME", 20_000, 20*time.Second)
	t.Logf("SLAVE: CLOCK_REALTIME locked on %s after %v", clLink.Name, took)

	gm.stop()
	took = r.waitTarget(t, clLink.Name, 20_000, 20*time.Second)
	t.Logf("MASTER: %s locked on CLOCK_REALTIME %v after the grandmaster stopped", clLink.Name, took)

	startPtpd(t, gmLink, gmClock(), "--priority1=10")
	took = r.waitTarget(t, "CLOCK_REALTIME", 20_000, 20*time.Second)
	t.Logf("SLAVE again: CLOCK_REALTIME locked %v after the grandmaster returned", took)

	r.mu.Lock()
	targets := append([]string(nil), r.targets...)
	r.mu.Unlock()
	// The client may be MASTER for a moment before it hears the
	// grandmaster, so the turns are looked for in order, not exactly.
	want := []string{"CLOCK_REALTIME", clLink.Name, "CLOCK_REALTIME"}
	i := 0
	for _, tg := range targets {
		if i < len(want) && tg == want[i] {
			i++
		}
	}
	assert.Equal(t, len(want), i, "the targets %v took turns as %v", targets, want)
	assert.GreaterOrEqual(t, r.a.Notified(), int64(2), "state changes came as notifications")
	log := r.log.String()
	assert.Contains(t, log, "selecting "+clLink.Name+" as the master clock")
	assert.Contains(t, log, "selecting CLOCK_REALTIME as the master clock")
}

// TestAutoAgainstPTP4L: roko-phc2sys -a -rr against linuxptp's ptp4l, a
// lone grandmaster: the port is a target from LISTENING on, its clock
// follows the system clock, and ptp4l's notification of MASTER arrives.
func TestAutoAgainstPTP4L(t *testing.T) {
	testenv.Short(t)
	link, _ := netns.Veth(t, netns.New(t), "198.18.0.1", netns.New(t), "198.18.0.2")
	uds := linuxptp.StartPTP4L(t, link, linuxptp.Options{Flags: []string{"-4"}, Config: "logAnnounceInterval -1\n"}).UDS

	port, err := phc.NewVirtual(phc.VirtualConfig{Name: "port", Offset: 2 * time.Millisecond, FrequencyError: 30_000})
	require.NoError(t, err)
	realtime, err := phc.NewVirtual(phc.VirtualConfig{Name: "realtime"})
	require.NoError(t, err)
	r := startAuto(t, uds, port, realtime, nil)
	took := r.waitTarget(t, link.Name, 20_000, 20*time.Second)
	t.Logf("%s locked on CLOCK_REALTIME after %v", link.Name, took)
	deadline := time.Now().Add(10 * time.Second)
	for r.a.Notified() == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	assert.Equal(t, int64(1), r.a.Notified(), "ptp4l's LISTENING→MASTER notification")
	e1, err := port.TrueError()
	require.NoError(t, err)
	e2, err := realtime.TrueError()
	require.NoError(t, err)
	assert.InDelta(t, 0, float64(e1-e2), 20_000, "the port's clock follows the system clock (true errors %v and %v)", e1, e2)
}

// TestAutoRedials: -a makes its first connection with Redial and, when the
// daemon restarts, connects again (its old socket only fails) and follows
// the new daemon's port states.
func TestAutoRedials(t *testing.T) {
	testenv.Short(t)
	link, _ := netns.Veth(t, netns.New(t), "198.18.0.1", netns.New(t), "198.18.0.2")
	uds := filepath.Join(t.TempDir(), "ptp4l")
	port, err := phc.NewVirtual(phc.VirtualConfig{Name: "port"})
	require.NoError(t, err)
	first := startPtpdAt(t, link, port, uds)
	realtime, err := phc.NewVirtual(phc.VirtualConfig{Name: "realtime"})
	require.NoError(t, err)
	r := startAuto(t, uds, port, realtime, func(a *Auto) {
		// No client to start with, as roko-phc2sys runs it: Redial
		// makes the first connection too.
		a.Client.Close()
		a.Client = nil
		a.RenewEvery = time.Second
		a.Redial = func() (*mgmt.Client, error) { return mgmt.Dial(uds, 0) }
	})
	waitNotified := func(n int64) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for r.a.Notified() < n {
			require.True(t, time.Now().Before(deadline), "%d notifications, want %d", r.a.Notified(), n)
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitNotified(1) // LISTENING → MASTER
	first.stop()
	startPtpdAt(t, link, port, uds)
	// The new daemon: -a notices at its next renewal, re-dials, reads the
	// port (LISTENING) and hears of MASTER.
	waitNotified(2)
	assert.Contains(t, r.log.String(), "re-dialled its UNIX socket")
}
