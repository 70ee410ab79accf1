package engine_test

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/engine"
)

// newTC returns a started two-port transparent clock of type typ.
func newTC(tb testing.TB, typ engine.ClockType) *engine.Clock {
	tb.Helper()
	dm := ptp.DelayMechanismE2E
	if typ == engine.P2PTransparent {
		dm = ptp.DelayMechanismP2P
	}
	ports := []engine.PortConfig{engine.DefaultPortConfig("tc0"), engine.DefaultPortConfig("tc1")}
	for i := range ports {
		ports[i].DelayMechanism = dm
	}
	cfg := engine.DefaultClockConfig(ptp.ClockIdentity{0x02, 0, 0, 0xff, 0xfe, 0, 0, 3})
	cfg.Type, cfg.FreeRunning = typ, true
	c, err := engine.NewClock(cfg, ports, engine.NewTestPI(20_000), 1)
	require.NoError(tb, err)
	c.Start(0)
	return c
}

var tcGM = ptp.PortIdentity{ClockIdentity: ptp.ClockIdentity{0x02, 0, 0, 0xff, 0xfe, 0, 0, 1}, PortNumber: 1}
var tcClient = ptp.PortIdentity{ClockIdentity: ptp.ClockIdentity{0x02, 0, 0, 0xff, 0xfe, 0, 0, 2}, PortNumber: 1}

func tcHeader(h *ptp.Header, src ptp.PortIdentity, seq uint16, corr int64) {
	h.VersionPTP, h.SourcePortIdentity, h.SequenceID = 2, src, seq
	h.CorrectionField = ptp.TimeIntervalFromNanoseconds(corr)
}

// sends returns the Send actions of acts.
func sends(acts []engine.Action) []engine.Action {
	var out []engine.Action
	for _, a := range acts {
		if a.Kind == engine.Send {
			a.Msg = append([]byte(nil), a.Msg...)
			out = append(out, a)
		}
	}
	return out
}

func correctionNs(tb testing.TB, msg []byte) int64 {
	var h ptp.Header
	require.NoError(tb, h.UnmarshalBinary(msg))
	return int64(h.CorrectionField.Nanoseconds())
}

