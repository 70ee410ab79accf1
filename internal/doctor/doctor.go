// Package doctor is roko-ptpctl doctor: the operator guide's
// prerequisites, tuning and troubleshooting steps, which an operator would
// otherwise walk through by hand with ethtool, ls /dev/ptp*, zgrep
// /proc/config.gz, systemctl, chrt and iptables, run as checks of one host
// and one or more interfaces. Each check says PASS, WARN, FAIL or SKIP
// (nothing to check, for example no daemon runs), what it saw, and on WARN
// and FAIL the command that fixes it.
//
// It reads: the kernel's files under /sys, /proc, /etc, /run, /dev and
// /boot, through Host.Root so that tests point it at a fake tree; the
// interface's driver (ETHTOOL_GET_TS_INFO, ETHTOOL_GCOALESCE,
// ETHTOOL_GRINGPARAM) through Host.NIC; nftables over netlink; and, when
// they are installed, the output of nft and iptables-save. It changes
// nothing and sends nothing.
//
// The report as JSON (WriteJSON) is one object:
//
//	{"status": "FAIL", "interfaces": ["eth0"],
//	 "checks": [{"name": "timestamping", "interface": "eth0",
//	             "status": "FAIL", "detail": "...", "fix": "..."}, ...]}
//
// status is the worst of the checks' (SKIP counts as PASS); interface is
// present on the checks of one interface; fix is present on WARN and
// FAIL. The names of the checks are stable (see the Check* constants).
package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/roko-network/roko-ptpd/phc"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/config"
	"github.com/roko-network/roko-ptpd/transport"
)

// Status is a check's verdict.
type Status string

// Verdicts, from best to worst.
const (
	// Pass: nothing to do.
	Pass Status = "PASS"
	// Skip: there was nothing to check (no daemon runs, the setting does
	// not apply); it counts as a pass.
	Skip Status = "SKIP"
	// Warn: it works, but not as well as it could; the fix says how.
	Warn Status = "WARN"
	// Fail: roko-ptpd will not work, or not as configured; the fix says
	// what to do.
	Fail Status = "FAIL"
)

// rank orders the verdicts for the worst of a report.
func (s Status) rank() int {
	switch s {
	case Warn:
		return 1
	case Fail:
		return 2
	}
	return 0
}

// Names of the checks, stable for scripts that read --json.
const (
	CheckConfig        = "config"
	CheckInterface     = "interface"
	CheckTimestamping  = "timestamping"
	CheckPHC           = "PHC"
	CheckCoalescing    = "interrupt coalescing"
	CheckRings         = "ring sizes"
	CheckLinkErrors    = "link errors"
	CheckMulticast     = "multicast"
	CheckFirewall      = "firewall"
	CheckKernel        = "kernel PTP support"
	CheckTimeDaemons   = "time daemons"
	CheckPTPDaemons    = "PTP daemons"
	CheckScheduling    = "scheduling priority"
	CheckIRQBalance    = "interrupt affinity"
	CheckCPUFrequency  = "CPU frequency governor"
	checkNameTextWidth = 22
)

// Check is one line of the report.
type Check struct {
	Name      string `json:"name"`
	Interface string `json:"interface,omitempty"`
	Status    Status `json:"status"`
	Detail    string `json:"detail"`
	Fix       string `json:"fix,omitempty"`
}

// Report is the whole examination.
type Report struct {
	// Status is the worst of the checks' verdicts, Skip counting as Pass.
	Status     Status   `json:"status"`
	Interfaces []string `json:"interfaces"`
	Checks     []Check  `json:"checks"`
}

// add appends c and keeps Status the worst.
func (r *Report) add(c Check) {
	r.Checks = append(r.Checks, c)
	if c.Status.rank() > r.Status.rank() {
		r.Status = c.Status
	}
}

// ExitCode is the exit status of roko-ptpctl doctor for the report: 0 when
// every check passed or was skipped, 1 when the worst is a WARN, 2 when
// one failed. (3 is left for a doctor that could not run, as the
// monitoring plugins' convention has it.)
func (r *Report) ExitCode() int { return r.Status.rank() }

// WriteText prints the report: a line a check, the fix under it.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "roko-ptpctl doctor %s\n", strings.Join(r.Interfaces, " "))
	counts := map[Status]int{}
	for _, c := range r.Checks {
		counts[c.Status]++
		name := c.Name
		if c.Interface != "" && len(r.Interfaces) > 1 {
			name += " " + c.Interface
		}
		fmt.Fprintf(w, "%-4s  %-*s %s\n", c.Status, checkNameTextWidth, name, c.Detail)
		if c.Fix != "" {
			fmt.Fprintf(w, "      %-*s fix: %s\n", checkNameTextWidth, "", c.Fix)
		}
	}
	fmt.Fprintf(w, "%s: %d FAIL, %d WARN, %d PASS, %d SKIP\n", r.Status, counts[Fail], counts[Warn], counts[Pass], counts[Skip])
}

