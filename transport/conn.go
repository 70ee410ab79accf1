package transport

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Errors callers test for with errors.Is.
var (
	// ErrTxTimestampTimeout: no transmit timestamp came back within
	// tx_timestamp_timeout. ptp4l reports this as "timed out while polling
	// for tx timestamp" and faults the port.
	ErrTxTimestampTimeout = errors.New("timed out while polling for tx timestamp")
	// ErrClosed: the connection was closed.
	ErrClosed = errors.New("transport: use of closed connection")
)

// Stats are a connection's counters. All are cumulative.
type Stats struct {
	Received      uint64 // messages delivered by Receive
	Sent          uint64 // messages sent
	Dropped       uint64 // frames or datagrams Receive dropped (malformed, truncated, foreign)
	NoRxTimestamp uint64 // messages received without a timestamp
	TxTimestamps  uint64 // transmit timestamps delivered
	TxTimeouts    uint64 // SendEvent calls that gave up waiting (ErrTxTimestampTimeout)
	TxLate        uint64 // timestamps that arrived after their SendEvent gave up
	TxMismatched  uint64 // error-queue entries that matched no packet we sent
}

// RxInfo describes a received message.
type RxInfo struct {
	// Time is the receive timestamp, ns since the Unix epoch on the clock
	// that took it (the NIC's PHC for hardware timestamps, CLOCK_REALTIME
	// for software ones); HasTime is false when the kernel gave none.
	Time    int64
	HasTime bool
	Src     Addr
}

// Conn is one socket with timestamping: the engine of every transport. Its
// receive path uses raw recvmsg on buffers it owns, through the runtime
// poller (syscall.RawConn), so that it allocates nothing; its error-queue
// path polls the descriptor directly, because a goroutine blocked in a
// poller read holds the descriptor's read lock and would starve it.
type Conn struct {
	name     string // for messages: "eth0 event" etc.
	rc       syscall.RawConn
	closer   io.Closer
	family   int
	hardware bool
	oneStep  bool
	l2       bool
	// emu, when set, is the emulated NIC whose hardware timestamps this
	// socket gets (the kernel stamps in software underneath).
	emu      *NIC
	port     uint16 // UDP: the port a destination without one gets
	txStamps bool   // transmit timestamps are on: sends take OPT_ID keys
	// l2hdr is the Ethernet header prepended to every L2 send (destination
	// filled in per send).
	l2hdr [14]byte
	// timeout bounds the wait for a transmit timestamp.
	timeout time.Duration

	stats struct {
		received, sent, dropped, noRx, txTS, txTimeouts, txLate, txMismatched atomic.Uint64
	}

	// receive state, owned by the one goroutine that calls Receive
	rx struct {
		msg   unix.Msghdr
		iov   unix.Iovec
		name  unix.RawSockaddrAny
		oob   [512]byte
		n     int
		oobn  int
		flags int
		err   syscall.Errno
		fn    func(fd uintptr) bool
		ci    controlInfo
		frame [2048]byte // L2 frames arrive with their Ethernet header
	}

	// send state, guarded by txMu: sends are serialised so that the
	// OPT_ID keys we expect match the kernel's counter.
	txMu sync.Mutex
	tx   struct {
		msg      unix.Msghdr
		iov      [2]unix.Iovec
		to4      unix.RawSockaddrInet4
		to6      unix.RawSockaddrInet6
		nextKey  uint32 // OPT_ID the next send will carry
		gaveUp   [16]uint32
		gaveUpN  int
		eq       unix.Msghdr
		eqOOB    [512]byte
		eqData   [64]byte
		eqIov    unix.Iovec
		n        int
		err      syscall.Errno
		sendFn   func(fd uintptr) bool
		eqFn     func(fd uintptr)
		eqWait   time.Duration
		eqGot    bool
		eqErr    error
		ci       controlInfo
		frameBuf [2048]byte
	}
	closed atomic.Bool
	// unpollOnce takes the socket out of the runtime's poller at the
	// first FD.
	unpollOnce sync.Once
	unpollErr  error

	// rb holds the messages one recvmmsg read ahead for TryReceive; nil
	// until the first TryReceive (only an event loop reads that way).
	rb *rxBatch
	// sq and eq are the queues of general and event messages that go
	// out together in one sendmmsg (Queue, Flush, QueueEvent,
	// FlushEvents); nil until first used.
	sq, eq *txBatch

	// held are transmit timestamps an emulated card holds back (late),
	// each with when it is handed over; guarded by txMu.
	held []heldTimestamp
}

