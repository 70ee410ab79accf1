package doctor

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// timeDaemon is an NTP daemon that steers CLOCK_REALTIME, which phc2sys
// (or roko-ptpd's [phc2sys]) steers from the PHC: two steering one clock
// fight.
type timeDaemon struct {
	comm  string   // its name in /proc/PID/comm
	units []string // its systemd units, as distributions name them
}

var timeDaemonList = []timeDaemon{
	{"chronyd", []string{"chrony", "chronyd"}},
	{"ntpd", []string{"ntp", "ntpd", "ntpsec", "openntpd"}},
	{"systemd-timesyn", []string{"systemd-timesyncd"}}, // comm is cut to 15 bytes
}

// unitDirs are where systemctl enable puts a unit's symlinks.
var unitDirs = []string{"/etc/systemd/system/multi-user.target.wants", "/etc/systemd/system/sysinit.target.wants"}

// timeDaemons: no NTP daemon steers the system clock that phc2sys steers
// (the guide's systemctl stop/disable ntp ntpd chronyd), or chronyd
// follows the PHC itself (refclock PHC).
func timeDaemons(h Host, procs []Process) Check {
	c := Check{Name: CheckTimeDaemons, Status: Pass}
	// phc2sys in any network namespace steers the one system clock.
	var steerers []string
	for _, p := range named(procs, phc2sysNames...) {
		if slices.Contains(phc2sysTargets(p), "CLOCK_REALTIME") {
			steerers = append(steerers, describe(p))
		}
	}
	var details, fixes []string
	worst := func(s Status) {
		if s.rank() > c.Status.rank() {
			c.Status = s
		}
	}
	for _, d := range timeDaemonList {
		running := named(procs, d.comm)
		if len(running) == 0 {
			if enabled := enabledUnit(h, d.units); enabled != "" {
				worst(Warn)
				details = append(details, enabled+" is stopped but enabled: it starts at the next boot")
				fixes = append(fixes, "systemctl disable "+enabled)
			}
			continue
		}
		name := fmt.Sprintf("%s (pid %d)", running[0].Comm, running[0].PID)
		if d.comm == "systemd-timesyn" {
			name = fmt.Sprintf("systemd-timesyncd (pid %d)", running[0].PID)
		}
		if d.comm == "chronyd" {
			if ref := chronyPHCRefclock(h); ref != "" {
				if len(steerers) > 0 {
					worst(Fail)
					details = append(details, fmt.Sprintf("%s follows the PHC (%s) and %s steers the system clock too", name, ref, strings.Join(steerers, ", ")))
					fixes = append(fixes, "keep one: stop phc2sys, or remove the refclock from chrony.conf")
				} else {
					details = append(details, fmt.Sprintf("%s follows the PHC (%s): it stands in for phc2sys", name, ref))
				}
				continue
			}
		}
		unit := unitFor(h, d.units)
		if len(steerers) > 0 {
			worst(Fail)
			details = append(details, fmt.Sprintf("%s and %s both steer the system clock", name, strings.Join(steerers, ", ")))
		} else {
			worst(Warn)
			details = append(details, name+" steers the system clock from NTP, not from PTP")
		}
		fix := "systemctl disable --now " + unit
		if d.comm == "systemd-timesyn" {
			fix = "timedatectl set-ntp false"
		}
		fixes = append(fixes, fix)
	}
	if len(details) == 0 {
		c.Detail = "none of chronyd, ntpd, systemd-timesyncd runs or is enabled"
		return c
	}
	c.Detail = strings.Join(details, "; ")
	c.Fix = strings.Join(fixes, "; ")
	return c
}

// unitFor names the unit of a daemon as this host has it installed, the
// first of units when none is found.
func unitFor(h Host, units []string) string {
	for _, u := range units {
		for _, dir := range []string{"/lib/systemd/system", "/usr/lib/systemd/system", "/etc/systemd/system"} {
			if _, err := os.Stat(h.path(filepath.Join(dir, u+".service"))); err == nil {
				return u
			}
		}
	}
	return units[0]
}

// enabledUnit returns the first of units that is enabled to start at
// boot, "" when none is.
func enabledUnit(h Host, units []string) string {
	for _, u := range units {
		for _, dir := range unitDirs {
			if _, err := os.Lstat(h.path(filepath.Join(dir, u+".service"))); err == nil {
				return u
			}
		}
	}
	return ""
}

