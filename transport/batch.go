package transport

import (
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Batches: a unicast grandmaster's socket carries thousands of messages a
// second, and on this path the system call, not the message, is what
// costs. So an event loop reads what is waiting with one recvmmsg
// (TryReceive, then Buffered), queues general messages and sends them
// with one sendmmsg (Queue, Flush), and sends a batch of event messages
// with one sendmmsg and reads their transmit timestamps back from the
// error queue with one recvmmsg (QueueEvent, FlushEvents). Each message
// keeps its own control buffer, so each keeps its own timestamp.

const (
	rxBatchLen = 32 // messages one recvmmsg reads ahead
	txBatchLen = 64 // messages one sendmmsg sends
	// batchMsgLen is room for one message: every PTP message we send or
	// accept, an Ethernet header and a VLAN tag.
	batchMsgLen = 1536
	// batchOOBLen is room for one message's control messages: a
	// timestamp (64 bytes) and a sock_extended_err (32) with headers.
	batchOOBLen = 256
)

// rxBatch is what one recvmmsg read: up to rxBatchLen datagrams or
// frames, each with its control buffer and source address.
type rxBatch struct {
	hdrs  [rxBatchLen]unix.Mmsghdr
	iovs  [rxBatchLen]unix.Iovec
	names [rxBatchLen]unix.RawSockaddrAny
	oobs  [rxBatchLen][batchOOBLen]byte
	bufs  [rxBatchLen][batchMsgLen]byte
	n     int // datagrams read
	next  int // the next to deliver
	got   int // recvmmsg's result
	err   unix.Errno
	fn    func(fd uintptr)
}

func (c *Conn) newRxBatch() *rxBatch {
	rb := &rxBatch{}
	rb.fn = func(fd uintptr) {
		for i := range rb.hdrs {
			rb.iovs[i].Base = &rb.bufs[i][0]
			rb.iovs[i].SetLen(batchMsgLen)
			rb.hdrs[i] = unix.Mmsghdr{Hdr: unix.Msghdr{
				Name: (*byte)(unsafe.Pointer(&rb.names[i])), Namelen: uint32(unsafe.Sizeof(rb.names[i])),
				Iov: &rb.iovs[i], Iovlen: 1, Control: &rb.oobs[i][0]}}
			rb.hdrs[i].Hdr.SetControllen(batchOOBLen)
		}
		n, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&rb.hdrs[0])), rxBatchLen, unix.MSG_DONTWAIT, 0, 0)
		rb.got, rb.err = int(n), e
	}
	return rb
}

// Buffered returns how many messages TryReceive has read ahead and not yet
// delivered. The socket's readiness does not show them: an event loop
// calls TryReceive until Buffered is 0 before it waits again.
func (c *Conn) Buffered() int {
	if c.rb == nil {
		return 0
	}
	return c.rb.n - c.rb.next
}

// nextBuffered delivers the next message read ahead, skipping those
// deliver drops; false when none is left.
func (c *Conn) nextBuffered(b []byte, info *RxInfo) (int, bool) {
	rb := c.rb
	for rb.next < rb.n {
		h := &rb.hdrs[rb.next]
		i := rb.next
		rb.next++
		if n, ok := c.deliver(b, info, rb.bufs[i][:h.Len], int(h.Hdr.Flags), rb.oobs[i][:h.Hdr.Controllen], &rb.names[i]); ok {
			return n, true
		}
	}
	return 0, false
}

// tryReceiveBatch delivers a message read ahead, or reads what is waiting
// with one recvmmsg and delivers the first.
func (c *Conn) tryReceiveBatch(b []byte, info *RxInfo) (int, error) {
	if c.rb == nil {
		c.rb = c.newRxBatch()
	}
	rb := c.rb
	for {
		if n, ok := c.nextBuffered(b, info); ok {
			return n, nil
		}
		rb.n, rb.next = 0, 0
		if err := c.rc.Control(rb.fn); err != nil {
			if c.closed.Load() {
				return 0, ErrClosed
			}
			return 0, fmt.Errorf("transport: %s: receive: %w", c.name, err)
		}
		switch rb.err {
		case 0:
		case unix.EAGAIN, unix.EINTR:
			return 0, ErrWouldBlock
		default:
			if c.closed.Load() {
				return 0, ErrClosed
			}
			return 0, fmt.Errorf("transport: %s: recvmmsg: %w", c.name, rb.err)
		}
		rb.n = rb.got
	}
}

