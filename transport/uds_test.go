package transport_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/testenv"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/transport"
)

func TestUDS(t *testing.T) {
	dir := t.TempDir()
	srvPath := filepath.Join(dir, "ptp4l")
	// A daemon that died leaves its socket file behind (closing a
	// datagram socket does not remove it): the next one replaces it.
	stale, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: srvPath, Net: "unixgram"})
	require.NoError(t, err)
	require.NoError(t, stale.Close())
	_, err = os.Stat(srvPath)
	require.NoError(t, err, "the stale file is there")

	srv, err := transport.ListenUDS(srvPath, transport.DefaultUDSMode)
	require.NoError(t, err)
	defer srv.Close()
	fi, err := os.Stat(srvPath)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o660), fi.Mode().Perm(), "uds_file_mode")
	assert.NotZero(t, fi.Mode()&os.ModeSocket)

	cli, err := transport.DialUDS(filepath.Join(dir, "pmc.1"), srvPath)
	require.NoError(t, err)
	defer cli.Close()
	require.NoError(t, cli.Send([]byte("request")))
	buf := make([]byte, 1500)
	require.NoError(t, srv.SetReadDeadline(time.Now().Add(2*time.Second)))
	n, from, err := srv.Receive(buf)
	require.NoError(t, err)
	assert.Equal(t, "request", string(buf[:n]))
	require.NoError(t, srv.Reply([]byte("response"), from), "reply to the sender's own path")
	require.NoError(t, cli.SetReadDeadline(time.Now().Add(2*time.Second)))
	n, _, err = cli.Receive(buf)
	require.NoError(t, err)
	assert.Equal(t, "response", string(buf[:n]))

	require.NoError(t, cli.Close())
	_, err = os.Stat(filepath.Join(dir, "pmc.1"))
	assert.True(t, os.IsNotExist(err), "the client's file is removed on close")
}

func TestUDSErrors(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "notasocket")
	require.NoError(t, os.WriteFile(regular, []byte("keep me"), 0o644))
	_, err := transport.ListenUDS(regular, 0o660)
	assert.ErrorContains(t, err, "exists and is not a socket")
	b, _ := os.ReadFile(regular)
	assert.Equal(t, "keep me", string(b), "never deleted")

	_, err = transport.DialUDS(filepath.Join(dir, "c"), filepath.Join(dir, "nobody"))
	assert.ErrorContains(t, err, "no daemon listening")
}

// TestUDSWithPMC: linuxptp's pmc talks to our socket; its request arrives
// as a management GET we decode.
func TestUDSWithPMC(t *testing.T) {
	pmc := testenv.RequireCommand(t, "pmc", "linuxptp")
	srvPath := filepath.Join(t.TempDir(), "ptp4l")
	srv, err := transport.ListenUDS(srvPath, transport.DefaultUDSMode)
	require.NoError(t, err)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, pmc, "-u", "-b", "0", "-s", srvPath, "GET CURRENT_DATA_SET")
	require.NoError(t, cmd.Start())
	defer func() { cancel(); _ = cmd.Wait() }()
	buf := make([]byte, 1500)
	require.NoError(t, srv.SetReadDeadline(time.Now().Add(3*time.Second)))
	n, from, err := srv.Receive(buf)
	require.NoError(t, err)
	assert.NotEmpty(t, from.Name, "pmc binds a path of its own")
	pk, err := ptp.Decode(buf[:n])
	require.NoError(t, err)
	m, ok := pk.(*ptp.Management)
	require.True(t, ok, "%T", pk)
	assert.Equal(t, ptp.ActionGet, m.ActionField)
	id, _, ok, err := m.ManagementTLV()
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, ptp.MIDCurrentDataSet, id)
}
