// Package linuxptp runs linuxptp's own ptp4l and pmc as the reference
// peers of tests: a ptp4l in a network namespace the test made, with
// software timestamps, fast intervals and always free_running 1, its
// output kept and shown when the test fails, stopped and reaped when the
// test ends; and pmc asking it over its UNIX socket.
//
// free_running 1 is not optional. A ptp4l with software timestamps
// steers CLOCK_REALTIME, this machine's clock, as soon as a port of it is
// SLAVE, and no test may steer that (a grandmaster that loses a BMCA
// election becomes a client too). There is no PHC here for a ptp4l to
// serve time from instead; a test that one day has one adds the option
// then.
package linuxptp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roko-network/roko-ptpd/internal/netns"
	"github.com/roko-network/roko-ptpd/internal/testenv"
)

// Options says how to run a ptp4l.
type Options struct {
	// Flags are ptp4l's command-line flags besides -f, -i, -m and -q:
	// -2, -4, -6, -E, -P, ...
	Flags []string
	// Domain is its domainNumber; PMC asks in it too.
	Domain uint8
	// Binary, when set, is the ptp4l to run instead of Debian's (the
	// linuxptp 4.4 of Build44, for the AUTHENTICATION TLV).
	Binary string
	// Config is more lines of the [global] section, such as
	// "masterOnly 1\npriority1 1\n". A line for an option the defaults
	// below set replaces the default; free_running, time_stamping,
	// domainNumber and uds_address are the package's.
	Config string
}

// defaults are the intervals the tests run at (Announce at 4 Hz, Sync,
// Delay_Req and Pdelay_Req at 16 Hz), as roko-ptpd's tests run theirs.
var defaults = [][2]string{
	{"logAnnounceInterval", "-2"},
	{"announceReceiptTimeout", "3"},
	{"logSyncInterval", "-4"},
	{"logMinDelayReqInterval", "-4"},
	{"logMinPdelayReqInterval", "-4"},
}

// reserved are the options the package sets itself.
var reserved = []string{"free_running", "time_stamping", "domainNumber", "uds_address"}

// PTP4L is a running ptp4l.
type PTP4L struct {
	// Link is the interface it runs on, in its namespace.
	Link netns.Link
	// UDS is its uds_address, which PMC asks through.
	UDS string
	// Domain is its domainNumber.
	Domain uint8

	out  *testenv.Buffer
	done chan struct{} // closed when the process has been reaped
}

// Conf returns the configuration file StartPTP4L writes for opt and uds,
// or an error for a line that sets one of the package's options.
func Conf(opt Options, uds string) (string, error) {
	set := map[string]bool{}
	for i, line := range strings.Split(opt.Config, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if slices.Contains(reserved, f[0]) {
			return "", fmt.Errorf("Options.Config line %d: %s is the linuxptp package's to set", i+1, f[0])
		}
		set[f[0]] = true
	}
	var b strings.Builder
	b.WriteString("[global]\n")
	for _, d := range defaults {
		if !set[d[0]] {
			fmt.Fprintf(&b, "%s %s\n", d[0], d[1])
		}
	}
	fmt.Fprintf(&b, "free_running 1\ntime_stamping software\ndomainNumber %d\nuds_address %s\n", opt.Domain, uds)
	if opt.Binary != "" && !set["uds_ro_address"] {
		// linuxptp 4.x opens a read-only socket too, by default
		// /var/run/ptp4lro, which it removes first: keep it beside the
		// other. (3.1.1 does not know the option.)
		fmt.Fprintf(&b, "uds_ro_address %sro\n", uds)
	}
	b.WriteString(opt.Config)
	if opt.Config != "" && !strings.HasSuffix(opt.Config, "\n") {
		b.WriteString("\n")
	}
	return b.String(), nil
}

// StartPTP4L runs ptp4l on link, in link's namespace, until the test
// ends, and returns once its UNIX socket is there. It skips the test
// (fails it in CI) when ptp4l is not installed.
func StartPTP4L(t testing.TB, link netns.Link, opt Options) *PTP4L {
	t.Helper()
	bin := opt.Binary
	if bin == "" {
		bin = testenv.RequireCommand(t, "ptp4l", "linuxptp")
	}
	dir := t.TempDir()
	p := &PTP4L{Link: link, UDS: filepath.Join(dir, "ptp4l"), Domain: opt.Domain, out: &testenv.Buffer{}, done: make(chan struct{})}
	conf, err := Conf(opt, p.UDS)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "ptp4l.conf")
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	// -m: messages to standard output, which the buffer keeps; -q: not to
	// syslog as well.
	cmd := link.NS.Command(bin, append([]string{"-f", file, "-i", link.Name, "-m", "-q"}, opt.Flags...)...)
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting ptp4l: %v", err)
	}
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		// SIGTERM lets ptp4l close its sockets and remove its UNIX
		// socket; SIGKILL if it has not gone within 2 s.
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(2 * time.Second):
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("ptp4l %s on %s (config below):\n%s--- output:\n%s", strings.Join(opt.Flags, " "), link.Name, conf, p.out.String())
		}
	})
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(p.UDS); err == nil {
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("ptp4l exited at start (%v):\n%s", waitErr, p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("ptp4l made no UNIX socket %s within 5 s:\n%s", p.UDS, p.out.String())
		}
	}
}

// Output is what ptp4l has printed so far.
func (p *PTP4L) Output() string { return p.out.String() }