// txBatch is a queue of messages for one sendmmsg, each copied in with
// its destination.
type txBatch struct {
	hdrs [txBatchLen]unix.Mmsghdr
	iovs [txBatchLen]unix.Iovec
	to   [txBatchLen]unix.RawSockaddrInet6 // room for either family
	bufs [txBatchLen][batchMsgLen]byte
	tags [txBatchLen]uint64
	n    int // messages queued
	off  int // the first not yet sent
	sent int // sendmmsg's result
	err  unix.Errno
	fn   func(fd uintptr) bool
	// the error queue, read back in bulk by FlushEvents
	eq struct {
		hdrs [txBatchLen]unix.Mmsghdr
		iovs [txBatchLen]unix.Iovec
		oobs [txBatchLen][batchOOBLen]byte
		data [txBatchLen][64]byte
		n    int
		err  unix.Errno
		fn   func(fd uintptr)
	}
	keys   [txBatchLen]uint32      // each sent event message's OPT_ID key
	ok     [txBatchLen]bool        // sent, and so waiting for its timestamp
	parsed [txBatchLen]controlInfo // the error-queue entries read back
	// the wait for the error queue
	pollWait time.Duration
	pollErr  error
	pollFn   func(fd uintptr)
}

func newTxBatch() *txBatch {
	q := &txBatch{}
	q.fn = func(fd uintptr) bool {
		n, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&q.hdrs[q.off])), uintptr(q.n-q.off), 0, 0, 0)
		if e == unix.EAGAIN || e == unix.EINTR {
			return false // the runtime's poller waits for room
		}
		q.sent, q.err = int(n), e
		return true
	}
	q.pollFn = func(fd uintptr) {
		pfd := [1]unix.PollFd{{Fd: int32(fd), Events: unix.POLLPRI}}
		ms := max(int(q.pollWait.Milliseconds()), 1)
		for {
			_, err := unix.Poll(pfd[:], ms)
			if err != unix.EINTR {
				q.pollErr = err
				return
			}
		}
	}
	e := &q.eq
	e.fn = func(fd uintptr) {
		for i := range e.hdrs {
			e.iovs[i].Base = &e.data[i][0]
			e.iovs[i].SetLen(len(e.data[i]))
			e.hdrs[i] = unix.Mmsghdr{Hdr: unix.Msghdr{Iov: &e.iovs[i], Iovlen: 1, Control: &e.oobs[i][0]}}
			e.hdrs[i].Hdr.SetControllen(batchOOBLen)
		}
		n, _, errno := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&e.hdrs[0])), txBatchLen,
			unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT, 0, 0)
		e.n, e.err = int(n), errno
	}
	return q
}

// put copies b for dst into the queue as message q.n. The caller holds
// txMu and has checked there is room.
func (c *Conn) put(q *txBatch, b []byte, dst Addr, tag uint64) error {
	i := q.n
	buf := q.bufs[i][:]
	h := unix.Msghdr{}
	var n int
	if c.l2 {
		if !dst.L2 {
			return fmt.Errorf("transport: %s: %s is not a MAC address", c.name, dst)
		}
		n = copy(buf, c.l2hdr[:])
		copy(buf[0:6], dst.MAC[:])
	} else {
		port := dst.Port
		if port == 0 {
			port = c.port
		}
		switch {
		case c.family == unix.AF_INET && dst.IP.Is4():
			to := (*unix.RawSockaddrInet4)(unsafe.Pointer(&q.to[i]))
			*to = unix.RawSockaddrInet4{Family: unix.AF_INET, Port: ntohs(port), Addr: dst.IP.As4()}
			h.Namelen = unix.SizeofSockaddrInet4
		case c.family == unix.AF_INET6 && dst.IP.Is6():
			q.to[i] = unix.RawSockaddrInet6{Family: unix.AF_INET6, Port: ntohs(port), Addr: dst.IP.As16()}
			h.Namelen = unix.SizeofSockaddrInet6
		default:
			return fmt.Errorf("transport: %s: cannot send to %s", c.name, dst)
		}
		h.Name = (*byte)(unsafe.Pointer(&q.to[i]))
	}
	if len(b) > len(buf)-n {
		return fmt.Errorf("transport: %s: %d-byte message too long to queue", c.name, len(b))
	}
	n += copy(buf[n:], b)
	if c.emu != nil && c.oneStep {
		c.emu.oneStepSync(buf[n-len(b) : n])
	}
	q.iovs[i].Base = &buf[0]
	q.iovs[i].SetLen(n)
	h.Iov, h.Iovlen = &q.iovs[i], 1
	q.hdrs[i] = unix.Mmsghdr{Hdr: h}
	q.tags[i] = tag
	q.n++
	return nil
}

