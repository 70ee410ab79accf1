package engine_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/bmca"
	"github.com/roko-network/roko-ptpd/internal/simnet"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/engine"
)

// lockedPair returns a grandmaster and a client on one segment, run until
// the client is SLAVE.
func lockedPair(t *testing.T) (*simnet.Network, *simnet.Segment, *simnet.Node, *simnet.Node) {
	n := newNetwork(t)
	seg := &simnet.Segment{}
	gm := n.AddNode("gm", engine.GMConfig(1), []engine.PortConfig{engine.FastPort("gm0")}, engine.NewTestPI(20_000), 0, 0)
	cl := n.AddNode("cl", engine.ClientConfig(2), []engine.PortConfig{engine.FastPort("cl0")}, engine.NewTestPI(20_000), 2e6, 5_000)
	n.Attach(seg, gm, 0, 2000, 2000)
	n.Attach(seg, cl, 0, 2000, 2000)
	n.Start()
	n.Run(30*sec, sec, nil)
	require.True(t, following(cl, gm))
	return n, seg, gm, cl
}

func encode(t testing.TB, p ptp.Packet) []byte {
	b, err := p.MarshalBinary()
	require.NoError(t, err)
	return b
}

func TestHostileAnnounceStorm(t *testing.T) {
	n, seg, gm, cl := lockedPair(t)
	steps := cl.Steps()
	start := n.Now()
	for i := 0; i < 1000; i++ {
		a := &ptp.Announce{GrandmasterPriority1: 0, GrandmasterPriority2: 0,
			GrandmasterClockQuality: ptp.ClockQuality{ClockClass: 0}}
		a.VersionPTP, a.DomainNumber = 2, 24
		a.SourcePortIdentity = ptp.PortIdentity{ClockIdentity: ptp.ClockIdentity{0xee, 0xee, byte(i >> 8), byte(i)}, PortNumber: 1}
		a.GrandmasterIdentity = a.SourcePortIdentity.ClockIdentity
		n.Inject(seg, start+int64(i)*ms, encode(t, a))
	}
	n.Run(start+20*sec, sec, nil)
	assert.LessOrEqual(t, cl.Clock.Port(0).ForeignMasters().Len(), bmca.DefaultMaxForeignMasters, "bounded memory")
	assert.Positive(t, cl.Clock.Port(0).ForeignMasters().Evicted)
	assert.True(t, following(cl, gm), "the real grandmaster keeps the client")
	assert.Equal(t, steps, cl.Steps(), "no step")
}

func TestHostileMissingFollowUp(t *testing.T) {
	n := newNetwork(t)
	gm := n.AddNode("gm", engine.GMConfig(1), []engine.PortConfig{engine.FastPort("gm0")}, engine.NewTestPI(20_000), 0, 0)
	gm.Mute = map[ptp.MessageType]bool{ptp.MessageFollowUp: true}
	cl := n.AddNode("cl", engine.ClientConfig(2), []engine.PortConfig{engine.FastPort("cl0")}, engine.NewTestPI(20_000), 2e6, 5_000)
	n.Connect(gm, 0, cl, 0, 2000, 2000)
	n.Start()
	n.Run(30*sec, sec, nil)
	p := cl.Clock.Port(0)
	assert.Equal(t, engine.Uncalibrated, p.State(), "selected, but never calibrated")
	assert.Zero(t, cl.Steps())
	assert.Positive(t, p.Stats.FollowUpTimeout, "two-step Syncs left without a Follow_Up are counted")
	assert.Zero(t, cl.FrequencyAdjustment(), "the frequency was never touched")
}

func TestHostileDelayRespForSomeoneElse(t *testing.T) {
	n, seg, gm, cl := lockedPair(t)
	_, before := cl.Clock.Offset()
	p := cl.Clock.Port(0)
	foreign := p.Stats.ForeignDelayResp
	for i := 0; i < 50; i++ {
		r := &ptp.DelayResp{RequestingPortIdentity: ptp.PortIdentity{ClockIdentity: engine.CID(77), PortNumber: 1},
			ReceiveTimestamp: ptp.Timestamp{Seconds: 5}}
		r.VersionPTP, r.DomainNumber = 2, 24
		r.SourcePortIdentity = gm.Clock.Port(0).Identity()
		r.SequenceID = uint16(i)
		n.Inject(seg, n.Now()+int64(i)*10*ms, encode(t, r))
	}
	n.Run(n.Now()+5*sec, sec, nil)
	_, after := cl.Clock.Offset()
	assert.EqualValues(t, 50, p.Stats.ForeignDelayResp-foreign)
	assert.InDelta(t, before, after, 2, "path delay unaffected")
	assert.True(t, following(cl, gm))
}

