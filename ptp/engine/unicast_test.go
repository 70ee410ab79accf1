package engine_test

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/engine"
)

var ucClientID = ptp.PortIdentity{ClockIdentity: engine.CID(100), PortNumber: 1}

// signaling encodes a unicast Signaling message from src to every port
// carrying tlvs.
func signaling(t testing.TB, src ptp.PortIdentity, tlvs ...ptp.TLVValue) []byte {
	var s ptp.Signaling
	s.VersionPTP, s.MinorVersionPTP, s.DomainNumber = 2, 1, 24
	s.Flags = ptp.FlagUnicast
	s.SourcePortIdentity = src
	s.TargetPortIdentity = ptp.PortIdentity{ClockIdentity: ptp.ClockIdentity{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, PortNumber: 0xffff}
	for _, v := range tlvs {
		require.NoError(t, s.TLVs.Add(v))
	}
	b, err := s.MarshalBinary()
	require.NoError(t, err)
	return b
}

// replies decodes the Signaling messages among acts.
func replies(t testing.TB, acts []engine.Action) (out []ptp.Signaling, to []engine.Addr) {
	for _, a := range acts {
		if a.Kind != engine.Send || a.MessageType != ptp.MessageSignaling {
			continue
		}
		var s ptp.Signaling
		require.NoError(t, s.UnmarshalBinary(a.Msg))
		out, to = append(out, s), append(to, a.To)
		assert.Equal(t, engine.DestUnicast, a.Dest)
	}
	return out, to
}

func grantsOf(t testing.TB, s *ptp.Signaling) (g []ptp.GrantUnicastTransmission) {
	for tlv := range s.TLVs.All() {
		if tlv.Type == ptp.TLVGrantUnicastTransmission {
			var v ptp.GrantUnicastTransmission
			require.NoError(t, v.UnmarshalValue(tlv.Value))
			g = append(g, v)
		}
	}
	return g
}

func newUnicastServer(t testing.TB) *engine.Clock {
	c, err := engine.NewClock(engine.GMConfig(1), []engine.PortConfig{ucServerPort("gm0")}, engine.NewTestPI(20_000), 1)
	require.NoError(t, err)
	c.Start(0)
	return c
}

// The server grants what linuxptp grants, as asked, and refuses the rest
// with durationField 0; one reply carries the answer to every request.
func TestUnicastServerGrants(t *testing.T) {
	tests := []struct {
		name     string
		req      ptp.RequestUnicastTransmission
		duration uint32 // 0: refused
		clients  int
	}{
		{"Announce", ptp.RequestUnicastTransmission{MessageType: ptp.MessageAnnounce, LogInterMessagePeriod: 1, DurationField: 60}, 60, 1},
		{"Sync at 128 Hz", ptp.RequestUnicastTransmission{MessageType: ptp.MessageSync, LogInterMessagePeriod: -7, DurationField: 10}, 10, 1},
		{"Delay_Resp is granted, not kept", ptp.RequestUnicastTransmission{MessageType: ptp.MessageDelayResp, LogInterMessagePeriod: -4, DurationField: 300}, 300, 0},
		{"Pdelay_Resp is granted, not kept", ptp.RequestUnicastTransmission{MessageType: ptp.MessagePdelayResp, LogInterMessagePeriod: 0, DurationField: 300}, 300, 0},
		{"Follow_Up is refused", ptp.RequestUnicastTransmission{MessageType: ptp.MessageFollowUp, LogInterMessagePeriod: 0, DurationField: 60}, 0, 0},
		{"Management is refused", ptp.RequestUnicastTransmission{MessageType: ptp.MessageManagement, LogInterMessagePeriod: 0, DurationField: 60}, 0, 0},
		{"period 2^31 is refused", ptp.RequestUnicastTransmission{MessageType: ptp.MessageSync, LogInterMessagePeriod: 31, DurationField: 60}, 0, 0},
		{"period 2^-31 is refused", ptp.RequestUnicastTransmission{MessageType: ptp.MessageAnnounce, LogInterMessagePeriod: -31, DurationField: 60}, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newUnicastServer(t)
			req := tc.req
			acts := c.Receive(0, signaling(t, ucClientID, &req), 0, ucAddr(100), 1000)
			sg, to := replies(t, acts)
			require.Len(t, sg, 1)
			assert.Equal(t, ucClientID, sg[0].TargetPortIdentity)
			assert.True(t, sg[0].Flags.Has(ptp.FlagUnicast))
			assert.Equal(t, "198.18.0.100:0", to[0].IP.String(), "to the client's address, the transport's port")
			g := grantsOf(t, &sg[0])
			require.Len(t, g, 1)
			assert.Equal(t, tc.req.MessageType, g[0].MessageType)
			assert.Equal(t, tc.req.LogInterMessagePeriod, g[0].LogInterMessagePeriod)
			assert.Equal(t, tc.duration, g[0].DurationField)
			if tc.duration != 0 {
				assert.EqualValues(t, ptp.GrantUnicastFlagRenewalInvited, g[0].Flags)
			}
			assert.Equal(t, tc.clients, c.Port(0).UnicastClients())
		})
	}
}

