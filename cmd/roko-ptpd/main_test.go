package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/netns"
	"github.com/roko-network/roko-ptpd/internal/testenv"
)

// TestShutdown: the built roko-ptpd, a grandmaster and a client busy at
// 128 Hz, each exit promptly and cleanly on SIGTERM, with their UNIX
// sockets removed.
func TestShutdown(t *testing.T) {
	testenv.Short(t)
	la, lb := netns.Veth(t, netns.New(t), "198.18.0.1", netns.New(t), "198.18.0.2")
	dir := t.TempDir()
	bin := filepath.Join(dir, "roko-ptpd")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	conf := filepath.Join(dir, "roko-ptpd.conf")
	require.NoError(t, os.WriteFile(conf, []byte("[global]\nlogAnnounceInterval -2\nlogSyncInterval -7\nlogMinDelayReqInterval -7\ntime_stamping software\nfree_running 1\n"), 0o644))
	type proc struct {
		cmd *exec.Cmd
		uds string
		log *bytes.Buffer
	}
	start := func(l netns.Link, args ...string) proc {
		uds := filepath.Join(dir, l.Name)
		c := l.NS.Command(bin, append([]string{"-f", conf, "-i", l.Name, "-4", "-m", "--uds_address=" + uds, "--uds_ro_address=" + uds + "ro"}, args...)...)
		var log bytes.Buffer
		c.Stdout, c.Stderr = &log, &log
		require.NoError(t, c.Start())
		t.Cleanup(func() { _ = c.Process.Kill(); _ = c.Wait() })
		return proc{c, uds, &log}
	}
	gm := start(la, "--priority1=1", "--serverOnly=1")
	cl := start(lb, "-s")
	time.Sleep(4 * time.Second)
	for _, p := range []proc{cl, gm} {
		_, err := os.Stat(p.uds)
		require.NoError(t, err, "the UNIX socket is there while it runs")
		sent := time.Now()
		// ip netns exec runs the daemon in its own process (exec), so
		// the signal reaches roko-ptpd itself.
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
		err = p.cmd.Wait()
		took := time.Since(sent)
		t.Logf("exited %v after SIGTERM", took.Round(time.Millisecond))
		assert.NoError(t, err, "exit status 0\n%s", p.log.String())
		assert.Less(t, took, time.Second)
		_, err = os.Stat(p.uds)
		assert.ErrorIs(t, err, os.ErrNotExist, "the UNIX socket is removed")
	}
	// free_running: the client measures but does not steer.
	assert.Contains(t, cl.log.String(), "LISTENING to UNCALIBRATED", "the client found the grandmaster")
	assert.Contains(t, cl.log.String(), " rms ", "and measured its offset")
}
