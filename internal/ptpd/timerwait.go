package ptpd

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// timerWait keeps the engine's next deadline on a timerfd in the event
// loop's epoll set, as ptp4l does, and is the loop's wait while it is busy
// (when Options.KernelWait allows it): the goroutine then blocks in
// epoll_pwait itself.
//
// Why the timerfd: with the deadline on a Go timer (a read deadline on the
// epoll file) the runtime's sysmon woke for every deadline as well. Why
// the kernel wait: parked on the Go poller, every wake-up also went
// through the scheduler (sysmon out of its deep sleep, futex hand-offs,
// the runtime's own epoll_pwait beside ours), about four more system calls
// per message than ptp4l's loop; at 128 Hz that was 2.7 times ptp4l's CPU.
//
// What it costs: the wait is a raw system call, so the runtime counts the
// goroutine as running and its P as busy while it sleeps, and sysmon, which
// rests only when every P is idle, wakes every 10 ms. That is cheap beside
// hundreds of messages a second and dear beside a few: at the default
// 1 Hz the poller costs almost nothing and this wait 100 sysmon wake-ups
// and, for waits over 10 ms, 100 preemption signals a second. So the loop
// waits here only while it wakes at least busyWakes times a second.
//
// Why it is safe: the loop yields (runtime.Gosched) before every wait, so
// goroutines made ready meanwhile (signal delivery, a [phc2sys] job) run at
// least at the message rate; a wait that outlasts 10 ms is preempted by
// sysmon with a signal, which ends epoll_pwait with EINTR, so the garbage
// collector's stop-the-world and those goroutines get the P within about
// 10 ms; the UNIX sockets are served on the loop itself; and every socket
// is non-blocking, so no other raw call in the loop can sleep.
// busyWakes is the wake-up rate above which the loop waits in the kernel
// (and half of it, below which it goes back to the poller): 100 a second
// is an average wait of 10 ms, sysmon's preemption period. Above it the
// waits seldom outlast sysmon and the kernel wait saves the scheduler's
// four system calls a message; below it the preemption signals cost more
// than they save (scripts/cost.sh at 16 Hz: the client woke about 52
// times a second and used half as much CPU again in the kernel wait).
const busyWakes = 100

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

// arm sets the timer for deadline (engine time; 0 disarms it), unless it
// already is.
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

// expired notes the timer's expiry. The timer stays readable until it is
// set again or read; the loop sets it again before its next wait (arm
// sees armed is -1), as ptp4l does, which saves a read(2) per deadline.
func (t *timerWait) expired() { t.armed = -1 }

// wait blocks in epoll_pwait until something is ready.
func (t *timerWait) wait(events []unix.EpollEvent) (int, error) {
	n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(t.epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), ^uintptr(0), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
