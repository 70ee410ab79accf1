package engine

import (
	"github.com/roko-network/roko-ptpd/ptp"
)

// The client side of unicast negotiation (IEEE 1588-2019 16.1,
// unicast_master_table): the port asks every master of its table for
// Announce, runs the BMCA over those that grant it (their Announce
// messages are the only ones it takes), then asks the chosen one for Sync
// and Delay_Resp. Grants are renewed when three quarters of them have
// run; a master that refuses goes back to being asked for Announce at the
// table's logQueryInterval, and one that stops answering lets its
// Announce grant run out and is asked again from the start. This is
// linuxptp's unicast_client state machine.

// The negotiation states of one master, linuxptp's enum unicast_state.
const (
	ucWait     = ptp.UnicastWait     // asking for Announce
	ucHaveAnn  = ptp.UnicastHaveAnn  // Announce granted
	ucNeedSydy = ptp.UnicastNeedSydy // chosen: asking for Sync and Delay_Resp
	ucHaveSydy = ptp.UnicastHaveSydy // Sync and Delay_Resp granted
)

// ucMaster is one entry of the unicast master table.
type ucMaster struct {
	addr    Addr
	id      ptp.PortIdentity // the granting port, wildcardPort until the Announce grant
	state   ptp.UnicastState
	granted uint16 // bit 1<<messageType of each grant held
	// renew is when to ask again for what is granted (three quarters of
	// the shortest grant); 0: at the next query.
	renew int64
	// annExpires is when the Announce grant runs out unless renewed.
	annExpires int64
	// quality, priority1 and priority2 are from its last Announce, for
	// UNICAST_MASTER_TABLE_NP.
	quality              ptp.ClockQuality
	priority1, priority2 uint8
}

// unicastClient is a port's unicast client.
type unicastClient struct {
	masters []ucMaster
	// sydy is the set of grants a chosen master must give: Sync, and
	// Delay_Resp with the E2E delay mechanism.
	sydy uint16
	// next is when the table is next queried; 0 until the port starts.
	next int64
	reqB ptp.Signaling
	// peer is the table's peer_address (hasPeer): with P2P, the port's
	// Pdelay_Req go to it by unicast, and it is asked for Pdelay_Resp at
	// each query until it grants them, then again at peerRenew (linuxptp's
	// unicast_client_peer_renew). peerID is the port that granted them.
	peer      Addr
	hasPeer   bool
	peerID    ptp.PortIdentity
	peerRenew int64
}

func newUnicastClient(cfg *PortConfig) *unicastClient {
	c := &unicastClient{sydy: 1 << ptp.MessageSync}
	if cfg.DelayMechanism == ptp.DelayMechanismE2E {
		c.sydy |= 1 << ptp.MessageDelayResp
	}
	for _, a := range cfg.UnicastMasters {
		c.masters = append(c.masters, ucMaster{addr: unicastPeer(a), id: wildcardPort})
	}
	if cfg.UnicastPeer != (Addr{}) && cfg.DelayMechanism == ptp.DelayMechanismP2P {
		c.peer, c.hasPeer, c.peerID = unicastPeer(cfg.UnicastPeer), true, wildcardPort
	}
	return c
}

// masterAt returns the table entry of the address a, or nil.
func (c *unicastClient) masterAt(a Addr) *ucMaster {
	if c == nil {
		return nil
	}
	for i := range c.masters {
		if c.masters[i].addr == a {
			return &c.masters[i]
		}
	}
	return nil
}

// UnicastMasterState describes one entry of a port's unicast master table.
type UnicastMasterState struct {
	Addr    Addr
	ID      ptp.PortIdentity // the granting port (all ones until Announce is granted)
	State   string           // WAIT, HAVE_ANN, NEED_SYDY or HAVE_SYDY, as linuxptp names them
	Granted []ptp.MessageType
}

// UnicastMasters returns the port's unicast master table as negotiated so
// far (nil without one).
func (p *Port) UnicastMasters() []UnicastMasterState {
	if p.ucc == nil {
		return nil
	}
	out := make([]UnicastMasterState, len(p.ucc.masters))
	for i, m := range p.ucc.masters {
		out[i] = UnicastMasterState{Addr: m.addr, ID: m.id, State: m.state.String()}
		for t := ptp.MessageType(0); t < 16; t++ {
			if m.granted&(1<<t) != 0 {
				out[i].Granted = append(out[i].Granted, t)
			}
		}
	}
	return out
}

// acceptAnnounce reports whether a unicast client takes Announce a from
// from: only the masters of its table count.
func (p *Port) acceptAnnounce(a *ptp.Announce, from Addr) bool {
	if p.ucc == nil {
		return true
	}
	m := p.ucc.masterAt(unicastPeer(from))
	if m == nil {
		return false
	}
	m.quality, m.priority1, m.priority2 = a.GrandmasterClockQuality, a.GrandmasterPriority1, a.GrandmasterPriority2
	return true
}

