package ucload

import (
	"errors"
	"fmt"
	"time"

	"github.com/roko-network/roko-ptpd/ptp"
)

// Config is one load.
type Config struct {
	// Clients is how many clients run (N).
	Clients int
	// Domain is the domainNumber of every message.
	Domain uint8
	// LogSyncInterval is the rate of Sync asked for and of Delay_Req sent
	// (and Delay_Resp asked for): 0 is 1 Hz, -4 is 16 Hz.
	LogSyncInterval int8
	// LogAnnounceInterval is the rate of Announce asked for.
	LogAnnounceInterval int8
	// Duration is the durationField of every request: grants are renewed
	// when half of it is left.
	Duration time.Duration
	// Ramp spreads the clients' first requests over this long, so that
	// they do not arrive as one burst.
	Ramp time.Duration
}

// Sender takes the messages the load sends; msg is the load's memory
// until the call returns.
type Sender interface {
	// General sends msg from client i to the master's general port.
	General(i int, msg []byte)
	// Event sends msg, client i's Delay_Req seq, to the master's event
	// port. The transmit timestamp, when there is one, goes to
	// Load.DelayReqStamped.
	Event(i int, seq uint16, msg []byte)
}

// Message types a client is granted, as indices.
const (
	grantAnnounce = iota
	grantSync
	grantDelayResp
	grantKinds
)

var grantTypes = [grantKinds]ptp.MessageType{ptp.MessageAnnounce, ptp.MessageSync, ptp.MessageDelayResp}

// ringLen is how many Delay_Req of a client wait for their answer: one
// not answered by the time its slot comes round again (ringLen periods)
// is lost.
const ringLen = 64

// Slot states of a Delay_Req.
const (
	slotFree     = iota
	slotWaiting  // sent outside the window: answered or not, not counted
	slotCounted  // sent in the window, not yet answered
	slotAnswered // answered
)

type dreqSlot struct {
	sent  int64 // CLOCK_REALTIME ns: the transmit timestamp, or the time it was handed to the Sender
	seq   uint16
	state uint8
}

// client is one emulated client.
type client struct {
	expires [grantKinds]int64 // monotonic ns; 0: not granted
	asked   int64             // monotonic ns of the last request; 0: never
	dreqSeq uint16
	ring    [ringLen]dreqSlot
	// syncSeq is the last Sync's sequenceId, valid when haveSync;
	// fupDue when its Follow_Up has not come.
	syncSeq  uint16
	haveSync bool
	fupDue   bool
	// fupSeq is the last Follow_Up's sequenceId, valid when haveFup: a
	// Follow_Up may be read before its Sync (they come on two sockets).
	fupSeq  uint16
	haveFup bool
	// synced: a Sync has come since the client started.
	synced bool
	// syncs counts the client's Syncs in the window.
	syncs uint32
}

// Counts are what the clients got. Those named in the window count only
// while Load.Measuring.
type Counts struct {
	Requests  uint64 // Signaling requests sent (first ones, retries and renewals)
	Granted   uint64 // grants received (one per TLV)
	Refused   uint64 // grants of durationField 0
	DelayReq  uint64 // Delay_Req sent in the window
	Answered  uint64 // of those, answered
	Lost      uint64 // of those, not answered (by the end, or ringLen periods)
	Answers   uint64 // Delay_Resp of any Delay_Req received in the window
	Unmatched uint64 // Delay_Resp that matched no waiting Delay_Req (late or foreign)
	Sync      uint64 // Syncs received in the window
	SyncLost  uint64 // Syncs short of the granted rate over the window (see Finish)
	FollowUp  uint64 // Follow_Ups received in the window
	FupLost   uint64 // Syncs in the window whose Follow_Up never came
	Announce  uint64 // Announces received in the window
	NoGrant   uint64 // Delay_Req not sent in the window: no Delay_Resp grant
	Skipped   uint64 // Delay_Req not sent in the window: the load fell a period behind
	Malformed uint64 // messages that did not decode
	// MaxLag is how late the load sent a Delay_Req at worst, in the window.
	MaxLag time.Duration
}

