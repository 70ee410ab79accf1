package transport

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// Crafted rtnetlink messages, laid out as the kernel lays them out: native
// byte order, every header and attribute padded to 4 bytes.

func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// nlmsg is one netlink message: header, then body.
func nlmsg(typ uint16, seq uint32, body []byte) []byte {
	b := make([]byte, unix.NLMSG_HDRLEN, unix.NLMSG_HDRLEN+len(body)+3)
	binary.NativeEndian.PutUint32(b[0:], uint32(unix.NLMSG_HDRLEN+len(body)))
	binary.NativeEndian.PutUint16(b[4:], typ)
	binary.NativeEndian.PutUint32(b[8:], seq)
	return pad4(append(b, body...))
}

// rtattr is one attribute; its length field counts the unpadded value.
func rtattr(typ uint16, v []byte) []byte {
	b := make([]byte, unix.SizeofRtAttr, unix.SizeofRtAttr+len(v)+3)
	binary.NativeEndian.PutUint16(b[0:], uint16(unix.SizeofRtAttr+len(v)))
	binary.NativeEndian.PutUint16(b[2:], typ)
	return pad4(append(b, v...))
}

func ifname(s string) []byte { return rtattr(unix.IFLA_IFNAME, append([]byte(s), 0)) }

// ifinfo is an ifinfomsg body with attributes.
func ifinfo(index int32, flags uint32, attrs ...[]byte) []byte {
	b := make([]byte, unix.SizeofIfInfomsg)
	b[0] = unix.AF_UNSPEC
	binary.NativeEndian.PutUint16(b[2:], unix.ARPHRD_ETHER)
	binary.NativeEndian.PutUint32(b[4:], uint32(index))
	binary.NativeEndian.PutUint32(b[8:], flags)
	for _, a := range attrs {
		b = append(b, a...)
	}
	return b
}

