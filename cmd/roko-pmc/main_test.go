package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/roko-network/roko-ptpd/internal/mgmt/mgmttest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/linuxptp"
	"github.com/roko-network/roko-ptpd/internal/mgmt"
	"github.com/roko-network/roko-ptpd/internal/netns"
	"github.com/roko-network/roko-ptpd/internal/testenv"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/transport"
)

func TestParse(t *testing.T) {
	o, err := parse([]string{"-u", "-b", "0", "-d24", "-s", "/tmp/x", "-t", "0x1", "-z", "GET CURRENT", "SET PRIORITY1 9"})
	require.NoError(t, err)
	assert.Equal(t, mgmt.Config{Server: "/tmp/x", Domain: 24, BoundaryHops: 0, TransportSpecific: 1}, o.cfg)
	assert.True(t, o.zeroLength)
	assert.Equal(t, []string{"GET CURRENT", "SET PRIORITY1 9"}, o.commands)
	_, err = parse([]string{"-4", "GET CURRENT"})
	assert.ErrorContains(t, err, "give -i")
	o4, err := parse([]string{"-i", "eth0", "GET CURRENT"})
	require.NoError(t, err)
	assert.Equal(t, ptp.ProtocolUDPIPv4, o4.cfg.Network, "UDPv4 is pmc's default")
	assert.Equal(t, uint8(1), o4.cfg.BoundaryHops, "one boundary hop is pmc's default")
	for args, want := range map[string]ptp.NetworkProtocol{"-2": ptp.ProtocolIEEE802_3, "-6": ptp.ProtocolUDPIPv6, "-u -6": ptp.ProtocolUDPIPv6, "-6 -u": 0} {
		o, err := parse(append(strings.Fields(args), "-i", "eth0"))
		require.NoError(t, err)
		assert.Equal(t, want, o.cfg.Network, "%s: the last transport flag wins", args)
	}
	_, err = parse([]string{"-x"})
	assert.ErrorContains(t, err, "invalid option")

	// The requests, through a client of a socket nobody answers.
	srv, err := transport.ListenUDS(filepath.Join(t.TempDir(), "ptp4l"), 0o600)
	require.NoError(t, err)
	defer srv.Close()
	o.cfg.Server, o.cfg.Local = srv.Path(), filepath.Join(t.TempDir(), "pmc")
	c, err := mgmt.Open(o.cfg)
	require.NoError(t, err)
	defer c.Close()
	m, name, err := request(c, o, "get curr")
	require.NoError(t, err)
	assert.Equal(t, "GET CURRENT_DATA_SET", name, "pmc's prefix rule and canonical name")
	assert.Equal(t, uint16(0), m.SequenceID)
	assert.Equal(t, uint8(24), m.DomainNumber)
	assert.Equal(t, uint8(1), m.MajorSdoID)
	_, _, err = request(c, o, "SET DEFAULT_DATA_SET 1")
	assert.Error(t, err)
	_, _, err = request(c, o, "FROB X")
	assert.Error(t, err)
	m, _, err = request(c, o, "SET PRIORITY1 9")
	require.NoError(t, err)
	assert.Equal(t, uint16(1), m.SequenceID, "refused commands take no sequenceId")
	d := ptp.Datum{ID: ptp.MIDPriority1}
	require.NoError(t, m.Data(&d))
	assert.Equal(t, uint8(9), d.Value)
}

// volatile masks the values that change between two reads of a running
// daemon.
var volatile = regexp.MustCompile(`(?m)^(\t\t(master_offset|ingress_time|offsetFromMaster|meanPathDelay|observedParentClockPhaseChangeRate|observedParentOffsetScaledLogVariance)\s+)\S+$`)

// blocks splits pmc output into its sending lines and its response blocks,
// each sorted, with volatile values masked: the order in which replies
// interleave with sends depends on timing in both programs.
func blocks(out string) []string {
	out = volatile.ReplaceAllString(out, "${1}X")
	var res []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			res = append(res, cur.String())
			cur.Reset()
		}
	}
	for _, l := range strings.SplitAfter(out, "\n") {
		switch {
		case strings.HasPrefix(l, "sending: "):
			flush()
			res = append(res, l)
		case strings.HasPrefix(l, "\t\t"):
			cur.WriteString(l)
		case l != "":
			flush()
			cur.WriteString(l)
		}
	}
	flush()
	sort.Strings(res)
	return res
}