// Load is the clients' protocol state: negotiation, renewal, Delay_Req at
// the rate, and counting. It does no I/O and reads no clock: every
// method takes the monotonic time (ns) that drives it, and the caller's
// Sender sends. It is not safe for concurrent use.
type Load struct {
	cfg     Config
	clients []client
	ids     []ptp.PortIdentity

	period    int64  // Delay_Req period, ns
	durationS uint32 // durationField asked for, s
	start     int64  // first request of the ramp
	ramped    int    // clients asked by the ramp so far
	nextScan  int64
	// Delay_Req schedule: send number m is client m%N's in round m/N, at
	// dreqStart + (m/N)·period + (m%N)·period/N.
	dreqOn    bool
	dreqStart int64
	dreqNext  int64

	measuring bool
	// Counts is what the clients got so far.
	Counts Counts
	// Latency is the answer latency of the window's Delay_Req: the
	// Delay_Resp's receive time less the Delay_Req's transmit time.
	Latency Histogram

	sig   ptp.Signaling
	req   ptp.RequestUnicastTransmission
	grant ptp.GrantUnicastTransmission
	dreq  ptp.DelayReq
	dresp ptp.DelayResp
	hdr   ptp.Header
	out   []byte
}

// scanEvery is how often every client's grants are looked at for renewal
// and retry.
const scanEvery = int64(50 * time.Millisecond)

// retryAfter is how long a client waits for its grants before asking
// again.
const retryAfter = int64(time.Second)

// New returns the load of cfg; Start begins it.
func New(cfg Config) (*Load, error) {
	switch {
	case cfg.Clients < 1:
		return nil, errors.New("ucload: no clients")
	case cfg.LogSyncInterval < -7 || cfg.LogSyncInterval > 4:
		return nil, fmt.Errorf("ucload: logSyncInterval %d out of -7..4", cfg.LogSyncInterval)
	case cfg.LogAnnounceInterval < -3 || cfg.LogAnnounceInterval > 4:
		return nil, fmt.Errorf("ucload: logAnnounceInterval %d out of -3..4", cfg.LogAnnounceInterval)
	case cfg.Duration < 4*time.Second || cfg.Duration > 1<<20*time.Second:
		return nil, fmt.Errorf("ucload: grant duration %v out of 4 s..12 days", cfg.Duration)
	}
	l := &Load{
		cfg: cfg, clients: make([]client, cfg.Clients), ids: make([]ptp.PortIdentity, cfg.Clients),
		period: logPeriod(cfg.LogSyncInterval), durationS: uint32(cfg.Duration / time.Second),
		out: make([]byte, 0, 128),
	}
	for i := range l.ids {
		l.ids[i] = ClientIdentity(i)
	}
	return l, nil
}

// ClientIdentity is the portIdentity of client i: clockIdentity
// 52:4B:4C:44:00:xx:xx:xx (RKLD and the number), port 1.
func ClientIdentity(i int) ptp.PortIdentity {
	return ptp.PortIdentity{ClockIdentity: ptp.ClockIdentity{'R', 'K', 'L', 'D', 0, byte(i >> 16), byte(i >> 8), byte(i)}, PortNumber: 1}
}

func logPeriod(l int8) int64 {
	if l >= 0 {
		return int64(time.Second) << l
	}
	return int64(time.Second) >> -l
}

// Start begins the ramp of first requests at now.
func (l *Load) Start(now int64) {
	l.start, l.nextScan = now, now+scanEvery
}

// StartDelayReq starts the clients' Delay_Req at now (they go only to
// clients granted Delay_Resp).
func (l *Load) StartDelayReq(now int64) {
	l.dreqOn, l.dreqStart, l.dreqNext = true, now, 0
}

// SetMeasuring opens (true) or closes the measurement window.
func (l *Load) SetMeasuring(on bool) { l.measuring = on }

// Step sends what is due at now (monotonic ns); real is CLOCK_REALTIME
// at now, the send time of a Delay_Req until its transmit timestamp says
// better.
func (l *Load) Step(now, real int64, s Sender) {
	n := len(l.clients)
	// The ramp: client i asks at start + i·Ramp/N.
	for l.ramped < n && l.start+int64(l.cfg.Ramp)*int64(l.ramped)/int64(n) <= now {
		l.request(l.ramped, now, s)
		l.ramped++
	}
	if now >= l.nextScan {
		l.nextScan = now + scanEvery
		l.scan(now, s)
	}
	if !l.dreqOn {
		return
	}
	for {
		m := l.dreqNext
		due := l.dreqDue(m)
		if due > now {
			break
		}
		l.dreqNext++
		i := int(m % int64(n))
		c := &l.clients[i]
		if c.expires[grantDelayResp] <= now {
			if l.measuring {
				l.Counts.NoGrant++
			}
			continue
		}
		lag := now - due
		if lag > l.period {
			if l.measuring {
				l.Counts.Skipped++
			}
			continue
		}
		if l.measuring {
			l.Counts.MaxLag = max(l.Counts.MaxLag, time.Duration(lag))
		}
		l.sendDelayReq(i, real, s)
	}
}