// heldTimestamp is an error-queue entry's control buffer an emulated card
// delivers late.
type heldTimestamp struct {
	due int64 // CLOCK_MONOTONIC, ns
	oob []byte
}

func newConn(name string, rc syscall.RawConn, closer io.Closer, family int, mode Timestamping, timeout time.Duration) *Conn {
	c := &Conn{name: name, rc: rc, closer: closer, family: family, hardware: mode != Software, oneStep: mode == OneStep, timeout: timeout}
	c.rx.fn = c.recvOnce
	c.tx.sendFn = c.sendOnce
	c.tx.eqFn = c.eqOnce
	return c
}

// enableTimestamping sets SO_TIMESTAMPING for mode and asks for error-queue
// readiness as POLLPRI, so a wait for a transmit timestamp is not woken by
// ordinary errors alone.
func (c *Conn) enableTimestamping(mode Timestamping, tx bool) error {
	flags := sockFlags(mode)
	if c.emu != nil {
		// The emulated NIC turns the kernel's software timestamps into
		// its own hardware ones.
		flags = sockFlags(Software)
	}
	if !tx {
		// Receive timestamps only: a socket that sends no event messages
		// would otherwise fill its error queue with timestamps nobody
		// reads, and keep an event loop's epoll awake with EPOLLERR.
		flags &^= unix.SOF_TIMESTAMPING_TX_SOFTWARE | unix.SOF_TIMESTAMPING_TX_HARDWARE
	}
	c.txStamps = tx
	var serr error
	err := c.rc.Control(func(fd uintptr) {
		if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPING, int(flags)); serr != nil {
			serr = fmt.Errorf("SO_TIMESTAMPING: %w", serr)
			return
		}
		if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SELECT_ERR_QUEUE, 1); serr != nil {
			serr = fmt.Errorf("SO_SELECT_ERR_QUEUE: %w", serr)
		}
	})
	if err != nil {
		return err
	}
	// OPT_ID's counter starts at zero when the option is set.
	c.tx.nextKey = 0
	return serr
}

// Stats returns the counters.
func (c *Conn) Stats() Stats {
	return Stats{
		Received: c.stats.received.Load(), Sent: c.stats.sent.Load(), Dropped: c.stats.dropped.Load(),
		NoRxTimestamp: c.stats.noRx.Load(), TxTimestamps: c.stats.txTS.Load(), TxTimeouts: c.stats.txTimeouts.Load(),
		TxLate: c.stats.txLate.Load(), TxMismatched: c.stats.txMismatched.Load(),
	}
}

// SyscallConn returns the socket for options the transport does not set.
func (c *Conn) SyscallConn() (syscall.RawConn, error) { return c.rc, nil }

// Close closes the socket; a blocked Receive returns ErrClosed.
func (c *Conn) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	return c.closer.Close()
}

func (c *Conn) recvOnce(fd uintptr) bool {
	r := &c.rx
	n, _, e := unix.RawSyscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&r.msg)), 0)
	if e == unix.EAGAIN || e == unix.EINTR {
		return false
	}
	r.n, r.err = int(n), e
	r.oobn, r.flags = int(r.msg.Controllen), int(r.msg.Flags)
	return true
}

// Receive waits for the next message and copies it into b, returning its
// length. Malformed or truncated messages are counted and skipped. Only one
// goroutine may call Receive at a time.
func (c *Conn) Receive(b []byte, info *RxInfo) (int, error) {
	return c.receive(b, info, true)
}

