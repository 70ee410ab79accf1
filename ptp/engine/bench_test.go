package engine

import (
	"encoding/binary"
	"testing"

	"github.com/roko-network/roko-ptpd/ptp"
)

// BenchmarkSlaveCycle is one steady-state cycle of a locked client: a
// two-step Sync and its Follow_Up, a Delay_Req with its transmit timestamp,
// and the Delay_Resp. Messages are encoded once and patched in place.
func BenchmarkSlaveCycle(b *testing.B) {
	n := newNetwork(&testing.T{})
	gm := n.addNode("gm", gmConfig(1), []PortConfig{fastPort("gm0")}, &testPI{stepLimit: 20_000}, 0, 0)
	cl := n.addNode("cl", clientConfig(2), []PortConfig{fastPort("cl0")}, &testPI{stepLimit: 20_000}, 0, 0)
	n.connect(gm, 0, cl, 0, 1000, 1000)
	n.start()
	n.run(20*sec, sec, nil)
	if cl.clk.Port(0).State() != Slave {
		b.Fatal("client not locked")
	}
	c, p := cl.clk, cl.clk.Port(0)
	src := gm.clk.Port(0).Identity()
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

	seq := gm.clk.Port(0).seqSync + 100
	now := n.now()
	t := cl.sim.local(now)
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
		c.Receive(0, syncB, t, Addr{}, now)
		c.Receive(0, fupB, t, Addr{}, now)
		p.sendDelayReq()
		c.TxTimestamp(0, ptp.MessageDelayReq, p.delayReq.seq, t+10, now)
		binary.BigEndian.PutUint16(respB[30:], p.delayReq.seq)
		setTS(respB, 34, t+10+1000)
		c.Receive(0, respB, 0, Addr{}, now)
	}
	if p.State() != Slave {
		b.Fatalf("client left SLAVE: %s", p.State())
	}
}