// The forwarding rules and the correctionField arithmetic of both kinds
// of transparent clock, message by message.
func TestTransparentClockForwarding(t *testing.T) {
	const rx, tx = 1_000_000, 1_012_345 // ingress, egress: 12 345 ns residence
	t.Run("two-step Sync, Follow_Up after the egress timestamp", func(t *testing.T) {
		c := newTC(t, engine.E2ETransparent)
		var s ptp.Sync
		tcHeader(&s.Header, tcGM, 7, 100)
		s.Flags = ptp.FlagTwoStep
		out := sends(c.Receive(0, encode(t, &s), rx, engine.Addr{}, 0))
		require.Len(t, out, 1)
		assert.Equal(t, 1, out[0].Port)
		assert.True(t, out[0].Event && out[0].Forwarded)
		assert.EqualValues(t, 100, correctionNs(t, out[0].Msg), "the Sync leaves as it came")
		assert.Empty(t, sends(c.ForwardedTxTimestamp(1, ptp.MessageSync, 7, tx, 0)))
		var f ptp.FollowUp
		tcHeader(&f.Header, tcGM, 7, 50)
		out = sends(c.Receive(0, encode(t, &f), rx+100, engine.Addr{}, 0))
		require.Len(t, out, 1)
		assert.EqualValues(t, 50+12_345, correctionNs(t, out[0].Msg))
	})
	t.Run("Follow_Up before the egress timestamp", func(t *testing.T) {
		c := newTC(t, engine.P2PTransparent)
		var s ptp.Sync
		tcHeader(&s.Header, tcGM, 8, 0)
		s.Flags = ptp.FlagTwoStep
		sends(c.Receive(0, encode(t, &s), rx, engine.Addr{}, 0))
		var f ptp.FollowUp
		tcHeader(&f.Header, tcGM, 8, 0)
		assert.Empty(t, sends(c.Receive(0, encode(t, &f), rx, engine.Addr{}, 0)), "waits for the residence time")
		out := sends(c.ForwardedTxTimestamp(1, ptp.MessageSync, 8, tx, 0))
		require.Len(t, out, 1)
		assert.Equal(t, ptp.MessageFollowUp, out[0].MessageType)
		// No meanLinkDelay measured yet on the ingress port: 0.
		assert.EqualValues(t, 12_345, correctionNs(t, out[0].Msg))
	})
	t.Run("one-step Sync leaves two-step with a Follow_Up", func(t *testing.T) {
		c := newTC(t, engine.E2ETransparent)
		var s ptp.Sync
		tcHeader(&s.Header, tcGM, 9, 30)
		s.OriginTimestamp = ptp.TimestampFromNanoseconds(5_000_000_123)
		out := sends(c.Receive(0, encode(t, &s), rx, engine.Addr{}, 0))
		require.Len(t, out, 1)
		var fwd ptp.Sync
		require.NoError(t, fwd.UnmarshalBinary(out[0].Msg))
		assert.True(t, fwd.Flags.Has(ptp.FlagTwoStep))
		assert.EqualValues(t, 30, correctionNs(t, out[0].Msg), "the Sync keeps its correctionField")
		out = sends(c.ForwardedTxTimestamp(1, ptp.MessageSync, 9, tx, 0))
		require.Len(t, out, 1)
		var f ptp.FollowUp
		require.NoError(t, f.UnmarshalBinary(out[0].Msg))
		assert.Equal(t, s.OriginTimestamp, f.PreciseOriginTimestamp)
		assert.Equal(t, uint16(9), f.SequenceID)
		assert.Equal(t, tcGM, f.SourcePortIdentity)
		assert.EqualValues(t, 12_345, correctionNs(t, out[0].Msg))
	})
	t.Run("E2E Delay_Req and its Delay_Resp", func(t *testing.T) {
		c := newTC(t, engine.E2ETransparent)
		var d ptp.DelayReq
		tcHeader(&d.Header, tcClient, 3, 0)
		out := sends(c.Receive(1, encode(t, &d), rx, engine.Addr{}, 0))
		require.Len(t, out, 1)
		assert.Equal(t, 0, out[0].Port)
		assert.True(t, out[0].Forwarded)
		sends(c.ForwardedTxTimestamp(0, ptp.MessageDelayReq, 3, tx, 0))
		var r ptp.DelayResp
		tcHeader(&r.Header, tcGM, 3, 7)
		r.RequestingPortIdentity = tcClient
		out = sends(c.Receive(0, encode(t, &r), 0, engine.Addr{}, 0))
		require.Len(t, out, 1)
		assert.Equal(t, 1, out[0].Port, "back where the Delay_Req came from")
		assert.EqualValues(t, 7+12_345, correctionNs(t, out[0].Msg))
		// A second answer, or one to a request never forwarded, goes nowhere.
		assert.Empty(t, sends(c.Receive(0, encode(t, &r), 0, engine.Addr{}, 0)))
		assert.EqualValues(t, 1, c.TCStats().Unmatched)
	})
	t.Run("P2P forwards no Delay_Req, nobody forwards Pdelay", func(t *testing.T) {
		c := newTC(t, engine.P2PTransparent)
		var d ptp.DelayReq
		tcHeader(&d.Header, tcClient, 3, 0)
		assert.Empty(t, sends(c.Receive(1, encode(t, &d), rx, engine.Addr{}, 0)))
		e := newTC(t, engine.E2ETransparent)
		var p ptp.PdelayReq
		tcHeader(&p.Header, tcClient, 3, 0)
		assert.Empty(t, sends(e.Receive(1, encode(t, &p), rx, engine.Addr{}, 0)))
	})
	t.Run("Announce, another domain and unicast", func(t *testing.T) {
		c := newTC(t, engine.E2ETransparent)
		var a ptp.Announce
		tcHeader(&a.Header, tcGM, 1, 0)
		a.DomainNumber = 5
		out := sends(c.Receive(0, encode(t, &a), rx, engine.Addr{}, 0))
		require.Len(t, out, 1, "forwarded, whatever its domain")
		assert.False(t, out[0].Event)
		a.Flags |= ptp.FlagUnicast
		assert.Empty(t, sends(c.Receive(0, encode(t, &a), rx, engine.Addr{}, 0)), "unicast is not forwarded (ptp4l)")
	})
}

