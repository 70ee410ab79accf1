package engine

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/roko-network/roko-ptpd/bmca"
	"github.com/roko-network/roko-ptpd/ptp"
)

// Times: every entry point takes now, a monotonic time in nanoseconds that
// only drives timers, and local timestamps in nanoseconds of the clock
// being steered (a PHC, the system clock, a virtual or simulated clock).

// Clock is a PTP ordinary clock (one port) or boundary clock (several
// ports): the data sets, the BMCA across its ports, and the servo. It is
// driven by calls from one goroutine (the event loop) and answers each call
// with the actions to carry out; it holds no locks and starts nothing.
type Clock struct {
	cfg   ClockConfig
	servo Servo
	ports []*Port
	rng   *rand.Rand
	dec   ptp.Decoder

	// parentDS and the time properties of the current grandmaster.
	parent       ptp.ParentDataSet
	timeProps    ptp.TimePropertiesDataSet
	stepsRemoved uint16
	// utcOffset is the UTC offset the clock believes (ptp4l's utc_offset):
	// utc_offset at first, then what grandmasters announce.
	utcOffset int16
	// taiOffsetSet is the offset last given to the kernel (0: none).
	taiOffsetSet int16
	bestPort     int // index of the port with Ebest, or −1 when this clock is the grandmaster
	bestID       ptp.ClockIdentity
	decided      bool // whether a state decision has named a best master yet

	// currentDS and TIME_STATUS_NP material.
	offsetFromMaster int64
	meanPathDelay    int64
	ingressTime      int64
	frequency        float64 // the last frequency the servo set, ppb
	// reselect asks for a state decision after management changed the
	// clock's own data set.
	reselect bool
	// notifySeq numbers SUBSCRIBE_EVENTS_NP notifications.
	notifySeq uint16
	// servoState is the servo's last state, for the Locked → LockedStable
	// transition that triggers an interval request.
	servoState ServoState
	// newMaster is set from a change of best master until the first
	// offset measured from the new one.
	newMaster bool

	// tc is the forwarding state of a transparent clock (nil for an
	// ordinary or boundary clock).
	tc *transparent

	acts  []Action
	arena []byte
	// Counters of what the clock refused, for management and metrics.
	Stats ClockStats
}

// ClockStats counts messages the clock dropped before any port saw them.
type ClockStats struct {
	Malformed         uint64 // failed to decode
	WrongDomain       uint64 // domainNumber of another domain
	WrongSdoID        uint64 // majorSdoId (transportSpecific) of another profile
	Looped            uint64 // our own messages come back
	StepsRemovedLimit uint64 // Announce at or beyond maxStepsRemoved
}

// NewClock builds a clock with one Port per PortConfig, numbered from 1,
// steering through servo. seed makes the engine's randomised intervals
// (Delay_Req, announce timeouts) repeatable in simulation.
func NewClock(cfg ClockConfig, ports []PortConfig, servo Servo, seed uint64) (*Clock, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if len(ports) == 0 {
		return nil, fmt.Errorf("engine: a clock needs at least one port")
	}
	if err := validateTransparent(cfg.Type, ports); err != nil {
		return nil, err
	}
	if cfg.UTCTimescale {
		cfg.TimeFlags &^= ptp.FlagPTPTimescale
	}
	c := &Clock{
		cfg:       cfg,
		servo:     servo,
		rng:       rand.New(rand.NewPCG(seed, binary.BigEndian.Uint64(cfg.ClockIdentity[:]))),
		bestPort:  -1,
		utcOffset: cfg.UTCOffset,
		arena:     make([]byte, 0, 4096),
		acts:      make([]Action, 0, 16),
	}
	for i, pc := range ports {
		if err := pc.validate(); err != nil {
			return nil, err
		}
		p, err := newPort(c, i, pc)
		if err != nil {
			return nil, err
		}
		c.ports = append(c.ports, p)
	}
	if cfg.Type != OrdinaryOrBoundary {
		c.tc = &transparent{p2p: cfg.Type == P2PTransparent, rateRatio: 1}
	}
	c.becomeGrandmaster()
	return c, nil
}

// Port returns port i (0-based).
func (c *Clock) Port(i int) *Port { return c.ports[i] }

// NumPorts returns the number of ports.
func (c *Clock) NumPorts() int { return len(c.ports) }

