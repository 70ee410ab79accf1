package simnet

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/roko-network/roko-ptpd/internal/vtime"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/engine"
)

// simClock is a node's clock: an offset from true time and a frequency
// error, advanced lazily.
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

// Node is one simulated PTP clock: an engine.Clock, the Executor that
// carries out its actions, and the simulated clock it steers. The node is
// the Executor's Network (its segments), Steering (its clock) and
// Reporter.
type Node struct {
	// Name names the node in failure reports.
	Name string
	// Clock is the node's engine.
	Clock *engine.Clock
	// Exec carries out the engine's actions on the simulated network.
	Exec *engine.Executor
	// Down silences the node: while set it sends nothing.
	Down bool
	// Mute lists message types the node never gets out.
	Mute map[ptp.MessageType]bool
	// Logs are the log records the engine reported, in order.
	Logs []engine.LogRecord
	// TAI are the TAI offsets the node asked the kernel for, in order.
	TAI []int16
	// Residence delays every message the node forwards as a transparent
	// clock by this many ns plus up to ResidenceJitter more (uniform)
	// between its ingress and its egress timestamp: the time a bridge
	// holds a frame.
	Residence, ResidenceJitter int64

	net   *Network
	sim   *simClock
	ports []*member // by port index
}

// member attaches one port of a node to a segment. up is the delay from the
// node to the segment, down from the segment to the node: a path from a to b
// takes a.up + b.down, so up ≠ down models an asymmetric link.
type member struct {
	nd       *Node
	port     int
	up, down int64
	seg      *Segment
	// egress and ingress are the NIC's timestamp latencies (SetLatency).
	egress, ingress int64
	// addr is the member's address (SetAddr): unicast messages reach
	// only the member at their destination, and every message arrives
	// from its sender's address.
	addr engine.Addr
}

// Segment is a shared medium, a bridge: what one member sends reaches
// every other member. The zero Segment is empty and loses nothing.
type Segment struct {
	// LossEvery > 0 drops every LossEvery-th delivery on the segment.
	LossEvery int
	// Cut drops every delivery: a pulled cable. The nodes learn of it
	// only if the test tells their clocks, as a link monitor would.
	Cut bool

	members []*member
	sent    int
}

// Network is the simulated network: its nodes, the virtual time and the
// events scheduled on it. It is not safe for concurrent use.
type Network struct {
	// OneStepNIC stamps one-step Syncs on the way out, as hardware does.
	OneStepNIC bool
	// Noise is the RMS of white noise on every timestamp, ns (0: exact).
	Noise float64
	// Tap, when set, sees every message delivered: the node and port it
	// reaches, and the message (valid only during the call).
	Tap func(to *Node, port int, msg []byte)

	tb    testing.TB
	q     vtime.Queue
	nodes []*Node
	// timer bookkeeping: one scheduled wake-up per node at a time
	wake map[*Node]int64
	rng  *rand.Rand
}

// New returns an empty network at true time 0. tb receives failures:
// a clock that cannot be made and actions that fail. seed seeds the
// timestamp noise; the same seed gives the same run.
func New(tb testing.TB, seed uint64) *Network {
	return &Network{tb: tb, wake: map[*Node]int64{}, rng: rand.New(rand.NewPCG(seed, 2019))}
}

// stamp reads nd's clock for a timestamp, with the network's noise.
func (n *Network) stamp(nd *Node) int64 {
	ts := nd.sim.local(n.Now())
	if n.Noise > 0 {
		ts += int64(math.Round(n.Noise * n.rng.NormFloat64()))
	}
	return ts
}

// Now is the true time, ns.
func (n *Network) Now() int64 { return n.q.Now() }

// At schedules f at true time when (at Now if when has passed).
func (n *Network) At(when int64, f func()) { n.q.At(when, f) }

