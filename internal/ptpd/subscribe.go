package ptpd

import (
	"net"
	"time"

	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/engine"
)

// subscriber is a management client that asked for notifications.
type subscriber struct {
	sock  *udsServer
	addr  *net.UnixAddr
	until time.Time
	ev    ptp.SubscribeEventsNP
}

// subscribe handles GET and SET of SUBSCRIBE_EVENTS_NP, which the daemon
// keeps (the engine knows nothing of sockets). It runs on the event loop.
// handled is false for anything else.
func (d *Daemon) subscribe(e *engine.Clock, u *udsServer, from *net.UnixAddr, req *ptp.Management) (resp *ptp.Management, handled bool) {
	id, data, ok, err := req.ManagementTLV()
	if !ok || err != nil || id != ptp.MIDSubscribeEventsNP || from == nil {
		return nil, false
	}
	key := from.Name
	switch req.ActionField {
	case ptp.ActionGet:
		var ev ptp.SubscribeEventsNP
		if s := d.subs[key]; s != nil && time.Now().Before(s.until) {
			ev = s.ev
			ev.Duration = uint16(time.Until(s.until).Seconds())
		}
		return e.Reply(req, &ev), true
	case ptp.ActionSet:
		if u.readOnly {
			return nil, false // the engine refuses SET on the read-only socket
		}
		var ev ptp.SubscribeEventsNP
		if ev.UnmarshalData(data) != nil {
			return nil, false
		}
		if ev.Duration == 0 {
			delete(d.subs, key)
		} else {
			d.subs[key] = &subscriber{sock: u, addr: from, until: time.Now().Add(time.Duration(ev.Duration) * time.Second), ev: ev}
		}
		return e.Reply(req, &ev), true
	}
	return nil, false
}

// notify sends what happened during one engine call to the subscribers
// who asked for it: PORT_DATA_SET on a state change, TIME_STATUS_NP on a
// new offset, PARENT_DATA_SET on a new best master. It runs on the event
// loop.
func (d *Daemon) notify(acts []engine.Action) {
	if len(d.subs) == 0 {
		return
	}
	now := time.Now()
	for k, s := range d.subs {
		if now.After(s.until) {
			delete(d.subs, k)
		}
	}
	var buf []byte
	send := func(bit int, m *ptp.Management) {
		if m == nil {
			return
		}
		var err error
		if buf, err = m.AppendBinary(buf[:0]); err != nil {
			return
		}
		msg := d.udsSigned(buf)
		if msg == nil {
			return
		}
		for _, s := range d.subs {
			if s.ev.Subscribed(bit) {
				_ = s.sock.sock.Reply(msg, s.addr)
			}
		}
	}
	for _, a := range acts {
		if a.Kind != engine.Log {
			continue
		}
		switch a.Log.Kind {
		case engine.LogStateChange:
			send(ptp.NotifyPortState, d.eng.Notification(ptp.MIDPortDataSet, a.Log.Port))
		case engine.LogOffset:
			send(ptp.NotifyTimeSync, d.eng.Notification(ptp.MIDTimeStatusNP, -1))
		case engine.LogSelectedBest, engine.LogSelectedLocal:
			send(ptp.NotifyParentDataSet, d.eng.Notification(ptp.MIDParentDataSet, -1))
		}
	}
}
