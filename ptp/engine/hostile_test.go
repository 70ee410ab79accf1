package engine

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/bmca"
	"github.com/roko-network/roko-ptpd/ptp"
)

// lockedPair returns a grandmaster and a client on one segment, run until
// the client is SLAVE.
func lockedPair(t *testing.T) (*network, *segment, *node, *node) {
	n := newNetwork(t)
	seg := &segment{}
	gm := n.addNode("gm", gmConfig(1), []PortConfig{fastPort("gm0")}, &testPI{stepLimit: 20_000}, 0, 0)
	cl := n.addNode("cl", clientConfig(2), []PortConfig{fastPort("cl0")}, &testPI{stepLimit: 20_000}, 2e6, 5_000)
	n.attach(seg, gm, 0, 2000, 2000)
	n.attach(seg, cl, 0, 2000, 2000)
	n.start()
	n.run(30*sec, sec, nil)
	require.True(t, following(cl, gm))
	return n, seg, gm, cl
}

func encode(t *testing.T, p ptp.Packet) []byte {
	b, err := p.MarshalBinary()
	require.NoError(t, err)
	return b
}

func TestHostileAnnounceStorm(t *testing.T) {
	n, seg, gm, cl := lockedPair(t)
	steps := cl.sim.steps
	start := n.now()
	for i := 0; i < 1000; i++ {
		a := &ptp.Announce{GrandmasterPriority1: 0, GrandmasterPriority2: 0,
			GrandmasterClockQuality: ptp.ClockQuality{ClockClass: 0}}
		a.VersionPTP, a.DomainNumber = 2, 24
		a.SourcePortIdentity = ptp.PortIdentity{ClockIdentity: ptp.ClockIdentity{0xee, 0xee, byte(i >> 8), byte(i)}, PortNumber: 1}
		a.GrandmasterIdentity = a.SourcePortIdentity.ClockIdentity
		n.inject(seg, start+int64(i)*ms, encode(t, a))
	}
	n.run(start+20*sec, sec, nil)
	assert.LessOrEqual(t, cl.clk.Port(0).ForeignMasters().Len(), bmca.DefaultMaxForeignMasters, "bounded memory")
	assert.Positive(t, cl.clk.Port(0).ForeignMasters().Evicted)
	assert.True(t, following(cl, gm), "the real grandmaster keeps the client")
	assert.Equal(t, steps, cl.sim.steps, "no step")
}

func TestHostileMissingFollowUp(t *testing.T) {
	n := newNetwork(t)
	gm := n.addNode("gm", gmConfig(1), []PortConfig{fastPort("gm0")}, &testPI{stepLimit: 20_000}, 0, 0)
	gm.mute = map[ptp.MessageType]bool{ptp.MessageFollowUp: true}
	cl := n.addNode("cl", clientConfig(2), []PortConfig{fastPort("cl0")}, &testPI{stepLimit: 20_000}, 2e6, 5_000)
	n.connect(gm, 0, cl, 0, 2000, 2000)
	n.start()
	n.run(30*sec, sec, nil)
	p := cl.clk.Port(0)
	assert.Equal(t, Uncalibrated, p.State(), "selected, but never calibrated")
	assert.Zero(t, cl.sim.steps)
	assert.Positive(t, p.Stats.FollowUpTimeout, "two-step Syncs left without a Follow_Up are counted")
	assert.Zero(t, cl.sim.freq-cl.sim.natural, "the frequency was never touched")
}

func TestHostileDelayRespForSomeoneElse(t *testing.T) {
	n, seg, gm, cl := lockedPair(t)
	_, before := cl.clk.Offset()
	p := cl.clk.Port(0)
	foreign := p.Stats.ForeignDelayResp
	for i := 0; i < 50; i++ {
		r := &ptp.DelayResp{RequestingPortIdentity: ptp.PortIdentity{ClockIdentity: cid(77), PortNumber: 1},
			ReceiveTimestamp: ptp.Timestamp{Seconds: 5}}
		r.VersionPTP, r.DomainNumber = 2, 24
		r.SourcePortIdentity = gm.clk.Port(0).Identity()
		r.SequenceID = uint16(i)
		n.inject(seg, n.now()+int64(i)*10*ms, encode(t, r))
	}
	n.run(n.now()+5*sec, sec, nil)
	_, after := cl.clk.Offset()
	assert.EqualValues(t, 50, p.Stats.ForeignDelayResp-foreign)
	assert.InDelta(t, before, after, 2, "path delay unaffected")
	assert.True(t, following(cl, gm))
}