// AddNode adds a node running an engine.Clock made of cfg, ports and servo,
// whose clock starts offset ns off true time with a frequency error of freq
// ppb. Its ports are not attached to anything yet.
func (n *Network) AddNode(name string, cfg engine.ClockConfig, ports []engine.PortConfig, servo engine.Servo, offset, freq float64) *Node {
	c, err := engine.NewClock(cfg, ports, servo, uint64(len(n.nodes)+1))
	if err != nil {
		n.tb.Fatalf("%s: %v", name, err)
	}
	nd := &Node{Name: name, net: n, Clock: c, sim: &simClock{offset: offset, freq: freq, natural: freq}, ports: make([]*member, len(ports))}
	nd.Exec = &engine.Executor{Engine: c, Net: nd, Steer: nd, Report: nd, Now: n.q.Now}
	n.nodes = append(n.nodes, nd)
	return nd
}

// Connect joins port pa of a and port pb of b by a point-to-point segment
// with the given one-way delays, ns.
func (n *Network) Connect(a *Node, pa int, b *Node, pb int, delayAB, delayBA int64) *Segment {
	seg := &Segment{}
	n.Attach(seg, a, pa, delayAB, delayBA)
	n.Attach(seg, b, pb, 0, 0)
	return seg
}

// Attach puts port of nd on seg: up is the delay from the node to the
// segment, down from the segment to the node, ns.
func (n *Network) Attach(seg *Segment, nd *Node, port int, up, down int64) {
	m := &member{nd: nd, port: port, up: up, down: down, seg: seg}
	seg.members = append(seg.members, m)
	nd.ports[port] = m
}

// SetLatency makes the NIC of nd's port stamp a message it sends egress
// ns before the message crosses the port's reference plane (the wire),
// and one it receives ingress ns after it crossed it: the latencies that
// linuxptp's egressLatency and ingressLatency describe. Zero (the
// default) is a NIC that stamps at the wire.
func (n *Network) SetLatency(nd *Node, port int, egress, ingress int64) {
	nd.ports[port].egress, nd.ports[port].ingress = egress, ingress
}

// SetAddr gives port of nd an address (an IP address, its UDP port 319
// as a socket would report it, or a MAC): messages it sends arrive from
// there, and a unicast message reaches only the member whose address it
// names. Without one a port is the zero Addr and hears only multicast.
func (n *Network) SetAddr(nd *Node, port int, a engine.Addr) { nd.ports[port].addr = a }

// at reports whether the member is at the unicast destination to.
func (m *member) at(to engine.Addr) bool {
	if to.IP.IsValid() {
		return m.addr.IP.Addr() == to.IP.Addr()
	}
	return m.addr.MAC == to.MAC && to.MAC != [6]byte{}
}

// Send implements engine.Network: the message reaches every other member
// of the port's segment after the path's delay, and an event message's
// transmit timestamp comes back through the Executor once this batch is
// out, as a NIC's error queue would hand it over.
func (nd *Node) Send(a *engine.Action) (int64, bool, error) {
	if nd.Down {
		return 0, false, nil
	}
	n := nd.net
	from := nd.ports[a.Port]
	msg := append([]byte(nil), a.Msg...)
	// A one-step NIC writes the transmit time into a Sync without
	// the twoStep flag as it leaves.
	if n.OneStepNIC && a.MessageType == ptp.MessageSync && len(msg) >= ptp.SyncLen && msg[6]&0x02 == 0 {
		ts := ptp.TimestampFromNanoseconds(nd.sim.local(n.Now()))
		var s ptp.Sync
		if s.UnmarshalBinary(msg) == nil {
			s.OriginTimestamp = ts
			msg, _ = s.MarshalBinary()
		}
	}
	if nd.Mute[a.MessageType] {
		msg = nil
	}
	// A forwarded message leaves after the node's residence time; its
	// transmit timestamp is taken then.
	dep := n.Now()
	if a.Forwarded && nd.Residence > 0 {
		dep += nd.Residence
		if nd.ResidenceJitter > 0 {
			dep += n.rng.Int64N(nd.ResidenceJitter + 1)
		}
	}
	for _, to := range from.seg.members {
		if to == from || a.Dest == engine.DestUnicast && !to.at(a.To) {
			continue
		}
		from.seg.sent++
		if msg == nil || from.seg.Cut || from.seg.LossEvery > 0 && from.seg.sent%from.seg.LossEvery == 0 {
			continue
		}
		peer, src := to, from.addr
		n.At(dep+from.egress+from.up+to.down, func() { n.deliver(peer, msg, n.stamp(peer.nd)+peer.ingress, src) })
	}
	if a.Event {
		mt, seq, port, fwd := a.MessageType, a.SequenceID, a.Port, a.Forwarded
		n.At(dep, func() {
			ts := n.stamp(nd)
			if fwd {
				nd.Exec.ForwardedTxTimestamp(port, mt, seq, ts)
			} else {
				nd.Exec.TxTimestamp(port, mt, seq, ts)
			}
			n.schedule(nd)
		})
	}
	return 0, false, nil
}