// ErrWouldBlock: TryReceive found nothing waiting.
var ErrWouldBlock = errors.New("transport: no message waiting")

// TryReceive is Receive without waiting: it returns ErrWouldBlock when no
// message is queued. An event loop that watches the socket's descriptor
// itself (FD) uses it instead of a goroutine per socket.
func (c *Conn) TryReceive(b []byte, info *RxInfo) (int, error) {
	return c.receive(b, info, false)
}

// FD returns the socket's descriptor, for an event loop's own epoll set.
// The descriptor stays the Conn's: never read or close it directly.
//
// The first call takes the socket out of the Go runtime's poller (see
// unpolled): a loop that watches it itself would otherwise have the
// runtime woken, in vain, by every datagram. Call it before other
// goroutines use the Conn; Receive and the sends still work after it.
func (c *Conn) FD() (int, error) {
	c.unpollOnce.Do(func() {
		u, err := unpoll(c.rc, c.closer)
		if err != nil {
			c.unpollErr = fmt.Errorf("transport: %s: %w", c.name, err)
			return
		}
		c.rc, c.closer = u, u
	})
	if c.unpollErr != nil {
		return -1, c.unpollErr
	}
	var fd int
	err := c.rc.Control(func(f uintptr) { fd = int(f) })
	return fd, err
}

func (c *Conn) receive(b []byte, info *RxInfo, wait bool) (int, error) {
	r := &c.rx
	if !wait {
		return c.tryReceiveBatch(b, info)
	}
	if c.rb != nil {
		if n, ok := c.nextBuffered(b, info); ok {
			return n, nil
		}
	}
	for {
		buf := b
		if c.l2 {
			buf = r.frame[:]
		}
		if len(buf) == 0 {
			return 0, fmt.Errorf("transport: %s: empty receive buffer", c.name)
		}
		r.iov.Base = &buf[0]
		r.iov.SetLen(len(buf))
		r.msg = unix.Msghdr{
			Name:    (*byte)(unsafe.Pointer(&r.name)),
			Namelen: uint32(unsafe.Sizeof(r.name)),
			Iov:     &r.iov,
			Iovlen:  1,
			Control: &r.oob[0],
		}
		r.msg.SetControllen(len(r.oob))
		err := c.rc.Read(r.fn)
		if err != nil {
			if c.closed.Load() {
				return 0, ErrClosed
			}
			return 0, fmt.Errorf("transport: %s: receive: %w", c.name, err)
		}
		if r.err != 0 {
			if c.closed.Load() {
				return 0, ErrClosed
			}
			return 0, fmt.Errorf("transport: %s: recvmsg: %w", c.name, r.err)
		}
		data := b
		if c.l2 {
			data = r.frame[:]
		}
		if n, ok := c.deliver(b, info, data[:r.n], r.flags, r.oob[:r.oobn], &r.name); ok {
			return n, nil
		}
	}
}