// chronyPHCRefclock returns chrony's "refclock PHC …" line, "" when its
// configuration has none.
func chronyPHCRefclock(h Host) string {
	files := []string{"/etc/chrony/chrony.conf", "/etc/chrony.conf"}
	for _, d := range []string{"/etc/chrony/conf.d", "/etc/chrony/sources.d"} {
		m, _ := filepath.Glob(h.path(d) + "/*")
		for _, f := range m {
			files = append(files, strings.TrimPrefix(f, strings.TrimSuffix(h.path("/"), "/")))
		}
	}
	for _, f := range files {
		file, err := os.Open(h.path(f))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(file)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) >= 2 && fields[0] == "refclock" && fields[1] == "PHC" {
				file.Close()
				return strings.Join(fields, " ")
			}
		}
		file.Close()
	}
	return ""
}

// phc2sysTargets are the clocks a phc2sys command line steers: its -c
// clocks, CLOCK_REALTIME by default, and with -a only with -r.
func phc2sysTargets(p Process) []string {
	var targets []string
	auto, realtime := false, false
	for i := 1; i < len(p.Args); i++ {
		a := p.Args[i]
		switch {
		case a == "-c" && i+1 < len(p.Args):
			i++
			targets = append(targets, p.Args[i])
		case strings.HasPrefix(a, "-c") && len(a) > 2:
			targets = append(targets, a[2:])
		case len(a) > 1 && a[0] == '-' && a[1] != '-' && !strings.ContainsAny(a[1:2], "scdfilNOPRILSFEu"):
			// Flags without a value, possibly grouped: -a, -r, -ar, -w.
			auto = auto || strings.ContainsRune(a, 'a')
			realtime = realtime || strings.ContainsRune(a, 'r')
		}
	}
	if len(targets) == 0 && (!auto || realtime) {
		targets = []string{"CLOCK_REALTIME"}
	}
	return targets
}

// ptpDaemonsCheck: no two PTP daemons share an interface of this network
// namespace, and no two phc2sys steer the system clock.
func ptpDaemonsCheck(daemons []Process, ports []port) Check {
	c := Check{Name: CheckPTPDaemons}
	if len(daemons) == 0 {
		c.Status, c.Detail = Pass, "no ptp4l, roko-ptpd, ptpd or phc2sys runs in this network namespace"
		return c
	}
	var all []string
	byIface := map[string][]Process{}
	var realtime []Process
	for _, d := range daemons {
		all = append(all, describe(d))
		if slices.Contains(phc2sysNames, d.Comm) {
			if slices.Contains(phc2sysTargets(d), "CLOCK_REALTIME") {
				realtime = append(realtime, d)
			}
			continue
		}
		is := interfaces(d)
		if len(is) == 0 {
			is = []string{"(its configuration file's)"}
		}
		for _, i := range is {
			byIface[i] = append(byIface[i], d)
		}
	}
	c.Status, c.Detail = Pass, "running: "+strings.Join(all, ", ")
	var clash, fixes []string
	ifaces := make([]string, 0, len(byIface))
	for i := range byIface {
		ifaces = append(ifaces, i)
	}
	slices.Sort(ifaces)
	for _, i := range ifaces {
		ps := byIface[i]
		if len(ps) < 2 {
			continue
		}
		var names []string
		for _, p := range ps {
			names = append(names, describe(p))
		}
		clash = append(clash, fmt.Sprintf("%s all serve %s", strings.Join(names, ", "), i))
		for _, p := range ps {
			if p.Comm != "roko-ptpd" {
				fixes = append(fixes, fmt.Sprintf("stop %s: systemctl disable --now %s@%s (or kill %d)", p.Comm, p.Comm, i, p.PID))
			}
		}
	}
	if len(realtime) > 1 {
		var names []string
		for _, p := range realtime {
			names = append(names, describe(p))
		}
		clash = append(clash, strings.Join(names, ", ")+" all steer CLOCK_REALTIME")
		fixes = append(fixes, "keep one phc2sys: systemctl disable --now phc2sys (or kill the other's pid)")
	}
	if len(clash) > 0 {
		c.Status = Fail
		c.Detail += "; " + strings.Join(clash, "; ")
		c.Fix = strings.Join(fixes, "; ")
	}
	return c
}

