package ptpd

import (
	"context"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/gpsemu"
	"github.com/roko-network/roko-ptpd/internal/testenv"
	"github.com/roko-network/roko-ptpd/phc"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/engine"
	"github.com/roko-network/roko-ptpd/ptp/leap"
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
	testenv.StartGroup(t, "gpsd", cmd)

	// A leap table that ends at 36 s and expired in 2016, whatever the
	// host's tzdata says: gpsd's 37 can only come from gpsd, and must
	// win over an expired table.
	leapfile := filepath.Join(dir, "leap-seconds.list")
	require.NoError(t, os.WriteFile(leapfile, []byte(expiredLeapList(t)), 0o644))

	seg := transport.NewSegment()
	gm, _, _ := startGM(t, seg, path, "--priority1=1", "--serverOnly=1", "--pps_input=extts",
		"--ts2phc.tod_source=gpsd", "--gpsd_address=127.0.0.1:"+port, "--time_source_qualification=2",
		"--utc_offset=30", "--leapfile="+leapfile)
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

// expiredLeapList is a leap-seconds.list with every leap second up to
// 2015-07-01 (TAI−UTC 36), updated 2015-01-05 and expired 2016-06-28, with
// its #h hash as the IERS computes it (SHA-1 over the digits of the
// update, expiry and data lines).
func expiredLeapList(t *testing.T) string {
	const ntpEpoch = 2208988800 // 1900-01-01 to 1970-01-01 in seconds
	updated, expires := uint64(3629404800), uint64(3676060800)
	var b strings.Builder
	fmt.Fprintf(&b, "#\tan expired list for a test\n#$\t%d\n#@\t%d\n", updated, expires)
	digits := fmt.Sprint(updated) + fmt.Sprint(expires)
	add := func(when time.Time, offset int) {
		ntp := uint64(when.Unix() + ntpEpoch)
		fmt.Fprintf(&b, "%d\t%d\n", ntp, offset)
		digits += fmt.Sprint(ntp) + fmt.Sprint(offset)
	}
	at, offset := time.Date(1972, 1, 1, 0, 0, 0, 0, time.UTC), 10
	add(at, offset)
	for {
		when, delta, ok := leap.Builtin().Next(at)
		if !ok || when.Year() > 2015 {
			break
		}
		at, offset = when, offset+delta
		add(at, offset)
	}
	require.Equal(t, 36, offset)
	sum := sha1.Sum([]byte(digits))
	b.WriteString("#h\t")
	for i := 0; i < 20; i += 4 {
		fmt.Fprintf(&b, "%x ", binary.BigEndian.Uint32(sum[i:]))
	}
	b.WriteString("\n")
	tab, err := leap.Parse(strings.NewReader(b.String()), "expired.list")
	require.NoError(t, err)
	require.True(t, tab.Expired(time.Now()))
	require.Equal(t, 36, tab.Offset(time.Now()))
	return b.String()
}

// freeTCPPort is a loopback TCP port that nothing listens on now.
func freeTCPPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}
