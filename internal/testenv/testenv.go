// Package testenv decides what a test may assume about the machine: root,
// network namespaces, commands such as ptp4l. A test that lacks something
// skips with the reason on a developer's machine and fails in CI
// (CI=true), where the suite must run whole.
package testenv

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
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
