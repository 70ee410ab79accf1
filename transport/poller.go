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
// The waiting goroutine parks on the Go runtime's poller, which watches
// our epoll descriptor, so a quiet loop holds no thread and no P. A
// wake-up then makes two more epoll_pwait calls than ptp4l's poll (the
// runtime's check before it blocks, and ours that finds the set empty
// before we park), but the costly part is elsewhere. While every P
// is idle the runtime's sysmon thread sleeps, and any system call made
// through syscall.Syscall (the runtime's entersyscall) wakes it, which
// then costs two more thread switches. So every call made on a wake-up
// (epoll_pwait with a zero timeout, timerfd_settime, the eventfd's read,
// and the transport's sendmsg and recvmsg) is a raw system call: none of
// them can block, so the runtime need not know of them. Measured at 128 Hz
// (scripts/cost.sh): with them made through Syscall the loop used twice
// ptp4l's CPU, the extra all in sysmon (over 500 wake-ups a second); raw,
// sysmon stays asleep and roko-ptpd uses what ptp4l does.
//
// Why the timerfd rather than a Go timer: sysmon also sleeps only until
// the next runtime timer, so a deadline on a Go timer woke it as well.
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

	// The hold set: the timerfd, the eventfd and the caller's quiet
	// descriptors (tags ≤ TagUser), without the busy ones, so that Hold
	// can sleep while those are ready.
	holdfd   int
	holdFile *os.File
	holdRC   syscall.RawConn
	holdPoll func(uintptr) bool
	holdN    int
	holdErr  error
	holdEv   [4]unix.EpollEvent
	// fds are the caller's descriptors with tags ≥ 0 (fd in Pad), which
	// Hold stops watching while it holds.
	fds []unix.EpollEvent
}

// NewPoller returns a poller for up to max descriptors of the caller's.
func NewPoller(max int) (*Poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("transport: epoll_create1: %w", err)
	}
	p := &Poller{epfd: epfd, tfd: -1, evfd: -1, holdfd: -1, events: make([]unix.EpollEvent, max+2)}
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
		p.n, p.err = p.epollWait(int(fd))
		return p.n != 0 || (p.err != nil && p.err != unix.EINTR)
	}
	if p.holdfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return fail("epoll_create1", err)
	}
	if err := unix.SetNonblock(p.holdfd, true); err != nil {
		unix.Close(p.holdfd)
		p.holdfd = -1
		return fail("epoll", err)
	}
	p.holdFile = os.NewFile(uintptr(p.holdfd), "epoll-hold")
	if p.holdRC, err = p.holdFile.SyscallConn(); err != nil {
		return fail("epoll", err)
	}
	for _, fd := range []struct {
		fd  int
		tag int32
	}{{p.tfd, TagTimer}, {p.evfd, TagWake}} {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: fd.tag}
		if err := unix.EpollCtl(p.holdfd, unix.EPOLL_CTL_ADD, fd.fd, &ev); err != nil {
			return fail("epoll_ctl", err)
		}
	}
	p.holdPoll = func(fd uintptr) bool {
		r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, fd, uintptr(unsafe.Pointer(&p.holdEv[0])), uintptr(len(p.holdEv)), 0, 0, 0)
		p.holdN, p.holdErr = int(r), nil
		if e != 0 {
			p.holdN, p.holdErr = 0, e
		}
		return p.holdN != 0 || (p.holdErr != nil && p.holdErr != unix.EINTR)
	}
	return p, nil
}

func (p *Poller) add(fd int, tag int32) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: tag}
	return unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev)
}

// Add watches fd for input under tag (≥ 0, or ≤ TagUser). The set is
// level-triggered: what is left unread is reported again. Hold stops
// watching the descriptors with tags ≥ 0 while it holds (the busy ones:
// an event loop's sockets); input on one with a tag ≤ TagUser (the
// management socket, the link monitor: rare, and wanted at once) ends a
// hold.
func (p *Poller) Add(fd int, tag int32) error {
	if tag < 0 && tag > TagUser {
		return fmt.Errorf("transport: poller tag %d is reserved", tag)
	}
	if err := p.add(fd, tag); err != nil {
		return fmt.Errorf("transport: epoll_ctl: %w", err)
	}
	if tag >= 0 {
		p.fds = append(p.fds, unix.EpollEvent{Events: unix.EPOLLIN, Fd: tag, Pad: int32(fd)})
		return nil
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: tag}
	if err := unix.EpollCtl(p.holdfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("transport: epoll_ctl: %w", err)
	}
	return nil
}

