package transport

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Segment is an in-process network segment: what one member sends reaches
// every other member (a multicast destination), or the member it is
// addressed to (a unicast MAC address), as on a bridge. A segment knows no
// IP addresses: a UDP destination, unicast or not, reaches every other
// member. It lets a test run
// the daemon's real event loop, several of them in one process, without
// root, namespaces or a NIC.
//
// Each member's receive side is one end of a UNIX datagram socket pair, so
// an event loop polls a member as it polls a socket. A member stamps the
// messages it sends and receives with its own clock (CLOCK_REALTIME, as
// the kernel's software timestamps are, unless it is given another); the
// wire takes no time, so a message's receive timestamp is the receiver's
// clock at the instant it was sent.
type Segment struct {
	mu      sync.Mutex
	members []*Member
	nextMAC uint32
}

// NewSegment returns an empty segment.
func NewSegment() *Segment { return &Segment{} }

// MemberConfig describes one member of a Segment.
type MemberConfig struct {
	// Name names the member's "interface" in messages.
	Name string
	// MAC is its address; empty gives a locally administered one.
	MAC net.HardwareAddr
	// Clock, when set, takes the member's timestamps (ns since the epoch);
	// it must be safe to call from any goroutine. The default reads
	// CLOCK_REALTIME.
	Clock func() int64
	// OneStep writes the transmit time into a Sync without the twoStep
	// flag as it leaves, as a NIC with one-step timestamping does.
	OneStep bool
}

// Member is one port on a Segment. It implements Endpoint and Receiver.
type Member struct {
	seg     *Segment
	name    string
	mac     net.HardwareAddr
	clock   func() int64
	oneStep bool
	rfd     int // the end the owner reads
	wfd     int // the end the others write
	closed  atomic.Bool

	txMu  sync.Mutex
	frame []byte // a sent message with its header, reused

	rx []byte // the owner's receive buffer

	// Dropped counts messages that did not fit the receiver's queue.
	dropped atomic.Uint64
	// unstamped is how many of the next messages arrive without a
	// receive timestamp.
	unstamped atomic.Int64
}

// segmentHeader precedes each message in a member's queue: the receive
// timestamp (8 bytes) and the sender's MAC (6).
const segmentHeader = 14

// Join adds a member to the segment.
func (s *Segment) Join(cfg MemberConfig) (*Member, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("transport: segment member %s: socketpair: %w", cfg.Name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := &Member{seg: s, name: cfg.Name, mac: cfg.MAC, clock: cfg.Clock, oneStep: cfg.OneStep,
		rfd: fds[0], wfd: fds[1], frame: make([]byte, 0, 2048), rx: make([]byte, 2048)}
	if m.clock == nil {
		m.clock = realtimeNs
	}
	if len(m.mac) == 0 {
		s.nextMAC++
		m.mac = net.HardwareAddr{0x02, 0x52, 0x4b, byte(s.nextMAC >> 16), byte(s.nextMAC >> 8), byte(s.nextMAC)}
	}
	s.members = append(s.members, m)
	return m, nil
}

// realtimeNs reads CLOCK_REALTIME through the vDSO.
func realtimeNs() int64 { return time.Now().UnixNano() }

// send delivers b from m to dst.
func (m *Member) send(b []byte, dst Addr) (int64, error) {
	if m.closed.Load() {
		return 0, ErrClosed
	}
	if len(b) > 1500 {
		return 0, fmt.Errorf("transport: segment member %s: %d bytes is more than a frame holds", m.name, len(b))
	}
	m.txMu.Lock()
	defer m.txMu.Unlock()
	ts := m.clock()
	var hdr [segmentHeader]byte
	copy(hdr[8:14], m.mac)
	m.frame = append(append(m.frame[:0], hdr[:]...), b...)
	msg := m.frame[segmentHeader:]
	if m.oneStep && isOneStepSync(msg) {
		putOriginTimestamp(msg, ts) // the transmit time, as a one-step NIC writes it
	}
	multicast := !dst.L2 || dst.MAC[0]&1 == 1
	// Delivery holds the segment's lock, so that no member closes its
	// descriptors while a message is being written to them.
	m.seg.mu.Lock()
	defer m.seg.mu.Unlock()
	for _, to := range m.seg.members {
		if to == m || !multicast && string(to.mac) != string(dst.MAC[:]) {
			continue
		}
		binary.BigEndian.PutUint64(m.frame[0:8], uint64(to.clock()))
		_, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(to.wfd), uintptr(unsafe.Pointer(&m.frame[0])), uintptr(len(m.frame)), unix.MSG_DONTWAIT, 0, 0)
		if e != 0 {
			to.dropped.Add(1)
		}
	}
	return ts, nil
}