func (l *Load) dreqDue(m int64) int64 {
	n := int64(len(l.clients))
	return l.dreqStart + m/n*l.period + m%n*l.period/n
}

// NextDue is when Step next has something to do, after now.
func (l *Load) NextDue(now int64) int64 {
	next := l.nextScan
	if n := len(l.clients); l.ramped < n {
		next = min(next, l.start+int64(l.cfg.Ramp)*int64(l.ramped)/int64(n))
	}
	if l.dreqOn {
		next = min(next, l.dreqDue(l.dreqNext))
	}
	return max(next, now)
}

// scan renews grants with less than half their duration left and asks
// again for grants a client has waited retryAfter for.
func (l *Load) scan(now int64, s Sender) {
	for i := range l.ramped {
		c := &l.clients[i]
		if now-c.asked < retryAfter {
			continue
		}
		renew := false
		for _, e := range c.expires {
			if e-now < int64(l.durationS)*int64(time.Second)/2 {
				renew = true
			}
		}
		if renew {
			l.request(i, now, s)
		}
	}
}

// request asks for client i's Announce, Sync and Delay_Resp in one
// Signaling message.
func (l *Load) request(i int, now int64, s Sender) {
	c := &l.clients[i]
	c.asked = now
	sg := &l.sig
	sg.Header = ptp.Header{
		VersionPTP: ptp.VersionPTP2, MinorVersionPTP: ptp.MinorVersion2019, DomainNumber: l.cfg.Domain,
		Flags: ptp.FlagUnicast, SourcePortIdentity: l.ids[i], SequenceID: uint16(l.Counts.Requests),
		ControlField: ptp.ControlFieldFor(ptp.MessageSignaling), LogMessageInterval: ptp.LogIntervalUnspecified,
	}
	sg.TargetPortIdentity = ptp.PortIdentity{
		ClockIdentity: ptp.ClockIdentity{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, PortNumber: 0xffff}
	sg.TLVs.Reset()
	for k, t := range grantTypes {
		l.req = ptp.RequestUnicastTransmission{MessageType: t, LogInterMessagePeriod: l.cfg.LogSyncInterval, DurationField: l.durationS}
		if k == grantAnnounce {
			l.req.LogInterMessagePeriod = l.cfg.LogAnnounceInterval
		}
		_ = sg.TLVs.Add(&l.req)
	}
	var err error
	if l.out, err = sg.AppendBinary(l.out[:0]); err != nil {
		panic(err) // a fixed message: cannot fail
	}
	l.Counts.Requests++
	s.General(i, l.out)
}

func (l *Load) sendDelayReq(i int, real int64, s Sender) {
	c := &l.clients[i]
	seq := c.dreqSeq
	c.dreqSeq++
	slot := &c.ring[seq%ringLen]
	if slot.state == slotCounted {
		l.Counts.Lost++ // ringLen periods without an answer
	}
	*slot = dreqSlot{sent: real, seq: seq, state: slotWaiting}
	if l.measuring {
		slot.state = slotCounted
		l.Counts.DelayReq++
	}
	d := &l.dreq
	d.Header = ptp.Header{
		VersionPTP: ptp.VersionPTP2, MinorVersionPTP: ptp.MinorVersion2019, DomainNumber: l.cfg.Domain,
		Flags: ptp.FlagUnicast, SourcePortIdentity: l.ids[i], SequenceID: seq,
		ControlField: ptp.ControlFieldFor(ptp.MessageDelayReq), LogMessageInterval: ptp.LogIntervalUnspecified,
	}
	var err error
	if l.out, err = d.AppendBinary(l.out[:0]); err != nil {
		panic(err)
	}
	s.Event(i, seq, l.out)
}

// DelayReqStamped gives client i's Delay_Req seq its transmit timestamp
// (CLOCK_REALTIME ns).
func (l *Load) DelayReqStamped(i int, seq uint16, ts int64) {
	if i < 0 || i >= len(l.clients) {
		return
	}
	slot := &l.clients[i].ring[seq%ringLen]
	if slot.seq == seq && (slot.state == slotWaiting || slot.state == slotCounted) {
		slot.sent = ts
	}
}

// Receive handles msg, received for client i at now (monotonic ns); rx is
// its receive timestamp (CLOCK_REALTIME ns).
func (l *Load) Receive(i int, msg []byte, rx, now int64) {
	if i < 0 || i >= len(l.clients) {
		return
	}
	if err := l.hdr.UnmarshalBinary(msg); err != nil {
		l.Counts.Malformed++
		return
	}
	c := &l.clients[i]
	switch l.hdr.MessageType {
	case ptp.MessageSignaling:
		l.receiveSignaling(c, msg, now)
	case ptp.MessageDelayResp:
		l.receiveDelayResp(i, c, msg, rx)
	case ptp.MessageSync:
		c.synced = true
		if !l.measuring {
			c.haveSync, c.fupDue = false, false
			return
		}
		// Sequence gaps do not count losses: ptp4l 3.1 numbers the Syncs
		// of all its unicast clients from one counter.
		seq := l.hdr.SequenceID
		if c.fupDue {
			l.Counts.FupLost++
		}
		twoStep := l.hdr.Flags&ptp.FlagTwoStep != 0
		c.syncSeq, c.haveSync = seq, true
		c.fupDue = twoStep && !(c.haveFup && c.fupSeq == seq)
		c.syncs++
		l.Counts.Sync++
	case ptp.MessageFollowUp:
		c.fupSeq, c.haveFup = l.hdr.SequenceID, true
		if !l.measuring {
			return
		}
		l.Counts.FollowUp++
		if c.haveSync && c.syncSeq == l.hdr.SequenceID {
			c.fupDue = false
		}
	case ptp.MessageAnnounce:
		if l.measuring {
			l.Counts.Announce++
		}
	}
}

func (l *Load) receiveSignaling(c *client, msg []byte, now int64) {
	if err := l.sig.UnmarshalBinary(msg); err != nil {
		l.Counts.Malformed++
		return
	}
	for tlv := range l.sig.TLVs.All() {
		if tlv.Type != ptp.TLVGrantUnicastTransmission {
			continue
		}
		if l.grant.UnmarshalValue(tlv.Value) != nil {
			l.Counts.Malformed++
			continue
		}
		k := -1
		for j, t := range grantTypes {
			if t == l.grant.MessageType {
				k = j
			}
		}
		if k < 0 {
			continue
		}
		if l.grant.DurationField == 0 {
			l.Counts.Refused++
			c.expires[k] = 0
			continue
		}
		l.Counts.Granted++
		c.expires[k] = now + int64(l.grant.DurationField)*int64(time.Second)
	}
}

func (l *Load) receiveDelayResp(i int, c *client, msg []byte, rx int64) {
	if err := l.dresp.UnmarshalBinary(msg); err != nil {
		l.Counts.Malformed++
		return
	}
	if l.measuring {
		l.Counts.Answers++
	}
	seq := l.dresp.SequenceID
	slot := &c.ring[seq%ringLen]
	if l.dresp.RequestingPortIdentity != l.ids[i] || slot.seq != seq ||
		(slot.state != slotWaiting && slot.state != slotCounted) {
		l.Counts.Unmatched++
		return
	}
	if slot.state == slotCounted {
		l.Counts.Answered++
		l.Latency.Add(rx - slot.sent)
	}
	slot.state = slotAnswered
}

// Finish counts every window's Delay_Req still unanswered as lost, and
// the Syncs a client had fewer of than whole Sync periods in window; call
// it once, a grace period after the window closed.
func (l *Load) Finish(window time.Duration) {
	want := uint32(int64(window) / l.period)
	for i := range l.clients {
		if c := &l.clients[i]; c.syncs < want {
			l.Counts.SyncLost += uint64(want - c.syncs)
		}
		for j := range l.clients[i].ring {
			if s := &l.clients[i].ring[j]; s.state == slotCounted {
				l.Counts.Lost++
				s.state = slotFree
			}
		}
	}
}

// Held is how many clients hold all three grants at now.
func (l *Load) Held(now int64) int {
	n, _ := l.held(now)
	return n
}

// Ready is how many clients hold all three grants at now and have had a
// Sync: the grandmaster serves them (a grandmaster grants before it is
// MASTER, and sends nothing until it is).
func (l *Load) Ready(now int64) int {
	_, n := l.held(now)
	return n
}

func (l *Load) held(now int64) (held, ready int) {
	for i := range l.clients {
		c := &l.clients[i]
		all := true
		for _, e := range c.expires {
			all = all && e > now
		}
		if all {
			held++
			if c.synced {
				ready++
			}
		}
	}
	return held, ready
}
