package engine

// LinkChanged tells the engine that the link of port's interface went down
// (up false) or came up, as the driver learnt from rtnetlink
// (transport.LinkMonitor). Without it a port notices a dead link only when
// its master's Announce stops coming, and comes back only after
// fault_reset_interval; with it the port follows the link at once, as
// ptp4l's ports do:
//
//   - Down: "port N (ifname): link down" (NOTICE), the port goes FAULTY,
//     and a state decision runs at once, since a port that is gone may
//     have carried the best master. While the link stays down the fault
//     timer does not clear the fault: when it expires it is spent, and the
//     port stays FAULTY.
//   - Up: "port N (ifname): link up" (NOTICE), and a FAULTY port
//     re-initialises at once (FAULTY to LISTENING on INIT_COMPLETE),
//     whatever fault_reset_interval says; it is back in SLAVE after the
//     next Announce and state decision. A port in another state stays.
//   - A report of the state the port already believes (a port believes
//     its link up until told otherwise) does nothing, so the driver may
//     pass on every notification the kernel sends.
//
// Call it after Start: a link that is down at start is reported by the
// driver's first query, and faults a port that Start made LISTENING.
func (c *Clock) LinkChanged(port int, up bool, now int64) []Action {
	c.begin()
	p := c.ports[port]
	if p.linkDown == !up {
		return c.acts
	}
	p.linkDown = !up
	if up {
		p.c.log(p.logRecord(LogLinkUp, LevelNotice))
		p.dispatch(EventFaultCleared, false, now)
		return c.acts
	}
	p.c.log(p.logRecord(LogLinkDown, LevelNotice))
	p.dispatch(EventFaultDetected, false, now)
	c.stateDecision(now)
	return c.acts
}

// LinkUp reports whether the port believes its interface's link is up:
// true until LinkChanged says otherwise.
func (p *Port) LinkUp() bool { return !p.linkDown }
