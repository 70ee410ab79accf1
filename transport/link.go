package transport

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// LinkState is one interface's link state as an rtnetlink message reported
// it: a notification that the link changed, or the answer to Query.
type LinkState struct {
	// Index is the kernel's interface index (ifindex).
	Index int
	// Name is the interface's name, "" when the message carried none (the
	// kernel always sends it). An interface that is deleted and created
	// again keeps its name but gets a new index, so a port is best
	// matched by Name.
	Name string
	// Up is ptp4l's idea of a usable link: the kernel reports the
	// interface IFF_RUNNING, that is administratively up with its
	// operational state up (carrier present). A deleted interface is
	// reported down.
	Up bool
}

// LinkStats are a LinkMonitor's counters. All are cumulative.
type LinkStats struct {
	Datagrams uint64 // datagrams read from the socket
	Links     uint64 // link states delivered
	Malformed uint64 // netlink messages that did not parse, dropped
	Foreign   uint64 // datagrams from a sender other than the kernel, dropped
	Lost      uint64 // reports of lost notifications (ErrLinkEventsLost)
}

// ErrLinkEventsLost: the kernel dropped notifications because the socket's
// buffer was full (ENOBUFS), or a datagram did not fit the monitor's
// buffer. Some link change may have gone unseen: Query every interface
// that matters again.
var ErrLinkEventsLost = errors.New("transport: link notifications lost: query the links again")

// linkBufSize holds any rtnetlink link message: notifications carry no
// per-VF information (that needs RTEXT_FILTER_VF, which we never ask for)
// and are a few KiB at most.
const linkBufSize = 32 << 10

// maxLinkNames bounds the monitor's cache of interface names: a host that
// creates and deletes many interfaces (containers) must not grow it for
// ever.
const maxLinkNames = 256

// LinkMonitor watches the link state of the network interfaces of one
// network namespace, as ptp4l does, over a NETLINK_ROUTE socket subscribed
// to RTMGRP_LINK. ptp4l uses it to fault a port the moment its link goes
// down and to bring it back the moment the link is up again, instead of
// waiting for announce timeouts and fault_reset_interval.
//
// The socket is non-blocking and close-on-exec. An event loop watches FD
// (with its Poller) and calls TryReceive when it is readable; TryReceive
// reads with a raw system call, like every call on the loop's wake-up path
// (see Poller), and allocates nothing in steady state. The socket belongs
// to the namespace of the thread that opened it.
//
// A LinkMonitor is used by one goroutine; Stats may be read from any.
type LinkMonitor struct {
	fd  int
	seq uint32
	// pending names the interface of each Query not yet answered, by
	// sequence number, for the error of a failed one.
	pending map[uint32]string

	msg  unix.Msghdr
	iov  unix.Iovec
	from unix.RawSockaddrNetlink
	buf  [linkBufSize]byte
	dec  linkDecoder

	stats struct {
		datagrams, links, malformed, foreign, lost atomic.Uint64
	}
}

// OpenLinkMonitor opens a rtnetlink socket subscribed to link notifications
// in the calling thread's network namespace.
func OpenLinkMonitor() (*LinkMonitor, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("transport: netlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: unix.RTMGRP_LINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("transport: binding netlink socket to RTMGRP_LINK: %w", err)
	}
	m := &LinkMonitor{fd: fd, pending: map[uint32]string{}}
	m.dec.init()
	return m, nil
}

// FD returns the socket's descriptor, for an event loop's Poller. The
// descriptor stays the monitor's: never read or close it directly.
func (m *LinkMonitor) FD() int { return m.fd }

// Query asks the kernel for the current link state of the interface called
// name. The answer arrives through TryReceive like any notification, in
// order with them, so a state read at start cannot overtake a change that
// came after it. This is how ptp4l learns a port's link state when the
// port starts: a port believes its link up until told otherwise. An
// unknown name comes back as an error from TryReceive (ENODEV).
func (m *LinkMonitor) Query(name string) error {
	if m.fd < 0 {
		return ErrClosed
	}
	if name == "" || len(name) >= unix.IFNAMSIZ {
		return fmt.Errorf("transport: link query: %q is not an interface name", name)
	}
	m.seq++
	if m.seq == 0 { // 0 is what notifications carry
		m.seq = 1
	}
	attrLen := unix.SizeofRtAttr + len(name) + 1
	total := unix.NLMSG_HDRLEN + unix.SizeofIfInfomsg + nlAlign(attrLen)
	var req [unix.NLMSG_HDRLEN + unix.SizeofIfInfomsg + unix.SizeofRtAttr + unix.IFNAMSIZ]byte
	ne := binary.NativeEndian
	ne.PutUint32(req[0:], uint32(total))
	ne.PutUint16(req[4:], unix.RTM_GETLINK)
	ne.PutUint16(req[6:], unix.NLM_F_REQUEST)
	ne.PutUint32(req[8:], m.seq)
	// ifinfomsg: family AF_UNSPEC and index 0, so the kernel looks the
	// interface up by IFLA_IFNAME, in the socket's own namespace.
	a := req[unix.NLMSG_HDRLEN+unix.SizeofIfInfomsg:]
	ne.PutUint16(a[0:], uint16(attrLen))
	ne.PutUint16(a[2:], unix.IFLA_IFNAME)
	copy(a[unix.SizeofRtAttr:], name)
	if err := unix.Sendto(m.fd, req[:total], 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("transport: link query for %s: %w", name, err)
	}
	m.pending[m.seq] = name
	return nil
}

