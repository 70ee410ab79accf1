package engine

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/ptp"
)

// consistent reports how s.index disagrees with s.clients, if it does:
// every client indexed at its own place, nothing else indexed.
func (s *unicastService) consistent() error {
	if len(s.index) != len(s.clients) {
		return fmt.Errorf("%d indexed, %d clients", len(s.index), len(s.clients))
	}
	for a, i := range s.index {
		if int(i) >= len(s.clients) || s.clients[i].addr != a {
			return fmt.Errorf("%v indexed at %d, which holds another client (of %d)", a, i, len(s.clients))
		}
	}
	return nil
}

// A client leaving mid-round keeps the index right whichever place it
// leaves from: served, the last served, the next to serve, waiting, last;
// and every client is served once in the round. (Once, the last served
// client's leaving left its address pointing at another's place: its
// next request changed that client's grant, and when the list shrank, a
// message from it indexed past the end and the daemon panicked.)
func TestUnicastServiceRemoveMidRound(t *testing.T) {
	addr := func(i int) Addr {
		return Addr{IP: netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, 0, byte(i + 1)}), 319)}
	}
	const n, served = 6, 3 // clients 0-2 served, next = 3
	for _, leave := range []int{0, 2, 3, 4, 5} {
		t.Run(fmt.Sprint("client ", leave), func(t *testing.T) {
			s := newUnicastService()
			for i := range n {
				r := &ptp.RequestUnicastTransmission{MessageType: ptp.MessageSync, DurationField: 60}
				require.NotZero(t, s.grant(addr(i), ptp.PortIdentity{}, r, 1))
			}
			s.inRound, s.next = true, served
			s.cancel(addr(leave), ptp.MessageSync)
			require.NoError(t, s.consistent())
			assert.NotContains(t, s.index, addr(leave))
			// Served stay before next, unserved from next on.
			for i := range s.clients {
				a := s.clients[i].addr
				wasServed := false
				for j := range served {
					wasServed = wasServed || a == addr(j)
				}
				assert.Equal(t, wasServed, int32(i) < s.next, "%v at %d, next %d", a, i, s.next)
			}
			// The client that left asks again: a new client, not another's
			// place; and everyone can leave without a panic.
			r := &ptp.RequestUnicastTransmission{MessageType: ptp.MessageSync, DurationField: 60}
			require.NotZero(t, s.grant(addr(leave), ptp.PortIdentity{}, r, 2))
			require.NoError(t, s.consistent())
			s.inRound = false
			for i := range n {
				s.cancel(addr(i), ptp.MessageSync)
				require.NoError(t, s.consistent())
			}
			assert.Empty(t, s.clients)
		})
	}
}

// FastestRequestPeriod is the shortest interval at which peers may send
// the clock requests to answer: a multicast port's logMinDelayReqInterval,
// a P2P port's logMinPdelayReqInterval, and the fastest Delay_Resp grant
// of a unicast service; a unicast-only server with no Delay_Resp grant
// answers no one yet, and a refused grant (duration 0) does not count.
func TestFastestRequestPeriod(t *testing.T) {
	ucOnly := func(p PortConfig) PortConfig {
		p.UnicastListen, p.InhibitMulticastService = true, true
		return p
	}
	p2p := func(p PortConfig) PortConfig {
		p.DelayMechanism, p.LogMinPdelayReqInterval = ptp.DelayMechanismP2P, -2
		return p
	}
	for _, tc := range []struct {
		name   string
		ports  []PortConfig
		grants []int8 // Delay_Resp grants to port 0's service (the last refused if 99)
		want   int8
		ok     bool
	}{
		{"multicast E2E", []PortConfig{fastPort("a")}, nil, -4, true},
		{"P2P", []PortConfig{p2p(fastPort("a"))}, nil, -2, true},
		{"two ports, the faster", []PortConfig{p2p(fastPort("a")), fastPort("b")}, nil, -4, true},
		{"unicast only, no grant", []PortConfig{ucOnly(fastPort("a"))}, nil, 0, false},
		{"unicast only, grants", []PortConfig{ucOnly(fastPort("a"))}, []int8{0, -6, -3}, -6, true},
		{"unicast and multicast", []PortConfig{func() PortConfig { p := fastPort("a"); p.UnicastListen = true; return p }()}, []int8{-7}, -7, true},
		{"a refused grant", []PortConfig{ucOnly(fastPort("a"))}, []int8{-1, 99}, -1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultClockConfig(cid(1))
			c, err := NewClock(cfg, tc.ports, &testPI{}, 1)
			require.NoError(t, err)
			for i, g := range tc.grants {
				r := &ptp.RequestUnicastTransmission{MessageType: ptp.MessageDelayResp, LogInterMessagePeriod: g, DurationField: 60}
				if g == 99 {
					r.LogInterMessagePeriod, r.DurationField = -9, 0
				}
				from := Addr{IP: netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, 0, byte(i + 2)}), 319)}
				c.Port(0).uc.grant(from, ptp.PortIdentity{}, r, 1)
			}
			got, ok := c.FastestRequestPeriod()
			assert.Equal(t, tc.ok, ok)
			if tc.ok {
				assert.Equal(t, tc.want, got)
			}
		})
	}
}
