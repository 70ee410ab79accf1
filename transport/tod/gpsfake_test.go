package tod

import (
	"bytes"
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
	"github.com/roko-network/roko-ptpd/internal/nmea"
	"github.com/roko-network/roko-ptpd/internal/testenv"
)

// The seconds testdata/gps/rmc.log names: 2025-06-30 12:00:00 to
// 12:00:09 UTC, an RMC (status A) and a ZDA each.
var rmcLogStart = time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC)

const rmcLogSeconds = 10

// TestGPSDWithGPSFake runs the real gpsd, fed by gpsfake, and reads it.
// NMEA alone cannot tell gpsd GPS−UTC, so from rmc.log no report knows
// the UTC offset; a u-blox receiver's UBX-NAV-TIMEGPS does (leapS, with
// its valid bit), and gpsd then prints leapseconds in every TPV.
func TestGPSDWithGPSFake(t *testing.T) {
	testenv.Short(t)
	gpsd := testenv.RequireCommand(t, "gpsd", "gpsd")
	gpsfake := testenv.RequireCommand(t, "gpsfake", "gpsd-clients")
	rmc, err := os.ReadFile("testdata/gps/rmc.log")
	require.NoError(t, err)

	tests := []struct {
		name       string
		log        []byte
		wantOffset int // TAI−UTC once gpsd knows it; 0: it never does
	}{
		{name: "NMEA", log: rmc},
		{name: "u-blox with leap seconds", log: withTimeGPS(t, rmc, 18), wantOffset: 37},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := filepath.Join(t.TempDir(), "gps.log")
			require.NoError(t, os.WriteFile(log, tt.log, 0o644))
			port := freePort(t)
			startGPSFake(t, gpsfake, gpsd, port, log)

			g := DialGPSD(net.JoinHostPort("127.0.0.1", port))
			g.b.min, g.b.max = 50*time.Millisecond, 200*time.Millisecond
			run := start(t, g)
			seen := map[time.Time]bool{}
			offsetSeen := false
			for len(seen) < 5 || (tt.wantOffset != 0 && !offsetSeen) {
				rep := run.next(t)
				require.Equal(t, "gpsd", rep.Source)
				require.True(t, rep.Valid, "RMC status A gives gpsd a 2D fix: %+v", rep)
				require.False(t, rep.Leap)
				s := rep.UTC.Sub(rmcLogStart)
				require.True(t, s >= 0 && s < rmcLogSeconds*time.Second && s%time.Second == 0,
					"%v is not a second of the log", rep.UTC)
				require.NotZero(t, rep.Received)
				if tt.wantOffset == 0 {
					require.False(t, rep.UTCOffsetKnown, "%+v", rep)
				} else if rep.UTCOffsetKnown {
					require.Equal(t, tt.wantOffset, rep.UTCOffset)
					offsetSeen = true
				}
				seen[rep.UTC] = true
			}
			c := g.Counters()
			assert.Zero(t, c.Malformed)
			assert.NotZero(t, c.Skipped, "VERSION, DEVICES, WATCH at least")
		})
	}
}

// startGPSFake runs gpsfake (which runs gpsd) on the loopback port, in a
// process group of its own that the test's cleanup ends whole.
func startGPSFake(t *testing.T, gpsfake, gpsd, port, log string) {
	t.Helper()
	// -c: a sentence every 50 ms, cycling through the log, so that a
	// reader that connects late still sees every second of it.
	cmd := exec.Command(gpsfake, "-q", "-P", port, "-c", "0.05", log)
	// gpsfake looks for gpsd on PATH, which need not hold sbin.
	// TMPDIR: gpsfake's control socket, which it leaves behind when
	// killed, goes where the test's files go.
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(gpsd)+":"+os.Getenv("PATH"), "TMPDIR="+t.TempDir())
	// gpsd is gpsfake's child in its group: StartGroup kills the group.
	testenv.StartGroup(t, "gpsfake", cmd)
}

// freePort returns a loopback TCP port that nothing listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// withTimeGPS is an NMEA log with a u-blox UBX-NAV-TIMEGPS frame before
// each RMC, for the same second, saying GPS−UTC is leap seconds (valid).
func withTimeGPS(t *testing.T, log []byte, leap int8) []byte {
	t.Helper()
	var out bytes.Buffer
	for line := range strings.Lines(string(log)) {
		if strings.HasPrefix(line, "$GPRMC,") {
			s, err := nmea.Parse([]byte(line))
			require.NoError(t, err)
			out.Write(gpsemu.UBXTimeGPS(s.Time, leap))
		}
		out.WriteString(line)
	}
	return out.Bytes()
}
