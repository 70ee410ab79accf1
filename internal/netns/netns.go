// Package netns builds throw-away network namespaces joined by veth pairs
// and bridges for tests, with addresses in 198.18.0.0/24 (the benchmarking
// range, never routed), and removes everything when the test ends, also
// when it fails. It drives iproute2's ip command.
package netns

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/roko-network/roko-ptpd/internal/testenv"
)

// NS is a network namespace created for one test.
type NS struct {
	Name string
	ip   string
}

var seq atomic.Uint32

// uniq returns a short name unique to this process: interface names are
// limited to 15 bytes.
func uniq(prefix string) string {
	return fmt.Sprintf("%s%d%03d", prefix, os.Getpid()%100000, seq.Add(1)%1000)
}

func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// New creates a namespace with its loopback up. It needs root and ip.
func New(t testing.TB) *NS {
	t.Helper()
	testenv.RequireRoot(t)
	ip := testenv.RequireCommand(t, "ip", "iproute2")
	n := &NS{Name: uniq("rk"), ip: ip}
	run(t, ip, "netns", "add", n.Name)
	t.Cleanup(func() {
		// Deleting the namespace deletes the interfaces inside it.
		if out, err := exec.Command(ip, "netns", "del", n.Name).CombinedOutput(); err != nil {
			t.Errorf("removing namespace %s: %v\n%s", n.Name, err, out)
		}
	})
	n.IP(t, "link", "set", "lo", "up")
	// Addresses are usable at once: no duplicate address detection, which
	// would hold IPv6 link-local addresses back for a second or two.
	if out, err := n.Command("sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0").CombinedOutput(); err != nil {
		t.Fatalf("sysctl in %s: %v\n%s", n.Name, err, out)
	}
	return n
}

// IP runs ip -n NS args... and returns its output.
func (n *NS) IP(t testing.TB, args ...string) string {
	t.Helper()
	return run(t, n.ip, append([]string{"-n", n.Name}, args...)...)
}

// Command returns a command that runs inside the namespace.
func (n *NS) Command(name string, args ...string) *exec.Cmd {
	return exec.Command(n.ip, append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// Do runs fn on an OS thread that has entered the namespace. Sockets fn
// opens belong to the namespace for their whole life, whichever thread
// uses them afterwards.
func (n *NS) Do(fn func() error) error {
	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	target, err := os.Open("/var/run/netns/" + n.Name)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("entering namespace %s: %w", n.Name, err)
	}
	ferr := fn()
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		// Leave the thread locked: it dies with this goroutine rather
		// than run other goroutines in the wrong namespace.
		return fmt.Errorf("leaving namespace %s: %w", n.Name, err)
	}
	runtime.UnlockOSThread()
	return ferr
}

// Link is one end of a veth pair.
type Link struct {
	NS   *NS
	Name string
	Addr string // IPv4 address without prefix length, "" when none
}

// Veth joins a and b with a veth pair, gives the ends addrA and addrB (a
// /24 in 198.18.0.0/24; "" for none) and brings them up.
func Veth(t testing.TB, a *NS, addrA string, b *NS, addrB string) (Link, Link) {
	t.Helper()
	la, lb := Link{a, uniq("va"), addrA}, Link{b, uniq("vb"), addrB}
	// Create the pair in a, then move one end to b.
	a.IP(t, "link", "add", la.Name, "type", "veth", "peer", "name", lb.Name)
	a.IP(t, "link", "set", lb.Name, "netns", b.Name)
	for _, l := range []Link{la, lb} {
		if l.Addr != "" {
			l.NS.IP(t, "addr", "add", l.Addr+"/24", "dev", l.Name)
		}
		l.NS.IP(t, "link", "set", l.Name, "up")
	}
	return la, lb
}

// Bridge makes a bridge in ns and attaches the given veth ends (which must
// be in ns). The bridge forwards 01:80:C2:00:00:0E, the peer-delay address,
// which a bridge otherwise keeps to itself (group_fwd_mask bit 14).
func Bridge(t testing.TB, ns *NS, ports ...Link) string {
	t.Helper()
	br := uniq("br")
	ns.IP(t, "link", "add", br, "type", "bridge", "group_fwd_mask", "0x4000")
	for _, p := range ports {
		ns.IP(t, "link", "set", p.Name, "master", br)
	}
	ns.IP(t, "link", "set", br, "up")
	return br
}
