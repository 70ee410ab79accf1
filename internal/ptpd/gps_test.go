package ptpd

import (
	"io"
	"math"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/gpsemu"
	"github.com/roko-network/roko-ptpd/internal/linuxptp"
	"github.com/roko-network/roko-ptpd/internal/netns"
	"github.com/roko-network/roko-ptpd/internal/testenv"
	"github.com/roko-network/roko-ptpd/phc"
)

var (
	pmcClass    = regexp.MustCompile(`gm\.ClockClass\s+(\d+)`)
	pmcAccuracy = regexp.MustCompile(`gm\.ClockAccuracy\s+0x([0-9a-fA-F]+)`)
	pmcSource   = regexp.MustCompile(`timeSource\s+0x([0-9a-fA-F]+)`)
	pmcOffset   = regexp.MustCompile(`currentUtcOffset\s+(\d+)`)
	pmcValid    = regexp.MustCompile(`currentUtcOffsetValid\s+(\d)`)
)

// theirView is what a ptp4l client's pmc says of its grandmaster.
type theirView struct {
	class, accuracy, source int
	utcOffset               int
	utcValid                bool
}

func view(t *testing.T, p *linuxptp.PTP4L) (theirView, bool) {
	out, err := p.PMC(t, "GET PARENT_DATA_SET", "GET TIME_PROPERTIES_DATA_SET")
	if err != nil {
		return theirView{}, false
	}
	num := func(re *regexp.Regexp, base int) (int, bool) {
		m := re.FindStringSubmatch(out)
		if m == nil {
			return 0, false
		}
		v, err := strconv.ParseInt(m[1], base, 32)
		return int(v), err == nil
	}
	var v theirView
	var ok [5]bool
	v.class, ok[0] = num(pmcClass, 10)
	v.accuracy, ok[1] = num(pmcAccuracy, 16)
	v.source, ok[2] = num(pmcSource, 16)
	v.utcOffset, ok[3] = num(pmcOffset, 10)
	valid, ok4 := num(pmcValid, 10)
	v.utcValid, ok[4] = valid == 1, ok4
	return v, ok == [5]bool{true, true, true, true, true}
}

// waitTheirClass waits for the ptp4l client to see class, and says how
// long it took.
func waitTheirClass(t *testing.T, p *linuxptp.PTP4L, class int, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if v, ok := view(t, p); ok && v.class == class {
			return time.Since(start)
		}
		require.Less(t, time.Since(start), limit, "the ptp4l client does not see clockClass %d", class)
		time.Sleep(200 * time.Millisecond)
	}
}

// TestGPSGrandmaster: the acceptance in namespaces. A roko-ptpd
// grandmaster on emulated hardware (PHC 0.3 s and 50 ppm off) takes an
// emulated GPS receiver's pulse (20 ns jitter) on its EXTTS input and its
// NMEA on a pty; a ptp4l client (free_running 1) and a roko-ptpd client
// on a virtual clock follow it. The ptp4l client's pmc sees clockClass 6,
// timeSource 0x20 and the measured accuracy; the grandmaster's metrics
// have its time source LOCKED with a fix and applied pulses; its PHC is
// within 50 ns RMS of GPS time; the roko client's true error is reported.
// The pulse removed: 6 → 7 within 2 s, → the free-run class after the
// holdover ± 1 s; back: 6 after qualification. Run with the default
// profile's classes and with G.8275.1's.
func TestGPSGrandmaster(t *testing.T) {
	testenv.Short(t)
	testenv.RequireRoot(t)
	for _, tc := range []struct {
		name    string
		args    []string
		freeRun int
	}{
		{"default profile", nil, 248},
		{"G.8275.1", []string{"--dataset_comparison=G.8275.x"}, 140},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testGPSGrandmaster(t, tc.args, tc.freeRun)
		})
	}
}

