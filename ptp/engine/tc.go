package engine

import (
	"encoding/binary"
	"fmt"

	"github.com/roko-network/roko-ptpd/ptp"
)

// Transparent clocks (IEEE 1588-2019 10.2, 10.3; ptp4l's clock_type
// E2E_TC and P2P_TC).
//
// A transparent clock forwards every message it receives on one port out
// of each of its other ports. For the event messages whose timing matters
// it measures the residenceTime, the egress timestamp minus the ingress
// timestamp in its own timescale (scaled by its rate ratio to the
// grandmaster, as ptp4l does), and adds it to the correctionField of the
// message that completes the exchange: the Follow_Up of a Sync (a one-step
// Sync is forwarded as a two-step Sync with a Follow_Up made for it), and
// the Delay_Resp that answers a Delay_Req. A P2P transparent clock also
// measures the meanLinkDelay of each port with Pdelay and adds that of the
// Sync's ingress port, and the port's delayAsymmetry, to the Follow_Up;
// it forwards no Delay_Req or Delay_Resp, and an E2E one forwards no
// Pdelay message.
//
// The clock's own ports run as ptp4l runs them in a TC: they take part in
// the BMCA, the port that goes SLAVE measures its offset and, unless
// free_running is set, synchronises the clock to the grandmaster (an E2E
// TC's slave port sends Delay_Req for that); ports in MASTER send nothing
// of their own, answer no Delay_Req and no management message. With
// free_running the clock is never steered, and the residence time is
// scaled by the measured rate of the grandmaster over the local clock; a
// steered clock uses the servo's rate ratio where it has one (linreg).
//
// Unlike ptp4l (whose tc_spanning_tree is off by default and not
// implemented here), the clock does not forward out of a port that is
// FAULTY, DISABLED or INITIALIZING, whose socket may be gone.

// ClockType is clock_type.
type ClockType uint8

// Clock types.
const (
	// OrdinaryOrBoundary is an ordinary clock with one port and a
	// boundary clock with more (clock_type OC and BC).
	OrdinaryOrBoundary ClockType = iota
	// E2ETransparent is an end-to-end transparent clock (E2E_TC).
	E2ETransparent
	// P2PTransparent is a peer-to-peer transparent clock (P2P_TC).
	P2PTransparent
)

// String returns the clock type as clock_type spells it.
func (t ClockType) String() string {
	switch t {
	case OrdinaryOrBoundary:
		return "OC/BC"
	case E2ETransparent:
		return "E2E_TC"
	case P2PTransparent:
		return "P2P_TC"
	}
	return fmt.Sprintf("ClockType(%d)", uint8(t))
}

// Offsets into a message of the fields a transparent clock rewrites or
// matches on (IEEE 1588-2019 13.3, 13.6, 13.8).
const (
	offFlags       = 6
	offCorrection  = 8
	offSourcePort  = 20
	offSequenceID  = 30
	offControl     = 32
	offTimestamp   = ptp.HeaderLen      // originTimestamp, preciseOriginTimestamp
	offRequestPort = ptp.HeaderLen + 10 // Delay_Resp requestingPortIdentity
	followUpLen    = ptp.HeaderLen + 10
	delayRespLen   = ptp.HeaderLen + 20
)

// tcEntries bounds the exchanges a transparent clock keeps open at once;
// tcFollowUpMax the Follow_Up (with TLVs) it holds for one; tcMaxAge is how
// long an unfinished exchange is kept (ptp4l's tc_prune: one second).
const (
	tcEntries     = 64
	tcFollowUpMax = 512
	tcMaxAge      = 1_000_000_000
)

// tcKind says which exchange an entry belongs to.
type tcKind uint8

const (
	tcFree tcKind = iota
	tcSync
	tcDelayReq
)

// tcEntry is one event message forwarded from port in out of port out,
// until the message that completes it (Follow_Up or Delay_Resp) has gone.
type tcEntry struct {
	kind      tcKind
	in, out   int
	seq       uint16
	src       ptp.PortIdentity // sourcePortIdentity of the Sync or Delay_Req
	ingress   int64            // receive timestamp on in, local time
	made      int64            // monotonic time the entry was made
	awaitTx   bool             // the event message's egress timestamp is still to come
	stamped   bool             // residence is known
	residence int64            // ns, in the grandmaster's timescale
	fupLen    int              // a Follow_Up waiting for residence, in fup[:fupLen]
	fup       [tcFollowUpMax]byte
}