func TestHostileSyncFromTheFuture(t *testing.T) {
	n, seg, gm, cl := lockedPair(t)
	p := cl.Clock.Port(0)
	steps := cl.Steps()
	// A one-step Sync that claims the parent's identity and the next
	// sequenceId, stamped 1000 s ahead.
	s := &ptp.Sync{}
	s.VersionPTP, s.DomainNumber = 2, 24
	s.SourcePortIdentity = gm.Clock.Port(0).Identity()
	s.SequenceID = gm.Clock.Port(0).SeqSync()
	s.OriginTimestamp = ptp.TimestampFromNanoseconds(gm.Local(n.Now()) + 1000*sec)
	n.Inject(seg, n.Now()+ms, encode(t, s))
	var worst float64
	n.Run(n.Now()+10*sec, 10*ms, func() { worst = math.Max(worst, math.Abs(simnet.TrueError(cl, gm, n.Now()))) })
	assert.Equal(t, steps, cl.Steps(), "no step")
	assert.EqualValues(t, 1, p.Stats.Spikes, "the forged Sync was set aside")
	assert.Less(t, worst, 100.0, "true error stayed small, ns")
	assert.True(t, following(cl, gm))
}

func TestMalformedAndForeignDomainCounted(t *testing.T) {
	n, seg, gm, cl := lockedPair(t)
	n.Inject(seg, n.Now()+ms, []byte{0x00, 0x02, 0xff})
	other := &ptp.Announce{}
	other.VersionPTP, other.DomainNumber = 2, 0
	other.SourcePortIdentity = ptp.PortIdentity{ClockIdentity: engine.CID(99), PortNumber: 1}
	n.Inject(seg, n.Now()+2*ms, encode(t, other))
	n.Run(n.Now()+sec, sec, nil)
	assert.EqualValues(t, 1, cl.Clock.Stats.Malformed)
	assert.EqualValues(t, 1, cl.Clock.Stats.WrongDomain)
	assert.True(t, following(cl, gm))
}

// TestCheckFupSync: a Follow_Up that arrives before its Sync is used
// normally; with check_fup_sync it is used only when the receive times say
// the Sync came first, and otherwise the pair is rejected.
func TestCheckFupSync(t *testing.T) {
	for _, check := range []bool{false, true} {
		n := newNetwork(t)
		seg := &simnet.Segment{}
		gm := n.AddNode("gm", engine.GMConfig(1), []engine.PortConfig{engine.FastPort("gm0")}, engine.NewTestPI(20_000), 0, 0)
		pc := engine.FastPort("cl0")
		pc.CheckFupSync = check
		cl := n.AddNode("cl", engine.ClientConfig(2), []engine.PortConfig{pc}, engine.NewTestPI(20_000), 0, 0)
		n.Attach(seg, gm, 0, 2000, 2000)
		n.Attach(seg, cl, 0, 2000, 2000)
		n.Start()
		n.Run(30*sec, sec, nil)
		require.True(t, following(cl, gm))
		// From now on the grandmaster's own Syncs stay home; we send a
		// Follow_Up first and its Sync 1 ms later.
		gm.Mute = map[ptp.MessageType]bool{ptp.MessageSync: true, ptp.MessageFollowUp: true}
		p := cl.Clock.Port(0)
		before := p.Stats.Rejected
		src := gm.Clock.Port(0).Identity()
		seq := gm.Clock.Port(0).SeqSync() + 100
		f := &ptp.FollowUp{PreciseOriginTimestamp: ptp.TimestampFromNanoseconds(gm.Local(n.Now()))}
		f.VersionPTP, f.DomainNumber, f.SourcePortIdentity, f.SequenceID = 2, 24, src, seq
		s := &ptp.Sync{}
		s.VersionPTP, s.DomainNumber, s.SourcePortIdentity, s.SequenceID = 2, 24, src, seq
		s.Flags = ptp.FlagTwoStep
		n.Inject(seg, n.Now()+ms, encode(t, f))
		n.Inject(seg, n.Now()+2*ms, encode(t, s))
		n.Run(n.Now()+10*ms, ms, nil)
		if check {
			assert.Equal(t, before+1, p.Stats.Rejected, "check_fup_sync: the Sync came after its Follow_Up")
		} else {
			assert.Equal(t, before, p.Stats.Rejected, "without it the pair is used")
		}
	}
}
