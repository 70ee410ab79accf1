package engine

import (
	"math"
	"slices"

	"github.com/roko-network/roko-ptpd/bmca"
	"github.com/roko-network/roko-ptpd/ptp"
)

// Port is one PTP port of a Clock: its state machine, foreign masters,
// timers and the message exchanges of its state.
type Port struct {
	c       *Clock
	idx     int
	cfg     PortConfig
	id      ptp.PortIdentity
	state   State
	machine *Machine
	fm      bmca.ForeignMasters
	// The Sync and Pdelay_Req intervals now in use: the configured ones,
	// or what an interval request (msg_interval_request) changed them to.
	logSyncInterval      int8
	logPdelayReqInterval int8
	// requestedOper: this port asked its master for operLogSyncInterval.
	requestedOper bool
	signalB       ptp.Signaling
	seqSignaling  uint16
	// dsNP is PORT_DATA_SET_NP: neighborPropDelayThresh and asCapable, as
	// management sets them.
	dsNP ptp.PortDataSetNP
	// syncInterval is the master's logSyncInterval the servo was last told
	// of; haveSyncInterval is false until then.
	syncInterval     int8
	haveSyncInterval bool

	erbest    *bmca.Dataset
	erbestDS  bmca.Dataset
	erbestAnn *ptp.Announce

	timers [numTimers]int64 // monotonic deadlines; 0 is off

	// linkDown: the driver reported the interface's link down
	// (LinkChanged). A port believes its link up until told otherwise,
	// as ptp4l does.
	linkDown bool

	seqAnnounce, seqSync, seqDelayReq, seqPdelayReq uint16
	logMinDelayReqInterval                          int8

	// Slave side.
	syncSeq    SequenceTracker
	sync       pendingSync     // a two-step Sync waiting for its Follow_Up
	fup        pendingFollowUp // a Follow_Up that came before its Sync
	last       lastSync        // the latest complete Sync, for the E2E delay
	delayReq   pendingDelayReq
	delay      DelayFilter
	delayValid bool
	pathDelay  int64
	lastReq    lastDelayReq // the latest complete Delay_Req, for pairing
	spikes     int          // consecutive offsets beyond SpikeLimit

	// Peer delay.
	pdelay       pendingPdelay
	peerDelay    int64
	peerValid    bool
	nrr          float64
	nrrT3, nrrT4 int64

	// Master side.
	syncTx    pendingTx // a two-step Sync waiting for its transmit timestamp
	pdelayTx  pendingPdelayResp
	announceB ptp.Announce
	syncB     ptp.Sync
	fupB      ptp.FollowUp
	dreqB     ptp.DelayReq
	drespB    ptp.DelayResp
	preqB     ptp.PdelayReq
	prespB    ptp.PdelayResp
	pfupB     ptp.PdelayRespFollowUp

	// uc is the unicast service (unicast_listen), ucc the unicast
	// client (unicast_master_table); nil when not configured.
	uc    *unicastService
	ucc   *unicastClient
	ucTLV ucScratch
	// annFrom is, with HybridE2E, where each foreign master's latest
	// Announce came from: the Delay_Req go to the parent's.
	annFrom []senderAddr

	Stats PortStats
}

// PortStats counts a port's messages by type, and what it refused.
type PortStats struct {
	Rx, Tx [16]uint64 // by messageType, as PORT_STATS_NP reports them
	// SyncMismatch counts Follow_Up and Sync that did not pair up.
	SyncMismatch uint64
	// FollowUpTimeout counts two-step Syncs whose Follow_Up never came.
	FollowUpTimeout uint64
	// ForeignDelayResp counts Delay_Resp messages answering someone else.
	ForeignDelayResp uint64
	// NotFromParent counts Sync, Follow_Up and Delay_Resp from a master the
	// port does not follow.
	NotFromParent uint64
	// AnnounceTimeouts counts announce receipt timeouts.
	AnnounceTimeouts uint64
	// Rejected counts Sync measurements with an impossible timestamp.
	Rejected uint64
	// Spikes counts offsets set aside by the spike guard
	// (ClockConfig.SpikeLimit).
	Spikes uint64
	// IntervalRequests counts message interval requests honoured.
	IntervalRequests uint64
}

const (
	timerAnnounceRx = iota
	timerAnnounceTx
	timerSyncTx
	timerDelayReq
	timerPdelayReq
	timerQualification
	timerFaultReset
	numTimers
)

type pendingSync struct {
	valid bool
	seq   uint16
	src   ptp.PortIdentity
	t2    int64
	corr  int64
}

type pendingFollowUp struct {
	valid bool
	seq   uint16
	src   ptp.PortIdentity
	t1    int64
	corr  int64
	rx    int64 // when it arrived (check_fup_sync)
}