func testGPSGrandmaster(t *testing.T, extra []string, freeRunClass int) {
	sw := netns.New(t)
	var hosts, ports []netns.Link
	for i := range 3 {
		h, p := netns.Veth(t, netns.New(t), "198.18.0."+strconv.Itoa(i+1), sw, "")
		hosts, ports = append(hosts, h), append(ports, p)
	}
	netns.Bridge(t, sw, ports...)

	dir := t.TempDir()
	const holdover = 5
	// The receiver needs the PHC, which the daemon creates: open the pty
	// first, start the daemon on it, then the receiver on the daemon's PHC.
	ptyMaster, ttyPath, err := gpsemu.OpenPTY()
	require.NoError(t, err)
	t.Cleanup(func() { ptyMaster.Close() })
	gmArgs := append([]string{"-H", "--domainNumber=24", "-4", "--priority1=1", "--serverOnly=1",
		"--emulated_hardware=1", "--emulated_hardware_dir=" + dir,
		"--emulated_phc_offset=0.3", "--emulated_phc_frequency=50000",
		"--pps_input=extts", "--ts2phc.tod_source=nmea", "--ts2phc.nmea_serialport=" + ttyPath,
		"--ts2phc.holdover=" + strconv.Itoa(holdover), "--time_source_qualification=3",
		"--clockClass=6", "--clockAccuracy=0x20", "--timeSource=0x20", "--metrics_address=127.0.0.1:0"}, extra...)
	gm, gmLog := startDaemon(t, hosts[0], nil, gmArgs...)
	emu := gm.Emulated()
	require.NotNil(t, emu)

	var noPulse atomic.Bool
	var lastPulse atomic.Int64 // CLOCK_REALTIME of the last edge sent
	runReceiver(t, gpsemu.Config{PHC: emu, NMEA: []io.Writer{gpsemu.PTYWriter{Master: ptyMaster}},
		Jitter: 20 * time.Nanosecond, Phase: 300 * time.Millisecond, Seed: 17,
		NoPulse: func(gpsemu.Second) bool { return noPulse.Load() },
		OnPulse: func(p gpsemu.Pulse) {
			if !p.Dropped {
				lastPulse.Store(p.Rise)
			}
		}})

	start := time.Now()
	q, _ := announced(t, gm)
	assert.Equal(t, uint8(248), q.ClockClass, "not class 6 before the source is locked")
	waitClass(t, gm, 6, 90*time.Second)
	lock := time.Since(start)
	t.Logf("grandmaster LOCKED %v after start", lock.Round(100*time.Millisecond))
	// The time source in the daemon's metrics (as a scrape collects them).
	fams := gathered(t, gm)
	for _, tc := range []struct {
		name   string
		labels []string
		ok     func(float64) bool
	}{
		{"roko_ptp_timesource_state", []string{"state=LOCKED"}, eq(1)},
		{"roko_ptp_timesource_state", []string{"state=HOLDOVER"}, eq(0)},
		{"roko_ptp_timesource_fix", nil, eq(1)},
		{"roko_ptp_timesource_offset_rms_seconds", nil, within(0, 1e-6)},
		{"roko_ptp_timesource_pulses_total", []string{"result=applied"}, within(1, math.Inf(1))},
		{"roko_ptp_timesource_reports_total", nil, within(1, math.Inf(1))},
		{"roko_ptp_timesource_events_total", []string{"event=lock"}, eq(1)},
		{"roko_ptp_grandmaster_clock_class", nil, eq(6)},
	} {
		v, ok := sample(fams, tc.name, tc.labels...)
		if assert.True(t, ok, "no %s%v", tc.name, tc.labels) {
			assert.True(t, tc.ok(v), "%s%v %g", tc.name, tc.labels, v)
		}
	}

	// The clients start once the grandmaster is on GPS time, as they
	// would in a fleet whose grandmaster has booted: one that followed
	// the free-running clock would have to slew the 37 s step that
	// qualification makes.
	theirs := linuxptp.StartPTP4L(t, hosts[1], linuxptp.Options{Flags: []string{"-4"}, Domain: 24, Config: "slaveOnly 1\n" + configLines(extra)})
	ourClock, err := phc.NewVirtual(phc.VirtualConfig{Name: "client", Offset: 3 * time.Millisecond, FrequencyError: 20_000})
	require.NoError(t, err)
	ours, _ := startDaemon(t, hosts[2], ourClock, append([]string{"-s", "--domainNumber=24", "-4"}, extra...)...)
	seen := waitTheirClass(t, theirs, 6, 10*time.Second)
	v, ok := view(t, theirs)
	require.True(t, ok)
	t.Logf("ptp4l's pmc, %v later: clockClass %d clockAccuracy 0x%02x timeSource 0x%02x currentUtcOffset %d valid %v",
		seen.Round(100*time.Millisecond), v.class, v.accuracy, v.source, v.utcOffset, v.utcValid)
	assert.Equal(t, 0x20, v.source)
	assert.LessOrEqual(t, v.accuracy, 0x21, "the measured accuracy: 20 ns of jitter")
	assert.GreaterOrEqual(t, v.accuracy, 0x1f)

	// The grandmaster's PHC against GPS time (TAI).
	var gmErr []float64
	for range 50 {
		te, err := emu.TrueError()
		require.NoError(t, err)
		gmErr = append(gmErr, float64(te-37*time.Second))
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("grandmaster PHC true error against GPS time: %.1f ns RMS over 5 s", rms(gmErr))
	assert.Less(t, rms(gmErr), 50.0)
	// The roko client's virtual clock against GPS time (UTC, as it keeps
	// it), through software timestamps on veth.
	c := watchClient(t, ours, ourClock, 5*time.Second)
	t.Logf("roko client: SLAVE and within 100 µs of GPS time after %v; then %v RMS, %v worst", c.settled.Round(100*time.Millisecond), c.rms, c.worst)
	assert.Equal(t, 6, v.class)

	noPulse.Store(true)
	// From the last pulse the receiver sent (it plans each second ahead,
	// so one may leave after the switch): the grandmaster announces 7
	// within 2 s, and ptp4l's pmc shows it within a pmc round more.
	waitClass(t, gm, 7, 4*time.Second)
	hold := time.Duration(time.Now().UnixNano() - lastPulse.Load())
	waitTheirClass(t, theirs, 7, 3*time.Second)
	seen7 := time.Duration(time.Now().UnixNano() - lastPulse.Load())
	free := waitTheirClass(t, theirs, freeRunClass, (holdover+3)*time.Second)
	t.Logf("pulse removed: the grandmaster announces 7 %v after the last pulse, the ptp4l client sees it after %v, and %d %v later",
		hold.Round(100*time.Millisecond), seen7.Round(100*time.Millisecond), freeRunClass, free.Round(100*time.Millisecond))
	assert.Less(t, hold, 2*time.Second, "6 → 7 within 2 s")
	assert.InDelta(t, float64(holdover), free.Seconds(), 1, "→ free run when the holdover ends, ± 1 s")
	noPulse.Store(false)
	back := waitTheirClass(t, theirs, 6, 40*time.Second)
	t.Logf("pulse back: 6 after %v", back.Round(100*time.Millisecond))
	assert.Contains(t, gmLog.String(), "timesource: LOCKED -> HOLDOVER")
}

// configLines turns --option=value flags into config lines for ptp4l.
func configLines(flags []string) string {
	var s string
	for _, f := range flags {
		if len(f) > 2 && f[:2] == "--" {
			for i := 2; i < len(f); i++ {
				if f[i] == '=' {
					s += f[2:i] + " " + f[i+1:] + "\n"
					break
				}
			}
		}
	}
	return s
}

func rms(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s / float64(len(v)))
}
