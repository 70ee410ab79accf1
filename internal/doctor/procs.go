package doctor

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Process is a running program, as /proc shows it.
type Process struct {
	PID  int
	Comm string // /proc/PID/comm: the program's name, cut to 15 bytes
	// Args is the command line (/proc/PID/cmdline).
	Args []string
	// NetNS is the network namespace (/proc/PID/ns/net's link), "" when
	// it cannot be read.
	NetNS string
}

// processes lists the host's processes.
func processes(h Host) []Process {
	ents, err := os.ReadDir(h.path("/proc"))
	if err != nil {
		return nil
	}
	var out []Process
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		dir := "/proc/" + e.Name()
		comm, err := h.read(dir + "/comm")
		if err != nil {
			continue // gone, or a kernel thread we cannot read
		}
		p := Process{PID: pid, Comm: comm}
		if b, err := os.ReadFile(h.path(dir + "/cmdline")); err == nil {
			p.Args = strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		}
		p.NetNS, _ = os.Readlink(h.path(dir + "/ns/net"))
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Process) int { return a.PID - b.PID })
	return out
}

// named returns the processes whose program is one of names.
func named(procs []Process, names ...string) []Process {
	var out []Process
	for _, p := range procs {
		if slices.Contains(names, p.Comm) {
			out = append(out, p)
		}
	}
	return out
}

// PTP daemons and the programs that steer the system clock from a PHC.
var (
	ptpDaemonNames = []string{"ptp4l", "roko-ptpd", "ptpd", "ptpd2"}
	phc2sysNames   = []string{"phc2sys", "roko-phc2sys"}
)

// Daemons are the PTP daemons (ptp4l, roko-ptpd, ptpd) and phc2sys's
// that run in the caller's network namespace: the ones that would share
// its interfaces. The root is the host's, "/" for this one.
func Daemons(h Host) []Process { return ptpDaemons(h, processes(h)) }

// ptpDaemons picks the PTP daemons and phc2sys's of this network
// namespace out of procs; all of them when namespaces cannot be read.
func ptpDaemons(h Host, procs []Process) []Process {
	self, _ := os.Readlink(h.path("/proc/self/ns/net"))
	var out []Process
	for _, p := range named(procs, append(slices.Clone(ptpDaemonNames), phc2sysNames...)...) {
		if self == "" || p.NetNS == "" || p.NetNS == self {
			out = append(out, p)
		}
	}
	return out
}

// interfaces returns the -i arguments of a ptp4l-style command line
// (-i eth0, -ieth0), and for phc2sys the -s and -c ones that are not
// clocks.
func interfaces(p Process) []string {
	var out []string
	opts := "i"
	if slices.Contains(phc2sysNames, p.Comm) {
		opts = "sc"
	}
	for i := 1; i < len(p.Args); i++ {
		a := p.Args[i]
		if len(a) < 2 || a[0] != '-' || a[1] == '-' || !strings.ContainsRune(opts, rune(a[1])) {
			continue
		}
		v := a[2:]
		if v == "" && i+1 < len(p.Args) {
			i++
			v = p.Args[i]
		}
		if v != "" && !strings.HasPrefix(v, "/") && !strings.HasPrefix(v, "CLOCK_") {
			out = append(out, v)
		}
	}
	return out
}

// describe is "roko-ptpd (pid 42, -i eth0)".
func describe(p Process) string {
	s := p.Comm + " (pid " + strconv.Itoa(p.PID)
	if is := interfaces(p); len(is) > 0 {
		s += ", " + strings.Join(is, " ")
	}
	return s + ")"
}

// threads lists the thread ids of a process.
func threads(h Host, pid int) []string {
	ents, err := os.ReadDir(h.path(filepath.Join("/proc", strconv.Itoa(pid), "task")))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}