// deliver checks a received datagram or frame (data, as long as recvmsg
// said, with its message flags, control buffer and source), copies the
// message into b and fills info; false means it was counted and dropped.
func (c *Conn) deliver(b []byte, info *RxInfo, data []byte, flags int, oob []byte, name *unix.RawSockaddrAny) (int, bool) {
	r := &c.rx
	if flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 {
		c.stats.dropped.Add(1) // larger than any PTP message we accept
		return 0, false
	}
	if c.emu != nil {
		c.emu.rewriteControl(oob, false)
	}
	if err := parseControl(oob, c.hardware, &r.ci); err != nil {
		c.stats.dropped.Add(1)
		return 0, false
	}
	info.Time, info.HasTime = r.ci.ts, r.ci.hasTS
	n := len(data)
	if c.l2 {
		// Raw frames: destination, source, EtherType, then the message. A
		// VLAN tag, if the driver left one in, sits before the EtherType.
		f := data
		off := 12
		if len(f) >= 18 && f[12] == 0x81 && f[13] == 0x00 {
			off = 16
		}
		if len(f) < off+2 || f[off] != EtherType>>8 || f[off+1] != EtherType&0xff {
			c.stats.dropped.Add(1)
			return 0, false
		}
		info.Src = Addr{L2: true}
		copy(info.Src.MAC[:], f[6:12])
		n = copy(b, f[off+2:])
		if n < len(f)-off-2 {
			c.stats.dropped.Add(1)
			return 0, false
		}
	} else {
		if len(b) < n {
			c.stats.dropped.Add(1) // longer than the caller's buffer
			return 0, false
		}
		if n > 0 && &b[0] != &data[0] {
			copy(b, data) // read ahead into a batch's buffer
		}
		info.Src = sockaddrToAddr(name)
	}
	if !info.HasTime {
		c.stats.noRx.Add(1)
	}
	c.stats.received.Add(1)
	return n, true
}

func sockaddrToAddr(sa *unix.RawSockaddrAny) Addr {
	switch sa.Addr.Family {
	case unix.AF_INET:
		p := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return Addr{IP: netip.AddrFrom4(p.Addr), Port: ntohs(p.Port)}
	case unix.AF_INET6:
		p := (*unix.RawSockaddrInet6)(unsafe.Pointer(sa))
		return Addr{IP: netip.AddrFrom16(p.Addr), Port: ntohs(p.Port)}
	}
	return Addr{}
}

func ntohs(v uint16) uint16 { return v>>8 | v<<8 }

func (c *Conn) sendOnce(fd uintptr) bool {
	n, _, e := unix.RawSyscall(unix.SYS_SENDMSG, fd, uintptr(unsafe.Pointer(&c.tx.msg)), 0)
	if e == unix.EAGAIN || e == unix.EINTR {
		return false
	}
	c.tx.n, c.tx.err = int(n), e
	return true
}

// send transmits b to dst. The caller holds txMu.
func (c *Conn) send(b []byte, dst Addr) error {
	if c.closed.Load() {
		return ErrClosed
	}
	t := &c.tx
	t.msg = unix.Msghdr{}
	if c.emu != nil && c.oneStep && len(b) <= len(t.frameBuf) {
		// The emulated one-step NIC writes the transmit time into a
		// one-step Sync; on a copy, since b is the caller's.
		n := copy(t.frameBuf[:], b)
		if c.emu.oneStepSync(t.frameBuf[:n]) {
			b = t.frameBuf[:n]
		}
	}
	if c.l2 {
		if !dst.L2 {
			return fmt.Errorf("transport: %s: %s is not a MAC address", c.name, dst)
		}
		copy(c.l2hdr[0:6], dst.MAC[:])
		t.iov[0].Base = &c.l2hdr[0]
		t.iov[0].SetLen(len(c.l2hdr))
		t.iov[1].Base = &b[0]
		t.iov[1].SetLen(len(b))
		t.msg.Iov, t.msg.Iovlen = &t.iov[0], 2
	} else {
		port := dst.Port
		if port == 0 {
			port = c.port
		}
		switch {
		case c.family == unix.AF_INET && dst.IP.Is4():
			t.to4 = unix.RawSockaddrInet4{Family: unix.AF_INET, Port: ntohs(port), Addr: dst.IP.As4()}
			t.msg.Name = (*byte)(unsafe.Pointer(&t.to4))
			t.msg.Namelen = unix.SizeofSockaddrInet4
		case c.family == unix.AF_INET6 && dst.IP.Is6():
			t.to6 = unix.RawSockaddrInet6{Family: unix.AF_INET6, Port: ntohs(port), Addr: dst.IP.As16()}
			t.msg.Name = (*byte)(unsafe.Pointer(&t.to6))
			t.msg.Namelen = unix.SizeofSockaddrInet6
		default:
			return fmt.Errorf("transport: %s: cannot send to %s", c.name, dst)
		}
		t.iov[0].Base = &b[0]
		t.iov[0].SetLen(len(b))
		t.msg.Iov, t.msg.Iovlen = &t.iov[0], 1
	}
	if err := c.rc.Write(t.sendFn); err != nil {
		return fmt.Errorf("transport: %s: send to %s: %w", c.name, c.effective(dst), err)
	}
	if t.err != 0 {
		return fmt.Errorf("transport: %s: send to %s: %w", c.name, c.effective(dst), t.err)
	}
	// Every datagram on a socket with transmit timestamping takes a key,
	// whether or not the caller waits for its timestamp.
	if c.txStamps {
		t.nextKey++
	}
	c.stats.sent.Add(1)
	return nil
}