// A request of three TLVs gets one reply of three grants; a CANCEL ends
// the grant and is acknowledged; when nothing is left the client goes.
func TestUnicastServerCancel(t *testing.T) {
	c := newUnicastServer(t)
	acts := c.Receive(0, signaling(t, ucClientID,
		&ptp.RequestUnicastTransmission{MessageType: ptp.MessageAnnounce, LogInterMessagePeriod: 0, DurationField: 60},
		&ptp.RequestUnicastTransmission{MessageType: ptp.MessageSync, LogInterMessagePeriod: -4, DurationField: 60},
		&ptp.RequestUnicastTransmission{MessageType: ptp.MessageDelayResp, LogInterMessagePeriod: -4, DurationField: 60},
	), 0, ucAddr(100), 1000)
	sg, _ := replies(t, acts)
	require.Len(t, sg, 1)
	assert.Len(t, grantsOf(t, &sg[0]), 3)
	assert.Equal(t, 1, c.Port(0).UnicastClients())

	for i, mt := range []ptp.MessageType{ptp.MessageSync, ptp.MessageAnnounce} {
		acts = c.Receive(0, signaling(t, ucClientID, &ptp.CancelUnicastTransmission{MessageType: mt}), 0, ucAddr(100), 2000)
		sg, _ = replies(t, acts)
		require.Len(t, sg, 1)
		var ack ptp.AcknowledgeCancelUnicastTransmission
		ok, err := sg[0].TLVs.Decode(&ack)
		require.NoError(t, err)
		require.True(t, ok, "acknowledged")
		assert.Equal(t, mt, ack.MessageType)
		assert.Equal(t, 1-i, c.Port(0).UnicastClients())
	}
	assert.EqualValues(t, 2, c.Port(0).UnicastServiceStats().Canceled)
}

// A port without unicast_listen does not answer requests (linuxptp's
// SERVICE_DISABLED).
func TestUnicastServerDisabled(t *testing.T) {
	c, err := engine.NewClock(engine.GMConfig(1), []engine.PortConfig{engine.FastPort("gm0")}, engine.NewTestPI(20_000), 1)
	require.NoError(t, err)
	c.Start(0)
	acts := c.Receive(0, signaling(t, ucClientID,
		&ptp.RequestUnicastTransmission{MessageType: ptp.MessageAnnounce, DurationField: 60}), 0, ucAddr(100), 1000)
	sg, _ := replies(t, acts)
	assert.Empty(t, sg)
}