// TCStats counts what a transparent clock forwarded.
type TCStats struct {
	Forwarded uint64 // messages sent out of another port, completed exchanges included
	Completed uint64 // Follow_Up and Delay_Resp sent with a residence time added
	Unmatched uint64 // Follow_Up or Delay_Resp with no forwarded event message to complete
	Evicted   uint64 // exchanges dropped unfinished (too old, or the table full)
	Unicast   uint64 // unicast messages, which a transparent clock does not forward (as ptp4l)
	// LastResidence is the residence time last added, ns.
	LastResidence int64
}

// transparent is the forwarding state of a transparent clock.
type transparent struct {
	p2p     bool
	entries [tcEntries]tcEntry
	// master and local are the grandmaster's time and the local time of
	// the previous Sync, for the free-running rate ratio.
	master, local int64
	rateRatio     float64
	Stats         TCStats
}

// validateTransparent checks a transparent clock's ports as ptp4l does:
// at least two, all of the clock type's delay mechanism.
func validateTransparent(t ClockType, ports []PortConfig) error {
	if t == OrdinaryOrBoundary {
		return nil
	}
	if len(ports) < 2 {
		return fmt.Errorf("engine: %v needs at least two ports", t)
	}
	want := ptp.DelayMechanismE2E
	if t == P2PTransparent {
		want = ptp.DelayMechanismP2P
	}
	for _, p := range ports {
		if p.DelayMechanism != want {
			return fmt.Errorf("engine: port %s: %v needs %v ports", p.Name, t, want)
		}
	}
	return nil
}

// TCStats returns what the transparent clock forwarded (zero for an
// ordinary or boundary clock).
func (c *Clock) TCStats() TCStats {
	if c.tc == nil {
		return TCStats{}
	}
	return c.tc.Stats
}

// egress reports whether the clock forwards out of port i.
func (c *Clock) egress(i, in int) bool {
	if i == in {
		return false
	}
	switch c.ports[i].state {
	case Initializing, Faulty, Disabled:
		return false
	}
	return true
}

// forward sends msg, received on port in at local time rx, out of the
// other ports as a transparent clock does. It runs before the clock's own
// ports see the message.
func (c *Clock) forward(in int, msg []byte, t ptp.MessageType, rx, now int64) {
	tc := c.tc
	if len(msg) < ptp.HeaderLen {
		return
	}
	if ptp.Flags(binary.BigEndian.Uint16(msg[offFlags:]))&ptp.FlagUnicast != 0 {
		tc.Stats.Unicast++
		return
	}
	switch t {
	case ptp.MessageSync:
		c.forwardSync(in, msg, rx, now)
	case ptp.MessageFollowUp:
		c.forwardFollowUp(in, msg, now)
	case ptp.MessageDelayReq:
		if !tc.p2p {
			c.forwardEvent(in, msg, tcDelayReq, rx, now)
		}
	case ptp.MessageDelayResp:
		if !tc.p2p {
			c.forwardDelayResp(in, msg)
		}
	case ptp.MessagePdelayReq, ptp.MessagePdelayResp, ptp.MessagePdelayRespFollowUp:
		// Link-local: measured by the ports, never forwarded.
	default:
		// Announce, Signaling, Management: as they came.
		for i := range c.ports {
			if c.egress(i, in) {
				c.forwardRaw(i, msg, false, t)
			}
		}
	}
}

// forwardRaw emits msg out of port out and returns its copy in the arena,
// which the caller may still patch.
func (c *Clock) forwardRaw(out int, msg []byte, event bool, t ptp.MessageType) []byte {
	start := len(c.arena)
	c.arena = append(c.arena, msg...)
	b := c.arena[start:len(c.arena):len(c.arena)]
	c.emit(Action{Kind: Send, Port: out, Event: event, Forwarded: event, Dest: DestPrimary,
		Msg: b, MessageType: t, SequenceID: binary.BigEndian.Uint16(msg[offSequenceID:])})
	c.tc.Stats.Forwarded++
	return b
}

