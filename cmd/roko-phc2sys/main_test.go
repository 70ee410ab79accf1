package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/testenv"
)

// build compiles roko-phc2sys where an unprivileged user may run it.
func build(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "roko-phc2sys-test")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	bin := filepath.Join(dir, "roko-phc2sys")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

// unprivileged runs bin without CAP_SYS_TIME: as nobody when we are root.
func unprivileged(bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	return cmd
}

// asRoot returns the command when we are root, else nil (the case skips).
func asRoot(bin string, args ...string) *exec.Cmd {
	if os.Geteuid() != 0 {
		return nil
	}
	return exec.Command(bin, args...)
}

// TestErrors: what an operator sees for a bad command line, a missing PHC
// and a missing privilege, before anything is touched.
func TestErrors(t *testing.T) {
	bin := build(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	taken := ln.Addr().String()
	spp := filepath.Join(t.TempDir(), "spp.conf")
	require.NoError(t, os.WriteFile(spp, []byte("[global]\nspp 1\nactive_key_id 1\n"), 0o600))
	for _, tc := range []struct {
		name string
		cmd  *exec.Cmd
		code int
		want string
	}{
		{"bad flag", exec.Command(bin, "-x"), 2, "invalid option"},
		{"metrics address not host:port", exec.Command(bin, "-s", "/dev/ptp99", "--metrics_address=9326"), 2,
			`--metrics_address "9326": not a host:port`},
		{"metrics address taken", exec.Command(bin, "-s", "/dev/ptp99", "-c", "/dev/ptp98", "--metrics_address="+taken), 1,
			"--metrics_address: listen tcp " + taken},
		{"no source", exec.Command(bin, "-c", "CLOCK_REALTIME"), 2, "no source: give -s"},
		{"missing PHC as source", exec.Command(bin, "-s", "/dev/ptp99", "-c", "/dev/ptp98"), 1,
			"-c: /dev/ptp98: no such clock: check that the NIC driver exposes a PTP hardware clock"},
		{"interface without PHC", exec.Command(bin, "-s", "lo", "-c", "/dev/ptp98"), 1, "/dev/ptp98: no such clock"},
		{"CLOCK_REALTIME without privilege", unprivileged(bin, "-s", "/dev/ptp99", "-c", "CLOCK_REALTIME", "-w"), 1,
			"-c CLOCK_REALTIME: steering CLOCK_REALTIME needs CAP_SYS_TIME: run as root, or grant the capability"},
		{"-a -r without privilege", unprivileged(bin, "-a", "-r"), 1, "-r: steering CLOCK_REALTIME needs CAP_SYS_TIME"},
		{"-f file that cannot sign", exec.Command(bin, "-a", "-f", spp), 1, "spp 1 needs sa_file"},
		{"missing PPS device", asRoot(bin, "-d", "/dev/pps99"), 1, "-d: /dev/pps99: no such PPS source: load the driver"},
		{"interface without PHC as source", asRoot(bin, "-s", "lo"), 1, "-s: no PTP hardware clock for lo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.cmd == nil {
				testenv.RequireRoot(t) // to pass the CAP_SYS_TIME check first
			}
			out, err := tc.cmd.CombinedOutput()
			var ee *exec.ExitError
			require.ErrorAs(t, err, &ee, "%s", out)
			assert.Equal(t, tc.code, ee.ExitCode(), "%s", out)
			assert.Contains(t, string(out), tc.want)
		})
	}
}
