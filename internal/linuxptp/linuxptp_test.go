package linuxptp

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/netns"
	"github.com/roko-network/roko-ptpd/internal/testenv"
)

// TestConf: the fast defaults, free_running 1 always, a test's line in
// place of a default, and the package's own options refused.
func TestConf(t *testing.T) {
	c, err := Conf(Options{Domain: 24, Config: "masterOnly 1\nlogSyncInterval -7"}, "/tmp/x/ptp4l")
	require.NoError(t, err)
	assert.Equal(t, `[global]
logAnnounceInterval -2
announceReceiptTimeout 3
logMinDelayReqInterval -4
logMinPdelayReqInterval -4
free_running 1
time_stamping software
domainNumber 24
uds_address /tmp/x/ptp4l
masterOnly 1
logSyncInterval -7
`, c)
	for _, line := range []string{"free_running 0", "  domainNumber 3", "time_stamping hardware", "uds_address /run/x"} {
		_, err := Conf(Options{Config: "# note\n" + line + "\n"}, "/u")
		assert.ErrorContains(t, err, "line 2: "+strings.Fields(line)[0], line)
	}
}

// TestStartPTP4L: a ptp4l grandmaster answers pmc through PMC in its
// domain, and has been stopped and reaped when its test ends.
func TestStartPTP4L(t *testing.T) {
	testenv.Short(t)
	var p *PTP4L
	t.Run("run", func(t *testing.T) {
		a, b := netns.New(t), netns.New(t)
		la, _ := netns.Veth(t, a, "198.18.0.1", b, "198.18.0.2")
		p = StartPTP4L(t, la, Options{Flags: []string{"-4"}, Domain: 24, Config: "masterOnly 1\n"})
		out, err := p.PMC(t, "GET DEFAULT_DATA_SET")
		require.NoError(t, err, out)
		assert.Contains(t, out, "RESPONSE MANAGEMENT DEFAULT_DATA_SET")
		assert.Contains(t, out, "domainNumber            24")
		assert.Equal(t, []string{"-u", "-b", "0", "-d", "24", "-s", p.UDS, "GET X"}, p.PMCArgs("GET X"))
	})
	select {
	case <-p.done:
	default:
		t.Fatal("ptp4l still running after its test ended")
	}
}

// TestConfBinary: a ptp4l 4.x (Options.Binary) gets its read-only socket
// beside the read-write one, never /var/run/ptp4lro.
func TestConfBinary(t *testing.T) {
	c, err := Conf(Options{Binary: "/x/ptp4l"}, "/tmp/d/ptp4l")
	require.NoError(t, err)
	assert.Contains(t, c, "uds_ro_address /tmp/d/ptp4lro\n")
	c, err = Conf(Options{}, "/tmp/d/ptp4l")
	require.NoError(t, err)
	assert.NotContains(t, c, "uds_ro_address")
}
