package systemd_test

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The test binary doubles as a launcher: with ROKO_SECCOMP set it installs
// the filter described there and execs the rest of its arguments, as
// systemd does between fork and exec. See TestMain.
const (
	envFilter  = "ROKO_SECCOMP"  // syscall numbers allowed, comma-separated
	envFamily  = "ROKO_FAMILIES" // socket address families allowed, comma-separated
	envDenied  = "ROKO_SECCOMP_PROBE"
	auditArch  = 0xc000003e // AUDIT_ARCH_X86_64
	retAllow   = 0x7fff0000 // SECCOMP_RET_ALLOW
	retKillPrc = 0x80000000 // SECCOMP_RET_KILL_PROCESS: systemd's default action
)

// launch installs the filter and execs argv; it never returns on success.
func launch(argv []string) error {
	allowed, err := numbers(os.Getenv(envFilter))
	if err != nil {
		return err
	}
	families, err := numbers(os.Getenv(envFamily))
	if err != nil {
		return err
	}
	prog := program(allowed, families)
	// The filter binds the calling thread and what it execs: stay on it.
	runtime.LockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("PR_SET_NO_NEW_PRIVS: %w", err)
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if _, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&fprog))); e != 0 {
		return fmt.Errorf("seccomp: %w", e)
	}
	if os.Getenv(envDenied) != "" {
		// Show the filter has teeth: swapon is in @swap, which the unit
		// denies, so this kills the process with SIGSYS.
		unix.Syscall(unix.SYS_SWAPON, 0, 0, 0)
		return fmt.Errorf("swapon was not stopped by the filter")
	}
	return syscall.Exec(argv[0], argv, os.Environ())
}

func numbers(list string) ([]uint32, error) {
	var out []uint32
	for _, f := range strings.Split(list, ",") {
		if f == "" {
			continue
		}
		n, err := strconv.ParseUint(f, 10, 32)
		if err != nil {
			return nil, err
		}
		out = append(out, uint32(n))
	}
	return out, nil
}

// program is a classic BPF seccomp filter: the architecture must be
// x86-64; socket() must ask for an allowed family (RestrictAddressFamilies=);
// any other system call must be in allowed; everything else kills the
// process. Each test is a compare and a return, so no jump is long.
func program(allowed, families []uint32) []unix.SockFilter {
	ld := func(off uint32) unix.SockFilter {
		return unix.SockFilter{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: off}
	}
	jeq := func(k uint32, jt, jf uint8) unix.SockFilter {
		return unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: k, Jt: jt, Jf: jf}
	}
	ret := func(k uint32) unix.SockFilter { return unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: k} }
	// struct seccomp_data: nr at 0, arch at 4, args[0] at 16 (low half on
	// little-endian x86-64).
	p := []unix.SockFilter{ld(4), jeq(auditArch, 1, 0), ret(retKillPrc), ld(0)}
	// socket(): skip the family checks unless this is socket.
	// Not socket: jump over the load, the family tests and their kill.
	p = append(p, jeq(unix.SYS_SOCKET, 0, uint8(2*len(families)+2)), ld(16))
	for _, f := range families {
		p = append(p, jeq(f, 0, 1), ret(retAllow))
	}
	p = append(p, ret(retKillPrc))
	for _, n := range allowed {
		p = append(p, jeq(n, 0, 1), ret(retAllow))
	}
	return append(p, ret(retKillPrc))
}

// syscallNumbers reads x86-64's system call numbers from the kernel's
// UAPI header (linux-libc-dev, which gcc brings).
func syscallNumbers(path string) (map[string]uint32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	re := regexp.MustCompile(`^#define __NR_(\w+)\s+(\d+)$`)
	out := map[string]uint32{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			n, _ := strconv.ParseUint(m[2], 10, 32)
			out[m[1]] = uint32(n)
		}
	}
	return out, sc.Err()
}

func joinNumbers(set map[string]bool, nr map[string]uint32) (string, []string) {
	var ns []string
	var names []string
	for name := range set {
		if n, ok := nr[name]; ok {
			ns = append(ns, strconv.Itoa(int(n)))
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return strings.Join(ns, ","), names
}
