package ptpd

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/gpsemu"
	"github.com/roko-network/roko-ptpd/internal/linuxptp"
	"github.com/roko-network/roko-ptpd/internal/ptplog"
	"github.com/roko-network/roko-ptpd/internal/testenv"
	"github.com/roko-network/roko-ptpd/phc"
	"github.com/roko-network/roko-ptpd/ptp/timesource"
)

// TestSeedGMConf: the operator guide's gm.conf, as written (domain 24,
// Sync at 64 Hz, hardware timestamps, [/dev/pps0] with G.8275.x), on
// emulated hardware: its /dev/pps0 is an emulated kernel PPS source fed
// by the emulated receiver, the time of day is the system clock's seconds
// (ts2phc's generic source, the default). Only the interface, the
// emulation and the sockets come from the command line. The grandmaster
// announces 248 until its source qualifies, then the file's GPS-locked
// quality, which a ptp4l client in domain 24 sees.
func TestSeedGMConf(t *testing.T) {
	testenv.Short(t)
	testenv.RequireRoot(t)
	t.Parallel()
	la, lb := pair(t)
	dir := t.TempDir()
	pps, err := phc.CreateEmulatedPPS(filepath.Join(dir, "pps0"))
	require.NoError(t, err)
	defer pps.Close()
	runReceiver(t, gpsemu.Config{PPS: pps, Jitter: 50 * time.Nanosecond, Seed: 3})

	cmd, err := ParseArgs([]string{"-f", "../../testdata/seed/gm.conf", "-i", la.Name, "-m",
		"--emulated_hardware=1", "--emulated_hardware_dir=" + dir, "--emulated_phc_offset=0.2", "--emulated_phc_frequency=-20000",
		"--uds_address=" + filepath.Join(dir, "ptp4l"), "--uds_ro_address=" + filepath.Join(dir, "ptp4lro")})
	require.NoError(t, err)
	set, err := cmd.Config.Resolve()
	require.NoError(t, err)
	out := &testenv.Buffer{}
	var gm *Daemon
	require.NoError(t, la.NS.Do(func() error {
		gm, err = New(Options{Settings: set, Log: ptplog.New("roko-ptpd", 6, "", out, out)})
		return err
	}))
	runCtx, stop := context.WithCancel(context.Background())
	var gmWG sync.WaitGroup
	gmWG.Add(1)
	go func() { defer gmWG.Done(); assert.NoError(t, gm.Run(runCtx)) }()
	defer func() {
		stop()
		gmWG.Wait()
		gm.Close()
		if t.Failed() {
			t.Logf("grandmaster:\n%s", out.String())
		}
	}()
	q, _ := announced(t, gm)
	assert.EqualValues(t, 248, q.ClockClass, "the file's class 6 waits for the source")
	took := waitClass(t, gm, 6, 90*time.Second)
	t.Logf("gm.conf locked on the emulated /dev/pps0 after %v", took.Round(100*time.Millisecond))
	emu := gm.Emulated()
	te, err := emu.TrueError()
	require.NoError(t, err)
	t.Logf("PHC error from GPS time: %v", te-37*time.Second)
	assert.Less(t, (te - 37*time.Second).Abs(), 20*time.Microsecond, "within the kernel PPS window")

	theirs := linuxptp.StartPTP4L(t, lb, linuxptp.Options{Flags: []string{"-4"}, Domain: 24, Config: "slaveOnly 1\n"})
	waitTheirClass(t, theirs, 6, 15*time.Second)
	v, ok := view(t, theirs)
	require.True(t, ok)
	t.Logf("ptp4l's pmc: clockClass %d clockAccuracy 0x%02x timeSource 0x%02x", v.class, v.accuracy, v.source)
	assert.Equal(t, 0x20, v.source)
	assert.Equal(t, timesource.ProfileG8275, set.TimeSource.Source.Profile, "G.8275.x from the [/dev/pps0] section")
}
