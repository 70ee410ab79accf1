package doctor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/roko-network/roko-ptpd/phc"
	"github.com/roko-network/roko-ptpd/ptp/config"
	"github.com/roko-network/roko-ptpd/transport"
)

// tree is a fake host: /sys, /proc, /etc, /run, /dev, /boot under a
// temporary root.
type tree struct {
	t    *testing.T
	root string
}

func newTree(t *testing.T) *tree { return &tree{t, t.TempDir()} }

func (tr *tree) file(path, content string) *tree {
	p := filepath.Join(tr.root, path)
	require.NoError(tr.t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(tr.t, os.WriteFile(p, []byte(content), 0o644))
	return tr
}

func (tr *tree) link(path, target string) *tree {
	p := filepath.Join(tr.root, path)
	require.NoError(tr.t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(tr.t, os.Symlink(target, p))
	return tr
}

func (tr *tree) dir(path string) *tree {
	require.NoError(tr.t, os.MkdirAll(filepath.Join(tr.root, path), 0o755))
	return tr
}

// iface makes /sys/class/net/NAME with its flags, operstate and carrier.
func (tr *tree) iface(name string, flags uint32, oper, carrier string) *tree {
	d := "/sys/class/net/" + name + "/"
	tr.file(d+"flags", fmt.Sprintf("0x%x\n", flags)).file(d+"operstate", oper+"\n")
	if carrier != "" {
		tr.file(d+"carrier", carrier+"\n")
	}
	return tr
}

// proc makes /proc/PID with its name, command line, network namespace
// and threads, each with a scheduling policy and priority.
func (tr *tree) proc(pid int, args []string, netns string, policies ...[2]int) *tree {
	d := fmt.Sprintf("/proc/%d/", pid)
	comm := filepath.Base(args[0])
	if len(comm) > 15 {
		comm = comm[:15]
	}
	tr.file(d+"comm", comm+"\n").file(d+"cmdline", strings.Join(args, "\x00")+"\x00")
	if netns != "" {
		tr.link(d+"ns/net", netns)
	}
	if len(policies) == 0 {
		policies = [][2]int{{0, 0}}
	}
	for i, pp := range policies {
		tr.file(fmt.Sprintf("%stask/%d/stat", d, pid+i), stat(pid+i, comm, pp[0], pp[1]))
	}
	return tr
}

// stat is a /proc/PID/stat line: 52 fields, rt_priority at 40 and policy
// at 41, and a command name with a space and a parenthesis to trip a
// naive reader.
func stat(pid int, comm string, policy, prio int) string {
	f := []string{fmt.Sprint(pid), "(" + comm + " x)", "S"}
	for i := 4; i <= 52; i++ {
		switch i {
		case 40:
			f = append(f, fmt.Sprint(prio))
		case 41:
			f = append(f, fmt.Sprint(policy))
		default:
			f = append(f, "0")
		}
	}
	return strings.Join(f, " ") + "\n"
}

// fakeNIC answers for the interfaces' drivers.
type fakeNIC struct {
	ts       map[string]phc.TimestampingInfo
	tsErr    error
	co       transport.Coalescing
	coErr    error
	rings    transport.Rings
	ringsErr error
}

func (n *fakeNIC) Timestamping(ifname string) (phc.TimestampingInfo, error) {
	if n.tsErr != nil {
		return phc.TimestampingInfo{}, n.tsErr
	}
	return n.ts[ifname], nil
}
func (n *fakeNIC) Coalescing(string) (transport.Coalescing, error) { return n.co, n.coErr }
func (n *fakeNIC) Rings(string) (transport.Rings, error)           { return n.rings, n.ringsErr }

// host is tr with nic, and the commands' outputs (a missing command is
// not installed).
func (tr *tree) host(nic NIC, commands map[string]string) Host {
	return Host{Root: tr.root, NIC: nic, Release: "6.1.0-test",
		Command: func(name string, args ...string) ([]byte, error) {
			out, ok := commands[name]
			if !ok {
				return nil, fmt.Errorf("%s: %w", name, exec.ErrNotFound)
			}
			if strings.HasPrefix(out, "ERROR ") {
				return nil, fmt.Errorf("%s", strings.TrimPrefix(out, "ERROR "))
			}
			return []byte(out), nil
		},
		NftTables: func() ([]transport.NftTable, error) { return nil, nil },
	}
}

// Capabilities of a NIC with a PHC, and of a veth.
var (
	hwInfo = phc.TimestampingInfo{Interface: "eth0", PHCIndex: 0,
		SoTimestamping: unix.SOF_TIMESTAMPING_TX_HARDWARE | unix.SOF_TIMESTAMPING_RX_HARDWARE | unix.SOF_TIMESTAMPING_RAW_HARDWARE |
			unix.SOF_TIMESTAMPING_TX_SOFTWARE | unix.SOF_TIMESTAMPING_RX_SOFTWARE | unix.SOF_TIMESTAMPING_SOFTWARE,
		TxTypes:   1<<unix.HWTSTAMP_TX_OFF | 1<<unix.HWTSTAMP_TX_ON,
		RxFilters: 1<<unix.HWTSTAMP_FILTER_NONE | 1<<unix.HWTSTAMP_FILTER_PTP_V2_L4_EVENT | 1<<unix.HWTSTAMP_FILTER_PTP_V2_L2_EVENT | 1<<unix.HWTSTAMP_FILTER_PTP_V2_EVENT}
	swInfo = phc.TimestampingInfo{Interface: "eth0", PHCIndex: -1,
		SoTimestamping: unix.SOF_TIMESTAMPING_TX_SOFTWARE | unix.SOF_TIMESTAMPING_RX_SOFTWARE | unix.SOF_TIMESTAMPING_SOFTWARE}
)

// portsFor resolves a configuration text into the ports the checks see.
func portsFor(t *testing.T, conf string) []port {
	c, err := config.Parse(strings.NewReader(conf), "test.conf")
	require.NoError(t, err)
	set, err := c.Resolve()
	require.NoError(t, err)
	return portsOf(set)
}

// defaultPort is eth0 with ptp4l's defaults: hardware, UDPv4, E2E.
func defaultPort(t *testing.T) port { return portsFor(t, "[eth0]\n")[0] }

// TestConfigCheck: the configuration loads (PASS, with what it asks), is
// absent (SKIP, with the defaults), warns (WARN), or fails with its file
// and line (FAIL); the ports follow it.
func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) *config.Config {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		c, err := config.Load(p)
		require.NoError(t, err)
		return c
	}
	good := write("good.conf", "[global]\ntime_stamping software\nnetwork_transport L2\ndelay_mechanism P2P\n[eth1]\n")
	warned := write("warn.conf", "[global]\nassumeReversible 1\n[eth0]\n")
	unresolved := write("bad.conf", "[global]\nvirtual_clock 1\nemulated_hardware 1\n[eth0]\n")
	noIface := write("noiface.conf", "[global]\ndomainNumber 0\n")
	_, loadErr := config.Parse(strings.NewReader("[global]\nlogSyncInterval x\n"), "broken.conf")
	require.Error(t, loadErr)
	args := config.New("command line")
	args.AddInterface("eth2")

	for _, tc := range []struct {
		name   string
		opt    Options
		status Status
		detail string
		ifaces []string
	}{
		{"loads", Options{Config: good}, Pass, filepath.Join(dir, "good.conf") + " loads: eth1; time_stamping software, L2, P2P", []string{"eth1"}},
		{"no file: the defaults", Options{Interfaces: []string{"eth0"}}, Skip, "no configuration file given (-f FILE): checked against ptp4l's defaults (time_stamping hardware, UDPv4, E2E)", []string{"eth0"}},
		{"command line only", Options{Config: args}, Skip, "checked against ptp4l's defaults", []string{"eth2"}},
		{"warns", Options{Config: warned}, Warn, "warn.conf:2: option assumeReversible: ", []string{"eth0"}},
		{"does not resolve", Options{Config: unresolved}, Fail, "emulated_hardware 1 and virtual_clock 1: choose one", []string{"eth0"}},
		{"does not load", Options{Config: config.New("broken.conf"), ConfigErr: loadErr}, Fail, "broken.conf:2: ", []string{}},
		{"no interface", Options{Config: noIface}, Fail, "noiface.conf: no interface specified", []string{}},
		{"nothing at all", Options{}, Skip, "no configuration file given (-f FILE): nothing to load", []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ports, c := resolve(tc.opt)
			assert.Equal(t, tc.status, c.Status, c.Detail)
			assert.Contains(t, c.Detail, tc.detail)
			assert.Equal(t, tc.status == Fail || tc.status == Warn, c.Fix != "", "a fix on WARN and FAIL only")
			got := []string{}
			for _, p := range ports {
				got = append(got, p.ifname)
			}
			assert.Equal(t, tc.ifaces, got)
		})
	}
	ports, _ := resolve(Options{Config: good})
	assert.False(t, ports[0].hardware())
	assert.True(t, ports[0].p2p)
	assert.Equal(t, "01:80:c2:00:00:0e", ports[0].dst.P2PMAC.String())
}