// effective is dst with the connection's port filled in, for messages.
func (c *Conn) effective(dst Addr) Addr {
	if !c.l2 && dst.Port == 0 {
		dst.Port = c.port
	}
	return dst
}

// Send transmits b to dst without waiting for a timestamp.
func (c *Conn) Send(b []byte, dst Addr) error {
	if len(b) == 0 {
		return fmt.Errorf("transport: %s: empty message", c.name)
	}
	c.txMu.Lock()
	defer c.txMu.Unlock()
	return c.send(b, dst)
}

// SendEvent transmits b to dst and returns its transmit timestamp (ns since
// the epoch), waiting at most the connection's tx_timestamp_timeout.
func (c *Conn) SendEvent(b []byte, dst Addr) (int64, error) {
	if len(b) == 0 {
		return 0, fmt.Errorf("transport: %s: empty message", c.name)
	}
	if !c.txStamps {
		return 0, fmt.Errorf("transport: %s: sends general messages only (no transmit timestamps)", c.name)
	}
	c.txMu.Lock()
	defer c.txMu.Unlock()
	key := c.tx.nextKey
	if err := c.send(b, dst); err != nil {
		return 0, err
	}
	return c.waitTxTimestamp(key)
}

// gaveUpOn remembers a key whose wait timed out, so that its late
// timestamp is counted as late rather than as a stranger.
func (c *Conn) gaveUpOn(key uint32) {
	t := &c.tx
	t.gaveUp[t.gaveUpN%len(t.gaveUp)] = key
	t.gaveUpN++
}

func (c *Conn) wasGivenUp(key uint32) bool {
	t := &c.tx
	for i := 0; i < min(t.gaveUpN, len(t.gaveUp)); i++ {
		if t.gaveUp[i] == key {
			return true
		}
	}
	return false
}

// waitTxTimestamp reads the error queue until the timestamp with key comes
// back. Older keys (sends nobody waited for, or waits that gave up) are
// drained on the way. The caller holds txMu.
func (c *Conn) waitTxTimestamp(key uint32) (int64, error) {
	deadline := time.Now().Add(c.timeout)
	t := &c.tx
	for {
		remaining := time.Until(deadline)
		if remaining < 0 {
			remaining = 0
		}
		t.eqWait = remaining
		cerr := c.rc.Control(t.eqFn)
		got, perr := t.eqGot, t.eqErr
		if cerr != nil {
			return 0, fmt.Errorf("transport: %s: %w", c.name, cerr)
		}
		if perr != nil {
			return 0, fmt.Errorf("transport: %s: error queue: %w", c.name, perr)
		}
		if got {
			if k, ok := t.ci.isTxTimestamp(); ok {
				switch {
				case k == key:
					c.stats.txTS.Add(1)
					return t.ci.ts, nil
				case int32(k-key) < 0:
					if c.wasGivenUp(k) {
						c.stats.txLate.Add(1)
					}
				default:
					// A key from the future: our count and the kernel's
					// disagree. Resynchronise on the kernel's.
					c.stats.txMismatched.Add(1)
					t.nextKey = k + 1
					return 0, fmt.Errorf("transport: %s: tx timestamp key %d while waiting for %d", c.name, k, key)
				}
			}
			continue
		}
		if remaining == 0 {
			c.stats.txTimeouts.Add(1)
			c.gaveUpOn(key)
			return 0, fmt.Errorf("transport: %s: %w (tx_timestamp_timeout %v)", c.name, ErrTxTimestampTimeout, c.timeout)
		}
	}
}

