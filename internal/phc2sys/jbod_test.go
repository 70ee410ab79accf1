package phc2sys

import (
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/linuxptp"
	"github.com/roko-network/roko-ptpd/internal/netns"
	"github.com/roko-network/roko-ptpd/internal/testenv"
	"github.com/roko-network/roko-ptpd/phc"
)

// TestBoundaryClockJBOD: a roko-ptpd boundary clock with a PHC per port
// (boundary_clock_jbod, on emulated hardware) between a linuxptp
// grandmaster and a linuxptp client, with roko-phc2sys -a keeping the
// master port's PHC on the slave port's, as ptp4l and phc2sys run a BC
// built of separate NICs. The daemon switches its servo to the upstream
// port's PHC when that port goes UNCALIBRATED, and the client downstream
// follows the grandmaster through both PHCs.
func TestBoundaryClockJBOD(t *testing.T) {
	testenv.Short(t)
	a, b, c := netns.New(t), netns.New(t), netns.New(t)
	gmLink, bcUp := netns.Veth(t, a, "198.18.0.1", b, "198.18.0.2")
	bcDown, clLink := netns.Veth(t, b, "198.18.0.3", c, "198.18.0.4")
	linuxptp.StartPTP4L(t, gmLink, linuxptp.Options{Flags: []string{"-2"}, Config: "masterOnly 1\npriority1 1\n"})
	dir := t.TempDir()
	// Port 1 is the downstream one: the clock starts on its PHC and must
	// switch to port 2's when port 2 goes UNCALIBRATED.
	bc := startPtpd(t, bcDown, nil, "-i", bcUp.Name, "-2", "-H", "--boundary_clock_jbod=1", "--emulated_hardware=1",
		"--emulated_hardware_dir="+dir, "--emulated_phc_offset=0.002", "--emulated_phc_frequency=20000", "--priority1=100")
	r := startAuto(t, bc.uds, nil, nil, func(a *Auto) {
		a.RealtimeSource = false
		a.Resolve = func(p AutoPort) (phc.Clock, error) { return phc.Open(filepath.Join(dir, p.Interface)) }
	})
	// The clock the daemon steers becomes the upstream port's PHC, on the
	// grandmaster's time (CLOCK_REALTIME, which the emulation can see).
	upPath := filepath.Join(dir, bcUp.Name)
	for start := time.Now(); bc.d.Emulated().Path() != upPath; time.Sleep(50 * time.Millisecond) {
		require.Less(t, time.Since(start), 20*time.Second, "the daemon never switched to the upstream port's PHC")
	}
	up := bc.d.Emulated()
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		e, err := up.TrueError()
		require.NoError(t, err)
		if e.Abs() < 10*time.Microsecond {
			break
		}
		require.Less(t, time.Since(start), 10*time.Second, "the upstream PHC is %v off", e)
	}
	r.waitTarget(t, bcDown.Name, 20_000, 30*time.Second)
	client := linuxptp.StartPTP4L(t, clLink, linuxptp.Options{Flags: []string{"-2"}, Config: "slaveOnly 1\n"})

	steps := regexp.MustCompile(`stepsRemoved\s+(\d+)`)
	median, n, status := client.MasterOffsets(t, 10*time.Second, "GET CURRENT_DATA_SET", "GET PORT_DATA_SET")
	assert.Regexp(t, regexp.MustCompile(`portState\s+(SLAVE|UNCALIBRATED)`), status, "the client follows the boundary clock")
	if m := steps.FindStringSubmatch(status); assert.NotNil(t, m) {
		assert.Equal(t, "2", m[1], "two hops from the grandmaster")
	}
	require.GreaterOrEqual(t, n, 10)
	t.Logf("the client's |offset| through both PHCs: median %.0f ns", median)
	assert.Less(t, median, 20e3, "the client is on the grandmaster's time through the boundary clock's two PHCs")
	assert.Contains(t, bc.out.String(), "Switched to "+filepath.Join(dir, bcUp.Name)+" as PTP clock")
}