// lastDelayReq is the slave-to-master half of the latest E2E exchange.
type lastDelayReq struct {
	valid bool
	t3    int64 // Delay_Req transmission: local
	delay int64 // t4 − c4 − t3: the slave-to-master delay, less the offset
}

type lastSync struct {
	valid bool
	t1c   int64 // t1 + corrections
	t2    int64
}

// senderAddr is the address a foreign master's Announce came from.
type senderAddr struct {
	id   ptp.PortIdentity
	addr Addr
}

type pendingDelayReq struct {
	sent, stamped bool
	seq           uint16
	t3            int64
}

type pendingPdelay struct {
	sent, stamped, resp, oneStep bool
	seq                          uint16
	t1, t2, t4, c                int64
	src                          ptp.PortIdentity
}

type pendingTx struct {
	waiting bool
	seq     uint16
}

type pendingPdelayResp struct {
	waiting   bool
	seq       uint16
	requester ptp.PortIdentity
	corr      ptp.TimeInterval
	to        Addr
	unicast   bool // the request came by unicast: so do the answers
}

func newPort(c *Clock, idx int, cfg PortConfig) (*Port, error) {
	f, err := NewPathDelayFilter(cfg)
	if err != nil {
		return nil, err
	}
	id := ptp.PortIdentity{ClockIdentity: c.cfg.ClockIdentity, PortNumber: uint16(idx + 1)}
	p := &Port{c: c, idx: idx, cfg: cfg, id: id, state: Initializing, delay: f, nrr: 1,
		logMinDelayReqInterval: cfg.LogMinDelayReqInterval,
		logSyncInterval:        cfg.LogSyncInterval, logPdelayReqInterval: cfg.LogMinPdelayReqInterval}
	p.fm = bmca.ForeignMasters{Receiver: id, LocalPriority: cfg.LocalPriority}
	if cfg.UnicastListen {
		p.uc = newUnicastService()
	}
	if len(cfg.UnicastMasters) > 0 {
		p.ucc = newUnicastClient(&cfg)
	}
	switch {
	case cfg.NoopBMCA && cfg.MasterOnly:
		p.machine = DesignatedMaster
	case cfg.NoopBMCA:
		p.machine = DesignatedSlave
	case c.cfg.SlaveOnly:
		p.machine = SlaveOnly
	default:
		p.machine = Standard
	}
	return p, nil
}

// Identity returns the port's identity.
func (p *Port) Identity() ptp.PortIdentity { return p.id }

// State returns the port's state.
func (p *Port) State() State { return p.state }

// PeerMeanPathDelay returns the peer delay (P2P), or 0 before the first
// measurement.
func (p *Port) PeerMeanPathDelay() int64 { return p.peerDelay }

// ForeignMasters returns the port's foreign master table.
func (p *Port) ForeignMasters() *bmca.ForeignMasters { return &p.fm }

// logInterval converts a log2-seconds interval to nanoseconds, with the
// exponent clamped to what fits (2^-30 s to 2^30 s).
func logInterval(l int8) int64 {
	switch {
	case l < -30:
		l = -30
	case l > 30:
		l = 30
	}
	if l >= 0 {
		return int64(1e9) << l
	}
	return int64(1e9) >> -l
}

func (p *Port) logRecord(kind LogKind, level LogLevel) LogRecord {
	return LogRecord{Kind: kind, Level: level, Port: p.idx, PortNumber: p.id.PortNumber, PortName: p.cfg.Name}
}

// dispatch feeds an event to the state machine and, when the state
// changes, logs it and sets the new state's timers.
func (p *Port) dispatch(e Event, masterChanged bool, now int64) {
	next := p.machine.Next(p.state, e, masterChanged)
	if next == Initializing {
		// Initialisation completes at once: there is nothing to wait for.
		// ptp4l takes both steps in one and logs one line, from the state
		// the port left ("FAULTY to LISTENING on INIT_COMPLETE"), and
		// SUBSCRIBE_EVENTS_NP subscribers get one notification.
		next = p.machine.Next(Initializing, EventInitComplete, false)
		e = EventInitComplete
	}
	if next == p.state {
		return
	}
	p.transition(next, e, now)
}