// nlerr is the body of an NLMSG_ERROR: −errno, then the request's header.
func nlerr(errno unix.Errno, reqSeq uint32) []byte {
	b := make([]byte, 4, unix.SizeofNlMsgerr)
	binary.NativeEndian.PutUint32(b, uint32(-int32(errno)))
	return append(b, nlmsg(unix.RTM_GETLINK, reqSeq, nil)...)
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

const (
	upFlags   = unix.IFF_UP | unix.IFF_BROADCAST | unix.IFF_RUNNING | unix.IFF_MULTICAST | unix.IFF_LOWER_UP
	noCarrier = unix.IFF_UP | unix.IFF_BROADCAST | unix.IFF_MULTICAST // up, but no carrier: not RUNNING
)

var (
	mtu       = rtattr(unix.IFLA_MTU, []byte{0xdc, 0x05, 0, 0})
	operUp    = rtattr(unix.IFLA_OPERSTATE, []byte{6}) // IF_OPER_UP; length 5, padded
	eth0Up    = nlmsg(unix.RTM_NEWLINK, 0, ifinfo(2, upFlags, ifname("eth0"), mtu, operUp))
	eth0Down  = nlmsg(unix.RTM_NEWLINK, 0, ifinfo(2, noCarrier, ifname("eth0"), mtu))
	eth1Up    = nlmsg(unix.RTM_NEWLINK, 0, ifinfo(3, upFlags, mtu, operUp, ifname("eth1")))
	truncated = eth0Up[:len(eth0Up)-8]
)

func TestLinkDecode(t *testing.T) {
	// an attribute that claims more than the message holds
	overrun := ifinfo(4, upFlags, ifname("eth2"))
	binary.NativeEndian.PutUint16(overrun[unix.SizeofIfInfomsg:], 200)
	// an attribute shorter than its own header
	short := ifinfo(4, upFlags, ifname("eth2"))
	binary.NativeEndian.PutUint16(short[unix.SizeofIfInfomsg:], 3)
	// a header whose length is below the header's
	tiny := nlmsg(unix.RTM_NEWLINK, 0, nil)
	binary.NativeEndian.PutUint32(tiny, 8)

	tests := []struct {
		name      string
		in        []byte
		want      []LinkState
		malformed int
		errno     unix.Errno
		errSeq    uint32
		answered  []uint32
	}{
		{name: "up: IFF_RUNNING", in: eth0Up, want: []LinkState{{2, "eth0", true}}},
		{name: "down: IFF_UP without IFF_RUNNING (no carrier)", in: eth0Down, want: []LinkState{{2, "eth0", false}}},
		{name: "down: administratively", in: nlmsg(unix.RTM_NEWLINK, 0, ifinfo(2, 0, ifname("eth0"))),
			want: []LinkState{{2, "eth0", false}}},
		{name: "name after other attributes", in: eth1Up, want: []LinkState{{3, "eth1", true}}},
		{name: "name without NUL", in: nlmsg(unix.RTM_NEWLINK, 0, ifinfo(5, upFlags, rtattr(unix.IFLA_IFNAME, []byte("lan")))),
			want: []LinkState{{5, "lan", true}}},
		{name: "no name attribute", in: nlmsg(unix.RTM_NEWLINK, 0, ifinfo(6, upFlags, mtu)), want: []LinkState{{6, "", true}}},
		{name: "deleted interface is down", in: nlmsg(unix.RTM_DELLINK, 0, ifinfo(2, upFlags, ifname("eth0"))),
			want: []LinkState{{2, "eth0", false}}},
		{name: "several messages in one datagram", in: cat(eth0Up, eth1Up, eth0Down),
			want: []LinkState{{2, "eth0", true}, {3, "eth1", true}, {2, "eth0", false}}},
		{name: "NLMSG_DONE ends the datagram", in: cat(eth0Up, nlmsg(unix.NLMSG_DONE, 0, []byte{0, 0, 0, 0}), eth1Up),
			want: []LinkState{{2, "eth0", true}}},
		{name: "NLMSG_ERROR: a failed query", in: nlmsg(unix.NLMSG_ERROR, 7, nlerr(unix.ENODEV, 7)), errno: unix.ENODEV, errSeq: 7},
		{name: "NLMSG_ERROR 0 is an acknowledgement", in: nlmsg(unix.NLMSG_ERROR, 7, nlerr(0, 7))},
		{name: "NLMSG_ERROR without its errno", in: nlmsg(unix.NLMSG_ERROR, 7, []byte{1, 2}), malformed: 1},
		{name: "NLMSG_NOOP", in: nlmsg(unix.NLMSG_NOOP, 0, nil)},
		{name: "a query's answer", in: nlmsg(unix.RTM_NEWLINK, 9, ifinfo(2, upFlags, ifname("eth0"))),
			want: []LinkState{{2, "eth0", true}}, answered: []uint32{9}},
		{name: "wrong type: RTM_NEWADDR is skipped", in: cat(nlmsg(unix.RTM_NEWADDR, 0, make([]byte, 24)), eth1Up),
			want: []LinkState{{3, "eth1", true}}},
		{name: "wrong type: RTM_GETLINK (a request) is skipped", in: nlmsg(unix.RTM_GETLINK, 0, ifinfo(2, upFlags))},
		{name: "empty datagram", in: nil},
		{name: "truncated message", in: truncated, malformed: 1},
		{name: "truncated after a good message", in: cat(eth1Up, truncated),
			want: []LinkState{{3, "eth1", true}}, malformed: 1},
		{name: "header cut short", in: eth0Up[:10], malformed: 1},
		{name: "length below the header's", in: tiny, malformed: 1},
		{name: "garbage after the last message", in: cat(eth0Up, []byte{1, 2, 3}),
			want: []LinkState{{2, "eth0", true}}, malformed: 1},
		{name: "ifinfomsg cut short", in: cat(nlmsg(unix.RTM_NEWLINK, 0, make([]byte, 8)), eth1Up),
			want: []LinkState{{3, "eth1", true}}, malformed: 1},
		{name: "attribute overruns its message, next message still read", in: cat(nlmsg(unix.RTM_NEWLINK, 0, overrun), eth1Up),
			want: []LinkState{{3, "eth1", true}}, malformed: 1},
		{name: "attribute shorter than its header", in: nlmsg(unix.RTM_NEWLINK, 0, short), malformed: 1},
		{name: "attribute header cut short", in: nlmsg(unix.RTM_NEWLINK, 0, append(ifinfo(2, upFlags), 8, 0)), malformed: 1},
		{name: "name too long for an interface", in: nlmsg(unix.RTM_NEWLINK, 0, ifinfo(2, upFlags, ifname("abcdefghijklmnop"))), malformed: 1},
		{name: "index 0", in: nlmsg(unix.RTM_NEWLINK, 0, ifinfo(0, upFlags, ifname("eth0"))), malformed: 1},
		{name: "negative index", in: nlmsg(unix.RTM_NEWLINK, 0, ifinfo(-1, upFlags, ifname("eth0"))), malformed: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d linkDecoder
			d.init()
			got, r := d.decode(tt.in)
			if tt.want == nil {
				assert.Empty(t, got)
			} else {
				assert.Equal(t, tt.want, got)
			}
			assert.Equal(t, tt.malformed, r.malformed, "malformed")
			assert.Equal(t, tt.errno, r.errno, "errno")
			assert.Equal(t, tt.errSeq, r.errSeq, "errSeq")
			assert.Equal(t, tt.answered, append([]uint32(nil), r.answered[:r.nAnswered]...), "answered")
		})
	}
}

