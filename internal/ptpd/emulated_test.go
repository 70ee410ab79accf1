package ptpd

import (
	"context"
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/linuxptp"
	"github.com/roko-network/roko-ptpd/internal/phc2sys"
	"github.com/roko-network/roko-ptpd/internal/testenv"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/config"
	"github.com/roko-network/roko-ptpd/ptp/engine"
)

// TestEmulatedHardwareClient: a linuxptp grandmaster (software
// timestamps, CLOCK_REALTIME) and a roko-ptpd client in hardware mode on
// emulated hardware (emulated_hardware 1): the daemon's hardware path
// runs unchanged, the engine is told hardware, and the client's emulated
// PHC, which starts 2 ms off and 12 ppm fast, follows the grandmaster's
// clock; its true error is measured against CLOCK_REALTIME by the
// emulation, which no daemon can see. The daemon's [phc2sys] job keeps a
// (virtual) system clock on that PHC through its sys-offset ioctls.
//
// Its emulated timestamps are the kernel's software ones mapped onto the
// PHC, so their noise is this machine's: beside it, on a link of its own,
// a roko-ptpd client with software timestamps on a virtual clock under
// another ptp4l grandmaster is the baseline. The PHC must stay under the
// issue's 1 µs RMS, or, on a machine too busy for that, within 500 ns of
// the baseline measured at the same instants.
func TestEmulatedHardwareClient(t *testing.T) {
	t.Parallel()
	la, lb := pair(t)
	linuxptp.StartPTP4L(t, la, linuxptp.Options{Flags: []string{"-4"}, Domain: 24, Config: "masterOnly 1\npriority1 1\n"})
	ba, bb := pair(t)
	linuxptp.StartPTP4L(t, ba, linuxptp.Options{Flags: []string{"-4"}, Domain: 24, Config: "masterOnly 1\npriority1 1\n"})
	base := virtual(t, "baseline", 2*time.Millisecond, 12_000)
	startDaemon(t, bb, base, "-s", "-S", "--domainNumber=24", "-4")
	dir := t.TempDir()
	cl, log := startDaemon(t, lb, nil, "-s", "-H", "--domainNumber=24", "-4", "--emulated_hardware=1",
		"--emulated_hardware_dir="+dir, "--emulated_phc_offset=0.002", "--emulated_phc_frequency=12000")
	emu := cl.Emulated()
	require.NotNil(t, emu)
	assert.Equal(t, filepath.Join(dir, lb.Name), emu.Path())

	var ts ptp.Timestamping
	require.True(t, cl.Do(context.Background(), func(e *engine.Clock) { ts = e.Config().Timestamping }))
	assert.Equal(t, ptp.TimestampingHardware, ts, "PORT_PROPERTIES_NP says hardware")

	// The [phc2sys] job inside the daemon keeps a (virtual) system clock,
	// 5 ms off and 20 ppm slow, on the emulated PHC.
	c, err := config.Parse(strings.NewReader("[global]\n[phc2sys]\nupdate_rate 8\nclock_servo linreg\n"), "test.conf")
	require.NoError(t, err)
	c.AddInterface(lb.Name)
	set, err := c.Resolve()
	require.NoError(t, err)
	system := virtual(t, "system", 5*time.Millisecond, -20_000)
	jobLog := &testenv.Buffer{}
	job, err := phc2sys.NewInDaemon(cl, set.Phc2sys, system, func(_ int, f string, a ...any) { fmt.Fprintf(jobLog, f+"\n", a...) })
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("[phc2sys] job:\n%s", jobLog.String())
		}
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	jobDone := make(chan struct{})
	go func() { defer close(jobDone); _ = job.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-jobDone })

	start := time.Now()
	for {
		e, err := emu.TrueError()
		require.NoError(t, err)
		sys, err := system.TrueError()
		require.NoError(t, err)
		if state(t, cl) == engine.Slave && e.Abs() < 10*time.Microsecond && sys.Abs() < 10*time.Microsecond {
			break
		}
		require.Less(t, time.Since(start), 30*time.Second, "no convergence: %v, true error %v", state(t, cl), e)
		time.Sleep(100 * time.Millisecond)
	}
	settled := time.Since(start)
	var sum2, baseSum2, sysSum2 float64
	var worst time.Duration
	n := 0
	for end := time.Now().Add(measureFor()); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		e, err := emu.TrueError()
		require.NoError(t, err)
		b, err := base.TrueError()
		require.NoError(t, err)
		sys, err := system.TrueError()
		require.NoError(t, err)
		sysSum2 += float64(sys) * float64(sys)
		sum2 += float64(e) * float64(e)
		baseSum2 += float64(b) * float64(b)
		worst = max(worst, e.Abs())
		n++
	}
	rms := time.Duration(math.Sqrt(sum2 / float64(n)))
	system2 := time.Duration(math.Sqrt(sysSum2 / float64(n)))
	baseline := time.Duration(math.Sqrt(baseSum2 / float64(n)))
	t.Logf("SLAVE, PHC and system clock within 10 µs after %v; then over %d samples the emulated PHC's true error: RMS %v, worst %v (software baseline beside it: RMS %v)",
		settled.Round(time.Millisecond), n, rms, worst, baseline)
	t.Logf("the system clock the [phc2sys] job steers: true error RMS %v", system2)
	assert.Less(t, rms, 50*time.Microsecond, "on any host")
	assert.Less(t, system2, 50*time.Microsecond, "on any host")
	if rms >= time.Microsecond {
		assert.Less(t, rms, baseline+500*time.Nanosecond, "over 1 µs RMS, and more than 500 ns above the software baseline")
	}
	assert.Contains(t, log.String(), "UNCALIBRATED to SLAVE on MASTER_CLOCK_SELECTED")
	if system2 >= 2*time.Microsecond {
		assert.Less(t, system2, baseline+time.Microsecond, "the system clock: over the issue's 2 µs RMS, and more than 1 µs above the software baseline")
	}
}