// sendQueued sends q's messages with sendmmsg, as many calls as it takes.
// A message the kernel refuses gets its error in fail and the rest go
// on; every message sent on a socket with transmit timestamps takes the
// next OPT_ID key (its index in q.keys, q.ok). The caller holds txMu.
func (c *Conn) sendQueued(q *txBatch, fail func(i int, err error)) {
	q.off = 0
	for q.off < q.n {
		if c.closed.Load() {
			for ; q.off < q.n; q.off++ {
				fail(q.off, ErrClosed)
			}
			break
		}
		q.sent, q.err = 0, 0
		if err := c.rc.Write(q.fn); err != nil {
			for ; q.off < q.n; q.off++ {
				fail(q.off, fmt.Errorf("transport: %s: send: %w", c.name, err))
			}
			break
		}
		for j := 0; j < q.sent; j++ {
			q.ok[q.off] = true
			if c.txStamps {
				q.keys[q.off] = c.tx.nextKey
				c.tx.nextKey++
			}
			c.stats.sent.Add(1)
			q.off++
		}
		if q.sent == 0 || q.err != 0 {
			// The first message not sent is the one refused (sendmmsg
			// reports an error only when it sent nothing).
			if q.off < q.n {
				q.ok[q.off] = false
				fail(q.off, fmt.Errorf("transport: %s: sendmmsg: %w", c.name, q.err))
				q.off++
			}
		}
	}
	q.n = 0
}

// Queue copies b into the send queue for dst; Flush sends the queue with
// one sendmmsg. A full queue is sent at once. tag comes back to fail,
// with the error, for a message the kernel refused. Messages wait in the
// queue until Flush: an event loop flushes before it waits.
func (c *Conn) Queue(b []byte, dst Addr, tag uint64, fail func(tag uint64, err error)) error {
	if len(b) == 0 {
		return fmt.Errorf("transport: %s: empty message", c.name)
	}
	c.txMu.Lock()
	defer c.txMu.Unlock()
	if c.sq == nil {
		c.sq = newTxBatch()
	}
	if c.sq.n == txBatchLen {
		c.flushLocked(fail)
	}
	return c.put(c.sq, b, dst, tag)
}

// Flush sends what Queue queued.
func (c *Conn) Flush(fail func(tag uint64, err error)) {
	c.txMu.Lock()
	defer c.txMu.Unlock()
	c.flushLocked(fail)
}

func (c *Conn) flushLocked(fail func(tag uint64, err error)) {
	q := c.sq
	if q == nil || q.n == 0 {
		return
	}
	c.sendQueued(q, func(i int, err error) { fail(q.tags[i], err) })
}

// EventBatchLen is how many event messages QueueEvent takes before
// FlushEvents must be called.
const EventBatchLen = txBatchLen

// QueueEvent copies event message b into the event queue for dst; at
// most EventBatchLen before FlushEvents sends them.
func (c *Conn) QueueEvent(b []byte, dst Addr) error {
	if len(b) == 0 {
		return fmt.Errorf("transport: %s: empty message", c.name)
	}
	if !c.txStamps {
		return fmt.Errorf("transport: %s: sends general messages only (no transmit timestamps)", c.name)
	}
	c.txMu.Lock()
	defer c.txMu.Unlock()
	if c.eq == nil {
		c.eq = newTxBatch()
	}
	if c.eq.n == txBatchLen {
		return fmt.Errorf("transport: %s: event queue full", c.name)
	}
	return c.put(c.eq, b, dst, 0)
}