// PMCArgs are pmc's arguments that ask this ptp4l cmds over its UNIX
// socket: -u -b 0 -d DOMAIN -s UDS cmds...
func (p *PTP4L) PMCArgs(cmds ...string) []string {
	return append([]string{"-u", "-b", "0", "-d", strconv.Itoa(int(p.Domain)), "-s", p.UDS}, cmds...)
}

// PMC runs linuxptp's pmc with PMCArgs(cmds...) and returns what it
// printed on its standard output; an error carries its standard error.
// A pmc that has not finished within 20 s is killed. It skips the test
// (fails it in CI) when pmc is not installed.
func (p *PTP4L) PMC(t testing.TB, cmds ...string) (string, error) {
	t.Helper()
	pmc := testenv.RequireCommand(t, "pmc", "linuxptp")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, pmc, p.PMCArgs(cmds...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("pmc %s: %w: %s", strings.Join(cmds, ", "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// masterOffset is TIME_STATUS_NP's master_offset in pmc's output.
var masterOffset = regexp.MustCompile(`master_offset\s+(-?\d+)`)

// MasterOffsets asks this ptp4l (a client) for TIME_STATUS_NP, and cmds
// besides, every 250 ms for d, and returns the median of the nonzero
// |master_offset| values of the second half, how many there were in all,
// and pmc's last output.
func (p *PTP4L) MasterOffsets(t testing.TB, d time.Duration, cmds ...string) (median float64, n int, last string) {
	t.Helper()
	var offsets []float64
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		out, err := p.PMC(t, append([]string{"GET TIME_STATUS_NP"}, cmds...)...)
		if err != nil {
			continue
		}
		last = out
		if m := masterOffset.FindStringSubmatch(out); m != nil {
			if v, _ := strconv.ParseFloat(m[1], 64); v != 0 {
				offsets = append(offsets, math.Abs(v))
			}
		}
	}
	if len(offsets) == 0 {
		return 0, 0, last
	}
	tail := offsets[len(offsets)/2:]
	slices.Sort(tail)
	return tail[len(tail)/2], len(offsets), last
}

// TarballEnv names the environment variable that may point at another
// copy of the linuxptp 4.4 source tarball than the repository's.
const TarballEnv = "ROKO_LINUXPTP_TARBALL"

// Tarball44SHA256 is the digest of linuxptp-4.4.tar.gz (tag v4.4, commit
// 0188667308e6): tests never run other linuxptp code than they say.
const Tarball44SHA256 = "ee68b3814d8e592ae6d9f1650bd6af5b843cd13fb628e25c87a2f530743221ba"

// Tarball44 returns the path of linuxptp 4.4's source tarball, checked
// against Tarball44SHA256: $ROKO_LINUXPTP_TARBALL when set, else the
// repository's testdata/linuxptp/linuxptp-4.4.tar.gz (see its SOURCE),
// found from the working directory up to go.mod.
func Tarball44() (string, error) {
	p := os.Getenv(TarballEnv)
	if p == "" {
		dir, err := os.Getwd()
		if err != nil {
			return "", err
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				p = filepath.Join(dir, "testdata", "linuxptp", "linuxptp-4.4.tar.gz")
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				return "", fmt.Errorf("linuxptp: no go.mod above the working directory to find testdata/linuxptp from (set $%s)", TarballEnv)
			}
			dir = parent
		}
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", fmt.Errorf("linuxptp 4.4 tarball: %w", err)
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != Tarball44SHA256 {
		return "", fmt.Errorf("linuxptp 4.4 tarball %s: sha256 %x, want %s", p, sum, Tarball44SHA256)
	}
	return p, nil
}

// Build44 builds linuxptp 4.4 (ptp4l, pmc, phc2sys, ts2phc, with the
// AUTHENTICATION TLV through nettle) from Tarball44 once per machine, in
// the user's cache directory under a lock so that test binaries running
// at once share one build, and returns the directory of its binaries. It
// skips the test (fails it in CI) when a compiler, make or nettle's
// headers (nettle-dev, which make deps installs) are missing.
func Build44(t testing.TB) string {
	t.Helper()
	tarball, err := Tarball44()
	if err != nil {
		testenv.Missing(t, "%v", err)
		return ""
	}
	testenv.RequireCommand(t, "make", "make")
	testenv.RequireCommand(t, "gcc", "gcc")
	if _, err := os.Stat("/usr/include/nettle/nettle-meta.h"); err != nil {
		testenv.Missing(t, "nettle's headers are missing, so linuxptp 4.4 would build without authentication (apt-get install -y nettle-dev, or make deps)")
		return ""
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	root := filepath.Join(cache, "roko-linuxptp-4.4-"+Tarball44SHA256[:12])
	dir := filepath.Join(root, "linuxptp-4.4")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatalf("linuxptp 4.4: %v", err)
	}
	lock, err := os.OpenFile(filepath.Join(root, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatalf("linuxptp 4.4: %v", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatalf("linuxptp 4.4: lock: %v", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	done := filepath.Join(root, ".built")
	if _, err := os.Stat(done); err == nil {
		return dir
	}
	_ = os.RemoveAll(dir) // a build that died half way
	if out, err := exec.Command("tar", "xzf", tarball, "-C", root).CombinedOutput(); err != nil {
		t.Fatalf("linuxptp 4.4: tar: %v\n%s", err, out)
	}
	mk := exec.Command("make", "-C", dir, fmt.Sprintf("-j%d", runtime.NumCPU()), "ptp4l", "pmc", "phc2sys", "ts2phc")
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("linuxptp 4.4 did not build: %v\n%s", err, out)
	}
	if err := os.WriteFile(done, nil, 0o644); err != nil {
		t.Fatalf("linuxptp 4.4: %v", err)
	}
	return dir
}
