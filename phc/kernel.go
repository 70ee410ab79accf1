package phc

import (
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ptpKernel is the lowest seam of a Device: the kernel calls it makes on
// a PTP hardware clock, and nothing else. Everything above it (argument
// building, result decoding, method choice, error wording) is the same
// for a real /dev/ptpN and for the emulated clock (emulated.go), which
// answers the same requests by decoding and filling the same UAPI
// structs. Errors are the kernel's errno values (unix.Errno), so that a
// Device words them the same way whichever answered.
type ptpKernel interface {
	// ioctl is ioctl(2) with a pointer argument.
	ioctl(req uintptr, arg unsafe.Pointer) error
	// ioctlValue is ioctl(2) with an integer argument (PTP_ENABLE_PPS).
	ioctlValue(req, v uintptr) error
	// clockGettime is clock_gettime(2) on the device's clock.
	clockGettime(ts *unix.Timespec) error
	// clockAdjtime is clock_adjtime(2) on the device's clock.
	clockAdjtime(tx *unix.Timex) (int, error)
	// readEvents waits up to timeout (whole milliseconds, as poll(2)
	// takes it) for external timestamp events and reads what there is
	// into buf as struct ptp_extts_event records; 0 bytes on timeout.
	readEvents(buf []byte, timeout time.Duration) (int, error)
	// close releases the device.
	close() error
}

// fileKernel is a real /dev/ptpN: an open character device and the
// dynamic POSIX clock behind it. PHC calls are ordinary system calls
// (syscall.Syscall, not RawSyscall), because they reach a driver that
// may sleep (sysclock.go).
type fileKernel struct {
	f       *os.File
	clockid int32
}

func (k *fileKernel) ioctl(req uintptr, arg unsafe.Pointer) error {
	rc, err := k.f.SyscallConn()
	if err != nil {
		return err
	}
	var e unix.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, e = unix.Syscall(unix.SYS_IOCTL, fd, req, uintptr(arg))
	}); err != nil {
		return err
	}
	if e != 0 {
		return e
	}
	return nil
}

func (k *fileKernel) ioctlValue(req, v uintptr) error {
	rc, err := k.f.SyscallConn()
	if err != nil {
		return err
	}
	var e unix.Errno
	if err := rc.Control(func(fd uintptr) { _, _, e = unix.Syscall(unix.SYS_IOCTL, fd, req, v) }); err != nil {
		return err
	}
	if e != 0 {
		return e
	}
	return nil
}

func (k *fileKernel) clockGettime(ts *unix.Timespec) error { return unix.ClockGettime(k.clockid, ts) }

func (k *fileKernel) clockAdjtime(tx *unix.Timex) (int, error) {
	return unix.ClockAdjtime(k.clockid, tx)
}

func (k *fileKernel) readEvents(buf []byte, timeout time.Duration) (int, error) {
	rc, err := k.f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var rerr error
	if err := rc.Control(func(fd uintptr) {
		p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		k, err := unix.Poll(p, int(timeout.Milliseconds()))
		if err != nil || k == 0 {
			rerr = err
			return
		}
		n, rerr = unix.Read(int(fd), buf)
	}); err != nil {
		return 0, err
	}
	return n, rerr
}

func (k *fileKernel) close() error { return k.f.Close() }
