package tod

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// baudRates maps ts2phc.nmea_baudrate's values to the termios speeds.
var baudRates = map[int]uint32{
	300: unix.B300, 600: unix.B600, 1200: unix.B1200, 1800: unix.B1800,
	2400: unix.B2400, 4800: unix.B4800, 9600: unix.B9600,
	19200: unix.B19200, 38400: unix.B38400, 57600: unix.B57600,
	115200: unix.B115200, 230400: unix.B230400, 460800: unix.B460800,
	500000: unix.B500000, 576000: unix.B576000, 921600: unix.B921600,
	1000000: unix.B1000000, 1152000: unix.B1152000, 1500000: unix.B1500000,
	2000000: unix.B2000000, 2500000: unix.B2500000, 3000000: unix.B3000000,
	3500000: unix.B3500000, 4000000: unix.B4000000,
}

// BaudRate returns the termios speed constant (unix.B9600 ...) of a baud
// rate, or an error naming ts2phc.nmea_baudrate and the rates a serial
// line can be set to.
func BaudRate(baud int) (uint32, error) {
	if s, ok := baudRates[baud]; ok {
		return s, nil
	}
	rates := make([]int, 0, len(baudRates))
	for r := range baudRates {
		rates = append(rates, r)
	}
	slices.Sort(rates)
	names := make([]string, len(rates))
	for i, r := range rates {
		names[i] = strconv.Itoa(r)
	}
	return 0, fmt.Errorf("ts2phc.nmea_baudrate %d: a serial line cannot be set to that rate; use one of %s",
		baud, strings.Join(names, ", "))
}

// Serial reads NMEA sentences from a receiver on a serial line
// (ts2phc.nmea_serialport at ts2phc.nmea_baudrate).
type Serial struct {
	path string
	fd   int      // the descriptor inside f, for the termios ioctls
	f    *os.File // non-blocking, so reads park on the runtime's poller
	old  unix.Termios
	c    counters
	s    *nmeaStream
	cl   closer
}

var _ Reader = (*Serial)(nil)

// SerialOpenFlags is how OpenSerial opens the receiver's line: read-write,
// as ts2phc opens it; dist/systemd's units must grant that
// (DeviceAllow=char-ttyS rw and friends). O_NOCTTY: the line
// must not become our controlling terminal (a hang-up would then signal
// the daemon). O_NONBLOCK: the open must not wait for carrier, and the
// runtime's poller can then wait for data, so that Close and a cancelled
// context end a read.
const SerialOpenFlags = unix.O_RDWR | unix.O_NOCTTY | unix.O_NONBLOCK | unix.O_CLOEXEC

// OpenSerial opens the serial device at path and sets its line to raw
// 8N1 at baud; Close restores the line as it found it.
func OpenSerial(path string, baud int) (*Serial, error) {
	speed, err := BaudRate(baud)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Open(path, SerialOpenFlags, 0)
	switch {
	case errors.Is(err, unix.ENOENT):
		return nil, fmt.Errorf("tod: serial device %s does not exist: connect the GNSS receiver, or set ts2phc.nmea_serialport to the device it is on (/dev/ttyS0, /dev/ttyUSB0, /dev/ttyACM0 ...)", path)
	case errors.Is(err, unix.EACCES):
		return nil, fmt.Errorf("tod: serial device %s: permission denied: run as root or as a member of the device's group (usually dialout)", path)
	case err != nil:
		return nil, fmt.Errorf("tod: opening serial device %s: %w", path, err)
	}
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.ENOTTY) {
			return nil, fmt.Errorf("tod: %s is not a serial device (ts2phc.nmea_serialport)", path)
		}
		return nil, fmt.Errorf("tod: reading the line settings of %s: %w", path, err)
	}
	raw := rawTermios(*old, speed)
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &raw); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tod: setting %s to raw 8N1 at %d baud: %w", path, baud, err)
	}
	s := &Serial{path: path, fd: fd, f: os.NewFile(uintptr(fd), path), old: *old, cl: newCloser()}
	s.s = newNMEAStream(&s.c)
	return s, nil
}

// rawTermios is t in raw mode at speed: bytes pass as the receiver sent
// them (no echo, no line editing, no signals, no CR/NL translation, no
// flow control), 8 data bits, no parity, one stop bit, the modem lines
// ignored (CLOCAL) and the receiver on (CREAD).
func rawTermios(t unix.Termios, speed uint32) unix.Termios {
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR |
		unix.IGNCR | unix.ICRNL | unix.IXON | unix.IXOFF | unix.IXANY | unix.INPCK
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB | unix.CSTOPB | unix.CRTSCTS | unix.CBAUD | unix.CBAUDEX
	t.Cflag |= unix.CS8 | unix.CLOCAL | unix.CREAD | speed
	t.Ispeed, t.Ospeed = speed, speed
	// A read returns as soon as one byte is there (VMIN 1) and waits
	// with no inter-byte timer (VTIME 0): a sentence's receipt time is
	// the time its last byte could be read, not a timer's later.
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	return t
}

// Run reads sentences until ctx ends or Close is called (then it returns
// nil) or the device fails (then it returns the error, with the device).
// One Run at a time.
func (s *Serial) Run(ctx context.Context, deliver func(Report)) error {
	ctx, cancel := s.cl.runContext(ctx)
	defer cancel()
	// A deadline in the past wakes the read.
	stop := context.AfterFunc(ctx, func() { s.f.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	_, err := s.s.read(s.f, deliver)
	if ctx.Err() != nil || s.cl.closed() {
		return nil
	}
	s.c.readErrors.Add(1)
	return fmt.Errorf("tod: reading serial device %s: %w", s.path, err)
}

// Counters returns the counts so far.
func (s *Serial) Counters() Counters { return s.c.load() }

// Close stops Run, restores the line settings the device had, and closes
// it.
func (s *Serial) Close() error {
	if !s.cl.close() {
		return nil
	}
	errT := unix.IoctlSetTermios(s.fd, unix.TCSETS, &s.old)
	if errT != nil {
		errT = fmt.Errorf("tod: restoring the line settings of %s: %w", s.path, errT)
	}
	return errors.Join(errT, s.f.Close())
}