// Config returns the clock's configuration.
func (c *Clock) Config() ClockConfig { return c.cfg }

func (c *Clock) begin() { c.acts, c.arena = c.acts[:0], c.arena[:0] }

func (c *Clock) emit(a Action) { c.acts = append(c.acts, a) }

func (c *Clock) log(r LogRecord) { c.emit(Action{Kind: Log, Port: r.Port, Log: r}) }

// Start initialises every port (INITIALIZING, then LISTENING) at now.
func (c *Clock) Start(now int64) []Action {
	c.begin()
	for _, p := range c.ports {
		p.dispatch(EventInitialize, false, now)
	}
	return c.acts
}

// Receive hands the engine a message received on port at local time rx
// (its receive timestamp, meaningful for event messages) from from.
// Malformed messages and messages of other domains are counted and dropped.
func (c *Clock) Receive(port int, msg []byte, rx int64, from Addr, now int64) []Action {
	c.begin()
	pk, err := c.dec.Decode(msg)
	if err != nil {
		c.Stats.Malformed++
		return c.acts
	}
	if c.tc != nil {
		// A transparent clock forwards before its own ports look, and
		// whatever they make of the message (ptp4l's e2e_event and
		// p2p_event).
		c.forward(port, msg, pk.Type(), rx, now)
	}
	h := pk.Hdr()
	switch {
	case c.tc != nil && (pk.Type() == ptp.MessageManagement || pk.Type() == ptp.MessageSignaling):
		// Forwarded only: a transparent clock's ports answer neither.
	case h.DomainNumber != c.cfg.DomainNumber:
		c.Stats.WrongDomain++
	case h.MajorSdoID != c.cfg.MajorSdoID && !c.ports[port].cfg.IgnoreTransportSpecific:
		c.Stats.WrongSdoID++
	case h.SourcePortIdentity.ClockIdentity == c.cfg.ClockIdentity:
		c.Stats.Looped++
	default:
		c.ports[port].receive(pk, rx, from, now)
	}
	return c.acts
}

// TxTimestamp hands the engine the transmit timestamp (local time) of an
// event message it asked to send.
func (c *Clock) TxTimestamp(port int, t ptp.MessageType, seq uint16, ts int64, now int64) []Action {
	c.begin()
	c.ports[port].txTimestamp(t, seq, ts, now)
	return c.acts
}

// TxTimestampLost tells the engine that the transmit timestamp of an
// event message it sent to dest on port never came. A Sync of the port's
// unicast service (dest DestUnicast) costs its one client that Sync's
// Follow_Up, counted in UnicastServiceStats.Unstamped: the port goes on
// serving its other clients. Anything else faults the port, as in ptp4l
// (which faults a unicast grandmaster's port too, for every client).
func (c *Clock) TxTimestampLost(port int, t ptp.MessageType, seq uint16, dest Dest, now int64) []Action {
	if p := c.ports[port]; t == ptp.MessageSync && dest == DestUnicast && p.uc != nil {
		c.begin()
		p.unicastSyncLost(seq)
		return c.acts
	}
	return c.Fault(port, now)
}

// Fault tells the engine that port failed (no transmit timestamp, a dead
// socket): it goes FAULTY and retries after fault_reset_interval.
func (c *Clock) Fault(port int, now int64) []Action {
	c.begin()
	c.ports[port].dispatch(EventFaultDetected, false, now)
	return c.acts
}

// Deadline returns the monotonic time of the earliest pending timer, or 0
// when none is set.
func (c *Clock) Deadline() int64 {
	var d int64
	for _, p := range c.ports {
		if t := p.deadline(); t != 0 && (d == 0 || t < d) {
			d = t
		}
	}
	return d
}

// Tick runs every timer due at now.
func (c *Clock) Tick(now int64) []Action {
	c.begin()
	for _, p := range c.ports {
		p.tick(now)
	}
	return c.acts
}

// Offset returns the last measured offset from the master and mean path
// delay, in nanoseconds (currentDS).
func (c *Clock) Offset() (offsetFromMaster, meanPathDelay int64) {
	return c.offsetFromMaster, c.meanPathDelay
}

