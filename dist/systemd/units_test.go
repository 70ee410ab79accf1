// Package systemd_test checks dist/systemd's units: how exposed
// `systemd-analyze security` finds them, and that roko-ptpd works under
// exactly the system calls and socket families they allow.
package systemd_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/roko-network/roko-ptpd/internal/netns"
	"github.com/roko-network/roko-ptpd/internal/testenv"
	"github.com/roko-network/roko-ptpd/phc"
	"github.com/roko-network/roko-ptpd/transport/tod"
)

var units = []string{"roko-ptpd.service", "roko-ptpd@.service"}

func TestMain(m *testing.M) {
	if os.Getenv(envFilter) != "" {
		err := launch(os.Args[1:])
		fmt.Fprintln(os.Stderr, "launch:", err)
		os.Exit(3)
	}
	os.Exit(m.Run())
}

// directives returns every value of the directive in a unit file, in
// order.
func directives(t *testing.T, unit, name string) []string {
	t.Helper()
	f, err := os.Open(unit)
	require.NoError(t, err)
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), name+"="); ok {
			out = append(out, v)
		}
	}
	require.NoError(t, sc.Err())
	return out
}

// TestSecurityScore: systemd-analyze's exposure level of each unit, 7.1
// (MEDIUM) before the hardening, must stay at or under 3.4 (OK; 3.4
// because @clock and @chown, in @privileged, are allowed, and CAP_CHOWN,
// 0.2, for uds_owner/uds_group). Both units carry the same settings.
func TestSecurityScore(t *testing.T) {
	sa := testenv.RequireCommand(t, "systemd-analyze", "systemd")
	re := regexp.MustCompile(`Overall exposure level for .*: (\d+\.\d) (\w+)`)
	for _, u := range units {
		// --offline reads the file as it is; the instance name fills %i.
		name := strings.Replace(u, "@.", "@eth0.", 1)
		dir := t.TempDir()
		b, err := os.ReadFile(u)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
		out, _ := exec.Command(sa, "security", "--offline=yes", "--no-pager", filepath.Join(dir, name)).CombinedOutput()
		m := re.FindStringSubmatch(string(out))
		require.NotNil(t, m, "%s:\n%s", u, out)
		score, err := strconv.ParseFloat(m[1], 64)
		require.NoError(t, err)
		t.Logf("%s: exposure %s %s", u, m[1], m[2])
		assert.LessOrEqual(t, score, 3.4, "%s:\n%s", u, out)
	}
	// uds_owner/uds_group chown the management sockets: the unit must
	// grant CAP_CHOWN (TestSyscallFilter checks the chown calls).
	for _, name := range []string{"AmbientCapabilities", "CapabilityBoundingSet"} {
		assert.Contains(t, strings.Fields(strings.Join(directives(t, units[0], name), " ")), "CAP_CHOWN", name)
	}
	for _, name := range []string{"SystemCallFilter", "RestrictAddressFamilies", "ProtectSystem", "NoNewPrivileges", "CapabilityBoundingSet", "AmbientCapabilities", "DeviceAllow", "ReadWritePaths", "StateDirectory"} {
		assert.Equal(t, directives(t, units[0], name), directives(t, units[1], name), name)
	}
}

// expand turns the unit's SystemCallFilter= lines into the set of system
// calls it allows, the way systemd reads them, in order: the first line is
// an allow list (with @default always in it), a "~" line takes names away,
// a later plain line puts them back; a group is expanded with
// systemd-analyze syscall-filter, recursively.
func expand(t *testing.T, sa string, lines []string) map[string]bool {
	t.Helper()
	groups := map[string][]string{}
	var members func(name string) []string
	members = func(name string) []string {
		if !strings.HasPrefix(name, "@") {
			return []string{name}
		}
		if m, ok := groups[name]; ok {
			return m
		}
		out, err := exec.Command(sa, "syscall-filter", "--no-pager", name).Output()
		require.NoError(t, err, "systemd-analyze syscall-filter %s", name)
		var all []string
		for _, l := range strings.Split(string(out), "\n")[1:] {
			l = strings.TrimSpace(l)
			if l == "" || strings.HasPrefix(l, "#") {
				continue
			}
			all = append(all, members(l)...)
		}
		groups[name] = all
		return all
	}
	set := map[string]bool{}
	require.NotEmpty(t, lines)
	require.False(t, strings.HasPrefix(lines[0], "~"), "the first SystemCallFilter= must be an allow list")
	for _, n := range append(strings.Fields(lines[0]), "@default") {
		for _, s := range members(n) {
			set[s] = true
		}
	}
	for _, l := range lines[1:] {
		deny, remove := strings.CutPrefix(l, "~")
		for _, n := range strings.Fields(deny) {
			for _, s := range members(n) {
				if remove {
					delete(set, s)
				} else {
					set[s] = true
				}
			}
		}
	}
	return set
}