// TestAgainstPTP4L: roko-pmc and linuxptp's pmc ask a running ptp4l the
// same questions over its UNIX socket and print the same text.
func TestAgainstPTP4L(t *testing.T) {
	p, _ := ptp4lPeer(t, "-4", 24)
	time.Sleep(1500 * time.Millisecond) // let it become master

	cmds := []string{"GET DEFAULT_DATA_SET", "GET CURRENT_DATA_SET", "GET PARENT_DATA_SET", "GET TIME_PROPERTIES_DATA_SET",
		"GET PORT_DATA_SET", "GET TIME_STATUS_NP", "GET PRIORITY1", "GET PRIORITY2", "GET DOMAIN", "GET SLAVE_ONLY",
		"GET CLOCK_ACCURACY", "GET LOG_ANNOUNCE_INTERVAL", "GET ANNOUNCE_RECEIPT_TIMEOUT", "GET LOG_SYNC_INTERVAL",
		"GET VERSION_NUMBER", "GET DELAY_MECHANISM", "GET GRANDMASTER_SETTINGS_NP", "GET PORT_PROPERTIES_NP",
		"GET PORT_DATA_SET_NP", "GET NULL_MANAGEMENT"}
	theirs, err := p.PMC(t, cmds...)
	require.NoError(t, err)
	args := p.PMCArgs(cmds...)
	var ours bytes.Buffer
	require.NoError(t, run(args, &ours, os.Stderr))
	require.Contains(t, theirs, "RESPONSE MANAGEMENT DEFAULT_DATA_SET")
	assert.Equal(t, blocks(theirs), blocks(ours.String()))

	// Interactive: the same commands from standard input.
	var inter bytes.Buffer
	require.NoError(t, runIO(args[:len(args)-len(cmds)], strings.NewReader(strings.Join(cmds, "\n")+"\n"), &inter, os.Stderr))
	assert.Equal(t, blocks(theirs), blocks(inter.String()))

	t.Run("bad commands take no sequenceId", func(t *testing.T) {
		pmc := testenv.RequireCommand(t, "pmc", "linuxptp")
		args := p.PMCArgs("GET NOSUCH", "GET DOMAIN", "FROB X", "GET", "GET PRIORITY1")
		var theirErr bytes.Buffer
		c := exec.Command(pmc, args...)
		c.Stderr = &theirErr
		theirs, err := c.Output()
		require.NoError(t, err)
		var ours, ourErr bytes.Buffer
		require.NoError(t, run(args, &ours, &ourErr))
		require.Contains(t, string(theirs), "seq 1 RESPONSE MANAGEMENT PRIORITY1")
		assert.Equal(t, blocks(string(theirs)), blocks(ours.String()))
		assert.Equal(t, theirErr.String(), ourErr.String())
	})
}

func TestJSON(t *testing.T) {
	p, _ := ptp4lPeer(t, "-4", 0)
	var out bytes.Buffer
	require.NoError(t, run([]string{"-u", "-b", "0", "-s", p.UDS, "--json", "GET DEFAULT_DATA_SET", "GET NOSUCH"}, &out, os.Stderr))
	var r struct {
		Source, Action, ID string
		Data               map[string]any
	}
	require.NoError(t, json.Unmarshal(bytes.SplitN(out.Bytes(), []byte("\n"), 2)[0], &r))
	assert.Equal(t, "RESPONSE", r.Action)
	assert.Equal(t, "DEFAULT_DATA_SET", r.ID)
	assert.Contains(t, r.Data, "Priority1")
}

// ptp4lPeer runs linuxptp's ptp4l (free running) on the network transport
// that ptp4l's flag (-2, -4 or -6) chooses, in a namespace of its own
// until the test ends, and returns it with the far end of its link, in
// another namespace, for network management. Sync goes at ptp4l's default
// 1 Hz: linuxptp's pmc on the network listens on the general port and
// exits only once it has heard nothing for a while, which a Follow_Up
// every 62.5 ms never lets happen.
func ptp4lPeer(t *testing.T, transportFlag string, domain uint8) (*linuxptp.PTP4L, netns.Link) {
	t.Helper()
	l, peer := netns.Veth(t, netns.New(t), "198.18.0.1", netns.New(t), "198.18.0.2")
	return linuxptp.StartPTP4L(t, l, linuxptp.Options{Flags: []string{transportFlag}, Domain: domain, Config: "logSyncInterval 0\n"}), peer
}