// local returns D0, the local clock's data set.
func (c *Clock) local() bmca.Dataset {
	q := c.cfg.ClockQuality
	if c.cfg.SlaveOnly {
		q.ClockClass = 255 // IEEE 1588-2019 8.2.1.3.1.1: a slave-only clock announces 255
	}
	return bmca.Local(c.cfg.ClockIdentity, c.cfg.Priority1, q, c.cfg.Priority2, c.cfg.LocalPriority)
}

// becomeGrandmaster makes the local clock its own parent.
func (c *Clock) becomeGrandmaster() {
	d0 := c.local()
	c.parent = ptp.ParentDataSet{
		ParentPortIdentity:                    ptp.PortIdentity{ClockIdentity: c.cfg.ClockIdentity},
		ObservedParentOffsetScaledLogVariance: 0xffff,
		ObservedParentClockPhaseChangeRate:    0x7fffffff,
		GrandmasterPriority1:                  d0.GrandmasterPriority1,
		GrandmasterClockQuality:               d0.GrandmasterClockQuality,
		GrandmasterPriority2:                  d0.GrandmasterPriority2,
		GrandmasterIdentity:                   c.cfg.ClockIdentity,
	}
	c.timeProps = ptp.TimePropertiesDataSet{
		CurrentUTCOffset: c.cfg.UTCOffset,
		Flags:            uint8(c.cfg.TimeFlags),
		TimeSource:       c.cfg.TimeSource,
	}
	c.stepsRemoved = 0
	c.bestPort = -1
	c.offsetFromMaster, c.meanPathDelay = 0, 0
}

// followAnnounce takes the parent and time properties from the best
// master's Announce. atDecision says a state decision chose it, where ptp4l
// warns about the master's timescale.
func (c *Clock) followAnnounce(a *ptp.Announce, atDecision bool) {
	c.parent.ParentPortIdentity = a.SourcePortIdentity
	c.parent.GrandmasterPriority1 = a.GrandmasterPriority1
	c.parent.GrandmasterClockQuality = a.GrandmasterClockQuality
	c.parent.GrandmasterPriority2 = a.GrandmasterPriority2
	c.parent.GrandmasterIdentity = a.GrandmasterIdentity
	c.stepsRemoved = a.StepsRemoved + 1
	c.timeProps = ptp.TimePropertiesDataSet{
		CurrentUTCOffset: a.CurrentUTCOffset,
		Flags:            uint8(a.Flags & 0xff),
		TimeSource:       a.TimeSource,
	}
	if atDecision {
		if !a.Flags.Has(ptp.FlagPTPTimescale) {
			c.log(LogRecord{Kind: LogNotPTPTimescale, Level: LevelWarning})
		}
		if a.CurrentUTCOffset < c.utcOffset {
			c.log(LogRecord{Kind: LogTemporalVortex, Level: LevelWarning})
		}
	}
	// A valid and traceable offset is believed as it is; any other only
	// when it is larger, since leap seconds have only ever been added
	// (linuxptp's rule).
	valid := a.Flags.Has(ptp.FlagCurrentUTCOffsetValid) && a.Flags.Has(ptp.FlagTimeTraceable)
	if (valid && a.CurrentUTCOffset != c.utcOffset) || a.CurrentUTCOffset > c.utcOffset {
		c.utcOffset = a.CurrentUTCOffset
		c.log(LogRecord{Kind: LogUTCOffset, Level: LevelInfo, Offset: int64(a.CurrentUTCOffset)})
	}
}

// utcCorrection is what turns a measured offset from the master into the
// local clock's offset from the master's time on the local timescale: a
// clock that keeps UTC follows a master on PTP's timescale (TAI) at its
// time less the UTC offset (ptp4l's clock_utc_correct). Unless the clock
// runs free, it also passes a valid, traceable UTC offset on to the
// kernel, once per change.
func (c *Clock) utcCorrection(port int) int64 {
	if !c.cfg.UTCTimescale {
		return 0
	}
	f := ptp.Flags(c.timeProps.Flags)
	if !c.cfg.FreeRunning && f.Has(ptp.FlagCurrentUTCOffsetValid) && f.Has(ptp.FlagTimeTraceable) && c.taiOffsetSet != c.utcOffset {
		c.taiOffsetSet = c.utcOffset
		c.emit(Action{Kind: SetTAIOffset, Port: port, TAIOffset: c.utcOffset})
	}
	if !f.Has(ptp.FlagPTPTimescale) {
		return 0
	}
	return int64(c.utcOffset) * 1e9
}

