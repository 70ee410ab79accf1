package engine_test

import (
	"encoding/binary"
	"testing"

	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/engine"
)

// BenchmarkSlaveCycle is one steady-state cycle of a locked client: a
// two-step Sync and its Follow_Up, a Delay_Req with its transmit timestamp,
// and the Delay_Resp. Messages are encoded once and patched in place.
func BenchmarkSlaveCycle(b *testing.B) {
	n := newNetwork(b)
	gm := n.AddNode("gm", engine.GMConfig(1), []engine.PortConfig{engine.FastPort("gm0")}, engine.NewTestPI(20_000), 0, 0)
	cl := n.AddNode("cl", engine.ClientConfig(2), []engine.PortConfig{engine.FastPort("cl0")}, engine.NewTestPI(20_000), 0, 0)
	n.Connect(gm, 0, cl, 0, 1000, 1000)
	n.Start()
	n.Run(20*sec, sec, nil)
	if cl.Clock.Port(0).State() != engine.Slave {
		b.Fatal("client not locked")
	}
	c, p := cl.Clock, cl.Clock.Port(0)
	src := gm.Clock.Port(0).Identity()
	hdr := func(h *ptp.Header) {
		h.VersionPTP, h.DomainNumber, h.SourcePortIdentity = 2, 24, src
	}
	var s ptp.Sync
	hdr(&s.Header)
	s.Flags = ptp.FlagTwoStep
	var f ptp.FollowUp
	hdr(&f.Header)
	var r ptp.DelayResp
	hdr(&r.Header)
	r.RequestingPortIdentity = p.Identity()
	r.LogMessageInterval = -4
	syncB, _ := s.MarshalBinary()
	fupB, _ := f.MarshalBinary()
	respB, _ := r.MarshalBinary()

	seq := gm.Clock.Port(0).SeqSync() + 100
	now := n.Now()
	t := cl.Local(now)
	setTS := func(b []byte, off int, ns int64) {
		ts := ptp.TimestampFromNanoseconds(ns)
		binary.BigEndian.PutUint16(b[off:], uint16(ts.Seconds>>32))
		binary.BigEndian.PutUint32(b[off+2:], uint32(ts.Seconds))
		binary.BigEndian.PutUint32(b[off+6:], ts.Nanoseconds)
	}
	b.ReportAllocs()
	for b.Loop() {
		now += 62_500_000
		t += 62_500_000
		seq++
		binary.BigEndian.PutUint16(syncB[30:], seq)
		binary.BigEndian.PutUint16(fupB[30:], seq)
		setTS(fupB, 34, t-1000)
		c.Receive(0, syncB, t, engine.Addr{}, now)
		c.Receive(0, fupB, t, engine.Addr{}, now)
		dseq := p.SendDelayReq()
		c.TxTimestamp(0, ptp.MessageDelayReq, dseq, t+10, now)
		binary.BigEndian.PutUint16(respB[30:], dseq)
		setTS(respB, 34, t+10+1000)
		c.Receive(0, respB, 0, engine.Addr{}, now)
	}
	if p.State() != engine.Slave {
		b.Fatalf("client left SLAVE: %s", p.State())
	}
}
