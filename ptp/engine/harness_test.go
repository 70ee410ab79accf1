package engine

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/vtime"
	"github.com/roko-network/roko-ptpd/ptp"
)

// A small deterministic network for exercising the engine: simulated
// clocks with an offset and a frequency error, links with a fixed delay per
// direction, and an event queue in true time (nanoseconds). The servo
// experiments of package servo use internal/sim; this harness only needs to
// be exact enough to check protocol behaviour. Each node's actions are
// carried out by the daemon's own Executor: the node is its Network (the
// segment), its Steering (the simulated clock) and its Reporter.

type simClock struct {
	offset  float64 // local − true, ns
	freq    float64 // total frequency error, ppb (natural error + adjustment)
	natural float64
	lastT   int64
	steps   int
}

func (c *simClock) advance(t int64) {
	c.offset += c.freq * float64(t-c.lastT) / 1e9
	c.lastT = t
}

func (c *simClock) local(t int64) int64 {
	c.advance(t)
	return t + int64(math.Round(c.offset))
}

type node struct {
	name  string
	net   *network
	clk   *Clock
	x     *Executor
	sim   *simClock
	ports []*member                // by port index
	down  bool                     // silent: sends nothing
	mute  map[ptp.MessageType]bool // message types it never gets out
	logs  []LogRecord
	tai   []int16 // the TAI offsets it asked the kernel for
}

// member attaches one port of a node to a segment. up is the delay from the
// node to the segment, down from the segment to the node: a path from a to b
// takes a.up + b.down, so up ≠ down models an asymmetric link.
type member struct {
	nd       *node
	port     int
	up, down int64
	seg      *segment
}

// segment is a shared medium, a bridge: what one member sends reaches
// every other member. lossEvery > 0 drops every lossEvery-th delivery;
// cut drops every one (a pulled cable; the nodes learn of it only if the
// test tells their clocks, as a link monitor would).
type segment struct {
	members   []*member
	lossEvery int
	cut       bool
	sent      int
}

type network struct {
	t     *testing.T
	q     vtime.Queue
	nodes []*node
	// timer bookkeeping: one scheduled wake-up per node at a time
	wake map[*node]int64
	// oneStepNIC stamps one-step Syncs on the way out, as hardware does.
	oneStepNIC bool
	// noise is the RMS of white noise on every timestamp, ns (0: exact).
	noise float64
	rng   *rand.Rand
}

// stamp reads nd's clock for a timestamp, with the network's noise.
func (n *network) stamp(nd *node) int64 {
	ts := nd.sim.local(n.now())
	if n.noise > 0 {
		ts += int64(math.Round(n.noise * n.rng.NormFloat64()))
	}
	return ts
}

func newNetwork(t *testing.T) *network {
	return &network{t: t, wake: map[*node]int64{}, rng: rand.New(rand.NewPCG(1588, 2019))}
}

// now is the true time, ns.
func (n *network) now() int64 { return n.q.Now() }

func (n *network) at(when int64, f func()) { n.q.At(when, f) }

func (n *network) addNode(name string, cfg ClockConfig, ports []PortConfig, servo Servo, offset, freq float64) *node {
	c, err := NewClock(cfg, ports, servo, uint64(len(n.nodes)+1))
	require.NoError(n.t, err)
	nd := &node{name: name, net: n, clk: c, sim: &simClock{offset: offset, freq: freq, natural: freq}, ports: make([]*member, len(ports))}
	nd.x = &Executor{Engine: c, Net: nd, Steer: nd, Report: nd, Now: n.q.Now}
	n.nodes = append(n.nodes, nd)
	return nd
}

// connect joins port pa of a and port pb of b by a point-to-point segment
// with the given one-way delays.
func (n *network) connect(a *node, pa int, b *node, pb int, delayAB, delayBA int64) *segment {
	seg := &segment{}
	n.attach(seg, a, pa, delayAB, delayBA)
	n.attach(seg, b, pb, 0, 0)
	return seg
}

// attach puts port of nd on seg.
func (n *network) attach(seg *segment, nd *node, port int, up, down int64) {
	m := &member{nd: nd, port: port, up: up, down: down, seg: seg}
	seg.members = append(seg.members, m)
	nd.ports[port] = m
}

// Send implements Network: the message reaches every other member of the
// port's segment after the path's delay, and an event message's transmit
// timestamp comes back through the Executor once this batch is out, as a
// NIC's error queue would hand it over.
func (nd *node) Send(a *Action) (int64, bool, error) {
	if nd.down {
		return 0, false, nil
	}
	n := nd.net
	from := nd.ports[a.Port]
	msg := append([]byte(nil), a.Msg...)
	// A one-step NIC writes the transmit time into a Sync without
	// the twoStep flag as it leaves.
	if n.oneStepNIC && a.MessageType == ptp.MessageSync && len(msg) >= ptp.SyncLen && msg[6]&0x02 == 0 {
		ts := ptp.TimestampFromNanoseconds(nd.sim.local(n.now()))
		var s ptp.Sync
		if s.UnmarshalBinary(msg) == nil {
			s.OriginTimestamp = ts
			msg, _ = s.MarshalBinary()
		}
	}
	if nd.mute[a.MessageType] {
		msg = nil
	}
	for _, to := range from.seg.members {
		if to == from {
			continue
		}
		from.seg.sent++
		if msg == nil || from.seg.cut || from.seg.lossEvery > 0 && from.seg.sent%from.seg.lossEvery == 0 {
			continue
		}
		peer := to
		n.at(n.now()+from.up+to.down, func() { n.deliver(peer, msg, n.stamp(peer.nd)) })
	}
	if a.Event {
		ts := n.stamp(nd)
		mt, seq, port := a.MessageType, a.SequenceID, a.Port
		n.at(n.now(), func() {
			nd.x.TxTimestamp(port, mt, seq, ts)
			n.schedule(nd)
		})
	}
	return 0, false, nil
}

