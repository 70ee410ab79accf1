package phc

import (
	"math"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The emulations' readers wait as a kernel's do, on a wait queue, rather
// than polling: a futex on a word of the shared mapping, which the writer
// wakes after it changes the word (in whichever process it runs; a futex
// on a MAP_SHARED file mapping is shared between processes). Polling every
// millisecond cost a grandmaster reading one pulse a second several times
// ptp4l's whole CPU (scripts/gm-cost.sh).

const (
	futexWaitOp = 0 // FUTEX_WAIT, not private: the word is shared
	futexWakeOp = 1 // FUTEX_WAKE
	// futexMaxWait bounds each wait, so that a missed wake (the word's
	// other half changing on a big-endian machine) costs at most this.
	futexMaxWait = 100 * time.Millisecond
)

// futexWait sleeps while the word at addr holds val, until a futexWake,
// for at most d (and futexMaxWait). Spurious wake-ups are the caller's to
// check for.
func futexWait(addr *uint32, val uint32, d time.Duration) {
	ts := unix.NsecToTimespec(int64(min(max(d, 0), futexMaxWait)))
	_, _, _ = unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWaitOp, uintptr(val),
		uintptr(unsafe.Pointer(&ts)), 0, 0)
}

// futexWake wakes every waiter on the word at addr.
func futexWake(addr *uint32) {
	_, _, _ = unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWakeOp, math.MaxInt32, 0, 0, 0)
}

// low32 is the word of a uint64 counter that changes with every increment
// on a little-endian machine, for futexWait and futexWake.
func low32(v *uint64) *uint32 { return (*uint32)(unsafe.Pointer(v)) }