// watch makes the set watch the caller's descriptors for input (on) or
// for nothing. (A change replaces the tag as well, so it is given again.)
func (p *Poller) watch(on bool) error {
	for _, f := range p.fds {
		ev := unix.EpollEvent{Fd: f.Fd}
		if on {
			ev.Events = unix.EPOLLIN
		}
		if _, _, e := unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(p.epfd), unix.EPOLL_CTL_MOD, uintptr(f.Pad), uintptr(unsafe.Pointer(&ev)), 0, 0); e != 0 {
			return fmt.Errorf("transport: epoll_ctl: %w", e)
		}
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
	if _, _, e := unix.RawSyscall6(unix.SYS_TIMERFD_SETTIME, uintptr(p.tfd), 0, uintptr(unsafe.Pointer(&its)), 0, 0, 0); e != 0 {
		return fmt.Errorf("transport: timerfd_settime: %w", e)
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

// Wait waits on the runtime's poller for events and returns them (valid
// until the next Wait). TagTimer and TagWake events are taken care of: the
// caller only acts on them. A fired timer stays ready until the next Arm,
// so call Arm before every Wait.
func (p *Poller) Wait() ([]unix.EpollEvent, error) {
	if err := p.rc.Read(p.poll); err != nil {
		return nil, fmt.Errorf("transport: epoll: %w", err)
	}
	if p.err != nil { // not EINTR: poll waits again after one
		return nil, fmt.Errorf("transport: epoll_pwait: %w", p.err)
	}
	evs := p.events[:p.n]
	for _, ev := range evs {
		switch ev.Fd {
		case TagTimer:
			p.armed = -1 // the next Arm sets it again
		case TagWake:
			_, _, _ = unix.RawSyscall(unix.SYS_READ, uintptr(p.evfd), uintptr(unsafe.Pointer(&p.buf[0])), uintptr(len(p.buf)))
		}
	}
	return evs, nil
}

// Hold sleeps until CLOCK_MONOTONIC reaches until (in the timebase of
// Arm), until Wake is called, or until a descriptor added with a tag ≤
// TagUser has input, whichever comes first, however ready the caller's
// other descriptors are (the set does not watch them meanwhile): what arrives meanwhile waits in the sockets
// for the next Wait, which reads it in one go. A loop under load uses it
// as a NIC uses interrupt moderation. The wake-up is not consumed: the
// next Wait reports it. Hold leaves the timer disarmed or fired, so call
// Arm before the next Wait (as before every Wait).
func (p *Poller) Hold(until, now int64) error {
	if until <= now {
		return nil
	}
	if err := p.Arm(until, now); err != nil {
		return err
	}
	// The runtime's poller watches our set, and every message that came
	// into a socket of it would wake a thread of the runtime's in vain
	// (the loop is not waiting on the set): over 6,000 times a second at
	// 10,000 clients × 1 Hz. So the set stops watching the sockets while
	// the loop holds; they are level-triggered, so what came meanwhile is
	// reported when they are watched again.
	if err := p.watch(false); err != nil {
		return err
	}
	err := p.holdRC.Read(p.holdPoll)
	if werr := p.watch(true); err == nil && werr != nil {
		return werr
	}
	if err != nil {
		return fmt.Errorf("transport: epoll: %w", err)
	}
	if p.holdErr != nil {
		return fmt.Errorf("transport: epoll_pwait: %w", p.holdErr)
	}
	for _, ev := range p.holdEv[:p.holdN] {
		if ev.Fd == TagTimer {
			p.armed = -1
		}
	}
	return nil
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
	if p.holdFile != nil {
		p.holdFile.Close()
		p.holdFile = nil
	} else if p.holdfd >= 0 {
		unix.Close(p.holdfd)
	}
	p.holdfd = -1
}

// epollWait collects the ready events of epfd without waiting.
func (p *Poller) epollWait(epfd int) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&p.events[0])), uintptr(len(p.events)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}