// A client refused (durationField 0) logs linuxptp's warning, goes back
// to asking for Announce, and asks again at the next query.
func TestUnicastClientRefused(t *testing.T) {
	c, err := engine.NewClock(engine.ClientConfig(100), []engine.PortConfig{ucClientPort("cl0", 1, 2)}, engine.NewTestPI(20_000), 1)
	require.NoError(t, err)
	c.Start(0)
	sg, to := replies(t, c.Tick(c.Deadline()))
	require.Len(t, sg, 2, "one request to each master")
	assert.Equal(t, "198.18.0.1:0", to[0].IP.String())
	assert.Equal(t, "198.18.0.2:0", to[1].IP.String())

	gm := ptp.PortIdentity{ClockIdentity: engine.CID(1), PortNumber: 1}
	acts := c.Receive(0, signaling(t, gm, &ptp.GrantUnicastTransmission{MessageType: ptp.MessageAnnounce, LogInterMessagePeriod: 0}), 0, ucAddr(1), sec)
	var lines []string
	for _, a := range acts {
		if a.Kind == engine.Log {
			lines = append(lines, a.Log.String())
		}
	}
	assert.Equal(t, []string{"port 1 (cl0): unicast grant of ANNOUNCE rejected"}, lines)
	assert.Equal(t, "WAIT", c.Port(0).UnicastMasters()[0].State)

	// A grant from an address not in the table is ignored.
	c.Receive(0, signaling(t, gm, &ptp.GrantUnicastTransmission{MessageType: ptp.MessageAnnounce, DurationField: 10}), 0, ucAddr(7), sec)
	for _, m := range c.Port(0).UnicastMasters() {
		assert.Equal(t, "WAIT", m.State)
	}
	// The next query asks both again.
	sg, _ = replies(t, c.Tick(c.Deadline()))
	assert.Len(t, sg, 2)
}

// BenchmarkUnicastServerRequest is the server's per-request path: a
// client renewing its Announce, Sync and Delay_Resp grants in one
// Signaling message, answered by one Signaling of three grants.
func BenchmarkUnicastServerRequest(b *testing.B) {
	c := newUnicastServer(b)
	msg := signaling(b, ucClientID,
		&ptp.RequestUnicastTransmission{MessageType: ptp.MessageAnnounce, LogInterMessagePeriod: 0, DurationField: 60},
		&ptp.RequestUnicastTransmission{MessageType: ptp.MessageSync, LogInterMessagePeriod: -4, DurationField: 60},
		&ptp.RequestUnicastTransmission{MessageType: ptp.MessageDelayResp, LogInterMessagePeriod: -4, DurationField: 60},
	)
	from := ucAddr(100)
	now := int64(1000)
	b.ReportAllocs()
	for b.Loop() {
		now += 1000
		if acts := c.Receive(0, msg, 0, from, now); len(acts) != 1 {
			b.Fatalf("%d actions", len(acts))
		}
	}
}

// BenchmarkUnicastServerDelayReq is the server's answer to a client's
// unicast Delay_Req.
func BenchmarkUnicastServerDelayReq(b *testing.B) {
	c := newUnicastServer(b)
	c.Tick(c.Deadline()) // to MASTER on the announce timeout
	var d ptp.DelayReq
	d.VersionPTP, d.DomainNumber, d.Flags, d.SourcePortIdentity = 2, 24, ptp.FlagUnicast, ucClientID
	msg, err := d.MarshalBinary()
	require.NoError(b, err)
	from := ucAddr(100)
	b.ReportAllocs()
	for b.Loop() {
		if acts := c.Receive(0, msg, 5000, from, 10*sec); len(acts) != 1 {
			b.Fatalf("%d actions", len(acts))
		}
	}
}

// BenchmarkUnicastServerRound is one round of a unicast grandmaster
// serving 1,000 clients granted Sync at 16 Hz: 1,000 Syncs (in slices of
// ucSlice, a Tick each), then each one's transmit timestamp and
// Follow_Up. ns/op is per round; divide by 1,000 for the cost of one
// client's Sync and Follow_Up.
func BenchmarkUnicastServerRound(b *testing.B) {
	const clients = 1000
	c := newUnicastServer(b)
	c.Tick(c.Deadline()) // to MASTER on the announce timeout
	for i := range clients {
		msg := signaling(b, ucClient(i),
			&ptp.RequestUnicastTransmission{MessageType: ptp.MessageSync, LogInterMessagePeriod: -4, DurationField: 1 << 30})
		c.Receive(0, msg, 0, ucClientAddr(i), sec)
	}
	require.Equal(b, clients, c.Port(0).UnicastClients())
	seqs := make([]uint16, 0, clients)
	var fups int
	b.ReportAllocs()
	for b.Loop() {
		var now int64
		seqs = seqs[:0]
		for len(seqs) < clients { // the port's own timers wake it too
			now = c.Deadline()
			for _, a := range c.Tick(now) {
				if a.Kind == engine.Send && a.MessageType == ptp.MessageSync {
					seqs = append(seqs, a.SequenceID)
				}
			}
		}
		for _, s := range seqs {
			fups += len(c.TxTimestamp(0, ptp.MessageSync, s, now, now))
		}
	}
	if fups != clients*b.N {
		b.Fatalf("%d Follow_Ups for %d rounds of %d", fups, b.N, clients)
	}
}

