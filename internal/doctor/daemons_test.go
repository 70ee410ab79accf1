package doctor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	here  = "net:[4026531833]"
	other = "net:[4026532999]"
)

func TestTimeDaemons(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(*tree)
		want want
	}{
		{"none", func(tr *tree) { tr.proc(1, []string{"/sbin/init"}, here) },
			want{Pass, "none of chronyd, ntpd, systemd-timesyncd runs or is enabled", ""}},
		{"chronyd alone", func(tr *tree) {
			tr.proc(612, []string{"/usr/sbin/chronyd", "-F", "1"}, here).file("/lib/systemd/system/chrony.service", "")
		}, want{Warn, "chronyd (pid 612) steers the system clock from NTP, not from PTP", "systemctl disable --now chrony"}},
		{"chronyd on RHEL", func(tr *tree) {
			tr.proc(612, []string{"/usr/sbin/chronyd"}, here).file("/usr/lib/systemd/system/chronyd.service", "")
		}, want{Warn, "chronyd (pid 612)", "systemctl disable --now chronyd"}},
		{"chronyd and phc2sys", func(tr *tree) {
			tr.proc(612, []string{"/usr/sbin/chronyd"}, here).
				proc(900, []string{"phc2sys", "-s", "eth0", "-c", "CLOCK_REALTIME", "-w", "-O", "0"}, here)
		}, want{Fail, "chronyd (pid 612) and phc2sys (pid 900, eth0) both steer the system clock", "systemctl disable --now chrony"}},
		{"ntpd and roko-phc2sys in another namespace", func(tr *tree) {
			tr.proc(500, []string{"/usr/sbin/ntpd", "-p", "/run/ntpd.pid"}, here).
				proc(901, []string{"roko-phc2sys", "-a", "-r"}, other).file("/lib/systemd/system/ntpsec.service", "")
		}, want{Fail, "ntpd (pid 500) and roko-phc2sys (pid 901) both steer the system clock", "systemctl disable --now ntpsec"}},
		{"phc2sys onto a PHC does not clash", func(tr *tree) {
			tr.proc(612, []string{"/usr/sbin/chronyd"}, here).proc(900, []string{"phc2sys", "-s", "eth0", "-c", "eth1"}, here)
		}, want{Warn, "chronyd (pid 612) steers the system clock from NTP", "systemctl disable --now chrony"}},
		{"chronyd follows the PHC", func(tr *tree) {
			tr.proc(612, []string{"/usr/sbin/chronyd"}, here).
				file("/etc/chrony/conf.d/ptp.conf", "# PTP\nrefclock PHC /dev/ptp0 poll 0 dpoll -2 offset 0\n")
		}, want{Pass, "chronyd (pid 612) follows the PHC (refclock PHC /dev/ptp0 poll 0 dpoll -2 offset 0): it stands in for phc2sys", ""}},
		{"chronyd follows the PHC, and phc2sys too", func(tr *tree) {
			tr.proc(612, []string{"/usr/sbin/chronyd"}, here).proc(900, []string{"phc2sys", "-a", "-rr"}, here).
				file("/etc/chrony.conf", "refclock PHC /dev/ptp0\n")
		}, want{Fail, "and phc2sys (pid 900) steers the system clock too", "keep one: stop phc2sys, or remove the refclock from chrony.conf"}},
		{"timesyncd", func(tr *tree) { tr.proc(300, []string{"/lib/systemd/systemd-timesyncd"}, here) },
			want{Warn, "systemd-timesyncd (pid 300) steers the system clock", "timedatectl set-ntp false"}},
		{"timesyncd enabled, stopped", func(tr *tree) {
			tr.link("/etc/systemd/system/sysinit.target.wants/systemd-timesyncd.service", "/lib/systemd/system/systemd-timesyncd.service")
		}, want{Warn, "systemd-timesyncd is stopped but enabled: it starts at the next boot", "systemctl disable systemd-timesyncd"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTree(t).link("/proc/self/ns/net", here)
			tc.make(tr)
			h := tr.host(nil, nil)
			tc.want.check(t, timeDaemons(h, processes(h)))
		})
	}
}