// TestNetworkAgainstPTP4L: roko-pmc and linuxptp's pmc ask ptp4l the same
// questions over each network transport and print the same text.
func TestNetworkAgainstPTP4L(t *testing.T) {
	pmc := testenv.RequireCommand(t, "pmc", "linuxptp")
	for _, flag := range []string{"-4", "-2", "-6"} {
		t.Run(flag, func(t *testing.T) {
			_, peer := ptp4lPeer(t, flag, 24)
			time.Sleep(1500 * time.Millisecond)
			cmds := []string{"GET DEFAULT_DATA_SET", "GET PARENT_DATA_SET", "GET PORT_DATA_SET", "GET PRIORITY1", "GET DOMAIN"}
			args := append([]string{flag, "-i", peer.Name, "-b", "1", "-d", "24"}, cmds...)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c := peer.NS.Command(pmc, args...)
			theirs, err := exec.CommandContext(ctx, c.Path, c.Args[1:]...).Output()
			require.NoError(t, err)
			var ours bytes.Buffer
			require.NoError(t, peer.NS.Do(func() error { return run(args, &ours, os.Stderr) }))
			require.Contains(t, string(theirs), "RESPONSE MANAGEMENT DEFAULT_DATA_SET")
			assert.Equal(t, blocks(string(theirs)), blocks(ours.String()))
		})
	}
}

// timeSourceDaemon answers GET TIME_SOURCE_NP as a grandmaster with a
// GPS time source would (the daemon's side is not needed to test the
// client's), and passes each request's dataField length on to lens.
func timeSourceDaemon(t *testing.T, lens chan<- int) string {
	return mgmttest.Daemon(t, func(_ *ptp.Management, id ptp.ManagementID, data []byte) (ptp.ManagementData, bool) {
		if id != ptp.MIDTimeSourceNP {
			return nil, false
		}
		lens <- len(data)
		return &ptp.TimeSourceNP{State: ptp.TimeSourceLocked, Fix: 1, PulseInput: ptp.PulseInputEXTTS,
			RMS: 18, ClockClass: 6, TimeSource: ptp.TimeSourceGNSS, Pulses: 724}, true
	})
}

// roko-pmc asks for roko-ptpd's own TIME_SOURCE_NP by name (or a unique
// prefix) and prints the answer as text or JSON.
func TestGetTimeSourceNP(t *testing.T) {
	lens := make(chan int, 4)
	uds := timeSourceDaemon(t, lens)
	for _, tc := range []struct {
		name    string
		args    []string
		dataLen int
		want    []string
	}{
		{"text", []string{"GET TIME_SOURCE_NP"}, ptp.TimeSourceNPLen,
			[]string{"sending: GET TIME_SOURCE_NP\n", " seq 0 RESPONSE MANAGEMENT TIME_SOURCE_NP \n",
				"\n\t\tstate                LOCKED\n", "\n\t\tpulses               724\n"}},
		{"prefix, zero-length GET", []string{"-z", "get time_so"}, 0,
			[]string{"sending: GET TIME_SOURCE_NP\n", "\n\t\trms                  18\n"}},
		{"json", []string{"--json", "GET TIME_SOURCE_NP"}, ptp.TimeSourceNPLen,
			[]string{`"id":"TIME_SOURCE_NP"`, `"State":1`, `"Pulses":724`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			require.NoError(t, run(append([]string{"-u", "-b", "0", "-s", uds}, tc.args...), &out, &errOut))
			assert.Empty(t, errOut.String())
			for _, w := range tc.want {
				assert.Contains(t, out.String(), w)
			}
			select {
			case n := <-lens:
				assert.Equal(t, tc.dataLen, n, "a GET carries a zeroed dataField unless -z, as pmc")
			default:
				t.Fatal("the daemon saw no GET TIME_SOURCE_NP")
			}
		})
	}
}