// TestReport: the overall status and exit code are the worst check's,
// SKIP counting as PASS; the text shows each fix under its check; the
// JSON is the documented object and reads back whole.
func TestReport(t *testing.T) {
	for _, tc := range []struct {
		statuses []Status
		want     Status
		code     int
	}{
		{nil, Pass, 0},
		{[]Status{Pass, Skip}, Pass, 0},
		{[]Status{Pass, Warn, Skip}, Warn, 1},
		{[]Status{Fail, Warn, Pass}, Fail, 2},
		{[]Status{Warn, Fail}, Fail, 2},
	} {
		r := &Report{Status: Pass}
		for i, s := range tc.statuses {
			r.add(Check{Name: fmt.Sprint(i), Status: s})
		}
		assert.Equal(t, tc.want, r.Status, "%v", tc.statuses)
		assert.Equal(t, tc.code, r.ExitCode(), "%v", tc.statuses)
	}

	r := &Report{Status: Pass, Interfaces: []string{"eth0"}}
	r.add(Check{Name: CheckConfig, Status: Skip, Detail: "no file"})
	r.add(Check{Name: CheckTimestamping, Interface: "eth0", Status: Fail, Detail: "software only", Fix: "use -S"})
	r.add(Check{Name: CheckRings, Interface: "eth0", Status: Warn, Detail: "rx 256 of at most 4096", Fix: "ethtool -G eth0 rx 4096"})
	var text bytes.Buffer
	r.WriteText(&text)
	assert.Equal(t, "roko-ptpctl doctor eth0\n"+
		"SKIP  config                 no file\n"+
		"FAIL  timestamping           software only\n"+
		"                             fix: use -S\n"+
		"WARN  ring sizes             rx 256 of at most 4096\n"+
		"                             fix: ethtool -G eth0 rx 4096\n"+
		"FAIL: 1 FAIL, 1 WARN, 0 PASS, 1 SKIP\n", text.String())

	var js bytes.Buffer
	require.NoError(t, r.WriteJSON(&js))
	var raw map[string]any
	require.NoError(t, json.Unmarshal(js.Bytes(), &raw))
	assert.Equal(t, "FAIL", raw["status"])
	assert.Equal(t, []any{"eth0"}, raw["interfaces"])
	checks := raw["checks"].([]any)
	require.Len(t, checks, 3)
	assert.Equal(t, map[string]any{"name": "config", "status": "SKIP", "detail": "no file"}, checks[0], "no interface or fix when there is none")
	assert.Equal(t, map[string]any{"name": "timestamping", "interface": "eth0", "status": "FAIL", "detail": "software only", "fix": "use -S"}, checks[1])
	var back Report
	require.NoError(t, json.Unmarshal(js.Bytes(), &back))
	assert.Equal(t, *r, back)
}