func TestHostileSyncFromTheFuture(t *testing.T) {
	n, seg, gm, cl := lockedPair(t)
	p := cl.clk.Port(0)
	steps := cl.sim.steps
	// A one-step Sync that claims the parent's identity and the next
	// sequenceId, stamped 1000 s ahead.
	s := &ptp.Sync{}
	s.VersionPTP, s.DomainNumber = 2, 24
	s.SourcePortIdentity = gm.clk.Port(0).Identity()
	s.SequenceID = gm.clk.Port(0).seqSync
	s.OriginTimestamp = ptp.TimestampFromNanoseconds(gm.sim.local(n.now()) + 1000*sec)
	n.inject(seg, n.now()+ms, encode(t, s))
	var worst float64
	n.run(n.now()+10*sec, 10*ms, func() { worst = math.Max(worst, math.Abs(trueError(cl, gm, n.now()))) })
	assert.Equal(t, steps, cl.sim.steps, "no step")
	assert.EqualValues(t, 1, p.Stats.Spikes, "the forged Sync was set aside")
	assert.Less(t, worst, 100.0, "true error stayed small, ns")
	assert.True(t, following(cl, gm))
}

func TestMalformedAndForeignDomainCounted(t *testing.T) {
	n, seg, gm, cl := lockedPair(t)
	n.inject(seg, n.now()+ms, []byte{0x00, 0x02, 0xff})
	other := &ptp.Announce{}
	other.VersionPTP, other.DomainNumber = 2, 0
	other.SourcePortIdentity = ptp.PortIdentity{ClockIdentity: cid(99), PortNumber: 1}
	n.inject(seg, n.now()+2*ms, encode(t, other))
	n.run(n.now()+sec, sec, nil)
	assert.EqualValues(t, 1, cl.clk.Stats.Malformed)
	assert.EqualValues(t, 1, cl.clk.Stats.WrongDomain)
	assert.True(t, following(cl, gm))
}

// TestCheckFupSync: a Follow_Up that arrives before its Sync is used
// normally; with check_fup_sync it is used only when the receive times say
// the Sync came first, and otherwise the pair is rejected.
func TestCheckFupSync(t *testing.T) {
	for _, check := range []bool{false, true} {
		n := newNetwork(t)
		seg := &segment{}
		gm := n.addNode("gm", gmConfig(1), []PortConfig{fastPort("gm0")}, &testPI{stepLimit: 20_000}, 0, 0)
		pc := fastPort("cl0")
		pc.CheckFupSync = check
		cl := n.addNode("cl", clientConfig(2), []PortConfig{pc}, &testPI{stepLimit: 20_000}, 0, 0)
		n.attach(seg, gm, 0, 2000, 2000)
		n.attach(seg, cl, 0, 2000, 2000)
		n.start()
		n.run(30*sec, sec, nil)
		require.True(t, following(cl, gm))
		// From now on the grandmaster's own Syncs stay home; we send a
		// Follow_Up first and its Sync 1 ms later.
		gm.mute = map[ptp.MessageType]bool{ptp.MessageSync: true, ptp.MessageFollowUp: true}
		p := cl.clk.Port(0)
		before := p.Stats.Rejected
		src := gm.clk.Port(0).Identity()
		seq := gm.clk.Port(0).seqSync + 100
		f := &ptp.FollowUp{PreciseOriginTimestamp: ptp.TimestampFromNanoseconds(gm.sim.local(n.now()))}
		f.VersionPTP, f.DomainNumber, f.SourcePortIdentity, f.SequenceID = 2, 24, src, seq
		s := &ptp.Sync{}
		s.VersionPTP, s.DomainNumber, s.SourcePortIdentity, s.SequenceID = 2, 24, src, seq
		s.Flags = ptp.FlagTwoStep
		n.inject(seg, n.now()+ms, encode(t, f))
		n.inject(seg, n.now()+2*ms, encode(t, s))
		n.run(n.now()+10*ms, ms, nil)
		if check {
			assert.Equal(t, before+1, p.Stats.Rejected, "check_fup_sync: the Sync came after its Follow_Up")
		} else {
			assert.Equal(t, before, p.Stats.Rejected, "without it the pair is used")
		}
	}
}