// Scheduling policies of /proc/PID/stat's field 41 (linux/sched.h).
const (
	schedOther = 0
	schedFIFO  = 1
	schedRR    = 2
)

// schedPolicy reads the policy and real-time priority of a thread from
// its stat file: fields 40 (rt_priority) and 41 (policy), counted after
// the command name, which may hold spaces and parentheses.
func schedPolicy(h Host, pid int, tid string) (policy, prio int, err error) {
	s, err := h.read(fmt.Sprintf("/proc/%d/task/%s/stat", pid, tid))
	if err != nil {
		return 0, 0, err
	}
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc/%d/task/%s/stat: no command name", pid, tid)
	}
	// Fields after the name start at 3 (state).
	f := strings.Fields(s[i+1:])
	if len(f) < 41-2 {
		return 0, 0, fmt.Errorf("/proc/%d/task/%s/stat: %d fields", pid, tid, len(f)+2)
	}
	if prio, err = strconv.Atoi(f[40-3]); err == nil {
		policy, err = strconv.Atoi(f[41-3])
	}
	return policy, prio, err
}

// scheduling: the PTP daemons run with a real-time policy (the guide's
// chrt -f -p 99 $(pidof ptp4l)), every thread of them, so that a busy
// host does not delay them.
func scheduling(h Host, daemons []Process) Check {
	c := Check{Name: CheckScheduling}
	if len(daemons) == 0 {
		c.Status, c.Detail = Skip, "no PTP daemon runs in this network namespace"
		return c
	}
	c.Status = Pass
	var details, fixes []string
	for _, d := range daemons {
		tids := threads(h, d.PID)
		rt, first, firstPrio := 0, -1, 0
		for _, t := range tids {
			pol, prio, err := schedPolicy(h, d.PID, t)
			if err != nil {
				continue
			}
			if first < 0 {
				first, firstPrio = pol, prio
			}
			if pol == schedFIFO || pol == schedRR {
				rt++
			}
		}
		switch {
		case first < 0:
			details = append(details, describe(d)+": cannot read its threads")
			if c.Status == Pass {
				c.Status = Warn
			}
			fixes = append(fixes, "run roko-ptpctl doctor as root")
		case rt == len(tids):
			details = append(details, fmt.Sprintf("%s: %s %d", describe(d), policyName(first), firstPrio))
		default:
			c.Status = Warn
			details = append(details, fmt.Sprintf("%s: %d of %d threads real-time (main thread %s)", describe(d), rt, len(tids), policyName(first)))
			fixes = append(fixes, fmt.Sprintf("chrt -a -f -p 99 %d", d.PID))
		}
	}
	c.Detail = strings.Join(details, "; ")
	if len(fixes) > 0 {
		c.Fix = strings.Join(fixes, "; ") + "; to keep it across restarts: CPUSchedulingPolicy=fifo and CPUSchedulingPriority=99 in the unit (systemctl edit roko-ptpd@IFACE)"
	}
	return c
}

func policyName(p int) string {
	switch p {
	case schedOther:
		return "SCHED_OTHER"
	case schedFIFO:
		return "SCHED_FIFO"
	case schedRR:
		return "SCHED_RR"
	case 3:
		return "SCHED_BATCH"
	case 5:
		return "SCHED_IDLE"
	case 6:
		return "SCHED_DEADLINE"
	}
	return fmt.Sprintf("policy %d", p)
}

// irqBalance: irqbalance does not move the NIC's interrupts between CPUs
// (the guide stops it and pins them).
func irqBalance(procs []Process) Check {
	c := Check{Name: CheckIRQBalance}
	if ps := named(procs, "irqbalance"); len(ps) > 0 {
		c.Status = Warn
		c.Detail = fmt.Sprintf("irqbalance (pid %d) moves the NIC's interrupts between CPUs, and their latency with them", ps[0].PID)
		c.Fix = "systemctl disable --now irqbalance, then pin the NIC's interrupts: echo CPUMASK > /proc/irq/N/smp_affinity for each N of grep IFACE /proc/interrupts"
		return c
	}
	c.Status, c.Detail = Pass, "irqbalance does not run"
	return c
}
