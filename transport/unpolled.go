package transport

import (
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// unpolled is a socket's descriptor that the Go runtime's poller does not
// watch: a syscall.RawConn over a plain descriptor. A socket opened
// through os.File (mdlayher/socket, mdlayher/packet, net) is registered
// with the runtime's epoll, edge-triggered, for as long as it is open, and
// every datagram that arrives wakes whichever thread of the runtime sleeps
// in that epoll, even when no goroutine waits on the socket. An event loop
// that watches the socket in its own epoll set (Poller) reads it only when
// it chooses to; under load the runtime's wake-ups were most of the
// loop's thread switches (over 7,000 a second at 10,000 unicast clients
// × 1 Hz, each finding nothing to do).
//
// Read and Write call f until it is done, and between tries wait in
// ppoll(2) through syscall.Syscall6, so the runtime hands the thread's P
// on meanwhile; the wait ends at most every pollSlice to see Close.
type unpolled struct {
	mu     sync.RWMutex // Close waits for Control calls to end
	fd     int
	closed bool
}

// pollSlice bounds one blocking wait of an unpolled descriptor, so that a
// Read blocked on it sees Close.
const pollSlice = 50 * time.Millisecond

// Control implements syscall.RawConn.
func (u *unpolled) Control(f func(fd uintptr)) error {
	u.mu.RLock()
	defer u.mu.RUnlock()
	if u.closed {
		return os.ErrClosed
	}
	f(uintptr(u.fd))
	return nil
}

// Read implements syscall.RawConn: f until it returns true, waiting for
// input between tries.
func (u *unpolled) Read(f func(fd uintptr) bool) error { return u.io(f, unix.POLLIN) }

// Write implements syscall.RawConn: f until it returns true, waiting for
// room between tries.
func (u *unpolled) Write(f func(fd uintptr) bool) error { return u.io(f, unix.POLLOUT) }

func (u *unpolled) io(f func(fd uintptr) bool, events int16) error {
	for {
		u.mu.RLock()
		if u.closed {
			u.mu.RUnlock()
			return os.ErrClosed
		}
		done := f(uintptr(u.fd))
		fd := u.fd
		u.mu.RUnlock()
		if done {
			return nil
		}
		pfd := unix.PollFd{Fd: int32(fd), Events: events}
		ts := unix.NsecToTimespec(int64(pollSlice))
		_, _, e := syscall.Syscall6(unix.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd)), 1, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
		if e != 0 && e != unix.EINTR {
			return e
		}
	}
}

// Close closes the descriptor.
func (u *unpolled) Close() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return os.ErrClosed
	}
	u.closed = true
	return unix.Close(u.fd)
}

// unpoll moves the socket behind rc out of the runtime's poller: it
// duplicates the descriptor, then closes the original through closer,
// which takes it out of the runtime's epoll; the socket lives on in the
// duplicate, with its options, bindings and multicast memberships.
func unpoll(rc syscall.RawConn, closer interface{ Close() error }) (*unpolled, error) {
	fd, derr := -1, error(nil)
	if err := rc.Control(func(f uintptr) { fd, derr = unix.FcntlInt(f, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, derr
	}
	if err := closer.Close(); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return &unpolled{fd: fd}, nil
}
