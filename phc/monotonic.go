package phc

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The virtual clock runs on CLOCK_MONOTONIC and relates to CLOCK_REALTIME
// through the kernel's own relation between the two. Both are read from
// one timekeeper: CLOCK_REALTIME is the timekeeper's seconds plus the
// nanoseconds of its NTP-steered readout (tkr_mono), and CLOCK_MONOTONIC
// is the same sum plus wall_to_monotonic (kernel/time/timekeeping.c,
// ktime_get_real_ts64 and ktime_get_ts64). Every frequency correction,
// the tick and frequency words of adjtimex(2), NTP's slewing, adjtime(3),
// changes that one readout's multiplier, so the two clocks run at exactly
// the same rate, and
//
//	CLOCK_REALTIME − CLOCK_MONOTONIC = −wall_to_monotonic
//
// is an integer number of nanoseconds that changes only when
// CLOCK_REALTIME is set: clock_settime(2), settimeofday(2), an
// ADJ_SETOFFSET step, a leap second, a resume from suspend. Each of those
// calls clock_was_set(), which cancels a timerfd armed on CLOCK_REALTIME
// with TFD_TIMER_CANCEL_ON_SET: a read of it then fails with ECANCELED
// (timerfd_create(2)). CLOCK_MONOTONIC_RAW is the one clock that does
// not take the corrections.
//
// So the offset is measured once and measured again only when the
// kernel says CLOCK_REALTIME was set; in between, a conversion between
// the two clocks is exact arithmetic.

// Monotonic reads CLOCK_MONOTONIC, ns: the virtual and emulated clocks'
// base, and the timebase in which a grandmaster's time source pairs its
// pulses with time-of-day reports (both sides must read this one).
func Monotonic() int64 { return readMono() }

// readMono reads CLOCK_MONOTONIC, the virtual clock's base.
func readMono() int64 {
	var ts unix.Timespec
	// CLOCK_MONOTONIC cannot fail.
	_ = clockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

// wallOffset tracks CLOCK_REALTIME − CLOCK_MONOTONIC for the process.
var wallOffset struct {
	once sync.Once
	fd   int   // the timerfd that reports a set of CLOCK_REALTIME
	err  error // from opening it

	mu    sync.Mutex
	ns    int64 // the offset, ns
	width int64 // the width of the interval it was taken from, ns
}

// realtimeOffset returns CLOCK_REALTIME − CLOCK_MONOTONIC in ns. When
// CLOCK_REALTIME has not been set since the last call it costs one read
// of a timerfd (a raw system call, as on the event loop's wake-up path
// every clock read must be).
func realtimeOffset() (int64, error) {
	o := &wallOffset
	o.once.Do(openWallOffset)
	if o.err != nil {
		return 0, o.err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	var buf [8]byte
	_, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(o.fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
	switch e {
	case unix.EAGAIN:
		return o.ns, nil
	case unix.ECANCELED:
		// CLOCK_REALTIME was set: measure again.
	case 0:
		// The timer expired, which at the end of time it cannot; measure
		// again all the same.
	default:
		return 0, fmt.Errorf("virtual clock: reading the CLOCK_REALTIME timerfd: %w", e)
	}
	ns, width, err := measureWallOffset()
	if err != nil {
		return 0, err
	}
	o.ns, o.width = ns, width
	return ns, nil
}

// openWallOffset arms the timerfd, then measures the offset: a set of
// CLOCK_REALTIME during the measurement shows at the next read.
func openWallOffset() {
	o := &wallOffset
	fd, err := unix.TimerfdCreate(unix.CLOCK_REALTIME, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		o.err = fmt.Errorf("virtual clock: timerfd_create(CLOCK_REALTIME): %w", err)
		return
	}
	// An absolute expiry the kernel caps at KTIME_MAX: the timer never
	// fires, and only a set of the clock makes its reads fail.
	at := unix.ItimerSpec{Value: unix.Timespec{Sec: math.MaxInt64 / 2}}
	if err := unix.TimerfdSettime(fd, unix.TFD_TIMER_ABSTIME|unix.TFD_TIMER_CANCEL_ON_SET, &at, nil); err != nil {
		unix.Close(fd)
		o.err = fmt.Errorf("virtual clock: timerfd_settime(CANCEL_ON_SET): %w", err)
		return
	}
	o.fd = fd
	o.ns, o.width, o.err = measureWallOffset()
}

// measureWallOffset measures CLOCK_REALTIME − CLOCK_MONOTONIC from a few
// readings of CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_MONOTONIC.
func measureWallOffset() (ns, width int64, err error) {
	read := func() (m1, r, m2 int64) {
		var a, b, c unix.Timespec
		_ = clockGettime(unix.CLOCK_MONOTONIC, &a)
		_ = clockGettime(unix.CLOCK_REALTIME, &b)
		_ = clockGettime(unix.CLOCK_MONOTONIC, &c)
		return a.Nano(), b.Nano(), c.Nano()
	}
	// A set of CLOCK_REALTIME in the middle of a measurement makes its
	// bounds disagree; two in a row are not expected.
	for range 3 {
		if ns, width, ok := boundOffset(16, read); ok {
			return ns, width, nil
		}
	}
	return 0, 0, errors.New("virtual clock: CLOCK_REALTIME is being set over and over; cannot relate it to CLOCK_MONOTONIC")
}

// boundOffset intersects what n readings (m1, r, m2) say of the constant
// r − m: CLOCK_REALTIME was read after m1 and before m2, so each reading
// puts it in [r − m2, r − m1]. The intersection is about as narrow as a
// system call is long; its midpoint is returned with its width. An empty
// intersection (ok false) means the offset changed between readings.
func boundOffset(n int, read func() (m1, r, m2 int64)) (ns, width int64, ok bool) {
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	for range n {
		m1, r, m2 := read()
		lo, hi = max(lo, r-m2), min(hi, r-m1)
	}
	if lo > hi {
		return 0, 0, false
	}
	return lo + (hi-lo)/2, hi - lo, true
}

// EmulatedRealtime is CLOCK_REALTIME now as the emulations compute it:
// CLOCK_MONOTONIC plus the kernel's constant CLOCK_REALTIME −
// CLOCK_MONOTONIC, in ns since the epoch. It is the "true time" against
// which an emulated PHC's error is measured and in which an emulated GPS
// receiver's pulses fall, and agrees with a read of CLOCK_REALTIME to a
// few tens of nanoseconds.
func EmulatedRealtime() (int64, error) {
	off, err := realtimeOffset()
	if err != nil {
		return 0, err
	}
	return readMono() + off, nil
}