func (p *Port) transition(next State, e Event, now int64) {
	r := p.logRecord(LogStateChange, LevelNotice)
	r.From, r.To, r.Event = p.state, next, e
	p.c.log(r)
	prev := p.state
	p.state = next
	if p.ucc != nil && p.ucc.next == 0 {
		p.ucc.next = max(now, 1) // 0 is "not started"
	}
	p.timers = [numTimers]int64{}
	p.sync.valid, p.fup.valid, p.delayReq = false, false, pendingDelayReq{}
	p.syncTx, p.pdelayTx = pendingTx{}, pendingPdelayResp{}
	switch next {
	case Listening, Passive:
		p.setAnnounceRxTimer(now)
	case Uncalibrated, Slave:
		p.setAnnounceRxTimer(now)
		if p.cfg.DelayMechanism == ptp.DelayMechanismE2E && !(p.c.tc != nil && p.c.cfg.FreeRunning) {
			p.setDelayReqTimer(now)
		}
		if prev != Uncalibrated && prev != Slave {
			p.resetMeasurement()
		}
	case PreMaster:
		steps := int64(p.c.stepsRemoved) + 1
		p.timers[timerQualification] = now + steps*logInterval(p.cfg.LogAnnounceInterval)
	case Master, GrandMaster:
		if p.c.tc != nil {
			break // a transparent clock's master port sends nothing of its own
		}
		p.timers[timerAnnounceTx] = now
		p.timers[timerSyncTx] = now
	case Faulty:
		if p.cfg.FaultResetInterval == FaultResetASAP {
			p.timers[timerFaultReset] = now
		} else {
			p.timers[timerFaultReset] = now + logInterval(p.cfg.FaultResetInterval)
		}
		p.fm.Clear()
	case Disabled:
		p.fm.Clear()
	}
	if p.cfg.DelayMechanism == ptp.DelayMechanismP2P && next != Faulty && next != Disabled && next != Initializing {
		p.timers[timerPdelayReq] = now
	}
}

// resetMeasurement forgets the timestamps and delays of the previous
// master.
func (p *Port) resetMeasurement() {
	p.sync.valid, p.fup.valid, p.last.valid = false, false, false
	p.delayReq = pendingDelayReq{}
	p.delay.Reset()
	p.delayValid, p.pathDelay, p.lastReq = false, 0, lastDelayReq{}
	p.syncSeq.Reset()
}

// afterStep drops timestamps taken before a clock step: they would pair
// with ones taken after it into nonsense.
func (p *Port) afterStep() {
	p.sync.valid, p.fup.valid, p.last.valid = false, false, false
	p.delayReq = pendingDelayReq{}
	p.lastReq = lastDelayReq{}
	p.pdelay = pendingPdelay{}
}

func (p *Port) setAnnounceRxTimer(now int64) {
	iv := logInterval(p.cfg.LogAnnounceInterval)
	// announceReceiptTimeout intervals, plus up to one more at random so
	// that clocks that started together do not time out together.
	p.timers[timerAnnounceRx] = now + int64(p.cfg.AnnounceReceiptTimeout)*iv + p.c.rng.Int64N(iv)
}

func (p *Port) setDelayReqTimer(now int64) {
	// IEEE 1588-2019 9.5.11.2: uniformly random in [0, 2^(logMinDelayReqInterval+1)].
	p.timers[timerDelayReq] = now + p.c.rng.Int64N(2*logInterval(p.logMinDelayReqInterval)+1)
}

func (p *Port) deadline() int64 {
	var d int64
	for _, t := range p.timers {
		if t != 0 && (d == 0 || t < d) {
			d = t
		}
	}
	if p.uc != nil {
		if t := p.uc.deadline(); t != 0 && (d == 0 || t < d) {
			d = t
		}
	}
	if p.ucc != nil && p.ucc.next != 0 && (d == 0 || p.ucc.next < d) {
		d = p.ucc.next
	}
	return d
}

func (p *Port) due(t int, now int64) bool {
	if p.timers[t] != 0 && p.timers[t] <= now {
		p.timers[t] = 0
		return true
	}
	return false
}

func (p *Port) tick(now int64) {
	// The fault timer clears a fault only while the link is up; one that
	// expires while it is down is spent, and the port waits for the link
	// (LinkChanged), as in ptp4l's clock_poll.
	if p.due(timerFaultReset, now) && !p.linkDown {
		p.dispatch(EventFaultCleared, false, now)
	}
	if p.due(timerQualification, now) {
		p.dispatch(EventQualificationTimeoutExpires, false, now)
	}
	if p.due(timerAnnounceRx, now) {
		p.Stats.AnnounceTimeouts++
		if p.c.bestPort == p.idx {
			// The master went silent: it must qualify again before it
			// can be chosen.
			p.fm.Forget(p.c.parent.ParentPortIdentity)
		}
		p.dispatch(EventAnnounceReceiptTimeoutExpires, false, now)
		if p.state == Listening || p.state == Passive || p.state.IsSlave() {
			p.setAnnounceRxTimer(now)
		}
		p.c.stateDecision(now)
	}
	// inhibit_multicast_service: a unicast server keeps its timers and
	// sends nothing to the multicast group.
	inhibit := p.uc != nil && p.cfg.InhibitMulticastService
	if p.due(timerAnnounceTx, now) && p.state.IsMaster() {
		if !inhibit {
			p.sendAnnounce()
		}
		p.timers[timerAnnounceTx] = now + logInterval(p.cfg.LogAnnounceInterval)
	}
	if p.due(timerSyncTx, now) && p.state.IsMaster() {
		if !inhibit {
			p.sendSync()
		}
		p.timers[timerSyncTx] = now + logInterval(p.logSyncInterval)
	}
	if p.uc != nil {
		p.serveUnicast(now)
	}
	if p.ucc != nil && p.ucc.next != 0 && now >= p.ucc.next {
		p.queryMasters(now)
	}
	if p.due(timerDelayReq, now) && p.state.IsSlave() {
		p.sendDelayReq()
		p.setDelayReqTimer(now)
	}
	if p.due(timerPdelayReq, now) {
		p.sendPdelayReq()
		p.timers[timerPdelayReq] = now + logInterval(p.logPdelayReqInterval)
	}
}

