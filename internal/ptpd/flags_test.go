package ptpd

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/ptp"
)

func TestParseArgs(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "ptp4l.conf")
	require.NoError(t, os.WriteFile(conf, []byte("[global]\npriority1 99\nlogging_level 5\n[eth2]\nlogSyncInterval -3\n"), 0o644))

	cmd, err := ParseArgs([]string{"-2m", "-i", "eth0", "-i", "eth2", "-ieth1", "-S", "-s", "-f", conf, "--priority1=7", "--domainNumber", "24", "-l", "7"})
	require.NoError(t, err)
	c := cmd.Config
	assert.Equal(t, []string{"eth0", "eth2", "eth1"}, c.Interfaces(), "in -i order, as ptp4l numbers ports; eth2 keeps its file section")
	s, err := c.Resolve()
	require.NoError(t, err)
	assert.Equal(t, ptp.ProtocolIEEE802_3, s.Ports[0].Transport)
	assert.Equal(t, ptp.TimestampingSoftware, s.Timestamping)
	assert.True(t, s.Log.Verbose)
	assert.True(t, s.Clock.SlaveOnly)
	assert.Equal(t, uint8(7), s.Clock.Priority1, "the command line beats the file's [global]")
	assert.Equal(t, uint8(24), s.Clock.DomainNumber)
	assert.Equal(t, 7, s.Log.Level)
	assert.Equal(t, int8(-3), s.Ports[1].Engine.LogSyncInterval)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-x"}, "invalid option -- 'x'"},
		{[]string{"-i"}, "option -i requires an argument"},
		{[]string{"--nosuch=1"}, "unknown option nosuch"},
		{[]string{"--priority1=300"}, "priority1"},
		{[]string{"eth0"}, `unexpected argument "eth0"`},
		{[]string{"-f", "/nonexistent/ptp4l.conf"}, "failed to open configuration file"},
	} {
		_, err := ParseArgs(tc.args)
		assert.ErrorContains(t, err, tc.want, "%v", tc.args)
	}
	cmd, err = ParseArgs([]string{"-h"})
	require.NoError(t, err)
	assert.True(t, cmd.Help)
}

// TestTransportConfigDestinations: the daemon opens each port's sockets
// with the destinations its settings resolved: ptp4l -f G.8275.1.cfg (linuxptp
// 4.4's, ptp_dst_mac 01:80:C2:00:00:0E) sends all messages there, and
// a UDPv4 port's ptp_dst_ipv4 and UDPv6 port's p2p_dst_ipv6 reach theirs.
func TestTransportConfigDestinations(t *testing.T) {
	cmd, err := ParseArgs([]string{"-f", "../../testdata/linuxptp/G.8275.1.cfg", "-i", "eth0", "-S"})
	require.NoError(t, err)
	s, err := cmd.Config.Resolve()
	require.NoError(t, err)
	tc := transportConfig(s, s.Ports[0], nil)
	assert.Equal(t, "01:80:c2:00:00:0e", tc.PTPDstMAC.String())
	assert.Equal(t, "01:80:c2:00:00:0e", tc.P2PDstMAC.String())

	conf := filepath.Join(t.TempDir(), "ptp4l.conf")
	require.NoError(t, os.WriteFile(conf, []byte("[eth0]\nptp_dst_ipv4 239.1.1.129\n[eth1]\nnetwork_transport UDPv6\np2p_dst_ipv6 ff02::1:6b\n"), 0o644))
	cmd, err = ParseArgs([]string{"-f", conf, "-S"})
	require.NoError(t, err)
	s, err = cmd.Config.Resolve()
	require.NoError(t, err)
	assert.Equal(t, "239.1.1.129", transportConfig(s, s.Ports[0], nil).PTPDstIPv4.String())
	assert.Equal(t, "ff02::1:6b", transportConfig(s, s.Ports[1], nil).P2PDstIPv6.String())
	assert.Equal(t, "ff0e::181", transportConfig(s, s.Ports[1], nil).PTPDstIPv6.String())
}
