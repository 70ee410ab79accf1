package ptpd

import (
	"context"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/gpsemu"
	"github.com/roko-network/roko-ptpd/internal/testenv"
	"github.com/roko-network/roko-ptpd/phc"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/engine"
	"github.com/roko-network/roko-ptpd/transport"
)

// TestGrandmasterGPSD: the time of day from the real gpsd, which reads an
// emulated u-blox receiver (NMEA, and UBX-NAV-TIMEGPS with GPS−UTC 18 s)
// on a pty, as it would a receiver on a serial port. The grandmaster
// locks, and the UTC offset gpsd reports reaches the Announce:
// currentUtcOffset 37 with currentUtcOffsetValid, as a client sees it.
// (gpsfake replays a log at its own pace, which cannot keep each sentence
// in the second of its pulse: transport/tod's tests run gpsd under
// gpsfake; this one feeds gpsd in real time.)
func TestGrandmasterGPSD(t *testing.T) {
	t.Parallel()
	gpsd := testenv.RequireCommand(t, "gpsd", "gpsd")
	dir := t.TempDir()
	path := filepath.Join(dir, "ptp0")
	cfg := phc.DefaultEmulatedConfig()
	cfg.Offset, cfg.FrequencyError = 100*time.Millisecond, 20_000
	emu, err := phc.CreateEmulated(path, cfg)
	require.NoError(t, err)
	defer emu.Close()
	ptyMaster, ttyPath, err := gpsemu.OpenPTY()
	require.NoError(t, err)
	defer ptyMaster.Close()

	runReceiver(t, gpsemu.Config{PHC: emu, NMEA: []io.Writer{gpsemu.PTYWriter{Master: ptyMaster}},
		Jitter: 20 * time.Nanosecond, Phase: 200 * time.Millisecond, Seed: 9, LeapS: 18})

	port := freeTCPPort(t)
	// -N foreground, -b never write to the receiver, -n read it before a
	// client asks, -S the port, -F its control socket in the test's
	// directory.
	cmd := exec.Command(gpsd, "-N", "-b", "-n", "-S", port, "-F", filepath.Join(dir, "gpsd.sock"), ttyPath)
	out := &testenv.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	require.NoError(t, cmd.Start())
	gpsdDone := make(chan struct{})
	go func() { _ = cmd.Wait(); close(gpsdDone) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-gpsdDone:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-gpsdDone
		}
		if t.Failed() {
			t.Logf("gpsd:\n%s", out.String())
		}
	})

	seg := transport.NewSegment()
	gm, _, _ := startGM(t, seg, path, "--priority1=1", "--serverOnly=1", "--pps_input=extts",
		"--ts2phc.tod_source=gpsd", "--gpsd_address=127.0.0.1:"+port, "--time_source_qualification=2",
		"--utc_offset=30")
	cl := startOnSegment(t, seg, virtual(t, "client", 0, 0), false, "-S", "-s")

	took := waitClass(t, gm, 6, 60*time.Second)
	t.Logf("locked on gpsd's time of day after %v", took.Round(100*time.Millisecond))
	_, tp := announced(t, gm)
	assert.EqualValues(t, 37, tp.CurrentUTCOffset, "gpsd's leapseconds 18 + 19, not utc_offset 30")
	assert.True(t, ptp.Flags(tp.Flags).Has(ptp.FlagCurrentUTCOffsetValid))
	te, err := emu.TrueError()
	require.NoError(t, err)
	assert.Less(t, (te - 37*time.Second).Abs(), time.Microsecond, "the PHC is on TAI by gpsd's offset")
	require.Eventually(t, func() bool {
		var ctp ptp.TimePropertiesDataSet
		cl.d.Do(context.Background(), func(e *engine.Clock) { ctp = e.TimePropertiesDS() })
		return ctp.CurrentUTCOffset == 37 && ptp.Flags(ctp.Flags).Has(ptp.FlagCurrentUTCOffsetValid)
	}, 5*time.Second, 50*time.Millisecond, "the client's timePropertiesDS")
}

// freeTCPPort is a loopback TCP port that nothing listens on now.
func freeTCPPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}
