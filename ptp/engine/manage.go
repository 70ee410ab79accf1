package engine

import (
	"github.com/roko-network/roko-ptpd/ptp"
)

// Via says where a management message came from: the UNIX socket (which
// has port number 0, as in ptp4l) or a port's network transport.
type Via struct {
	UDS bool
	// Port is the index of the receiving port when not UDS.
	Port int
	// ReadOnly refuses SET and COMMAND (ptp4l's uds_ro_address socket, and
	// the network unless the configuration allows it).
	ReadOnly bool
}

// Manage answers one management message the way ptp4l's clock_manage and
// port_manage do, and returns the responses to send back to its sender
// (none for messages that are not for this clock: another domain, another
// target clock, or a response), with the actions a SET caused (a new state
// decision, say). The returned messages are the caller's.
func (c *Clock) Manage(req *ptp.Management, via Via, now int64) ([]*ptp.Management, []Action) {
	c.begin()
	out := c.manage(req, via)
	if c.reselect {
		c.reselect = false
		c.stateDecision(now)
	}
	return out, c.acts
}

func (c *Clock) manage(req *ptp.Management, via Via) []*ptp.Management {
	// Relay first, as ptp4l does: a message with boundary hops left goes
	// out of every other port (requests and responses), and responses
	// from the network also to the UNIX socket's client.
	if !via.ReadOnly || !via.UDS {
		except := -1
		if !via.UDS {
			except = via.Port
		}
		c.forwardMgmt(req, except, !via.UDS)
	}
	switch req.ActionField {
	case ptp.ActionGet, ptp.ActionSet, ptp.ActionCommand:
	default:
		return nil
	}
	if req.DomainNumber != c.cfg.DomainNumber {
		return nil
	}
	wild := ptp.ClockIdentity{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	if t := req.TargetPortIdentity.ClockIdentity; t != wild && t != c.cfg.ClockIdentity {
		return nil
	}
	id, data, ok, err := req.ManagementTLV()
	if !ok {
		return nil
	}
	responder := ptp.PortIdentity{ClockIdentity: c.cfg.ClockIdentity}
	if !via.UDS {
		responder.PortNumber = uint16(via.Port + 1)
	}
	if err != nil {
		return []*ptp.Management{c.mgmtError(req, responder, id, ptp.ErrorWrongLength)}
	}
	if !id.Known() {
		return []*ptp.Management{c.mgmtError(req, responder, id, ptp.ErrorNoSuchID)}
	}
	if id.Scope() == ptp.ScopePort {
		var out []*ptp.Management
		target := req.TargetPortIdentity.PortNumber
		for i := range c.ports {
			if target != 0xffff && int(target) != i+1 {
				continue
			}
			pid := c.ports[i].id
			out = append(out, c.manageOne(req, via, pid, id, data, i))
		}
		return out
	}
	return []*ptp.Management{c.manageOne(req, via, responder, id, data, -1)}
}

// manageOne answers for the clock (port < 0) or one port.
func (c *Clock) manageOne(req *ptp.Management, via Via, responder ptp.PortIdentity, id ptp.ManagementID, data []byte, port int) *ptp.Management {
	switch req.ActionField {
	case ptp.ActionGet:
		d := c.getData(id, port)
		if d == nil {
			return c.mgmtError(req, responder, id, ptp.ErrorNotSupported)
		}
		return c.mgmtResponse(req, responder, ptp.ActionResponse, d)
	case ptp.ActionSet:
		if via.ReadOnly {
			return c.mgmtError(req, responder, id, ptp.ErrorNotSupported)
		}
		d := ptp.NewManagementData(id)
		if d == nil {
			return c.mgmtError(req, responder, id, ptp.ErrorNotSupported)
		}
		if err := d.UnmarshalData(data); err != nil {
			return c.mgmtError(req, responder, id, ptp.ErrorWrongLength)
		}
		if !c.setData(d, port) {
			return c.mgmtError(req, responder, id, ptp.ErrorNotSupported)
		}
		return c.mgmtResponse(req, responder, ptp.ActionResponse, c.getData(id, port))
	}
	return c.mgmtError(req, responder, id, ptp.ErrorNotSupported)
}

// getData builds the data set a GET asks for, or nil if this clock does
// not offer it.
func (c *Clock) getData(id ptp.ManagementID, port int) ptp.ManagementData {
	datum := func(v uint8) ptp.ManagementData { return &ptp.Datum{ID: id, Value: v} }
	if port >= 0 {
		p := c.ports[port]
		pds := c.PortDS(port)
		switch id {
		case ptp.MIDNullManagement:
			return ptp.NullManagement{}
		case ptp.MIDPortDataSet:
			return &pds
		case ptp.MIDLogAnnounceInterval:
			return datum(uint8(pds.LogAnnounceInterval))
		case ptp.MIDAnnounceReceiptTimeout:
			return datum(pds.AnnounceReceiptTimeout)
		case ptp.MIDLogSyncInterval:
			return datum(uint8(pds.LogSyncInterval))
		case ptp.MIDVersionNumber:
			return datum(pds.VersionNumber)
		case ptp.MIDDelayMechanism:
			return datum(uint8(pds.DelayMechanism))
		case ptp.MIDLogMinPdelayReqInterval:
			return datum(uint8(pds.LogMinPdelayReqInterval))
		case ptp.MIDMasterOnly:
			return datum(boolBit(p.cfg.MasterOnly))
		case ptp.MIDPortPropertiesNP:
			return &ptp.PortPropertiesNP{PortIdentity: p.id, PortState: p.state.Wire(), Timestamping: c.cfg.Timestamping, Interface: ptp.PTPText(p.cfg.Name)}
		case ptp.MIDPortDataSetNP:
			np := p.dsNP
			return &np
		case ptp.MIDPortStatsNP:
			return &ptp.PortStatsNP{PortIdentity: p.id, RxMsgType: p.Stats.Rx, TxMsgType: p.Stats.Tx}
		case ptp.MIDUnicastMasterTableNP:
			return p.unicastMasterTableNP()
		case ptp.MIDClockDescription:
			// An ordinary clock (bit 15) or a boundary clock (bit 14), as
			// ptp4l reports.
			ct := uint16(0x8000)
			if len(c.ports) > 1 {
				ct = 0x4000
			}
			return &ptp.ClockDescription{ClockType: ct, PhysicalLayerProtocol: "IEEE 802.3",
				ProductDescription: ";roko-ptpd;", RevisionData: ";;", UserDescription: ptp.PTPText(c.cfg.UserDescription)}
		}
		return nil
	}
	switch id {
	case ptp.MIDNullManagement:
		return ptp.NullManagement{}
	case ptp.MIDDefaultDataSet:
		d := c.DefaultDS()
		return &d
	case ptp.MIDCurrentDataSet:
		d := c.CurrentDS()
		return &d
	case ptp.MIDParentDataSet:
		d := c.ParentDS()
		return &d
	case ptp.MIDTimePropertiesDataSet:
		d := c.TimePropertiesDS()
		return &d
	case ptp.MIDTimeStatusNP:
		d := c.TimeStatus()
		return &d
	case ptp.MIDPriority1:
		return datum(c.cfg.Priority1)
	case ptp.MIDPriority2:
		return datum(c.cfg.Priority2)
	case ptp.MIDDomain:
		return datum(c.cfg.DomainNumber)
	case ptp.MIDSlaveOnly:
		return datum(boolBit(c.cfg.SlaveOnly))
	case ptp.MIDClockAccuracy:
		return datum(uint8(c.cfg.ClockQuality.ClockAccuracy))
	case ptp.MIDTraceabilityProperties:
		return datum(uint8(c.timeProps.Flags) & (ptp.TimePropertiesTimeTraceable | ptp.TimePropertiesFrequencyTraceable))
	case ptp.MIDUserDescription:
		return &ptp.UserDescription{UserDescription: ptp.PTPText(c.cfg.UserDescription)}
	case ptp.MIDTimescaleProperties:
		return &ptp.TimescaleProperties{Flags: c.timeProps.Flags & ptp.TimePropertiesPTPTimescale, TimeSource: c.timeProps.TimeSource}
	case ptp.MIDUTCProperties:
		return &ptp.UTCProperties{CurrentUTCOffset: c.timeProps.CurrentUTCOffset,
			Flags: c.timeProps.Flags & (ptp.TimePropertiesLeap61 | ptp.TimePropertiesLeap59 | ptp.TimePropertiesCurrentUTCOffsetValid)}
	case ptp.MIDGrandmasterSettingsNP:
		return &ptp.GrandmasterSettingsNP{ClockQuality: c.cfg.ClockQuality, UTCOffset: c.cfg.UTCOffset,
			TimeFlags: uint8(c.cfg.TimeFlags), TimeSource: c.cfg.TimeSource}
	}
	return nil
}

// setData applies a SET that linuxptp allows; false for the rest.
func (c *Clock) setData(d ptp.ManagementData, port int) bool {
	switch v := d.(type) {
	case *ptp.PortDataSetNP:
		if port < 0 {
			return false
		}
		c.ports[port].dsNP = *v
		return true
	case *ptp.Datum:
		switch v.ID {
		case ptp.MIDPriority1:
			c.cfg.Priority1 = v.Value
		case ptp.MIDPriority2:
			c.cfg.Priority2 = v.Value
		default:
			return false
		}
		// The clock's own data set changed: let the BMCA see it.
		c.reselect = true
		return true
	case *ptp.GrandmasterSettingsNP:
		c.cfg.ClockQuality = v.ClockQuality
		c.cfg.UTCOffset = v.UTCOffset
		c.cfg.TimeFlags = ptp.Flags(v.TimeFlags)
		c.cfg.TimeSource = v.TimeSource
		c.reselect = true
		return true
	}
	return false
}

func boolBit(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// forwardMgmt sends m, with one boundary hop less, out of every port but
// except that is in service; toUDS also relays responses to the UNIX
// socket's client.
func (c *Clock) forwardMgmt(m *ptp.Management, except int, toUDS bool) {
	if m.BoundaryHops == 0 {
		return
	}
	fwd := *m
	fwd.BoundaryHops--
	for i, q := range c.ports {
		if i == except || q.state == Initializing || q.state == Faulty || q.state == Disabled {
			continue
		}
		c.send(q, &fwd, DestPrimary, Addr{})
	}
	if toUDS && (m.ActionField == ptp.ActionResponse || m.ActionField == ptp.ActionAcknowledge) {
		start := len(c.arena)
		out, err := fwd.AppendBinary(c.arena)
		if err != nil {
			return
		}
		c.arena = out
		c.emit(Action{Kind: ToUDS, Port: except, Msg: c.arena[start:len(c.arena):len(c.arena)], MessageType: ptp.MessageManagement})
	}
}

// mgmtResponse builds a RESPONSE (or ACKNOWLEDGE) to req from responder.
func (c *Clock) mgmtResponse(req *ptp.Management, responder ptp.PortIdentity, action ptp.ManagementAction, d ptp.ManagementData) *ptp.Management {
	m := c.mgmtHeader(req, responder, action)
	if err := m.SetData(d); err != nil {
		return c.mgmtError(req, responder, d.ManagementID(), ptp.ErrorGeneralError)
	}
	return m
}

func (c *Clock) mgmtHeader(req *ptp.Management, responder ptp.PortIdentity, action ptp.ManagementAction) *ptp.Management {
	return &ptp.Management{
		Header: ptp.Header{
			MajorSdoID: req.MajorSdoID, VersionPTP: ptp.VersionPTP2, MinorVersionPTP: c.cfg.MinorVersionPTP,
			DomainNumber: c.cfg.DomainNumber, SourcePortIdentity: responder, SequenceID: req.SequenceID,
			ControlField: ptp.ControlFieldFor(ptp.MessageManagement), LogMessageInterval: ptp.LogIntervalUnspecified,
		},
		TargetPortIdentity: req.SourcePortIdentity,
		// A response may travel back as many hops as the request came.
		StartingBoundaryHops: req.StartingBoundaryHops - req.BoundaryHops,
		BoundaryHops:         req.StartingBoundaryHops - req.BoundaryHops,
		ActionField:          action,
	}
}

// mgmtError builds a MANAGEMENT_ERROR_STATUS response.
func (c *Clock) mgmtError(req *ptp.Management, responder ptp.PortIdentity, id ptp.ManagementID, e ptp.ManagementErrorID) *ptp.Management {
	m := c.mgmtHeader(req, responder, ptp.ActionResponse)
	_ = m.TLVs.Add(&ptp.ManagementErrorStatus{ManagementErrorID: e, ManagementID: id})
	return m
}

// Notification builds an unsolicited RESPONSE carrying the data set id
// (of port, for port data sets; port < 0 for the clock's), as ptp4l sends
// to SUBSCRIBE_EVENTS_NP subscribers. nil if the clock has no such data.
func (c *Clock) Notification(id ptp.ManagementID, port int) *ptp.Management {
	if id.Scope() == ptp.ScopePort && (port < 0 || port >= len(c.ports)) {
		return nil
	}
	if id.Scope() != ptp.ScopePort {
		port = -1
	}
	d := c.getData(id, port)
	if d == nil {
		return nil
	}
	responder := ptp.PortIdentity{ClockIdentity: c.cfg.ClockIdentity}
	if port >= 0 {
		responder = c.ports[port].id
	}
	c.notifySeq++
	req := &ptp.Management{Header: ptp.Header{SequenceID: c.notifySeq},
		TargetPortIdentity: ptp.PortIdentity{ClockIdentity: ptp.ClockIdentity{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, PortNumber: 0xffff}}
	req.SourcePortIdentity = req.TargetPortIdentity
	return c.mgmtResponse(req, responder, ptp.ActionResponse, d)
}

// Reply builds a RESPONSE to req carrying d from the clock's UNIX-socket
// identity (port 0): for data the daemon keeps itself, such as
// SUBSCRIBE_EVENTS_NP.
func (c *Clock) Reply(req *ptp.Management, d ptp.ManagementData) *ptp.Management {
	return c.mgmtResponse(req, ptp.PortIdentity{ClockIdentity: c.cfg.ClockIdentity}, ptp.ActionResponse, d)
}

// SetGrandmasterSettings changes the quality and time properties the
// clock announces as grandmaster, as a SET of GRANDMASTER_SETTINGS_NP
// does, and makes a state decision at once so that the next Announce
// carries them. A grandmaster's time source reports its state through
// it, so that the clock never announces a quality it does not have.
func (c *Clock) SetGrandmasterSettings(gs ptp.GrandmasterSettingsNP, now int64) []Action {
	c.begin()
	c.setData(&gs, -1)
	c.reselect = false
	c.stateDecision(now)
	return c.acts
}

// ReplyError builds the error response the clock gives to a request it
// refuses, for requests the daemon answers itself.
func (c *Clock) ReplyError(req *ptp.Management, e ptp.ManagementErrorID) *ptp.Management {
	id, _, _, _ := req.ManagementTLV()
	return c.mgmtError(req, ptp.PortIdentity{ClockIdentity: c.cfg.ClockIdentity}, id, e)
}
