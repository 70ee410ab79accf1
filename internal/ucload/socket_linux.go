package ucload

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The load's sockets: one on port 319 (Delay_Req out, Sync in) and one on
// 320 (Signaling out; grants, Follow_Up, Delay_Resp and Announce in),
// bound to every address. A client's messages leave with its address as
// their source (IP_PKTINFO's ipi_spec_dst on each sendmmsg entry), and
// what comes back is told apart by its destination address (IP_PKTINFO
// on receive): two sockets for every client instead of two per client.
// Both are read and written in batches (recvmmsg, sendmmsg) without
// blocking, from one goroutine.
//
// Answer latency is measured on kernel software timestamps at both ends
// of the client's socket: the Delay_Req's transmit timestamp (read back
// in bulk from the error queue, keyed by SOF_TIMESTAMPING_OPT_ID) and the
// Delay_Resp's receive timestamp (SO_TIMESTAMPNS), both CLOCK_REALTIME,
// so the generator's own scheduling is not in it.

const (
	batchLen = 32  // messages per sendmmsg and recvmmsg
	msgCap   = 256 // bytes of a message received or sent
	oobCap   = 256 // bytes of a message's control data
)

// openSocket opens the load's socket on port.
func openSocket(port int, txStamps bool) (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("ucload: socket: %w", err)
	}
	fail := func(what string, err error) (int, error) {
		unix.Close(fd)
		return -1, fmt.Errorf("ucload: port %d: %s: %w", port, what, err)
	}
	for _, o := range []struct {
		level, opt, v int
		name          string
	}{
		{unix.SOL_SOCKET, unix.SO_REUSEADDR, 1, "SO_REUSEADDR"},
		{unix.IPPROTO_IP, unix.IP_PKTINFO, 1, "IP_PKTINFO"},
		{unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1, "SO_TIMESTAMPNS"},
		{unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1, "SO_RXQ_OVFL"},
	} {
		if err := unix.SetsockoptInt(fd, o.level, o.opt, o.v); err != nil {
			return fail(o.name, err)
		}
	}
	// Room for bursts: a grandmaster may send a round of thousands of
	// Syncs at once. FORCE needs CAP_NET_ADMIN; the plain option is
	// capped by net.core.rmem_max.
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 32<<20); err != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 32<<20)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 4<<20); err != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 4<<20)
	}
	if txStamps {
		flags := unix.SOF_TIMESTAMPING_TX_SOFTWARE | unix.SOF_TIMESTAMPING_SOFTWARE |
			unix.SOF_TIMESTAMPING_OPT_ID | unix.SOF_TIMESTAMPING_OPT_TSONLY
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPING, flags); err != nil {
			return fail("SO_TIMESTAMPING", err)
		}
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: port}); err != nil {
		return fail("bind", err)
	}
	return fd, nil
}

// txBatch is a sendmmsg batch of one socket, all to one address.
type txBatch struct {
	fd   int
	to   unix.RawSockaddrInet4
	n    int
	hdrs [batchLen]unix.Mmsghdr
	iovs [batchLen]unix.Iovec
	bufs [batchLen][msgCap]byte
	oobs [batchLen][32]byte // one IP_PKTINFO control message
	who  [batchLen]uint32
	seqs [batchLen]uint16
}

func newTxBatch(fd int, to [4]byte, port int) *txBatch {
	b := &txBatch{fd: fd}
	b.to = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: to}
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&b.to.Port))[:], uint16(port))
	for i := range b.hdrs {
		h := &b.hdrs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&b.to))
		h.Namelen = unix.SizeofSockaddrInet4
		h.Iov, h.Iovlen = &b.iovs[i], 1
		b.iovs[i].Base = &b.bufs[i][0]
		h.Control = &b.oobs[i][0]
		h.SetControllen(unix.CmsgSpace(unix.SizeofInet4Pktinfo))
		c := (*unix.Cmsghdr)(unsafe.Pointer(&b.oobs[i][0]))
		c.Level, c.Type = unix.IPPROTO_IP, unix.IP_PKTINFO
		c.SetLen(unix.CmsgLen(unix.SizeofInet4Pktinfo))
	}
	return b
}

// add queues msg from src; full reports whether the batch must be sent.
func (b *txBatch) add(src [4]byte, who uint32, seq uint16, msg []byte) (full bool) {
	i := b.n
	n := copy(b.bufs[i][:], msg)
	b.iovs[i].SetLen(n)
	pi := (*unix.Inet4Pktinfo)(unsafe.Pointer(&b.oobs[i][unix.CmsgLen(0)]))
	*pi = unix.Inet4Pktinfo{Spec_dst: src}
	b.who[i], b.seqs[i] = who, seq
	b.n++
	return b.n == batchLen
}