// SendEvent implements Endpoint: the transmit timestamp is the member's
// clock as the message leaves.
func (m *Member) SendEvent(b []byte, dst Addr) (int64, error) { return m.send(b, dst) }

// SendGeneral implements Endpoint.
func (m *Member) SendGeneral(b []byte, dst Addr) error {
	_, err := m.send(b, dst)
	return err
}

// Receivers implements Endpoint: the member itself.
func (m *Member) Receivers() []Receiver { return []Receiver{m} }

// Destinations implements Endpoint: the L2 multicast addresses.
func (m *Member) Destinations() (primary, peerDelay Addr) {
	return Addr{MAC: [6]byte(L2PrimaryMAC), L2: true}, Addr{MAC: [6]byte(L2PeerDelayMAC), L2: true}
}

// HardwareAddr implements Endpoint.
func (m *Member) HardwareAddr() net.HardwareAddr { return m.mac }

// FD implements Receiver.
func (m *Member) FD() (int, error) {
	if m.closed.Load() {
		return -1, ErrClosed
	}
	return m.rfd, nil
}

// TryReceive implements Receiver: one message and its receive timestamp,
// or ErrWouldBlock.
func (m *Member) TryReceive(b []byte, info *RxInfo) (int, error) {
	if m.closed.Load() {
		return 0, ErrClosed
	}
	n, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(m.rfd), uintptr(unsafe.Pointer(&m.rx[0])), uintptr(len(m.rx)), unix.MSG_DONTWAIT, 0, 0)
	switch {
	case e == unix.EAGAIN:
		return 0, ErrWouldBlock
	case e != 0:
		return 0, fmt.Errorf("transport: segment member %s: %w", m.name, e)
	case int(n) < segmentHeader:
		m.dropped.Add(1)
		return 0, ErrWouldBlock
	}
	info.Time = int64(binary.BigEndian.Uint64(m.rx[0:8]))
	info.HasTime = true
	if m.unstamped.Load() > 0 && m.unstamped.Add(-1) >= 0 {
		info.Time, info.HasTime = 0, false
	}
	info.Src = Addr{MAC: [6]byte(m.rx[8:14]), L2: true}
	return copy(b, m.rx[segmentHeader:n]), nil
}

// WithoutTimestamps makes the next n messages the member receives arrive
// without a receive timestamp, as they do from a kernel that is still
// switching software timestamps on (it does that from a work queue when
// the first socket on the machine asks for them).
func (m *Member) WithoutTimestamps(n int) { m.unstamped.Store(int64(n)) }

// DrainErrQueue implements Receiver; a member has no error queue.
func (m *Member) DrainErrQueue() {}

// Dropped counts messages this member never received because its queue
// was full.
func (m *Member) Dropped() uint64 { return m.dropped.Load() }

// Close implements Endpoint: the member leaves the segment.
func (m *Member) Close() error {
	if m.closed.Swap(true) {
		return nil
	}
	s := m.seg
	s.mu.Lock()
	for i, x := range s.members {
		if x == m {
			s.members = append(s.members[:i:i], s.members[i+1:]...)
			break
		}
	}
	s.mu.Unlock()
	return errors.Join(unix.Close(m.rfd), unix.Close(m.wfd))
}

var (
	_ Endpoint = (*Member)(nil)
	_ Receiver = (*Member)(nil)
)
