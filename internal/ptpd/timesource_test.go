package ptpd

import (
	"bytes"
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/gpsemu"
	"github.com/roko-network/roko-ptpd/internal/mgmt"
	"github.com/roko-network/roko-ptpd/internal/monitor"
	"github.com/roko-network/roko-ptpd/internal/ptplog"
	"github.com/roko-network/roko-ptpd/internal/testenv"
	"github.com/roko-network/roko-ptpd/phc"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/engine"
	"github.com/roko-network/roko-ptpd/transport"
)

// pulser puts a pulse on an emulated PHC's EXTTS input at every whole
// second of CLOCK_REALTIME (as the emulation computes it), while on.
type pulser struct {
	on   atomic.Bool
	stop chan struct{}
	done chan struct{}
}

func startPulser(t *testing.T, emu *phc.Emulated) *pulser {
	t.Helper()
	p := &pulser{stop: make(chan struct{}), done: make(chan struct{})}
	p.on.Store(true)
	go func() {
		defer close(p.done)
		for {
			next := time.Now().Truncate(time.Second).Add(time.Second)
			select {
			case <-p.stop:
				return
			case <-time.After(time.Until(next) + 5*time.Millisecond):
			}
			if p.on.Load() {
				_, err := emu.InjectEdge(0, phc.RisingEdge, next.UnixNano())
				assert.NoError(t, err)
			}
		}
	}()
	t.Cleanup(func() { close(p.stop); <-p.done })
	return p
}

// startGM runs a grandmaster daemon on seg whose clock is the emulated
// PHC at path, stamping its messages on that PHC.
func startGM(t *testing.T, seg *transport.Segment, path string, args ...string) (*Daemon, *testenv.Buffer, string) {
	t.Helper()
	emu, err := phc.OpenEmulated(path)
	require.NoError(t, err)
	t.Cleanup(func() { emu.Close() })
	dev, err := phc.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { dev.Close() })
	dir := t.TempDir()
	cmd, err := ParseArgs(append(append([]string{"-i", "gm0", "-m", "-H", "--uds_address=" + filepath.Join(dir, "ptp4l"), "--uds_ro_address=" + filepath.Join(dir, "ptp4lro")}, fast...), args...))
	require.NoError(t, err)
	set, err := cmd.Config.Resolve()
	require.NoError(t, err)
	m, err := seg.Join(transport.MemberConfig{Name: "gm0", Clock: func() int64 {
		var ts int64
		if v, err := emu.FromRealtime(time.Now().UnixNano()); err == nil {
			ts = v
		}
		return ts
	}})
	require.NoError(t, err)
	out := &testenv.Buffer{}
	d, err := New(Options{Settings: set, Log: ptplog.New("roko-ptpd", 6, "", out, out), Clock: dev, Ports: []transport.Endpoint{m}})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); assert.NoError(t, d.Run(ctx)) }()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		d.Close()
		if t.Failed() {
			t.Logf("grandmaster log:\n%s", out.String())
		}
	})
	return d, out, filepath.Join(dir, "ptp4l")
}

// announced is the quality the daemon's clock announces now.
func announced(t *testing.T, d *Daemon) (ptp.ClockQuality, ptp.TimePropertiesDataSet) {
	t.Helper()
	var q ptp.ClockQuality
	var tp ptp.TimePropertiesDataSet
	require.True(t, d.Do(context.Background(), func(e *engine.Clock) { q, tp = e.DefaultDS().ClockQuality, e.TimePropertiesDS() }))
	return q, tp
}

// waitClass waits up to limit for the daemon to announce class.
func waitClass(t *testing.T, d *Daemon, class uint8, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		q, _ := announced(t, d)
		if q.ClockClass == class {
			return time.Since(start)
		}
		require.Less(t, time.Since(start), limit, "still clockClass %d, want %d", q.ClockClass, class)
		time.Sleep(50 * time.Millisecond)
	}
}