// ucClient and ucClientAddr are client i's port identity and address.
func ucClient(i int) ptp.PortIdentity {
	return ptp.PortIdentity{ClockIdentity: ptp.ClockIdentity{4, 0, 0, 0, 0, 0, byte(i >> 8), byte(i)}, PortNumber: 1}
}

func ucClientAddr(i int) engine.Addr {
	return engine.Addr{IP: netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}), 319)}
}

// syncsTo returns the addresses the unicast Syncs among acts go to.
func syncsTo(acts []engine.Action) (to []netip.Addr) {
	for _, a := range acts {
		if a.Kind == engine.Send && a.MessageType == ptp.MessageSync {
			to = append(to, a.To.IP.Addr())
		}
	}
	return to
}

// A round is served ucSlice clients a Tick, the deadline staying due
// until it is done, and every client gets one Sync a round, also when
// clients cancel in the middle of it (served or not yet).
func TestUnicastServerRoundInSlices(t *testing.T) {
	defer engine.SetUnicastSlice(3)()
	c := newUnicastServer(t)
	c.Tick(c.Deadline()) // to MASTER on the announce timeout
	const clients = 10
	for i := range clients {
		c.Receive(0, signaling(t, ucClient(i),
			&ptp.RequestUnicastTransmission{MessageType: ptp.MessageSync, LogInterMessagePeriod: 0, DurationField: 60}), 0, ucClientAddr(i), sec)
	}
	require.Equal(t, clients, c.Port(0).UnicastClients())
	tests := []struct {
		name   string
		cancel []int // clients that cancel after the first slice
		want   int   // Syncs in the round
	}{
		{"whole round", nil, clients},
		{"a served client and a waiting one cancel", []int{0, 9}, clients - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := c.Deadline()
			got := map[netip.Addr]int{}
			var ticks int
			now := start
			for {
				acts := c.Tick(now)
				ticks++
				to := syncsTo(acts)
				assert.LessOrEqual(t, len(to), 3, "one slice a Tick")
				for _, a := range to {
					got[a]++
				}
				if ticks == 1 {
					for _, i := range tt.cancel {
						c.Receive(0, signaling(t, ucClient(i), &ptp.CancelUnicastTransmission{MessageType: ptp.MessageSync}), 0, ucClientAddr(i), now)
					}
				}
				if d := c.Deadline(); d > now {
					break // the round is done
				}
				now += 1000
				require.Less(t, ticks, 20)
			}
			assert.Len(t, got, tt.want, "every client")
			for a, n := range got {
				assert.Equal(t, 1, n, "one Sync to %v", a)
			}
			assert.GreaterOrEqual(t, ticks, (tt.want+2)/3, "in slices")
			assert.Equal(t, start+sec, c.Deadline(), "the next round a period after this one's start")
		})
	}
}

