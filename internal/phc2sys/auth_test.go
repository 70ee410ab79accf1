package phc2sys

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/mgmt"
	"github.com/roko-network/roko-ptpd/internal/netns"
	"github.com/roko-network/roko-ptpd/internal/testenv"
	"github.com/roko-network/roko-ptpd/phc"
	"github.com/roko-network/roko-ptpd/ptp"
)

// saConf writes a phc2sys configuration file with [global] spp 1 of the
// linuxptp 4.4 captures' sa_file, and more.
func saConf(t *testing.T, more string) string {
	sa, err := filepath.Abs("../../testdata/pcap/linuxptp-auth/sa.cfg")
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), "phc2sys.conf")
	require.NoError(t, os.WriteFile(p, []byte("[global]\nsa_file "+sa+"\nspp 1\nactive_key_id 2\n"+more), 0o600))
	return p
}

// TestOptionsManagement: -f gives the daemon's socket, domain and
// security association; -z and -n win over the file; without -f, -z and
// -n alone; a file that cannot sign is refused with its line.
func TestOptionsManagement(t *testing.T) {
	conf := saConf(t, "uds_address /run/roko\ndomainNumber 24\nallow_unauth 2\n")
	for _, tc := range []struct {
		name         string
		args         []string
		server       string
		domain       uint8
		authenticate bool
	}{
		{"file", []string{"-a", "-f", conf}, "/run/roko", 24, true},
		{"flags win", []string{"-a", "-f", conf, "-z", "/tmp/x", "-n", "3"}, "/tmp/x", 3, true},
		{"no file", []string{"-a", "-z", "/tmp/x", "-n", "3"}, "/tmp/x", 3, false},
		{"defaults", []string{"-a"}, "/var/run/ptp4l", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := Parse(tc.args)
			require.NoError(t, err)
			cfg, err := o.Management()
			require.NoError(t, err)
			assert.Equal(t, tc.server, cfg.Server)
			assert.Equal(t, tc.domain, cfg.Domain)
			assert.Equal(t, tc.authenticate, cfg.SA != nil)
			if tc.authenticate {
				assert.Equal(t, uint32(2), cfg.Key.ID)
				assert.Zero(t, cfg.AllowUnauth, "allow_unauth is pmc's: phc2sys takes only what passes")
			}
		})
	}
	bad := filepath.Join(t.TempDir(), "bad.conf")
	require.NoError(t, os.WriteFile(bad, []byte("[global]\nspp 1\nactive_key_id 1\n"), 0o600))
	o, err := Parse([]string{"-a", "-f", bad})
	require.NoError(t, err)
	_, err = o.Management()
	assert.ErrorContains(t, err, "bad.conf:2: spp 1 needs sa_file")
}

// TestAuthProtectedDaemon: roko-phc2sys -a and -w with -f's association
// read the ports and time properties of a roko-ptpd whose [global] spp
// protects its socket (its port-state notifications authenticated too:
// the subscription is taken); without -f, -a waits for ever ("Waiting for
// ptp4l...") and the daemon logs the refused requests.
func TestAuthProtectedDaemon(t *testing.T) {
	testenv.Short(t)
	sa, err := filepath.Abs("../../testdata/pcap/linuxptp-auth/sa.cfg")
	require.NoError(t, err)
	link, _ := netns.Veth(t, netns.New(t), "198.18.0.1", netns.New(t), "198.18.0.2")
	clk, err := phc.NewVirtual(phc.VirtualConfig{Name: "gm"})
	require.NoError(t, err)
	uds := filepath.Join(t.TempDir(), "ptp4l")
	d := startPtpdAt(t, link, clk, uds, "--sa_file="+sa, "--spp=1", "--active_key_id=1")

	auto := func(t *testing.T, args ...string) *logLines {
		o, err := Parse(append([]string{"-a", "-z", uds}, args...))
		require.NoError(t, err)
		cfg, err := o.Management()
		require.NoError(t, err)
		log := &logLines{}
		a := &Auto{Readings: 5, Logf: log.logf, Redial: func() (*mgmt.Client, error) { return mgmt.Open(cfg) },
			Resolve: func(p AutoPort) (phc.Clock, error) { return nil, nil }}
		ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
		defer cancel()
		require.NoError(t, a.Run(ctx, 4))
		if a.Client != nil {
			a.Client.Close()
		}
		t.Logf("roko-phc2sys %s:\n%s", strings.Join(args, " "), log.String())
		return log
	}
	t.Run("-a -f", func(t *testing.T) {
		log := auto(t, "-f", saConf(t, ""))
		assert.Contains(t, log.String(), "skipping "+link.Name+": software time stamping", "the ports, read")
		assert.NotContains(t, log.String(), "SUBSCRIBE_EVENTS_NP refused")
		assert.NotContains(t, log.String(), "Waiting for ptp4l")
	})
	t.Run("-a without -f", func(t *testing.T) {
		log := auto(t)
		assert.Contains(t, log.String(), "Waiting for ptp4l...")
		assert.NotContains(t, log.String(), "skipping")
		assert.Contains(t, d.out.String(), "auth: bad message: no_auth_tlv")
	})
	t.Run("-w -f", func(t *testing.T) {
		o, err := Parse([]string{"-s", "CLOCK_REALTIME", "-c", "/dev/null", "-w", "-z", uds, "-f", saConf(t, "")})
		require.NoError(t, err)
		cfg, err := o.Management()
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		tp, err := WaitForDaemon(ctx, cfg, func(int, string, ...any) {})
		require.NoError(t, err, "the daemon became MASTER and answered")
		assert.Equal(t, int16(37), tp.CurrentUTCOffset)
		off, err := DaemonSyncOffset(cfg, "CLOCK_REALTIME", "/dev/null")
		require.NoError(t, err)
		assert.Equal(t, SyncOffset(tp, "CLOCK_REALTIME", "/dev/null"), off)
		assert.Zero(t, tp.Flags&ptp.TimePropertiesPTPTimescale)
	})
}
