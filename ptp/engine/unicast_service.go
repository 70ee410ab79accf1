package engine

import (
	"net/netip"

	"github.com/roko-network/roko-ptpd/ptp"
)

// The server side of unicast negotiation (IEEE 1588-2019 16.1,
// unicast_listen): a port grants clients that ask Announce and Sync at the
// rate they ask for as long as they ask for, answers their Delay_Req by
// unicast, and forgets them when their grants expire or they cancel.
//
// As in linuxptp, Announce and Sync grants are kept per client address;
// Delay_Resp (and Pdelay_Resp) grants are given but not kept, since a
// Delay_Req is answered whoever sends it. Grants are served in rounds, one
// per logInterMessagePeriod in use: every client granted that period gets
// its message in the same round, so the engine wakes once per round, not
// once per client.

// maxLogPeriod bounds logInterMessagePeriod: linuxptp refuses a request
// beyond ±30 (2^30 s is 34 years).
const maxLogPeriod = 30

// maxUnicastClients bounds the clients a port serves: a request from a
// new address beyond it is refused, so that a flood of requests from
// forged addresses cannot grow the table without end (linuxptp has no
// bound). It is far above what one port serves at 16 Hz.
var maxUnicastClients = 1 << 16

// ucStartDelay is how long after the first grant of a period its first
// round is (linuxptp's 10 ms).
const ucStartDelay = 10_000_000

// ucSlice bounds the clients one Tick serves. A round of thousands of
// clients is served in slices, one a Tick, with the deadline left due
// until the round is done: between two slices the event loop reads its
// sockets, so Delay_Req wait for one slice, not for the whole round, and
// the transmit timestamps of one slice's Syncs, which share the event
// socket's receive buffer with those Delay_Req, are read back before the
// next slice is sent. A variable so that tests can make it small.
var ucSlice int32 = 256

// ucSlot is one granted message type of one client.
type ucSlot struct {
	period  int8   // logInterMessagePeriod granted
	expires int64  // monotonic ns; 0: no grant
	seq     uint16 // sequenceId of the next message to this client
}

func (s *ucSlot) active() bool { return s.expires != 0 }

// ucClient is one client of the service, by address.
type ucClient struct {
	addr Addr
	id   ptp.PortIdentity
	ann  ucSlot
	sync ucSlot
}

// ucPendingSync is a unicast Sync waiting for its transmit timestamp.
type ucPendingSync struct {
	to  Addr
	seq uint16
}

// unicastService is a port's unicast service.
type unicastService struct {
	clients []ucClient
	index   map[Addr]int32
	// rounds holds the time of the next round of each period, indexed by
	// period+maxLogPeriod; 0 is none.
	rounds [2*maxLogPeriod + 1]int64
	// pending are the unicast Syncs sent and not yet stamped, in the
	// order they were sent (the order their timestamps come back in).
	pending     []ucPendingSync
	pendingHead int

	// The round being served, while inRound: the periods it serves
	// (roundDue), those some client holds (roundUsed), the next client
	// to serve, and when the round began.
	inRound   bool
	roundDue  [2*maxLogPeriod + 1]bool
	roundUsed [2*maxLogPeriod + 1]bool
	next      int32
	roundAt   int64

	// fastestResp is the shortest logInterMessagePeriod of the Delay_Resp
	// and Pdelay_Resp grants given so far (maxLogPeriod+1: none). It never
	// slows down again: it bounds how long answers may wait
	// (FastestRequestPeriod), and a stale fast value only shortens that.
	fastestResp int8

	// Stats counts what the service did.
	Stats UnicastServiceStats
}

// UnicastServiceStats counts the work of a port's unicast service.
type UnicastServiceStats struct {
	Granted  uint64 // REQUEST_UNICAST_TRANSMISSION granted
	Denied   uint64 // refused (durationField 0)
	Canceled uint64 // grants the client canceled
	Expired  uint64 // grants that ran out
	// Unstamped counts unicast Syncs whose transmit timestamp never
	// came: their clients got no Follow_Up for them.
	Unstamped uint64
}

func newUnicastService() *unicastService {
	return &unicastService{index: map[Addr]int32{}, fastestResp: maxLogPeriod + 1}
}

// unicastPeer is the address to reply to: the sender's IP without its
// source port (the transport sends to the event or general port as the
// message needs), or its MAC.
func unicastPeer(a Addr) Addr {
	if a.IP.IsValid() {
		return Addr{IP: netip.AddrPortFrom(a.IP.Addr(), 0)}
	}
	return Addr{MAC: a.MAC}
}

