package transport

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultUDSAddress and DefaultUDSMode are ptp4l's uds_address and
// uds_file_mode.
const (
	DefaultUDSAddress = "/var/run/ptp4l"
	DefaultUDSMode    = 0o660
)

// UDS is a UNIX datagram socket carrying PTP management messages without
// timestamps, as ptp4l serves them to pmc and phc2sys. Replies go to the
// address each request came from, so clients bind a path of their own.
type UDS struct {
	conn *net.UnixConn
	path string
}

// ListenUDS serves on path (uds_address) with file mode (uds_file_mode).
// A stale socket file left by a daemon that died is removed first; any
// other kind of file at path is an error, never deleted.
func ListenUDS(path string, mode fs.FileMode) (*UDS, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&fs.ModeSocket == 0 {
			return nil, fmt.Errorf("transport: uds_address %s exists and is not a socket: choose another uds_address", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("transport: removing stale socket %s: %w", path, err)
		}
	}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return nil, fmt.Errorf("transport: uds_address %s: %w: run as root or set uds_address to a writable path", path, err)
		}
		return nil, fmt.Errorf("transport: uds_address %s: %w", path, err)
	}
	if err := os.Chmod(path, mode); err != nil {
		c.Close()
		return nil, fmt.Errorf("transport: uds_file_mode %o on %s: %w", mode, path, err)
	}
	return &UDS{conn: c, path: path}, nil
}

// SetOwner gives the socket file to uid and gid (-1 leaves either as it
// is): uds_owner and uds_group, so that a group of operators may manage
// the daemon through a socket mode 0660 without being root.
func (u *UDS) SetOwner(uid, gid int) error {
	if err := os.Lchown(u.path, uid, gid); err != nil {
		return fmt.Errorf("transport: owner %d group %d on %s: %w", uid, gid, u.path, err)
	}
	return nil
}

// DialUDS opens a client socket bound at local that talks to the server
// at server, as pmc does (pmc binds /var/run/pmc.PID).
func DialUDS(local, server string) (*UDS, error) {
	_ = os.Remove(local)
	c, err := net.DialUnix("unixgram", &net.UnixAddr{Name: local, Net: "unixgram"}, &net.UnixAddr{Name: server, Net: "unixgram"})
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("transport: %s: no daemon listening (is roko-ptpd or ptp4l running, with this uds_address?): %w", server, err)
		}
		return nil, fmt.Errorf("transport: dialing %s: %w", server, err)
	}
	return &UDS{conn: c, path: local}, nil
}

// Path returns the socket's own path.
func (u *UDS) Path() string { return u.path }

// Receive waits for a datagram and returns its length and sender.
func (u *UDS) Receive(b []byte) (int, *net.UnixAddr, error) {
	n, from, err := u.conn.ReadFromUnix(b)
	if err != nil && errors.Is(err, net.ErrClosed) {
		return 0, nil, ErrClosed
	}
	return n, from, err
}

// Reply sends b to a client's address.
func (u *UDS) Reply(b []byte, to *net.UnixAddr) error {
	if to == nil || to.Name == "" {
		// An unbound client cannot be answered; pmc always binds.
		return fmt.Errorf("transport: %s: the client has no address to reply to", u.path)
	}
	_, err := u.conn.WriteToUnix(b, to)
	return err
}

// Send sends b to the server of a DialUDS socket.
func (u *UDS) Send(b []byte) error {
	_, err := u.conn.Write(b)
	return err
}

// Close closes the socket and removes its file (Go removes only a
// listener's file by itself).
func (u *UDS) Close() error {
	err := u.conn.Close()
	if rerr := os.Remove(u.path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) && err == nil {
		err = rerr
	}
	return err
}

// SetReadDeadline bounds Receive.
func (u *UDS) SetReadDeadline(t time.Time) error { return u.conn.SetReadDeadline(t) }

// FD returns the socket's descriptor, for an event loop that waits on it
// in an epoll set of its own. The socket stays non-blocking.
func (u *UDS) FD() (int, error) {
	rc, err := u.conn.SyscallConn()
	if err != nil {
		return 0, err
	}
	var fd int
	err = rc.Control(func(f uintptr) { fd = int(f) })
	return fd, err
}

// TryReceive reads a datagram if one is queued, without waiting; ok is
// false when none is. from is nil for a client that did not bind.
func (u *UDS) TryReceive(b []byte) (n int, from *net.UnixAddr, ok bool, err error) {
	rc, err := u.conn.SyscallConn()
	if err != nil {
		return 0, nil, false, err
	}
	var sa unix.Sockaddr
	var rerr error
	if err := rc.Control(func(fd uintptr) { n, sa, rerr = unix.Recvfrom(int(fd), b, unix.MSG_DONTWAIT) }); err != nil {
		return 0, nil, false, err
	}
	if rerr == unix.EAGAIN || rerr == unix.EINTR {
		return 0, nil, false, nil
	}
	if rerr != nil {
		return 0, nil, false, fmt.Errorf("transport: %s: recvfrom: %w", u.path, rerr)
	}
	if su, isUnix := sa.(*unix.SockaddrUnix); isUnix && su.Name != "" {
		from = &net.UnixAddr{Name: su.Name, Net: "unixgram"}
	}
	return n, from, true, nil
}