// WriteJSON prints the report as the JSON object the package describes.
func (r *Report) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// NIC is what the doctor asks an interface's driver.
type NIC interface {
	// Timestamping is ETHTOOL_GET_TS_INFO ('ethtool -T').
	Timestamping(ifname string) (phc.TimestampingInfo, error)
	// Coalescing is ETHTOOL_GCOALESCE ('ethtool -c'); a driver without
	// it answers an error that errors.Is unix.EOPNOTSUPP.
	Coalescing(ifname string) (transport.Coalescing, error)
	// Rings is ETHTOOL_GRINGPARAM ('ethtool -g'), likewise.
	Rings(ifname string) (transport.Rings, error)
}

// Host is what the doctor examines.
type Host struct {
	// Root is where the host's /sys, /proc, /etc, /run, /dev and /boot
	// are: "/" for this host, a fake tree in tests.
	Root string
	// NIC asks the interfaces' drivers.
	NIC NIC
	// Command runs an installed program (nft, iptables-save) and returns
	// its standard output; a program that is not installed answers an
	// error that errors.Is exec.ErrNotFound.
	Command func(name string, args ...string) ([]byte, error)
	// NftTables lists nftables' tables over netlink, for a host without
	// nft.
	NftTables func() ([]transport.NftTable, error)
	// Release is the running kernel's release (uname -r), for
	// /boot/config-RELEASE; "" reads /proc/sys/kernel/osrelease.
	Release string
}

// kernelNIC is the drivers of this host's interfaces.
type kernelNIC struct{}

func (kernelNIC) Timestamping(ifname string) (phc.TimestampingInfo, error) {
	return phc.InterfaceTimestamping(ifname)
}
func (kernelNIC) Coalescing(ifname string) (transport.Coalescing, error) {
	return transport.InterfaceCoalescing(ifname)
}
func (kernelNIC) Rings(ifname string) (transport.Rings, error) {
	return transport.InterfaceRings(ifname)
}

// System is this host, in the caller's network namespace.
func System() Host {
	return Host{Root: "/", NIC: kernelNIC{}, Command: runInstalled, NftTables: transport.NftTables}
}

// runInstalled runs a program from PATH or the sbin directories, which are
// not on every user's PATH.
func runInstalled(name string, args ...string) ([]byte, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/sbin"} {
			if _, serr := os.Stat(filepath.Join(dir, name)); serr == nil {
				p, err = filepath.Join(dir, name), nil
				break
			}
		}
		if err != nil {
			return nil, err
		}
	}
	out, err := exec.Command(p, args...).Output()
	if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
		return out, fmt.Errorf("%s: %v: %s", name, err, strings.TrimSpace(string(ee.Stderr)))
	}
	return out, err
}

// path is p under the host's root.
func (h Host) path(p string) string { return filepath.Join(h.Root, p) }

// read returns the trimmed contents of the file at p under the root.
func (h Host) read(p string) (string, error) {
	b, err := os.ReadFile(h.path(p))
	return strings.TrimSpace(string(b)), err
}

// Options are what to examine.
type Options struct {
	// Config is the daemon's configuration as its command line and file
	// give it (interfaces, time_stamping, transport, delay mechanism,
	// multicast groups): the checks judge the host against it. Nil is
	// ptp4l's defaults on Interfaces.
	Config *config.Config
	// ConfigErr is the error reading the configuration failed with,
	// reported as the config check's failure.
	ConfigErr error
	// Interfaces are checked with ptp4l's defaults when Config is nil.
	Interfaces []string
	// From, when not empty, says where Config came from (a running
	// daemon's command line), for the config check's detail.
	From string
}

// port is what the daemon will do on one interface.
type port struct {
	ifname       string
	timestamping ptp.Timestamping
	emulated     bool // emulated_hardware 1: the kernel's software timestamps stand in
	virtual      bool // virtual_clock 1: software timestamps, no PHC
	transport    ptp.NetworkProtocol
	p2p          bool
	dst          config.Destinations
}

// hardware reports whether the port needs the NIC's hardware timestamps.
func (p port) hardware() bool {
	return p.timestamping != ptp.TimestampingSoftware && !p.emulated && !p.virtual
}