// UnicastClients returns how many clients hold an Announce or Sync grant.
func (p *Port) UnicastClients() int {
	if p.uc == nil {
		return 0
	}
	return len(p.uc.clients)
}

// FastestRequestPeriod returns the shortest interval, as a log2 of
// seconds, at which the clock's peers may send it requests to answer
// (Delay_Req, Pdelay_Req): the ports' logMinDelayReqInterval (with a
// multicast service) or logMinPdelayReqInterval (P2P), and the unicast
// Delay_Resp and Pdelay_Resp grants. An answer that waits less than this
// reaches its peer before the peer's next request. ok is false when the
// clock answers no requests.
func (c *Clock) FastestRequestPeriod() (period int8, ok bool) {
	period = maxLogPeriod + 1
	for _, p := range c.ports {
		switch {
		case p.cfg.DelayMechanism == ptp.DelayMechanismP2P, p.cfg.DelayMechanism == ptp.DelayMechanismCommonP2P:
			period = min(period, p.cfg.LogMinPdelayReqInterval)
		case p.cfg.DelayMechanism == ptp.DelayMechanismE2E && !(p.cfg.UnicastListen && p.cfg.InhibitMulticastService):
			period = min(period, p.cfg.LogMinDelayReqInterval)
		}
		if p.uc != nil {
			period = min(period, p.uc.fastestResp)
		}
	}
	return period, period <= maxLogPeriod
}

// UnicastServiceStats returns the counters of the port's unicast service.
func (p *Port) UnicastServiceStats() UnicastServiceStats {
	if p.uc == nil {
		return UnicastServiceStats{}
	}
	return p.uc.Stats
}

func (s *unicastService) deadline() int64 {
	if s.inRound {
		return s.roundAt // the rest of the round is due at once
	}
	var d int64
	for _, t := range s.rounds {
		if t != 0 && (d == 0 || t < d) {
			d = t
		}
	}
	return d
}

// grant records a request from a client at from for message type t and
// returns the durationField to grant (0 refuses).
func (s *unicastService) grant(from Addr, src ptp.PortIdentity, r *ptp.RequestUnicastTransmission, now int64) uint32 {
	switch r.MessageType {
	case ptp.MessageAnnounce, ptp.MessageSync:
	case ptp.MessageDelayResp, ptp.MessagePdelayResp:
		if r.DurationField != 0 {
			s.fastestResp = min(s.fastestResp, max(r.LogInterMessagePeriod, -maxLogPeriod))
		}
		return r.DurationField
	default:
		return 0
	}
	if r.LogInterMessagePeriod > maxLogPeriod || r.LogInterMessagePeriod < -maxLogPeriod {
		return 0
	}
	i, ok := s.index[from]
	if !ok {
		if len(s.clients) >= maxUnicastClients {
			return 0
		}
		i = int32(len(s.clients))
		s.clients = append(s.clients, ucClient{addr: from})
		s.index[from] = i
	}
	c := &s.clients[i]
	c.id = src
	slot := &c.ann
	if r.MessageType == ptp.MessageSync {
		slot = &c.sync
	}
	expires := now + int64(r.DurationField)*1e9
	if slot.active() && slot.period == r.LogInterMessagePeriod {
		slot.expires = max(slot.expires, expires)
	} else {
		slot.period, slot.expires = r.LogInterMessagePeriod, expires
	}
	if k := int(r.LogInterMessagePeriod) + maxLogPeriod; s.rounds[k] == 0 {
		s.rounds[k] = now + ucStartDelay
	}
	return r.DurationField
}

// cancel ends the grant of message type t to the client at from.
func (s *unicastService) cancel(from Addr, t ptp.MessageType) {
	i, ok := s.index[from]
	if !ok {
		return
	}
	c := &s.clients[i]
	switch t {
	case ptp.MessageAnnounce:
		if c.ann.active() {
			c.ann.expires = 0
			s.Stats.Canceled++
		}
	case ptp.MessageSync:
		if c.sync.active() {
			c.sync.expires = 0
			s.Stats.Canceled++
		}
	}
	if !c.ann.active() && !c.sync.active() {
		s.remove(i)
	}
}

// remove drops client i (the last client takes its place). During a
// round, the clients before next have been served and those from next on
// have not, and so it stays: a served client's place is taken by the last
// served one, whose place is then taken by the last client.
func (s *unicastService) remove(i int32) {
	delete(s.index, s.clients[i].addr)
	if s.inRound && i < s.next {
		s.next--
		if i != s.next {
			// The last served client fills the gap; placing a client
			// over itself would index the leaving address again.
			s.place(s.next, i)
		}
		i = s.next
	}
	last := int32(len(s.clients) - 1)
	if i != last {
		s.place(last, i)
	}
	s.clients[last] = ucClient{}
	s.clients = s.clients[:last]
}