// DrainErrQueue discards what waits in the socket's error queue: transmit
// timestamps of general messages nobody waits for (on L2 one socket sends
// both kinds). An event loop calls it when epoll reports EPOLLERR, which it
// would otherwise report again at once, for ever.
func (c *Conn) DrainErrQueue() {
	c.txMu.Lock()
	defer c.txMu.Unlock()
	for i := 0; i < 64; i++ {
		c.tx.eqWait = 0
		if err := c.rc.Control(c.tx.eqFn); err != nil || !c.tx.eqGot {
			return
		}
		if k, ok := c.tx.ci.isTxTimestamp(); ok && c.wasGivenUp(k) {
			c.stats.txLate.Add(1)
		}
	}
}

func (c *Conn) eqOnce(fd uintptr) {
	c.tx.eqGot, c.tx.eqErr = c.readErrQueue(int(fd), c.tx.eqWait)
}

// readErrQueue reads one entry of the error queue, waiting up to d for one
// to arrive. It runs inside RawConn.Control, beside a goroutine that may be
// blocked reading the socket, so it must not go through the poller.
//
// It reads before it waits: software transmit timestamps, and many
// drivers' hardware ones, are queued before sendmsg returns, and the poll
// that would find them there is a system call for nothing.
func (c *Conn) readErrQueue(fd int, d time.Duration) (bool, error) {
	got, err := c.tryErrQueue(fd)
	if got || err != nil {
		return got, err
	}
	pfd := [1]unix.PollFd{{Fd: int32(fd), Events: unix.POLLPRI}}
	ms := int(d.Milliseconds())
	if d > 0 && ms == 0 {
		ms = 1
	}
	for {
		n, err := unix.Poll(pfd[:], ms)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return false, err
		}
		if n == 0 {
			return false, nil
		}
		break
	}
	return c.tryErrQueue(fd)
}

// tryErrQueue reads one entry of the error queue if there is one.
func (c *Conn) tryErrQueue(fd int) (bool, error) {
	t := &c.tx
	if len(c.held) > 0 && monotonicNs() >= c.held[0].due {
		// A late transmit timestamp of the emulated card is due.
		n := copy(t.eqOOB[:], c.held[0].oob)
		c.held = c.held[1:]
		if err := parseControl(t.eqOOB[:n], c.hardware, &t.ci); err != nil {
			return false, err
		}
		return true, nil
	}
	t.eqIov.Base = &t.eqData[0]
	t.eqIov.SetLen(len(t.eqData))
	t.eq = unix.Msghdr{Iov: &t.eqIov, Iovlen: 1, Control: &t.eqOOB[0]}
	t.eq.SetControllen(len(t.eqOOB))
	_, _, e := unix.RawSyscall(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&t.eq)), unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
	if e == unix.EAGAIN || e == unix.EINTR {
		return false, nil
	}
	if e != 0 {
		return false, e
	}
	if c.emu != nil && c.emu.rewriteControl(t.eqOOB[:t.eq.Controllen], true) {
		c.held = append(c.held, heldTimestamp{due: monotonicNs() + int64(c.emu.lateBy()), oob: append([]byte(nil), t.eqOOB[:t.eq.Controllen]...)})
		return false, nil
	}
	if err := parseControl(t.eqOOB[:t.eq.Controllen], c.hardware, &t.ci); err != nil {
		return false, err
	}
	return true, nil
}

// monotonicNs reads CLOCK_MONOTONIC (through the vDSO).
func monotonicNs() int64 { return int64(time.Since(monoEpoch)) }

var monoEpoch = time.Now()
