// Package testenv decides what a test may assume about the machine: root,
// network namespaces, commands such as ptp4l. A test that lacks something
// skips with the reason on a developer's machine and fails in CI
// (CI=true), where the suite must run whole.
package testenv

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// CI reports whether the tests run in CI, where nothing may be skipped.
func CI() bool { return os.Getenv("CI") == "true" }

// Missing skips t with the reason, or fails it in CI.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if CI() {
		t.Fatalf("CI=true and the test cannot run: "+format, args...)
	}
	t.Skipf(format, args...)
}

// RequireRoot skips (fails in CI) unless the test runs as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Missing(t, "needs root (network namespaces, raw sockets); run as root or with sudo")
	}
}

// RequireCommand returns the path of a command the test needs, skipping
// (failing in CI) when it is not installed.
func RequireCommand(t testing.TB, name, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		// sbin is not always on a user's PATH.
		for _, dir := range []string{"/usr/sbin", "/sbin"} {
			if _, err2 := os.Stat(dir + "/" + name); err2 == nil {
				return dir + "/" + name
			}
		}
		Missing(t, "%s not found (apt-get install -y %s, or make deps)", name, debianPackage)
	}
	return p
}

// Short skips t under -short, for the slow namespace and interop tests.
// CI does not run -short.
func Short(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("slow: skipped with -short")
	}
}

// ThreadSleeps returns how many times the threads of this process have
// gone to sleep so far (the sum of their voluntary context switches): one
// per thread wake-up. Tests use it to check that a loop wakes only its
// own thread, not the Go runtime's others.
func ThreadSleeps(t testing.TB) int64 {
	t.Helper()
	dirs, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatalf("reading this process's threads: %v", err)
	}
	var sum int64
	for _, d := range dirs {
		b, err := os.ReadFile("/proc/self/task/" + d.Name() + "/status")
		if err != nil {
			continue // the thread has exited
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "voluntary_ctxt_switches:"); ok {
				n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				if err != nil {
					t.Fatalf("/proc/self/task/%s/status: %q: %v", d.Name(), line, err)
				}
				sum += n
			}
		}
	}
	return sum
}

// HoldSoftwareTimestamps keeps the kernel's software receive timestamps
// switched on until release is called, and returns once they flow.
//
// Why: the kernel stamps received packets only while some socket on the
// machine has asked for receive timestamps, and it switches that on from a
// work queue when the first socket asks (net_enable_timestamp), and off
// when the last one closes. On a busy machine the work runs late, so the
// first messages a test's freshly opened sockets receive can come without
// a timestamp. A test binary that holds one asking socket for its whole
// run, opened before any test, sees the kernel's steady state. It needs no
// root: the socket is UDP on the loopback address and talks to itself.
func HoldSoftwareTimestamps() (release func(), err error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("holding software timestamps: %w", err)
	}
	release = func() { unix.Close(fd) }
	fail := func(err error) (func(), error) {
		release()
		return nil, fmt.Errorf("holding software timestamps: %w", err)
	}
	flags := unix.SOF_TIMESTAMPING_RX_SOFTWARE | unix.SOF_TIMESTAMPING_SOFTWARE
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPING, flags); err != nil {
		return fail(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return fail(err)
	}
	self, err := unix.Getsockname(fd)
	if err != nil {
		return fail(err)
	}
	tv := unix.NsecToTimeval(int64(20 * time.Millisecond))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fail(err)
	}
	buf, oob := make([]byte, 16), make([]byte, 256)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if err := unix.Sendto(fd, []byte("ts?"), 0, self); err != nil {
			return fail(err)
		}
		_, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, 0)
		if err != nil {
			continue // EAGAIN: the datagram is late; ask again
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			return fail(err)
		}
		for _, m := range msgs {
			if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SO_TIMESTAMPING && len(m.Data) >= 16 {
				return release, nil
			}
		}
		time.Sleep(time.Millisecond)
	}
	return fail(fmt.Errorf("no receive timestamp on loopback within 10 s"))
}

// MainHoldingTimestamps is a TestMain for packages whose tests receive
// PTP messages with software timestamps: it runs them while
// HoldSoftwareTimestamps holds timestamps on.
func MainHoldingTimestamps(m *testing.M) {
	release, err := HoldSoftwareTimestamps()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	release()
	os.Exit(code)
}

// Buffer is a log sink that a process or a daemon writes and a test reads
// at the same time.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write implements io.Writer.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// StartGroup starts cmd in a process group of its own, its output in the
// returned Buffer, and stops the whole group when the test ends: SIGTERM,
// SIGKILL after 5 s or at once for what lingers (a child such as
// gpsfake's gpsd), and the output logged under name if the test failed.
// The group is killed too if the test process dies first (Pdeathsig).
func StartGroup(t testing.TB, name string, cmd *exec.Cmd) *Buffer {
	t.Helper()
	out := &Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		pgid := cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-done
		}
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		if t.Failed() {
			t.Logf("%s's output:\n%s", name, out.String())
		}
	})
	return out
}

// CheckKernelLayout compiles and runs program, a C program that prints
// "name value" lines from the kernel's headers (sizes, offsets,
// constants), and checks every value against want, the Go side's; each
// header must be installed. It skips (fails in CI) without a C compiler
// or a header.
func CheckKernelLayout(t *testing.T, program string, want map[string]uint64, headers ...string) {
	t.Helper()
	cc := RequireCommand(t, "cc", "gcc")
	for _, h := range headers {
		if _, err := os.Stat(h); err != nil {
			Missing(t, "%s missing (apt-get install -y linux-libc-dev)", h)
		}
	}
	dir := t.TempDir()
	src, bin := filepath.Join(dir, "layout.c"), filepath.Join(dir, "layout")
	if err := os.WriteFile(src, []byte(program), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(cc, "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("cc: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatalf("layout program: %v", err)
	}
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("layout program: %q", line)
		}
		name := line[:i]
		v, err := strconv.ParseUint(line[i+1:], 10, 64)
		if err != nil {
			t.Fatalf("layout program: %q: %v", line, err)
		}
		g, ok := want[name]
		switch {
		case !ok:
			t.Errorf("the Go side does not check %s", name)
		case g != v:
			t.Errorf("%s: kernel %d (%#x), Go %d (%#x)", name, v, v, g, g)
		}
		seen[name] = true
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("%s not checked against the headers", name)
		}
	}
}