// place copies client from over client to.
func (s *unicastService) place(from, to int32) {
	s.clients[to] = s.clients[from]
	s.index[s.clients[to].addr] = to
}

// expire ends slot if its grant has run out, and reports whether it is
// still granted.
func (s *unicastService) expire(slot *ucSlot, now int64) bool {
	if slot.active() && now >= slot.expires {
		slot.expires = 0
		s.Stats.Expired++
	}
	return slot.active()
}

// serveUnicast runs the rounds due at now: every client granted a due
// period gets its Announce or Sync, if the port is master, ucSlice
// clients a call. Expired grants go.
func (p *Port) serveUnicast(now int64) {
	s := p.uc
	if !s.inRound {
		anyDue := false
		for k, t := range s.rounds {
			s.roundDue[k] = t != 0 && t <= now
			anyDue = anyDue || s.roundDue[k]
		}
		if !anyDue {
			return
		}
		s.inRound, s.next, s.roundAt = true, 0, now
		s.roundUsed = [len(s.rounds)]bool{}
	}
	master := p.state.IsMaster()
	for served := int32(0); s.next < int32(len(s.clients)) && served < ucSlice; {
		c := &s.clients[s.next]
		ann, sync := s.expire(&c.ann, now), s.expire(&c.sync, now)
		if !ann && !sync {
			s.remove(s.next)
			continue
		}
		if ann {
			k := int(c.ann.period) + maxLogPeriod
			s.roundUsed[k] = true
			if s.roundDue[k] && master {
				p.sendUnicastAnnounce(c)
			}
		}
		if sync {
			k := int(c.sync.period) + maxLogPeriod
			s.roundUsed[k] = true
			if s.roundDue[k] && master {
				p.sendUnicastSync(c)
			}
		}
		s.next++
		served++
	}
	if s.next < int32(len(s.clients)) {
		return // the next slice at the next Tick
	}
	s.inRound = false
	for k := range s.rounds {
		switch {
		case !s.roundUsed[k]:
			s.rounds[k] = 0
		case s.roundDue[k]:
			iv := logInterval(int8(k - maxLogPeriod))
			s.rounds[k] += iv
			if s.rounds[k] <= now {
				s.rounds[k] = now + iv
			}
		}
	}
}

func (p *Port) sendUnicastAnnounce(c *ucClient) {
	p.fillAnnounce(c.ann.seq, ptp.FlagUnicast)
	if p.c.send(p, &p.announceB, DestUnicast, c.addr) {
		c.ann.seq++
	}
}

func (p *Port) sendUnicastSync(c *ucClient) {
	s := &p.syncB
	flags := ptp.FlagUnicast
	if p.c.cfg.TwoStep {
		flags |= ptp.FlagTwoStep
	}
	p.header(&s.Header, c.sync.seq, ptp.LogIntervalUnspecified, flags)
	s.ControlField = ptp.ControlFieldFor(ptp.MessageSync)
	s.OriginTimestamp = ptp.Timestamp{}
	if !p.c.send(p, s, DestUnicast, c.addr) {
		return
	}
	u := p.uc
	if u.pendingHead == len(u.pending) {
		u.pending, u.pendingHead = u.pending[:0], 0
	}
	u.pending = append(u.pending, ucPendingSync{to: c.addr, seq: c.sync.seq})
	c.sync.seq++
}

// unicastSyncStamped sends the Follow_Up of the unicast Sync seq, the
// oldest one waiting for its timestamp with that sequenceId (timestamps
// come back in the order the Syncs left; older ones never will).
func (p *Port) unicastSyncStamped(seq uint16, ts int64) {
	u := p.uc
	for u.pendingHead < len(u.pending) {
		e := u.pending[u.pendingHead]
		u.pendingHead++
		if e.seq != seq {
			continue
		}
		if !p.c.cfg.TwoStep || !p.state.IsMaster() {
			return
		}
		f := &p.fupB
		p.header(&f.Header, seq, p.logSyncInterval, ptp.FlagUnicast)
		f.ControlField = ptp.ControlFieldFor(ptp.MessageFollowUp)
		f.PreciseOriginTimestamp = ptp.TimestampFromNanoseconds(ts)
		f.TLVs.Reset()
		p.c.send(p, f, DestUnicast, e.to)
		return
	}
}