// A unicast Sync whose transmit timestamp is lost costs its client that
// Follow_Up: the port stays MASTER, the loss is counted, and the next
// client's Follow_Up (the same sequenceId) goes to that client with its
// own timestamp.
func TestUnicastServerSyncTimestampLost(t *testing.T) {
	c := newUnicastServer(t)
	c.Tick(c.Deadline()) // to MASTER on the announce timeout
	for i := range 2 {
		c.Receive(0, signaling(t, ucClient(i),
			&ptp.RequestUnicastTransmission{MessageType: ptp.MessageSync, LogInterMessagePeriod: 0, DurationField: 60}), 0, ucClientAddr(i), sec)
	}
	now := c.Deadline()
	acts := c.Tick(now)
	var syncs []engine.Action
	for _, a := range acts {
		if a.Kind == engine.Send && a.MessageType == ptp.MessageSync {
			syncs = append(syncs, a)
		}
	}
	require.Len(t, syncs, 2)
	require.Equal(t, syncs[0].SequenceID, syncs[1].SequenceID, "both clients' first Sync")
	assert.Empty(t, c.TxTimestampLost(0, ptp.MessageSync, syncs[0].SequenceID, engine.DestUnicast, now), "no fault, no Follow_Up")
	assert.Equal(t, engine.Master, c.Port(0).State())
	assert.EqualValues(t, 1, c.Port(0).UnicastServiceStats().Unstamped)
	fup := c.TxTimestamp(0, ptp.MessageSync, syncs[1].SequenceID, 5*sec, now)
	require.Len(t, fup, 1)
	assert.Equal(t, ptp.MessageFollowUp, fup[0].MessageType)
	assert.Equal(t, syncs[1].To, fup[0].To, "to the client whose Sync was stamped")

	// Any other lost timestamp faults the port, as in ptp4l.
	c.TxTimestampLost(0, ptp.MessageSync, 7, engine.DestPrimary, now)
	assert.Equal(t, engine.Faulty, c.Port(0).State())
}

// Beyond maxUnicastClients a new address is refused; those already
// served keep renewing.
func TestUnicastServerClientLimit(t *testing.T) {
	defer engine.SetMaxUnicastClients(2)()
	c := newUnicastServer(t)
	req := &ptp.RequestUnicastTransmission{MessageType: ptp.MessageSync, LogInterMessagePeriod: -4, DurationField: 60}
	for i, want := range []uint32{60, 60, 0, 60} {
		n := byte(100 + i%3)
		src := ptp.PortIdentity{ClockIdentity: engine.CID(n), PortNumber: 1}
		sg, _ := replies(t, c.Receive(0, signaling(t, src, req), 0, ucAddr(n), int64(i+1)*sec))
		require.Len(t, sg, 1)
		assert.Equal(t, want, grantsOf(t, &sg[0])[0].DurationField, "request %d", i)
	}
	assert.Equal(t, 2, c.Port(0).UnicastClients())
	assert.EqualValues(t, 1, c.Port(0).UnicastServiceStats().Denied)
}

// FuzzUnicastSignaling feeds arbitrary negotiation TLVs from arbitrary
// addresses to a port that is both a unicast server and client: nothing
// panics, and every reply is a well-formed Signaling message.
func FuzzUnicastSignaling(f *testing.F) {
	f.Add(byte(1), []byte{0x00, 0x04, 0x00, 0x06, 0x00, 0xfc, 0x00, 0x00, 0x00, 0x3c})
	f.Add(byte(2), []byte{0x00, 0x05, 0x00, 0x08, 0xb0, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x01})
	f.Add(byte(1), []byte{0x00, 0x06, 0x00, 0x02, 0x00, 0x00, 0x00, 0x07, 0x00, 0x02, 0x90, 0x00})
	f.Add(byte(3), []byte{0x00, 0x04, 0x00, 0x06, 0x10, 0x80, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, from byte, tlvs []byte) {
		pc := ucClientPort("x", 1, 2)
		pc.UnicastListen = true
		c, err := engine.NewClock(engine.GMConfig(9), []engine.PortConfig{pc}, engine.NewTestPI(20_000), 1)
		require.NoError(t, err)
		c.Start(0)
		var s ptp.Signaling
		s.VersionPTP, s.DomainNumber, s.SourcePortIdentity = 2, 24, ucClientID
		s.TargetPortIdentity = ptp.PortIdentity{ClockIdentity: ptp.ClockIdentity{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, PortNumber: 0xffff}
		msg, err := s.MarshalBinary()
		require.NoError(t, err)
		msg = append(msg, tlvs...)
		if len(msg) > 0xffff {
			return
		}
		msg[2], msg[3] = byte(len(msg)>>8), byte(len(msg))
		for now := int64(1); now < 40*sec; now += 3 * sec {
			for _, a := range c.Receive(0, msg, 0, ucAddr(from%4), now) {
				if a.Kind == engine.Send && a.MessageType == ptp.MessageSignaling {
					var r ptp.Signaling
					require.NoError(t, r.UnmarshalBinary(a.Msg))
				}
			}
			c.Tick(now)
		}
	})
}