// A transparent clock needs two ports of its delay mechanism.
func TestTransparentClockConfig(t *testing.T) {
	cfg := engine.DefaultClockConfig(ptp.ClockIdentity{1})
	for _, tt := range []struct {
		name  string
		typ   engine.ClockType
		ports []ptp.DelayMechanism
		ok    bool
	}{
		{"E2E_TC", engine.E2ETransparent, []ptp.DelayMechanism{ptp.DelayMechanismE2E, ptp.DelayMechanismE2E}, true},
		{"P2P_TC", engine.P2PTransparent, []ptp.DelayMechanism{ptp.DelayMechanismP2P, ptp.DelayMechanismP2P}, true},
		{"one port", engine.E2ETransparent, []ptp.DelayMechanism{ptp.DelayMechanismE2E}, false},
		{"P2P_TC with an E2E port", engine.P2PTransparent, []ptp.DelayMechanism{ptp.DelayMechanismP2P, ptp.DelayMechanismE2E}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var ports []engine.PortConfig
			for _, dm := range tt.ports {
				p := engine.DefaultPortConfig("p")
				p.DelayMechanism = dm
				ports = append(ports, p)
			}
			cfg.Type = tt.typ
			_, err := engine.NewClock(cfg, ports, engine.NewTestPI(0), 1)
			if tt.ok {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err)
			}
		})
	}
}

// BenchmarkTransparentForward is one Sync/Follow_Up and one
// Delay_Req/Delay_Resp through an E2E transparent clock: four messages
// in, four out, two egress timestamps.
func BenchmarkTransparentForward(b *testing.B) {
	c := newTC(b, engine.E2ETransparent)
	var s ptp.Sync
	tcHeader(&s.Header, tcGM, 0, 0)
	s.Flags = ptp.FlagTwoStep
	var f ptp.FollowUp
	tcHeader(&f.Header, tcGM, 0, 0)
	var d ptp.DelayReq
	tcHeader(&d.Header, tcClient, 0, 0)
	var r ptp.DelayResp
	tcHeader(&r.Header, tcGM, 0, 0)
	r.RequestingPortIdentity = tcClient
	syncB, fupB, reqB, respB := encode(b, &s), encode(b, &f), encode(b, &d), encode(b, &r)
	var seq uint16
	now := int64(1)
	b.ReportAllocs()
	for b.Loop() {
		seq++
		now += 62_500_000
		for _, m := range [][]byte{syncB, fupB, reqB, respB} {
			binary.BigEndian.PutUint16(m[30:], seq)
		}
		c.Receive(0, syncB, now, engine.Addr{}, now)
		c.ForwardedTxTimestamp(1, ptp.MessageSync, seq, now+10_000, now)
		c.Receive(0, fupB, now, engine.Addr{}, now)
		c.Receive(1, reqB, now, engine.Addr{}, now)
		c.ForwardedTxTimestamp(0, ptp.MessageDelayReq, seq, now+10_000, now)
		c.Receive(0, respB, now, engine.Addr{}, now)
	}
	if st := c.TCStats(); st.Unmatched != 0 || st.Evicted != 0 || st.LastResidence != 10_000 {
		b.Fatalf("stats %+v", st)
	}
}