// header fills the common header fields of a message this port sends.
func (p *Port) header(h *ptp.Header, seq uint16, interval int8, flags ptp.Flags) {
	*h = ptp.Header{
		MajorSdoID:         p.c.cfg.MajorSdoID,
		MinorVersionPTP:    p.c.cfg.MinorVersionPTP,
		VersionPTP:         ptp.VersionPTP2,
		DomainNumber:       p.c.cfg.DomainNumber,
		Flags:              flags,
		SourcePortIdentity: p.id,
		SequenceID:         seq,
		LogMessageInterval: interval,
	}
}

func (p *Port) sendAnnounce() {
	p.fillAnnounce(p.seqAnnounce, 0)
	if p.c.send(p, &p.announceB, DestPrimary, Addr{}) {
		p.seqAnnounce++
	}
}

// fillAnnounce fills the port's Announce with sequenceId seq and the
// header flags flags besides the time properties.
func (p *Port) fillAnnounce(seq uint16, flags ptp.Flags) {
	a := &p.announceB
	c := p.c
	p.header(&a.Header, seq, p.cfg.LogAnnounceInterval, ptp.Flags(c.timeProps.Flags)|flags)
	a.ControlField = ptp.ControlFieldFor(ptp.MessageAnnounce)
	a.CurrentUTCOffset = c.timeProps.CurrentUTCOffset
	a.GrandmasterPriority1 = c.parent.GrandmasterPriority1
	a.GrandmasterClockQuality = c.parent.GrandmasterClockQuality
	a.GrandmasterPriority2 = c.parent.GrandmasterPriority2
	a.GrandmasterIdentity = c.parent.GrandmasterIdentity
	a.StepsRemoved = c.stepsRemoved
	a.TimeSource = c.timeProps.TimeSource
	a.TLVs.Reset()
}

func (p *Port) sendSync() {
	s := &p.syncB
	var flags ptp.Flags
	if p.c.cfg.TwoStep {
		flags = ptp.FlagTwoStep
	}
	p.header(&s.Header, p.seqSync, p.logSyncInterval, flags)
	s.ControlField = ptp.ControlFieldFor(ptp.MessageSync)
	s.OriginTimestamp = ptp.Timestamp{}
	if p.c.send(p, s, DestPrimary, Addr{}) {
		p.syncTx = pendingTx{waiting: true, seq: p.seqSync}
		p.seqSync++
	}
}

func (p *Port) sendDelayReq() {
	d := &p.dreqB
	// A unicast client, and a port in hybrid mode (hybrid_e2e), asks the
	// master it follows by unicast.
	dest, flags := DestPrimary, ptp.Flags(0)
	to, unicast := p.parentAddr()
	if unicast {
		dest, flags = DestUnicast, ptp.FlagUnicast
	}
	p.header(&d.Header, p.seqDelayReq, ptp.LogIntervalUnspecified, flags)
	d.ControlField = ptp.ControlFieldFor(ptp.MessageDelayReq)
	// The slave-to-master direction is delayAsymmetry shorter than the mean
	// (IEEE 1588-2019 11.6.3): the master echoes this back in Delay_Resp.
	d.CorrectionField = ptp.TimeIntervalFromNanoseconds(-p.cfg.DelayAsymmetry)
	d.OriginTimestamp = ptp.Timestamp{}
	if p.c.send(p, d, dest, to) {
		p.delayReq = pendingDelayReq{sent: true, seq: p.seqDelayReq}
		p.seqDelayReq++
	}
}

func (p *Port) sendPdelayReq() {
	d := &p.preqB
	// A unicast client with a peer_address asks that peer by unicast.
	dest, to, flags := DestPeer, Addr{}, ptp.Flags(0)
	if p.ucc != nil && p.ucc.hasPeer {
		dest, to, flags = DestUnicast, p.ucc.peer, ptp.FlagUnicast
	}
	p.header(&d.Header, p.seqPdelayReq, ptp.LogIntervalUnspecified, flags)
	d.ControlField = ptp.ControlFieldFor(ptp.MessagePdelayReq)
	d.OriginTimestamp = ptp.Timestamp{}
	if p.c.send(p, d, dest, to) {
		p.pdelay = pendingPdelay{sent: true, seq: p.seqPdelayReq}
		p.seqPdelayReq++
	}
}