// A notification about an interface the decoder has seen before costs no
// allocation: the name is interned by index, and a rename is noticed.
func TestLinkDecodeNoAllocs(t *testing.T) {
	var d linkDecoder
	d.init()
	in := cat(eth0Up, eth1Up, eth0Down)
	d.decode(in)
	assert.Zero(t, testing.AllocsPerRun(100, func() { d.decode(in) }))

	got, _ := d.decode(nlmsg(unix.RTM_NEWLINK, 0, ifinfo(2, upFlags, ifname("wan0"))))
	require.Len(t, got, 1)
	assert.Equal(t, "wan0", got[0].Name, "a renamed interface is reported by its new name")
}

// The name cache is bounded: a host that churns through interfaces does
// not grow it for ever.
func TestLinkDecodeNameCacheBounded(t *testing.T) {
	var d linkDecoder
	d.init()
	for i := int32(1); i <= 3*maxLinkNames; i++ {
		got, _ := d.decode(nlmsg(unix.RTM_NEWLINK, 0, ifinfo(i, upFlags, ifname("veth"))))
		require.Len(t, got, 1)
		require.LessOrEqual(t, len(d.names), maxLinkNames)
	}
}

func FuzzLinkMessage(f *testing.F) {
	f.Add(eth0Up)
	f.Add(cat(eth0Up, eth1Up, eth0Down))
	f.Add(truncated)
	f.Add(nlmsg(unix.NLMSG_ERROR, 7, nlerr(unix.ENODEV, 7)))
	f.Add(cat(eth0Up, nlmsg(unix.NLMSG_DONE, 0, nil), eth1Up))
	f.Add(nlmsg(unix.RTM_DELLINK, 3, ifinfo(2, upFlags, ifname("eth0"))))
	f.Fuzz(func(t *testing.T, b []byte) {
		var d linkDecoder
		d.init()
		links, r := d.decode(b) // must not panic
		for _, l := range links {
			if l.Index <= 0 || len(l.Name) >= unix.IFNAMSIZ {
				t.Fatalf("decoded an impossible link %+v", l)
			}
		}
		if r.malformed < 0 || r.nAnswered > len(r.answered) || len(links) > len(b)/(unix.NLMSG_HDRLEN+unix.SizeofIfInfomsg) {
			t.Fatalf("impossible result: %d links, %+v from %d bytes", len(links), r, len(b))
		}
	})
}

// The monitor's socket is non-blocking and close-on-exec, an empty socket
// answers ErrWouldBlock without allocating, and a closed monitor says so.
// (A rtnetlink socket needs no privilege: this runs anywhere.)
func TestLinkMonitorOpen(t *testing.T) {
	m, err := OpenLinkMonitor()
	require.NoError(t, err)
	fdFlags, err := unix.FcntlInt(uintptr(m.FD()), unix.F_GETFD, 0)
	require.NoError(t, err)
	assert.NotZero(t, fdFlags&unix.FD_CLOEXEC, "close-on-exec")
	flFlags, err := unix.FcntlInt(uintptr(m.FD()), unix.F_GETFL, 0)
	require.NoError(t, err)
	assert.NotZero(t, flFlags&unix.O_NONBLOCK, "non-blocking")

	// Drain whatever the host's links said meanwhile.
	for i := 0; i < 1000; i++ {
		if _, err := m.TryReceive(); err == ErrWouldBlock {
			break
		}
	}
	assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = m.TryReceive() }))

	require.NoError(t, m.Close())
	_, err = m.TryReceive()
	assert.ErrorIs(t, err, ErrClosed)
	assert.ErrorIs(t, m.Query("lo"), ErrClosed)
	assert.NoError(t, m.Close(), "a second Close")
}