// forwardSync forwards a Sync. A one-step Sync leaves as a two-step one,
// and the Follow_Up made for it (preciseOriginTimestamp the Sync's
// originTimestamp, correctionField zero) waits for the residence time.
func (c *Clock) forwardSync(in int, msg []byte, rx, now int64) {
	if len(msg) < offTimestamp+10 {
		return
	}
	oneStep := ptp.Flags(binary.BigEndian.Uint16(msg[offFlags:]))&ptp.FlagTwoStep == 0
	var fup [followUpLen]byte
	if oneStep {
		copy(fup[:ptp.HeaderLen], msg)
		fup[0] = msg[0]&0xf0 | byte(ptp.MessageFollowUp)
		binary.BigEndian.PutUint16(fup[2:], followUpLen)
		binary.BigEndian.PutUint16(fup[offFlags:], 0)
		binary.BigEndian.PutUint64(fup[offCorrection:], 0)
		binary.BigEndian.PutUint32(fup[16:], 0)
		fup[offControl] = byte(ptp.ControlFieldFor(ptp.MessageFollowUp))
		copy(fup[offTimestamp:], msg[offTimestamp:offTimestamp+10])
	}
	for out := range c.ports {
		if !c.egress(out, in) {
			continue
		}
		e := c.tc.find(tcSync, in, out, msg[offSourcePort:], msg[offSequenceID:])
		if e == nil {
			e = c.tc.alloc(now)
			e.kind, e.in, e.out = tcSync, in, out
			e.seq = binary.BigEndian.Uint16(msg[offSequenceID:])
			copy(e.src.ClockIdentity[:], msg[offSourcePort:])
			e.src.PortNumber = binary.BigEndian.Uint16(msg[offSourcePort+8:])
		}
		e.ingress, e.awaitTx = rx, true
		if oneStep {
			e.fupLen = copy(e.fup[:], fup[:])
		}
		b := c.forwardRaw(out, msg, true, ptp.MessageSync)
		if oneStep {
			b[offFlags] |= byte(ptp.FlagTwoStep >> 8)
		}
	}
}

// forwardEvent forwards a Delay_Req and remembers it until its Delay_Resp
// comes back.
func (c *Clock) forwardEvent(in int, msg []byte, kind tcKind, rx, now int64) {
	if len(msg) < offTimestamp {
		return
	}
	for out := range c.ports {
		if !c.egress(out, in) {
			continue
		}
		e := c.tc.alloc(now)
		e.kind, e.in, e.out = kind, in, out
		e.seq = binary.BigEndian.Uint16(msg[offSequenceID:])
		copy(e.src.ClockIdentity[:], msg[offSourcePort:])
		e.src.PortNumber = binary.BigEndian.Uint16(msg[offSourcePort+8:])
		e.ingress, e.awaitTx = rx, true
		c.forwardRaw(out, msg, true, ptp.MessageDelayReq)
	}
}

// forwardFollowUp completes the Sync it follows on each egress port: at
// once when the Sync's residence time is known, or when it is.
func (c *Clock) forwardFollowUp(in int, msg []byte, now int64) {
	if len(msg) < followUpLen {
		return
	}
	for out := range c.ports {
		if !c.egress(out, in) {
			continue
		}
		e := c.tc.find(tcSync, in, out, msg[offSourcePort:], msg[offSequenceID:])
		if e == nil {
			// The Follow_Up overtook its Sync (ptp4l's TC_FUP_SYNC):
			// keep it for the Sync.
			if len(msg) > tcFollowUpMax {
				c.tc.Stats.Unmatched++
				continue
			}
			e = c.tc.alloc(now)
			e.kind, e.in, e.out = tcSync, in, out
			e.seq = binary.BigEndian.Uint16(msg[offSequenceID:])
			copy(e.src.ClockIdentity[:], msg[offSourcePort:])
			e.src.PortNumber = binary.BigEndian.Uint16(msg[offSourcePort+8:])
			e.fupLen = copy(e.fup[:], msg)
			continue
		}
		if e.stamped {
			c.completeFollowUp(e, msg)
			continue
		}
		if len(msg) > tcFollowUpMax {
			c.tc.Stats.Unmatched++
			e.kind = tcFree
			continue
		}
		e.fupLen = copy(e.fup[:], msg)
	}
}

// completeFollowUp sends fup out of e.out with the residence time, and on
// a P2P clock the ingress port's meanLinkDelay, added, plus the ingress
// port's delayAsymmetry, and closes e.
func (c *Clock) completeFollowUp(e *tcEntry, fup []byte) {
	add := e.residence + c.ports[e.in].cfg.DelayAsymmetry
	if c.tc.p2p {
		add += c.ports[e.in].peerDelay
	}
	b := c.forwardRaw(e.out, fup, false, ptp.MessageFollowUp)
	addCorrection(b, add)
	c.tc.Stats.Completed++
	c.tc.Stats.LastResidence = e.residence
	e.kind = tcFree
}

// forwardDelayResp sends a Delay_Resp received on port in back out of the
// port its Delay_Req came in on, with that Delay_Req's residence time
// added. A Delay_Resp to a request the clock did not forward goes nowhere.
func (c *Clock) forwardDelayResp(in int, msg []byte) {
	if len(msg) < delayRespLen {
		return
	}
	for i := range c.tc.entries {
		e := &c.tc.entries[i]
		if e.kind != tcDelayReq || e.out != in || !e.stamped ||
			!e.matches(msg[offRequestPort:], msg[offSequenceID:]) {
			continue
		}
		if c.egress(e.in, in) {
			b := c.forwardRaw(e.in, msg, false, ptp.MessageDelayResp)
			addCorrection(b, e.residence)
			c.tc.Stats.Completed++
			c.tc.Stats.LastResidence = e.residence
		}
		e.kind = tcFree
		return
	}
	if [8]byte(msg[offRequestPort:]) != [8]byte(c.cfg.ClockIdentity) {
		c.tc.Stats.Unmatched++ // not the answer to the clock's own Delay_Req
	}
}

