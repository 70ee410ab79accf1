package transport_test

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/packet"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/roko-network/roko-ptpd/internal/netns"
	"github.com/roko-network/roko-ptpd/transport"
)

// sniff captures every frame on link inside its namespace, as tcpdump
// would, so that a test sees the destination a message really went to.
func sniff(t *testing.T, l netns.Link) <-chan []byte {
	t.Helper()
	var pc *packet.Conn
	require.NoError(t, l.NS.Do(func() error {
		ifi, err := net.InterfaceByName(l.Name)
		if err != nil {
			return err
		}
		pc, err = packet.Listen(ifi, packet.Raw, unix.ETH_P_ALL, nil)
		return err
	}))
	t.Cleanup(func() { pc.Close() })
	ch := make(chan []byte, 256)
	go func() {
		defer close(ch)
		buf := make([]byte, 1600)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			ch <- append([]byte(nil), buf[:n]...)
		}
	}()
	return ch
}

// wireDst returns the destination of a captured frame that carries a PTP
// message of sequenceId seq (see message): the MAC address for EtherType
// 0x88F7, the IP address for UDP to port 319 or 320; ok is false for any
// other frame.
func wireDst(frame []byte, seq uint16) (dst string, ok bool) {
	if len(frame) < 14 {
		return "", false
	}
	ptpAt := func(off int) bool {
		return len(frame) >= off+32 && frame[off+30] == byte(seq>>8) && frame[off+31] == byte(seq)
	}
	switch uint16(frame[12])<<8 | uint16(frame[13]) {
	case transport.EtherType:
		return net.HardwareAddr(frame[0:6]).String(), ptpAt(14)
	case unix.ETH_P_IP:
		ihl := int(frame[14]&0x0f) * 4
		if len(frame) < 14+ihl+8 || frame[14+9] != unix.IPPROTO_UDP {
			return "", false
		}
		a, _ := netip.AddrFromSlice(frame[14+16 : 14+20])
		return a.String(), isPTPPort(frame[14+ihl+2:]) && ptpAt(14+ihl+8)
	case unix.ETH_P_IPV6:
		if len(frame) < 14+40+8 || frame[14+6] != unix.IPPROTO_UDP {
			return "", false
		}
		a, _ := netip.AddrFromSlice(frame[14+24 : 14+40])
		return a.String(), isPTPPort(frame[14+40+2:]) && ptpAt(14+40+8)
	}
	return "", false
}

func isPTPPort(b []byte) bool {
	p := uint16(b[0])<<8 | uint16(b[1])
	return p == transport.EventPort || p == transport.GeneralPort
}

// TestConfiguredDestinations: a port configured with other destinations
// than PTP's defaults (ptp_dst_mac 01:80:C2:00:00:0E, as linuxptp's
// G.8275.1.cfg sets it; p2p_dst_mac, ptp_dst_ipv4, p2p_dst_ipv4,
// ptp_dst_ipv6, p2p_dst_ipv6) sends its messages to them, as a capture on
// the far end shows, joins them and not the defaults, and a peer
// configured alike receives from them.
func TestConfiguredDestinations(t *testing.T) {
	p := newPair(t)
	l2, v4, v6 := openers[0], openers[1], openers[2]
	for _, tc := range []struct {
		option  string
		open    opener
		cfg     transport.Config
		peer    bool     // the peer delay destination, not the primary
		want    string   // the destination on the wire
		joined  []string // in ip maddr, besides want
		avoided []string // defaults no longer joined
	}{
		{"ptp_dst_mac", l2, transport.Config{PTPDstMAC: net.HardwareAddr{0x01, 0x80, 0xc2, 0, 0, 0x0e}}, false,
			"01:80:c2:00:00:0e", nil, []string{"01:1b:19:00:00:00"}},
		{"p2p_dst_mac", l2, transport.Config{P2PDstMAC: net.HardwareAddr{0x01, 0x1b, 0x19, 0, 0, 0x01}}, true,
			"01:1b:19:00:00:01", []string{"01:1b:19:00:00:00"}, []string{"01:80:c2:00:00:0e"}},
		{"ptp_dst_ipv4", v4, transport.Config{PTPDstIPv4: netip.MustParseAddr("239.1.1.129")}, false,
			"239.1.1.129", []string{"224.0.0.107"}, []string{"224.0.1.129"}},
		{"p2p_dst_ipv4", v4, transport.Config{P2PDstIPv4: netip.MustParseAddr("239.1.1.107")}, true,
			"239.1.1.107", []string{"224.0.1.129"}, []string{"224.0.0.107"}},
		{"ptp_dst_ipv6", v6, transport.Config{PTPDstIPv6: netip.MustParseAddr("ff02::1:181")}, false,
			"ff02::1:181", []string{"ff02::6b"}, []string{"ff0e::181"}},
		{"p2p_dst_ipv6", v6, transport.Config{P2PDstIPv6: netip.MustParseAddr("ff02::1:6b")}, true,
			"ff02::1:6b", []string{"ff0e::181"}, []string{"ff02::6b"}},
	} {
		t.Run(tc.option, func(t *testing.T) {
			open := func(l netns.Link) *transport.Transport {
				var tr *transport.Transport
				cfg := tc.cfg
				cfg.Interface, cfg.Timestamping = l.Name, transport.Software
				require.NoError(t, l.NS.Do(func() error {
					var err error
					tr, err = tc.open.open(cfg)
					return err
				}))
				t.Cleanup(func() { tr.Close() })
				return tr
			}
			ta, tb := open(p.la), open(p.lb)
			dst := ta.Primary
			if tc.peer {
				dst = ta.PeerDelay
			}
			want := tc.want
			if dst.L2 {
				assert.Equal(t, want, net.HardwareAddr(dst.MAC[:]).String())
			} else {
				assert.Equal(t, want, dst.IP.String())
			}
			maddr := p.lb.NS.IP(t, "maddr", "show", "dev", p.lb.Name)
			for _, g := range append([]string{want}, tc.joined...) {
				assert.Contains(t, maddr, " "+g, "joined on %s", p.lb.Name)
			}
			for _, g := range tc.avoided {
				assert.NotContains(t, maddr, " "+g+"\n", "the default is not joined")
			}

			wire := sniff(t, p.lb)
			ev, _ := chans(tb)
			seq := uint16(0x5a00 + len(tc.option))
			msg := message(0x00, seq)
			_, err := ta.Event.SendEvent(msg, dst)
			require.NoError(t, err)
			r := next(t, ev)
			assert.Equal(t, msg, r.msg, "the peer, configured alike, receives it")
			deadline := time.After(2 * time.Second)
			for {
				select {
				case f := <-wire:
					if d, ok := wireDst(f, seq); ok {
						assert.Equal(t, want, strings.ToLower(d), "the destination on the wire")
						return
					}
				case <-deadline:
					t.Fatal("the message was not seen on the wire")
				}
			}
		})
	}
}