// stateDecision runs the state decision algorithm over every port
// (IEEE 1588-2019 9.3.3) and moves each port to its recommended state.
func (c *Clock) stateDecision(now int64) {
	cmp := c.cfg.Comparison
	var ebest *bmca.Dataset
	var ebestAnn *ptp.Announce
	ebestPort := -1
	for i, p := range c.ports {
		p.erbest, p.erbestAnn = nil, nil
		if p.cfg.MasterOnly {
			continue
		}
		ds, ann, ok := p.fm.Best(dur(now), cmp)
		if !ok {
			continue
		}
		p.erbestDS = ds
		p.erbest, p.erbestAnn = &p.erbestDS, ann
		if ebest == nil || cmp(p.erbest, ebest).AWins() {
			ebest, ebestAnn, ebestPort = p.erbest, ann, i
		}
	}
	d0 := c.local()
	localBest := ebest == nil || cmp(&d0, ebest).AWins()

	oldParent := c.parent.ParentPortIdentity
	bestID := c.cfg.ClockIdentity
	if !localBest {
		bestID = ebest.GrandmasterIdentity
	}
	freshBest := !c.decided || bestID != c.bestID || (!localBest && ebestPort != c.bestPort)
	if freshBest {
		c.decided, c.bestID = true, bestID
		if localBest {
			c.log(LogRecord{Kind: LogSelectedLocal, Level: LevelNotice, Clock: bestID})
		} else {
			c.log(LogRecord{Kind: LogSelectedBest, Level: LevelNotice, Clock: bestID})
		}
		// As ptp4l, the servo is kept: the clock's frequency error has
		// not changed with the master. The first offset from the new
		// master decides what it must forget (see synchronize).
		c.newMaster = true
		for _, p := range c.ports {
			p.resetMeasurement()
		}
	}
	if localBest {
		c.becomeGrandmaster()
	} else {
		c.followAnnounce(ebestAnn, true)
		c.bestPort = ebestPort
	}
	// A SLAVE port recalibrates when the best master is a new one, or the
	// same grandmaster is now reached through a different parent.
	newMaster := freshBest || c.parent.ParentPortIdentity != oldParent

	for i, p := range c.ports {
		rec := bmca.Decide(bmca.Input{
			D0:              d0,
			ClockClass:      d0.GrandmasterClockQuality.ClockClass,
			Ebest:           ebest,
			EbestOnThisPort: i == ebestPort,
			Erbest:          p.erbest,
			State:           p.state.Wire(),
			Noop:            p.cfg.NoopBMCA,
		}, cmp)
		var next State
		switch rec {
		case bmca.M1, bmca.M2:
			// linuxptp says so at every decision that keeps the role.
			c.log(LogRecord{Kind: LogAssumingGrandMaster, Level: LevelNotice, Port: i,
				PortNumber: p.id.PortNumber, PortName: p.cfg.Name})
			next = GrandMaster
		case bmca.M3:
			next = Master
		case bmca.P1, bmca.P2:
			next = Passive
		case bmca.S1:
			next = Slave
		default:
			continue
		}
		p.dispatch(RecommendedEvent(next), newMaster, now)
	}
	for _, p := range c.ports {
		p.unicastSelection()
	}
}

// filterResetter is a servo with a spike filter in front (servo.Filter)
// whose judgement of offsets can be reset without the servo's.
type filterResetter interface{ ResetFilter() }

// rebaser is a servo that can meet a new reference's time as a time error
// rather than a step in its history (servo.LinReg.Rebase).
type rebaser interface{ Rebase() }

// MeetNewMaster prepares s for offset, the first measured from a new best
// master. An offset beyond firstStepThreshold (ns; 0 never) resets the
// servo, so that it steps the clock as at start rather than slew for
// minutes; a smaller one is followed by the servo as it is, with the
// spike filter's judgement reset, so that the new master's time is not
// taken for a run of spikes, and the servo told of the new reference
// (Rebase), so that linreg removes the new master's time error without
// tilting its fit. (ptp4l keeps its servo in both cases.) The clock
// frequency the servo learned still holds: the oscillator has not
// changed with the master.
func MeetNewMaster(s Servo, firstStepThreshold, offset int64) {
	if lim := firstStepThreshold; lim > 0 && (offset > lim || offset < -lim) {
		s.Reset()
		return
	}
	if r, ok := s.(rebaser); ok {
		r.Rebase()
	}
	if f, ok := s.(filterResetter); ok {
		f.ResetFilter()
	}
}