// TestLostTxTimestamp: a card that never returns a transmit timestamp (an
// emulated NIC that loses every one) gets ptp4l's messages, faults the
// port, counts the timeout, and re-initialises the port after
// fault_reset_interval (here 2^0 s), as ptp4l does.
func TestLostTxTimestamp(t *testing.T) {
	t.Parallel()
	la, _ := pair(t)
	gm, log := startDaemon(t, la, nil, "--priority1=1", "--serverOnly=1", "-H", "--emulated_hardware=1",
		"--emulated_hardware_dir="+t.TempDir(), "--emulated_tx_timestamp_loss=1", "--fault_reset_interval=0")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(log.String(), "FAULTY to LISTENING on INIT_COMPLETE") {
		require.True(t, time.Now().Before(deadline), "no recovery after the fault:\n%s", log.String())
		time.Sleep(50 * time.Millisecond)
	}
	out := log.String()
	assert.Contains(t, out, "timed out while polling for tx timestamp")
	assert.Contains(t, out, "increasing tx_timestamp_timeout or increasing kworker priority may correct this issue, but a driver bug likely causes it")
	assert.Contains(t, out, "port 1 ("+la.Name+"): send sync failed")
	assert.Regexp(t, `to FAULTY on FAULT_DETECTED`, out)
	timeouts := gm.TxTimestampTimeouts()
	assert.GreaterOrEqual(t, timeouts, uint64(1))
	// The daemon runs on: the card may have lost another since.
	assert.GreaterOrEqual(t, gm.nics[0].LostTxTimestamps(), timeouts, "each timeout is a lost timestamp")
}

// TestOneStepToPTP4L: a roko-ptpd grandmaster with time_stamping onestep
// on emulated hardware, and a linuxptp client (software timestamps, free
// running): on the wire (tshark) every Sync is one-step and no Follow_Up
// is sent, and the client follows us, measuring its offset from the time
// the card wrote into each Sync.
func TestOneStepToPTP4L(t *testing.T) {
	t.Parallel()
	tcpdump := testenv.RequireCommand(t, "tcpdump", "tcpdump")
	tshark := testenv.RequireCommand(t, "tshark", "tshark")
	la, lb := pair(t)
	pcap, stopCapture := capture(t, tcpdump, lb, la)

	// The grandmaster's PHC keeps PTP's timescale (TAI), 37 s ahead of
	// CLOCK_REALTIME, as phc2sys -s CLOCK_REALTIME -c eth0 would have set
	// it: the client, on UTC, takes the 37 s off again.
	startDaemon(t, la, nil, "--priority1=1", "--serverOnly=1", "--domainNumber=24", "-4", "--time_stamping=onestep",
		"--emulated_hardware=1", "--emulated_hardware_dir="+t.TempDir(), "--emulated_phc_offset=37")
	client := linuxptp.StartPTP4L(t, lb, linuxptp.Options{Flags: []string{"-4"}, Domain: 24, Config: "slaveOnly 1\n"})
	median, n, status := client.MasterOffsets(t, 6*time.Second, "GET PORT_DATA_SET")
	assert.Regexp(t, regexp.MustCompile(`portState\s+(SLAVE|UNCALIBRATED)`), status, "the client follows us")
	require.GreaterOrEqual(t, n, 8, "the client measured offsets")
	t.Logf("ptp4l's offset from our one-step grandmaster: median %.0f ns", median)
	assert.Less(t, median, 100e3, "the time in each one-step Sync is the card's transmit time")

	stopCapture()
	count := func(filter string) int {
		b, err := exec.Command(tshark, "-n", "-r", pcap, "-Y", filter).Output()
		require.NoError(t, err)
		return strings.Count(string(b), "\n")
	}
	syncs := count("ptp.v2.messagetype == 0x0")
	t.Logf("%d Sync on the wire", syncs)
	assert.Greater(t, syncs, 40, "16 Hz Sync for 6 s")
	assert.Zero(t, count("ptp.v2.messagetype == 0x0 && ptp.v2.flags.twostep == 1"), "every Sync one-step")
	assert.Zero(t, count("ptp.v2.messagetype == 0x8"), "no Follow_Up")
}