func TestPTPDaemons(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(*tree)
		want want
	}{
		{"none", func(tr *tree) { tr.proc(612, []string{"/usr/sbin/chronyd"}, here) },
			want{Pass, "no ptp4l, roko-ptpd, ptpd or phc2sys runs in this network namespace", ""}},
		{"roko-ptpd and roko-phc2sys", func(tr *tree) {
			tr.proc(42, []string{"/usr/local/sbin/roko-ptpd", "-f", "/etc/linuxptp/ptp4l.conf", "-i", "eth0"}, here).
				proc(43, []string{"roko-phc2sys", "-s", "eth0", "-w"}, here)
		}, want{Pass, "running: roko-ptpd (pid 42, eth0), roko-phc2sys (pid 43, eth0)", ""}},
		{"ptp4l and roko-ptpd on one interface", func(tr *tree) {
			tr.proc(40, []string{"ptp4l", "-ieth0", "-m"}, here).proc(42, []string{"roko-ptpd", "-i", "eth0"}, here)
		}, want{Fail, "ptp4l (pid 40, eth0), roko-ptpd (pid 42, eth0) all serve eth0", "stop ptp4l: systemctl disable --now ptp4l@eth0 (or kill 40)"}},
		{"on different interfaces", func(tr *tree) {
			tr.proc(40, []string{"ptp4l", "-i", "eth1"}, here).proc(42, []string{"roko-ptpd", "-i", "eth0"}, here)
		}, want{Pass, "running: ptp4l (pid 40, eth1), roko-ptpd (pid 42, eth0)", ""}},
		{"the same name in another namespace", func(tr *tree) {
			tr.proc(40, []string{"ptp4l", "-i", "eth0"}, other).proc(42, []string{"roko-ptpd", "-i", "eth0"}, here)
		}, want{Pass, "running: roko-ptpd (pid 42, eth0)", ""}},
		{"two phc2sys on the system clock", func(tr *tree) {
			tr.proc(50, []string{"phc2sys", "-a", "-r"}, here).proc(51, []string{"roko-phc2sys", "-s", "eth0", "-c", "CLOCK_REALTIME"}, here)
		}, want{Fail, "phc2sys (pid 50), roko-phc2sys (pid 51, eth0) all steer CLOCK_REALTIME", "keep one phc2sys: systemctl disable --now phc2sys (or kill the other's pid)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTree(t).link("/proc/self/ns/net", here)
			tc.make(tr)
			h := tr.host(nil, nil)
			tc.want.check(t, ptpDaemonsCheck(ptpDaemons(h, processes(h)), nil))
		})
	}
}

func TestScheduling(t *testing.T) {
	const keep = "; to keep it across restarts: CPUSchedulingPolicy=fifo and CPUSchedulingPriority=99 in the unit (systemctl edit roko-ptpd@IFACE)"
	for _, tc := range []struct {
		name string
		make func(*tree)
		want want
	}{
		{"no daemon", func(tr *tree) { tr.proc(1, []string{"init"}, here) }, want{Skip, "no PTP daemon runs in this network namespace", ""}},
		{"every thread FIFO", func(tr *tree) {
			tr.proc(42, []string{"roko-ptpd", "-i", "eth0"}, here, [2]int{schedFIFO, 99}, [2]int{schedFIFO, 99}, [2]int{schedFIFO, 99})
		}, want{Pass, "roko-ptpd (pid 42, eth0): SCHED_FIFO 99", ""}},
		{"ptp4l under RR", func(tr *tree) { tr.proc(40, []string{"ptp4l", "-i", "eth0"}, here, [2]int{schedRR, 50}) },
			want{Pass, "ptp4l (pid 40, eth0): SCHED_RR 50", ""}},
		{"default policy", func(tr *tree) { tr.proc(40, []string{"ptp4l", "-i", "eth0"}, here, [2]int{schedOther, 0}) },
			want{Warn, "ptp4l (pid 40, eth0): 0 of 1 threads real-time (main thread SCHED_OTHER)", "chrt -a -f -p 99 40" + keep}},
		{"chrt without -a", func(tr *tree) {
			tr.proc(42, []string{"roko-ptpd"}, here, [2]int{schedFIFO, 99}, [2]int{schedOther, 0}, [2]int{schedOther, 0}).
				proc(43, []string{"roko-phc2sys", "-a", "-r"}, here, [2]int{schedFIFO, 80})
		}, want{Warn, "roko-ptpd (pid 42): 1 of 3 threads real-time (main thread SCHED_FIFO); roko-phc2sys (pid 43): SCHED_FIFO 80", "chrt -a -f -p 99 42" + keep}},
		{"another namespace's daemon is not ours", func(tr *tree) {
			tr.proc(40, []string{"ptp4l", "-i", "eth0"}, other, [2]int{schedOther, 0})
		}, want{Skip, "no PTP daemon runs in this network namespace", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTree(t).link("/proc/self/ns/net", here)
			tc.make(tr)
			h := tr.host(nil, nil)
			tc.want.check(t, scheduling(h, ptpDaemons(h, processes(h))))
		})
	}
}

