package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/ptp/auth"
)

// saFile is linuxptp 4.4's example (ptp/auth/testdata/SOURCE).
const saFile = "../auth/testdata/linuxptp-sa.cfg"

// TestSAFileMode: an sa_file its group or others may read or write is
// warned about once (Resolve and Management both load it), naming the
// file and its line, as ssh warns about a private key; one only its owner
// may read is not.
func TestSAFileMode(t *testing.T) {
	b, err := os.ReadFile(saFile)
	require.NoError(t, err)
	for _, tc := range []struct {
		mode os.FileMode
		warn bool
	}{{0o600, false}, {0o400, false}, {0o640, true}, {0o604, true}, {0o620, true}} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sa.cfg")
			require.NoError(t, os.WriteFile(path, b, 0o600))
			require.NoError(t, os.Chmod(path, tc.mode))
			c, err := Parse(strings.NewReader("[global]\nsa_file "+path+"\nspp 1\nactive_key_id 1\n"), "t.conf")
			require.NoError(t, err)
			c.AddInterface("eth0")
			_, err = c.Resolve()
			require.NoError(t, err)
			_, err = c.Management()
			require.NoError(t, err)
			var got []string
			for _, w := range c.Warnings {
				if w.Option == "sa_file" {
					got = append(got, w.String())
				}
			}
			if !tc.warn {
				assert.Empty(t, got)
				return
			}
			require.Len(t, got, 1, "warned once")
			assert.Contains(t, got[0], "t.conf:2: option sa_file: sa_file "+path+" is accessible by group or others")
			assert.Contains(t, got[0], "chmod 600 "+path)
		})
	}
}

// TestResolveSecurity: sa_file is parsed at Resolve; [global]'s spp and
// active_key_id apply to every port and to the management socket, a
// port's section overrides them, and linuxptp's readiness checks refuse
// what cannot work, naming the line.
func TestResolveSecurity(t *testing.T) {
	s, err := resolve(t, "[global]\nsa_file "+saFile+"\nspp 0\nactive_key_id 2\n[eth1]\nspp 1\nactive_key_id 1\n", "eth0", "eth1")
	require.NoError(t, err)
	require.Len(t, s.Ports, 2)
	port := map[string]*Security{}
	for _, p := range s.Ports {
		port[p.Interface] = p.Security
	}
	require.NotNil(t, port["eth0"])
	assert.Equal(t, uint8(0), port["eth0"].SA.SPP)
	assert.Equal(t, uint32(2), port["eth0"].Key.ID)
	assert.Equal(t, auth.HMACSHA256, port["eth0"].Key.Algorithm)
	assert.True(t, port["eth0"].SA.AllowMutable)
	require.NotNil(t, port["eth1"])
	assert.Equal(t, uint8(1), port["eth1"].SA.SPP)
	assert.Equal(t, auth.CMACAES128, port["eth1"].Key.Algorithm)
	require.NotNil(t, s.UDSSecurity)
	assert.Equal(t, uint8(0), s.UDSSecurity.SA.SPP)

	// Only a port's section: the management socket stays open.
	s, err = resolve(t, "[global]\nsa_file "+saFile+"\n[eth0]\nspp 1\nactive_key_id 3\n")
	require.NoError(t, err)
	assert.NotNil(t, s.Ports[0].Security)
	assert.Nil(t, s.UDSSecurity)

	// sa_file alone changes nothing.
	s, err = resolve(t, "[global]\nsa_file "+saFile+"\n", "eth0")
	require.NoError(t, err)
	assert.Nil(t, s.Ports[0].Security)

	bad := filepath.Join(t.TempDir(), "bad.cfg")
	require.NoError(t, os.WriteFile(bad, []byte("[security_association]\nspp 1\n1 MD5 k\n"), 0o600))
	for _, tc := range []struct{ name, conf, want string }{
		{"spp without sa_file", "[global]\nspp 1\nactive_key_id 1\n", "t.conf:2: spp 1 needs sa_file"},
		{"no such association", "[global]\nsa_file " + saFile + "\nspp 7\nactive_key_id 1\n", "t.conf:3: spp 7: sa_file " + saFile + " has no security association with spp 7"},
		{"no active_key_id", "[global]\nsa_file " + saFile + "\nspp 1\n", "t.conf:3: spp 1 needs active_key_id"},
		{"no such key", "[global]\nsa_file " + saFile + "\nspp 1\nactive_key_id 9\n", "t.conf:4: active_key_id 9: security association 1 of " + saFile + " has no key 9"},
		{"key without spp", "[global]\nactive_key_id 1\n", "t.conf:2: active_key_id 1 needs spp"},
		{"port key without spp", "[global]\n[eth0]\nactive_key_id 1\n", "t.conf:3: [eth0] active_key_id 1 needs spp"},
		{"one-step", "[global]\nsa_file " + saFile + "\nspp 1\nactive_key_id 1\ntime_stamping onestep\n", "t.conf:3: spp 1: not with one-step time stamping"},
		{"v2.0", "[global]\nsa_file " + saFile + "\nspp 1\nactive_key_id 1\nptp_minor_version 0\n", "t.conf:3: spp 1 needs ptp_minor_version 1"},
		{"bad sa_file", "[global]\nsa_file " + bad + "\n", "t.conf:2: sa_file " + bad + ": " + bad + ":3: unsupported key type \"MD5\""},
		{"missing sa_file", "[global]\nsa_file /nonexistent/sa.cfg\n", "t.conf:2: sa_file /nonexistent/sa.cfg: sa_file: open /nonexistent/sa.cfg: no such file or directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := resolve(t, tc.conf, "eth0")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
