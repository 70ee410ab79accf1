package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/auth"
)

// TestManagement: what pmc -f and phc2sys -f read from a file's [global]
// section, the command line's values winning; a daemon's file with
// one-step time stamping still gives its management association; the
// readiness checks refuse what cannot sign, naming the line.
func TestManagement(t *testing.T) {
	read := func(t *testing.T, conf string, flags ...string) (*ManagementSettings, error) {
		t.Helper()
		c := New("t.conf")
		for i := 0; i+1 < len(flags); i += 2 {
			require.NoError(t, c.Set(flags[i], flags[i+1]))
		}
		require.NoError(t, c.Read(strings.NewReader(conf)))
		return c.Management()
	}
	m, err := read(t, "")
	require.NoError(t, err)
	assert.Equal(t, &ManagementSettings{Network: ptp.ProtocolUDPIPv4, UDSAddress: "/var/run/ptp4l"}, m, "pmc's defaults")

	m, err = read(t, "[global]\nsa_file "+saFile+"\nspp 1\nactive_key_id 3\nallow_unauth 1\ndomainNumber 24\n"+
		"transportSpecific 1\nnetwork_transport L2\nuds_address /run/x\ntime_stamping onestep\npriority1 3\n[eth0]\nspp 0\n")
	require.NoError(t, err)
	require.NotNil(t, m.Security)
	assert.Equal(t, uint8(1), m.Security.SA.SPP, "[global]'s, not a port's")
	assert.Equal(t, uint32(3), m.Security.Key.ID)
	assert.Equal(t, auth.AcceptUnauthResponses, m.AllowUnauth)
	assert.Equal(t, uint8(24), m.Domain)
	assert.Equal(t, uint8(1), m.TransportSpecific)
	assert.Equal(t, ptp.ProtocolIEEE802_3, m.Network)
	assert.Equal(t, "/run/x", m.UDSAddress)

	m, err = read(t, "[global]\ndomainNumber 24\nuds_address /run/x\nnetwork_transport UDPv6\n",
		"domainNumber", "7", "uds_address", "/run/y")
	require.NoError(t, err)
	assert.Equal(t, uint8(7), m.Domain, "the command line wins")
	assert.Equal(t, "/run/y", m.UDSAddress)
	assert.Equal(t, ptp.ProtocolUDPIPv6, m.Network)

	for _, tc := range []struct{ name, conf, want string }{
		{"spp without sa_file", "[global]\nspp 1\nactive_key_id 1\n", "t.conf:2: spp 1 needs sa_file"},
		{"no such key", "[global]\nsa_file " + saFile + "\nspp 1\nactive_key_id 9\n", "t.conf:4: active_key_id 9: security association 1 of " + saFile + " has no key 9"},
		{"key without spp", "[global]\nactive_key_id 1\n", "t.conf:2: active_key_id 1 needs spp"},
		{"missing sa_file", "[global]\nsa_file /nonexistent/sa\nspp 1\nactive_key_id 1\n", "t.conf:2: sa_file /nonexistent/sa"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := read(t, tc.conf)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}