// unicastSyncLost forgets the unicast Sync seq whose transmit timestamp
// never came: its client gets no Follow_Up for it, and the others keep
// their service. Timestamps come back, or are given up, in the order the
// Syncs left, so it is the oldest one waiting.
func (p *Port) unicastSyncLost(seq uint16) {
	u := p.uc
	for u.pendingHead < len(u.pending) {
		e := u.pending[u.pendingHead]
		u.pendingHead++
		if e.seq == seq {
			u.Stats.Unstamped++
			return
		}
	}
}

// ucScratch holds the TLVs of a negotiation message while they are
// encoded: TLVs.Add takes an interface, and a value on the stack would
// escape to the heap on every request.
type ucScratch struct {
	req    ptp.RequestUnicastTransmission
	grant  ptp.GrantUnicastTransmission
	cancel ptp.CancelUnicastTransmission
	ack    ptp.AcknowledgeCancelUnicastTransmission
}

// wildcardPort is the targetPortIdentity that addresses every port.
var wildcardPort = ptp.PortIdentity{
	ClockIdentity: ptp.ClockIdentity{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, PortNumber: 0xffff}

// receiveUnicastSignaling handles the negotiation TLVs of a Signaling
// message from from: requests and cancels for the service, grants and
// cancels for the client. The service answers every request and cancel
// of one message in one Signaling message.
func (p *Port) receiveUnicastSignaling(m *ptp.Signaling, from Addr, now int64) {
	if p.uc == nil && p.ucc == nil {
		return
	}
	if m.TargetPortIdentity != p.id && m.TargetPortIdentity != wildcardPort {
		return
	}
	peer := unicastPeer(from)
	master := p.ucc.masterAt(peer)
	reply := &p.signalB
	reply.TLVs.Reset()
	for tlv := range m.TLVs.All() {
		switch tlv.Type {
		case ptp.TLVRequestUnicastTransmission:
			if p.uc == nil {
				continue
			}
			r, g := &p.ucTLV.req, &p.ucTLV.grant
			if r.UnmarshalValue(tlv.Value) != nil {
				continue
			}
			*g = ptp.GrantUnicastTransmission{MessageType: r.MessageType, LogInterMessagePeriod: r.LogInterMessagePeriod}
			g.DurationField = p.uc.grant(peer, m.SourcePortIdentity, r, now)
			if g.DurationField != 0 {
				g.Flags = ptp.GrantUnicastFlagRenewalInvited
				p.uc.Stats.Granted++
			} else {
				p.uc.Stats.Denied++
			}
			_ = reply.TLVs.Add(g)
		case ptp.TLVGrantUnicastTransmission:
			g := &p.ucTLV.grant
			switch {
			case g.UnmarshalValue(tlv.Value) != nil:
			case g.MessageType == ptp.MessagePdelayResp && p.ucc != nil && p.ucc.hasPeer && peer == p.ucc.peer:
				p.peerGranted(m.SourcePortIdentity, g, now)
			case master != nil:
				p.clientGranted(master, m.SourcePortIdentity, g, now)
			}
		case ptp.TLVCancelUnicastTransmission:
			c := &p.ucTLV.cancel
			if c.UnmarshalValue(tlv.Value) != nil {
				continue
			}
			switch {
			case master != nil:
				if !p.clientCanceled(master, c) {
					continue
				}
			case p.uc != nil:
				if c.Flags&ptp.CancelUnicastMaintainRequest == 0 {
					p.uc.cancel(peer, c.MessageType)
				}
			default:
				continue
			}
			p.ucTLV.ack = ptp.AcknowledgeCancelUnicastTransmission{MessageType: c.MessageType, Flags: c.Flags}
			_ = reply.TLVs.Add(&p.ucTLV.ack)
		}
	}
	if reply.TLVs.Len() > 0 {
		p.sendUnicastSignaling(reply, m.SourcePortIdentity, peer)
	}
}

// sendUnicastSignaling sends sg, whose TLVs are filled in, to the port
// target at to.
func (p *Port) sendUnicastSignaling(sg *ptp.Signaling, target ptp.PortIdentity, to Addr) {
	p.header(&sg.Header, p.seqSignaling, ptp.LogIntervalUnspecified, ptp.FlagUnicast)
	p.seqSignaling++
	sg.ControlField = ptp.ControlFieldFor(ptp.MessageSignaling)
	sg.TargetPortIdentity = target
	p.c.send(p, sg, DestUnicast, to)
}
