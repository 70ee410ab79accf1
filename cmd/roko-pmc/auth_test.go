package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/linuxptp"
	"github.com/roko-network/roko-ptpd/internal/netns"
	"github.com/roko-network/roko-ptpd/internal/ptpd"
	"github.com/roko-network/roko-ptpd/internal/ptplog"
	"github.com/roko-network/roko-ptpd/internal/testenv"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/auth"
	"github.com/roko-network/roko-ptpd/ptp/engine"
)

// saFile is the sa_file of the linuxptp 4.4 captures (spp 1: SHA256-128
// key 1, SHA256 key 2).
func saFile(t *testing.T) string {
	p, err := filepath.Abs("../../testdata/pcap/linuxptp-auth/sa.cfg")
	require.NoError(t, err)
	return p
}

// writeConf writes a pmc configuration file.
func writeConf(t *testing.T, text string) string {
	p := filepath.Join(t.TempDir(), "pmc.conf")
	require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
	return p
}

// TestParseConfig: -f reads pmc's options from [global], the flags and
// long options win over the file, and what cannot sign is refused with
// the file's line.
func TestParseConfig(t *testing.T) {
	sa := saFile(t)
	conf := writeConf(t, "[global]\nsa_file "+sa+"\nspp 1\nactive_key_id 2\nallow_unauth 1\ndomainNumber 24\n"+
		"transportSpecific 2\nuds_address /run/roko\nnetwork_transport UDPv6\npriority1 9\n[eth0]\nspp 2\n")
	o, err := parse([]string{"-f", conf, "-i", "eth0", "GET DOMAIN"})
	require.NoError(t, err)
	assert.Equal(t, ptp.ProtocolUDPIPv6, o.cfg.Network)
	assert.Equal(t, uint8(24), o.cfg.Domain)
	assert.Equal(t, uint8(2), o.cfg.TransportSpecific)
	assert.Equal(t, "/run/roko", o.cfg.Server)
	require.NotNil(t, o.cfg.SA)
	assert.Equal(t, uint8(1), o.cfg.SA.SPP, "[global]'s spp, not a port's")
	assert.Equal(t, uint32(2), o.cfg.Key.ID)
	assert.Equal(t, auth.AcceptUnauthResponses, o.cfg.AllowUnauth)

	o, err = parse([]string{"-u", "-d", "3", "-t", "a", "-s", "/tmp/x", "--allow_unauth=2", "--active_key_id", "1", "-f", conf, "GET DOMAIN"})
	require.NoError(t, err)
	assert.Equal(t, ptp.NetworkProtocol(0), o.cfg.Network, "-u wins over the file")
	assert.Equal(t, uint8(3), o.cfg.Domain)
	assert.Equal(t, uint8(0xa), o.cfg.TransportSpecific)
	assert.Equal(t, "/tmp/x", o.cfg.Server)
	assert.Equal(t, uint32(1), o.cfg.Key.ID)
	assert.Equal(t, auth.AcceptFailedResponses, o.cfg.AllowUnauth)

	o, err = parse([]string{"-u", "--sa_file", sa, "--spp=1", "--active_key_id=1", "GET DOMAIN"})
	require.NoError(t, err)
	require.NotNil(t, o.cfg.SA, "the association from long options alone")

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"spp without sa_file", []string{"-u", "-f", writeConf(t, "[global]\nspp 1\nactive_key_id 1\n")}, "pmc.conf:2: spp 1 needs sa_file"},
		{"no such key", []string{"-u", "-f", writeConf(t, "[global]\nsa_file "+sa+"\nspp 1\nactive_key_id 9\n")}, "active_key_id 9: security association 1"},
		{"missing file", []string{"-u", "-f", "/nonexistent/pmc.conf"}, "/nonexistent/pmc.conf"},
		{"unknown long option", []string{"-u", "--frobnicate=1"}, "unknown option frobnicate"},
		{"bad allow_unauth", []string{"-u", "--allow_unauth=3"}, "allow_unauth"},
		{"transportSpecific out of range", []string{"-u", "-t", "0x10"}, "transportSpecific"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(append(tc.args, "GET DOMAIN"))
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

// startPtpd runs roko-ptpd in-process on link, free running, its UNIX
// socket at uds, until the test ends; it returns the daemon's clock
// identity and its log.
func startPtpd(t *testing.T, link netns.Link, uds string, args ...string) (string, *testenv.Buffer) {
	t.Helper()
	cmd, err := ptpd.ParseArgs(append([]string{"-i", link.Name, "-S", "-q", "--uds_address=" + uds, "--uds_ro_address=" + uds + "ro"}, args...))
	require.NoError(t, err)
	set, err := cmd.Config.Resolve()
	require.NoError(t, err)
	log := &testenv.Buffer{}
	var d *ptpd.Daemon
	require.NoError(t, link.NS.Do(func() error {
		var err error
		d, err = ptpd.New(ptpd.Options{Settings: set, Log: ptplog.New("roko-ptpd", 6, "", log, log)})
		return err
	}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		d.Close()
		if t.Failed() {
			t.Logf("roko-ptpd on %s:\n%s", link.Name, log.String())
		}
	})
	var id string
	require.True(t, d.Do(context.Background(), func(e *engine.Clock) { id = e.DefaultDS().ClockIdentity.String() }))
	for range 100 {
		if _, err := os.Stat(uds); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return id, log
}

// TestAuthAgainstDaemons: roko-pmc with the security association of
// -f's file is answered by a roko-ptpd whose management is protected by
// [global] spp, over its UNIX socket and over UDPv4; without it, it is
// not, and the daemon logs why. allow_unauth 1 takes the unsigned answers
// of a daemon without authentication, which allow_unauth 0 refuses and
// counts. linuxptp 4.4's ptp4l with [global] spp answers roko-pmc too.
func TestAuthAgainstDaemons(t *testing.T) {
	testenv.Short(t)
	sa := saFile(t)
	signed := writeConf(t, "[global]\nsa_file "+sa+"\nspp 1\nactive_key_id 2\n")
	la, lb := netns.Veth(t, netns.New(t), "198.18.0.1", netns.New(t), "198.18.0.2")
	uds := filepath.Join(t.TempDir(), "roko")
	id, log := startPtpd(t, la, uds, "--domainNumber=24", "-4", "--sa_file="+sa, "--spp=1", "--active_key_id=1")
	idRe := regexp.MustCompile(`clockIdentity\s+` + regexp.QuoteMeta(id))

	pmc := func(ns *netns.NS, args ...string) (string, string) {
		var out, errOut bytes.Buffer
		run := func() error { return run(append(args, "GET DEFAULT_DATA_SET"), &out, &errOut) }
		if ns != nil {
			require.NoError(t, ns.Do(run))
		} else {
			require.NoError(t, run())
		}
		t.Logf("roko-pmc %s:\n%s%s", strings.Join(args, " "), out.String(), errOut.String())
		return out.String(), errOut.String()
	}

	t.Run("socket", func(t *testing.T) {
		out, errOut := pmc(nil, "-u", "-b", "0", "-d", "24", "-s", uds, "-f", signed)
		assert.Regexp(t, idRe, out)
		assert.Empty(t, errOut)
		out, _ = pmc(nil, "-u", "-b", "0", "-d", "24", "-s", uds)
		assert.NotRegexp(t, idRe, out, "answered without the association")
		assert.Contains(t, log.String(), "auth: bad message: no_auth_tlv")
	})
	t.Run("UDPv4", func(t *testing.T) {
		out, errOut := pmc(lb.NS, "-4", "-i", lb.Name, "-b", "1", "-d", "24", "-f", signed)
		assert.Regexp(t, idRe, out)
		assert.Empty(t, errOut)
		out, _ = pmc(lb.NS, "-4", "-i", lb.Name, "-b", "1", "-d", "24")
		assert.NotRegexp(t, idRe, out, "answered without the association")
	})
	t.Run("allow_unauth levels", func(t *testing.T) {
		plain := timeSourceDaemon(t, make(chan int, 4))
		for _, tc := range []struct {
			allow    string
			answered bool
		}{{"0", false}, {"1", true}} {
			var out, errOut bytes.Buffer
			require.NoError(t, run([]string{"-u", "-b", "0", "-s", plain, "-f", signed, "--allow_unauth", tc.allow, "GET TIME_SOURCE_NP"}, &out, &errOut))
			if tc.answered {
				assert.Contains(t, out.String(), "RESPONSE MANAGEMENT TIME_SOURCE_NP", "allow_unauth %s", tc.allow)
				assert.Empty(t, errOut.String())
			} else {
				assert.NotContains(t, out.String(), "RESPONSE", "allow_unauth %s", tc.allow)
				assert.Equal(t, "auth: bad message: no_auth_tlv (1)\n", errOut.String())
			}
		}
	})
	t.Run("ptp4l 4.4", func(t *testing.T) {
		bin := linuxptp.Build44(t)
		l, _ := netns.Veth(t, netns.New(t), "198.18.0.3", netns.New(t), "198.18.0.4")
		p := linuxptp.StartPTP4L(t, l, linuxptp.Options{Binary: bin + "/ptp4l", Flags: []string{"-4"}, Domain: 24,
			Config: "sa_file " + sa + "\nspp 1\nactive_key_id 1\n"})
		out, errOut := pmc(nil, "-u", "-b", "0", "-d", "24", "-s", p.UDS, "-f", signed)
		assert.Contains(t, out, "RESPONSE MANAGEMENT DEFAULT_DATA_SET")
		assert.Empty(t, errOut)
		out, _ = pmc(nil, "-u", "-b", "0", "-d", "24", "-s", p.UDS)
		assert.NotContains(t, out, "RESPONSE", "ptp4l answered without the association")
	})
}