// Run examines h as o says.
func Run(h Host, o Options) *Report {
	r := &Report{Status: Pass}
	ports, cfgCheck := resolve(o)
	for _, p := range ports {
		r.Interfaces = append(r.Interfaces, p.ifname)
	}
	if r.Interfaces == nil {
		r.Interfaces = []string{}
	}
	if o.From != "" {
		cfgCheck.Detail = o.From + ": " + cfgCheck.Detail
	}
	r.add(cfgCheck)
	procs := processes(h)
	if len(ports) == 0 {
		r.add(Check{Name: CheckInterface, Status: Skip, Detail: "no interface given: the interface checks need one (roko-ptpctl doctor IFACE, or -f FILE with an interface section)"})
	}
	for _, p := range ports {
		checkPort(h, p, r)
	}
	r.add(firewall(h, ports))
	r.add(kernelSupport(h))
	r.add(timeDaemons(h, procs))
	daemons := ptpDaemons(h, procs)
	r.add(ptpDaemonsCheck(daemons, ports))
	r.add(scheduling(h, daemons))
	r.add(irqBalance(procs))
	r.add(cpuGovernor(h))
	return r
}

// resolve turns the options into the ports to examine and the config
// check's verdict.
func resolve(o Options) ([]port, Check) {
	c := Check{Name: CheckConfig}
	cfg := o.Config
	if cfg == nil {
		cfg = config.New("defaults")
		for _, i := range o.Interfaces {
			cfg.AddInterface(i)
		}
	}
	ifaces := cfg.Interfaces()
	fallback := func() []port {
		// ptp4l's defaults, for interfaces whose settings are unknown.
		d := config.New("defaults")
		for _, i := range ifaces {
			d.AddInterface(i)
		}
		if set, err := d.Resolve(); err == nil {
			return portsOf(set)
		}
		return nil
	}
	if o.ConfigErr != nil {
		c.Status, c.Detail = Fail, o.ConfigErr.Error()
		c.Fix = "correct the file where the message points: roko-ptpd (and ptp4l) refuse to start with it"
		return fallback(), c
	}
	if len(ifaces) == 0 {
		if cfg.File == "defaults" || cfg.File == "command line" {
			c.Status, c.Detail = Skip, "no configuration file given (-f FILE): nothing to load"
		} else {
			c.Status, c.Detail = Fail, cfg.File+": no interface specified"
			c.Fix = "add an [IFACE] section to the file, or start roko-ptpd with -i IFACE"
		}
		return nil, c
	}
	set, err := cfg.Resolve()
	if err != nil {
		c.Status, c.Detail = Fail, err.Error()
		c.Fix = "correct the option the message names: roko-ptpd refuses to start with it"
		return fallback(), c
	}
	ps := portsOf(set)
	what := fmt.Sprintf("time_stamping %s, %s", set.Timestamping, networkTransport(ps[0].transport))
	if ps[0].p2p {
		what += ", P2P"
	} else {
		what += ", E2E"
	}
	switch {
	case set.Virtual != nil:
		what += ", virtual_clock 1"
	case set.EmulatedDir != "":
		what += ", emulated_hardware 1"
	}
	switch {
	case len(cfg.Warnings) > 0:
		var ws []string
		for _, w := range cfg.Warnings {
			ws = append(ws, w.String())
		}
		c.Status, c.Detail = Warn, strings.Join(ws, "; ")
		c.Fix = "the options named work differently from what the file may expect, or not at all: remove or change them"
	case cfg.File == "defaults" || cfg.File == "command line":
		c.Status, c.Detail = Skip, "no configuration file given (-f FILE): checked against ptp4l's defaults ("+what+")"
	default:
		c.Status, c.Detail = Pass, fmt.Sprintf("%s loads: %s; %s", cfg.File, strings.Join(ifaces, ", "), what)
	}
	return ps, c
}

// portsOf is what the daemon will do on each interface of set.
func portsOf(set *config.Settings) []port {
	var ps []port
	for _, sp := range set.Ports {
		ps = append(ps, port{ifname: sp.Interface, timestamping: set.Timestamping, emulated: set.EmulatedDir != "",
			virtual: set.Virtual != nil, transport: sp.Transport, p2p: sp.Engine.DelayMechanism == ptp.DelayMechanismP2P, dst: sp.Dst})
	}
	return ps
}

// networkTransport names a transport as ptp4l.conf's network_transport.
func networkTransport(p ptp.NetworkProtocol) string {
	switch p {
	case ptp.ProtocolIEEE802_3:
		return "L2"
	case ptp.ProtocolUDPIPv6:
		return "UDPv6"
	}
	return "UDPv4"
}