// txTimestamp takes the transmit timestamp of an event message, moved
// to the reference plane by egressLatency.
func (p *Port) txTimestamp(t ptp.MessageType, seq uint16, ts int64, now int64) {
	if ts != 0 {
		ts += p.cfg.EgressLatency
	}
	switch t {
	case ptp.MessageSync:
		if !p.syncTx.waiting || p.syncTx.seq != seq || !p.state.IsMaster() {
			if p.uc != nil {
				p.unicastSyncStamped(seq, ts)
			}
			return
		}
		p.syncTx.waiting = false
		if !p.c.cfg.TwoStep {
			return
		}
		f := &p.fupB
		p.header(&f.Header, seq, p.logSyncInterval, 0)
		f.ControlField = ptp.ControlFieldFor(ptp.MessageFollowUp)
		f.PreciseOriginTimestamp = ptp.TimestampFromNanoseconds(ts)
		f.TLVs.Reset()
		p.c.send(p, f, DestPrimary, Addr{})
	case ptp.MessageDelayReq:
		if p.delayReq.sent && p.delayReq.seq == seq {
			p.delayReq.stamped, p.delayReq.t3 = true, ts
		}
	case ptp.MessagePdelayReq:
		if p.pdelay.sent && p.pdelay.seq == seq {
			p.pdelay.stamped, p.pdelay.t1 = true, ts
			p.completePdelay()
		}
	case ptp.MessagePdelayResp:
		if !p.pdelayTx.waiting || p.pdelayTx.seq != seq {
			return
		}
		p.pdelayTx.waiting = false
		f := &p.pfupB
		dest, flags := DestPeer, ptp.Flags(0)
		if p.pdelayTx.unicast {
			dest, flags = DestUnicast, ptp.FlagUnicast
		}
		p.header(&f.Header, seq, ptp.LogIntervalUnspecified, flags)
		f.ControlField = ptp.ControlFieldFor(ptp.MessagePdelayRespFollowUp)
		f.CorrectionField = p.pdelayTx.corr
		f.ResponseOriginTimestamp = ptp.TimestampFromNanoseconds(ts)
		f.RequestingPortIdentity = p.pdelayTx.requester
		p.c.send(p, f, dest, p.pdelayTx.to)
	}
}

// receive takes a message with its receive timestamp (0 when it has
// none), moved to the reference plane by ingressLatency.
func (p *Port) receive(pk ptp.Packet, rx int64, from Addr, now int64) {
	if rx != 0 {
		rx -= p.cfg.IngressLatency
	}
	p.Stats.Rx[pk.Type()&0xf]++
	if p.state == Initializing || p.state == Faulty || p.state == Disabled {
		return
	}
	switch m := pk.(type) {
	case *ptp.Announce:
		if p.acceptAnnounce(m, from) {
			p.receiveAnnounce(m, from, now)
		}
	case *ptp.Sync:
		p.receiveSync(m, rx, now)
	case *ptp.FollowUp:
		p.receiveFollowUp(m, rx, now)
	case *ptp.DelayReq:
		p.receiveDelayReq(m, rx, from)
	case *ptp.DelayResp:
		p.receiveDelayResp(m)
	case *ptp.PdelayReq:
		p.receivePdelayReq(m, rx, from)
	case *ptp.PdelayResp:
		p.receivePdelayResp(m, rx)
	case *ptp.PdelayRespFollowUp:
		p.receivePdelayRespFollowUp(m)
	case *ptp.Signaling:
		p.receiveSignaling(m)
		p.receiveUnicastSignaling(m, from, now)
	case *ptp.Management:
		p.receiveManagement(m)
	}
}

// receiveManagement answers network management (pmc -4/-6/-2) as ptp4l
// does, on the port's primary destination. SET and COMMAND are refused
// unless the configuration allows them over the network.
func (p *Port) receiveManagement(m *ptp.Management) {
	for _, r := range p.c.manage(m, Via{Port: p.idx, ReadOnly: !p.c.cfg.NetworkManagementSet}) {
		p.c.send(p, r, DestPrimary, Addr{})
	}
}

// The message interval request TLV of IEEE 802.1AS (10.6.4.3): an
// ORGANIZATION_EXTENSION with the 802.1 OUI and subtype 2, as linuxptp
// sends it for msg_interval_request.
var (
	ieee8021OUI          = [3]byte{0x00, 0x80, 0xc2}
	intervalReqSubtype   = [3]byte{0x00, 0x00, 0x02}
	intervalNoChange     = int8(127) // keep the interval
	intervalSetInitial   = int8(126) // go back to the configured interval
	intervalRequestValue = 12        // octets after type and length
)

// setInterval applies one field of an interval request.
func setInterval(current, requested, initial int8) int8 {
	switch requested {
	case intervalNoChange:
		return current
	case intervalSetInitial:
		return initial
	}
	return requested
}