// TestGrandmasterEXTTS: a grandmaster whose emulated PHC starts 0.3 s and
// 50 ppm off takes a pulse per second on its EXTTS input, with the system
// clock's seconds as the time of day (ts2phc's generic source). It
// announces clockClass 248 until the source qualifies and the PHC has
// converged, then 6 with GNSS as timeSource and the PHC on TAI; a client
// on the segment sees that quality. Without pulses it falls to holdover
// (7) at once and to 248 when holdover ends; pulses back, it locks again
// after qualification.
func TestGrandmasterEXTTS(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ptp0")
	cfg := phc.DefaultEmulatedConfig()
	cfg.Offset, cfg.FrequencyError = 300*time.Millisecond, 50_000
	emu, err := phc.CreateEmulated(path, cfg)
	require.NoError(t, err)
	defer emu.Close()
	pulses := startPulser(t, emu)

	seg := transport.NewSegment()
	gm, log, uds := startGM(t, seg, path, "--priority1=1", "--serverOnly=1", "--pps_input=extts",
		"--time_source_qualification=2", "--ts2phc.holdover=3", "--clockClass=6", "--timeSource=0x20")
	q, _ := announced(t, gm)
	assert.Equal(t, uint8(248), q.ClockClass, "configured class 6 is not announced before a lock")

	clClock := virtual(t, "client", 0, 0)
	cl := startOnSegment(t, seg, clClock, false, "-S", "-s")

	took := waitClass(t, gm, 6, 60*time.Second)
	t.Logf("locked after %v", took.Round(100*time.Millisecond))
	q, tp := announced(t, gm)
	assert.Equal(t, ptp.TimeSourceGNSS, tp.TimeSource)
	assert.True(t, ptp.Flags(tp.Flags).Has(ptp.FlagTimeTraceable))
	assert.LessOrEqual(t, q.ClockAccuracy, ptp.AccuracyWithin1us)
	te, err := emu.TrueError()
	require.NoError(t, err)
	tai := time.Duration(tp.CurrentUTCOffset) * time.Second
	t.Logf("PHC true error against GPS time (TAI): %v", te-tai)
	assert.Less(t, (te - tai).Abs(), 2*time.Microsecond, "the PHC keeps TAI")

	// Management: TIME_SOURCE_NP, roko-ptpctl status, and a SET of
	// GRANDMASTER_SETTINGS_NP that would override the source, refused.
	mc, err := mgmt.Dial(uds, 0)
	require.NoError(t, err)
	defer mc.Close()
	np, err := mc.TimeSource()
	require.NoError(t, err)
	assert.Equal(t, ptp.TimeSourceLocked, np.State)
	assert.Equal(t, ptp.PulseInputEXTTS, np.PulseInput)
	assert.EqualValues(t, 6, np.ClockClass)
	assert.Equal(t, ptp.TimeSourceGNSS, np.TimeSource)
	assert.NotZero(t, np.LockTime)
	assert.Greater(t, np.PulsesApplied, uint64(5))
	assert.Zero(t, np.PulsesWrongPhase+np.PulsesOutOfWindow+np.SecondMismatch)
	assert.EqualValues(t, 1, np.Locks)
	gms, err := mc.Get(ptp.MIDGrandmasterSettingsNP)
	require.NoError(t, err)
	require.Len(t, gms, 1)
	var gs ptp.GrandmasterSettingsNP
	require.NoError(t, gms[0].Data(&gs))
	assert.EqualValues(t, 6, gs.ClockQuality.ClockClass, "GRANDMASTER_SETTINGS_NP shows the live quality")
	assert.Equal(t, ptp.TimeSourceGNSS, gs.TimeSource)
	var status bytes.Buffer
	require.NoError(t, monitor.Status(&status, mc, 1, 0))
	t.Logf("roko-ptpctl status:\n%s", status.String())
	assert.Contains(t, status.String(), "GPS (LOCKED")
	_, err = mc.Set(&ptp.GrandmasterSettingsNP{ClockQuality: ptp.ClockQuality{ClockClass: 6}, TimeSource: ptp.TimeSourceGNSS})
	require.Error(t, err, "SET GRANDMASTER_SETTINGS_NP is refused")
	assert.Contains(t, err.Error(), "NOT_SETABLE")

	// The client sees the grandmaster's quality.
	require.Eventually(t, func() bool {
		var p ptp.ParentDataSet
		cl.d.Do(context.Background(), func(e *engine.Clock) { p = e.ParentDS() })
		return p.GrandmasterClockQuality.ClockClass == 6
	}, 5*time.Second, 50*time.Millisecond)

	pulses.on.Store(false)
	hold := waitClass(t, gm, 7, 3*time.Second)
	free := waitClass(t, gm, 248, 6*time.Second)
	t.Logf("pulses stopped: class 7 after %v, 248 %v later", hold.Round(100*time.Millisecond), free.Round(100*time.Millisecond))
	assert.InDelta(t, 3, free.Seconds(), 1, "248 when the 3 s of holdover end")
	pulses.on.Store(true)
	back := waitClass(t, gm, 6, 30*time.Second)
	t.Logf("pulses back: class 6 after %v", back.Round(100*time.Millisecond))
	assert.GreaterOrEqual(t, back, 2*time.Second, "only after qualification")
	assert.Contains(t, log.String(), "timesource: LOCKED -> HOLDOVER: no pulse for")
}

// TestGrandmasterPPSVirtualClock: a kernel PPS source (emulated) that
// disciplines a clock served with software timestamps, the virtual clock
// standing in for CLOCK_REALTIME (which a test must not steer). Its edges
// are stamped on CLOCK_REALTIME and moved onto the virtual clock, which
// keeps UTC: it locks within a microsecond of GPS time (UTC), announcing
// class 6 with the PTP timescale's offset.
func TestGrandmasterPPSVirtualClock(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pps, err := phc.CreateEmulatedPPS(filepath.Join(dir, "pps0"))
	require.NoError(t, err)
	defer pps.Close()
	runReceiver(t, gpsemu.Config{PPS: pps, Jitter: 200 * time.Nanosecond, Seed: 4})

	clk := virtual(t, "gm", 40*time.Millisecond, -25_000)
	seg := transport.NewSegment()
	gm := startOnSegment(t, seg, clk, false, "-S", "--priority1=1", "--serverOnly=1",
		"--pps_input="+filepath.Join(dir, "pps0"), "--time_source_qualification=2")
	took := waitClass(t, gm.d, 6, 60*time.Second)
	te, err := clk.TrueError()
	require.NoError(t, err)
	t.Logf("locked after %v; virtual clock %v from GPS time (UTC)", took.Round(100*time.Millisecond), te)
	assert.Less(t, te.Abs(), time.Microsecond)
	_, tp := announced(t, gm.d)
	assert.EqualValues(t, 37, tp.CurrentUTCOffset)
	assert.True(t, ptp.Flags(tp.Flags).Has(ptp.FlagTimeTraceable))
}

// runReceiver runs an emulated GPS receiver until the test ends.
func runReceiver(t *testing.T, cfg gpsemu.Config) {
	t.Helper()
	rx, err := gpsemu.New(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = rx.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}