// TryReceive reads one datagram without waiting and returns the link
// states it carried, in the order the kernel sent them (valid until the
// next call). It returns ErrWouldBlock when nothing is waiting, and an
// empty result when the datagram carried nothing about links (it may
// carry several states, also of interfaces nobody watches). Malformed
// messages are counted and dropped.
//
// ErrLinkEventsLost says notifications were lost: Query again. A failed
// Query comes back as an error wrapping the kernel's errno (unix.ENODEV
// for an unknown name), possibly beside states the same datagram carried.
func (m *LinkMonitor) TryReceive() ([]LinkState, error) {
	if m.fd < 0 {
		return nil, ErrClosed
	}
	m.iov.Base = &m.buf[0]
	m.iov.SetLen(len(m.buf))
	m.msg = unix.Msghdr{
		Name:    (*byte)(unsafe.Pointer(&m.from)),
		Namelen: unix.SizeofSockaddrNetlink,
		Iov:     &m.iov,
		Iovlen:  1,
	}
	n, _, e := unix.RawSyscall(unix.SYS_RECVMSG, uintptr(m.fd), uintptr(unsafe.Pointer(&m.msg)), unix.MSG_DONTWAIT)
	switch e {
	case 0:
	case unix.EAGAIN, unix.EINTR:
		return nil, ErrWouldBlock
	case unix.ENOBUFS:
		m.stats.lost.Add(1)
		return nil, ErrLinkEventsLost
	default:
		return nil, fmt.Errorf("transport: netlink recvmsg: %w", e)
	}
	m.stats.datagrams.Add(1)
	if m.msg.Flags&unix.MSG_TRUNC != 0 {
		m.stats.lost.Add(1)
		return nil, ErrLinkEventsLost
	}
	if m.from.Pid != 0 {
		// Only the kernel speaks for the links; a process that could
		// send us a forged "down" would take the port out of service.
		m.stats.foreign.Add(1)
		return nil, nil
	}
	links, r := m.dec.decode(m.buf[:n])
	m.stats.malformed.Add(uint64(r.malformed))
	m.stats.links.Add(uint64(len(links)))
	for _, seq := range r.answered[:r.nAnswered] {
		delete(m.pending, seq)
	}
	if r.errno != 0 {
		name, ok := m.pending[r.errSeq]
		delete(m.pending, r.errSeq)
		if !ok {
			name = "?"
		}
		return links, fmt.Errorf("transport: link query for %s: %w", name, r.errno)
	}
	return links, nil
}

// Stats returns the counters.
func (m *LinkMonitor) Stats() LinkStats {
	return LinkStats{
		Datagrams: m.stats.datagrams.Load(), Links: m.stats.links.Load(),
		Malformed: m.stats.malformed.Load(), Foreign: m.stats.foreign.Load(), Lost: m.stats.lost.Load(),
	}
}

// Close closes the socket. The caller's Poller must stop watching FD
// first (closing a descriptor removes it from an epoll set only when no
// other copy of it is open).
func (m *LinkMonitor) Close() error {
	if m.fd < 0 {
		return nil
	}
	err := unix.Close(m.fd)
	m.fd = -1
	return err
}

// nlAlign rounds n up to netlink's 4-byte alignment (NLMSG_ALIGN, RTA_ALIGN).
func nlAlign(n int) int { return (n + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1) }

// linkDecoder turns a datagram of rtnetlink messages into link states. It
// is pure (no system calls), so that a test and the fuzzer drive it with
// crafted bytes.
type linkDecoder struct {
	out []LinkState
	// names interns interface names by index, so that a notification
	// about a known interface costs no allocation.
	names map[int32]string
}