// TestRunFakeHost: the whole doctor over a fake host with a veth-like
// interface and no daemons reports exactly what is missing, and its
// exit code is FAIL's.
func TestRunFakeHost(t *testing.T) {
	tr := newTree(t).iface("veth0", iffUp|iffMulticast|0x2, "up", "1").
		file("/proc/net/igmp", "Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n").
		link("/proc/self/ns/net", "net:[1]").dir("/sys/class/ptp")
	nic := &fakeNIC{ts: map[string]phc.TimestampingInfo{"veth0": swInfo}, coErr: unix.EOPNOTSUPP, ringsErr: unix.EOPNOTSUPP}
	r := Run(tr.host(nic, nil), Options{Interfaces: []string{"veth0"}})
	got := map[string]Status{}
	for _, c := range r.Checks {
		got[c.Name] = c.Status
	}
	assert.Equal(t, map[string]Status{
		CheckConfig: Skip, CheckInterface: Pass, CheckTimestamping: Fail, CheckPHC: Fail, CheckCoalescing: Pass,
		CheckRings: Pass, CheckLinkErrors: Pass, CheckMulticast: Warn, CheckFirewall: Pass, CheckKernel: Pass,
		CheckTimeDaemons: Pass, CheckPTPDaemons: Pass, CheckScheduling: Skip, CheckIRQBalance: Pass, CheckCPUFrequency: Pass,
	}, got)
	assert.Len(t, r.Checks, 15)
	assert.Equal(t, Fail, r.Status)
	assert.Equal(t, 2, r.ExitCode())
	assert.Equal(t, []string{"veth0"}, r.Interfaces)

	// No interface: the interface checks are one SKIP.
	r = Run(tr.host(nic, nil), Options{})
	assert.Equal(t, CheckInterface, r.Checks[1].Name)
	assert.Equal(t, Skip, r.Checks[1].Status)
	assert.Contains(t, r.Checks[1].Detail, "roko-ptpctl doctor IFACE")
	assert.Len(t, r.Checks, 9)
}