// AdjustFrequency implements engine.Steering on the simulated clock.
func (nd *Node) AdjustFrequency(ppb float64) error {
	nd.sim.advance(nd.net.Now())
	nd.sim.freq = nd.sim.natural + ppb
	return nil
}

// Step implements engine.Steering on the simulated clock.
func (nd *Node) Step(ns int64) error {
	nd.sim.advance(nd.net.Now())
	nd.sim.offset += float64(ns)
	nd.sim.steps++
	return nil
}

// SetTAIOffset implements engine.Steering: the node remembers what it
// asked for in TAI.
func (nd *Node) SetTAIOffset(offset int16) error {
	nd.TAI = append(nd.TAI, offset)
	return nil
}

// Record implements engine.Reporter: the record goes to Logs.
func (nd *Node) Record(r engine.LogRecord) { nd.Logs = append(nd.Logs, r) }

// Failed implements engine.Reporter: nothing in the simulation fails, so
// a failure is the test's.
func (nd *Node) Failed(a *engine.Action, err error) {
	nd.net.tb.Errorf("%s: %v failed: %v", nd.Name, a.Kind, err)
}

// Steps is how many times the engine stepped the node's clock.
func (nd *Node) Steps() int { return nd.sim.steps }

// FrequencyAdjustment is the frequency offset the engine set on the
// node's clock, ppb (0 if it never touched it).
func (nd *Node) FrequencyAdjustment() float64 { return nd.sim.freq - nd.sim.natural }

// Local is the node's clock at true time t, ns.
func (nd *Node) Local(t int64) int64 { return nd.sim.local(t) }

// deliver hands msg to the port of m at receive time rx.
func (n *Network) deliver(m *member, msg []byte, rx int64, from engine.Addr) {
	if n.Tap != nil {
		n.Tap(m.nd, m.port, msg)
	}
	m.nd.Exec.Receive(m.port, msg, rx, from)
	n.schedule(m.nd)
}

func (n *Network) schedule(nd *Node) {
	d := nd.Clock.Deadline()
	if d == 0 {
		return
	}
	if w, ok := n.wake[nd]; ok && w <= d && w >= n.Now() {
		return
	}
	n.wake[nd] = d
	n.At(d, func() {
		if n.wake[nd] != d {
			return
		}
		delete(n.wake, nd)
		nd.Exec.Apply(nd.Clock.Tick(n.Now()))
		n.schedule(nd)
	})
}

// Apply carries out actions a test obtained from nd's clock directly (for
// example from LinkChanged), and sets the node's next timer.
func (n *Network) Apply(nd *Node, acts []engine.Action) {
	nd.Exec.Apply(acts)
	n.schedule(nd)
}

// Start starts every node's ports.
func (n *Network) Start() {
	for _, nd := range n.nodes {
		nd.Exec.Start()
		n.schedule(nd)
	}
}

// Run advances true time to until, calling probe (if any) every step ns,
// before the events of its time.
func (n *Network) Run(until int64, step int64, probe func()) {
	next := n.Now() + step
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

// Inject delivers a forged message to every member of seg at true time at,
// after the member's down delay, stamped exactly by its clock.
func (n *Network) Inject(seg *Segment, at int64, msg []byte) {
	for _, m := range seg.members {
		peer := m
		n.At(at+m.down, func() { n.deliver(peer, msg, peer.nd.sim.local(n.Now()), engine.Addr{}) })
	}
}

// TrueError is nd's clock minus ref's at true time now, ns.
func TrueError(nd, ref *Node, now int64) float64 {
	nd.sim.advance(now)
	ref.sim.advance(now)
	return nd.sim.offset - ref.sim.offset
}