// synchronize feeds one offset measurement to the servo and acts on the
// result (linuxptp's clock_synchronize).
func (c *Clock) synchronize(p *Port, t2, offset, delay, now int64) {
	c.offsetFromMaster, c.meanPathDelay, c.ingressTime = offset, delay, t2
	if c.tc != nil {
		defer c.tc.syntonize(c, t2, offset)
	}
	if c.cfg.FreeRunning {
		c.log(LogRecord{Kind: LogOffset, Level: LevelInfo, Offset: offset, ServoState: ServoUnlocked, Freq: c.frequency, PathDelay: delay})
		return
	}
	if c.newMaster {
		c.newMaster = false
		MeetNewMaster(c.servo, c.cfg.FirstStepThreshold, offset)
	}
	last := c.servoState
	ppb, state := c.servo.Sample(offset, t2)
	c.servoState = state
	c.log(LogRecord{Kind: LogOffset, Level: LevelInfo, Offset: offset, ServoState: state, Freq: ppb, PathDelay: delay})
	switch state {
	case ServoUnlocked:
		if p.requestedOper {
			// Lost lock: back to the configured intervals, and ask the
			// master for its initial Sync interval again.
			p.requestedOper = false
			p.logPdelayReqInterval = p.cfg.LogMinPdelayReqInterval
			p.sendIntervalRequest(intervalSetInitial)
		}
		p.dispatch(EventSynchronizationFault, false, now)
	case ServoJump:
		c.frequency = ppb
		c.emit(Action{Kind: AdjustFrequency, Port: p.idx, PPB: ppb})
		c.emit(Action{Kind: Step, Port: p.idx, StepNs: -offset})
		for _, q := range c.ports {
			q.afterStep()
		}
		p.dispatch(EventSynchronizationFault, false, now)
	case ServoLocked, ServoLockedStable:
		c.frequency = ppb
		c.emit(Action{Kind: AdjustFrequency, Port: p.idx, PPB: ppb})
		if state == ServoLockedStable && last == ServoLocked && p.cfg.MsgIntervalRequest && !p.requestedOper {
			p.requestedOper = true
			p.logPdelayReqInterval = p.cfg.OperLogPdelayReqInterval
			p.sendIntervalRequest(p.cfg.OperLogSyncInterval)
		}
		p.dispatch(EventMasterClockSelected, false, now)
	}
}

// send encodes m into the arena and emits it.
func (c *Clock) send(p *Port, m ptp.Packet, dest Dest, to Addr) bool {
	start := len(c.arena)
	out, err := m.AppendBinary(c.arena)
	if err != nil {
		return false
	}
	c.arena = out
	h := m.Hdr()
	c.emit(Action{Kind: Send, Port: p.idx, Event: m.Type().IsEvent(), Dest: dest, To: to,
		Msg: c.arena[start:len(c.arena):len(c.arena)], MessageType: m.Type(), SequenceID: h.SequenceID})
	p.Stats.Tx[m.Type()&0xf]++
	return true
}

// dur converts the engine's int64 nanoseconds to the time.Duration the
// bmca package keeps time in.
func dur(ns int64) time.Duration { return time.Duration(ns) }

// SwitchServo replaces the servo because the clock that the actions steer
// is now another one: with boundary_clock_jbod each port has a PHC of its
// own, and the clock follows the PHC of the port that goes UNCALIBRATED
// (ptp4l's clock_switch_phc). The new servo starts unlocked, from that
// PHC's own frequency, and is told the sample interval port last heard.
// It is called between the engine's calls (the daemon does it while it
// carries out the batch that made port UNCALIBRATED).
func (c *Clock) SwitchServo(port int, s Servo) {
	c.servo = s
	c.servoState = ServoUnlocked
	if p := c.ports[port]; p.haveSyncInterval {
		s.SetSyncInterval(math.Ldexp(1, int(p.syncInterval)))
	}
}