// unicastMasterTableNP answers UNICAST_MASTER_TABLE_NP as ptp4l does: an
// empty table for a port without one.
func (p *Port) unicastMasterTableNP() *ptp.UnicastMasterTableNP {
	t := &ptp.UnicastMasterTableNP{}
	if p.ucc == nil {
		return t
	}
	for i := range p.ucc.masters {
		m := &p.ucc.masters[i]
		e := ptp.UnicastMasterEntry{PortIdentity: m.id, ClockQuality: m.quality, State: m.state,
			Priority1: m.priority1, Priority2: m.priority2,
			Selected: p.c.bestPort == p.idx && m.id == p.c.parent.ParentPortIdentity}
		switch ip := m.addr.IP.Addr(); {
		case ip.Is4():
			a := ip.As4()
			e.Address = ptp.PortAddress{NetworkProtocol: ptp.ProtocolUDPIPv4, Address: a[:]}
		case ip.Is6():
			a := ip.As16()
			e.Address = ptp.PortAddress{NetworkProtocol: ptp.ProtocolUDPIPv6, Address: a[:]}
		default:
			e.Address = ptp.PortAddress{NetworkProtocol: ptp.ProtocolIEEE802_3, Address: append([]byte(nil), m.addr.MAC[:]...)}
		}
		t.Entries = append(t.Entries, e)
	}
	return t
}

// parentAddr returns where the unicast Delay_Req to the master the clock
// follows through this port go: its table entry for a unicast client,
// where its latest Announce came from in hybrid mode (hybrid_e2e, as
// linuxptp's port_delay_request). False: by multicast.
func (p *Port) parentAddr() (Addr, bool) {
	if p.c.bestPort != p.idx {
		return Addr{}, false
	}
	parent := p.c.parent.ParentPortIdentity
	if p.ucc == nil {
		if p.cfg.HybridE2E {
			for _, s := range p.annFrom {
				if s.id == parent {
					return s.addr, true
				}
			}
		}
		return Addr{}, false
	}
	for i := range p.ucc.masters {
		if p.ucc.masters[i].id == parent {
			return p.ucc.masters[i].addr, true
		}
	}
	return Addr{}, false
}

// queryMasters is the client's timer: each master is asked for what its
// state needs, and the timer is set again.
func (p *Port) queryMasters(now int64) {
	c := p.ucc
	for i := range c.masters {
		m := &c.masters[i]
		if m.state != ucWait && m.annExpires != 0 && now >= m.annExpires {
			// No renewal came: start over with this master.
			m.state, m.granted, m.renew, m.annExpires = ucWait, 0, 0, 0
		}
		switch m.state {
		case ucWait:
			p.requestUnicast(m, true, false)
		case ucHaveAnn:
			if now >= m.renew {
				m.renew = 0
				p.requestUnicast(m, true, false)
			}
		case ucNeedSydy:
			p.requestUnicast(m, false, true)
		case ucHaveSydy:
			if now >= m.renew {
				m.renew = 0
				p.requestUnicast(m, true, true)
			}
		}
	}
	if c.hasPeer && now >= c.peerRenew {
		c.peerRenew = 0
		sg := &c.reqB
		sg.TLVs.Reset()
		p.ucTLV.req = ptp.RequestUnicastTransmission{MessageType: ptp.MessagePdelayResp,
			LogInterMessagePeriod: p.logPdelayReqInterval, DurationField: p.cfg.UnicastReqDuration}
		_ = sg.TLVs.Add(&p.ucTLV.req)
		p.sendUnicastSignaling(sg, c.peerID, c.peer)
	}
	c.next = now + logInterval(p.cfg.LogQueryInterval)
	p.unicastSelection()
}

// peerGranted takes the peer's grant of Pdelay_Resp: the port asks again
// after three quarters of it, and sends Pdelay_Req at the granted rate.
func (p *Port) peerGranted(src ptp.PortIdentity, g *ptp.GrantUnicastTransmission, now int64) {
	if g.DurationField == 0 {
		r := p.logRecord(LogUnicastRejected, LevelWarning)
		r.MessageType = g.MessageType
		p.c.log(r)
		return
	}
	if g.LogInterMessagePeriod > maxLogPeriod || g.LogInterMessagePeriod < -maxLogPeriod {
		return
	}
	p.ucc.peerID = src
	p.ucc.peerRenew = now + int64(g.DurationField)*1e9/4*3
	p.logPdelayReqInterval = g.LogInterMessagePeriod
}

// requestUnicast asks m for Announce (ann) and for Sync and Delay_Resp
// (sydy) in one Signaling message.
func (p *Port) requestUnicast(m *ucMaster, ann, sydy bool) {
	sg := &p.ucc.reqB
	sg.TLVs.Reset()
	d := p.cfg.UnicastReqDuration
	r := &p.ucTLV.req
	add := func(t ptp.MessageType, period int8) {
		*r = ptp.RequestUnicastTransmission{MessageType: t, LogInterMessagePeriod: period, DurationField: d}
		_ = sg.TLVs.Add(r)
	}
	if ann {
		add(ptp.MessageAnnounce, p.cfg.LogAnnounceInterval)
	}
	if sydy {
		add(ptp.MessageSync, p.cfg.LogSyncInterval)
		if p.ucc.sydy&(1<<ptp.MessageDelayResp) != 0 {
			add(ptp.MessageDelayResp, p.cfg.LogMinDelayReqInterval)
		}
	}
	p.sendUnicastSignaling(sg, m.id, m.addr)
}