// TestSchedPolicy reads fields 40 and 41 after a command name that holds
// spaces and parentheses, and refuses a truncated line.
func TestSchedPolicy(t *testing.T) {
	tr := newTree(t).file("/proc/7/task/7/stat", stat(7, "a) (b", schedFIFO, 42)).file("/proc/7/task/8/stat", "8 (x) S 1 2 3\n")
	pol, prio, err := schedPolicy(tr.host(nil, nil), 7, "7")
	require.NoError(t, err)
	assert.Equal(t, schedFIFO, pol)
	assert.Equal(t, 42, prio)
	_, _, err = schedPolicy(tr.host(nil, nil), 7, "8")
	assert.ErrorContains(t, err, "fields")
}

func TestIRQBalance(t *testing.T) {
	tr := newTree(t).proc(700, []string{"/usr/sbin/irqbalance", "--foreground"}, here)
	h := tr.host(nil, nil)
	want{Warn, "irqbalance (pid 700) moves the NIC's interrupts between CPUs",
		"systemctl disable --now irqbalance, then pin the NIC's interrupts: echo CPUMASK > /proc/irq/N/smp_affinity for each N of grep IFACE /proc/interrupts"}.check(t, irqBalance(processes(h)))
	want{Pass, "irqbalance does not run", ""}.check(t, irqBalance(processes(newTree(t).host(nil, nil))))
}

// TestInterfacesOfCommandLines: the interfaces read from ptp4l's and
// phc2sys's command lines, in their spellings.
func TestInterfacesOfCommandLines(t *testing.T) {
	for _, tc := range []struct {
		p    Process
		want []string
	}{
		{Process{Comm: "ptp4l", Args: []string{"ptp4l", "-f", "/etc/ptp4l.conf", "-i", "eth0", "-ieth1", "-m"}}, []string{"eth0", "eth1"}},
		{Process{Comm: "roko-ptpd", Args: []string{"roko-ptpd", "--summary_interval=2"}}, nil},
		{Process{Comm: "phc2sys", Args: []string{"phc2sys", "-s", "eth0", "-c", "CLOCK_REALTIME"}}, []string{"eth0"}},
		{Process{Comm: "phc2sys", Args: []string{"phc2sys", "-s", "/dev/ptp0", "-c", "eth1"}}, []string{"eth1"}},
	} {
		assert.Equal(t, tc.want, interfaces(tc.p), "%v", tc.p.Args)
	}
	assert.Equal(t, []string{"CLOCK_REALTIME"}, phc2sysTargets(Process{Args: []string{"phc2sys", "-s", "eth0", "-w"}}))
	assert.Nil(t, phc2sysTargets(Process{Args: []string{"phc2sys", "-a"}}))
	assert.Equal(t, []string{"CLOCK_REALTIME"}, phc2sysTargets(Process{Args: []string{"phc2sys", "-ar"}}))
	assert.Equal(t, []string{"eth1"}, phc2sysTargets(Process{Args: []string{"phc2sys", "-s", "eth0", "-ceth1"}}))
}
