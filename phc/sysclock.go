package phc

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The kernel's own clocks (CLOCK_REALTIME, CLOCK_MONOTONIC) are read and
// steered with raw system calls. roko-ptpd's event loop reads them on
// every message (a virtual clock is CLOCK_MONOTONIC scaled, and converting
// a software timestamp, which is CLOCK_REALTIME, reads a timerfd that
// says whether CLOCK_REALTIME was set: monotonic.go) and steers
// CLOCK_REALTIME on every Sync, and a call made through syscall.Syscall
// wakes the Go runtime's sysmon thread when the process is otherwise
// idle: two more thread switches a message, a third of the loop's CPU at
// 128 Hz (transport.Poller). These calls only take the timekeeping lock
// (the timerfd's, which is non-blocking) and never sleep, so the runtime
// loses nothing by not knowing of them. Calls on a PHC stay ordinary
// system calls: they reach a NIC driver, which may sleep (a firmware
// command, a contended hardware semaphore).

// clockGettime is clock_gettime(2) for the kernel's own clocks.
func clockGettime(id int32, ts *unix.Timespec) error {
	_, _, e := unix.RawSyscall(unix.SYS_CLOCK_GETTIME, uintptr(id), uintptr(unsafe.Pointer(ts)), 0)
	if e != 0 {
		return e
	}
	return nil
}

// clockAdjtime is clock_adjtime(2) for the kernel's own clocks; it returns
// the clock state (TIME_OK, ...).
func clockAdjtime(id int32, tx *unix.Timex) (int, error) {
	r, _, e := unix.RawSyscall(unix.SYS_CLOCK_ADJTIME, uintptr(id), uintptr(unsafe.Pointer(tx)), 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}