// AdjustFrequency implements Steering on the simulated clock.
func (nd *node) AdjustFrequency(ppb float64) error {
	nd.sim.advance(nd.net.now())
	nd.sim.freq = nd.sim.natural + ppb
	return nil
}

// Step implements Steering on the simulated clock.
func (nd *node) Step(ns int64) error {
	nd.sim.advance(nd.net.now())
	nd.sim.offset += float64(ns)
	nd.sim.steps++
	return nil
}

// SetTAIOffset implements Steering: the node remembers what it asked for.
func (nd *node) SetTAIOffset(offset int16) error {
	nd.tai = append(nd.tai, offset)
	return nil
}

// Record implements Reporter.
func (nd *node) Record(r LogRecord) { nd.logs = append(nd.logs, r) }

// Failed implements Reporter: nothing in the simulation fails.
func (nd *node) Failed(a *Action, err error) {
	nd.net.t.Errorf("%s: %v failed: %v", nd.name, a.Kind, err)
}

// deliver hands msg to the port of m at receive time rx.
func (n *network) deliver(m *member, msg []byte, rx int64) {
	m.nd.x.Receive(m.port, msg, rx, Addr{})
	n.schedule(m.nd)
}

func (n *network) schedule(nd *node) {
	d := nd.clk.Deadline()
	if d == 0 {
		return
	}
	if w, ok := n.wake[nd]; ok && w <= d && w >= n.now() {
		return
	}
	n.wake[nd] = d
	n.at(d, func() {
		if n.wake[nd] != d {
			return
		}
		delete(n.wake, nd)
		nd.x.Apply(nd.clk.Tick(n.now()))
		n.schedule(nd)
	})
}

func (n *network) start() {
	for _, nd := range n.nodes {
		nd.x.Start()
		n.schedule(nd)
	}
}

// run advances true time to until, calling probe (if any) every step ns,
// before the events of its time.
func (n *network) run(until int64, step int64, probe func()) {
	next := n.now() + step
	for at, ok := n.q.Next(); ok && at <= until; at, ok = n.q.Next() {
		for probe != nil && next <= at {
			n.q.Advance(next)
			probe()
			next += step
		}
		n.q.RunNext()
	}
	for probe != nil && next <= until {
		n.q.Advance(next)
		probe()
		next += step
	}
	n.q.Advance(until)
}

// trueError is the node's clock minus the grandmaster's, in ns.
func trueError(nd, gm *node, now int64) float64 {
	nd.sim.advance(now)
	gm.sim.advance(now)
	return nd.sim.offset - gm.sim.offset
}

// testPI is a plain PI servo in linuxptp's manner, enough to close the
// loop in engine tests: the first sample is held, the second estimates the
// frequency and steps if the offset is large, then proportional-integral.
type testPI struct {
	n         int
	interval  float64
	lastOff   int64
	lastT     int64
	drift     float64
	stepLimit int64
}

func (s *testPI) SetSyncInterval(seconds float64) { s.interval = seconds }
func (s *testPI) Reset()                          { s.n = 0; s.drift = 0 }
func (s *testPI) Sample(offset, t int64) (float64, ServoState) {
	s.n++
	switch s.n {
	case 1:
		s.lastOff, s.lastT = offset, t
		return s.drift, ServoUnlocked
	case 2:
		if dt := float64(t - s.lastT); dt > 0 {
			s.drift -= float64(offset-s.lastOff) / dt * 1e9
		}
		if offset > s.stepLimit || offset < -s.stepLimit {
			return s.drift, ServoJump
		}
	}
	iv := s.interval
	if iv == 0 {
		iv = 1
	}
	kp, ki := 0.7/iv, 0.3/iv
	s.drift -= ki * float64(offset)
	return s.drift - kp*float64(offset), ServoLocked
}

func cid(b byte) ptp.ClockIdentity { return ptp.ClockIdentity{0x02, 0, 0, 0xff, 0xfe, 0, 0, b} }

const ms = int64(1e6)
const sec = int64(1e9)

// inject delivers a forged message to every member of seg at true time at.
func (n *network) inject(seg *segment, at int64, msg []byte) {
	for _, m := range seg.members {
		peer := m
		n.at(at+m.down, func() { n.deliver(peer, msg, peer.nd.sim.local(n.now())) })
	}
}