// send sends the batch; sent is called with each message that left, in
// order. It returns how many could not be sent.
func (b *txBatch) send(sent func(who uint32, seq uint16)) (failed int) {
	off := 0
	for off < b.n {
		r, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, uintptr(b.fd), uintptr(unsafe.Pointer(&b.hdrs[off])), uintptr(b.n-off), 0, 0, 0)
		if e != 0 {
			if e == unix.EINTR {
				continue
			}
			// EAGAIN (a full send buffer) or an error of the first
			// message: it is dropped and the rest go.
			failed++
			off++
			continue
		}
		for i := off; i < off+int(r); i++ {
			if sent != nil {
				sent(b.who[i], b.seqs[i])
			}
		}
		off += int(r)
	}
	b.n = 0
	return failed
}

// rxBatch is a recvmmsg batch.
type rxBatch struct {
	hdrs [batchLen]unix.Mmsghdr
	iovs [batchLen]unix.Iovec
	bufs [batchLen][msgCap]byte
	oobs [batchLen][oobCap]byte
}

// recv reads up to batchLen messages (flags: MSG_ERRQUEUE or 0) without
// waiting; 0 when none waits.
func (b *rxBatch) recv(fd int, flags int) (int, error) {
	for i := range b.hdrs {
		h := &b.hdrs[i].Hdr
		*h = unix.Msghdr{Iov: &b.iovs[i], Iovlen: 1, Control: &b.oobs[i][0]}
		b.iovs[i].Base = &b.bufs[i][0]
		b.iovs[i].SetLen(msgCap)
		h.SetControllen(oobCap)
		b.hdrs[i].Len = 0
	}
	for {
		r, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&b.hdrs[0])), batchLen,
			uintptr(flags|unix.MSG_DONTWAIT), 0, 0)
		switch e {
		case 0:
			return int(r), nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, nil
		}
		return 0, e
	}
}

// msg returns message i of the last recv and its control data.
func (b *rxBatch) msg(i int) (data, oob []byte, truncated bool) {
	h := &b.hdrs[i]
	return b.bufs[i][:h.Len], b.oobs[i][:h.Hdr.Controllen], h.Hdr.Flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0
}

// control is what a received message's control data says.
type control struct {
	dst      [4]byte // IP_PKTINFO: the header's destination address
	hasDst   bool
	ts       int64 // SO_TIMESTAMPNS or SO_TIMESTAMPING software, CLOCK_REALTIME ns
	hasTS    bool
	drops    uint32 // SO_RXQ_OVFL: datagrams the socket dropped so far
	hasDrops bool
	key      uint32 // IP_RECVERR of a transmit timestamp: its OPT_ID
	hasKey   bool
}

// parseControl walks control messages without allocating.
func parseControl(oob []byte, c *control) {
	*c = control{}
	hdrLen := unix.CmsgLen(0)
	for len(oob) >= hdrLen {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < hdrLen || l > len(oob) {
			return
		}
		data := oob[hdrLen:l]
		switch {
		case h.Level == unix.IPPROTO_IP && h.Type == unix.IP_PKTINFO && len(data) >= unix.SizeofInet4Pktinfo:
			pi := (*unix.Inet4Pktinfo)(unsafe.Pointer(&data[0]))
			c.dst, c.hasDst = pi.Addr, true
		case h.Level == unix.SOL_SOCKET && (h.Type == unix.SCM_TIMESTAMPNS || h.Type == unix.SCM_TIMESTAMPING) && len(data) >= 16:
			ts := (*unix.Timespec)(unsafe.Pointer(&data[0]))
			if ts.Sec != 0 || ts.Nsec != 0 {
				c.ts, c.hasTS = ts.Sec*1e9+ts.Nsec, true
			}
		case h.Level == unix.SOL_SOCKET && h.Type == unix.SO_RXQ_OVFL && len(data) >= 4:
			c.drops, c.hasDrops = *(*uint32)(unsafe.Pointer(&data[0])), true
		case h.Level == unix.IPPROTO_IP && h.Type == unix.IP_RECVERR && len(data) >= int(unsafe.Sizeof(unix.SockExtendedErr{})):
			e := (*unix.SockExtendedErr)(unsafe.Pointer(&data[0]))
			if e.Origin == unix.SO_EE_ORIGIN_TIMESTAMPING {
				c.key, c.hasKey = e.Data, true
			}
		}
		oob = oob[min(unix.CmsgSpace(l-hdrLen), len(oob)):]
	}
}