// cancelUnicast tells m that the port no longer wants the grants of mask.
func (p *Port) cancelUnicast(m *ucMaster, mask uint16) {
	sg := &p.ucc.reqB
	sg.TLVs.Reset()
	for _, t := range [...]ptp.MessageType{ptp.MessageAnnounce, ptp.MessageSync, ptp.MessageDelayResp} {
		if m.granted&mask&(1<<t) != 0 {
			p.ucTLV.cancel = ptp.CancelUnicastTransmission{MessageType: t}
			_ = sg.TLVs.Add(&p.ucTLV.cancel)
		}
	}
	m.granted &^= mask
	if sg.TLVs.Len() > 0 {
		p.sendUnicastSignaling(sg, m.id, m.addr)
	}
}

// setRenewal asks again after three quarters of a grant of duration
// seconds, or sooner if another grant needs it.
func (m *ucMaster) setRenewal(duration uint32, now int64) {
	t := now + int64(duration)*1e9/4*3
	if m.renew == 0 || t < m.renew {
		m.renew = t
	}
}

// clientGranted takes a GRANT_UNICAST_TRANSMISSION from master m.
func (p *Port) clientGranted(m *ucMaster, src ptp.PortIdentity, g *ptp.GrantUnicastTransmission, now int64) {
	if g.DurationField == 0 {
		r := p.logRecord(LogUnicastRejected, LevelWarning)
		r.MessageType = g.MessageType
		p.c.log(r)
		if g.MessageType == ptp.MessagePdelayResp {
			return
		}
		// Move on: the master is asked for Announce again at the next
		// query, and meanwhile the BMCA chooses among the others.
		wasParent := m.id == p.c.parent.ParentPortIdentity
		m.state, m.granted, m.renew, m.annExpires = ucWait, 0, 0, 0
		p.fm.Forget(m.id)
		if wasParent {
			p.c.stateDecision(now)
		}
		return
	}
	if g.LogInterMessagePeriod > maxLogPeriod || g.LogInterMessagePeriod < -maxLogPeriod {
		return
	}
	m.granted |= 1 << g.MessageType
	if g.MessageType == ptp.MessageAnnounce {
		m.annExpires = now + int64(g.DurationField)*1e9
	}
	switch m.state {
	case ucWait, ucHaveAnn:
		if g.MessageType == ptp.MessageAnnounce {
			m.state = ucHaveAnn
			m.id = src
			m.setRenewal(g.DurationField, now)
		}
	case ucNeedSydy:
		switch g.MessageType {
		case ptp.MessageSync, ptp.MessageDelayResp:
			if m.granted&p.ucc.sydy == p.ucc.sydy {
				m.state = ucHaveSydy
			}
			m.setRenewal(g.DurationField, now)
			if g.MessageType == ptp.MessageDelayResp {
				p.logMinDelayReqInterval = g.LogInterMessagePeriod
			} else {
				// Unicast Sync says 0x7F: the grant is the interval.
				p.syncInterval, p.haveSyncInterval = g.LogInterMessagePeriod, true
				p.c.servo.SetSyncInterval(float64(logInterval(g.LogInterMessagePeriod)) / 1e9)
			}
		}
	case ucHaveSydy:
		m.setRenewal(g.DurationField, now)
	}
}

// clientCanceled takes a CANCEL_UNICAST_TRANSMISSION from master m and
// reports whether to acknowledge it.
func (p *Port) clientCanceled(m *ucMaster, c *ptp.CancelUnicastTransmission) bool {
	switch c.MessageType {
	case ptp.MessageAnnounce, ptp.MessageSync, ptp.MessageDelayResp:
	default:
		return false
	}
	if c.Flags&ptp.CancelUnicastMaintainGrant != 0 {
		return false
	}
	r := p.logRecord(LogUnicastCanceled, LevelWarning)
	r.MessageType = c.MessageType
	p.c.log(r)
	m.state = ucWait
	m.granted &^= 1 << c.MessageType
	return true
}

// unicastSelection follows a state decision: the master the clock now
// follows through this port is asked for Sync and Delay_Resp at once;
// one it no longer follows is told to stop sending them.
func (p *Port) unicastSelection() {
	if p.ucc == nil {
		return
	}
	for i := range p.ucc.masters {
		m := &p.ucc.masters[i]
		selected := p.c.bestPort == p.idx && m.id == p.c.parent.ParentPortIdentity
		switch {
		case selected && m.state == ucHaveAnn:
			m.state = ucNeedSydy
			p.requestUnicast(m, false, true)
		case !selected && m.state == ucNeedSydy:
			m.state = ucHaveAnn
		case !selected && m.state == ucHaveSydy:
			m.state = ucHaveAnn
			p.cancelUnicast(m, p.ucc.sydy)
		}
	}
}