// TestDeviceAllow: the cgroup device policy (DevicePolicy=closed) refuses
// an open that asks for more than DeviceAllow= grants, so each class of
// device the daemon opens must be granted read, and write too where the
// daemon opens it for writing.
func TestDeviceAllow(t *testing.T) {
	opens := []struct {
		class string
		flags int
	}{
		{"char-ptp", phc.DeviceOpenFlags},
		{"char-pps", phc.PPSOpenFlags},
		{"char-ttyS", tod.SerialOpenFlags},
		{"char-ttyUSB", tod.SerialOpenFlags},
		{"char-ttyACM", tod.SerialOpenFlags},
	}
	for _, u := range units {
		granted := map[string]string{}
		for _, d := range directives(t, u, "DeviceAllow") {
			f := strings.Fields(d)
			require.Len(t, f, 2, "%s: DeviceAllow=%s", u, d)
			granted[f[0]] = f[1]
		}
		for _, o := range opens {
			perm, ok := granted[o.class]
			if !assert.True(t, ok, "%s: no DeviceAllow=%s", u, o.class) {
				continue
			}
			assert.Contains(t, perm, "r", "%s: %s is opened for reading", u, o.class)
			if acc := o.flags & unix.O_ACCMODE; acc == unix.O_RDWR || acc == unix.O_WRONLY {
				assert.Contains(t, perm, "w", "%s: %s is opened for writing", u, o.class)
			}
		}
	}
}

var families = map[string]int{"AF_UNIX": unix.AF_UNIX, "AF_INET": unix.AF_INET, "AF_INET6": unix.AF_INET6, "AF_PACKET": unix.AF_PACKET, "AF_NETLINK": unix.AF_NETLINK}

// TestSyscallFilter runs a grandmaster and a client, over UDPv4 and over
// L2, each daemon under a seccomp filter made of exactly the system calls
// and socket families the unit allows (anything else kills it, as under
// systemd), and requires the clients to synchronise and answer management
// over their UNIX sockets. A daemon that needs a call the unit forbids
// dies here, not on an operator's host.
func TestSyscallFilter(t *testing.T) {
	testenv.Short(t)
	testenv.RequireRoot(t)
	if runtime.GOARCH != "amd64" {
		testenv.Missing(t, "the filter is built for x86-64; this is %s", runtime.GOARCH)
	}
	sa := testenv.RequireCommand(t, "systemd-analyze", "systemd")
	nr, err := syscallNumbers("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
	if err != nil {
		testenv.Missing(t, "x86-64 system call numbers: %v (apt-get install -y linux-libc-dev)", err)
	}
	allowed := expand(t, sa, directives(t, units[0], "SystemCallFilter"))
	require.True(t, allowed["clock_adjtime"], "@clock is allowed")
	require.False(t, allowed["swapon"], "@swap is denied")
	require.False(t, allowed["mount"], "@mount is denied")
	require.False(t, allowed["reboot"], "@reboot is denied")
	require.False(t, allowed["ptrace"], "@debug is denied")
	list, names := joinNumbers(allowed, nr)
	t.Logf("%d system calls allowed", len(names))
	var fams []string
	for _, f := range strings.Fields(directives(t, units[0], "RestrictAddressFamilies")[0]) {
		n, ok := families[f]
		require.True(t, ok, "family %s", f)
		fams = append(fams, strconv.Itoa(n))
	}
	env := append(os.Environ(), envFilter+"="+list, envFamily+"="+strings.Join(fams, ","))

	// The filter has teeth: a call outside it kills the process.
	probe := exec.Command(os.Args[0], "/bin/true")
	probe.Env = append(env, envDenied+"=1")
	err = probe.Run()
	var ee *exec.ExitError
	require.True(t, errors.As(err, &ee), "probe: %v", err)
	ws := ee.Sys().(syscall.WaitStatus)
	require.True(t, ws.Signaled() && ws.Signal() == syscall.SIGSYS, "probe ended with %v, want SIGSYS", ws)

	bin := filepath.Join(t.TempDir(), "roko-ptpd")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/roko-network/roko-ptpd/cmd/roko-ptpd").CombinedOutput()
	require.NoError(t, err, "%s", out)
	pmc := filepath.Join(t.TempDir(), "roko-pmc")
	out, err = exec.Command("go", "build", "-o", pmc, "github.com/roko-network/roko-ptpd/cmd/roko-pmc").CombinedOutput()
	require.NoError(t, err, "%s", out)

	for _, tc := range []struct{ name, transport string }{{"UDPv4", "-4"}, {"L2", "-2"}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runPair(t, bin, pmc, tc.transport, env)
		})
	}
}