// ForwardedTxTimestamp hands a transparent clock the egress timestamp
// (local time) of an event message it forwarded on port: the residence
// time is now known, and a Follow_Up waiting for it goes.
func (c *Clock) ForwardedTxTimestamp(port int, t ptp.MessageType, seq uint16, ts int64, now int64) []Action {
	c.begin()
	if c.tc == nil {
		return c.acts
	}
	kind := tcSync
	if t == ptp.MessageDelayReq {
		kind = tcDelayReq
	}
	for i := range c.tc.entries {
		e := &c.tc.entries[i]
		if e.kind != kind || e.out != port || !e.awaitTx || e.seq != seq {
			continue
		}
		e.awaitTx, e.stamped = false, true
		e.residence = c.tc.scale(ts - e.ingress)
		if e.kind == tcSync && e.fupLen > 0 {
			c.completeFollowUp(e, e.fup[:e.fupLen])
		}
		break
	}
	return c.acts
}

// matches reports whether the port identity and sequenceId at pid and seq
// (wire order) are e's.
func (e *tcEntry) matches(pid, seq []byte) bool {
	return binary.BigEndian.Uint16(seq) == e.seq &&
		[8]byte(pid[:8]) == [8]byte(e.src.ClockIdentity) &&
		binary.BigEndian.Uint16(pid[8:]) == e.src.PortNumber
}

// find returns the open entry of kind from in to out for the message
// whose sourcePortIdentity and sequenceId are at pid and seq.
func (tc *transparent) find(kind tcKind, in, out int, pid, seq []byte) *tcEntry {
	for i := range tc.entries {
		e := &tc.entries[i]
		if e.kind == kind && e.in == in && e.out == out && e.matches(pid, seq) {
			return e
		}
	}
	return nil
}

// alloc returns a cleared entry made at now: a free one, or one left
// unfinished for longer than tcMaxAge, or else the oldest.
func (tc *transparent) alloc(now int64) *tcEntry {
	var oldest *tcEntry
	for i := range tc.entries {
		e := &tc.entries[i]
		if e.kind != tcFree && now-e.made > tcMaxAge {
			e.kind = tcFree
			tc.Stats.Evicted++
		}
		if e.kind == tcFree {
			oldest = e
			break
		}
		if oldest == nil || e.made < oldest.made {
			oldest = e
		}
	}
	if oldest.kind != tcFree {
		tc.Stats.Evicted++
	}
	// Clear all but the Follow_Up buffer, which fupLen governs.
	oldest.kind, oldest.in, oldest.out, oldest.seq = tcFree, 0, 0, 0
	oldest.src, oldest.ingress, oldest.made = ptp.PortIdentity{}, 0, now
	oldest.awaitTx, oldest.stamped, oldest.residence, oldest.fupLen = false, false, 0, 0
	return oldest
}

// scale converts a local time interval to the grandmaster's timescale.
func (tc *transparent) scale(d int64) int64 {
	if tc.rateRatio == 0 || tc.rateRatio == 1 {
		return d
	}
	return int64(float64(d) * tc.rateRatio)
}

// rateRatioOf is a servo that knows the grandmaster's rate over the
// clock's corrected rate (servo.LinReg).
type rateRatioOf interface{ RateRatio() float64 }

// syntonize updates the rate ratio that residence times are scaled by,
// after a Sync measured offset at local time t2:
// with free_running the ratio of the grandmaster's time elapsed to the
// local time elapsed between Syncs (ptp4l's master_local_rr), otherwise
// the servo's rate ratio, if it has one (ptp4l's servo_rate_ratio).
func (tc *transparent) syntonize(c *Clock, t2, offset int64) {
	if !c.cfg.FreeRunning {
		tc.rateRatio = 1
		if r, ok := c.servo.(rateRatioOf); ok {
			tc.rateRatio = r.RateRatio()
		}
		return
	}
	master := t2 - offset
	if tc.local != 0 && t2 > tc.local && master > tc.master {
		tc.rateRatio = float64(master-tc.master) / float64(t2-tc.local)
	}
	tc.master, tc.local = master, t2
}

// addCorrection adds ns nanoseconds to the correctionField of b.
func addCorrection(b []byte, ns int64) {
	c := int64(binary.BigEndian.Uint64(b[offCorrection:]))
	binary.BigEndian.PutUint64(b[offCorrection:], uint64(c+ns*65536))
}