// receiveSignaling honours a message interval request from a port this
// port is master to: the Sync and Pdelay_Req intervals change at once.
func (p *Port) receiveSignaling(m *ptp.Signaling) {
	for tlv := range m.TLVs.All() {
		v := tlv.Value
		if tlv.Type != ptp.TLVOrganizationExtension || len(v) < intervalRequestValue ||
			[3]byte(v[0:3]) != ieee8021OUI || [3]byte(v[3:6]) != intervalReqSubtype {
			continue
		}
		link, sync := int8(v[6]), int8(v[7])
		p.logSyncInterval = setInterval(p.logSyncInterval, sync, p.cfg.LogSyncInterval)
		p.logPdelayReqInterval = setInterval(p.logPdelayReqInterval, link, p.cfg.LogMinPdelayReqInterval)
		p.Stats.IntervalRequests++
	}
}

// sendIntervalRequest asks the master to send Syncs every 2^sync seconds
// (and leaves the other intervals as they are).
func (p *Port) sendIntervalRequest(sync int8) {
	sg := &p.signalB
	p.header(&sg.Header, p.seqSignaling, ptp.LogIntervalUnspecified, 0)
	p.seqSignaling++
	sg.ControlField = ptp.ControlFieldFor(ptp.MessageSignaling)
	sg.TargetPortIdentity = ptp.PortIdentity{ClockIdentity: ptp.ClockIdentity{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, PortNumber: 0xffff}
	sg.TLVs.Reset()
	v := make([]byte, 0, intervalRequestValue)
	v = append(v, ieee8021OUI[:]...)
	v = append(v, intervalReqSubtype[:]...)
	v = append(v, byte(intervalNoChange), byte(sync), byte(intervalNoChange), 0, 0, 0)
	_ = sg.TLVs.AddRaw(ptp.TLVOrganizationExtension, v)
	p.c.send(p, sg, DestPrimary, Addr{})
}

func (p *Port) receiveAnnounce(a *ptp.Announce, from Addr, now int64) {
	if a.StepsRemoved >= p.c.cfg.MaxStepsRemoved {
		p.c.Stats.StepsRemovedLimit++
		return
	}
	// A port that is not master refreshes its announce timer with the
	// Announce of its own best foreign master: for a SLAVE port that is the
	// parent, for a PASSIVE one the better master it defers to.
	fromBest := p.erbest != nil && a.SourcePortIdentity == p.erbest.Sender
	if fromBest && (p.state.IsSlave() || p.state == Passive) {
		p.setAnnounceRxTimer(now)
	}
	fromParent := p.c.bestPort == p.idx && a.SourcePortIdentity == p.c.parent.ParentPortIdentity
	if !p.fm.Known(a.SourcePortIdentity) {
		r := p.logRecord(LogNewForeignMaster, LevelNotice)
		r.Identity = a.SourcePortIdentity
		p.c.log(r)
	}
	changed := p.fm.Add(a, dur(now))
	if p.cfg.HybridE2E {
		p.noteAnnounceFrom(a.SourcePortIdentity, from)
	}
	if fromParent && changed {
		p.c.followAnnounce(a, false)
	}
	if changed {
		p.c.stateDecision(now)
	}
}

// noteAnnounceFrom records where sender's Announce came from, for as long
// as the foreign master table keeps sender (it bounds this list too). A
// message of no known origin (a replay without addresses) leaves the
// Delay_Req multicast.
func (p *Port) noteAnnounceFrom(sender ptp.PortIdentity, from Addr) {
	if from == (Addr{}) || !p.fm.Known(sender) {
		return
	}
	from = unicastPeer(from)
	for i := range p.annFrom {
		if p.annFrom[i].id == sender {
			p.annFrom[i].addr = from
			return
		}
	}
	if len(p.annFrom) >= p.fm.Len() {
		p.annFrom = slices.DeleteFunc(p.annFrom, func(s senderAddr) bool { return !p.fm.Known(s.id) })
	}
	p.annFrom = append(p.annFrom, senderAddr{id: sender, addr: from})
}

// fromParent reports whether a Sync, Follow_Up or Delay_Resp comes from
// the master this port follows.
func (p *Port) fromParent(h *ptp.Header) bool {
	if !p.state.IsSlave() || p.c.bestPort != p.idx || h.SourcePortIdentity != p.c.parent.ParentPortIdentity {
		p.Stats.NotFromParent++
		return false
	}
	return true
}

func (p *Port) receiveSync(s *ptp.Sync, rx, now int64) {
	if !p.fromParent(&s.Header) {
		return
	}
	if !p.syncSeq.Observe(s.SequenceID) {
		return
	}
	// The servo's gains and linreg's phase correction depend on the
	// interval between samples: follow the master's logSyncInterval (0x7F,
	// unspecified, and nonsense values are ignored).
	if iv := s.LogMessageInterval; iv >= -10 && iv <= 10 && (!p.haveSyncInterval || iv != p.syncInterval) {
		p.syncInterval, p.haveSyncInterval = iv, true
		p.c.servo.SetSyncInterval(math.Ldexp(1, int(iv)))
	}
	corr := int64(s.CorrectionField.Duration()) + p.cfg.DelayAsymmetry
	if !s.Flags.Has(ptp.FlagTwoStep) {
		p.sample(timestampNs(s.OriginTimestamp), corr, rx, now)
		return
	}
	if p.fup.valid && p.fup.seq == s.SequenceID && p.fup.src == s.SourcePortIdentity {
		p.fup.valid = false
		// check_fup_sync: a Follow_Up is taken before its Sync only if
		// the receive times say the Sync really came first (the stack
		// reordered them); otherwise the pair is not trusted.
		if p.cfg.CheckFupSync && p.fup.rx != 0 && rx > p.fup.rx {
			p.Stats.Rejected++
			return
		}
		p.sample(p.fup.t1, corr+p.fup.corr, rx, now)
		return
	}
	if p.sync.valid {
		p.Stats.FollowUpTimeout++
	}
	p.sync = pendingSync{valid: true, seq: s.SequenceID, src: s.SourcePortIdentity, t2: rx, corr: corr}
}

func (p *Port) receiveFollowUp(f *ptp.FollowUp, rx, now int64) {
	if !p.fromParent(&f.Header) {
		return
	}
	t1 := timestampNs(f.PreciseOriginTimestamp)
	corr := int64(f.CorrectionField.Duration())
	if p.sync.valid && p.sync.seq == f.SequenceID && p.sync.src == f.SourcePortIdentity {
		p.sync.valid = false
		p.sample(t1, p.sync.corr+corr, p.sync.t2, now)
		return
	}
	p.Stats.SyncMismatch++
	p.fup = pendingFollowUp{valid: true, seq: f.SequenceID, src: f.SourcePortIdentity, t1: t1, corr: corr, rx: rx}
}

// sample completes one Sync measurement: t1 and its corrections, t2.
func (p *Port) sample(t1, c1, t2, now int64) {
	if t1 <= 0 {
		p.Stats.Rejected++
		return
	}
	p.last = lastSync{valid: true, t1c: t1 + c1, t2: t2}
	var delay int64
	switch p.cfg.DelayMechanism {
	case ptp.DelayMechanismE2E:
		if !p.delayValid {
			return
		}
		delay = p.pathDelay
		// delay_pair_age 0 never pairs, even a Sync that arrives (or is
		// stamped) before the last Delay_Req left.
		if f, ok := p.delay.(*WindowedDelayFilter); ok && p.cfg.DelayPairAge > 0 && p.lastReq.valid && t2-p.lastReq.t3 <= p.cfg.DelayPairAge {
			delay = f.Paired((t2 - t1 - c1 + p.lastReq.delay) / 2)
		}
	case ptp.DelayMechanismP2P:
		if !p.peerValid {
			return
		}
		delay = p.peerDelay
	}
	offset := OffsetFromMaster(t1, c1, t2, delay) + p.c.utcCorrection(p.idx)
	if lim := p.c.cfg.SpikeLimit; lim > 0 && p.state == Slave && (offset > lim || offset < -lim) {
		p.spikes++
		if p.spikes <= p.c.cfg.SpikeTolerance {
			p.Stats.Spikes++
			return
		}
	} else {
		p.spikes = 0
	}
	p.c.synchronize(p, t2, offset, delay, now)
}

func (p *Port) receiveDelayReq(d *ptp.DelayReq, rx int64, from Addr) {
	if !p.state.IsMaster() || p.c.tc != nil {
		return
	}
	r := &p.drespB
	// A unicast Delay_Req is answered by unicast, to the sender's address
	// (its port is the transport's), with logMessageInterval 0x7F: the
	// client's rate is its Delay_Resp grant (linuxptp's hybrid_e2e).
	dest, interval := DestPrimary, p.cfg.LogMinDelayReqInterval
	if d.Flags.Has(ptp.FlagUnicast) {
		dest, interval, from = DestUnicast, ptp.LogIntervalUnspecified, unicastPeer(from)
	}
	p.header(&r.Header, d.SequenceID, interval, d.Flags&ptp.FlagUnicast)
	r.ControlField = ptp.ControlFieldFor(ptp.MessageDelayResp)
	r.CorrectionField = d.CorrectionField
	r.ReceiveTimestamp = ptp.TimestampFromNanoseconds(rx)
	r.RequestingPortIdentity = d.SourcePortIdentity
	p.c.send(p, r, dest, from)
}

func (p *Port) receiveDelayResp(r *ptp.DelayResp) {
	if r.RequestingPortIdentity != p.id {
		p.Stats.ForeignDelayResp++
		return
	}
	if !p.fromParent(&r.Header) {
		return
	}
	if !p.delayReq.stamped || r.SequenceID != p.delayReq.seq {
		return
	}
	p.delayReq.stamped, p.delayReq.sent = false, false
	if r.LogMessageInterval != p.logMinDelayReqInterval && r.LogMessageInterval >= -10 && r.LogMessageInterval <= 22 {
		p.logMinDelayReqInterval = r.LogMessageInterval
		rec := p.logRecord(LogDelayReqInterval, LevelInfo)
		rec.Interval = r.LogMessageInterval
		p.c.log(rec)
	}
	if !p.last.valid {
		return
	}
	s := E2ESample{T1: p.last.t1c, T2: p.last.t2, T3: p.delayReq.t3,
		T4: timestampNs(r.ReceiveTimestamp), C4: int64(r.CorrectionField.Duration())}
	raw := s.MeanPathDelay()
	p.pathDelay = p.delay.Sample(raw)
	p.delayValid = true
	p.lastReq = lastDelayReq{valid: true, t3: s.T3, delay: s.T4 - s.C4 - s.T3}
}

func (p *Port) receivePdelayReq(d *ptp.PdelayReq, rx int64, from Addr) {
	if p.cfg.DelayMechanism != ptp.DelayMechanismP2P {
		return
	}
	r := &p.prespB
	// A unicast Pdelay_Req (a peer's peer_address) is answered by
	// unicast, to the sender, as linuxptp's process_pdelay_req does.
	unicast := d.Flags.Has(ptp.FlagUnicast)
	dest, flags := DestPeer, ptp.FlagTwoStep
	if unicast {
		dest, flags, from = DestUnicast, flags|ptp.FlagUnicast, unicastPeer(from)
	}
	p.header(&r.Header, d.SequenceID, ptp.LogIntervalUnspecified, flags)
	r.ControlField = ptp.ControlFieldFor(ptp.MessagePdelayResp)
	r.RequestReceiptTimestamp = ptp.TimestampFromNanoseconds(rx)
	r.RequestingPortIdentity = d.SourcePortIdentity
	if p.c.send(p, r, dest, from) {
		p.pdelayTx = pendingPdelayResp{waiting: true, seq: d.SequenceID,
			requester: d.SourcePortIdentity, corr: d.CorrectionField, to: from, unicast: unicast}
	}
}

func (p *Port) receivePdelayResp(r *ptp.PdelayResp, rx int64) {
	if r.RequestingPortIdentity != p.id || !p.pdelay.sent || r.SequenceID != p.pdelay.seq {
		return
	}
	p.pdelay.resp = true
	p.pdelay.src = r.SourcePortIdentity
	p.pdelay.t4 = rx
	p.pdelay.c = int64(r.CorrectionField.Duration()) + p.cfg.DelayAsymmetry
	p.pdelay.oneStep = !r.Flags.Has(ptp.FlagTwoStep)
	if p.pdelay.oneStep {
		p.pdelay.t2 = 0
		p.completePdelay()
		return
	}
	p.pdelay.t2 = timestampNs(r.RequestReceiptTimestamp)
}

func (p *Port) receivePdelayRespFollowUp(f *ptp.PdelayRespFollowUp) {
	if f.RequestingPortIdentity != p.id || !p.pdelay.resp || p.pdelay.oneStep ||
		f.SequenceID != p.pdelay.seq || f.SourcePortIdentity != p.pdelay.src {
		return
	}
	t3 := timestampNs(f.ResponseOriginTimestamp)
	p.pdelay.c += int64(f.CorrectionField.Duration())
	if p.nrrT4 != 0 && p.pdelay.t4 > p.nrrT4 && t3 > p.nrrT3 {
		p.nrr = float64(t3-p.nrrT3) / float64(p.pdelay.t4-p.nrrT4)
	}
	p.nrrT3, p.nrrT4 = t3, p.pdelay.t4
	p.finishPdelay(t3)
}

// completePdelay finishes a one-step exchange once both the response and
// the request's transmit timestamp are in.
func (p *Port) completePdelay() {
	if p.pdelay.resp && p.pdelay.stamped && p.pdelay.oneStep {
		p.finishPdelay(0)
	}
}

func (p *Port) finishPdelay(t3 int64) {
	if !p.pdelay.stamped {
		return
	}
	s := PdelaySample{T1: p.pdelay.t1, T2: p.pdelay.t2, T3: t3, T4: p.pdelay.t4, C: p.pdelay.c}
	p.peerDelay = p.delay.Sample(s.MeanLinkDelay(p.nrr))
	p.peerValid = true
	p.pdelay = pendingPdelay{}
}

func timestampNs(t ptp.Timestamp) int64 { return t.UnixNano() }