// FlushEvents sends the queued event messages with one sendmmsg and reads
// their transmit timestamps back from the error queue, waiting at most
// tx_timestamp_timeout for the lot (not for each): ts[i] and errs[i] are
// message i's, in the order queued. A message whose timestamp did not
// come gets ErrTxTimestampTimeout.
func (c *Conn) FlushEvents(ts []int64, errs []error) {
	c.txMu.Lock()
	defer c.txMu.Unlock()
	q := c.eq
	if q == nil || q.n == 0 {
		return
	}
	n := q.n
	for i := range n {
		q.ok[i], ts[i], errs[i] = false, 0, nil
	}
	c.sendQueued(q, func(i int, err error) { errs[i] = err })
	waiting := 0
	for i := range n {
		if q.ok[i] {
			waiting++
		}
	}
	if waiting == 0 {
		return
	}
	first := -1
	for i := range n {
		if q.ok[i] {
			first = i
			break
		}
	}
	key0 := q.keys[first]
	last := first
	for i := range n {
		if q.ok[i] {
			last = i
		}
	}
	deadline := time.Now().Add(c.timeout)
	for waiting > 0 {
		got, err := c.readTxTimestamps(q)
		if err != nil {
			for i := range n {
				if q.ok[i] {
					q.ok[i], errs[i] = false, fmt.Errorf("transport: %s: error queue: %w", c.name, err)
					// A stamp that still comes is late, not a mismatch.
					c.gaveUpOn(q.keys[i])
				}
			}
			return
		}
		for j := range got {
			ci := &q.parsed[j]
			k, ok := ci.isTxTimestamp()
			if !ok {
				continue
			}
			idx := -1
			if d := k - key0; int32(d) >= 0 && int(d) < n {
				// Keys are consecutive over the messages sent; a refused
				// one took none, so the message with key0+d is at d or
				// after it, never before.
				for i := int(d); i < n; i++ {
					if q.ok[i] && q.keys[i] == k {
						idx = i
						break
					}
				}
			}
			switch {
			case idx >= 0:
				q.ok[idx], ts[idx] = false, ci.ts
				c.stats.txTS.Add(1)
				waiting--
			case int32(k-key0) < 0:
				if c.wasGivenUp(k) {
					c.stats.txLate.Add(1)
				}
			default:
				c.stats.txMismatched.Add(1)
				if int32(k-q.keys[last]) > 0 {
					// A key beyond every message of the batch: the
					// kernel's count and ours disagree (a send that
					// failed after taking a key). Resynchronise for the
					// next batches, as SendEvent does.
					c.tx.nextKey = k + 1
				}
			}
		}
		if got > 0 || waiting == 0 {
			continue
		}
		remaining := time.Until(deadline)
		if remaining <= 0 {
			break
		}
		if err := c.pollErrQueue(remaining); err != nil {
			break
		}
	}
	for i := range n {
		if q.ok[i] {
			q.ok[i] = false
			c.stats.txTimeouts.Add(1)
			c.gaveUpOn(q.keys[i])
			errs[i] = fmt.Errorf("transport: %s: %w (tx_timestamp_timeout %v)", c.name, ErrTxTimestampTimeout, c.timeout)
		}
	}
}

// readTxTimestamps reads what the error queue holds into q.parsed, up to
// txBatchLen entries, with one recvmmsg; on an emulated card one entry at
// a time, since it may hold some back.
func (c *Conn) readTxTimestamps(q *txBatch) (int, error) {
	if c.emu != nil {
		got := 0
		for got < txBatchLen {
			c.tx.eqWait = 0
			if err := c.rc.Control(c.tx.eqFn); err != nil {
				return got, err
			}
			if c.tx.eqErr != nil {
				return got, c.tx.eqErr
			}
			if !c.tx.eqGot {
				break
			}
			q.parsed[got] = c.tx.ci
			got++
		}
		return got, nil
	}
	e := &q.eq
	e.n, e.err = 0, 0
	if err := c.rc.Control(e.fn); err != nil {
		return 0, err
	}
	switch e.err {
	case 0:
	case unix.EAGAIN, unix.EINTR:
		return 0, nil
	default:
		return 0, e.err
	}
	for j := range e.n {
		h := &e.hdrs[j].Hdr
		if err := parseControl(e.oobs[j][:h.Controllen], c.hardware, &q.parsed[j]); err != nil {
			return 0, err
		}
	}
	return e.n, nil
}

// pollErrQueue waits up to d for the error queue to have an entry.
func (c *Conn) pollErrQueue(d time.Duration) error {
	q := c.eq
	q.pollWait = d
	if err := c.rc.Control(q.pollFn); err != nil {
		return err
	}
	return q.pollErr
}
