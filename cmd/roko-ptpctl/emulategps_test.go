package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/nmea"
	"github.com/roko-network/roko-ptpd/phc"
)

// TestMain runs "roko-ptpctl emulate-gps" in a second process for
// TestEmulateGPS when ROKO_EMULATE_GPS_ARGS holds its arguments (separated by US, 0x1f, since an environment cannot hold NUL).
func TestMain(m *testing.M) {
	if args := os.Getenv("ROKO_EMULATE_GPS_ARGS"); args != "" {
		if err := run(strings.Split(args, "\x1f")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestEmulateGPS runs the subcommand as a daemon's tests do: pulses reach
// the emulated PHC and PPS source, sentences the linked pty, and SIGTERM
// ends it cleanly, removing the link.
func TestEmulateGPS(t *testing.T) {
	dir := t.TempDir()
	e, err := phc.CreateEmulated(filepath.Join(dir, "ptp0"), phc.DefaultEmulatedConfig())
	require.NoError(t, err)
	defer e.Close()
	d, err := phc.Open(e.Path())
	require.NoError(t, err)
	defer d.Close()
	require.NoError(t, d.SetPin(1, phc.PinExtTS, 1))
	require.NoError(t, d.EnableExtTS(1, phc.RisingEdge))
	ppsPath, link := filepath.Join(dir, "pps0"), filepath.Join(dir, "gps0")

	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "ROKO_EMULATE_GPS_ARGS="+strings.Join([]string{"emulate-gps",
		"--phc", e.Path() + ":1", "--pps", ppsPath, "--nmea-link", link, "--nmea-tcp", "127.0.0.1:0",
		"--jitter", "20", "--cable-delay", "100", "--phase", "20", "--sentences", "rmc", "--seed", "5"}, "\x1f"))
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stdout)
	said := map[string]string{}
	for len(said) < 3 && lines.Scan() {
		f := strings.Fields(lines.Text())
		require.Len(t, f, 3, lines.Text())
		said[f[1]] = f[2]
	}
	require.Len(t, said, 3, "pty, link and tcp: %v", said)
	target, err := os.Readlink(link)
	require.NoError(t, err)
	assert.Equal(t, said["pty"], target)
	assert.True(t, strings.HasPrefix(said["tcp"], "127.0.0.1:"))

	tty, err := os.OpenFile(link, os.O_RDWR|syscall.O_NOCTTY, 0)
	require.NoError(t, err)
	defer tty.Close()
	require.NoError(t, tty.SetReadDeadline(time.Now().Add(5*time.Second)))
	line, err := bufio.NewReader(tty).ReadString('\n')
	require.NoError(t, err)
	s, err := nmea.Parse([]byte(line))
	require.NoError(t, err, "%q", line)
	assert.Equal(t, "RMC", s.Type)
	assert.True(t, s.Valid)

	pps, err := phc.OpenPPS(ppsPath)
	require.NoError(t, err)
	defer pps.Close()
	ev, err := pps.Fetch(3 * time.Second)
	require.NoError(t, err)
	assert.NotZero(t, ev.AssertSequence)
	evs, err := d.ReadExtTS(3 * time.Second)
	require.NoError(t, err)
	require.NotEmpty(t, evs)
	assert.Equal(t, uint32(1), evs[0].Channel)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait())
	_, err = os.Lstat(link)
	assert.ErrorIs(t, err, os.ErrNotExist, "the link is gone")
}
