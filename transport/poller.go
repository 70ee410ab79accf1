package transport

import (
	"fmt"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Reserved tags of a Poller's events; the caller's tags are ≥ 0 or
// ≤ TagUser.
const (
	// TagWake: Wake was called (the eventfd has been drained).
	TagWake int32 = -1
	// TagTimer: the deadline given to Arm has passed.
	TagTimer int32 = -2
	// TagUser is the highest negative tag a caller may use.
	TagUser int32 = -3
)

// Poller is an event loop's wait, as ptp4l's poll(2) loop has it: an epoll
// set of the loop's descriptors, each with a tag; the loop's next deadline
// on a timerfd in the set; and an eventfd in the set through which other
// goroutines wake the loop. One goroutine waits on it; Wake may be called
// from any.
//
// It waits in one of two ways (see Wait). Parked on the Go runtime's
// poller, the goroutine costs nothing while the loop is idle, but every
// wake-up also goes through the scheduler: sysmon out of its deep sleep,
// futex hand-offs between threads, the runtime's own epoll_pwait beside
// ours, about four more system calls per message than ptp4l. Blocked in
// epoll_pwait itself ("in the kernel"), a wake-up costs what it costs
// ptp4l; but the wait is then a raw system call, so the runtime counts the
// goroutine as running and its P as busy while it sleeps, and sysmon,
// which rests only while every P is idle, wakes every 10 ms and preempts a
// wait that outlasts that with a signal (epoll_pwait ends with EINTR, Wait
// returns no events). That is cheap beside hundreds of messages a second
// and dear beside a few, so the caller chooses per wait.
//
// Why the timerfd rather than a Go timer: sysmon sleeps only until the
// next runtime timer, so a deadline on a Go timer woke it as well.
type Poller struct {
	epfd   int
	file   *os.File // epfd, so that the runtime's poller can watch it
	rc     syscall.RawConn
	tfd    int
	armed  int64 // the deadline the timer is set for (0: none; -1: fired)
	events []unix.EpollEvent
	n      int
	err    error
	poll   func(uintptr) bool // made once: a closure per wait would allocate
	buf    [8]byte

	wmu  sync.Mutex // guards evfd against Close while Wake writes
	evfd int
}

// NewPoller returns a poller for up to max descriptors of the caller's.
func NewPoller(max int) (*Poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("transport: epoll_create1: %w", err)
	}
	p := &Poller{epfd: epfd, tfd: -1, evfd: -1, events: make([]unix.EpollEvent, max+2)}
	fail := func(what string, err error) (*Poller, error) {
		p.Close()
		return nil, fmt.Errorf("transport: %s: %w", what, err)
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("transport: epoll: %w", err)
	}
	p.file = os.NewFile(uintptr(epfd), "epoll")
	if p.rc, err = p.file.SyscallConn(); err != nil {
		return fail("epoll", err)
	}
	if p.tfd, err = unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC); err != nil {
		return fail("timerfd_create", err)
	}
	if p.evfd, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC); err != nil {
		return fail("eventfd", err)
	}
	if err := p.add(p.tfd, TagTimer); err != nil {
		return fail("epoll_ctl", err)
	}
	if err := p.add(p.evfd, TagWake); err != nil {
		return fail("epoll_ctl", err)
	}
	p.poll = func(fd uintptr) bool {
		p.n, p.err = unix.EpollWait(int(fd), p.events, 0)
		return p.n != 0 || (p.err != nil && p.err != unix.EINTR)
	}
	return p, nil
}

func (p *Poller) add(fd int, tag int32) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: tag}
	return unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev)
}

// Add watches fd for input under tag (≥ 0, or ≤ TagUser). The set is
// level-triggered: what is left unread is reported again.
func (p *Poller) Add(fd int, tag int32) error {
	if tag < 0 && tag > TagUser {
		return fmt.Errorf("transport: poller tag %d is reserved", tag)
	}
	if err := p.add(fd, tag); err != nil {
		return fmt.Errorf("transport: epoll_ctl: %w", err)
	}
	return nil
}

// Arm sets the deadline: the wait returns TagTimer when CLOCK_MONOTONIC
// reaches it. deadline and now are in one monotonic timebase of the
// caller's, in ns; deadline 0 disarms. Setting the deadline it already has
// costs nothing, and setting the timer again also clears a fired one's
// readiness, so a fired timer is never read (ptp4l does the same).
func (p *Poller) Arm(deadline, now int64) error {
	if deadline == p.armed {
		return nil
	}
	var its unix.ItimerSpec
	if deadline != 0 {
		its.Value = unix.NsecToTimespec(max(deadline-now, 1))
	}
	if err := unix.TimerfdSettime(p.tfd, 0, &its, nil); err != nil {
		return fmt.Errorf("transport: timerfd_settime: %w", err)
	}
	p.armed = deadline
	return nil
}

// Wake makes the current or next Wait return TagWake. Any goroutine may
// call it, also after Close.
func (p *Poller) Wake() {
	one := [8]byte{1}
	p.wmu.Lock()
	if p.evfd >= 0 {
		_, _ = unix.Write(p.evfd, one[:])
	}
	p.wmu.Unlock()
}

// Wait waits for events and returns them (valid until the next Wait),
// parked on the runtime's poller or, with kernel, blocked in epoll_pwait
// itself (see Poller). It returns no events when a signal interrupted the
// wait. TagTimer and TagWake events are taken care of: the caller only
// acts on them. A fired timer stays ready until the next Arm, so call Arm
// before every Wait.
func (p *Poller) Wait(kernel bool) ([]unix.EpollEvent, error) {
	if kernel {
		r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(p.epfd), uintptr(unsafe.Pointer(&p.events[0])), uintptr(len(p.events)), ^uintptr(0), 0, 0)
		p.n, p.err = int(r), nil
		if e != 0 {
			p.n, p.err = 0, e
		}
	} else if err := p.rc.Read(p.poll); err != nil {
		return nil, fmt.Errorf("transport: epoll: %w", err)
	}
	if p.err != nil && p.err != unix.EINTR {
		return nil, fmt.Errorf("transport: epoll_pwait: %w", p.err)
	}
	evs := p.events[:max(p.n, 0)]
	for _, ev := range evs {
		switch ev.Fd {
		case TagTimer:
			p.armed = -1 // the next Arm sets it again
		case TagWake:
			_, _ = unix.Read(p.evfd, p.buf[:])
		}
	}
	return evs, nil
}

// Close releases the poller.
func (p *Poller) Close() {
	p.wmu.Lock()
	if p.evfd >= 0 {
		unix.Close(p.evfd)
		p.evfd = -1
	}
	p.wmu.Unlock()
	if p.tfd >= 0 {
		unix.Close(p.tfd)
		p.tfd = -1
	}
	if p.file != nil {
		p.file.Close()
		p.file = nil
	}
}
