package ptpd

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// timerWait is the event loop's wait when Options.KernelWait is set: the
// goroutine blocks in epoll_pwait itself, with the engine's next deadline
// on a timerfd in the epoll set, as ptp4l's poll(2) loop does.
//
// Why: parked on the Go poller, every message woke the runtime's
// scheduler machinery as well (sysmon out of its deep sleep, a futex
// hand-off, the runtime's own epoll_pwait beside ours), and at 128 Hz the
// daemon used three times ptp4l's CPU. Waiting in the kernel brings the
// system calls per message down to ptp4l's.
//
// What it costs: the wait is a raw system call, so the runtime counts the
// goroutine as running and its P as busy while it sleeps. Three things
// keep that safe. The loop yields (runtime.Gosched) before every wait, so
// goroutines made ready meanwhile (the UNIX socket servers, a [phc2sys]
// job, signal delivery) run at least at the message rate. A wait that
// lasts more than about 10 ms is preempted by sysmon with a signal, which
// ends epoll_pwait with EINTR: the loop goes round, and the garbage
// collector's stop-the-world and those goroutines get the P within about
// 10 ms even on a silent network. And every socket is non-blocking, so no
// other raw call in the loop can sleep.
type timerWait struct {
	epfd, tfd int
	armed     int64 // the deadline the timer is set for (0: none; -1: expired)
}

func newTimerWait(epfd int, tag int32) (*timerWait, error) {
	tfd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("timerfd_create: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: tag}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, tfd, &ev); err != nil {
		unix.Close(tfd)
		return nil, fmt.Errorf("epoll_ctl: %w", err)
	}
	return &timerWait{epfd: epfd, tfd: tfd}, nil
}

func (t *timerWait) close() { unix.Close(t.tfd) }

// arm sets the timer for deadline (engine time), unless it already is.
func (t *timerWait) arm(deadline int64) error {
	if deadline == t.armed {
		return nil
	}
	var its unix.ItimerSpec
	if deadline != 0 {
		rel := deadline - now()
		if rel < 1 {
			rel = 1
		}
		its.Value = unix.NsecToTimespec(rel)
	}
	if err := unix.TimerfdSettime(t.tfd, 0, &its, nil); err != nil {
		return fmt.Errorf("timerfd_settime: %w", err)
	}
	t.armed = deadline
	return nil
}

// expired notes the timer's expiry. It is not read: the next arm
// always sets the timer again, which clears its readiness (ptp4l works
// the same way), and saves a read(2) per deadline.
func (t *timerWait) expired() { t.armed = -1 }

// wait blocks in epoll_pwait until something is ready.
func (t *timerWait) wait(events []unix.EpollEvent) (int, error) {
	n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(t.epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), ^uintptr(0), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