// udsGroup is the group the client's management socket is given to: a
// number no account needs to hold.
const udsGroup = 65533

const pairConf = `[global]
logAnnounceInterval     -2
announceReceiptTimeout  3
logSyncInterval         -4
logMinDelayReqInterval  -4
time_stamping           software
clock_servo             linreg
virtual_clock           1
`

func runPair(t *testing.T, bin, pmc, transport string, env []string) {
	gm, cl := netns.New(t), netns.New(t)
	a, b := netns.Veth(t, gm, "198.18.0.1", cl, "198.18.0.2")
	dir := t.TempDir()
	conf := filepath.Join(dir, "ptp.conf")
	require.NoError(t, os.WriteFile(conf, []byte(pairConf), 0o644))
	type proc struct {
		cmd  *exec.Cmd
		done chan struct{}
	}
	start := func(ns *netns.NS, name string, args ...string) (*proc, *testenv.Buffer) {
		argv := append([]string{"netns", "exec", ns.Name, os.Args[0], bin, "-f", conf, transport, "-m",
			"--uds_address=" + filepath.Join(dir, name), "--uds_ro_address=" + filepath.Join(dir, name+"-ro")}, args...)
		cmd := exec.Command("ip", argv...)
		cmd.Env = env
		var log testenv.Buffer
		cmd.Stdout, cmd.Stderr = &log, &log
		require.NoError(t, cmd.Start())
		p := &proc{cmd, make(chan struct{})}
		go func() { _ = cmd.Wait(); close(p.done) }()
		t.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			<-p.done
		})
		return p, &log
	}
	gmCmd, gmLog := start(gm, "gm", "-i", a.Name, "--priority1=1", "--serverOnly=1")
	// The client gives its management socket to a group (uds_group), which
	// needs a chown call and CAP_CHOWN: the unit must allow both.
	clCmd, clLog := start(cl, "client", "-i", b.Name, "-s", "--virtual_clock_offset=0.037", "--virtual_clock_frequency=40000",
		"--uds_group="+strconv.Itoa(udsGroup))
	exited := func(p *proc) bool {
		select {
		case <-p.done:
			return true
		default:
			return false
		}
	}

	re := regexp.MustCompile(`virtual clock true error ([-+]?\d+) ns`)
	deadline := time.Now().Add(30 * time.Second)
	var last int64 = -1
	for time.Now().Before(deadline) && !exited(gmCmd) && !exited(clCmd) {
		time.Sleep(500 * time.Millisecond)
		if m := re.FindAllStringSubmatch(clLog.String(), -1); len(m) > 0 && strings.Contains(clLog.String(), "to SLAVE on MASTER_CLOCK_SELECTED") {
			v, _ := strconv.ParseInt(m[len(m)-1][1], 10, 64)
			if v < 0 {
				v = -v
			}
			if last = v; v < 100_000 && len(m) >= 3 {
				break
			}
		}
	}
	require.False(t, exited(gmCmd) || exited(clCmd), "a daemon died:\ngrandmaster:\n%s\nclient:\n%s", gmLog, clLog)
	require.True(t, last >= 0 && last < 100_000, "client not synchronised (true error %d ns):\n%s", last, clLog)

	var st unix.Stat_t
	require.NoError(t, unix.Lstat(filepath.Join(dir, "client"), &st))
	assert.Equal(t, uint32(udsGroup), st.Gid, "uds_group gave the socket to its group")

	// Management over the UNIX socket, answered by the filtered daemon.
	out, err := exec.Command(pmc, "-u", "-b", "0", "-s", filepath.Join(dir, "client"), "GET CURRENT_DATA_SET").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "offsetFromMaster")

	for _, p := range []*proc{gmCmd, clCmd} {
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
		<-p.done
		ws := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
		require.False(t, ws.Signaled() && ws.Signal() == syscall.SIGSYS, "killed by the filter on the way out:\n%s\n%s", gmLog, clLog)
	}
}
