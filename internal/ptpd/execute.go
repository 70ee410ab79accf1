package ptpd

import (
	"errors"
	"strings"
	"time"

	"github.com/roko-network/roko-ptpd/phc"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/engine"
	"github.com/roko-network/roko-ptpd/transport"
)

// The daemon's side of engine.Executor: the engine's messages go out on
// the ports' transports, its decisions go to the steered clock, and what
// it says goes to the log. These run on the event loop.

// Send implements engine.Network.
func (d *Daemon) Send(a *engine.Action) (int64, bool, error) {
	p := &d.ports[a.Port]
	dst := d.destination(p, a)
	msg, err := d.sign(a.Port, a.Msg)
	if err != nil {
		return 0, false, err
	}
	if !a.Event {
		if p.batch != nil {
			// Copied into the queue: msg may be engine memory.
			return 0, false, p.batch.QueueGeneral(msg, dst, queueTag(a.Port, a.MessageType), d.queueFail)
		}
		return 0, false, p.ep.SendGeneral(msg, dst)
	}
	ts, err := p.ep.SendEvent(msg, dst)
	if err != nil {
		return 0, false, err
	}
	return d.toClock(ts), true, nil
}

// destination is where a's message goes on port p.
func (d *Daemon) destination(p *port, a *engine.Action) transport.Addr {
	switch a.Dest {
	case engine.DestPeer:
		return p.peerDelay
	case engine.DestUnicast:
		if a.To.IP.IsValid() {
			return transport.Addr{IP: a.To.IP.Addr(), Port: a.To.IP.Port()}
		}
		return transport.Addr{MAC: a.To.MAC, L2: true}
	}
	return p.primary
}

// AdjustFrequency implements engine.Steering.
func (d *Daemon) AdjustFrequency(ppb float64) error { return d.clk.AdjustFrequency(ppb) }

// Step implements engine.Steering.
func (d *Daemon) Step(ns int64) error { return d.clk.Step(time.Duration(ns)) }

// SetTAIOffset implements engine.Steering: only CLOCK_REALTIME has a TAI
// offset in the kernel.
func (d *Daemon) SetTAIOffset(offset int16) error {
	if sys, ok := d.clk.(*phc.System); ok {
		return sys.SetTAIOffset(int(offset))
	}
	return nil
}

// Record implements engine.Reporter.
func (d *Daemon) Record(r engine.LogRecord) { d.log.Record(r) }

// Failed implements engine.Reporter, in linuxptp 4.x's words: a
// transmit timestamp that never came is reported as sk.c reports it, and
// every failed send with port.c's "port N (eth0): send sync failed" line,
// which log scrapers look for.
func (d *Daemon) Failed(a *engine.Action, err error) {
	switch a.Kind {
	case engine.Send:
		if a.Dest == engine.DestUnicast && a.MessageType == ptp.MessageSync && errors.Is(err, transport.ErrTxTimestampTimeout) {
			// One client's Sync: it loses that Follow_Up, the port
			// serves on (Clock.TxTimestampLost). Said once a second, not
			// three lines for each of thousands.
			d.txTimeouts.Add(1)
			d.unstampedSyncs++
			if t := now(); t-d.unstampedLogged >= 1e9 {
				d.log.Printf(engine.LevelWarning, "port %d (%s): %d unicast Syncs without transmit timestamp (tx_timestamp_timeout): their clients get no Follow_Up for them",
					a.Port+1, d.ports[a.Port].name, d.unstampedSyncs)
				d.unstampedSyncs, d.unstampedLogged = 0, t
			}
			return
		}
		if errors.Is(err, transport.ErrTxTimestampTimeout) {
			d.txTimeouts.Add(1)
			d.log.Printf(engine.LevelErr, "timed out while polling for tx timestamp")
			d.log.Printf(engine.LevelErr, "increasing tx_timestamp_timeout or increasing kworker priority may correct this issue, but a driver bug likely causes it")
		} else {
			d.log.Printf(engine.LevelDebug, "port %d (%s): %v", a.Port+1, d.ports[a.Port].name, err)
		}
		d.log.Printf(engine.LevelErr, "port %d (%s): send %s failed", a.Port+1, d.ports[a.Port].name, sendName(a.MessageType))
	case engine.AdjustFrequency:
		d.log.Printf(engine.LevelErr, "failed to adjust the clock: %v", err)
	case engine.Step:
		d.log.Printf(engine.LevelErr, "failed to step clock: %v", err)
	case engine.SetTAIOffset:
		d.log.Printf(engine.LevelErr, "failed to set the kernel's TAI offset: %v", err)
	}
}

// sendName is how ptp4l's "send ... failed" lines name a message.
func sendName(t ptp.MessageType) string {
	switch t {
	case ptp.MessageSync:
		return "sync"
	case ptp.MessageFollowUp:
		return "follow up"
	case ptp.MessageDelayReq:
		return "delay request"
	case ptp.MessageDelayResp:
		return "delay response"
	case ptp.MessagePdelayReq:
		return "peer delay request"
	case ptp.MessagePdelayResp:
		return "peer delay response"
	case ptp.MessagePdelayRespFollowUp:
		return "pdelay_resp_fup"
	case ptp.MessageAnnounce:
		return "announce"
	}
	return strings.ToLower(t.String())
}

// relay sends a management response from the network to the read-write
// socket's latest client, as ptp4l's UDS port does.
func (d *Daemon) relay(msg []byte) {
	if d.udsClient != nil {
		if msg = d.udsSigned(msg); msg != nil {
			_ = d.udsClient.sock.sock.Reply(msg, d.udsClient.addr)
		}
	}
}

var (
	_ engine.BatchNetwork = (*Daemon)(nil)
	_ engine.Network      = (*Daemon)(nil)
	_ engine.Steering     = (*Daemon)(nil)
	_ engine.Reporter     = (*Daemon)(nil)
)
