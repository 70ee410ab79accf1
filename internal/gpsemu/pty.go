package gpsemu

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// OpenPTY makes a pseudo-terminal for the receiver's serial line: the
// receiver writes to master, and a daemon opens slavePath (/dev/pts/N) as
// it would /dev/ttyS0 and sets termios on it. The slave starts raw (8
// bits, no echo, no line editing or translation), as a GPS receiver's
// serial port is used. The master is non-blocking, so a write can time
// out (PTYWriter) instead of hanging when nobody reads the slave. Closing
// the master ends the line: the slave's reader then gets EOF or EIO.
func OpenPTY() (master *os.File, slavePath string, err error) {
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, "", fmt.Errorf("gpsemu: /dev/ptmx: %w", err)
	}
	fail := func(what string, err error) (*os.File, string, error) {
		unix.Close(fd)
		return nil, "", fmt.Errorf("gpsemu: pty: %s: %w", what, err)
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		return fail("TIOCSPTLCK", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		return fail("TIOCGPTN", err)
	}
	slavePath = fmt.Sprintf("/dev/pts/%d", n)
	// The line discipline's settings belong to the pty, not to an open
	// file: set them once through a short-lived open of the slave.
	sfd, err := unix.Open(slavePath, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fail(slavePath, err)
	}
	defer unix.Close(sfd)
	t, err := unix.IoctlGetTermios(sfd, unix.TCGETS)
	if err != nil {
		return fail("TCGETS", err)
	}
	makeRaw(t)
	if err := unix.IoctlSetTermios(sfd, unix.TCSETS, t); err != nil {
		return fail("TCSETS", err)
	}
	return os.NewFile(uintptr(fd), "/dev/ptmx"), slavePath, nil
}

// makeRaw is cfmakeraw(3).
func makeRaw(t *unix.Termios) {
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
}

// PTYWriter writes to a pty master with a deadline, so that a line
// nobody reads loses sentences, as a serial line does, instead of
// blocking the receiver.
type PTYWriter struct {
	Master *os.File
	// Timeout bounds each write; 0 is 100 ms.
	Timeout time.Duration
}

// Write writes b, or fails after the timeout.
func (w PTYWriter) Write(b []byte) (int, error) {
	d := w.Timeout
	if d == 0 {
		d = 100 * time.Millisecond
	}
	if err := w.Master.SetWriteDeadline(time.Now().Add(d)); err != nil {
		return 0, err
	}
	return w.Master.Write(b)
}