// decodeResult is what decode found besides link states.
type decodeResult struct {
	malformed int
	// errno is the error of an NLMSG_ERROR message (a failed request of
	// ours), with the sequence number of the request; 0 for none or an
	// acknowledgement.
	errno  syscall.Errno
	errSeq uint32
	// answered lists the sequence numbers (≠ 0) of replies to our
	// requests that the datagram carried.
	answered  [4]uint32
	nAnswered int
}

func (d *linkDecoder) init() {
	d.out = make([]LinkState, 0, 8)
	d.names = make(map[int32]string, 8)
}

// decode parses the messages of one datagram. A message that does not
// parse is counted and skipped; a header that cannot be trusted (its
// length runs past the datagram) ends the datagram. The returned slice is
// valid until the next call.
func (d *linkDecoder) decode(b []byte) ([]LinkState, decodeResult) {
	var r decodeResult
	d.out = d.out[:0]
	ne := binary.NativeEndian
	for len(b) > 0 {
		if len(b) < unix.NLMSG_HDRLEN {
			r.malformed++
			break
		}
		l := int(ne.Uint32(b[0:4]))
		if l < unix.NLMSG_HDRLEN || l > len(b) {
			r.malformed++
			break
		}
		typ := ne.Uint16(b[4:6])
		seq := ne.Uint32(b[8:12])
		body := b[unix.NLMSG_HDRLEN:l]
		if next := nlAlign(l); next < len(b) {
			b = b[next:]
		} else {
			b = nil
		}
		switch typ {
		case unix.NLMSG_DONE:
			return d.out, r
		case unix.NLMSG_ERROR:
			// struct nlmsgerr: a negative errno (0 acknowledges), then
			// the header of the request it answers.
			if len(body) < 4 {
				r.malformed++
				continue
			}
			if errno := -int32(ne.Uint32(body[0:4])); errno != 0 && r.errno == 0 {
				r.errno, r.errSeq = syscall.Errno(errno), seq
			}
		case unix.RTM_NEWLINK, unix.RTM_DELLINK:
			ls, ok := d.link(body, typ == unix.RTM_NEWLINK)
			if !ok {
				r.malformed++
				continue
			}
			d.out = append(d.out, ls)
			if seq != 0 && r.nAnswered < len(r.answered) {
				r.answered[r.nAnswered] = seq
				r.nAnswered++
			}
		default:
			// NLMSG_NOOP, NLMSG_OVERRUN and other families' messages
			// say nothing about links.
		}
	}
	return d.out, r
}

// link parses the body of an RTM_NEWLINK or RTM_DELLINK message: struct
// ifinfomsg, then attributes, of which we want IFLA_IFNAME.
func (d *linkDecoder) link(body []byte, isNew bool) (LinkState, bool) {
	if len(body) < unix.SizeofIfInfomsg {
		return LinkState{}, false
	}
	ne := binary.NativeEndian
	index := int32(ne.Uint32(body[4:8]))
	flags := ne.Uint32(body[8:12])
	if index <= 0 {
		return LinkState{}, false
	}
	var name []byte
	attrs := body[unix.SizeofIfInfomsg:]
	for len(attrs) > 0 {
		if len(attrs) < unix.SizeofRtAttr {
			return LinkState{}, false
		}
		al := int(ne.Uint16(attrs[0:2]))
		if al < unix.SizeofRtAttr || al > len(attrs) {
			return LinkState{}, false
		}
		// The top two bits of the type are the nested and byte-order flags.
		if ne.Uint16(attrs[2:4])&0x3fff == unix.IFLA_IFNAME {
			v := attrs[unix.SizeofRtAttr:al]
			for i, c := range v {
				if c == 0 {
					v = v[:i]
					break
				}
			}
			if len(v) >= unix.IFNAMSIZ {
				return LinkState{}, false
			}
			name = v
		}
		if next := nlAlign(al); next < len(attrs) {
			attrs = attrs[next:]
		} else {
			attrs = nil
		}
	}
	return LinkState{Index: int(index), Name: d.intern(index, name), Up: isNew && flags&unix.IFF_RUNNING != 0}, true
}

// intern returns name as a string, the one it made before when the index
// had the same name (comparing a string with converted bytes does not
// allocate).
func (d *linkDecoder) intern(index int32, name []byte) string {
	if len(name) == 0 {
		return ""
	}
	if s, ok := d.names[index]; ok && s == string(name) {
		return s
	}
	if len(d.names) >= maxLinkNames {
		clear(d.names)
	}
	s := string(name)
	d.names[index] = s
	return s
}
